"""The artifact format: every file of `<root>/<name>/v<N>/`, written, read, verified and
compared here and nowhere else (`docs/artifact-format.md` describes it for readers).

A version is assembled in a locked scratch directory beside the versions and renamed
into place, so a killed run leaves no partial version; an existing version is never
replaced. Reading checks every file's sha256 against the manifest before parsing any
of it, then checks every field's type and every array's dtype and shape, so a file
that is damaged, or edited with its hash recomputed, is refused with a message naming
it. No file is ever unpickled (`pipeline.joblib` is written for interoperability only).

Format versions: 1 (stancekit 0.1.0 before the feature spec: `weights.analyzer`,
`weights.sublinear_tf`, `weights.neighbours_view`) and 2 (`weights.feature_spec`,
`weights.neighbours`, `segmentation` read as part of the model). Older versions are
upgraded on read by the functions in `_UPGRADES`, each kept and tested.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from ..atomic import Scratch, clean_stale
from ..clean import CleaningRules, compile_patterns
from ..errors import ArtifactError, ModelNotFoundError, OutputError, PatternError
from .features import FeatureSpec

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
MODEL_JSON = "model.json"
_VERSION_DIR = re.compile(r"v([0-9]{1,9})$")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_MANIFEST_BYTES = 1 << 20


@dataclass(frozen=True)
class NumberWeights:
    """The per-number model: feature table (slot, token, token) over the model's token
    list, one weight column per label, and how its score is blended in."""

    labels: list[str]
    window: int
    floor: float
    weight: float
    intercept: list[float]
    table: np.ndarray   # (k, 3) int32: slot, token code, second token code (-1 none, -2 start, -3 end)
    coef: np.ndarray    # (k, len(labels)) float64


@dataclass(frozen=True)
class NeighbourWeights:
    """Weights on the previous and next sentences' word n-grams, `neighbour_weight`
    folded in: (features, 2 x labels), the previous sentence's columns first."""

    labels: list[str]
    coef: np.ndarray


@dataclass(frozen=True)
class ModelData:
    """Everything a loaded model is made of (what `runtime.model.Model` is built from)."""

    labels: list[str]
    exclusive: bool
    thresholds: list[float]
    spec: FeatureSpec
    features: list[str]          # feature strings in column order
    ngram_tokens: list[str]      # tokens of the word n-gram features (and the number model's)
    ngram_table: np.ndarray      # (features, max n) int32 token ids, -1 padded
    idf: np.ndarray              # (features,) float64
    coef: np.ndarray             # (features, labels) float64
    intercept: np.ndarray        # (labels,) float64
    numbers: NumberWeights | None = None
    neighbours: NeighbourWeights | None = None
    cleaning: CleaningRules = CleaningRules()
    abbreviations: tuple[str, ...] = ()


# -- writing ---------------------------------------------------------------------------

def npy_bytes(arr: np.ndarray) -> bytes:
    """The .npy bytes of an array (C order, no pickle)."""
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


def _json(obj: Any) -> bytes:
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8")


def _weights_json(data: ModelData) -> dict[str, Any]:
    n = data.numbers
    return {
        "labels": list(data.labels), "exclusive": bool(data.exclusive),
        "thresholds": [float(t) for t in data.thresholds],
        "feature_spec": data.spec.to_dict(),
        "numbers": None if n is None else {
            "labels": list(n.labels), "window": int(n.window), "floor": float(n.floor),
            "weight": float(n.weight), "intercept": [float(v) for v in n.intercept]},
        "neighbours": None if data.neighbours is None else {"labels": list(data.neighbours.labels)},
    }


def _segmentation_json(data: ModelData) -> dict[str, Any]:
    c = data.cleaning
    return {"cleaning": {"enabled": c.enabled, "furniture": list(c.furniture),
                         "credit_patterns": list(c.credit_patterns), "captions": c.captions,
                         "tweets": c.tweets, "extra_patterns": list(c.extra_patterns)},
            "abbreviations": list(data.abbreviations)}


def encode(data: ModelData, metadata: Mapping[str, Any]) -> dict[str, bytes]:
    """The bytes of every file prediction reads: model.json (metadata, weights settings,
    segmentation), the feature lists and the weight arrays."""
    files = {
        MODEL_JSON: _json(dict(metadata, weights=_weights_json(data),
                               segmentation=_segmentation_json(data))),
        "features.json": json.dumps(data.features, ensure_ascii=False).encode("utf-8"),
        "ngram_tokens.json": json.dumps(data.ngram_tokens, ensure_ascii=False).encode("utf-8"),
        "ngram_table.npy": npy_bytes(data.ngram_table),
        "idf.npy": npy_bytes(data.idf),
        "coef.npy": npy_bytes(data.coef),
        "intercept.npy": npy_bytes(data.intercept),
    }
    if data.numbers is not None:
        files["number_table.npy"] = npy_bytes(data.numbers.table)
        files["number_coef.npy"] = npy_bytes(data.numbers.coef)
    if data.neighbours is not None:
        files["neighbour_coef.npy"] = npy_bytes(data.neighbours.coef)
    return files


def check_name(name: str) -> None:
    """An artifact name is one path component: letters, digits, '.', '_', '-'."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name in (".", ".."):
        raise ArtifactError(f"output.name {name!r} must be letters, digits, '.', '_' or '-' "
                            "(one name, not a path; at most 100 characters)")


def check_writable(root: Path, name: str) -> None:
    """Raise ArtifactError now if a version of `name` could not be written under `root`, so
    a bad output directory fails before training, not after; creates nothing that stays."""
    check_name(name)
    probe = root / name
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise ArtifactError(f"{root}: cannot write the artifact directory "
                            f"({'not a directory' if not probe.is_dir() else 'permission denied'})")


def write(root: Path, name: str, data: ModelData, metadata: Mapping[str, Any],
          documents: Mapping[str, bytes]) -> Path:
    """Write the model plus `documents` (config, card, metrics ...) and a manifest as the
    next version of `name`; return its directory."""
    from .. import __version__
    check_name(name)
    parent = Path(root) / name
    try:
        scratch = Scratch(parent)
    except OutputError as exc:
        raise ArtifactError(f"{root}: cannot write the artifact directory ({exc})") from None
    try:
        files = {**documents, **encode(data, metadata)}
        hashes = {}
        for fname, blob in sorted(files.items()):
            scratch.write(fname, blob)
            hashes[fname] = hashlib.sha256(blob).hexdigest()
        for _ in range(100):
            version = (versions(Path(root), name) or [0])[-1] + 1
            manifest = {"format_version": FORMAT_VERSION, "stancekit_version": __version__,
                        "created": metadata.get("created"), "name": name,
                        "version": f"v{version}", "files": hashes}
            (scratch.path / MANIFEST).unlink(missing_ok=True)
            scratch.write(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
            final = parent / f"v{version}"
            if scratch.commit(final):  # never overwrites: a taken number means try the next
                return final
        raise ArtifactError(f"{parent}: could not claim a new version number")
    except BaseException:
        scratch.discard()
        raise


# -- reading ---------------------------------------------------------------------------

class _Fields:
    """Typed access to one JSON object of an artifact file; errors name file and field."""

    def __init__(self, obj: Any, file: Path, prefix: str = "") -> None:
        if not isinstance(obj, dict):
            raise ArtifactError(f"{file}: {('field ' + repr(prefix) + ': ') if prefix else ''}"
                                f"must be an object, got {type(obj).__name__}")
        self.obj, self.file, self.prefix = obj, file, prefix

    def bad(self, key: str, what: str) -> ArtifactError:
        return ArtifactError(f"{self.file}: field '{self.prefix}{key}': {what}")

    def get(self, key: str, kind: type | tuple[type, ...], optional: bool = False) -> Any:
        if key not in self.obj:
            if optional:
                return None
            raise self.bad(key, "missing")
        value = self.obj[key]
        if value is None and optional:
            return None
        kinds = kind if isinstance(kind, tuple) else (kind,)
        what = "a number" if float in kinds else kinds[0].__name__
        if isinstance(value, bool) and bool not in kinds:
            raise self.bad(key, f"must be {what}, got {value!r}")
        if not isinstance(value, kinds):
            raise self.bad(key, f"must be {what}, got {type(value).__name__}")
        return value

    def number(self, key: str, lo: float = -math.inf, hi: float = math.inf) -> float:
        value = float(self.get(key, (int, float)))
        if not (math.isfinite(value) and lo <= value <= hi):
            raise self.bad(key, f"must be a finite number in [{lo}, {hi}], got {value!r}")
        return value

    def strings(self, key: str, optional: bool = False) -> list[str] | None:
        value = self.get(key, list, optional)
        if value is None:
            return None
        if not all(isinstance(v, str) for v in value):
            raise self.bad(key, "must be a list of strings")
        return value

    def numbers(self, key: str, length: int, lo: float = -math.inf, hi: float = math.inf
                ) -> list[float]:
        value = self.get(key, list)
        if len(value) != length or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                and lo <= v <= hi for v in value):
            raise self.bad(key, f"must be {length} finite numbers in [{lo}, {hi}]")
        return [float(v) for v in value]

    def sub(self, key: str, optional: bool = False) -> "_Fields | None":
        value = self.get(key, dict, optional)
        return None if value is None else _Fields(value, self.file, f"{self.prefix}{key}.")


def _read_json(path: Path, limit: int | None = None) -> Any:
    try:
        with path.open("rb") as fh:
            raw = fh.read(limit + 1 if limit else -1)
    except FileNotFoundError:
        raise ArtifactError(f"{path}: missing") from None
    except OSError as exc:
        raise ArtifactError(f"{path}: cannot read ({exc.strerror})") from None
    if limit and len(raw) > limit:
        raise ArtifactError(f"{path}: larger than {limit} bytes; not a stancekit file")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ArtifactError(f"{path}: not valid JSON ({str(exc).splitlines()[0][:80]})") from None


def _npy(path: Path, kind: str, ndim: int) -> np.ndarray:
    """Load one .npy file after checking, from its header, that its dtype kind ('i' or
    'f') and rank are as expected and that the file holds exactly the declared data."""
    try:
        with path.open("rb") as fh:
            version = np.lib.format.read_magic(fh)
            reader = {(1, 0): np.lib.format.read_array_header_1_0,
                      (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if reader is None:
                raise ValueError(f"unsupported .npy version {version}")
            shape, fortran, dtype = reader(fh)
            header_end = fh.tell()
            size = os.fstat(fh.fileno()).st_size
    except FileNotFoundError:
        raise ArtifactError(f"{path}: missing") from None
    except (OSError, ValueError, SyntaxError, TypeError) as exc:
        raise ArtifactError(f"{path}: not a valid .npy file ({str(exc)[:80]})") from None
    if dtype.kind != kind or dtype.hasobject or len(shape) != ndim or fortran:
        raise ArtifactError(f"{path}: expected a {ndim}-d {'integer' if kind == 'i' else 'float'} "
                            f"array, found {dtype} of shape {shape}")
    if int(np.prod(shape, dtype=object)) * dtype.itemsize != size - header_end:
        raise ArtifactError(f"{path}: header declares shape {shape} but the file holds "
                            f"{size - header_end} bytes of data")
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{path}: cannot read ({exc})") from None
    if kind == "f" and not np.isfinite(arr).all():
        raise ArtifactError(f"{path}: holds values that are not finite")
    return arr


def _expect_shape(path: Path, arr: np.ndarray, shape: tuple[int, ...]) -> None:
    if arr.shape != shape:
        raise ArtifactError(f"{path}: shape {arr.shape} does not match the model (expected {shape})")


def _upgrade_v1(meta: dict[str, Any]) -> dict[str, Any]:
    """Format 1 -> 2: the analyzer flags and `sublinear_tf` become `feature_spec`;
    `neighbours_view` becomes `neighbours` (its weight was folded into the coefficients
    then as now, so the spec records the default)."""
    w = dict(meta.get("weights") or {})
    analyzer = w.pop("analyzer", None)
    sublinear = w.pop("sublinear_tf", True)
    view = w.pop("neighbours_view", None)
    if isinstance(analyzer, dict):
        w["feature_spec"] = dict(analyzer, sublinear_tf=sublinear,
                                 neighbour_labels=list((view or {}).get("labels", [])))
    w["neighbours"] = view
    return dict(meta, weights=w)


_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _upgrade_v1}


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of an artifact directory, checked for its types and format version."""
    mpath = path / MANIFEST
    if not mpath.is_file():
        raise ModelNotFoundError(f"{path}: not a stancekit artifact (no {MANIFEST})")
    man = _read_json(mpath, MAX_MANIFEST_BYTES)
    f = _Fields(man, mpath)
    files = f.get("files", dict)
    for name, digest in files.items():
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise f.bad(f"files.{name}", "must be a sha256 hex digest")
    fmt = man.get("format_version")
    if isinstance(fmt, bool) or not isinstance(fmt, int) or \
            (fmt != FORMAT_VERSION and fmt not in _UPGRADES):
        from .. import __version__
        raise ArtifactError(
            f"{path}: artifact format {fmt} was written by stancekit "
            f"{man.get('stancekit_version')}, this is stancekit {__version__} (format "
            f"{FORMAT_VERSION}, reads {', '.join(map(str, sorted({*_UPGRADES, FORMAT_VERSION})))}); "
            "install the stancekit version that wrote it, or retrain from its config.yaml")
    for key in ("name", "version", "stancekit_version"):
        f.get(key, str, optional=True)
    return man


def verify(path: Path) -> list[str]:
    """Problems found when checking every file against the manifest (empty when intact)."""
    man = read_manifest(path)
    problems = []
    for fname, digest in sorted(man["files"].items()):
        f = path / fname
        if "/" in fname or fname.startswith(".") or fname == MANIFEST:
            problems.append(f"{fname}: unexpected path in manifest")
        elif f.is_symlink() or not f.is_file():
            problems.append(f"{fname}: missing" if not f.is_symlink() else f"{fname}: a symlink")
        elif _sha256_file(f) != digest:
            problems.append(f"{fname}: sha256 mismatch (modified, truncated or replaced)")
    listed = set(man["files"]) | {MANIFEST}
    for f in sorted(path.iterdir()):
        if f.name not in listed:
            problems.append(f"{f.name}: not in the manifest (foreign file)")
    return problems


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verified(path: Path) -> dict[str, Any]:
    """The manifest, after checking that every file matches it; raise ArtifactError if not."""
    man = read_manifest(path)
    problems = verify(path)
    if problems:
        raise ArtifactError(f"{path}: verification failed: {'; '.join(problems)}")
    return man


def _model_json(path: Path, manifest: Mapping[str, Any]) -> dict[str, Any]:
    meta = _read_json(path / MODEL_JSON)
    if not isinstance(meta, dict):
        raise ArtifactError(f"{path / MODEL_JSON}: must be a JSON object")
    fmt = manifest["format_version"]
    while fmt != FORMAT_VERSION:
        meta = _UPGRADES[fmt](meta)
        fmt += 1
    return meta


def _cleaning(seg: _Fields | None) -> tuple[CleaningRules, tuple[str, ...]]:
    if seg is None:
        return CleaningRules(), ()
    c = seg.sub("cleaning", optional=True)
    abbreviations = tuple(seg.strings("abbreviations", optional=True) or ())
    if c is None:
        return CleaningRules(), abbreviations
    defaults = CleaningRules()
    kwargs: dict[str, Any] = {}
    for key in ("enabled", "captions", "tweets"):
        value = c.get(key, bool, optional=True)
        kwargs[key] = getattr(defaults, key) if value is None else value
    for key in ("furniture", "credit_patterns", "extra_patterns"):
        value = c.strings(key, optional=True)
        kwargs[key] = getattr(defaults, key) if value is None else tuple(value)
    rules = CleaningRules(**kwargs)
    try:
        compile_patterns(rules)
    except PatternError as exc:
        raise c.bad("credit_patterns/extra_patterns", str(exc)) from None
    return rules, abbreviations


def read(path: Path) -> tuple[ModelData, dict[str, Any]]:
    """(model data, metadata) of a verified artifact directory: JSON and .npy only."""
    manifest = verified(path)
    meta = _model_json(path, manifest)
    mj = path / MODEL_JSON
    top = _Fields(meta, mj)
    w = top.sub("weights")
    assert w is not None
    labels = w.strings("labels")
    assert labels is not None
    if not labels or len(set(labels)) != len(labels):
        raise w.bad("labels", "must name at least one label, each once")
    L = len(labels)
    try:
        spec = FeatureSpec.from_dict(w.get("feature_spec", dict))
    except ValueError as exc:
        raise w.bad("feature_spec", str(exc)) from None
    features = _read_json(path / "features.json")
    tokens = _read_json(path / "ngram_tokens.json")
    for name, value in (("features.json", features), ("ngram_tokens.json", tokens)):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ArtifactError(f"{path / name}: must be a JSON list of strings")
    F = len(features)
    table = _npy(path / "ngram_table.npy", "i", 2)
    _expect_shape(path / "ngram_table.npy", table, (F, table.shape[1]))
    if table.size and (table.min() < -1 or table.max() >= len(tokens)):
        raise ArtifactError(f"{path / 'ngram_table.npy'}: token ids outside ngram_tokens.json")
    if table.shape[1] < max(spec.word_ngrams[1], 1):
        raise ArtifactError(f"{path / 'ngram_table.npy'}: narrower than the n-gram range")
    idf = _npy(path / "idf.npy", "f", 1)
    _expect_shape(path / "idf.npy", idf, (F,))
    coef = _npy(path / "coef.npy", "f", 2)
    _expect_shape(path / "coef.npy", coef, (F, L))
    intercept = _npy(path / "intercept.npy", "f", 1)
    _expect_shape(path / "intercept.npy", intercept, (L,))
    numbers = None
    n = w.sub("numbers", optional=True)
    if n is not None:
        nlabels = n.strings("labels") or []
        if not nlabels or not set(nlabels) <= set(labels):
            raise n.bad("labels", f"must name labels of the model {labels}")
        window = n.get("window", int)
        if not 1 <= window <= 6:
            raise n.bad("window", f"must be in 1..6, got {window}")
        ntable = _npy(path / "number_table.npy", "i", 2)
        _expect_shape(path / "number_table.npy", ntable, (len(ntable), 3))
        if ntable.size and (ntable[:, 1:].min() < -3 or ntable[:, 1:].max() >= len(tokens)
                            or ntable[:, 0].min() < 0 or ntable[:, 0].max() >= 2 + 2 * window + 3):
            raise ArtifactError(f"{path / 'number_table.npy'}: codes outside the token list")
        ncoef = _npy(path / "number_coef.npy", "f", 2)
        _expect_shape(path / "number_coef.npy", ncoef, (len(ntable), len(nlabels)))
        numbers = NumberWeights(nlabels, window, n.number("floor"), n.number("weight", 0, 1),
                                n.numbers("intercept", len(nlabels)), ntable, ncoef)
    neighbours = None
    nb = w.sub("neighbours", optional=True)
    if nb is not None:
        nblabels = nb.strings("labels") or []
        if not nblabels or not set(nblabels) <= set(labels):
            raise nb.bad("labels", f"must name labels of the model {labels}")
        ncoef = _npy(path / "neighbour_coef.npy", "f", 2)
        _expect_shape(path / "neighbour_coef.npy", ncoef, (F, 2 * len(nblabels)))
        neighbours = NeighbourWeights(nblabels, ncoef)
    cleaning, abbreviations = _cleaning(top.sub("segmentation", optional=True))
    data = ModelData(labels=labels, exclusive=w.get("exclusive", bool),
                     thresholds=w.numbers("thresholds", L, 0, 1), spec=spec, features=features,
                     ngram_tokens=tokens, ngram_table=table, idf=idf, coef=coef,
                     intercept=intercept, numbers=numbers, neighbours=neighbours,
                     cleaning=cleaning, abbreviations=abbreviations)
    meta = {k: v for k, v in meta.items() if k not in ("weights", "segmentation")}
    meta["version"] = manifest.get("version")
    meta["path"] = str(path)
    return data, meta


def describe(path: Path) -> dict[str, Any]:
    """What `stancekit info` shows: the manifest, the verification problems, and the
    model's metadata, which is read only when every file verifies (a damaged or
    replaced model.json is reported, never parsed)."""
    man = read_manifest(path)
    problems = verify(path)
    meta: dict[str, Any] = {}
    if not problems:
        try:
            read(path)
            meta = _model_json(path, man)
        except ArtifactError as exc:
            problems = [str(exc)]
    return {"path": str(path), "manifest": man, "verified": not problems, "problems": problems,
            "metadata": meta}


def diff(path: Path, data: ModelData, metadata: Mapping[str, Any]) -> list[str]:
    """What differs between a stored (verified) artifact and a retrained model: every
    file prediction reads, byte for byte, and in model.json the weights settings, the
    segmentation rules and the dataset fingerprint."""
    verified(path)
    new = encode(data, metadata)
    diffs = []
    stored_meta = _model_json(path, read_manifest(path))
    new_meta = json.loads(new[MODEL_JSON])
    for key in ("weights", "segmentation"):
        if stored_meta.get(key) != new_meta.get(key):
            diffs.append(f"{MODEL_JSON}: '{key}' differs")
    old_fp = (stored_meta.get("dataset") or {}).get("fingerprint")
    if old_fp != (metadata.get("dataset") or {}).get("fingerprint"):
        diffs.append("dataset fingerprint differs (the data changed)")
    stored = set(read_manifest(path)["files"])
    for fname in sorted(set(new) | (stored & _PREDICTION_FILES)):
        if fname == MODEL_JSON:
            continue
        f = path / fname
        old = f.read_bytes() if fname in stored and f.is_file() else None
        if old != new.get(fname):
            diffs.append(f"{fname} differs" if old is not None and fname in new else
                         f"{fname} {'missing from the stored artifact' if old is None else 'not produced by the retrained model'}")
    return diffs


_PREDICTION_FILES = frozenset({MODEL_JSON, "features.json", "ngram_tokens.json", "ngram_table.npy",
                               "idf.npy", "coef.npy", "intercept.npy", "number_table.npy",
                               "number_coef.npy", "neighbour_coef.npy"})


# -- names and versions ----------------------------------------------------------------

def versions(root: Path, name: str) -> list[int]:
    """The existing version numbers of artifact `name`, ascending."""
    d = Path(root) / name
    if not d.is_dir():
        return []
    return sorted(int(m.group(1)) for p in d.iterdir()
                  if (m := _VERSION_DIR.fullmatch(p.name)) and p.is_dir())


def resolve(spec: str | os.PathLike[str], root: str | os.PathLike[str] = "artifacts") -> Path:
    """A model directory from a path, `name` (latest version) or `name@v3` under `root`.

    A name and a version are single path components checked against their patterns, so
    a reference can never point outside the root."""
    p = Path(spec)
    if (p / MANIFEST).is_file():
        return p
    text = str(spec)
    root = Path(root)
    name, at, ver = text.partition("@")
    if _NAME.fullmatch(name) and name not in (".", "..") and (root / name).is_dir():
        have = versions(root, name)
        if not at:
            if not have:
                raise ModelNotFoundError(f"{root / name}: no versions of model {name!r}")
            return root / name / f"v{have[-1]}"
        ver = ver if ver.startswith("v") else f"v{ver}"
        if not _VERSION_DIR.fullmatch(ver):
            raise ModelNotFoundError(f"{text}: the version must look like v3, got {ver!r}")
        if (root / name / ver / MANIFEST).is_file():
            return root / name / ver
        raise ModelNotFoundError(f"{root / name}: model {name!r} has no version {ver} "
                                 f"(has: {', '.join(f'v{v}' for v in have) or 'none'})")
    if p.is_dir():
        raise ModelNotFoundError(f"{p}: not a stancekit artifact (no {MANIFEST})")
    raise ModelNotFoundError(f"{text}: no such model (neither a directory nor a name under {root})")


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


__all__ = ["FORMAT_VERSION", "ModelData", "NumberWeights", "NeighbourWeights", "encode", "write",
           "read", "verify", "verified", "describe", "diff", "resolve", "versions",
           "list_artifacts", "check_name", "check_writable", "read_manifest", "npy_bytes",
           "clean_stale"]
