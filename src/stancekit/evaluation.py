"""Evaluation: metrics at the stored thresholds and at 0.5, bootstrap intervals over
stories (an article with its republished copies), paired comparison against another
model, and reports (JSON, Markdown, PNG, errors)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .annotations import check_labels
from .atomic import write_file
from .dataset import label_matrix
from .errors import ConfigError, DataError, LabelError, OutputError
from .metrics import average_precision, headline_values, pr_curve, summary
from .read import read_jsonl_rows
from .runtime.decisions import decide
from .runtime.model import Model
from .runtime.records import SCORE_DIGITS, with_context

SCHEMA_VERSION = 1


@dataclass
class EvalData:
    """Gold sentences to score: records (with context when known) and their label matrix."""

    records: list[dict[str, Any]]
    Y: np.ndarray
    source: str
    split: str | None = None   # the split read from a built dataset (None for a JSONL file)


def read_eval_data(path: Path, labels: Sequence[str], split: str = "test") -> EvalData:
    """A sentence JSONL (ANNOTATION.md format) or a built dataset directory (one split).

    Rows go through `with_context`, the path every prediction takes: rows with
    `article_id` and `index` are read with their article's context, so `evaluate` and
    `predict --input` score the same file identically."""
    path = Path(path)
    if path.is_dir():
        jsonl = path / "sentences.jsonl"
        if not jsonl.is_file():
            raise DataError("not a built dataset (no sentences.jsonl)", path)
        rows = [(n, r) for n, r in read_jsonl_rows(jsonl) if r.get("split") == split]
        if not rows:
            raise DataError(f"split {split!r} is empty", jsonl)
    else:
        rows = list(read_jsonl_rows(path))
    checked: list[dict[str, Any]] = []
    for n, row in rows:
        for name in ("text", "labels"):
            if name not in row:
                raise DataError("missing field", path, n, name)
        if not isinstance(row["text"], str):
            raise DataError("must be a string", path, n, "text")
        check_labels(row["labels"], labels, path, n)
        aid = row.get("article_id")
        checked.append({"article_id": None if aid is None else str(aid), "index": row.get("index"),
                        "text": row["text"], "labels": row["labels"], "_line": n,
                        "story": str(row.get("story", aid if aid is not None else f"line{n}")),
                        "_partial": row.get("known") is not None or row.get("source") not in
                        (None, "gold")})
    if not checked or all(c["_partial"] for c in checked):
        raise DataError("no sentences to evaluate (none with every label annotated)", path)
    records = []
    for r in with_context(checked, "text", path):
        if r.pop("_partial"):  # context for its neighbours, but not all its labels are known
            continue
        r["line"] = r.pop("_line")
        r["article_id"] = r["article_id"] if r["article_id"] is not None else f"line{r['line']}"
        r["index"] = r["index"] if r["index"] is not None else 0
        records.append(r)
    return EvalData(records, label_matrix(records, labels), str(path),
                    split if path.is_dir() else None)


def bootstrap(Y: np.ndarray, P: np.ndarray, groups: Sequence[str], labels: Sequence[str],
              n: int = 1000, seed: int = 0) -> dict[str, dict[str, float]]:
    """95% percentile intervals of the headline figures, resampling whole groups (stories:
    an article with its republished copies, as a built dataset records them)."""
    ids = np.unique(np.asarray(groups), return_inverse=True)[1]
    members = [np.flatnonzero(ids == g) for g in range(ids.max() + 1)]
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {}
    for _ in range(n):
        pick = np.concatenate([members[g] for g in rng.integers(0, len(members), len(members))])
        for k, v in headline_values(Y[pick], P[pick], labels).items():
            samples.setdefault(k, []).append(v)
    point = headline_values(Y, P, labels)
    return {k: {"value": point[k], "low": float(np.percentile(v, 2.5)),
                "high": float(np.percentile(v, 97.5))} for k, v in samples.items()}


def paired_bootstrap(Y: np.ndarray, P: np.ndarray, Q: np.ndarray, groups: Sequence[str],
                     labels: Sequence[str], n: int = 1000, seed: int = 0) -> dict[str, dict]:
    """Per label (and macro), the F1 difference P - Q with a 95% story-bootstrap interval."""
    ids = np.unique(np.asarray(groups), return_inverse=True)[1]
    members = [np.flatnonzero(ids == g) for g in range(ids.max() + 1)]
    rng = np.random.default_rng(seed)
    keys = ["macro_f1"] + [f"f1/{l}" for l in labels]
    diffs: dict[str, list[float]] = {k: [] for k in keys}
    for _ in range(n):
        pick = np.concatenate([members[g] for g in rng.integers(0, len(members), len(members))])
        a, b = headline_values(Y[pick], P[pick], labels), headline_values(Y[pick], Q[pick], labels)
        for k in keys:
            diffs[k].append(a[k] - b[k])
    a, b = headline_values(Y, P, labels), headline_values(Y, Q, labels)
    out = {}
    for k in keys:
        lo, hi = float(np.percentile(diffs[k], 2.5)), float(np.percentile(diffs[k], 97.5))
        verdict = "better" if lo > 0 else "worse" if hi < 0 else "no significant difference"
        out[k] = {"difference": a[k] - b[k], "low": lo, "high": hi, "verdict": verdict}
    return out


def evaluate(model: Model, data: EvalData, against: Model | None = None, n_boot: int = 1000,
             seed: int = 0) -> dict[str, Any]:
    """Every figure of the evaluation report, as a JSON-ready dict."""
    if n_boot < 1:
        raise ConfigError(f"the bootstrap needs at least 1 sample, got {n_boot}")
    labels = model.labels
    scores = model.predict_scores(data.records)
    P = decide(scores, model.thresholds, model.exclusive)
    P05 = decide(scores, np.full(len(labels), 0.5), model.exclusive)
    groups = [r["story"] for r in data.records]
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "model": {"name": model.metadata.get("name"), "version": model.metadata.get("version"),
                  "path": model.metadata.get("path")},
        "data": {"source": data.source, "name": Path(data.source).name, "split": data.split,
                 "sentences": len(data.records),
                 "articles": len({r["article_id"] for r in data.records}),
                 "stories": len(set(groups))},
        "thresholds": dict(zip(labels, map(float, model.thresholds))),
        "at_thresholds": summary(data.Y, P, labels, model.exclusive),
        "at_0.5": summary(data.Y, P05, labels, model.exclusive),
        "intervals": bootstrap(data.Y, P, groups, labels, n_boot, seed),
        "pr_curves": {l: pr_curve(scores[:, j], data.Y[:, j]) for j, l in enumerate(labels)},
    }
    out["average_precision"] = {l: average_precision(c) for l, c in out["pr_curves"].items()}
    if against is not None:
        if list(against.labels) != list(labels):
            raise LabelError(f"--against model labels {against.labels} differ from {labels}")
        Q = decide(against.predict_scores(data.records), against.thresholds, against.exclusive)
        out["against"] = {"model": against.metadata.get("path"),
                          "name": f"{against.metadata.get('name')} {against.metadata.get('version') or ''}".strip(),
                          "at_thresholds": summary(data.Y, Q, labels, against.exclusive),
                          "difference": paired_bootstrap(data.Y, P, Q, groups, labels, n_boot, seed)}
    out["_scores"], out["_pred"] = scores, P
    return out


def errors_rows(model: Model, data: EvalData, scores: np.ndarray, P: np.ndarray) -> list[dict]:
    """Every misclassified sentence with gold, predicted, scores and the n-grams behind it."""
    rows = []
    for i, rec in enumerate(data.records):
        if np.array_equal(P[i], data.Y[i]):
            continue
        pred = [l for l, on in zip(model.labels, P[i]) if on]
        expl = model.explain(rec, 5)
        rows.append({"article_id": rec["article_id"], "index": rec["index"], "text": rec["text"],
                     "gold": list(rec["labels"]), "predicted": pred,
                     "scores": {l: round(float(s), SCORE_DIGITS) for l, s in zip(model.labels, scores[i])},
                     "top_features": {l: expl[l] for l in set(pred) | set(rec["labels"])}})
    return rows


def report_markdown(result: dict[str, Any], labels: Sequence[str], errors: int,
                    plots: Sequence[str]) -> str:
    """report.md: the headline figures, per-label tables with intervals, the comparison."""
    from .cards import metrics_table
    public = {k: v for k, v in result.items() if not k.startswith("_")}
    m, iv, d = result["at_thresholds"], result["intervals"], public["data"]
    split = f", {d['split']} split" if d.get("split") else ""
    lines = [f"# Evaluation of {public['model']['name']} {public['model']['version'] or ''}", "",
             f"**macro-F1 {m['macro_f1']:.3f}** (95% CI {iv['macro_f1']['low']:.3f}-"
             f"{iv['macro_f1']['high']:.3f}, bootstrap over {d['stories']} stories), "
             f"micro-F1 {m['micro_f1']:.3f}, on {d['sentences']} sentences of "
             f"`{d['source']}`{split}.", "", "## At the model's thresholds", "",
             metrics_table(m, list(labels)), "",
             "| label | F1 95% CI | threshold | average precision |", "| --- | --- | --- | --- |"]
    for l in labels:
        ci = iv[f"f1/{l}"]
        lines.append(f"| {l} | {ci['low']:.3f}-{ci['high']:.3f} | {public['thresholds'][l]:.2f} | "
                     f"{public['average_precision'][l]:.3f} |")
    lines += ["", "## At 0.5", "", metrics_table(result["at_0.5"], list(labels)), ""]
    if "against" in public:
        lines += [f"## Against {public['against']['name']} (`{public['against']['model']}`)", "",
                  "| figure | difference | 95% CI | verdict |", "| --- | --- | --- | --- |"]
        for k, diff in public["against"]["difference"].items():
            lines.append(f"| {k} | {diff['difference']:+.3f} | {diff['low']:+.3f} to "
                         f"{diff['high']:+.3f} | {diff['verdict']} |")
        lines.append("")
    lines += [f"{errors} misclassified sentences are in `errors.jsonl`; plots: "
              + ", ".join(f"`{p}`" for p in plots) + "; all of it in `report.html`."]
    return "\n".join(lines) + "\n"


def write_reports(result: dict[str, Any], model: Model, data: EvalData, out_dir: Path) -> list[Path]:
    """metrics.json, errors.jsonl, report.md, the PNG figures and report.html (the report
    with the figures inside, one self-contained file), each written atomically."""
    from .plots import figures
    from .views import report_page
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out_dir}: cannot create ({exc.strerror})") from None
    public = {k: v for k, v in result.items() if not k.startswith("_")}
    written = [write_file(out_dir / "metrics.json", json.dumps(public, indent=2, sort_keys=True))]
    errs = errors_rows(model, data, result["_scores"], result["_pred"])
    written.append(write_file(out_dir / "errors.jsonl",
                              "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in errs)))
    pngs = figures(result, model.labels, list(map(float, model.thresholds)), data.Y,
                   result["_scores"])
    markdown = report_markdown(result, model.labels, len(errs), list(pngs))
    written.append(write_file(out_dir / "report.md", markdown))
    written.extend(write_file(out_dir / name, png) for name, png in pngs.items())
    written.append(write_file(out_dir / "report.html",
                              report_page(public, model.labels, pngs, errs[:50], len(errs))))
    return written
