"""`train --cv`: story-grouped cross-validation of a whole training run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from stancekit.config import load_config
from stancekit.dataset import SentenceDataset, build_dataset
from stancekit.metrics import summary
from stancekit.training import cross_validate, fit_model

from conftest import ROOT, run_cli


def test_each_fold_is_scored_by_a_model_that_never_saw_it() -> None:
    """Dropping a fold's sentences from the data altogether must not change how they are
    scored: nothing of a held-out story (vocabulary, IDF, thresholds) reaches its model."""
    cfg = load_config(ROOT / "configs/default.yaml")
    result = cross_validate(cfg)
    run = result["seeds"][str(cfg.seed)]
    ds = build_dataset(cfg)
    gold = [r for r in ds.records if r["source"] == "gold"]
    folds = sorted({r["fold"] for r in gold})
    assert len(folds) == cfg.split.folds == len(run["per_fold"])
    stories_by_fold = [{r["story"] for r in gold if r["fold"] == k} for k in folds]
    assert sum(map(len, stories_by_fold)) == len(set().union(*stories_by_fold)) == run["stories"]
    Y, P = [], []
    for k, fold in zip(folds, run["per_fold"]):
        val = folds[(folds.index(k) + 1) % len(folds)]
        held = [r for r in gold if r["fold"] == k]
        rest = SentenceDataset([dict(r, split="validation" if r["fold"] == val else "train")
                                for r in ds.records if r["fold"] != k], ds.labels)
        pred = fit_model(cfg, rest).classifier.predict(held)
        fold_f1 = summary(ds.matrix(held), pred, ds.labels)["macro_f1"]
        assert fold["sentences"] == len(held)
        assert fold["macro_f1"] == round(fold_f1, 4)
        Y.append(ds.matrix(held))
        P.append(pred)
    assert run["macro_f1"] == summary(np.vstack(Y), np.vstack(P), ds.labels)["macro_f1"]
    assert run["sentences"] == len(gold)


def _artifacts(workdir: Path) -> list[str]:
    """Everything under the artifact root but the run log (an empty list when there is
    none yet)."""
    return sorted(str(p.relative_to(workdir)) for p in (workdir / "artifacts").rglob("*")
                  if not p.name.startswith("runs.sqlite"))


def _cv_runs(workdir: Path) -> int:
    """How many `train --cv` runs the run log holds (0 when there is no log yet)."""
    if not (workdir / "artifacts" / "runs.sqlite").exists():
        return 0
    res = run_cli("runs", "--root", str(workdir / "artifacts"), "--json", cwd=workdir)
    assert res.returncode == 0, res.stderr
    return sum(json.loads(l)["command"] == "train --cv" for l in res.stdout.splitlines())


def test_cv_cli_over_seeds_is_reproducible_and_writes_nothing(workdir: Path) -> None:
    before, logged = _artifacts(workdir), _cv_runs(workdir)
    args = ("train", "configs/default.yaml", "--cv", "--seeds", "13,14", "--json")
    first, second = run_cli(*args, cwd=workdir), run_cli(*args, cwd=workdir)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    out = json.loads(first.stdout)
    assert list(out["seeds"]) == ["13", "14"] and out["folds"] == 4
    assert out["labels"] == ["accusation", "denial", "quote", "statistic"]
    macro = [out["seeds"][s]["macro_f1"] for s in ("13", "14")]
    assert out["mean"]["macro_f1"] == round(float(np.mean(macro)), 4)
    assert "fold 4/4" in first.stderr
    assert _artifacts(workdir) == before  # no model: only the run log's two records
    assert _cv_runs(workdir) == logged + 2

    table = run_cli("train", "configs/default.yaml", "--cv", cwd=workdir)
    assert table.returncode == 0, table.stderr
    assert "split seed 13: 4-fold CV by story, 162 sentences" in table.stdout
    assert f"macro-F1 {out['seeds']['13']['macro_f1']:.3f}" in table.stdout


def test_cv_bad_options(workdir: Path) -> None:
    for args, message in [(("--seeds", "13"), "--seeds needs --cv"),
                          (("--cv", "--seeds", "13,x"), "expected integers"),
                          (("--cv", "--seeds", "13,13"), "repeats a seed"),
                          (("--cv", "--check-repro", "x"), "do not go together")]:
        res = run_cli("train", "configs/default.yaml", *args, cwd=workdir)
        assert res.returncode == 2, (args, res.stderr)
        assert message in res.stderr, (args, res.stderr)
        assert "Traceback" not in res.stderr
