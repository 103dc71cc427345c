"""The run log: one record per `train`, `train --cv` and `evaluate`, in a SQLite file under
the artifact root (`<root>/runs.sqlite`), and what `stancekit runs` shows of it.

A record is written when a run starts (status `running`) and completed when it ends
(`finished`, or `failed` with the error), each in its own transaction: SQLite's journal
makes every write all or nothing, and WAL mode with a busy timeout lets concurrent runs
append without corrupting the file. A run that is killed leaves its `running` record;
readers report it as `failed (killed)` once its process is gone.

Evaluation records keep the per-sentence predictions (packed bits), the gold matrix and
the story of each sentence, so `runs diff` can compare two evaluations of the same data
with the paired story bootstrap, long after the models are gone.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import os
import platform
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from . import __version__
from .errors import StancekitError

LOG_NAME = "runs.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    command TEXT NOT NULL,
    argv TEXT NOT NULL,
    status TEXT NOT NULL,
    started REAL NOT NULL,
    ended REAL,
    host TEXT, pid INTEGER, user TEXT,
    config_name TEXT, config TEXT, config_hash TEXT,
    dataset_fingerprint TEXT,
    git_commit TEXT, git_dirty INTEGER,
    versions TEXT,
    seed INTEGER,
    model TEXT, artifact TEXT, artifact_version TEXT,
    metrics TEXT, timings TEXT,
    error TEXT,
    eval_data TEXT
);
CREATE INDEX IF NOT EXISTS runs_started ON runs (started);
"""


class RunLogError(StancekitError, OSError):
    """The run log cannot be opened or written."""


def log_path(root: str | os.PathLike[str]) -> Path:
    return Path(root) / LOG_NAME


@contextlib.contextmanager
def _connect(path: Path, create: bool = True) -> Iterator[sqlite3.Connection]:
    if not create and not path.is_file():
        raise RunLogError(f"{path}: no run log here yet (runs are logged by train and evaluate)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
    except (sqlite3.Error, OSError) as exc:
        raise RunLogError(f"{path}: cannot write the run log ({getattr(exc, 'strerror', None) or exc})"
                          ) from None
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # a record survives a crash once written
        conn.executescript(_SCHEMA)
        conn.row_factory = sqlite3.Row
        yield conn
    except sqlite3.DatabaseError as exc:
        raise RunLogError(f"{path}: the run log is damaged or locked ({exc})") from None
    finally:
        conn.close()


def git_state(cwd: str | os.PathLike[str] = ".") -> tuple[str | None, bool | None]:
    """(commit, dirty) of the git checkout at `cwd`, or (None, None) outside one."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                              text=True, timeout=5)
        if head.returncode != 0:
            return None, None
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                cwd=cwd, capture_output=True, text=True, timeout=10)
        return head.stdout.strip() or None, bool(status.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return None, None


def library_versions() -> dict[str, str]:
    """stancekit and the libraries a result depends on."""
    out = {"stancekit": __version__, "python": platform.python_version(), "numpy": np.__version__}
    for name in ("sklearn", "scipy", "datasets"):
        mod = sys.modules.get(name)
        if mod is not None:
            out["scikit-learn" if name == "sklearn" else name] = getattr(mod, "__version__", "?")
    return out


def config_hash(config: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class Run:
    """A run being recorded; fill in what becomes known, `finish` at the end."""

    root: Path
    run_id: str
    fields: dict[str, Any] = field(default_factory=dict)

    def update(self, **values: Any) -> None:
        self.fields.update(values)


def _encode(value: Any) -> Any:
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, bool):
        return int(value)
    return value


@contextlib.contextmanager
def record(root: str | os.PathLike[str], command: str, argv: Sequence[str] | Mapping[str, Any],
           cwd: str | os.PathLike[str] = ".", mlflow: tuple[str, str] | None = None
           ) -> Iterator[Run]:
    """Record one run: a `running` row now, `finished` or `failed` when the block ends;
    with `mlflow` (uri, experiment) the finished record is also logged to MLflow."""
    root = Path(root)
    commit, dirty = git_state(cwd)
    run = Run(root, uuid.uuid4().hex[:12])
    base = {"run_id": run.run_id, "command": command, "argv": json.dumps(argv, default=str),
            "status": "running", "started": time.time(), "host": socket.gethostname(),
            "pid": os.getpid(), "user": _user(), "git_commit": commit, "git_dirty": dirty,
            "versions": json.dumps(library_versions())}
    with _connect(log_path(root)) as conn:
        cols = ", ".join(base)
        conn.execute(f"INSERT INTO runs ({cols}) VALUES ({', '.join('?' * len(base))})",
                     [_encode(v) for v in base.values()])
    status, error = "finished", None
    try:
        yield run
    except BaseException as exc:
        status, error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
        raise
    finally:
        values = dict(run.fields, status=status, ended=time.time(), error=error,
                      versions=json.dumps(library_versions()))
        with _connect(log_path(root)) as conn:
            sets = ", ".join(f"{k} = ?" for k in values)
            conn.execute(f"UPDATE runs SET {sets} WHERE run_id = ?",
                         [_encode(v) for v in values.values()] + [run.run_id])
        if mlflow is not None and status == "finished":
            try:
                row = get_run(root, run.run_id)
                row["mlflow_run_id"] = log_mlflow(mlflow[0], mlflow[1], row, row.get("artifact"))
            except Exception as exc:  # MLflow raises its own types; name the problem once
                raise RunLogError(f"the run finished (run {run.run_id}) but logging it to MLflow "
                                  f"at {mlflow[0]} failed: {exc}") from None


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def _alive(pid: int | None, host: str | None) -> bool:
    if pid is None or host != socket.gethostname():
        return True  # another machine's run: cannot tell, trust its status
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _row(r: sqlite3.Row) -> dict[str, Any]:
    out = dict(r)
    for k in ("argv", "config", "versions", "metrics", "timings", "eval_data"):
        if out.get(k):
            out[k] = json.loads(out[k])
    if out["status"] == "running" and not _alive(out.get("pid"), out.get("host")):
        out["status"], out["error"] = "failed", out.get("error") or "killed (its process is gone)"
    out["git_dirty"] = None if out.get("git_dirty") is None else bool(out["git_dirty"])
    return out


def list_runs(root: str | os.PathLike[str], command: str | None = None, config: str | None = None,
              model: str | None = None, since: float | None = None) -> list[dict[str, Any]]:
    """Runs, oldest first, filtered by command, config name, model name and start time."""
    query, args = "SELECT * FROM runs WHERE 1=1", list[Any]()
    for col, val in (("command", command), ("config_name", config), ("model", model)):
        if val is not None:
            query += f" AND {col} = ?"
            args.append(val)
    if since is not None:
        query += " AND started >= ?"
        args.append(since)
    with _connect(log_path(root), create=False) as conn:
        return [_row(r) for r in conn.execute(query + " ORDER BY started", args)]


def get_run(root: str | os.PathLike[str], ref: str) -> dict[str, Any]:
    """One run by id, or by a unique id prefix (at least 4 characters)."""
    with _connect(log_path(root), create=False) as conn:
        rows = list(conn.execute("SELECT * FROM runs WHERE run_id LIKE ?", [ref + "%"])) \
            if len(ref) >= 4 and ref.isalnum() else []
    if len(rows) != 1:
        raise RunLogError(f"{log_path(root)}: {'no run' if not rows else 'several runs'} "
                          f"with id {ref!r}" + ("" if len(ref) >= 4 else " (give 4+ characters)"))
    return _row(rows[0])


# -- evaluation data, kept for later comparisons --------------------------------------------

def eval_record(Y: np.ndarray, P: np.ndarray, groups: Sequence[str], labels: Sequence[str],
                data_fingerprint: str) -> dict[str, Any]:
    """What an evaluation keeps for `runs diff`: gold, predictions and stories, compact."""
    def pack(m: np.ndarray) -> str:
        import base64
        return base64.b64encode(zlib.compress(np.packbits(np.asarray(m, dtype=np.uint8)).tobytes())
                                ).decode()
    return {"labels": list(labels), "shape": list(Y.shape), "fingerprint": data_fingerprint,
            "Y": pack(Y), "P": pack(P), "groups": list(map(str, groups))}


def _unpack(text: str, shape: Sequence[int]) -> np.ndarray:
    import base64
    bits = np.frombuffer(zlib.decompress(base64.b64decode(text)), dtype=np.uint8)
    n = int(np.prod(shape))
    return np.unpackbits(bits)[:n].reshape(shape).astype(np.int8)


def data_fingerprint(records: Sequence[Mapping[str, Any]]) -> str:
    """sha256 of the evaluated sentences (identity, text, gold labels), in order."""
    h = hashlib.sha256()
    for r in records:
        h.update(json.dumps([r.get("article_id"), r.get("index"), r["text"], sorted(r["labels"])],
                            ensure_ascii=False).encode())
    return h.hexdigest()


# -- diff ------------------------------------------------------------------------------------

def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """A nested config as dotted keys."""
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for k, v in tree.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: tree}


def _metric_values(run: Mapping[str, Any]) -> dict[str, float]:
    m = run.get("metrics") or {}
    if run["command"] == "evaluate":
        m = m.get("at_thresholds", {})
    elif run["command"] == "train --cv":
        m = m.get("mean", {})
        return {"macro_f1": m.get("macro_f1"), **{f"f1/{k}": v for k, v in m.get("f1", {}).items()}}
    elif run["command"] == "train":
        m = m.get("test") or m.get("validation") or {}
    out = {"macro_f1": m.get("macro_f1")}
    out.update({f"f1/{k}": v.get("f1") for k, v in (m.get("per_label") or {}).items()})
    return {k: v for k, v in out.items() if v is not None}


def diff(a: Mapping[str, Any], b: Mapping[str, Any], n_boot: int = 1000) -> dict[str, Any]:
    """What differs between runs a and b: config keys, data, and each metric with its
    change (b - a); with the paired story bootstrap when both evaluated the same data."""
    ca, cb = flatten(a.get("config") or {}), flatten(b.get("config") or {})
    config = {k: {"a": ca.get(k), "b": cb.get(k)} for k in sorted(set(ca) | set(cb))
              if ca.get(k) != cb.get(k)}
    ma, mb = _metric_values(a), _metric_values(b)
    metrics = {k: {"a": ma.get(k), "b": mb.get(k),
                   "change": None if ma.get(k) is None or mb.get(k) is None else mb[k] - ma[k]}
               for k in sorted(set(ma) | set(mb))}
    out: dict[str, Any] = {"a": a["run_id"], "b": b["run_id"], "config": config,
                           "dataset_fingerprint": {"a": a.get("dataset_fingerprint"),
                                                   "b": b.get("dataset_fingerprint")},
                           "metrics": metrics}
    ea, eb = a.get("eval_data"), b.get("eval_data")
    if ea and eb and ea["fingerprint"] == eb["fingerprint"] and ea["labels"] == eb["labels"]:
        from .evaluation import paired_bootstrap
        Y = _unpack(ea["Y"], ea["shape"])
        out["paired"] = paired_bootstrap(Y, _unpack(eb["P"], eb["shape"]),
                                         _unpack(ea["P"], ea["shape"]), ea["groups"],
                                         ea["labels"], n_boot)
    elif ea and eb:
        out["paired"] = None
        out["paired_note"] = "the two evaluations scored different data: no paired comparison"
    return out


def log_mlflow(uri: str, experiment: str, run: Mapping[str, Any],
               artifact: str | None = None) -> str:
    """Log a finished run to MLflow: params (the flattened config), metrics, tags (data
    fingerprint, git commit, stancekit run id) and the artifact folder. Returns the
    MLflow run id."""
    import mlflow
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    exp_id = exp.experiment_id if exp is not None else client.create_experiment(experiment)
    tags = {"stancekit.run_id": run["run_id"], "stancekit.command": run["command"],
            "stancekit.dataset_fingerprint": str(run.get("dataset_fingerprint")),
            "mlflow.source.git.commit": str(run.get("git_commit")),
            "stancekit.git_dirty": str(run.get("git_dirty"))}
    mr = client.create_run(exp_id, tags=tags, run_name=f"{run['command']} {run['run_id']}")
    rid = mr.info.run_id
    params = flatten(run.get("config") or {})
    for k, v in list(params.items())[:500]:
        client.log_param(rid, k, json.dumps(v) if not isinstance(v, str) else v[:500])
    for k, v in _metric_values(run).items():
        client.log_metric(rid, k.replace("/", "."), float(v))
    if artifact and Path(artifact).is_dir():
        client.log_artifacts(rid, artifact, artifact_path="model")
    client.set_terminated(rid, "FINISHED" if run.get("status") == "finished" else "FAILED")
    return rid
