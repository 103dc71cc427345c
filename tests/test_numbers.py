"""The per-number model: its mentions and features, and its NumPy scorer against scikit-learn."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stancekit.number_model import NumberModel
from stancekit.runtime.numbers import END, START, NumberScorer, mention_features, plain_tokens
from stancekit.runtime.features import FeatureSpec, tokenize
from stancekit.runtime.vectorize import WordIndex, batch_ids

from conftest import SHARED, needs_shared


def test_numbers_are_found_between_their_class_tokens() -> None:
    words, classes = plain_tokens(tokenize("Mr Smith, 45, denied two of 13 claims in 2004."))
    assert words == ["mr", "smith", ",", "00", ",", "denied", "two", "of", "00", "claims", "in",
                     "0000"]
    assert [c for c in classes if c] == ["<num>", "<num>", "<num>", "<year>"]
    assert [w for w, c in zip(words, classes) if c] == ["00", "two", "00", "0000"]


def test_mention_features_name_each_neighbour_by_position() -> None:
    (two,) = mention_features("Jailed for two years, he said", window=3)
    assert two == [(0, "<num>", ""), (1, "two", ""), (2, START, ""), (3, "jailed", ""),
                   (4, "for", ""), (5, "years", ""), (6, ",", ""), (7, "he", ""),
                   (8, "jailed", "for"), (9, "for", "years"), (10, "years", ",")]
    (five,) = mention_features("Five.", window=2)
    assert five[2:6] == [(2, START, ""), (3, START, ""), (4, END, ""), (5, END, "")]
    assert len({f[0] for f in two}) == len(two)  # one feature per slot: no duplicates
    assert mention_features("No figures here.", window=3) == []


def _scorer(model: NumberModel) -> tuple[NumberScorer, WordIndex]:
    tokens: list[str] = ["said", "the"]  # as if the sentence model had features of its own
    exported = model.export(tokens, 0.7)
    index = WordIndex(tokens, np.zeros((0, 2), dtype=np.int32), (1, 2))
    return NumberScorer(exported, tokens, index.size, index.is_number_class,
                        index.is_cue_class), index


@needs_shared
def test_number_scorer_equals_the_fitted_model_on_bbc_text() -> None:
    rows = [json.loads(l) for l in (SHARED / "bbc-politics-gold.jsonl").open()]
    texts = [r["text"] for r in rows]
    Y = np.array([["statistic" in r["labels"]] for r in rows], dtype=np.int8)
    model = NumberModel(["statistic"]).fit(texts[:5000], Y[:5000])
    scorer, index = _scorer(model)
    # held-out sentences, and text that imitates the tokenizer's own class tokens
    held = texts[5000:] + ["<num> two <num> 5 <year> x", "Five <acc> 3 <num>", "£5 <num>",
                           "One, two three 45-year-old 12%", "", "5", "Sales rose 5%.\x00 He denied it."]
    expected = model.decision_function(held)
    ids = batch_ids(FeatureSpec((1, 2), (0, 0), True, True, False), index, held)
    assert ids is None  # the separator in the last text: the per-sentence path
    ids = batch_ids(FeatureSpec((1, 2), (0, 0), True, True, False), index, held[:-1])
    assert np.allclose(scorer.scores(*ids, len(held) - 1), expected[:-1], rtol=1e-12, atol=1e-12)
    assert np.allclose(scorer.scores_of_tokens([tokenize(t) for t in held]), expected,
                       rtol=1e-12, atol=1e-12)
    # sentences without numbers score the floor, the others their best number
    has = np.array([bool(mention_features(t, 3)) for t in held])
    assert (expected[~has] == model.floor).all() and (expected[has] > model.floor).all()


@needs_shared
def test_number_model_learns_which_numbers_count() -> None:
    """Trained on the gold, the same figure scores as a statistic or not by its neighbours."""
    rows = [json.loads(l) for l in (SHARED / "bbc-politics-gold.jsonl").open()]
    Y = np.array([["statistic" in r["labels"]] for r in rows], dtype=np.int8)
    model = NumberModel(["statistic"]).fit([r["text"] for r in rows], Y)
    yes, age, ago = model.decision_function([
        "Turnout fell to 45% in the city.", "Mr Smith, 45, was arrested on Monday.",
        "The scheme began 45 years ago."])[:, 0]
    assert yes > 0 > age and yes > 0 > ago


def test_number_model_needs_both_kinds_of_number() -> None:
    from stancekit.errors import TrainingError
    with pytest.raises(TrainingError, match="numbers: label 'statistic' needs numbers both"):
        NumberModel(["statistic"]).fit(["It cost £5.", "Nine voted."], np.array([[1], [1]]))


def test_explain_shows_the_best_numbers_context(trained) -> None:
    import stancekit
    model = stancekit.load(trained)
    names = [n for n, _ in model.explain("Turnout was 72% in the city.", k=10)["statistic"]]
    assert "number figure=00%" in names and "number class=<pct>" in names
    assert not any(n.startswith("number ") for n, _ in
                   model.explain("Turnout was high in the city.", k=10)["statistic"])


def test_loading_and_scoring_never_import_scikit_learn(trained) -> None:
    """The inference path (cold start) stays NumPy-only with a number model in the artifact."""
    import subprocess
    import sys
    code = ("import sys, stancekit; m = stancekit.load(sys.argv[1]); "
            "m.predict(['Turnout was 72%.', 'Two of 13 were women.']); m.predict_one('5 men'); "
            "print(sorted(k for k in ('sklearn', 'scipy') if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(trained)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_number_model_serves_any_label_set_by_config(workdir, tmp_path) -> None:
    """An exclusive schema of the user's own, with the number model on one of its labels:
    trained through the CLI, and the fast path still equals scikit-learn."""
    import joblib
    import stancekit
    from conftest import ROOT, run_cli
    rows = [json.loads(l) for l in (ROOT / "data/gold.jsonl").read_text().splitlines()]
    for r in rows:
        r["labels"] = ["counted"] if "statistic" in r["labels"] else ["other"]
    gold = tmp_path / "counted.jsonl"
    gold.write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = run_cli("train", "configs/default.yaml", "--set", f"data.gold=[{gold}]",
                  "--set", "labels.names=[counted, other]", "--set", "labels.exclusive=true",
                  "--set", "numbers.labels=[counted]", "--set", f"output.dir={tmp_path}",
                  "--json", cwd=workdir)
    assert res.returncode == 0, res.stderr
    art = json.loads(res.stdout)["artifact"]
    model, clf = stancekit.load(art), joblib.load(f"{art}/pipeline.joblib")
    assert model.metadata["labels"] == ["counted", "other"]
    texts = ["Turnout was 72%.", "He left on Monday.", "Two of 13 were women.", "x"] * 600
    assert np.allclose(model.predict_scores(texts), clf.predict_proba(texts), rtol=1e-9, atol=1e-12)
    assert all(len(p) == 1 for p in model.predict(texts))


def test_number_weights_are_verified_and_shown(trained, tmp_path) -> None:
    import shutil
    import stancekit
    from stancekit.errors import ArtifactError
    from conftest import corrupt_tail, run_cli
    res = run_cli("info", str(trained))
    assert res.returncode == 0
    assert "numbers    statistic also scored number by number (weight 0.7, window 3)" in res.stdout
    copy = tmp_path / "m"
    shutil.copytree(trained, copy)
    corrupt_tail(copy / "number_coef.npy")
    with pytest.raises(ArtifactError, match="number_coef.npy: sha256 mismatch"):
        stancekit.load(copy)
