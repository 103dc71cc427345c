"""Metrics for multi-label and exclusive label sets: the one implementation training and
evaluation share, so an artifact's stored metrics equal what `evaluate` recomputes."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def _f1(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def per_label(Y: np.ndarray, P: np.ndarray, labels: Sequence[str]) -> dict[str, dict]:
    """Precision, recall, F1, support and the 2x2 confusion ([[tn, fp], [fn, tp]]) per label."""
    out = {}
    for j, label in enumerate(labels):
        y, p = Y[:, j] == 1, P[:, j] == 1
        tp, fp = int(np.sum(y & p)), int(np.sum(~y & p))
        fn, tn = int(np.sum(y & ~p)), int(np.sum(~y & ~p))
        prec, rec, f1 = _f1(tp, fp, fn)
        out[label] = {"precision": prec, "recall": rec, "f1": f1, "support": int(y.sum()),
                      "confusion": [[tn, fp], [fn, tp]]}
    return out


def summary(Y: np.ndarray, P: np.ndarray, labels: Sequence[str], exclusive: bool = False) -> dict:
    """Headline figures: micro/macro/samples F1, subset accuracy, Hamming loss (+ per label)."""
    Y = np.asarray(Y, dtype=np.int8)
    P = np.asarray(P, dtype=np.int8)
    labs = per_label(Y, P, labels)
    tp = float(np.sum((Y == 1) & (P == 1)))
    fp = float(np.sum((Y == 0) & (P == 1)))
    fn = float(np.sum((Y == 1) & (P == 0)))
    n = len(Y)
    # samples F1: per sentence, F1 of its label set; a sentence with no gold and no
    # predicted label scores 1 (a perfect "none"), unlike sklearn's zero_division=0.
    inter = np.sum((Y == 1) & (P == 1), axis=1)
    sizes = Y.sum(axis=1) + P.sum(axis=1)
    samples = np.where(sizes == 0, 1.0, 2 * inter / np.maximum(sizes, 1))
    out = {
        "n_sentences": int(n),
        "micro_f1": _f1(tp, fp, fn)[2],
        "macro_f1": float(np.mean([labs[l]["f1"] for l in labels])) if labels else 0.0,
        "samples_f1": float(samples.mean()) if n else 0.0,
        "subset_accuracy": float(np.mean(np.all(Y == P, axis=1))) if n else 0.0,
        "hamming_loss": float(np.mean(Y != P)) if n else 0.0,
        "per_label": labs,
    }
    if exclusive:
        k = len(labels)
        cm = np.zeros((k, k), dtype=int)
        for g, p in zip(Y.argmax(axis=1), P.argmax(axis=1)):
            cm[g, p] += 1
        out["accuracy"] = float(np.trace(cm) / n) if n else 0.0
        out["confusion_matrix"] = cm.tolist()
    return out


HEADLINE = ("macro_f1", "micro_f1", "samples_f1", "subset_accuracy", "hamming_loss")


def headline_values(Y: np.ndarray, P: np.ndarray, labels: Sequence[str]) -> dict[str, float]:
    """The figures bootstrapped for intervals: headline metrics plus each label's F1."""
    s = summary(Y, P, labels)
    vals = {k: s[k] for k in HEADLINE}
    for label in labels:
        vals[f"f1/{label}"] = s["per_label"][label]["f1"]
    return vals


def pr_curve(scores: np.ndarray, y: np.ndarray) -> dict[str, list[float]]:
    """Precision and recall at every distinct score threshold of one label (descending)."""
    order = np.argsort(-scores, kind="stable")
    s, yy = scores[order], y[order]
    tps = np.cumsum(yy == 1)
    fps = np.cumsum(yy == 0)
    last = np.r_[np.where(np.diff(s))[0], len(s) - 1] if len(s) else np.array([], dtype=int)
    tp, fp = tps[last], fps[last]
    total = max(int(np.sum(y == 1)), 1)
    return {"threshold": s[last].tolist(), "precision": (tp / np.maximum(tp + fp, 1)).tolist(),
            "recall": (tp / total).tolist()}


def average_precision(curve: dict[str, list[float]]) -> float:
    """Area under the precision-recall steps: sum of (R_n - R_(n-1)) * P_n."""
    r = np.asarray(curve["recall"], dtype=float)
    p = np.asarray(curve["precision"], dtype=float)
    if not len(r):
        return 0.0
    return float(np.sum(np.diff(np.r_[0.0, r]) * p))
