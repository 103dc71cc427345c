"""Training: config -> dataset -> fitted classifier -> tuned thresholds -> versioned artifact."""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import platform
import random
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from . import __version__
from .cards import model_card
from .config import DEFAULT_LABELS, MAX_SEED, Config, apply_overrides, config_from_dict, dump_config
from .dataset import SentenceDataset, build_dataset
from .errors import ConfigError, ParityError, TrainingError
from .estimator import StanceClassifier
from .metrics import summary
from .runtime import artifact
from .runtime.artifact import ModelData
from .runtime.decisions import decide, tune_thresholds
from .runtime.model import Model
from .runtime.records import SentenceRecord, fully_labelled, replaced

Log = Callable[[str], None]


def _quiet(msg: str) -> None:
    pass


@dataclass
class TrainResult:
    """What a training run produced: the artifact path and everything worth printing."""

    path: Path | None
    name: str
    version: str | None
    metrics: dict[str, Any]
    timings: dict[str, float]
    trials: list[dict[str, Any]] = field(default_factory=list)
    model: Model | None = None
    classifier: StanceClassifier | None = None
    dataset: SentenceDataset | None = None


def make_classifier(cfg: Config, labels: tuple[str, ...] | None = None) -> StanceClassifier:
    """The estimator a config describes (for `labels`, by default the config's label set)."""
    f, m, n = cfg.features, cfg.model, cfg.numbers
    return StanceClassifier(labels=labels or cfg.labels.names, exclusive=cfg.labels.exclusive,
                            features=f.spec(), min_df=f.min_df, max_features=f.max_features,
                            model_type=m.type, C=m.C, class_weight=m.class_weight,
                            max_iter=m.max_iter, default_threshold=cfg.thresholds.default,
                            number_labels=n.labels, number_weight=n.weight,
                            number_window=n.window, number_C=n.C, number_floor=n.floor,
                            random_state=cfg.seed)


def _weights(records: list[SentenceRecord], cfg: Config, labels: tuple[str, ...]) -> np.ndarray | None:
    """Per-sentence, per-label training weights: gold 1; a rule-labelled sentence
    `weak_labels.weight` for the labels it has a rule for and 0 for the others (a rule
    that did not run says nothing about its label). None when every record is gold."""
    if all(fully_labelled(r) for r in records):
        return None
    weak = np.array([cfg.weak_labels.weight if l in cfg.weak_labels.rules else 0.0
                     for l in labels])
    gold = np.ones(len(labels))

    def row(r: SentenceRecord) -> np.ndarray:
        if r["source"] != "gold":
            return weak
        known = r.get("known")  # annotated in part: the labels it speaks about, weight 1
        return gold if known is None else np.array([1.0 if l in known else 0.0 for l in labels])
    return np.array([row(r) for r in records])


def trainable_labels(cfg: Config, ds: SentenceDataset, log: Log = _quiet) -> tuple[str, ...]:
    """The labels with a positive training example; the others are an error, or are
    skipped with a warning when `labels.missing_positive` is `skip`."""
    counts = ds.matrix(ds.split("train")).sum(axis=0)
    missing = [l for l, n in zip(ds.labels, counts) if n == 0]
    if missing and (cfg.labels.missing_positive == "error" or cfg.labels.exclusive):
        raise TrainingError(f"label {missing[0]!r} has no positive example in the training split; "
                            "annotate more, or set labels.missing_positive: skip")
    for label in missing:
        log(f"warning: label {label!r} has no positive training example; skipped")
    kept = tuple(l for l in ds.labels if l not in missing)
    if not kept:
        raise TrainingError("no label has a positive example in the training split")
    return kept


def _fit(cfg: Config, ds: SentenceDataset, records: list[SentenceRecord],
         labels: tuple[str, ...] | None = None) -> StanceClassifier:
    clf = make_classifier(cfg, labels)
    return clf.fit(records, ds.matrix(records, clf.labels),
                   sample_weight=_weights(records, cfg, tuple(clf.labels)))


def cv_scores(cfg: Config, ds: SentenceDataset, records: list[SentenceRecord],
              labels: tuple[str, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold scores of the gold records over the dataset's story-grouped folds."""
    gold_idx = [i for i, r in enumerate(records) if fully_labelled(r)]
    folds = sorted({records[i]["fold"] for i in gold_idx})
    labels = labels or ds.labels
    scores = np.zeros((len(gold_idx), len(labels)))
    pos = {i: k for k, i in enumerate(gold_idx)}
    for fold in folds:
        held = [i for i in gold_idx if records[i]["fold"] == fold]
        fit_on = [r for r in records if r["fold"] != fold]
        clf = _fit(cfg, ds, fit_on, labels)
        scores[[pos[i] for i in held]] = clf.predict_proba([records[i] for i in held])
    return scores, ds.matrix([records[i] for i in gold_idx], labels)


def search(cfg: Config, ds: SentenceDataset, log: Log = _quiet) -> tuple[Config, list[dict]]:
    """Grid or random search over config keys, scored by story-grouped CV macro-F1."""
    s = cfg.search
    keys = list(s.params)
    combos = list(itertools.product(*(s.params[k] for k in keys)))
    if s.method == "random" and len(combos) > s.n_iter:
        combos = random.Random(cfg.seed).sample(combos, s.n_iter)
    train = [r for r in ds.records if r["split"] == "train"]
    labels = trainable_labels(cfg, ds, log)
    trials = []
    best = (-1.0, cfg)
    for combo in combos:
        overrides = [f"{k}={json.dumps(v)}" for k, v in zip(keys, combo)]
        trial_cfg = config_from_dict(apply_overrides(cfg.to_dict(), overrides), "search",
                                     cfg.base_dir)
        trial_cfg = dataclasses.replace(trial_cfg, split=dataclasses.replace(
            trial_cfg.split, folds=s.folds))
        # regroup the training articles into the search's folds
        scores, Y = cv_scores(trial_cfg, ds, [replaced(r, fold=r["fold"] % s.folds) for r in train],
                              labels)
        th = tune_thresholds(scores, Y, trial_cfg.thresholds.grid, trial_cfg.thresholds.default)
        macro = summary(Y, decide(scores, th, cfg.labels.exclusive), labels)["macro_f1"]
        trial = {"params": dict(zip(keys, combo)), "cv_macro_f1": round(macro, 4)}
        trials.append(trial)
        log(f"search: {trial['params']} -> CV macro-F1 {macro:.4f}")
        if macro > best[0]:
            best = (macro, trial_cfg)
    best_cfg = dataclasses.replace(best[1], split=cfg.split,
                                   search=dataclasses.replace(cfg.search, enabled=False))
    return best_cfg, trials


def _git_commit(cwd: str) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True,
                             timeout=5)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def _versions() -> dict[str, str]:
    import joblib
    import sklearn
    return {"stancekit": __version__, "python": platform.python_version(),
            "numpy": np.__version__, "scikit-learn": sklearn.__version__, "joblib": joblib.__version__}


def evaluate_split(model: Model, ds: SentenceDataset, split: str) -> dict[str, Any] | None:
    """Metrics of a loaded model on one split of a dataset (None when the split is empty)."""
    recs = [r for r in ds.records if r["split"] == split and fully_labelled(r)]
    if not recs:
        return None
    P = decide(model.predict_scores(recs), model.thresholds, model.exclusive)
    return summary(ds.matrix(recs, model.labels), P, model.labels, model.exclusive)


@dataclass
class Fitted:
    """A fitted classifier with its timings and the held-out validation metrics
    (measured before any refit on train + validation; None without validation data)."""

    classifier: StanceClassifier
    timings: dict[str, float]
    validation_metrics: dict[str, Any] | None


def fit_model(cfg: Config, ds: SentenceDataset, log: Log = _quiet) -> Fitted:
    """Fit on the train split, tune thresholds as configured, measure on validation,
    then (`split.refit`) fit again on train + validation keeping those thresholds."""
    timings = {}
    train = ds.split("train")
    if not train:
        raise TrainingError("the training split is empty: add annotated articles or lower "
                            "split.validation / split.test")
    labels = trainable_labels(cfg, ds, log)
    t = time.perf_counter()
    clf = _fit(cfg, ds, train, labels)
    timings["fit_s"] = time.perf_counter() - t
    t = time.perf_counter()
    mode = cfg.thresholds.tune
    val = [r for r in ds.split("validation") if fully_labelled(r)]
    val_scores = clf.predict_proba(val) if val else None
    if not cfg.labels.exclusive and mode != "none":
        if mode == "validation":
            if val_scores is None:
                raise TrainingError("thresholds.tune is 'validation' but the validation split is "
                                    "empty; use thresholds.tune: cv")
            scores, Y = val_scores, ds.matrix(val, labels)
        else:
            log("tuning thresholds by story-grouped cross-validation")
            scores, Y = cv_scores(cfg, ds, train, labels)
        clf.tune_thresholds(scores, Y, cfg.thresholds.grid)
    timings["thresholds_s"] = time.perf_counter() - t
    if val_scores is None:
        return Fitted(clf, timings, None)
    val_metrics = summary(ds.matrix(val, labels), clf.decide(val_scores), labels,
                          cfg.labels.exclusive)
    if cfg.split.refit:
        log("refitting on train + validation with the tuned thresholds")
        t = time.perf_counter()
        thresholds = clf.thresholds_
        clf = _fit(cfg, ds, train + val, labels)
        clf.thresholds_ = thresholds
        timings["refit_s"] = time.perf_counter() - t
    return Fitted(clf, timings, val_metrics)


def cross_validate(cfg: Config, seeds: Iterable[int] = (), log: Log = _quiet,
                   progress: Callable[[Iterable], Iterable] | None = None) -> dict[str, Any]:
    """Story-grouped K-fold cross-validation of the whole training run, on one or more splits.

    Each of `split.folds` folds is held out once; the next fold is its validation split
    (thresholds, then the refit), the rest trains, as `train` does (search included, on
    the training folds only). Out-of-fold predictions of the gold sentences are pooled
    into one set of metrics per split seed; over several seeds the F1 figures are also
    averaged, so one lucky split of the stories cannot carry the verdict.
    """
    runs = {}
    for seed in tuple(seeds):
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise ConfigError(f"split seed {seed!r} must be an integer in 0..{MAX_SEED}")
    for seed in tuple(seeds) or (cfg.seed,):
        c = dataclasses.replace(cfg, seed=seed)
        ds = build_dataset(c, progress or (lambda x: x))
        log(f"split seed {seed}: {len(ds.records)} sentences")
        runs[str(seed)] = _cv_split(c, ds, log)
    labels = list(cfg.labels.names)
    mean = {"macro_f1": round(float(np.mean([r["macro_f1"] for r in runs.values()])), 4),
            "f1": {lab: round(float(np.mean([r["per_label"][lab]["f1"] for r in runs.values()])), 4)
                   for lab in labels}}
    return {"folds": cfg.split.folds, "labels": labels, "seeds": runs, "mean": mean}


def _cv_split(cfg: Config, ds: SentenceDataset, log: Log) -> dict[str, Any]:
    """Pooled out-of-fold metrics of the gold sentences over the dataset's story folds."""
    gold = [r for r in ds.records if fully_labelled(r)]
    folds = sorted({r["fold"] for r in gold})
    if len(folds) < 2:
        raise TrainingError(f"cross-validation needs at least 2 folds with gold articles, got "
                            f"{len(folds)}: add annotated articles or lower split.folds")
    Y = ds.matrix(gold)
    P = np.zeros_like(Y)
    col = {label: j for j, label in enumerate(ds.labels)}
    per_fold = []
    for pos, k in enumerate(folds):
        val_fold = folds[(pos + 1) % len(folds)]
        fold_ds = SentenceDataset([replaced(r, split="test" if r["fold"] == k else "validation"
                                            if r["fold"] == val_fold else "train")
                                   for r in ds.records], ds.labels)
        c = search(cfg, fold_ds, log)[0] if cfg.search.enabled and cfg.search.params else cfg
        clf = fit_model(c, fold_ds).classifier
        held = [i for i, r in enumerate(gold) if r["fold"] == k]
        P[np.ix_(held, [col[label] for label in clf.labels])] = clf.predict([gold[i] for i in held])
        m = summary(Y[held], P[held], ds.labels, cfg.labels.exclusive)
        per_fold.append({"fold": k, "sentences": len(held), "macro_f1": round(m["macro_f1"], 4)})
        log(f"  fold {pos + 1}/{len(folds)}: {len(held)} held-out sentences, "
            f"macro-F1 {m['macro_f1']:.3f}")
    m = summary(Y, P, ds.labels, cfg.labels.exclusive)
    return dict(m, sentences=len(gold), stories=len({r["story"] for r in gold}),
                per_fold=per_fold)


def metadata(cfg: Config, ds: SentenceDataset, clf: StanceClassifier) -> dict[str, Any]:
    """Everything model.json records besides the weights."""
    return {
        "name": cfg.output.name, "labels": list(clf.labels), "exclusive": cfg.labels.exclusive,
        "skipped_labels": [l for l in cfg.labels.names if l not in clf.labels],
        "label_definitions_source": "ANNOTATION.md (default schema)"
        if tuple(cfg.labels.names) == DEFAULT_LABELS else "config",
        "thresholds": dict(zip(clf.labels, map(float, clf.thresholds_))),
        "dataset": {"fingerprint": ds.fingerprint, "sentences": len(ds.records),
                    "splits": {s: len(ds.split(s)) for s in ("train", "validation", "test")}},
        "cleaning_enabled": cfg.cleaning.enabled,
        "versions": _versions(), "git_commit": _git_commit(cfg.base_dir),
        "stancekit_version": __version__,
    }


def model_data(cfg: Config, clf: StanceClassifier) -> ModelData:
    """What the runtime is built from: the estimator's numbers and the config's
    segmentation rules (so `predict --article` cleans as the builder did)."""
    return dataclasses.replace(clf.export(), cleaning=cfg.cleaning,
                               abbreviations=tuple(cfg.segmentation.abbreviations))


PARITY_TOLERANCE = 1e-9


def check_parity(clf: StanceClassifier, model: Model, records: list[SentenceRecord]) -> None:
    """Raise ParityError unless the runtime model scores `records` as the estimator does:
    whole batches of records and of bare strings, and the one-sentence path."""
    if not records:
        return
    texts = [r["text"] for r in records]
    for what, batch in (("records", records), ("bare sentences", texts),
                        ("one sentence at a time", records[:5])):
        want = clf.predict_proba(batch)
        got = model.predict_scores(batch) if what != "one sentence at a time" else \
            np.vstack([model.predict_scores([r]) for r in batch])
        gap = np.abs(got - want)
        if gap.max() > PARITY_TOLERANCE:
            i, j = (int(x) for x in np.unravel_index(int(gap.argmax()), gap.shape))
            raise ParityError(
                f"the runtime model scores {what} differently from the scikit-learn estimator "
                f"(label {clf.labels[j]!r}, {got[i, j]:.12f} vs {want[i, j]:.12f} on "
                f"{texts[i][:60]!r}); nothing was written. This is a bug in stancekit: please "
                "report it with the config")


def _parity_records(ds: SentenceDataset) -> list[SentenceRecord]:
    """The validation sentences, or (without a validation split) test or training ones."""
    for split in ("validation", "test", "train"):
        recs = [r for r in ds.split(split) if fully_labelled(r)]
        if recs:
            return recs[:2000]
    return []


def train(cfg: Config, log: Log = _quiet, progress: Callable[[Iterable], Iterable] | None = None,
          write: bool = True) -> TrainResult:
    """Run one training: build the dataset, (search,) fit, tune, evaluate, check that the
    runtime scores as the estimator does, write the artifact."""
    timings: dict[str, float] = {}
    if write:
        artifact.check_writable(cfg.resolve(cfg.output.dir), cfg.output.name)
    t0 = time.perf_counter()
    ds = build_dataset(cfg, progress or (lambda x: x))
    timings["build_s"] = time.perf_counter() - t0
    log(f"dataset: {len(ds.records)} sentences, fingerprint {ds.fingerprint[:12]}")
    trials: list[dict] = []
    if cfg.search.enabled and cfg.search.params:
        t = time.perf_counter()
        cfg, trials = search(cfg, ds, log)
        timings["search_s"] = time.perf_counter() - t
    fitted = fit_model(cfg, ds, log)
    clf = fitted.classifier
    timings.update(fitted.timings)
    data = model_data(cfg, clf)
    meta = metadata(cfg, ds, clf)
    model = Model(data, meta)
    check_parity(clf, model, _parity_records(ds))
    # validation metrics come from the model fitted without the validation split
    metrics = {s: m for s, m in (("validation", fitted.validation_metrics),
                                 ("test", evaluate_split(model, ds, "test"))) if m}
    timings["total_s"] = time.perf_counter() - t0
    meta.update(metrics=metrics, timings={k: round(v, 3) for k, v in timings.items()},
                search_trials=trials,
                created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    result = TrainResult(None, cfg.output.name, None, metrics, timings, trials, model, clf, ds)
    if not write:
        return result
    path = artifact.write(cfg.resolve(cfg.output.dir), cfg.output.name, data, meta,
                          documents(cfg, clf, meta))
    path = path.resolve()
    result.path, result.version = path, path.name
    result.model = Model(data, dict(meta, version=path.name, path=str(path)), path)
    return result


def documents(cfg: Config, clf: StanceClassifier, meta: dict[str, Any]) -> dict[str, bytes]:
    """The artifact's files for people and other tools: the resolved config, metrics,
    the model card and the scikit-learn pipeline (a pickle, never read by stancekit)."""
    import joblib
    buf = io.BytesIO()
    joblib.dump(clf, buf)
    return {
        "config.yaml": dump_config(cfg).encode("utf-8"),
        "metrics.json": json.dumps(meta.get("metrics", {}), indent=2, sort_keys=True).encode(),
        "model_card.md": model_card(cfg, meta, clf.top_features(),
                                    clf.top_number_features()).encode("utf-8"),
        "pipeline.joblib": buf.getvalue(),
    }


def check_repro(path: Path, log: Log = _quiet) -> list[str]:
    """Verify an artifact, retrain from its stored config, and list every difference in
    what prediction reads (an artifact that fails verification is an error, not a diff)."""
    from .config import load_config
    artifact.verified(path)
    cfg = load_config(path / "config.yaml")
    result = train(cfg, log, write=False)
    assert result.classifier is not None and result.dataset is not None
    meta = metadata(cfg, result.dataset, result.classifier)
    return artifact.diff(path, model_data(cfg, result.classifier), meta)
