"""Shared fixtures: the repository root, the shared corpus (when present) and a trained model."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "corpus"
FIXTURES = Path(__file__).parent / "fixtures"

needs_shared = pytest.mark.skipif(not (SHARED / "bbc-politics-gold.jsonl").is_file(),
                                  reason="../shared/corpus is not beside the checkout")


def run_cli(*args: str, cwd: Path = ROOT, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run the real `stancekit` console script (a subprocess, as a user would)."""
    exe = Path(sys.executable).parent / "stancekit"
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True, input=stdin,
                          env={**os.environ, "STANCEKIT_ARTIFACTS": str(cwd / "artifacts")})


def corrupt_tail(path: Path) -> None:
    """Overwrite a file's last 8 bytes with zeros (a tampered or truncated weight file)."""
    with open(path, "r+b") as fh:
        fh.seek(-8, 2)
        fh.write(b"\x00" * 8)


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repo's configs and data, so tests never write into the checkout."""
    d = tmp_path_factory.mktemp("work")
    shutil.copytree(ROOT / "configs", d / "configs")
    shutil.copytree(ROOT / "data", d / "data")
    return d


@pytest.fixture(scope="session")
def trained(workdir: Path) -> Path:
    """The default config trained once through the CLI; returns the artifact directory."""
    res = run_cli("train", "configs/default.yaml", cwd=workdir)
    assert res.returncode == 0, res.stderr
    return Path(workdir / res.stdout.strip().splitlines()[-1])
