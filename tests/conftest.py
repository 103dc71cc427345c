"""Shared fixtures: the repository root, the shared corpus (when present) and a trained model."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "corpus"
FIXTURES = Path(__file__).parent / "fixtures"

needs_shared = pytest.mark.skipif(not (SHARED / "bbc-politics-gold.jsonl").is_file(),
                                  reason="../shared/corpus is not beside the checkout")


def run_process(*args: str, cwd: Path = ROOT, stdin: str | None = None
                ) -> subprocess.CompletedProcess:
    """Run the real `stancekit` console script in a subprocess, as a user would: for what
    needs a real process (start-up, pipes, signals, servers)."""
    exe = Path(sys.executable).parent / "stancekit"
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True, input=stdin,
                          env={**os.environ, "STANCEKIT_ARTIFACTS": str(cwd / "artifacts")})


def run_cli(*args: str, cwd: Path = ROOT, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run the `stancekit` command in this process through click's CliRunner: the same
    command group, error mapping and exit codes as the console script, without the
    interpreter start. Returns what `run_process` returns."""
    from click.testing import CliRunner
    from stancekit.cli import cli
    runner = CliRunner(env={"STANCEKIT_ARTIFACTS": str(cwd / "artifacts")})
    old = os.getcwd()
    os.chdir(cwd)
    try:
        res = runner.invoke(cli, list(args), input=stdin, prog_name="stancekit")
    finally:
        os.chdir(old)
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception  # a bug in the CLI: show it, as STANCEKIT_DEBUG=1 would
    return subprocess.CompletedProcess(["stancekit", *args], res.exit_code, res.stdout, res.stderr)


@contextlib.contextmanager
def serving(model: Path, stderr: IO[bytes] | int = subprocess.DEVNULL) -> Iterator[str]:
    """`stancekit serve MODEL` as a real process on a free loopback port; yields its base
    URL once /health answers, and stops it after the block."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    exe = Path(sys.executable).parent / "stancekit"
    proc = subprocess.Popen([str(exe), "serve", str(model), "--port", str(port)], stderr=stderr)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/health", timeout=2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


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
    """The default config trained once through the real console script; returns the
    artifact directory."""
    res = run_process("train", "configs/default.yaml", cwd=workdir)
    assert res.returncode == 0, res.stderr
    return Path(workdir / res.stdout.strip().splitlines()[-1])
