"""The evaluation report's figures (matplotlib, headless Agg), as PNG bytes.

Each figure names the model, its version and the data it was measured on; labels keep
the Okabe-Ito colours of the article view. `figures()` returns {file name: PNG bytes}:
`evaluation.write_reports` writes them and embeds them in `report.html`.
"""

from __future__ import annotations

import io
from typing import Any, Sequence

import numpy as np

from .metrics import average_precision

PALETTE = ["#D55E00", "#0072B2", "#009E73", "#B07800", "#CC79A7", "#56B4E9", "#6E6E00", "#000000"]
GREY = "#7a7a7a"


def density(values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """A Gaussian kernel density of scores in [0, 1] (reflected at both ends, so mass does
    not leak past them), bandwidth by Scott's rule."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2 or np.ptp(values) == 0:
        out = np.zeros_like(grid)
        if len(values):
            out[np.argmin(np.abs(grid - values.mean()))] = 1 / (grid[1] - grid[0])
        return out
    bw = max(1.06 * values.std() * len(values) ** -0.2, 0.01)
    pts = np.concatenate([values, -values, 2 - values])
    z = (grid[:, None] - pts[None, :]) / bw
    return np.exp(-0.5 * z * z).sum(axis=1) / (len(values) * bw * np.sqrt(2 * np.pi))


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def _title(result: dict[str, Any]) -> str:
    m, d = result["model"], result["data"]
    split = f", {d['split']} split" if d.get("split") else ""
    return (f"{m.get('name')} {m.get('version') or ''} on {d.get('name') or d['source']}{split} "
            f"({d['sentences']} sentences, {d['stories']} stories)")


def figures(result: dict[str, Any], labels: Sequence[str], thresholds: Sequence[float],
            Y: np.ndarray, scores: np.ndarray) -> dict[str, bytes]:
    """Every figure of the report, as {file name: PNG bytes}."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"font.size": 10, "axes.titlesize": 11, "axes.spines.top": False,
                         "axes.spines.right": False})
    out = {"pr_curves.png": _pr_curves(plt, result, labels, thresholds, Y),
           "confusion.png": _confusion(plt, result, labels),
           "score_densities.png": _densities(plt, result, labels, thresholds, Y, scores)}
    if "against" in result:
        out["comparison.png"] = _comparison(plt, result, labels)
    return out


def _grid(plt: Any, k: int, height: float) -> tuple[Any, list[Any]]:
    cols = min(k, 4)
    rows = (k + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, height * rows), squeeze=False,
                             layout="constrained")
    flat = list(axes.ravel())
    for ax in flat[k:]:
        ax.set_visible(False)
    return fig, flat[:k]


def _pr_curves(plt: Any, result: dict[str, Any], labels: Sequence[str],
               thresholds: Sequence[float], Y: np.ndarray) -> bytes:
    fig, axes = _grid(plt, len(labels), 3.7)
    for j, (ax, label) in enumerate(zip(axes, labels)):
        colour = PALETTE[j % len(PALETTE)]
        curve = result["pr_curves"][label]
        ap = average_precision(curve)
        prevalence = float(Y[:, j].mean()) if len(Y) else 0.0
        ax.plot(curve["recall"], curve["precision"], color=colour, lw=1.8, drawstyle="steps-post",
                label=f"AP {ap:.3f}")
        ax.axhline(prevalence, color=GREY, lw=1, ls="--", label=f"prevalence {prevalence:.2f}")
        at = result["at_thresholds"]["per_label"][label]
        half = result["at_0.5"]["per_label"][label]
        ax.plot([half["recall"]], [half["precision"]], "o", mfc="white", mec=colour, ms=7,
                mew=1.5, clip_on=False, label="threshold 0.50", zorder=4)
        ax.plot([at["recall"]], [at["precision"]], "o", color=colour, mec="black", ms=8,
                clip_on=False, label=f"tuned {thresholds[j]:.2f} (F1 {at['f1']:.2f})", zorder=5)
        ax.set(title=label, xlabel="recall", xlim=(0, 1.02), ylim=(0, 1.04))
        ax.set_ylabel("precision" if j % 4 == 0 else "")
        ax.legend(loc="lower left", fontsize=8, frameon=False)
    fig.suptitle(f"Precision and recall: {_title(result)}", fontsize=11)
    return _finish(plt, fig)


def _confusion(plt: Any, result: dict[str, Any], labels: Sequence[str]) -> bytes:
    fig, axes = _grid(plt, len(labels), 3.3)
    for j, (ax, label) in enumerate(zip(axes, labels)):
        stats = result["at_thresholds"]["per_label"][label]
        cm = np.array(stats["confusion"], dtype=float)
        rates = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
        for (a, b), n in np.ndenumerate(cm):
            ax.text(b, a, f"{int(n)}\n{rates[a, b]:.0%}", ha="center", va="center", fontsize=10,
                    color="white" if rates[a, b] > 0.55 else "#111111", fontweight="bold")
        ax.set(title=f"{label} (F1 {stats['f1']:.2f})", xticks=[0, 1], yticks=[0, 1],
               xticklabels=["no", "yes"], yticklabels=["no", "yes"], xlabel="predicted")
        ax.set_ylabel("gold" if j % 4 == 0 else "")
        ax.spines[:].set_visible(False)
    fig.suptitle(f"Confusion, as a share of each gold row: {_title(result)}", fontsize=11)
    return _finish(plt, fig)


def _densities(plt: Any, result: dict[str, Any], labels: Sequence[str],
               thresholds: Sequence[float], Y: np.ndarray, scores: np.ndarray) -> bytes:
    fig, axes = _grid(plt, len(labels), 3.2)
    grid = np.linspace(0, 1, 201)
    for j, (ax, label) in enumerate(zip(axes, labels)):
        colour = PALETTE[j % len(PALETTE)]
        yes = Y[:, j] == 1
        for mask, name, style in ((~yes, "gold: no", dict(color=GREY, ls="--")),
                                  (yes, "gold: yes", dict(color=colour, ls="-"))):
            d = density(scores[mask, j], grid)
            ax.plot(grid, d, lw=1.8, label=f"{name} ({int(mask.sum())})", **style)
            ax.fill_between(grid, d, alpha=0.12, color=style["color"])
        ax.axvline(thresholds[j], color="black", lw=1, label=f"threshold {thresholds[j]:.2f}")
        ax.set(title=label, xlabel="score", xlim=(0, 1), yticks=[])
        ax.set_ylabel("density (each class on its own)" if j % 4 == 0 else "")
        ax.legend(fontsize=8, loc="upper center", frameon=True, framealpha=0.92, edgecolor="none")
    fig.suptitle(f"Scores by gold label: {_title(result)}", fontsize=11)
    return _finish(plt, fig)


def _comparison(plt: Any, result: dict[str, Any], labels: Sequence[str]) -> bytes:
    keys = ["macro_f1"] + [f"f1/{l}" for l in labels]
    names = ["macro-F1"] + list(labels)
    ours = [result["at_thresholds"]["macro_f1"]] + \
        [result["at_thresholds"]["per_label"][l]["f1"] for l in labels]
    theirs = [result["against"]["at_thresholds"]["macro_f1"]] + \
        [result["against"]["at_thresholds"]["per_label"][l]["f1"] for l in labels]
    diff = result["against"]["difference"]
    other = result["against"].get("name") or "other model"
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 0.55 * len(keys) + 1.6),
                                      layout="constrained", sharey=True)
    y = np.arange(len(keys))[::-1]
    this = f"{result['model'].get('name')} {result['model'].get('version') or ''}".strip()
    left.scatter(ours, y, color="#0072B2", s=40, label=this, zorder=3)
    left.scatter(theirs, y, color=GREY, marker="D", s=30, label=str(other), zorder=3)
    for a, b, yy in zip(ours, theirs, y):
        left.plot([a, b], [yy, yy], color="#bbbbbb", lw=1, zorder=1)
    left.set(yticks=y, yticklabels=names, xlim=(0, 1), xlabel="F1")
    left.legend(fontsize=8, frameon=False, loc="lower left")
    colours = {"better": "#006b4e", "worse": "#a4000f", "no significant difference": GREY}
    for k, yy in zip(keys, y):
        d = diff[k]
        right.errorbar(d["difference"], yy, xerr=[[d["difference"] - d["low"]], [d["high"] - d["difference"]]],
                       fmt="o", color=colours[d["verdict"]], capsize=3)
        right.annotate(d["verdict"], (max(d["high"], d["difference"]), yy), xytext=(6, -3),
                       textcoords="offset points", fontsize=8, color=colours[d["verdict"]])
    right.axvline(0, color="black", lw=1)
    right.set(xlabel=f"F1 difference, this - {other} (95% paired story bootstrap)")
    lim = max(0.05, max(max(abs(diff[k]["low"]), abs(diff[k]["high"])) for k in keys) * 1.6)
    right.set_xlim(-lim, lim)
    fig.suptitle(f"Against {other}: {_title(result)}", fontsize=11)
    return _finish(plt, fig)


def _finish(plt: Any, fig: Any) -> bytes:
    try:
        return _png(fig)
    finally:
        plt.close(fig)
