"""Active learning on the BBC gold, simulated (issue 20): how many labels each
`stancekit suggest` strategy needs to reach what random selection reaches with all.

The dataset of `configs/bbc-politics.yaml` is built once (story-grouped splits). Its test
articles are the yardstick and are never labelled; the gold sentences of the train and
validation articles are the pool an annotator could label. Each run starts from the same
`--start` sentences drawn at random from the pool, then, round by round, the strategy
picks `--step` more from the still unlabelled ones (`stancekit.suggest.select`, the code
behind `stancekit suggest`, on the scores of the model of the round before), their gold
labels are revealed, and the model is trained again with the shipped config: sentences
not yet labelled stay in their articles as context, known for nothing (the partial gold
`suggest` produces), thresholds are tuned on the labelled validation sentences. After
each round the model is scored on the test articles (macro-F1).

    python benchmarks/active_learning.py [--reps 3] [--start 500] [--step 500] [--jobs 2]
        [--focus accusation,denial] [--tune-on labelled|start] [--mix 0.5] [--set k=v]
        [--from-json FILE]  (summarise and plot an earlier run again)

The shipped config fits in ~20 s a round (its weak labels), so a full run takes ~40
minutes on 2 cores; `--set weak_labels.enabled=false` takes ~3.

Writes benchmarks/active_learning.json and benchmarks/active_learning.png (learning
curves, mean of the repetitions, with their spread); `benchmarks/README.md` reports them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT.parent / "shared" / "corpus" / "bbc-politics-gold.jsonl"
STRATEGIES = ("uncertainty", "margin", "diverse", "random")
COLOURS = {"uncertainty": "#0072B2", "margin": "#E69F00", "diverse": "#009E73",
           "random": "#555555"}


def _dataset(overrides: list[str]) -> tuple[Any, Any]:
    from stancekit.config import load_config
    from stancekit.dataset import build_dataset
    cfg = load_config(ROOT / "configs/bbc-politics.yaml", overrides)
    return cfg, build_dataset(cfg)


def _key(r: dict[str, Any]) -> tuple[str, int]:
    return r["article_id"], r["index"]


def _round(cfg: Any, ds: Any, labelled: set[tuple[str, int]], pool: list[dict[str, Any]],
           test: list[dict[str, Any]], tune_on: set[tuple[str, int]] | None
           ) -> tuple[float, dict[str, float], Any]:
    """Train with only `labelled` pool sentences known; macro-F1 on test, and the model.
    With `tune_on`, only those validation sentences tune the thresholds (the other
    labelled validation sentences train, as train-split ones do)."""
    from stancekit.dataset import SentenceDataset
    from stancekit.metrics import summary
    from stancekit.training import fit_model
    in_pool = {_key(r) for r in pool}

    def masked(r: dict[str, Any]) -> dict[str, Any]:
        if r["source"] != "gold" or _key(r) not in in_pool:
            return r
        if _key(r) not in labelled:
            return dict(r, labels=[], known=[])
        if tune_on is not None and r["split"] == "validation" and _key(r) not in tune_on:
            return dict(r, split="train")
        return r
    records = [masked(r) for r in ds.records]
    part = SentenceDataset(records=records, labels=ds.labels)  # type: ignore[arg-type]
    clf = fit_model(cfg, part).classifier
    labels = list(ds.labels)
    m = summary(ds.matrix(test, labels), clf.decide(clf.predict_proba(test)), labels)
    return m["macro_f1"], {l: m["per_label"][l]["f1"] for l in labels}, clf


def run(strategy: str, rep: int, start: int, step: int, overrides: list[str],
        focus: list[str], tune_on: str, mix: float = 0.0) -> dict[str, Any]:
    """One learning curve: labels -> test macro-F1, from `start` random labels to all."""
    import numpy as np
    from stancekit.runtime.records import fully_labelled
    from stancekit.suggest import focus_columns, select, value_of
    cfg, ds = _dataset(overrides)
    pool = [r for r in ds.records if fully_labelled(r) and r["split"] in ("train", "validation")]
    test = [r for r in ds.records if fully_labelled(r) and r["split"] == "test"]
    rng = random.Random(1000 + rep)
    labelled = {_key(r) for r in rng.sample(pool, start)}
    first = set(labelled) if tune_on == "start" else None
    cols = focus_columns(ds.labels, focus)
    by_key = {_key(r): r for r in pool}
    curve = []
    while True:
        t = time.perf_counter()
        f1, per_label, clf = _round(cfg, ds, labelled, pool, test, first)
        positives = {l: sum(l in by_key[k]["labels"] for k in labelled) for l in ds.labels}
        curve.append({"labels": len(labelled), "macro_f1": round(f1, 4),
                      "f1": {k: round(v, 4) for k, v in per_label.items()},
                      "positives": positives, "seconds": round(time.perf_counter() - t, 1)})
        print(f"{strategy} rep {rep}: {len(labelled)} labels, macro-F1 {f1:.3f}", flush=True)
        rest = [r for r in pool if _key(r) not in labelled]
        if not rest:
            return {"strategy": strategy, "rep": rep, "curve": curve}
        scores = clf.predict_proba(rest)
        value = value_of(strategy, scores[:, cols], np.asarray(clf.thresholds_)[cols])
        k = step if strategy == "random" else round(step * (1 - mix))
        chosen = select(rest, value, k, strategy, seed=rep * 7919 + len(labelled))
        if k < step:  # the rest of the round at random
            taken = set(chosen)
            left = [i for i in range(len(rest)) if i not in taken]
            chosen += random.Random(rep * 31 + len(labelled)).sample(left, min(step - k, len(left)))
        labelled |= {_key(rest[i]) for i in chosen}


def _needed(curve: list[dict[str, Any]], target: float) -> int | None:
    """The fewest labels at which a curve reaches the target (None: never before all)."""
    return next((p["labels"] for p in curve if p["macro_f1"] >= target), None)


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    import numpy as np
    by: dict[str, list[list[dict[str, Any]]]] = {}
    for r in runs:
        by.setdefault(r["strategy"], []).append(r["curve"])
    total = next(iter(by.values()))[0][-1]["labels"]
    mean = {s: [{"labels": pts[0]["labels"],
                 "macro_f1": round(float(np.mean([p["macro_f1"] for p in pts])), 4),
                 "low": round(float(np.min([p["macro_f1"] for p in pts])), 4),
                 "high": round(float(np.max([p["macro_f1"] for p in pts])), 4)}
                for pts in zip(*curves)] for s, curves in by.items()}
    target = mean.get("random", next(iter(mean.values())))[-1]["macro_f1"]  # all labelled
    needed = {s: _needed(c, target) for s, c in mean.items()}
    # the strict figure hangs on noise of +-0.01 at the top of flat curves: also how many
    # labels each needs to come within 0.005 and 0.01 of it
    near = {str(gap): {s: _needed(c, target - gap) for s, c in mean.items()}
            for gap in (0.005, 0.01)}
    return {"pool": total, "target_macro_f1": target, "mean": mean,
            "labels_needed": needed,
            "share_needed": {s: (round(n / total, 3) if n is not None else None)
                             for s, n in needed.items()},
            "labels_needed_within": near}


def plot(summary: dict[str, Any], path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    for s in STRATEGIES:
        pts = summary["mean"].get(s)
        if not pts:
            continue
        x = [p["labels"] for p in pts]
        ax.plot(x, [p["macro_f1"] for p in pts], marker="o", ms=3.5, color=COLOURS[s],
                label=s, linestyle="--" if s == "random" else "-")
        ax.fill_between(x, [p["low"] for p in pts], [p["high"] for p in pts],
                        color=COLOURS[s], alpha=0.12, linewidth=0)
    target = summary["target_macro_f1"]
    ax.axhline(target, color="#555555", linewidth=0.8, linestyle=":")
    ax.annotate(f"random, all {summary['pool']:,} labels: {target:.3f}", (0.99, target),
                xycoords=("axes fraction", "data"), ha="right", va="bottom", fontsize=9,
                color="#333333")
    ax.axvline(0.6 * summary["pool"], color="#CC79A7", linewidth=0.8, linestyle=":")
    ax.annotate("60% of the labels", (0.6 * summary["pool"], target),
                xytext=(-4, -14), textcoords="offset points", ha="right", fontsize=9,
                color="#CC79A7")
    ax.set_xlabel("labelled sentences (train + validation articles)")
    ax.set_ylabel("macro-F1 on held-out test articles")
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(title="strategy (mean; band: min-max of reps)", fontsize=9, title_fontsize=9,
              loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _title(reps: int, step: int, overrides: list[str], focus: Any) -> str:
    return (f"Active learning on the BBC politics gold ({reps} reps, +{step} per round, "
            "configs/bbc-politics.yaml" + (f" {' '.join(overrides)}" if overrides else "")
            + (f", focus {'+'.join(focus)}" if focus != "all" else "") + ")")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--start", type=int, default=500)
    parser.add_argument("--step", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        help="config override, as for stancekit train --set")
    parser.add_argument("--focus", default="", help="labels the strategies measure "
                        "(suggest --focus), comma-separated; default all")
    parser.add_argument("--tune-on", choices=("labelled", "start"), default="labelled",
                        help="validation sentences that tune thresholds: every labelled one, "
                             "or only those of the random start set")
    parser.add_argument("--mix", type=float, default=0.0,
                        help="share of each round drawn at random besides the strategy's")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "active_learning"))
    parser.add_argument("--from-json", default=None, metavar="FILE",
                        help="summarise and plot the runs of an earlier output again")
    args = parser.parse_args()
    if args.from_json:
        old = json.loads(Path(args.from_json).read_text())
        summary = {**old, **summarise(old["runs"])}
        out = Path(args.out)
        out.with_suffix(".json").write_text(json.dumps(summary, indent=1) + "\n")
        plot(summary, out.with_suffix(".png"), _title(old["reps"], old["step"], old["overrides"],
                                                      old.get("focus", "all")))
        return
    if not GOLD.is_file():
        sys.exit(f"{GOLD} is absent: the benchmark needs ../shared/corpus")
    strategies = args.strategies.split(",")
    t = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        focus = [l for l in args.focus.split(",") if l]
        futures = [pool.submit(run, s, rep, args.start, args.step, args.overrides, focus,
                               args.tune_on, args.mix)
                   for rep in range(args.reps) for s in strategies]
        runs = [f.result() for f in futures]
    summary = summarise(runs)
    summary.update(reps=args.reps, start=args.start, step=args.step, overrides=args.overrides,
                   focus=args.focus.split(",") if args.focus else "all", tune_on=args.tune_on,
                   mix=args.mix,
                   minutes=round((time.perf_counter() - t) / 60, 1),
                   date=time.strftime("%Y-%m-%d"), runs=runs)
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(summary, indent=1) + "\n")
    plot(summary, out.with_suffix(".png"),
         _title(args.reps, args.step, args.overrides, summary["focus"]))
    print(json.dumps({k: summary[k] for k in ("pool", "target_macro_f1", "labels_needed",
                                             "share_needed", "labels_needed_within")}, indent=1))


if __name__ == "__main__":
    main()
