"""Prediction on a real Dask cluster: a scheduler and two worker processes on loopback,
started here (as `dask scheduler` and `dask worker` would be on a cluster) and shut down
after. The parts, concatenated in order, must equal the single-process output byte for
byte; a failed run must leave no _SUCCESS."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

import stancekit
from stancekit.config import ArticleSource

from conftest import ROOT, SHARED, needs_shared, run_cli

pytest.importorskip("distributed", reason="the dask extra is not installed")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """tcp:// address of a scheduler with two single-threaded worker processes."""
    from distributed import Client
    d = tmp_path_factory.mktemp("dask")
    bindir = Path(sys.executable).parent
    info = d / "scheduler.json"
    procs = [subprocess.Popen([str(bindir / "dask"), "scheduler", "--host", "127.0.0.1",
                               "--port", "0", "--no-dashboard", "--scheduler-file", str(info)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=d)]
    try:
        for _ in range(200):
            if info.is_file() and info.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        for k in range(2):
            procs.append(subprocess.Popen(
                [str(bindir / "dask"), "worker", address, "--nthreads", "1", "--nworkers", "1",
                 "--no-dashboard", "--host", "127.0.0.1", "--name", f"w{k}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=d))
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for p in reversed(procs):  # nothing to save in a test cluster: no graceful shutdown
            p.kill()
        for p in procs:
            p.wait(timeout=20)


@pytest.fixture(scope="module")
def many_articles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample articles, 12 times over under distinct ids, as one JSONL file (~150 kB)."""
    path = tmp_path_factory.mktemp("arts") / "articles.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for k in range(12):
            for p in sorted((ROOT / "data/articles").glob("*.txt")):
                fh.write(json.dumps({"id": f"{p.stem}-{k}", "text": p.read_text()}) + "\n")
    return path


def test_parts_equal_the_single_process_output(cluster: str, trained: Path, many_articles: Path,
                                               tmp_path: Path) -> None:
    from distributed import Client
    from stancekit.dask import predict_to_directory
    model = stancekit.load(trained)
    single = tmp_path / "single.jsonl"
    res = run_cli("predict", str(trained), "--articles", str(many_articles), "--output", str(single))
    assert res.returncode == 0, res.stderr
    out = tmp_path / "parts"
    with Client(cluster) as client:
        summary = predict_to_directory(model, [ArticleSource(str(many_articles))], str(out),
                                       client, block_bytes=20_000)
        workers = {w["id"] for w in client.scheduler_info()["workers"].values()}
    parts = sorted(out.glob("part-*.jsonl"))
    assert len(parts) == summary["partitions"] > 5 and len(workers) == 2
    assert b"".join(p.read_bytes() for p in parts) == single.read_bytes()
    success = json.loads((out / "_SUCCESS").read_text())
    assert success["articles"] == 192 and success["sentences"] == len(single.read_text().splitlines())


def test_parquet_parts_hold_the_single_process_rows(cluster: str, trained: Path,
                                                   many_articles: Path, tmp_path: Path) -> None:
    """`--format parquet` parts, read back and concatenated, are the JSONL rows."""
    import pyarrow.parquet as pq
    single = tmp_path / "single.jsonl"
    assert run_cli("predict", str(trained), "--articles", str(many_articles), "--output",
                   str(single)).returncode == 0
    from distributed import Client
    from stancekit.dask import predict_to_directory
    out = tmp_path / "parts"
    with Client(cluster) as client:
        predict_to_directory(stancekit.load(trained), [ArticleSource(str(many_articles))],
                             str(out), client, fmt="parquet", block_bytes=20_000)
    parts = sorted(out.glob("part-*.parquet"))
    assert len(parts) > 5 and not list(out.glob("*.partial")) and (out / "_SUCCESS").is_file()
    rows = [r for p in parts for r in pq.read_table(p).to_pylist()]
    assert rows == [json.loads(l) for l in single.read_text().splitlines()]


def test_a_bad_record_fails_the_run_and_leaves_no_success(cluster: str, trained: Path,
                                                          many_articles: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    lines = many_articles.read_text().splitlines()
    lines[150] = '{"id": "broken", "text": 5}'
    bad.write_text("\n".join(lines) + "\n")
    out = tmp_path / "parts"
    res = run_cli("predict", str(trained), "--articles", str(bad), "--output", str(out),
                  "--scheduler", cluster)
    assert res.returncode == 2 and "bad.jsonl:151: field 'text': must be a string" in res.stderr
    assert not (out / "_SUCCESS").exists() and not list(out.glob("part-*"))  # atomic parts
    (out / "part-00000.jsonl").write_text("an earlier run's part\n")
    res = run_cli("predict", str(trained), "--articles", str(bad), "--output", str(out),
                  "--scheduler", cluster)
    assert res.returncode == 2 and "exists and is not an empty directory" in res.stderr
    again = tmp_path / "skipping"
    res = run_cli("predict", str(trained), "--articles", str(bad), "--output", str(again),
                  "--scheduler", cluster, "--on-error", "skip")
    assert res.returncode == 0 and "skipped 1 records" in res.stderr
    assert (again / "_SUCCESS").is_file()


def test_dask_dataframe_api(cluster: str, trained: Path, many_articles: Path) -> None:
    import dask.dataframe as dd
    import pandas as pd
    from distributed import Client
    from stancekit.dask import predict_articles
    model = stancekit.load(trained)
    frame = pd.read_json(many_articles, lines=True)
    with Client(cluster):
        got = predict_articles(dd.from_pandas(frame, npartitions=4), model, title_column=None
                               ).compute()
    expected = [r for _, a in frame.iterrows() for r in model.predict_article(a["text"], a["id"])]
    assert len(got) == len(expected)
    assert got.to_dict("records") == expected


def test_local_cluster_and_usage_errors(trained: Path, many_articles: Path, tmp_path: Path) -> None:
    out = tmp_path / "local"
    res = run_cli("predict", str(trained), "--articles", str(many_articles), "--output", str(out),
                  "--scheduler", "local:2")
    assert res.returncode == 0, res.stderr
    assert (out / "_SUCCESS").is_file() and res.stdout.strip() == str(out)
    res = run_cli("predict", str(trained), "--articles", str(many_articles), "--scheduler", "local:2")
    assert res.returncode == 2 and "--scheduler runs --articles SOURCE... into --output DIR" in res.stderr
    res = run_cli("predict", str(trained), "--articles", str(many_articles), "--output",
                  str(tmp_path / "x"), "--scheduler", "local:zero")
    assert res.returncode == 2 and "local:N needs N in 1..512" in res.stderr


@needs_shared
def test_bbc_news_on_the_cluster_from_the_cli(cluster: str, tmp_path: Path, trained: Path) -> None:
    src = SHARED / "bbc-news.jsonl"
    single = tmp_path / "single.jsonl"
    assert run_cli("predict", str(trained), "--articles", str(src), "--output",
                   str(single)).returncode == 0
    out = tmp_path / "parts"
    res = run_cli("predict", str(trained), "--articles", str(src), "--output", str(out),
                  "--scheduler", cluster, "--partition-mb", "1")
    assert res.returncode == 0, res.stderr
    parts = sorted(out.glob("part-*.jsonl"))
    assert len(parts) == 5
    assert b"".join(p.read_bytes() for p in parts) == single.read_bytes()
