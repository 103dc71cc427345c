"""Markdown documents for people: the model card and the dataset card."""

from __future__ import annotations

from typing import Any

import yaml

DEFINITIONS = {
    "accusation": "makes or reports a charge that an identifiable agent did something wrong, "
                  "harmful, dishonest or blameworthy",
    "denial": "makes or reports a rejection of an accusation, claim or allegation",
    "quote": "reproduces someone's own words, marked with quotation marks (or inside a "
             "multi-sentence quotation) and attributed",
    "statistic": "states a quantity as a fact: a number that counts or measures something "
                 "(not dates, ages, ordinals or names)",
}


def front_matter(meta: dict[str, Any]) -> str:
    """A Hugging Face card's YAML metadata block."""
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n\n"


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                        (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")):
        if n < limit:
            return name
    return "10M<n<100M"


def _fmt(x: Any) -> str:
    return f"{x:.3f}" if isinstance(x, float) else str(x)


def metrics_table(m: dict[str, Any], labels: list[str]) -> str:
    """Per-label precision/recall/F1/support as a Markdown table, headline figures after."""
    lines = ["| label | precision | recall | F1 | support |", "| --- | --- | --- | --- | --- |"]
    for label in labels:
        p = m["per_label"][label]
        lines.append(f"| {label} | {_fmt(p['precision'])} | {_fmt(p['recall'])} | {_fmt(p['f1'])} "
                     f"| {p['support']} |")
    lines.append("")
    lines.append(f"macro-F1 {_fmt(m['macro_f1'])}, micro-F1 {_fmt(m['micro_f1'])}, samples-F1 "
                 f"{_fmt(m['samples_f1'])}, subset accuracy {_fmt(m['subset_accuracy'])}, "
                 f"Hamming loss {_fmt(m['hamming_loss'])} ({m['n_sentences']} sentences)")
    return "\n".join(lines)


def model_card(cfg: Any, meta: dict[str, Any], top: dict[str, list[tuple[str, float]]],
               numbers_top: dict[str, list[tuple[str, float]]] | None = None) -> str:
    """The model card: what it labels, on what data, how well, with which thresholds."""
    labels = list(meta["labels"])
    split, m = next(((s, meta["metrics"][s]) for s in ("test", "validation")
                     if s in (meta.get("metrics") or {})), (None, None))
    results = []
    if m is not None:
        results = [{"task": {"type": "text-classification",
                             "name": "Sentence classification of news articles"},
                    "dataset": {"type": meta["dataset"]["fingerprint"][:12],
                                "name": f"{meta['name']} sentences", "split": split},
                    "metrics": [{"type": "f1", "name": "macro-F1", "value": round(m["macro_f1"], 4)}]
                    + [{"type": "f1", "name": f"F1 {l}", "value": round(m["per_label"][l]["f1"], 4)}
                       for l in labels]}]
    header = {"language": ["en"], "library_name": "stancekit", "pipeline_tag": "text-classification",
              "tags": ["text-classification", "multi-label" if not cfg.labels.exclusive else
                       "multi-class", "news", "stancekit"],
              "metrics": ["f1"], "model-index": [{"name": meta["name"], "results": results}]}
    out = [front_matter(header) + f"# Model card: {meta['name']}", "",
           "TF-IDF features (word n-grams with number shapes and quotation marks, plus article "
           f"context) and a linear model ({cfg.model.type}, C={cfg.model.C}), "
           f"{'exclusive' if cfg.labels.exclusive else 'multi-label, one-vs-rest'}.", "",
           "## Labels", ""]
    for label in labels:
        out.append(f"- **{label}** (threshold {meta['thresholds'][label]:.2f}): "
                   f"{DEFINITIONS.get(label, 'defined by the project config')}")
    ds = meta["dataset"]
    out += ["", "## Data", "",
            f"{ds['sentences']} sentences; split by story (an article and its republished copies): " +
            ", ".join(f"{k} {v}" for k, v in ds["splits"].items()) +
            f". Dataset fingerprint `{ds['fingerprint']}`." +
            (" The final model was fitted on train + validation; its thresholds and the "
             "validation metrics come from the model fitted on train alone." if
             cfg.split.refit and ds["splits"].get("validation") else ""), ""]
    for split, m in (meta.get("metrics") or {}).items():
        out += [f"## Metrics ({split})", "", metrics_table(m, labels), ""]
    out += ["## Top n-grams per label", ""]
    for label, feats in top.items():
        out.append(f"- **{label}**: " + ", ".join(f"`{f}`" for f, _ in feats))
    if cfg.features.neighbour_labels and not cfg.labels.exclusive:
        out += ["", "## Neighbouring sentences", "",
                f"The models for {', '.join(cfg.features.neighbour_labels)} also read the word "
                "n-grams of the previous and the next sentence (two more copies of the TF-IDF "
                f"space, scaled by {cfg.features.neighbour_weight:g}): a denial often answers the "
                "claim beside it. Sentences scored without their article get no such help."]
    if numbers_top:
        n = cfg.numbers
        out += ["", "## Number model", "",
                f"Every number is scored from its class, its shape and the {n.window} words on "
                "each side; a sentence takes its best number (a sentence without one scores "
                f"{n.floor:g}), weighted {n.weight:g} against the sentence model's "
                f"{1 - n.weight:g}. Contexts that count most:", ""]
        for label, feats in numbers_top.items():
            out.append(f"- **{label}**: " + ", ".join(f"`{f}`" for f, _ in feats))
    out += ["", "## Known limits", "",
            "- Trained on British political news (2004-2005 BBC for the bbc-politics config); "
            "other domains and eras will score lower.",
            "- Accusation and denial depend on pragmatics a bag of n-grams only approximates; "
            "expect far more errors there than on quote and statistic.",
            "- Sentences scored without their article (`predict TEXT`) lose the context "
            "features (open quotation, neighbours); use `--article` for whole articles.",
            "- `pipeline.joblib` is a pickle: load it only from a trusted source. "
            "`stancekit.load` never reads it."]
    return "\n".join(out) + "\n"


def dataset_card(card: dict[str, Any]) -> str:
    """The dataset card as Markdown, from the JSON card."""
    labels = card["labels"]
    labelled = [s for s in card["splits"] if card["splits"][s]["sentences"]]
    header = {
        "language": ["en"], "pretty_name": f"{card.get('name', 'stancekit')} sentences",
        "task_categories": ["text-classification"],
        "task_ids": ["multi-label-classification"],
        "size_categories": [_size_category(card["sentences"])],
        "tags": ["news", "sentence-classification", "stancekit"],
        "source_datasets": [str(s) for s in card.get("sources", [])] or ["original"],
        "dataset_info": {
            "features": [{"name": "article_id", "dtype": "string"},
                         {"name": "index", "dtype": "int32"}, {"name": "text", "dtype": "string"},
                         {"name": "labels", "sequence": {"class_label": {
                             "names": {i: l for i, l in enumerate(labels)}}}},
                         {"name": "story", "dtype": "string"}, {"name": "split", "dtype": "string"}],
            "splits": [{"name": s, "num_examples": card["splits"][s]["sentences"]} for s in labelled]},
        "configs": [{"config_name": "default",
                     "data_files": [{"split": s, "path": f"hf/{s}/*.arrow"} for s in labelled]}],
    }
    out = [front_matter(header) + "# Dataset card", "", f"Fingerprint `{card['fingerprint']}`; "
           f"{card['articles']} articles, {card['sentences']} sentences.", "",
           "## Counts per split and label", "",
           "| split | articles | sentences | " + " | ".join(labels) + " | none |",
           "| --- " * (4 + len(labels)) + "|"]
    for split, c in card["splits"].items():
        out.append(f"| {split} | {c['articles']} | {c['sentences']} | " +
                   " | ".join(str(c["labels"][l]) for l in labels) + f" | {c['none']} |")
    out += ["", "## Label co-occurrence (sentences carrying both)", "",
            "| | " + " | ".join(labels) + " |", "| --- " * (1 + len(labels)) + "|"]
    for a in labels:
        out.append(f"| {a} | " + " | ".join(str(card["cooccurrence"][a][b]) for b in labels) + " |")
    s = card["sentences_per_article"]
    out += ["", f"Sentences per article: min {s['min']}, median {s['median']}, max {s['max']}.", "",
            "## Cleaning", "", f"Lines dropped: {card['cleaning']['total']} "
            f"({', '.join(f'{k} {v}' for k, v in card['cleaning']['dropped'].items()) or 'none'}).",
            f"Records skipped on read: {card['reading']['total']} {card['reading']['skipped'] or ''}"]
    same = card.get("same_story", [])
    out += ["", "## Republished stories", "",
            f"{len(same)} stories appear under more than one annotated article id (sharing "
            "`split.same_story` or more sentences of 8+ words); each story's articles share "
            "one split and fold. Unlabelled articles left out of the weak labels for "
            f"repeating a gold story: {card['reading'].get('unlabelled_same_story', 0)}."]
    out += [f"- {', '.join(ids)}" for ids in same]
    return "\n".join(out) + "\n"
