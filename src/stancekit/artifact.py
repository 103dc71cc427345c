"""Versioned, verifiable model artifacts: <root>/<name>/v<N>/ with a sha256 manifest.

A version is written into a temporary directory beside the versions and renamed
into place, so a killed run leaves no partial version; an existing version is never
replaced. Loading checks every file's sha256 before reading any of it.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Mapping

from .errors import ArtifactError, ModelNotFoundError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_VERSION_DIR = re.compile(r"v(\d+)$")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def versions(root: Path, name: str) -> list[int]:
    """The existing version numbers of artifact `name`, ascending."""
    d = root / name
    if not d.is_dir():
        return []
    return sorted(int(m.group(1)) for p in d.iterdir() if (m := _VERSION_DIR.match(p.name)) and p.is_dir())


def _check_name(name: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise ArtifactError(f"output.name {name!r} must be letters, digits, '.', '_' or '-'")


def _scratch_dir(root: Path, name: str) -> Path:
    """A new temporary directory beside the versions of `name`, where a version is assembled."""
    _check_name(name)
    try:
        (root / name).mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=".incomplete-", dir=root / name))
    except OSError as exc:
        raise ArtifactError(f"{root}: cannot write the artifact directory ({exc.strerror})") from None


def check_writable(root: Path, name: str) -> None:
    """Raise ArtifactError now if a version of `name` could not be written under `root`, so
    a bad output directory fails before training, not after; creates nothing that stays."""
    _check_name(name)
    probe = root / name
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        if not probe.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
        Path(tempfile.mkdtemp(prefix=".probe-", dir=probe)).rmdir()
    except OSError as exc:
        raise ArtifactError(f"{root}: cannot write the artifact directory ({exc.strerror})") from None


def write_artifact(root: Path, name: str, files: Mapping[str, bytes],
                   manifest: Mapping[str, Any]) -> Path:
    """Write `files` plus a manifest as the next version of `name`; return its directory."""
    tmp = _scratch_dir(root, name)
    parent = root / name
    try:
        hashes = {}
        for fname, data in sorted(files.items()):
            (tmp / fname).write_bytes(data)
            hashes[fname] = hashlib.sha256(data).hexdigest()
        for _ in range(100):
            version = (versions(root, name) or [0])[-1] + 1
            man = dict(manifest, format_version=FORMAT_VERSION, name=name,
                       version=f"v{version}", files=hashes)
            (tmp / MANIFEST).write_text(json.dumps(man, indent=2, sort_keys=True) + "\n")
            final = parent / f"v{version}"
            try:
                os.rename(tmp, final)  # fails if `final` exists: never overwrite a version
                return final
            except OSError:
                if not final.exists():
                    raise
        raise ArtifactError(f"{parent}: could not claim a new version number")
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ArtifactError(f"{parent}: cannot write the artifact ({exc.strerror})") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def resolve(spec: str | os.PathLike, root: str | os.PathLike = "artifacts") -> Path:
    """A model directory from a path, `name` (latest version) or `name@v3` under `root`."""
    p = Path(spec)
    if (p / MANIFEST).is_file():
        return p
    text = str(spec)
    root = Path(root)
    name, _, ver = text.partition("@")
    if name and "/" not in name and (root / name).is_dir():
        have = versions(root, name)
        if not ver:
            if not have:
                raise ModelNotFoundError(f"{root / name}: no versions of model {name!r}")
            return root / name / f"v{have[-1]}"
        ver = ver if ver.startswith("v") else f"v{ver}"
        if (root / name / ver / MANIFEST).is_file():
            return root / name / ver
        raise ModelNotFoundError(f"{root / name}: model {name!r} has no version {ver} "
                                 f"(has: {', '.join(f'v{v}' for v in have) or 'none'})")
    if p.is_dir():
        raise ModelNotFoundError(f"{p}: not a stancekit artifact (no {MANIFEST})")
    raise ModelNotFoundError(f"{text}: no such model (neither a directory nor a name under {root})")


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of an artifact directory, checked for its format version."""
    try:
        man = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelNotFoundError(f"{path}: not a stancekit artifact (no {MANIFEST})") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ArtifactError(f"{path / MANIFEST}: not valid JSON; the artifact is damaged") from None
    if not isinstance(man, dict) or "files" not in man:
        raise ArtifactError(f"{path / MANIFEST}: not a stancekit manifest")
    fmt = man.get("format_version")
    if fmt != FORMAT_VERSION:
        from . import __version__
        raise ArtifactError(
            f"{path}: artifact format {fmt} was written by stancekit {man.get('stancekit_version')}, "
            f"this is stancekit {__version__} (format {FORMAT_VERSION}); install the stancekit "
            "version that wrote it, or retrain from its config.yaml")
    return man


def verify(path: Path) -> list[str]:
    """Problems found when checking every file against the manifest (empty when intact)."""
    man = read_manifest(path)
    problems = []
    for fname, digest in sorted(man["files"].items()):
        f = path / fname
        if "/" in fname or fname.startswith("."):
            problems.append(f"{fname}: unexpected path in manifest")
        elif not f.is_file():
            problems.append(f"{fname}: missing")
        elif sha256_file(f) != digest:
            problems.append(f"{fname}: sha256 mismatch (modified, truncated or replaced)")
    listed = set(man["files"]) | {MANIFEST}
    for f in sorted(path.iterdir()):
        if f.name not in listed:
            problems.append(f"{f.name}: not in the manifest (foreign file)")
    return problems


def describe(path: Path) -> dict[str, Any]:
    """What `stancekit info` shows: the manifest, the verification problems, and the
    model's metadata, which is read only when every file verifies (a damaged or
    replaced model.json is reported, never parsed)."""
    man = read_manifest(path)
    problems = verify(path)
    meta: dict[str, Any] = {}
    if not problems and (path / "model.json").is_file():
        meta = json.loads((path / "model.json").read_text(encoding="utf-8"))
    return {"path": str(path), "manifest": man, "verified": not problems, "problems": problems,
            "metadata": meta}


def verified(path: Path) -> dict[str, Any]:
    """The manifest, after checking that every file matches it; raise ArtifactError if not."""
    man = read_manifest(path)
    problems = verify(path)
    if problems:
        raise ArtifactError(f"{path}: verification failed: {'; '.join(problems)}")
    return man


def list_artifacts(root: Path) -> list[dict[str, Any]]:
    """Every model under `root` with its versions."""
    if not root.is_dir():
        return []
    out = []
    for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        have = versions(root, d.name)
        if have:
            out.append({"name": d.name, "versions": [f"v{v}" for v in have],
                        "latest": str(d / f"v{have[-1]}")})
    return out
