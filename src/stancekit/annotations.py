"""Annotations: sentence-level gold JSONL, Label Studio and doccano span exports, read
into labels, and span annotations projected onto sentences.

Span annotations are projected onto segmented sentences by one documented rule: a
span labels a sentence when their overlap covers at least `min_overlap` of the
shorter of the two. So a short span inside a sentence labels it, and a span across
several sentences labels each sentence it mostly covers.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from .errors import DataError, LabelError
from .read import read_jsonl_rows
from .segment import Sentence


@dataclass(frozen=True)
class GoldSentence:
    """One line of a sentence-level gold file."""

    article_id: str
    index: int
    text: str
    labels: tuple[str, ...]
    path: str
    line: int


@dataclass(frozen=True)
class SpanTask:
    """One annotated article from a span export: its text and each annotator's spans."""

    article_id: str
    text: str
    annotations: tuple[tuple[tuple[int, int, str], ...], ...]
    path: str
    where: int


def check_labels(labels: Any, allowed: Sequence[str], path: Any, line: int | None,
                 field: str = "labels") -> tuple[str, ...]:
    """Validate a label list against the configured label set; return it sorted."""
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise DataError(f"must be a list of label names, got {labels!r}", path, line, field)
    for label in labels:
        if label not in allowed:
            raise LabelError(f"unknown label {label!r} (the label set is {', '.join(allowed)})",
                             path, line, field)
    return tuple(sorted(set(labels)))


def read_gold(path: Path, allowed: Sequence[str]) -> dict[str, list[GoldSentence]]:
    """Read sentence-level gold JSONL (see ANNOTATION.md), grouped by article in file order."""
    out: dict[str, list[GoldSentence]] = {}
    for n, row in read_jsonl_rows(path):
        for name, kind in (("article_id", str), ("index", int), ("text", str), ("labels", list)):
            if name not in row:
                raise DataError("missing field", path, n, name)
            if not isinstance(row[name], kind) or isinstance(row[name], bool):
                raise DataError(f"must be {kind.__name__}, got {row[name]!r}", path, n, name)
        if not row["text"].strip():
            raise DataError("empty sentence text", path, n, "text")
        labels = check_labels(row["labels"], allowed, path, n)
        sents = out.setdefault(row["article_id"], [])
        expected = sents[-1].index + 1 if sents else 0
        if row["index"] != expected:
            raise DataError(f"expected index {expected} for article {row['article_id']!r}, "
                            f"got {row['index']}", path, n, "index")
        sents.append(GoldSentence(row["article_id"], row["index"], row["text"], labels, str(path), n))
    return out


def _ls_spans(ann: dict, allowed: Sequence[str], text: str, path: Path, where: int
              ) -> tuple[tuple[int, int, str], ...]:
    spans = []
    for res in ann.get("result") or []:
        value = res.get("value") or {}
        if "start" not in value or "end" not in value:
            continue  # not a span result (e.g. a choice or a relation)
        start, end = value["start"], value["end"]
        for label in value.get("labels") or value.get("hypertextlabels") or []:
            check_labels([label], allowed, path, where, "labels")
            spans.append(_checked_span(start, end, label, value.get("text"), text, path, where))
    return tuple(spans)


def _checked_span(start: Any, end: Any, label: str, span_text: Any, text: str, path: Path,
                  where: int) -> tuple[int, int, str]:
    """Check a span's offsets (and text, when given) against the task text."""
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
        raise DataError(f"span offsets {start}-{end} outside the text (length {len(text)})",
                        path, where, "start/end")
    if span_text is not None and text[start:end] != span_text:
        raise DataError(f"span text {span_text!r} does not match text[{start}:{end}] = "
                        f"{text[start:end]!r}", path, where, "text")
    return start, end, label


def _json_array_with_lines(path: Path) -> list[tuple[int, Any]]:
    """The elements of a JSON array file, each with the line it starts on."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise DataError("file not found", path) from None
    except UnicodeDecodeError:
        raise DataError("not valid UTF-8", path) from None
    decoder = json.JSONDecoder()
    ws = re.compile(r"[\s,]*")  # matches anywhere (possibly empty): never None
    pos = _skip(ws, text, 0)
    if text[pos:pos + 1] != "[":
        raise DataError("a Label Studio export must be a JSON list of tasks", path, 1)
    pos = _skip(ws, text, pos + 1)
    out = []
    while pos < len(text) and text[pos] != "]":
        line = text.count("\n", 0, pos) + 1
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise DataError(f"invalid JSON ({exc.msg})", path, exc.lineno) from None
        out.append((line, item))
        pos = _skip(ws, text, pos)
    return out


def _skip(pattern: re.Pattern[str], text: str, pos: int) -> int:
    """The position after `pattern`'s match at `pos` (a pattern that may match empty)."""
    m = pattern.match(text, pos)
    return m.end() if m else pos


def read_label_studio(path: Path, allowed: Sequence[str]) -> list[SpanTask]:
    """Read a Label Studio JSON export; cancelled annotations are dropped.

    Errors name the line on which the offending task starts.
    """
    out = []
    for i, task in _json_array_with_lines(path):
        data = task.get("data") if isinstance(task, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            raise DataError("task has no data.text", path, i, "data.text")
        text = data["text"]
        aid = str(data.get("article_id") or data.get("id") or task.get("id") or i)
        anns = tuple(_ls_spans(a, allowed, text, path, i) for a in task.get("annotations") or []
                     if not a.get("was_cancelled"))
        out.append(SpanTask(aid, text, anns, str(path), i))
    return out


def read_doccano(path: Path, allowed: Sequence[str]) -> list[SpanTask]:
    """Read a doccano sequence-labelling JSONL export ("label": [[start, end, name], ...]).

    Lines sharing an id are one task annotated by several people.
    """
    by_id: dict[str, SpanTask] = {}
    for n, row in read_jsonl_rows(path):
        if not isinstance(row.get("text"), str):
            raise DataError("missing field", path, n, "text")
        text = row["text"]
        raw = row.get("label", row.get("labels", row.get("entities", [])))
        spans = []
        for item in raw or []:
            if isinstance(item, dict):
                start, end, label = item.get("start_offset"), item.get("end_offset"), item.get("label")
            elif isinstance(item, list) and len(item) == 3:
                start, end, label = item
            else:
                raise DataError(f"cannot read span {item!r}", path, n, "label")
            name = check_labels([label], allowed, path, n, "label")[0]
            spans.append(_checked_span(start, end, name, None, text, path, n))
        aid = str(row.get("article_id") or row.get("id") or n)
        prev = by_id.get(aid)
        if prev is not None and prev.text != text:
            raise DataError(f"id {aid!r} appears with a different text", path, n, "text")
        anns = (prev.annotations if prev else ()) + (tuple(spans),)
        by_id[aid] = SpanTask(aid, text, anns, str(path), prev.where if prev else n)
    return list(by_id.values())


def project_spans(task: SpanTask, sentences: Sequence[Sentence], min_overlap: float,
                  policy: str) -> list[tuple[str, ...]]:
    """Labels per sentence from the task's spans, resolving several annotators by `policy`."""
    per_annotator: list[list[set[str]]] = []
    for spans in task.annotations:
        sets: list[set[str]] = [set() for _ in sentences]
        for start, end, label in spans:
            hit = False
            for k, s in enumerate(sentences):
                overlap = min(end, s.end) - max(start, s.start)
                if overlap > 0 and overlap >= min_overlap * min(end - start, s.end - s.start):
                    sets[k].add(label)
                    hit = True
            if not hit:
                raise DataError(f"span {start}-{end} ({label}) {task.text[start:end][:40]!r} matches "
                                "no sentence (it may lie in a line dropped by cleaning)",
                                task.path, task.where, "spans")
        per_annotator.append(sets)
    out: list[tuple[str, ...]] = []
    for k in range(len(sentences)):
        if not per_annotator:
            out.append(())
            continue
        if policy == "first":
            chosen = per_annotator[0][k]
        else:
            counts = Counter(l for a in per_annotator for l in a[k])
            need = 1 if policy == "union" else len(per_annotator) // 2 + 1
            chosen = {l for l, c in counts.items() if c >= need}
        out.append(tuple(sorted(chosen)))
    return out
