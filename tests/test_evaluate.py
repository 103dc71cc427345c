"""Metrics against hand-computed values, the bootstrap, reports and plots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import stancekit
from stancekit.errors import ConfigError
from stancekit.evaluation import bootstrap, evaluate, paired_bootstrap, read_eval_data
from stancekit.metrics import pr_curve, summary
from stancekit.streaming import predict_rows

from conftest import ROOT, run_cli

LABELS = ["a", "b"]
# 4 sentences. Label a: gold 1,1,0,0 pred 1,0,1,0 -> tp1 fp1 fn1 -> P=R=F1=0.5
# label b: gold 0,1,0,1 pred 0,1,0,0 -> tp1 fp0 fn1 -> P=1 R=0.5 F1=2/3
Y = np.array([[1, 0], [1, 1], [0, 0], [0, 1]])
P = np.array([[1, 0], [0, 1], [1, 0], [0, 0]])


def test_metrics_by_hand() -> None:
    m = summary(Y, P, LABELS)
    assert m["per_label"]["a"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2,
                                   "confusion": [[1, 1], [1, 1]]}
    assert m["per_label"]["b"]["precision"] == 1.0 and m["per_label"]["b"]["recall"] == 0.5
    assert m["per_label"]["b"]["f1"] == pytest.approx(2 / 3)
    assert m["macro_f1"] == pytest.approx((0.5 + 2 / 3) / 2)
    assert m["micro_f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 2))  # tp2 fp1 fn2
    # samples F1: s1 1, s2 2*1/3, s3 0 (pred a, gold none), s4 0
    assert m["samples_f1"] == pytest.approx((1 + 2 / 3 + 0 + 0) / 4)
    assert m["subset_accuracy"] == 0.25
    assert m["hamming_loss"] == pytest.approx(3 / 8)


def test_exclusive_confusion_matrix() -> None:
    Ye = np.array([[1, 0], [0, 1], [0, 1]])
    Pe = np.array([[1, 0], [1, 0], [0, 1]])
    m = summary(Ye, Pe, LABELS, exclusive=True)
    assert m["confusion_matrix"] == [[1, 0], [1, 1]] and m["accuracy"] == pytest.approx(2 / 3)


def test_bootstrap_resamples_whole_stories(tmp_path: Path) -> None:
    # a built dataset's `story` column joins republished copies: one story, one draw
    rows = [{"article_id": aid, "story": "s", "index": i, "text": f"Sentence {i}.", "labels": lab}
            for aid, i, lab in (("a", 0, ["a"]), ("a", 1, ["a", "b"]), ("b", 0, []), ("b", 1, ["b"]))]
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = read_eval_data(path, LABELS)
    assert [r["story"] for r in data.records] == ["s"] * 4
    one = bootstrap(data.Y, P, [r["story"] for r in data.records], LABELS, n=50)
    assert one["macro_f1"]["low"] == one["macro_f1"]["value"] == one["macro_f1"]["high"]
    two = bootstrap(data.Y, P, [r["article_id"] for r in data.records], LABELS, n=50)
    assert two["macro_f1"]["low"] < two["macro_f1"]["high"]


def test_pr_curve_by_hand() -> None:
    c = pr_curve(np.array([0.9, 0.8, 0.8, 0.1]), np.array([1, 0, 1, 0]))
    assert c["threshold"] == [0.9, 0.8, 0.1]
    assert c["precision"] == [1.0, 2 / 3, 0.5] and c["recall"] == [0.5, 1.0, 1.0]


def test_bootstrap_resamples_articles_with_fixed_seed() -> None:
    groups = ["x", "x", "y", "z"]
    a = bootstrap(Y, P, groups, LABELS, n=200, seed=3)
    assert a == bootstrap(Y, P, groups, LABELS, n=200, seed=3)
    assert a["macro_f1"]["low"] <= a["macro_f1"]["value"] <= a["macro_f1"]["high"]
    # identical predictions: the paired difference is exactly zero everywhere
    d = paired_bootstrap(Y, P, P, groups, LABELS, n=100, seed=0)
    assert all(v["difference"] == 0 and v["verdict"] == "no significant difference" for v in d.values())
    Y40 = np.tile(Y, (10, 1))  # 40 one-sentence articles, half of them positive for a
    d = paired_bootstrap(Y40, Y40, np.zeros_like(Y40), [f"g{i}" for i in range(40)], LABELS, n=200)
    assert d["f1/a"]["verdict"] == "better"


def test_stored_metrics_equal_evaluate(workdir: Path, trained: Path, tmp_path: Path) -> None:
    res = run_cli("build", "configs/default.yaml", "--set", f"output.dir={tmp_path}", cwd=workdir)
    ds = res.stdout.strip()
    out = tmp_path / "report"
    res = run_cli("evaluate", str(trained), ds, "--split", "test", "--json", "--output", str(out),
                  "--bootstrap", "100", cwd=workdir)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)["at_thresholds"]
    stored = json.loads((trained / "metrics.json").read_text())["test"]
    assert got == stored
    for png in ("pr_curves.png", "confusion.png", "score_densities.png"):
        data = (out / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
    report = (out / "report.md").read_text()
    assert report.splitlines()[2].startswith("**macro-F1")
    errors = [json.loads(l) for l in (out / "errors.jsonl").read_text().splitlines()]
    assert errors and all(e["gold"] != e["predicted"] for e in errors)
    assert json.loads((out / "metrics.json").read_text())["schema_version"] == 1


def test_against_and_fail_if_worse(workdir: Path, trained: Path, tmp_path: Path) -> None:
    weak = run_cli("train", "configs/default.yaml", "--set", "features.word_ngrams=[1, 1]",
                   "--set", "model.C=0.01", "--set", "output.name=weak", "--json", cwd=workdir)
    weak_path = json.loads(weak.stdout)["artifact"]
    gold = str(ROOT / "data/gold.jsonl")
    res = run_cli("evaluate", str(trained), gold, "--against", weak_path, "--json",
                  "--bootstrap", "200", cwd=workdir)
    assert res.returncode == 0, res.stderr
    diff = json.loads(res.stdout)["against"]["difference"]
    assert set(diff) == {"macro_f1", "f1/accusation", "f1/denial", "f1/quote", "f1/statistic"}
    res = run_cli("evaluate", weak_path, gold, "--against", str(trained), "--fail-if-worse",
                  "--bootstrap", "200", cwd=workdir)
    worse = any(d["verdict"] == "better" for k, d in diff.items() if k.startswith("f1/"))
    assert res.returncode == (1 if worse else 0)


def test_bad_evaluation_data(trained: Path, tmp_path: Path) -> None:
    p = tmp_path / "g.jsonl"
    p.write_text('{"text": "x", "labels": ["gossip"]}\n')
    res = run_cli("evaluate", str(trained), str(p))
    assert res.returncode == 2 and "g.jsonl:1: field 'labels': unknown label 'gossip'" in res.stderr
    p.write_text('{"labels": []}\n')
    res = run_cli("evaluate", str(trained), str(p))
    assert res.returncode == 2 and "g.jsonl:1: field 'text': missing field" in res.stderr
    p.write_text("")
    res = run_cli("evaluate", str(trained), str(p))
    assert res.returncode == 2 and "no sentences to evaluate" in res.stderr


def test_exclusive_label_set_through_config(workdir: Path, tmp_path: Path) -> None:
    """A multi-class schema (exactly one label per sentence) works by configuration alone."""
    gold = tmp_path / "exclusive.jsonl"
    rows = [json.loads(l) for l in (ROOT / "data/gold.jsonl").read_text().splitlines()]
    for r in rows:
        r["labels"] = ["quoted"] if "quote" in r["labels"] else ["reported"]
    gold.write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = run_cli("train", "configs/default.yaml", "--set", f"data.gold=[{gold}]",
                  "--set", "labels.names=[quoted, reported]", "--set", "labels.exclusive=true",
                  "--set", "numbers.labels=[]",
                  "--set", "output.name=exclusive", "--json", cwd=workdir)
    assert res.returncode == 0, res.stderr
    art = json.loads(res.stdout)["artifact"]
    model = stancekit.load(art)
    assert model.labels == ["quoted", "reported"]
    preds = model.predict(['"We will win," she said.', "The council met on Monday."])
    assert all(len(p) == 1 for p in preds)
    assert np.allclose(model.predict_scores(["x y", "z"]).sum(axis=1), 1.0)
    out = run_cli("evaluate", art, str(gold), "--json", "--bootstrap", "50", cwd=workdir)
    m = json.loads(out.stdout)["at_thresholds"]
    cm = np.array(m["confusion_matrix"])
    assert cm.shape == (2, 2) and cm.sum() == len(rows)
    assert m["accuracy"] == pytest.approx(np.trace(cm) / cm.sum())


def test_counts_out_of_range_are_refused(trained: Path) -> None:
    """Zero or negative sample, job and batch counts: a usage error, not a crash or a silent 1."""
    gold = str(ROOT / "data/gold.jsonl")
    res = run_cli("evaluate", str(trained), gold, "--bootstrap", "0")
    assert res.returncode == 2 and "'--bootstrap': 0 is not in the range" in res.stderr
    for option in ("--jobs", "--batch-size"):
        res = run_cli("predict", str(trained), "He denied it.", option, "0")
        assert res.returncode == 2 and f"'{option}': 0 is not in the range" in res.stderr
    model = stancekit.load(trained)
    data = read_eval_data(ROOT / "data/gold.jsonl", model.labels, "test")
    with pytest.raises(ConfigError, match="at least 1 sample, got 0"):
        evaluate(model, data, n_boot=0)
    with pytest.raises(ConfigError, match="at least 1"):
        list(predict_rows(model, [(None, "x")], batch_size=0))
