"""The engine's contracts: the runtime is NumPy only, old artifact formats still load,
and the runtime scores exactly as the scikit-learn estimator on random text, for every
feature family; training refuses to write a model whose two paths disagree."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import stancekit
from stancekit.config import load_config
from stancekit.dataset import build_dataset
from stancekit.errors import ArtifactError, ParityError
from stancekit.estimator import StanceClassifier
from stancekit.runtime import artifact
from stancekit.runtime.features import CUE_CLASS, NUMBER_WORDS, FeatureSpec
from stancekit.runtime.model import Model

from conftest import ROOT

HEAVY = ("sklearn", "scipy", "datasets", "pandas", "matplotlib", "pyarrow", "joblib")


def test_loading_and_predicting_import_nothing_heavy(trained: Path) -> None:
    """In a fresh interpreter, load a model and predict sentences and an article."""
    code = f"""
import sys, stancekit
m = stancekit.load({str(trained)!r})
m.predict(["The minister denied it.", "Sales rose 5%."])
m.predict_scores(["one"])
m.predict_article(open({str(ROOT / 'data/articles/council-tax-row.txt')!r}).read())
m.explain("He denied the claims.")
heavy = sorted(n for n in sys.modules if n.split(".")[0] in {HEAVY!r})
print(heavy)
assert not heavy, heavy
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


def _rehash(path: Path) -> None:
    """Recompute the manifest's hashes after editing files (as a deliberate tamperer would)."""
    man = json.loads((path / "manifest.json").read_text())
    man["files"] = {f: hashlib.sha256((path / f).read_bytes()).hexdigest() for f in man["files"]}
    (path / "manifest.json").write_text(json.dumps(man))


def write_format_1(src: Path, dst: Path) -> None:
    """Write `src` (format 2) as stancekit 0.1.0 wrote format 1: the analyzer flags and
    sublinear_tf in weights, neighbours_view, segmentation in the metadata."""
    shutil.copytree(src, dst)
    meta = json.loads((dst / "model.json").read_text())
    w = meta["weights"]
    spec = w.pop("feature_spec")
    w["analyzer"] = {k: spec[k] for k in ("word_ngrams", "char_ngrams", "number_shapes",
                                          "context", "neighbours")}
    w["sublinear_tf"] = spec["sublinear_tf"]
    w["neighbours_view"] = w.pop("neighbours")
    (dst / "model.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
    man = json.loads((dst / "manifest.json").read_text())
    man["format_version"] = 1
    (dst / "manifest.json").write_text(json.dumps(man))
    _rehash(dst)


def test_format_1_artifacts_still_load(trained: Path, tmp_path: Path) -> None:
    old = tmp_path / "v1"
    write_format_1(trained, old)
    assert json.loads((old / "manifest.json").read_text())["format_version"] == 1
    new, legacy = stancekit.load(trained), stancekit.load(old)
    texts = [json.loads(l)["text"] for l in (ROOT / "data/gold.jsonl").read_text().splitlines()]
    assert np.array_equal(legacy.predict_scores(texts), new.predict_scores(texts))
    article = (ROOT / "data/articles/council-tax-row.txt").read_text()
    assert legacy.predict_article(article) == new.predict_article(article)
    assert legacy.spec == new.spec


def test_unknown_future_format_is_refused(trained: Path, tmp_path: Path) -> None:
    copy = tmp_path / "future"
    shutil.copytree(trained, copy)
    man = json.loads((copy / "manifest.json").read_text())
    man["format_version"] = artifact.FORMAT_VERSION + 1
    (copy / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(ArtifactError, match=f"format {artifact.FORMAT_VERSION + 1} was written"):
        stancekit.load(copy)


def test_training_refuses_a_runtime_that_disagrees(workdir: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """If the batch path's context rules drift from the analyzer's, train() stops before
    writing anything."""
    from stancekit.runtime import vectorize
    from stancekit.training import train
    drifted = tuple((name, (lambda f: f.position == 1) if name == "ctx:headline" else rule)
                    for name, rule in vectorize.CONTEXT_RULES)
    monkeypatch.setattr(vectorize, "CONTEXT_RULES", drifted)
    cfg = load_config(workdir / "configs/default.yaml", [f"output.dir={tmp_path}"])
    with pytest.raises(ParityError, match="scores records differently"):
        train(cfg)
    assert not (tmp_path / "default").exists() or not any((tmp_path / "default").iterdir())


# -- randomized parity, one model per feature family ----------------------------------

def _random_text(rnd: random.Random, words: list[str]) -> str:
    """Text mixing the sample's words with cue and number words, figures of every shape,
    quotation marks, punctuation, odd spacing and non-ASCII letters."""
    pieces = words + sorted(CUE_CLASS) + sorted(NUMBER_WORDS) + [
        "£1.4bn", "5%", "61 per cent", "2,000", "12", "2004", "1990s", "3rd", "5 May", "80p",
        "$7m", "€3", "٣", '"', "“", "”", "‘", "’", "'", ",", ".", ":", "-", "(", ")", "?",
        "—", "…", "&#233;", "\u00a0", "\t", "Straße", "İstanbul", "語", "😀", "n't", "it's"]
    return "".join(rnd.choice(pieces) + rnd.choice((" ", " ", " ", "", "  ", "\n"))
                   for _ in range(rnd.randint(0, 30)))


def _random_records(rnd: random.Random, words: list[str], n: int) -> list:
    """Plain strings and records with random article context."""
    out: list = []
    for _ in range(n):
        text = _random_text(rnd, words)
        if rnd.random() < 0.3:
            out.append(text)
        else:
            out.append({"text": text, "context": {
                "index": rnd.choice([0, 1, 2, 7, None]), "in_quote": rnd.random() < 0.4,
                "prev": rnd.choice(["", _random_text(rnd, words)]),
                "next": rnd.choice(["", _random_text(rnd, words)])}})
    return out


FAMILIES = {
    "word unigrams": FeatureSpec(word_ngrams=(1, 1), context=False),
    "word 1-3 grams": FeatureSpec(word_ngrams=(1, 3)),
    "word 2-4 grams, raw tf": FeatureSpec(word_ngrams=(2, 4), sublinear_tf=False),
    "no number shapes": FeatureSpec(number_shapes=False),
    "context features": FeatureSpec(context=True),
    "character n-grams": FeatureSpec(char_ngrams=(2, 4)),
    "neighbour cue classes": FeatureSpec(neighbours=True),
    "neighbour n-gram blocks": FeatureSpec(neighbour_labels=("denial", "accusation")),
}


@pytest.fixture(scope="module")
def sample() -> tuple[list, np.ndarray, list[str]]:
    ds = build_dataset(load_config(ROOT / "configs/default.yaml"))
    words = sorted({w for r in ds.records for w in r["text"].split()})
    return ds.records, ds.matrix(ds.records), words


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_runtime_equals_estimator_on_random_text(family: str, sample) -> None:
    records, Y, words = sample
    numbers = ("statistic",) if FAMILIES[family].number_shapes else ()
    clf = StanceClassifier(features=FAMILIES[family], min_df=1, number_labels=numbers)
    clf.fit(records, Y)
    model = Model(clf.export(), {})
    rnd = random.Random(family)
    batch = _random_records(rnd, words, 300) + [r for r in records[:40]]
    want = clf.predict_proba(batch)
    assert np.allclose(model.predict_scores(batch), want, rtol=1e-9, atol=1e-12)
    one = np.vstack([model.predict_scores([r]) for r in batch[:60]])
    assert np.allclose(one, want[:60], rtol=1e-9, atol=1e-12)
    assert (want.std(axis=0) > 0).all()  # the random text does move every label's score


def test_number_model_parity_on_random_figures(sample) -> None:
    """The number model's batch and one-sentence paths on random text full of figures."""
    records, Y, words = sample
    clf = StanceClassifier(min_df=1, number_labels=("statistic",)).fit(records, Y)
    model = Model(clf.export(), {})
    rnd = random.Random(5)
    figures = ["£1.4bn", "5%", "two", "13", "2004", "61 per cent", "half", "3rd", "5 May",
               "aged", "years", "jailed", "for", "of", "the", "people", "rose", "by", "to"]
    batch = [" ".join(rnd.choice(figures) for _ in range(rnd.randint(1, 14))) for _ in range(300)]
    col = model.labels.index("statistic")
    want = clf.decision_function(batch)[:, col]
    assert np.allclose(model.decision_function(batch)[:, col], want, rtol=1e-9, atol=1e-12)
    assert np.allclose([model.decision_function([t])[0, col] for t in batch[:50]], want[:50],
                       rtol=1e-9, atol=1e-12)
