"""Scores to decisions: sigmoid or softmax, per-label thresholds, and tuning them on
held-out scores. NumPy only, shared by training and the runtime."""

from __future__ import annotations

import numpy as np


def scores_from_decision(decision: np.ndarray, exclusive: bool) -> np.ndarray:
    """Map linear scores to [0, 1]: sigmoid per label, or softmax across exclusive labels."""
    decision = np.asarray(decision, dtype=np.float64)
    if exclusive:
        z = decision - decision.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)
    return 0.5 * (1.0 + np.tanh(0.5 * decision))  # a sigmoid that cannot overflow


def decide(scores: np.ndarray, thresholds: np.ndarray, exclusive: bool) -> np.ndarray:
    """0/1 predictions: score >= threshold per label, or the top label when exclusive."""
    scores = np.asarray(scores)
    if exclusive:
        out = np.zeros(scores.shape, dtype=np.int8)
        if len(scores):
            out[np.arange(len(scores)), scores.argmax(axis=1)] = 1
        return out
    return (scores >= np.asarray(thresholds)[None, :]).astype(np.int8)


def f1_at(scores: np.ndarray, y: np.ndarray, threshold: float) -> float:
    """F1 of one label at one threshold (0 when nothing is predicted or present)."""
    pred = scores >= threshold
    tp = float(np.sum(pred & (y == 1)))
    denom = float(np.sum(pred)) + float(np.sum(y == 1))
    return 2 * tp / denom if denom else 0.0


def tune_thresholds(scores: np.ndarray, Y: np.ndarray, grid: int = 99,
                    default: float = 0.5) -> np.ndarray:
    """Per label, the threshold on an even grid in (0, 1) that maximises held-out F1.

    Ties go to the threshold closest to `default`, so tuning never moves a threshold
    for no gain. A label without positives keeps the default.
    """
    candidates = np.linspace(0, 1, grid + 2)[1:-1]
    out = np.full(Y.shape[1], float(default))
    for j in range(Y.shape[1]):
        if Y[:, j].sum() == 0:
            continue
        f1s = np.array([f1_at(scores[:, j], Y[:, j], t) for t in candidates])
        best = f1s.max()
        ties = candidates[np.isclose(f1s, best)]
        out[j] = float(ties[np.argmin(np.abs(ties - default))])
    return out
