"""Writing a built dataset: a `datasets.DatasetDict`, a JSONL export and a dataset card."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from statistics import median
from typing import Any, Mapping

from .atomic import atomic_dir
from .cards import dataset_card
from .dataset import SPLITS, UNLABELLED, SentenceDataset
from .errors import ArtifactError
from .runtime.records import SentenceRecord


def card(ds: SentenceDataset) -> dict[str, Any]:
    """Counts per split and label, co-occurrence, sentences per article, cleaning, fingerprint."""
    labels = list(ds.labels)
    splits = {}
    for s in _splits(ds):
        recs = ds.split(s)
        c = Counter(l for r in recs for l in r["labels"])
        splits[s] = {"articles": len({r["article_id"] for r in recs}), "sentences": len(recs),
                     "labels": {l: c[l] for l in labels},
                     "none": sum(1 for r in recs if not r["labels"]),
                     "sources": dict(Counter(r["source"] for r in recs))}
    co = {a: {b: 0 for b in labels} for a in labels}
    for r in ds.records:
        for a in r["labels"]:
            for b in r["labels"]:
                co[a][b] += 1
    per_article = Counter(r["article_id"] for r in ds.records)
    sizes = sorted(per_article.values())
    stories: dict[str, set[str]] = {}
    for r in ds.records:
        stories.setdefault(r["story"], set()).add(r["article_id"])
    return {"name": ds.name, "sources": list(ds.sources),
            "fingerprint": ds.fingerprint, "labels": labels, "articles": len(per_article),
            "sentences": len(ds.records), "splits": splits, "cooccurrence": co,
            "sentences_per_article": {"min": sizes[0], "median": median(sizes), "max": sizes[-1]},
            "cleaning": ds.cleaning.as_dict(), "reading": ds.reading.as_dict(),
            "same_story": sorted(sorted(ids) for ids in stories.values() if len(ids) > 1),
            "article_splits": {aid: r["split"] for aid, r in
                               {r["article_id"]: r for r in ds.records}.items()},
            "article_folds": {aid: r["fold"] for aid, r in
                              {r["article_id"]: r for r in ds.records}.items()}}


def _splits(ds: SentenceDataset) -> tuple[str, ...]:
    return (UNLABELLED,) if ds.records and ds.records[0]["split"] == UNLABELLED else SPLITS


def to_hf(ds: SentenceDataset) -> Any:
    """The records as a DatasetDict with `labels` a list of ClassLabel."""
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Sequence, Value
    features = Features({
        "article_id": Value("string"), "index": Value("int32"), "paragraph": Value("int32"),
        "start": Value("int64"), "end": Value("int64"), "text": Value("string"),
        "labels": Sequence(ClassLabel(names=list(ds.labels))), "source": Value("string"),
        "story": Value("string"), "split": Value("string"), "fold": Value("int32"),
        "in_quote": Value("bool"), "prev": Value("string"), "next": Value("string"),
        "known": Sequence(Value("string")),
    })
    out = {}
    for s in _splits(ds):
        rows = [_flat(r) for r in ds.split(s)]
        for row in rows:  # in the Arrow table, every label known is spelled out
            row["known"] = list(ds.labels) if row["known"] is None else row["known"]
        cols = {k: [row[k] for row in rows] for k in features}
        out[s] = Dataset.from_dict(cols, features=features)
    return DatasetDict(out)


def _flat(r: SentenceRecord) -> dict[str, Any]:
    ctx: Mapping[str, Any] = r.get("context") or {}
    return {"article_id": r["article_id"], "index": r["index"], "paragraph": r["paragraph"],
            "start": r["start"], "end": r["end"], "text": r["text"], "labels": list(r["labels"]),
            "source": r["source"], "story": r["story"],
            "split": r["split"], "fold": r["fold"],
            "in_quote": bool(ctx.get("in_quote")), "prev": ctx.get("prev", ""),
            "next": ctx.get("next", ""), "known": r.get("known")}


def save_dataset(ds: SentenceDataset, out_dir: Path) -> Path:
    """Write the dataset to `out_dir` (atomically: built beside it, then renamed into place).

    An existing directory with the same fingerprint is kept as it is; a different one
    is an error rather than an overwrite.
    """
    out_dir = Path(out_dir)
    if out_dir.exists():
        existing = out_dir / "card.json"
        if existing.is_file() and json.loads(existing.read_text())["fingerprint"] == ds.fingerprint:
            return out_dir
        raise ArtifactError(f"{out_dir}: exists and holds a different dataset; choose another "
                            "output directory")
    with atomic_dir(out_dir) as tmp:
        to_hf(ds).save_to_disk(str(tmp / "hf"))
        with (tmp / "sentences.jsonl").open("w", encoding="utf-8") as fh:
            for r in ds.records:
                row = _flat(r)
                if row["known"] is None:  # only sentences annotated in part say what is known
                    del row["known"]
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        c = card(ds)
        (tmp / "card.json").write_text(json.dumps(c, indent=2, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
        (tmp / "README.md").write_text(dataset_card(c), encoding="utf-8")
    return out_dir
