"""Experiments you can compare: the run log, `stancekit runs`, MLflow, cards the Hugging Face
tools read, and file permissions that follow the umask."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, run_cli, run_process


def _runs(root: Path, *args: str) -> list[dict]:
    res = run_cli("runs", "--root", str(root), "--json", *args)
    assert res.returncode == 0, res.stderr
    return [json.loads(l) for l in res.stdout.splitlines()]


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two trainings, a CV run and two evaluations, logged under one artifact root."""
    d = tmp_path_factory.mktemp("runs")
    import shutil
    shutil.copytree(ROOT / "configs", d / "configs")
    shutil.copytree(ROOT / "data", d / "data")
    for extra in ([], ["--set", "model.C=0.5"]):
        assert run_cli("train", "configs/default.yaml", *extra, cwd=d).returncode == 0
    assert run_cli("train", "configs/default.yaml", "--cv", "--seeds", "3,4", cwd=d).returncode == 0
    built = run_cli("build", "configs/default.yaml", cwd=d).stdout.strip()
    for v in ("v1", "v2"):
        res = run_cli("evaluate", f"default@{v}", built, "--bootstrap", "50", cwd=d)
        assert res.returncode == 0, res.stderr
    return d


def test_every_run_is_recorded(logged: Path) -> None:
    rows = _runs(logged / "artifacts")
    assert [r["command"] for r in rows] == ["train", "train", "train --cv", "evaluate", "evaluate"]
    assert all(r["status"] == "finished" and r["ended"] >= r["started"] for r in rows)
    train = rows[0]
    assert train["config"]["model"]["C"] == 4.0 and rows[1]["config"]["model"]["C"] == 0.5
    assert len(train["config_hash"]) == 64 and train["seed"] == 13
    assert len(train["dataset_fingerprint"]) == 64
    assert train["artifact"].endswith("default/v1") and train["artifact_version"] == "v1"
    assert set(train["metrics"]) == {"validation", "test"} and "fit_s" in train["timings"]
    assert train["versions"]["stancekit"] and "scikit-learn" in train["versions"]
    assert "git_commit" in train and "git_dirty" in train
    assert rows[2]["metrics"]["mean"]["macro_f1"] > 0
    assert rows[3]["model"] == "default" and rows[3]["artifact_version"] == "v1"
    assert rows[3]["dataset_fingerprint"] == rows[4]["dataset_fingerprint"]
    # filters
    assert [r["command"] for r in _runs(logged / "artifacts", "--command", "evaluate")] == ["evaluate"] * 2
    assert len(_runs(logged / "artifacts", "--config", "default")) == 5
    assert _runs(logged / "artifacts", "--since", "2999-01-01") == []
    table = run_cli("runs", "--root", str(logged / "artifacts")).stdout
    assert table.splitlines()[0].startswith("run") and len(table.splitlines()) == 6


def test_runs_show_and_diff(logged: Path) -> None:
    rows = _runs(logged / "artifacts")
    shown = json.loads(run_cli("runs", "--root", str(logged / "artifacts"), "show",
                               rows[0]["run_id"][:6]).stdout)
    assert shown["run_id"] == rows[0]["run_id"]
    res = run_cli("runs", "--root", str(logged / "artifacts"), "diff", rows[0]["run_id"],
                  rows[1]["run_id"], "--json")
    d = json.loads(res.stdout)
    assert d["config"] == {"model.C": {"a": 4.0, "b": 0.5}}
    assert d["metrics"]["macro_f1"]["change"] == pytest.approx(
        d["metrics"]["macro_f1"]["b"] - d["metrics"]["macro_f1"]["a"])
    ev = [r for r in rows if r["command"] == "evaluate"]
    d = json.loads(run_cli("runs", "--root", str(logged / "artifacts"), "diff", ev[0]["run_id"],
                           ev[1]["run_id"], "--json", "--bootstrap", "100").stdout)
    assert set(d["paired"]) == {"macro_f1", "f1/accusation", "f1/denial", "f1/quote", "f1/statistic"}
    assert d["paired"]["macro_f1"]["difference"] == pytest.approx(d["metrics"]["macro_f1"]["change"])
    text = run_cli("runs", "--root", str(logged / "artifacts"), "diff", ev[0]["run_id"],
                   ev[1]["run_id"]).stdout
    assert "paired story bootstrap" in text and "model.C: 4.0 -> 0.5" in text
    res = run_cli("runs", "--root", str(logged / "artifacts"), "show", "zzzz")
    assert res.returncode == 2 and "no run with id 'zzzz'" in res.stderr


def test_failed_and_killed_runs(workdir: Path, tmp_path: Path) -> None:
    root = tmp_path / "arts"
    res = run_cli("train", "configs/default.yaml", "--set", f"output.dir={root}", "--set",
                  "data.gold=[nowhere.jsonl]", cwd=workdir)
    assert res.returncode == 2
    (failed,) = _runs(root)
    assert failed["status"] == "failed" and "nowhere.jsonl" in failed["error"]
    # a run killed mid-way leaves a record that reads as failed
    exe = Path(sys.executable).parent / "stancekit"
    proc = subprocess.Popen([str(exe), "train", "configs/default.yaml", "--set",
                             f"output.dir={root}", "--set", "search.enabled=true", "--set",
                             "search.params={model.C: [0.1, 0.3, 1, 3, 10, 30, 100]}"],
                            cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        rows = _runs(root)
        if len(rows) == 2:
            break
        time.sleep(0.05)
    assert rows[-1]["status"] == "running"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed = _runs(root)[-1]
    assert killed["status"] == "failed" and "killed" in killed["error"]


def test_concurrent_runs_do_not_corrupt_the_log(tmp_path: Path) -> None:
    code = ("import sys; from stancekit import runs\n"
            "for i in range(25):\n"
            "    with runs.record(sys.argv[1], 'evaluate', {'i': i}) as r:\n"
            "        r.update(model='m' + sys.argv[2], metrics={'at_thresholds': {'macro_f1': i / 100}})\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path), str(k)])
             for k in range(4)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    rows = _runs(tmp_path)
    assert len(rows) == 100 and all(r["status"] == "finished" for r in rows)
    assert {r["model"] for r in rows} == {"m0", "m1", "m2", "m3"}


def test_mlflow_tracking(workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mlflow = pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (tmp_path / "mlruns").as_uri()
    res = run_cli("train", "configs/default.yaml", "--set", f"output.dir={tmp_path}/a",
                  "--set", f"tracking.mlflow.uri={uri}", "--set", "tracking.mlflow.experiment=sk",
                  cwd=workdir)
    assert res.returncode == 0, res.stderr
    client = mlflow.tracking.MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name("sk").experiment_id])
    (ours,) = _runs(tmp_path / "a")
    assert run.info.status == "FINISHED"
    assert run.data.tags["stancekit.run_id"] == ours["run_id"]
    assert run.data.tags["stancekit.dataset_fingerprint"] == ours["dataset_fingerprint"]
    assert run.data.params["model.C"] == "4.0" and run.data.params["seed"] == "13"
    assert run.data.metrics["macro_f1"] == pytest.approx(ours["metrics"]["test"]["macro_f1"])
    assert "model/coef.npy" in {a.path for a in client.list_artifacts(run.info.run_id, "model")}


def test_mlflow_without_the_extra_fails_up_front(workdir: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "mlflow" else real(name, *a))
    res = run_cli("train", "configs/default.yaml", "--set", f"output.dir={tmp_path}",
                  "--set", "tracking.mlflow.uri=file:///tmp/x", cwd=workdir)
    assert res.returncode == 2 and "pip install 'stancekit[mlflow]'" in res.stderr
    assert not list(tmp_path.iterdir())  # refused before any work


def test_cards_load_with_huggingface_hub(logged: Path) -> None:
    from huggingface_hub import DatasetCard, ModelCard
    built = next((logged / "artifacts" / "datasets").iterdir())
    card = DatasetCard.load(built / "README.md")
    assert card.data.task_categories == ["text-classification"]
    names = card.data.dataset_info["features"][3]["sequence"]["class_label"]["names"]
    assert list(names.values()) == ["accusation", "denial", "quote", "statistic"]
    splits = {s["name"]: s["num_examples"] for s in card.data.dataset_info["splits"]}
    counts = json.loads((built / "card.json").read_text())["splits"]
    assert splits == {s: c["sentences"] for s, c in counts.items() if c["sentences"]}
    model = ModelCard.load(logged / "artifacts" / "default" / "v1" / "model_card.md")
    result = model.data.eval_results[0]
    meta = json.loads((logged / "artifacts" / "default" / "v1" / "model.json").read_text())
    assert result.task_type == "text-classification" and result.dataset_split == "test"
    assert result.metric_value == round(meta["metrics"]["test"]["macro_f1"], 4)
    assert model.data.library_name == "stancekit"


def test_files_follow_the_umask(workdir: Path, tmp_path: Path) -> None:
    """Artifacts, datasets and reports are readable by others under umask 022, like any file."""
    out = tmp_path / "o"
    old_mask = os.umask(0o022)  # process-wide, so restored whatever happens
    try:
        res = run_cli("train", "configs/default.yaml", "--set", f"output.dir={out}", "--json",
                      cwd=workdir)
        assert res.returncode == 0, res.stderr
        art = Path(json.loads(res.stdout)["artifact"])
        built = run_cli("build", "configs/default.yaml", "--set", f"output.dir={out}",
                        cwd=workdir).stdout.strip()
        assert run_cli("evaluate", str(art), built, "--output", str(out / "report"),
                       "--bootstrap", "20", cwd=workdir).returncode == 0
    finally:
        os.umask(old_mask)
    for d in (art, Path(built), out / "report"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o755, d
        for f in d.iterdir():
            if f.is_file():
                assert stat.S_IMODE(f.stat().st_mode) == 0o644, f


def test_artifact_format_is_documented() -> None:
    doc = (ROOT / "docs" / "artifact-format.md").read_text()
    from stancekit.runtime.artifact import FORMAT_VERSION
    assert f"format_version` is {FORMAT_VERSION}" in doc
    for name in ("manifest.json", "model.json", "features.json", "ngram_tokens.json",
                 "ngram_table.npy", "idf.npy", "coef.npy", "intercept.npy", "number_table.npy",
                 "number_coef.npy", "neighbour_coef.npy"):
        assert f"`{name}`" in doc, name
