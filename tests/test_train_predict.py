"""Training, artifacts, loading and prediction through the real CLI and Python API."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import joblib
import numpy as np
import pytest

import stancekit
from stancekit.runtime import model as predict
from stancekit.errors import ArtifactError, ModelNotFoundError

from conftest import ROOT, corrupt_tail, run_cli


def test_artifact_layout_and_manifest(trained: Path) -> None:
    names = {p.name for p in trained.iterdir()}
    assert {"manifest.json", "model.json", "features.json", "idf.npy", "coef.npy", "intercept.npy",
            "ngram_tokens.json", "ngram_table.npy", "number_table.npy", "number_coef.npy",
            "config.yaml", "metrics.json", "model_card.md", "pipeline.joblib"} <= names
    man = json.loads((trained / "manifest.json").read_text())
    assert set(man["files"]) == names - {"manifest.json"}
    meta = json.loads((trained / "model.json").read_text())
    assert meta["labels"] == ["accusation", "denial", "quote", "statistic"]
    assert len(meta["dataset"]["fingerprint"]) == 64
    assert set(meta["metrics"]) == {"validation", "test"}
    assert "scikit-learn" in meta["versions"]
    assert "## Top n-grams per label" in (trained / "model_card.md").read_text()
    assert "## Number model" in (trained / "model_card.md").read_text()
    assert meta["weights"]["numbers"]["labels"] == ["statistic"]
    assert np.load(trained / "number_coef.npy", allow_pickle=False).shape == \
        (len(np.load(trained / "number_table.npy", allow_pickle=False)), 1)


def test_versions_increment_and_never_overwrite(workdir: Path, trained: Path) -> None:
    before = (trained / "coef.npy").read_bytes()
    res = run_cli("train", "configs/default.yaml", "--json", cwd=workdir)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert set(out) == {"artifact", "name", "version", "metrics"}
    assert out["version"] != trained.name and out["name"] == "default"
    assert (trained / "coef.npy").read_bytes() == before
    # same config and data: byte-identical weights
    assert (Path(workdir / out["artifact"]) / "coef.npy").read_bytes() == before


def test_fast_path_equals_sklearn_pipeline(trained: Path) -> None:
    model = stancekit.load(trained)
    clf = joblib.load(trained / "pipeline.joblib")
    texts = [l.split("\t")[0] for l in (ROOT / "data/gold.jsonl").read_text().splitlines()]
    texts = [json.loads(t)["text"] for t in texts] + ["", "Nothing known here zzqx."]
    # edge apostrophes of both kinds, non-ASCII digits (words, not numbers), no-break spaces
    texts += ["He said 'rock 'n' roll’ was ‘fine’n’good'.", "x'’y said ’twas '90s",
              "Some ٣ people paid £٣.", "Costs\u00a0rose\u20035% to £1.4bn\u3000today.",
              "Bryn F&#244;n paid &#163;5 for a pr&#233;cis, &#8220;now&#8221; &#0; &#99999999;"]
    texts = texts * 30  # over two of the scorer's 2,000-sentence chunks
    assert len(texts) > 2 * predict._CHUNK
    assert np.allclose(model.predict_scores(texts), clf.predict_proba(texts), rtol=1e-9, atol=1e-12)
    assert np.array_equal(
        np.array([[l in p for l in model.labels] for p in model.predict(texts)], dtype=np.int8),
        clf.predict(texts))


def test_fast_path_equals_sklearn_on_records_and_odd_text(trained: Path) -> None:
    """Records with article context (batch path), one sentence (Counter path) and a text
    holding the batch separator (per-sentence fallback) all score as scikit-learn does."""
    from stancekit.config import load_config
    from stancekit.dataset import build_dataset
    model = stancekit.load(trained)
    clf = joblib.load(trained / "pipeline.joblib")
    records = build_dataset(load_config(ROOT / "configs/default.yaml")).records
    assert np.allclose(model.predict_scores(records), clf.predict_proba(records), rtol=1e-9, atol=1e-12)
    assert np.allclose(model.predict_scores(records[5:6]), clf.predict_proba(records[5:6]), rtol=1e-9)
    odd = ["Sales rose 5%.\x00 He denied it.", "Two of 13 were women, on 5 May 2004."]
    assert np.allclose(model.predict_scores(odd), clf.predict_proba(odd), rtol=1e-9, atol=1e-12)


def test_python_api(trained: Path) -> None:
    model = stancekit.load(trained)
    assert model.labels == ["accusation", "denial", "quote", "statistic"]
    assert model.metadata["name"] == "default"
    s = model.predict_scores(["A", "B c"])
    assert s.shape == (2, 4) and ((0 <= s) & (s <= 1)).all()
    with pytest.raises(TypeError, match="list of sentences"):
        model.predict("one string")
    rows = model.predict_article((ROOT / "data/articles/mayor-expenses.txt").read_text())
    text = (ROOT / "data/articles/mayor-expenses.txt").read_text()
    assert all(text[r["start"]:r["end"]] == r["text"] for r in rows)
    # safe from several threads
    expected = model.predict_scores(["The mayor denied the claims."])
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        model.predict_scores(["The mayor denied the claims."]))) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert all(np.array_equal(r, expected) for r in results)


def test_behaviour_statistic_and_quote() -> None:
    """A model trained on the sample learns the surface labels."""
    from stancekit.config import load_config
    from stancekit.training import train
    res = train(load_config(ROOT / "configs/default.yaml", ["thresholds.tune=none"]), write=False)
    labels = res.model.predict(['"We will never give up," she said.', "Sales rose by 12% to £4.5m."])
    assert "quote" in labels[0] and "statistic" in labels[1]


def test_tampered_and_foreign_files_are_refused(trained: Path, tmp_path: Path) -> None:
    copy = tmp_path / "m"
    shutil.copytree(trained, copy)
    corrupt_tail(copy / "coef.npy")
    with pytest.raises(ArtifactError, match="coef.npy: sha256 mismatch"):
        stancekit.load(copy)
    with open(copy / "model.json", "a") as fh:  # no longer JSON: info reports it, never parses it
        fh.write("x")
    res = run_cli("info", str(copy), "--json")
    shown = json.loads(res.stdout)
    assert res.returncode == 1 and not shown["verified"] and shown["metadata"] == {}
    assert "model.json: sha256 mismatch (modified, truncated or replaced)" in shown["problems"]
    shutil.rmtree(copy)
    shutil.copytree(trained, copy)
    (copy / "evil.pkl").write_bytes(b"x")
    with pytest.raises(ArtifactError, match="evil.pkl: not in the manifest"):
        stancekit.load(copy)
    res = run_cli("info", str(copy))
    assert res.returncode == 1 and "NO:" in res.stdout


def test_incompatible_version_message(trained: Path, tmp_path: Path) -> None:
    copy = tmp_path / "old"
    shutil.copytree(trained, copy)
    man = json.loads((copy / "manifest.json").read_text())
    man["format_version"], man["stancekit_version"] = 99, "9.0.0"
    (copy / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(ArtifactError, match=r"format 99 was written by stancekit 9.0.0, this is stancekit 0.1.0"):
        stancekit.load(copy)


def test_model_names_resolve(workdir: Path, trained: Path) -> None:
    root = workdir / "artifacts"
    assert stancekit.load("default", root).path.parent == trained.parent
    assert stancekit.load("default@v1", root).path == trained.parent / "v1"
    with pytest.raises(ModelNotFoundError, match="has no version v99"):
        stancekit.load("default@v99", root)
    res = run_cli("predict", "nosuchmodel", "hello", cwd=workdir)
    assert res.returncode == 2 and res.stderr.startswith("stancekit: error: nosuchmodel: no such model")
    res = run_cli("list", cwd=workdir)
    assert res.stdout.split()[0] == "default" and "v1" in res.stdout


def test_check_repro(workdir: Path, trained: Path) -> None:
    res = run_cli("train", "--check-repro", str(trained), cwd=workdir)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("reproduced")


def test_unwritable_output_leaves_nothing(workdir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    res = run_cli("train", "configs/default.yaml", "--set", f"output.dir={blocker}/sub", cwd=workdir)
    assert res.returncode == 2 and "cannot write" in res.stderr and "Traceback" not in res.stderr
    assert "dataset:" not in res.stderr  # refused before any work, not after training
    assert blocker.read_text() == "not a directory" and list(tmp_path.iterdir()) == [blocker]


def test_empty_training_split_is_an_error(workdir: Path) -> None:
    res = run_cli("train", "configs/default.yaml", "--set", "data.gold=[]", "--set",
                  "data.gold_requires_article=false", cwd=workdir)
    assert res.returncode == 2 and "names no annotated data" in res.stderr


def test_predict_cli_inputs(workdir: Path, trained: Path, tmp_path: Path) -> None:
    lines = tmp_path / "in.txt"
    lines.write_text("The minister denied it.\n\nTurnout was 72%.\n")
    res = run_cli("predict", str(trained), "--input", str(lines), cwd=workdir)
    rows = [json.loads(l) for l in res.stdout.splitlines()]
    assert res.returncode == 0 and len(rows) == 3
    assert rows[1] == {"text": "", "labels": [], "scores": {l: 0.0 for l in rows[0]["scores"]}}
    jl = tmp_path / "in.jsonl"
    jl.write_text('{"id": 1, "body": "He said: \\"No.\\""}\n{"id": 2, "body": "Sales fell 5%."}\n')
    res = run_cli("predict", str(trained), "--input", str(jl), "--text-field", "body", cwd=workdir)
    rows = [json.loads(l) for l in res.stdout.splitlines()]
    assert [r["id"] for r in rows] == [1, 2] and "labels" in rows[0]
    bad = tmp_path / "bad.jsonl"
    for content, message in (('{"text": "ok"}\n{"text": \n', "bad.jsonl:2: invalid JSON"),
                             ('{"body": "ok"}\n', "bad.jsonl:1: field 'text': missing field"),
                             ('{"text": "ok"}\n{"text": 5}\n',
                              "bad.jsonl:2: field 'text': must be a string, got int"),
                             ('["a list"]\n', "bad.jsonl:1: expected a JSON object, got list")):
        bad.write_text(content)
        res = run_cli("predict", str(trained), "--input", str(bad), cwd=workdir)
        assert res.returncode == 2 and message in res.stderr, (content, res.stderr)
    res = run_cli("predict", str(trained), "--input", str(tmp_path / "absent.txt"), cwd=workdir)
    assert res.returncode == 2 and "absent.txt: No such file or directory" in res.stderr
    (tmp_path / "bad.txt").write_bytes(b"fine\n\xff\xfe\n")
    res = run_cli("predict", str(trained), "--input", str(tmp_path / "bad.txt"), cwd=workdir)
    assert res.returncode == 2 and "bad.txt:2: not valid UTF-8" in res.stderr
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    res = run_cli("predict", str(trained), "--input", str(empty), cwd=workdir)
    assert res.returncode == 0 and res.stdout == ""
    res = run_cli("predict", str(trained), "--input", "-", "--jobs", "2", "--batch-size", "2",
                  cwd=workdir, stdin="a\nb\nc\nd\ne\n")
    assert [json.loads(l)["text"] for l in res.stdout.splitlines()] == list("abcde")


def test_predict_article_and_explain(workdir: Path, trained: Path) -> None:
    path = ROOT / "data/articles/council-tax-row.txt"
    res = run_cli("predict", str(trained), "--article", str(path), "--explain", cwd=workdir)
    rows = [json.loads(l) for l in res.stdout.splitlines()]
    text = path.read_text()
    assert res.returncode == 0 and rows[0]["index"] == 0
    assert all(text[r["start"]:r["end"]] == r["text"] and r["article_id"] == "council-tax-row" for r in rows)
    assert not any("Harbourside" in r["text"] for r in rows)
    assert all(set(r["explanation"]) == set(r["labels"]) for r in rows)


def test_search_reports_every_trial(workdir: Path, tmp_path: Path) -> None:
    res = run_cli("train", "configs/default.yaml", "--set", "search.enabled=true",
                  "--set", "search.params={model.C: [0.5, 4.0], features.min_df: [1, 2]}",
                  "--set", "search.folds=2", "--set", f"output.dir={tmp_path}", cwd=workdir)
    assert res.returncode == 0, res.stderr
    assert res.stderr.count("search: ") == 4
    # the summary table says which model the validation figures belong to
    assert "validation (model fitted on train alone, before the refit):" in res.stderr
    assert "\ntest:\n" in res.stderr and "refit_s" in res.stderr
    art = Path(res.stdout.strip().splitlines()[-1])
    meta = json.loads((art / "model.json").read_text())
    trials = meta["search_trials"]
    assert len(trials) == 4 and {(t["params"]["model.C"], t["params"]["features.min_df"])
                                 for t in trials} == {(0.5, 1), (0.5, 2), (4.0, 1), (4.0, 2)}
    best = max(trials, key=lambda t: t["cv_macro_f1"])["params"]
    import yaml
    saved = yaml.safe_load((art / "config.yaml").read_text())
    assert saved["model"]["C"] == best["model.C"] and saved["features"]["min_df"] == best["features.min_df"]
    assert saved["search"]["enabled"] is False  # the saved config re-runs the chosen model


def test_label_without_training_positive_skipped_with_warning(workdir: Path, tmp_path: Path) -> None:
    gold = tmp_path / "g.jsonl"
    rows = [json.loads(l) for l in (ROOT / "data/gold.jsonl").read_text().splitlines()]
    for r in rows:
        r["labels"] = [l for l in r["labels"] if l != "denial"]
    gold.write_text("".join(json.dumps(r) + "\n" for r in rows))
    base = ["--set", f"data.gold=[{gold}]", "--set", f"output.dir={tmp_path}/a"]
    res = run_cli("train", "configs/default.yaml", *base, cwd=workdir)
    assert res.returncode == 2 and "label 'denial' has no positive example" in res.stderr
    res = run_cli("train", "configs/default.yaml", *base, "--set", "labels.missing_positive=skip",
                  cwd=workdir)
    assert res.returncode == 0, res.stderr
    assert "warning: label 'denial' has no positive training example; skipped" in res.stderr
    model = stancekit.load(res.stdout.strip().splitlines()[-1])
    assert model.labels == ["accusation", "quote", "statistic"]
    assert model.metadata["skipped_labels"] == ["denial"]


def test_predict_needs_something_to_predict(trained: Path) -> None:
    res = run_cli("predict", str(trained))
    assert res.returncode == 2 and "give TEXT arguments, --input FILE" in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("overrides", [
    ["model.type=svm", "model.C=1.0"],
    ["model.type=sgd"],
    ["features.char_ngrams=[2, 4]", "features.neighbours=true", "features.word_ngrams=[1, 3]"],
])
def test_other_models_and_features_match_sklearn(workdir: Path, tmp_path: Path, overrides) -> None:
    """Every model type and feature option trains, and the fast path still equals sklearn."""
    args = [x for o in overrides for x in ("--set", o)]
    res = run_cli("train", "configs/default.yaml", *args, "--set", f"output.dir={tmp_path}",
                  "--json", cwd=workdir)
    assert res.returncode == 0, res.stderr
    art = Path(json.loads(res.stdout)["artifact"])
    model = stancekit.load(art)
    clf = joblib.load(art / "pipeline.joblib")
    from stancekit.config import load_config
    from stancekit.dataset import build_dataset
    records = build_dataset(load_config(ROOT / "configs/default.yaml")).records
    texts = [r["text"] for r in records]
    for batch in (records, texts, texts[:1]):
        assert np.allclose(model.predict_scores(batch), clf.predict_proba(batch), rtol=1e-9, atol=1e-12)


def test_random_search_samples_n_iter_trials(workdir: Path, tmp_path: Path) -> None:
    res = run_cli("train", "configs/default.yaml", "--set", "search.enabled=true",
                  "--set", "search.method=random", "--set", "search.n_iter=2",
                  "--set", "search.params={model.C: [0.5, 1.0, 4.0], features.min_df: [1, 2]}",
                  "--set", "search.folds=2", "--set", f"output.dir={tmp_path}", "--json",
                  cwd=workdir)
    assert res.returncode == 0, res.stderr
    meta = json.loads((Path(json.loads(res.stdout)["artifact"]) / "model.json").read_text())
    trials = meta["search_trials"]
    assert len(trials) == 2 and len({json.dumps(t["params"], sort_keys=True) for t in trials}) == 2


def test_closed_pipe_ends_quietly(trained: Path, tmp_path: Path) -> None:
    """`stancekit predict ... | head -1`: no traceback, no error message, exit 1."""
    import subprocess
    import sys
    lines = tmp_path / "many.txt"
    lines.write_text("Sales rose 5% last year.\n" * 200_000)
    exe = Path(sys.executable).parent / "stancekit"
    proc = subprocess.Popen([str(exe), "predict", str(trained), "--input", str(lines)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline().startswith(b'{"text": "Sales rose 5% last year."')
    proc.stdout.close()  # the reader goes away, as `head` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1
    assert "Traceback" not in err and "error" not in err.lower()


def test_refit_uses_validation_but_keeps_its_thresholds_and_metrics() -> None:
    """split.refit: the final model is fitted on train + validation; the thresholds and
    the validation metrics are those of the model fitted on train alone."""
    from stancekit.config import load_config
    from stancekit.training import _fit, train
    base = load_config(ROOT / "configs/default.yaml", ["split.refit=false"])
    plain = train(base, write=False)
    refit = train(load_config(ROOT / "configs/default.yaml", ["split.refit=true"]), write=False)
    assert "refit_s" in refit.timings and "refit_s" not in plain.timings
    assert refit.metrics["validation"] == plain.metrics["validation"]
    assert np.array_equal(refit.classifier.thresholds_, plain.classifier.thresholds_)
    assert not np.array_equal(refit.classifier.coef_, plain.classifier.coef_)
    ds = refit.dataset
    by_hand = _fit(base, ds, ds.split("train") + ds.split("validation"))
    assert np.array_equal(by_hand.coef_, refit.classifier.coef_)


def test_neighbour_view_matches_sklearn_and_reproduces(workdir: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Labels that read the previous and next sentences: the fast path equals the sklearn
    pipeline whether a neighbour is in the batch, across a chunk edge, or only in a
    record's context; plain strings have no neighbours; --check-repro covers the weights."""
    res = run_cli("train", "configs/default.yaml", "--set", "features.neighbour_labels=[denial, quote]",
                  "--set", f"output.dir={tmp_path}", "--json", cwd=workdir)
    assert res.returncode == 0, res.stderr
    art = Path(json.loads(res.stdout)["artifact"])
    assert (art / "neighbour_coef.npy").is_file()
    model, clf = stancekit.load(art), joblib.load(art / "pipeline.joblib")
    from stancekit.config import load_config
    from stancekit.dataset import build_dataset
    records = build_dataset(load_config(ROOT / "configs/default.yaml")).records
    texts = [r["text"] for r in records]
    foreign = dict(records[3], context=dict(records[3]["context"], prev='"The claims are false."'))
    for batch in (records, texts, records[5:9] + records[20:22], [records[4]], [foreign]):
        assert np.allclose(model.decision_function(batch), clf.decision_function(batch),
                           rtol=1e-9, atol=1e-12)
    monkeypatch.setattr(predict, "_CHUNK", 7)  # articles split across chunks
    assert np.allclose(model.decision_function(records), clf.decision_function(records),
                       rtol=1e-9, atol=1e-12)
    with_context, alone = model.decision_function(records), model.decision_function(texts)
    cols = [model.labels.index("denial"), model.labels.index("quote")]
    assert np.abs(with_context[:, cols] - alone[:, cols]).max() > 0.1
    shown = [name for r in records for l in ("denial", "quote") for name, _ in model.explain(r, 50)[l]]
    assert any(name.startswith(("prev: ", "next: ")) for name in shown)
    res = run_cli("train", "--check-repro", str(art), cwd=workdir)
    assert res.returncode == 0 and res.stdout.startswith("reproduced"), res.stdout + res.stderr


def test_neighbour_view_config_errors(workdir: Path) -> None:
    res = run_cli("train", "configs/default.yaml", "--set", "features.neighbour_labels=[gossip]",
                  cwd=workdir)
    assert res.returncode == 2 and "'features.neighbour_labels' must name labels from" in res.stderr
    res = run_cli("train", "configs/default.yaml", "--set", "features.neighbour_labels=[denial]",
                  "--set", "labels.exclusive=true", cwd=workdir)
    assert res.returncode == 2 and "needs one-vs-rest labels" in res.stderr
