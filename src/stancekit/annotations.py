"""Annotations in: sentence-level gold JSONL, and the exports of Label Studio, doccano and
Prodigy, read completely or refused by name.

Every export becomes `Unit`s: an annotated text with, per annotator, either character
spans (projected onto the text's sentences by one rule: a span labels a sentence when
their overlap covers at least `min_overlap` of the shorter of the two) or labels of the
whole text (choices, text classification). A unit that carries an `article_id` and an
`index` is one sentence of that article (what `stancekit suggest` writes): the article's
other sentences are unknown, not negative. `known` says which labels an annotation
speaks about: a Prodigy textcat "reject" of INSULT says nothing of other labels.

A file in none of the shapes a reader knows, or a record whose annotations cannot be
read, is a DataError naming the format expected and what was found. What is left out on
purpose (cancelled or empty Label Studio tasks, ignored Prodigy answers) is counted in the
`ReadReport`, which the dataset card shows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterable, Sequence

from .errors import DataError, LabelError
from .inputs import json_array_items, jsonl_objects, read_text
from .segment import Sentence

Span = tuple[int, int, str]


@dataclass(frozen=True)
class GoldSentence:
    """One line of a sentence-level gold file."""

    article_id: str
    index: int
    text: str
    labels: tuple[str, ...]
    path: str
    line: int
    known: tuple[str, ...] | None = None   # None: every label is known


@dataclass(frozen=True)
class Unit:
    """One annotated text of an annotation tool's export."""

    article_id: str
    text: str
    path: str
    where: int
    index: int | None = None                              # its sentence position in article_id
    spans: tuple[tuple[Span, ...], ...] | None = None     # per annotator
    labels: tuple[frozenset[str], ...] | None = None      # per annotator, for the whole text
    known: frozenset[str] | None = None                   # the labels spoken about (None: all)


@dataclass
class ImportCounts:
    """What readers leave out on purpose, by reason (shown in the dataset card)."""

    left_out: Counter = field(default_factory=Counter)


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
    """Read sentence-level gold JSONL (see ANNOTATION.md), grouped by article in file order.

    An article's sentences come in index order; indices may skip sentences (an article
    annotated only in part), which needs the raw article for the others."""
    out: dict[str, list[GoldSentence]] = {}
    for n, row in jsonl_objects(path):
        for name, kind in (("article_id", str), ("index", int), ("text", str), ("labels", list)):
            if name not in row:
                raise DataError("missing field", path, n, name)
            if not isinstance(row[name], kind) or isinstance(row[name], bool):
                raise DataError(f"must be {kind.__name__}, got {row[name]!r}", path, n, name)
        if not row["text"].strip():
            raise DataError("empty sentence text", path, n, "text")
        labels = check_labels(row["labels"], allowed, path, n)
        known = check_labels(row["known"], allowed, path, n, "known") \
            if row.get("known") is not None else None
        sents = out.setdefault(row["article_id"], [])
        if row["index"] < 0 or (sents and row["index"] <= sents[-1].index):
            raise DataError(f"index {row['index']} of article {row['article_id']!r} is not after "
                            f"{sents[-1].index if sents else 'the start'}: an article's sentences "
                            "come in order", path, n, "index")
        sents.append(GoldSentence(row["article_id"], row["index"], row["text"], labels,
                                  str(path), n, known))
    return out


# -- shared checks ------------------------------------------------------------------------

def _checked_span(start: Any, end: Any, label: str, span_text: Any, text: str, path: Path,
                  where: int) -> Span:
    """Check a span's offsets (and text, when given) against the task text."""
    if not (isinstance(start, int) and isinstance(end, int) and not isinstance(start, bool)
            and 0 <= start < end <= len(text)):
        raise DataError(f"span offsets {start}-{end} outside the text (length {len(text)})",
                        path, where, "start/end")
    if span_text is not None and text[start:end] != span_text:
        raise DataError(f"span text {span_text!r} does not match text[{start}:{end}] = "
                        f"{text[start:end]!r}", path, where, "text")
    return start, end, label


def _label(name: Any, allowed: Sequence[str], path: Path, where: int, field: str) -> str:
    if not isinstance(name, str):
        raise DataError(f"a label must be a name, got {name!r}", path, where, field)
    return check_labels([name], allowed, path, where, field)[0]


def _text(obj: dict[str, Any], field: str, fmt: str, path: Path, where: int) -> str:
    text = obj.get(field)
    if not isinstance(text, str):
        raise DataError(f"{fmt}: expected the text in field '{field}' (set text_field for "
                        f"another), found {type(text).__name__ if field in obj else 'no such field'}",
                        path, where, field)
    return text


def _position(value: Any, path: Path, where: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DataError(f"must be a sentence number, got {value!r}", path, where, "index")
    return value


# -- Label Studio -------------------------------------------------------------------------

class _TextContent(HTMLParser):
    """The text content of an HTML document, as the DOM's textContent (what Label Studio's
    HyperText global offsets count in)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(markup: str) -> str:
    parser = _TextContent()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)


_LS_SPAN_TYPES = {"labels": "labels", "hypertextlabels": "hypertextlabels"}
_LS_IGNORED_TYPES = {"relation", "textarea", "rating", "number", "datetime", "taxonomy_meta"}


def _ls_result(res: Any, allowed: Sequence[str], text: str, path: Path, where: int,
               spans: list[Span], labels: set[str]) -> None:
    if not isinstance(res, dict) or not isinstance(res.get("value", {}), dict):
        raise DataError(f"Label Studio: each result must be an object with a 'value', got "
                        f"{str(res)[:80]}", path, where, "annotations.result")
    kind = res.get("type")
    value = res.get("value") or {}
    if kind == "choices" or (kind is None and "choices" in value):
        names = value.get("choices")
        if not isinstance(names, list):
            raise DataError("Label Studio: 'choices' must be a list", path, where, "value.choices")
        labels.update(_label(n, allowed, path, where, "value.choices") for n in names)
    elif kind == "labels" or (kind is None and "labels" in value):
        for name in value.get("labels") or []:
            spans.append(_checked_span(value.get("start"), value.get("end"),
                                       _label(name, allowed, path, where, "value.labels"),
                                       value.get("text"), text, path, where))
    elif kind == "hypertextlabels" or (kind is None and "hypertextlabels" in value):
        offsets = value.get("globalOffsets")
        if not isinstance(offsets, dict):
            raise DataError("Label Studio HyperText: result has no globalOffsets (export from "
                            "Label Studio 1.4 or later)", path, where, "value.globalOffsets")
        for name in value.get("hypertextlabels") or value.get("htmllabels") or []:
            spans.append(_checked_span(offsets.get("start"), offsets.get("end"),
                                       _label(name, allowed, path, where, "value.hypertextlabels"),
                                       value.get("text"), text, path, where))
    elif kind in _LS_IGNORED_TYPES:
        return
    else:
        raise DataError(f"Label Studio: result type {kind!r} is not one stancekit reads (labels, "
                        "hypertextlabels, choices)", path, where, "annotations.result.type")


def read_label_studio(path: Path, allowed: Sequence[str], text_field: str = "text",
                      counts: ImportCounts | None = None) -> list[Unit]:
    """A Label Studio JSON export (full, or JSON-MIN), as units.

    Full export: tasks with `data` and `annotations`; cancelled annotations and tasks
    without one are left out and counted. JSON-MIN: flat records holding the data fields
    and, under each control's name, its spans or choices. `data.article_id` (or `id`)
    names the article, `data.index` a sentence of it."""
    counts = counts if counts is not None else ImportCounts()
    text = read_text(path)
    items = list(json_array_items(text, path)) if text.lstrip().startswith("[") else None
    if items is None:
        raise DataError("expected a Label Studio JSON export (a list of tasks, from Export > "
                        "JSON or JSON-MIN); found " + ("a JSON object" if text.lstrip()[:1] == "{"
                                                       else "something else"), path, 1)
    out: list[Unit] = []
    minimal: dict[str, int] = {}  # JSON-MIN: one record per annotation; same id, same task
    for where, task in items:
        if not isinstance(task, dict):
            raise DataError(f"Label Studio: each task must be an object, got {type(task).__name__}",
                            path, where)
        if "data" in task or "annotations" in task:
            unit = _ls_full_task(task, allowed, text_field, path, where, counts)
        else:
            unit = _ls_min_task(task, allowed, text_field, path, where)
            key = f"{task['id']}" if "id" in task else f"{unit.article_id}\x00{unit.index}"
            at = minimal.get(key)
            if at is not None:
                prev = out[at]
                if prev.text != unit.text or (prev.spans is None) != (unit.spans is None):
                    raise DataError(f"Label Studio JSON-MIN: id {unit.article_id!r} appears with a "
                                    "different text or kind of annotation", path, where)
                out[at] = Unit(prev.article_id, prev.text, prev.path, prev.where, prev.index,
                               spans=None if prev.spans is None else prev.spans + (unit.spans or ()),
                               labels=None if prev.labels is None else prev.labels + (unit.labels or ()))
                continue
            minimal[key] = len(out)
        if unit is not None:
            out.append(unit)
    return out


def _ls_ids(data: dict[str, Any], task: dict[str, Any], where: int, path: Path
            ) -> tuple[str, int | None]:
    aid = data.get("article_id", task.get("id", where))
    return str(aid), _position(data.get("index"), path, where)


def _ls_full_task(task: dict[str, Any], allowed: Sequence[str], text_field: str, path: Path,
                  where: int, counts: ImportCounts) -> Unit | None:
    data = task.get("data")
    if not isinstance(data, dict):
        raise DataError("Label Studio: task has no 'data' object", path, where, "data")
    hyper = any(isinstance(r, dict) and r.get("type") == "hypertextlabels"
                for a in task.get("annotations") or [] if isinstance(a, dict)
                for r in a.get("result") or [])
    raw = _text(data, text_field, "Label Studio", path, where)
    text = html_text(raw) if hyper else raw
    anns = task.get("annotations")
    if anns is None:
        anns = []
    if not isinstance(anns, list):
        raise DataError("Label Studio: 'annotations' must be a list", path, where, "annotations")
    per_spans: list[tuple[Span, ...]] = []
    per_labels: list[frozenset[str]] = []
    for ann in anns:
        if not isinstance(ann, dict):
            raise DataError("Label Studio: each annotation must be an object", path, where,
                            "annotations")
        if ann.get("was_cancelled"):
            counts.left_out["Label Studio: cancelled annotation (skipped task)"] += 1
            continue
        results = ann.get("result")
        if not isinstance(results, list):
            raise DataError("Label Studio: an annotation's 'result' must be a list", path, where,
                            "annotations.result")
        spans: list[Span] = []
        labels: set[str] = set()
        for res in results:
            _ls_result(res, allowed, text, path, where, spans, labels)
        per_spans.append(tuple(spans))
        per_labels.append(frozenset(labels))
    if not per_spans:
        counts.left_out["Label Studio: task without annotation"] += 1
        return None
    aid, index = _ls_ids(data, task, where, path)
    has_spans = any(per_spans)
    has_labels = any(per_labels)
    if has_spans and has_labels:
        raise DataError("Label Studio: a task with both spans and choices; stancekit reads one "
                        "kind per project", path, where, "annotations.result")
    if has_spans or (index is None and not has_labels and len(text) > 0 and "\n" in text):
        return Unit(aid, text, str(path), where, index, spans=tuple(per_spans))
    return Unit(aid, text, str(path), where, index, labels=tuple(per_labels))


def _ls_min_task(task: dict[str, Any], allowed: Sequence[str], text_field: str, path: Path,
                 where: int) -> Unit:
    if text_field not in task:
        raise DataError(f"expected a Label Studio export: tasks with 'data' and 'annotations', "
                        f"or JSON-MIN records with the text in '{text_field}'; found keys "
                        f"{sorted(task)[:8]}", path, where)
    text = _text(task, text_field, "Label Studio JSON-MIN", path, where)
    spans: list[Span] = []
    labels: set[str] = set()
    for key, value in task.items():
        if key == text_field:
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) and "start" in v
                                                     for v in value):
            for v in value:
                for name in v.get("labels") or v.get("hypertextlabels") or []:
                    spans.append(_checked_span(v.get("start"), v.get("end"),
                                               _label(name, allowed, path, where, key),
                                               v.get("text"), text, path, where))
        elif isinstance(value, dict) and isinstance(value.get("choices"), list):
            labels.update(_label(n, allowed, path, where, key) for n in value["choices"])
        elif isinstance(value, str) and value in allowed:
            labels.add(value)
    aid = str(task.get("article_id", task.get("id", where)))
    index = _position(task.get("index"), path, where)
    if spans:
        return Unit(aid, text, str(path), where, index, spans=(tuple(spans),))
    return Unit(aid, text, str(path), where, index, labels=(frozenset(labels),))


# -- doccano ------------------------------------------------------------------------------

def read_doccano(path: Path, allowed: Sequence[str], text_field: str = "text",
                 counts: ImportCounts | None = None) -> list[Unit]:
    """A doccano JSONL export, current or 1.x, as units.

    Sequence labelling: `label: [[start, end, name], ...]`, `entities: [{start_offset,
    end_offset, label}]`, or 1.x `annotations: [{start_offset, end_offset, label_name,
    user}]`. Text classification: `label: [name, ...]`. Lines sharing an id, and 1.x
    annotations of different users, are several annotators."""
    by_id: dict[str, Unit] = {}
    order: list[str] = []
    for n, row in jsonl_objects(path):
        text = _text(row, text_field, "doccano", path, n)
        per_user: dict[Any, list[Span]] = {}
        labels: set[str] | None = None
        if "annotations" in row and not ("label" in row or "entities" in row):
            for ann in row["annotations"] or []:
                if not isinstance(ann, dict):
                    raise DataError("doccano 1.x: each annotation must be an object", path, n,
                                    "annotations")
                if "label_name" not in ann:
                    raise DataError("doccano 1.x export without label names (labels are ids "
                                    f"like {ann.get('label')!r}): export again as 'JSONL' with "
                                    "label names, or from doccano 1.2+", path, n, "annotations")
                name = _label(ann["label_name"], allowed, path, n, "label_name")
                if "start_offset" in ann:
                    per_user.setdefault(ann.get("user"), []).append(_checked_span(
                        ann.get("start_offset"), ann.get("end_offset"), name, None, text, path, n))
                else:
                    labels = (labels or set()) | {name}
        else:
            raw = row.get("label", row.get("labels", row.get("entities")))
            if raw is None:
                raise DataError("expected a doccano export: 'label' (spans or names), "
                                f"'entities' or 'annotations'; found keys {sorted(row)[:8]}",
                                path, n)
            if not isinstance(raw, list):
                raise DataError(f"doccano: must be a list, got {type(raw).__name__}", path, n, "label")
            for item in raw:
                if isinstance(item, str):
                    labels = (labels or set()) | {_label(item, allowed, path, n, "label")}
                elif isinstance(item, dict):
                    per_user.setdefault(None, []).append(_checked_span(
                        item.get("start_offset"), item.get("end_offset"),
                        _label(item.get("label"), allowed, path, n, "label"), None, text, path, n))
                elif isinstance(item, list) and len(item) == 3:
                    per_user.setdefault(None, []).append(_checked_span(
                        item[0], item[1], _label(item[2], allowed, path, n, "label"), None, text,
                        path, n))
                else:
                    raise DataError(f"doccano: cannot read label item {item!r} (expected "
                                    "[start, end, name], an entity object or a label name)",
                                    path, n, "label")
        if per_user and labels:
            raise DataError("doccano: a line with both spans and text labels", path, n, "label")
        aid = str(row.get("article_id", row.get("id", n)))
        index = _position(row.get("index"), path, n)
        spans = tuple(tuple(s) for s in per_user.values()) if per_user else None
        lab = (frozenset(labels or ()),) if spans is None else None
        key = aid if index is None else f"{aid}\x00{index}"  # a sentence, or a whole text
        prev = by_id.get(key)
        if prev is None:
            by_id[key] = Unit(aid, text, str(path), n, index, spans=spans if spans else
                              (None if lab else ((),)), labels=lab)
            order.append(key)
            continue
        if prev.text != text:
            raise DataError(f"id {aid!r} appears with a different text", path, n, "text")
        by_id[key] = Unit(aid, text, prev.path, prev.where, prev.index,
                          spans=(prev.spans or ()) + (spans or ()) if prev.spans is not None else None,
                          labels=(prev.labels or ()) + (lab or ()) if prev.labels is not None else None)
    return [by_id[a] for a in order]


# -- Prodigy ------------------------------------------------------------------------------

def read_prodigy(path: Path, allowed: Sequence[str], text_field: str = "text",
                 counts: ImportCounts | None = None) -> list[Unit]:
    """A Prodigy JSONL export (`prodigy db-out`), as units.

    `spans` ([{start, end, label}]) are span annotations; `label` with `answer` is a
    binary text classification: accept says the text has the label, reject that it has
    not (and nothing of other labels); `options` with `accept` is a choice. Ignored
    answers, and rejected span annotations, are left out and counted."""
    counts = counts if counts is not None else ImportCounts()
    units: dict[str, Unit] = {}
    order: list[str] = []
    for n, row in jsonl_objects(path):
        text = _text(row, text_field, "Prodigy", path, n)
        answer = row.get("answer", "accept")
        if answer not in ("accept", "reject", "ignore"):
            raise DataError(f"Prodigy: 'answer' must be accept, reject or ignore, got {answer!r}",
                            path, n, "answer")
        if answer == "ignore":
            counts.left_out["Prodigy: ignored answer"] += 1
            continue
        meta: dict[str, Any] = row["meta"] if isinstance(row.get("meta"), dict) else {}
        aid = str(meta.get("article_id", row.get("article_id", row.get("_input_hash", n))))
        index = _position(meta.get("index", row.get("index")), path, n)
        if "spans" in row and "label" not in row and "options" not in row:
            if answer == "reject":
                counts.left_out["Prodigy: rejected span annotation"] += 1
                continue
            if not isinstance(row["spans"], list):
                raise DataError("Prodigy: 'spans' must be a list", path, n, "spans")
            spans = []
            for sp in row["spans"]:
                if not isinstance(sp, dict):
                    raise DataError(f"Prodigy: cannot read span {sp!r}", path, n, "spans")
                spans.append(_checked_span(sp.get("start"), sp.get("end"),
                                           _label(sp.get("label"), allowed, path, n, "spans.label"),
                                           None, text, path, n))
            unit = Unit(aid, text, str(path), n, index, spans=(tuple(spans),))
        elif "options" in row:
            options = row["options"]
            if not isinstance(options, list) or not all(isinstance(o, dict) for o in options):
                raise DataError("Prodigy: 'options' must be a list of {id, text}", path, n, "options")
            ids = [_label(o.get("id"), allowed, path, n, "options.id") for o in options]
            accepted = row.get("accept") or []
            if not isinstance(accepted, list):
                raise DataError("Prodigy: 'accept' must be a list of option ids", path, n, "accept")
            chosen = {_label(a, allowed, path, n, "accept") for a in accepted}
            if answer == "reject":  # the chosen options are wrong; the others unknown
                unit = Unit(aid, text, str(path), n, index, labels=(frozenset(),),
                            known=frozenset(chosen))
            else:
                unit = Unit(aid, text, str(path), n, index, labels=(frozenset(chosen),),
                            known=frozenset(ids))
        elif "label" in row:
            name = _label(row["label"], allowed, path, n, "label")
            unit = Unit(aid, text, str(path), n, index,
                        labels=(frozenset({name}) if answer == "accept" else frozenset(),),
                        known=frozenset({name}))
        else:
            raise DataError("expected a Prodigy export: 'spans', 'label' with 'answer', or "
                            f"'options' with 'accept'; found keys {sorted(row)[:8]}", path, n)
        key = aid if index is None else f"{aid}\x00{index}"
        prev = units.get(key)
        if prev is None:
            units[key] = unit
            order.append(key)
        elif prev.labels is not None and unit.labels is not None and prev.text == text:
            # several binary answers about one text: their labels and knowledge add up
            units[key] = Unit(aid, text, prev.path, prev.where, index,
                              labels=(prev.labels[0] | unit.labels[0],),
                              known=None if prev.known is None or unit.known is None
                              else prev.known | unit.known)
        elif prev.text == text and prev.spans is not None and unit.spans is not None:
            units[key] = Unit(aid, text, prev.path, prev.where, index,
                              spans=prev.spans + unit.spans)
        else:
            raise DataError(f"id {aid!r} appears with a different text or kind of annotation",
                            path, n, "text")
    return [units[k] for k in order]


# -- resolving annotators -----------------------------------------------------------------

def resolve_labels(per_annotator: Sequence[Iterable[str]], policy: str) -> tuple[str, ...]:
    """One label set from several annotators' (`union`, `majority` or `first`)."""
    sets = [set(s) for s in per_annotator]
    if not sets:
        return ()
    if policy == "first":
        return tuple(sorted(sets[0]))
    votes = Counter(l for s in sets for l in s)
    need = 1 if policy == "union" else len(sets) // 2 + 1
    return tuple(sorted(l for l, c in votes.items() if c >= need))


def project_spans(spans: Sequence[Sequence[Span]], text: str, sentences: Sequence[Sentence],
                  min_overlap: float, policy: str, path: str, where: int
                  ) -> list[tuple[str, ...]]:
    """Labels per sentence from each annotator's spans, resolved by `policy`."""
    per_annotator: list[list[set[str]]] = []
    for one in spans:
        sets: list[set[str]] = [set() for _ in sentences]
        for start, end, label in one:
            hit = False
            for k, s in enumerate(sentences):
                overlap = min(end, s.end) - max(start, s.start)
                if overlap > 0 and overlap >= min_overlap * min(end - start, s.end - s.start):
                    sets[k].add(label)
                    hit = True
            if not hit:
                raise DataError(f"span {start}-{end} ({label}) {text[start:end][:40]!r} matches "
                                "no sentence (it may lie in a line dropped by cleaning)",
                                path, where, "spans")
        per_annotator.append(sets)
    return [resolve_labels([a[k] for a in per_annotator], policy) for k in range(len(sentences))]

