"""PNG plots for the evaluation report (matplotlib, headless Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .atomic import open_atomic


def _save(fig: Any, path: Path) -> Path:
    with open_atomic(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=90, bbox_inches="tight")
    return path


def plot_all(result: dict[str, Any], model: Any, data: Any, out_dir: Path) -> list[Path]:
    """PR curves with the stored threshold marked, 2x2 confusions, score histograms by gold."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    labels = model.labels
    scores = result["_scores"]
    k = len(labels)
    out = []

    fig, axes = plt.subplots(1, k, figsize=(3.2 * k, 3.2), squeeze=False)
    for j, (ax, l) in enumerate(zip(axes[0], labels)):
        c = result["pr_curves"][l]
        ax.plot(c["recall"], c["precision"], lw=1.5)
        t = float(model.thresholds[j])
        pl = result["at_thresholds"]["per_label"][l]
        ax.plot([pl["recall"]], [pl["precision"]], "ro", label=f"threshold {t:.2f}")
        ax.set(title=l, xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02))
        ax.legend(loc="lower left", fontsize=8)
    out.append(_save(fig, out_dir / "pr_curves.png"))
    plt.close(fig)

    fig, axes = plt.subplots(1, k, figsize=(2.8 * k, 2.8), squeeze=False)
    for ax, l in zip(axes[0], labels):
        cm = np.array(result["at_thresholds"]["per_label"][l]["confusion"])
        ax.imshow(cm, cmap="Blues")
        for (a, b), v in np.ndenumerate(cm):
            ax.text(b, a, str(v), ha="center", va="center")
        ax.set(title=l, xticks=[0, 1], yticks=[0, 1], xticklabels=["no", "yes"],
               yticklabels=["no", "yes"], xlabel="predicted", ylabel="gold")
    out.append(_save(fig, out_dir / "confusion.png"))
    plt.close(fig)

    fig, axes = plt.subplots(1, k, figsize=(3.2 * k, 3.0), squeeze=False)
    bins = np.linspace(0, 1, 21)
    for j, (ax, l) in enumerate(zip(axes[0], labels)):
        y = data.Y[:, j] == 1
        ax.hist(scores[~y, j], bins=bins, alpha=0.6, label="gold: no")
        ax.hist(scores[y, j], bins=bins, alpha=0.6, label="gold: yes")
        ax.axvline(float(model.thresholds[j]), color="red", lw=1)
        ax.set(title=l, xlabel="score")
        ax.legend(fontsize=8)
    out.append(_save(fig, out_dir / "score_histograms.png"))
    plt.close(fig)
    return out
