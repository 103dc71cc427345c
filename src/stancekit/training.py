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
from .artifact import check_writable, write_artifact
from .config import Config, apply_overrides, config_from_dict, dump_config
from .dataset import SentenceDataset, build_dataset
from .errors import TrainingError
from .metrics import summary
from .model import StanceClassifier
from .predict import NUMBER_ARRAYS, Model
from .report import model_card

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
                            word_ngrams=f.word_ngrams, char_ngrams=f.char_ngrams,
                            number_shapes=f.number_shapes, context=f.context,
                            neighbours=f.neighbours, min_df=f.min_df, max_features=f.max_features,
                            sublinear_tf=f.sublinear_tf, model_type=m.type, C=m.C,
                            class_weight=m.class_weight, max_iter=m.max_iter,
                            default_threshold=cfg.thresholds.default, number_labels=n.labels,
                            number_weight=n.weight, number_window=n.window, number_C=n.C,
                            number_floor=n.floor, neighbour_labels=f.neighbour_labels,
                            neighbour_weight=f.neighbour_weight, random_state=cfg.seed)


def _weights(records: list[dict], cfg: Config, labels: tuple[str, ...]) -> np.ndarray | None:
    """Per-sentence, per-label training weights: gold 1; a rule-labelled sentence
    `weak_labels.weight` for the labels it has a rule for and 0 for the others (a rule
    that did not run says nothing about its label). None when every record is gold."""
    if all(r["source"] == "gold" for r in records):
        return None
    weak = np.array([cfg.weak_labels.weight if l in cfg.weak_labels.rules else 0.0
                     for l in labels])
    gold = np.ones(len(labels))
    return np.array([gold if r["source"] == "gold" else weak for r in records])


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


def _fit(cfg: Config, ds: SentenceDataset, records: list[dict],
         labels: tuple[str, ...] | None = None) -> StanceClassifier:
    clf = make_classifier(cfg, labels)
    return clf.fit(records, ds.matrix(records, clf.labels),
                   sample_weight=_weights(records, cfg, tuple(clf.labels)))


def cv_scores(cfg: Config, ds: SentenceDataset, records: list[dict],
              labels: tuple[str, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold scores of the gold records over the dataset's story-grouped folds."""
    gold_idx = [i for i, r in enumerate(records) if r["source"] == "gold"]
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
    from .scoring import decide, tune_thresholds
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
        scores, Y = cv_scores(trial_cfg, ds, [dict(r, fold=r["fold"] % s.folds) for r in train],
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
    from .scoring import decide
    recs = [r for r in ds.records if r["split"] == split and r["source"] == "gold"]
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
    val = [r for r in ds.split("validation") if r["source"] == "gold"]
    val_scores = clf.predict_proba(val) if val else None
    if not cfg.labels.exclusive and mode != "none":
        if mode == "validation":
            if not val:
                raise TrainingError("thresholds.tune is 'validation' but the validation split is "
                                    "empty; use thresholds.tune: cv")
            scores, Y = val_scores, ds.matrix(val, labels)
        else:
            log("tuning thresholds by story-grouped cross-validation")
            scores, Y = cv_scores(cfg, ds, train, labels)
        clf.tune_thresholds(scores, Y, cfg.thresholds.grid)
    timings["thresholds_s"] = time.perf_counter() - t
    if not val:
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
    gold = [r for r in ds.records if r["source"] == "gold"]
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
        fold_ds = SentenceDataset([dict(r, split="test" if r["fold"] == k else "validation"
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
    c = cfg.cleaning
    return {
        "name": cfg.output.name, "labels": list(clf.labels), "exclusive": cfg.labels.exclusive,
        "skipped_labels": [l for l in cfg.labels.names if l not in clf.labels],
        "label_definitions_source": "ANNOTATION.md (default schema)"
        if tuple(cfg.labels.names) == ("accusation", "denial", "quote", "statistic") else "config",
        "thresholds": dict(zip(clf.labels, map(float, clf.thresholds_))),
        "dataset": {"fingerprint": ds.fingerprint, "sentences": len(ds.records),
                    "splits": {s: len(ds.split(s)) for s in ("train", "validation", "test")}},
        "segmentation": {"cleaning": dataclasses.asdict(cfg.cleaning),
            "abbreviations": list(cfg.segmentation.abbreviations)},
        "cleaning_enabled": c.enabled,
        "versions": _versions(), "git_commit": _git_commit(cfg.base_dir),
        "stancekit_version": __version__,
    }


def train(cfg: Config, log: Log = _quiet, progress: Callable[[Iterable], Iterable] | None = None,
          write: bool = True) -> TrainResult:
    """Run one training: build the dataset, (search,) fit, tune, evaluate, write the artifact."""
    import joblib
    timings: dict[str, float] = {}
    if write:
        check_writable(cfg.resolve(cfg.output.dir), cfg.output.name)
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
    exported = clf.export()
    meta = metadata(cfg, ds, clf)
    model = Model(exported, meta)
    # validation metrics come from the model fitted without the validation split
    metrics = {s: m for s, m in (("validation", fitted.validation_metrics),
                                 ("test", evaluate_split(model, ds, "test"))) if m}
    timings["total_s"] = time.perf_counter() - t0
    meta.update(metrics=metrics, timings={k: round(v, 3) for k, v in timings.items()},
                search_trials=trials)
    result = TrainResult(None, cfg.output.name, None, metrics, timings, trials, model, clf, ds)
    if not write:
        return result
    files = artifact_files(cfg, clf, exported, meta)
    files["pipeline.joblib"] = _joblib_bytes(clf, joblib)
    path = write_artifact(cfg.resolve(cfg.output.dir), cfg.output.name, files,
                          {"stancekit_version": __version__, "created": time.strftime(
                              "%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    path = path.resolve()
    result.path, result.version = path, path.name
    result.model = Model(exported, dict(meta, version=path.name, path=str(path)), path)
    return result


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


def _joblib_bytes(clf: StanceClassifier, joblib: Any) -> bytes:
    buf = io.BytesIO()
    joblib.dump(clf, buf)
    return buf.getvalue()


def artifact_files(cfg: Config, clf: StanceClassifier, exported: dict, meta: dict) -> dict[str, bytes]:
    """The bytes of every artifact file except the manifest and the joblib pipeline."""
    weights = {k: exported[k] for k in ("labels", "thresholds", "analyzer", "sublinear_tf",
                                        "exclusive")}
    numbers = exported.get("numbers")
    extra = {}
    if numbers is not None:  # arrays to .npy, the rest beside the other weight settings
        weights["numbers"] = {k: v for k, v in numbers.items() if k not in NUMBER_ARRAYS}
        extra = {f"number_{k}.npy": _npy(numbers[k]) for k in NUMBER_ARRAYS}
    view = exported.get("neighbours_view")
    if view is not None:
        weights["neighbours_view"] = {"labels": view["labels"]}
        extra["neighbour_coef.npy"] = _npy(view["coef"])
    model_json = dict(meta, weights=weights)
    return {
        **extra,
        "features.json": json.dumps(exported["features"], ensure_ascii=False).encode("utf-8"),
        "ngram_tokens.json": json.dumps(exported["ngram_tokens"], ensure_ascii=False).encode("utf-8"),
        "ngram_table.npy": _npy(exported["ngram_table"]),
        "idf.npy": _npy(exported["idf"]),
        "coef.npy": _npy(exported["coef"]),
        "intercept.npy": _npy(exported["intercept"]),
        "model.json": json.dumps(model_json, indent=2, sort_keys=True, ensure_ascii=False).encode(),
        "metrics.json": json.dumps(meta.get("metrics", {}), indent=2, sort_keys=True).encode(),
        "config.yaml": dump_config(cfg).encode("utf-8"),
        "model_card.md": model_card(cfg, meta, clf.top_features(),
                                    clf.top_number_features()).encode("utf-8"),
    }


def check_repro(path: Path, log: Log = _quiet) -> list[str]:
    """Retrain from an artifact's stored config; list every difference from the stored weights."""
    from .config import load_config
    from .predict import read_weights
    cfg = load_config(path / "config.yaml")
    result = train(cfg, log, write=False)
    new = result.classifier.export()
    old, old_meta = read_weights(path)
    diffs = []
    if old_meta["dataset"]["fingerprint"] != result.dataset.fingerprint:
        diffs.append("dataset fingerprint differs (the data changed)")
    for key in ("idf.npy", "coef.npy", "intercept.npy"):
        if _npy(new[key[:-4]]) != (path / key).read_bytes():
            diffs.append(f"{key} differs")
    view = new.get("neighbours_view")
    file = path / "neighbour_coef.npy"
    if (_npy(view["coef"]) if view else None) != (file.read_bytes() if file.exists() else None):
        diffs.append(f"{file.name} differs")
    numbers = new.get("numbers") or {}
    for key in NUMBER_ARRAYS:
        file = path / f"number_{key}.npy"
        stored = file.read_bytes() if file.exists() else None
        if (_npy(numbers[key]) if numbers else None) != stored:
            diffs.append(f"{file.name} differs")
    if json.dumps(new["features"], ensure_ascii=False).encode() != (path / "features.json").read_bytes():
        diffs.append("features.json differs")
    if [round(t, 12) for t in new["thresholds"]] != [round(t, 12) for t in old["thresholds"]]:
        diffs.append(f"thresholds differ: {old['thresholds']} vs {new['thresholds']}")
    return diffs
