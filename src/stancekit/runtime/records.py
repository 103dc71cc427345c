"""Sentence records: their types, the article context a model reads, and output rows.

A record is what the model scores: a plain string, or a mapping with "text" and
optional "context" (`Context`). Records of one article get their context from
`add_context`, the same function for the dataset builder, evaluation and every kind
of prediction, so a sentence is scored the same way wherever it comes from. Every
output row is made by `output_rows`: one rounding, one rule for empty text.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping, NotRequired, Sequence, TypedDict, cast

import numpy as np

from ..errors import DataError
from .features import quote_state

SCORE_DIGITS = 6  # scores in every output row, rounded once, here


class Context(TypedDict):
    """A sentence's place in its article, as the features read it."""

    index: int | None     # 0 is the headline
    in_quote: bool        # starts inside a quotation opened earlier
    prev: str             # the previous sentence ("" for the first)
    next: str             # the next sentence ("" for the last)


class SentenceRecord(TypedDict):
    """One labelled sentence of a built dataset (`stancekit.dataset`)."""

    article_id: str
    index: int
    text: str
    labels: list[str]
    source: str                 # "gold" or "rules"
    paragraph: int | None
    start: int | None           # offsets into the raw article, when it is known
    end: int | None
    context: NotRequired[Context]
    story: NotRequired[str]     # the first article id of its story (republished copies)
    split: NotRequired[str]     # train, validation or test
    fold: NotRequired[int]      # cross-validation fold; -1 for rule-labelled articles
    line: NotRequired[int]      # line of the file it was read from (evaluation data)
    known: NotRequired[list[str] | None]  # labels annotated (None: all); [] for context only


def fully_labelled(record: Mapping[str, Any]) -> bool:
    """A gold sentence whose every label is known: what metrics, thresholds and folds use.
    (Sentences of an article annotated in part train only the labels they know.)"""
    return record["source"] == "gold" and record.get("known") is None


def add_context(records: Sequence[SentenceRecord] | Sequence[dict[str, Any]]) -> None:
    """Give each record of one article (in order) its `Context`: neighbours, position
    and whether a quotation is open when it starts. A record with a "row" (see
    `with_context`) passes its context on to that row."""
    texts = [r["text"] for r in records]
    for r, ctx in zip(records, contexts(texts, [r.get("index") for r in records])):
        r = cast(dict[str, Any], r)  # a SentenceRecord or a plain dict: both take "context"
        r["context"] = ctx
        if "row" in r:
            r["row"]["context"] = ctx


def contexts(texts: Sequence[str], indices: Sequence[int | None]) -> list[Context]:
    """The `Context` of each sentence of one article, given in order with its index."""
    prev, nxt = [""] + list(texts[:-1]), list(texts[1:]) + [""]
    out: list[Context] = []
    open_quote = False
    for text, index, p, n in zip(texts, indices, prev, nxt):
        if index == 0:
            open_quote = False
        starts_inside = open_quote
        open_quote, _ = quote_state(text, open_quote)
        out.append({"index": index, "in_quote": starts_inside, "prev": p, "next": n})
    return out


def with_context(rows: Iterable[dict[str, Any]], text_field: str = "text",
                 name: object = None, first_line: int = 1) -> Iterator[dict[str, Any]]:
    """The one path from input rows to the records the model scores, streamed.

    Rows that carry `article_id` and `index` (as `stancekit build` writes them) are read
    as sentences of their article: consecutive rows of one article get that article's
    context (`add_context`: position, open quotation, neighbours), as in training. Other
    rows are scored alone. Each row comes back in order with "context" set (or removed);
    an article's rows must be together and in index order, or a DataError names the line
    (`name` the source, `first_line` the line of its first row; a row's "_line" wins).
    """
    group: list[dict[str, Any]] = []
    finished: set[Any] = set()

    def flush() -> Iterator[dict[str, Any]]:
        if group:
            finished.add(group[0]["article_id"])
            add_context([{"text": r[text_field], "index": r["index"], "row": r} for r in group])
            yield from group
            group.clear()

    for n, row in enumerate(rows, first_line):
        aid, index = row.get("article_id"), row.get("index")
        if aid is None or index is None:
            yield from flush()
            row.pop("context", None)
            yield row
            continue
        if isinstance(index, str) and index.isdigit():
            row["index"] = index = int(index)  # CSV cells are strings
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise DataError(f"must be a sentence number (0 is the headline), got {index!r}",
                            name, row.get("_line", n), "index")
        if group and (aid != group[0]["article_id"] or index <= group[-1]["index"]):
            yield from flush()
        if aid in finished and not group:
            raise DataError(f"the rows of article {aid!r} are not together (or not in index "
                            "order): sort them by article, then index", name,
                            row.get("_line", n), "article_id")
        group.append(row)
    yield from flush()


def replaced(record: SentenceRecord, **changes: Any) -> SentenceRecord:
    """A copy of `record` with some fields changed (the original is left as it is)."""
    return cast(SentenceRecord, {**record, **changes})


def output_rows(fields: Sequence[dict[str, Any]], texts: Sequence[str],
                labels: Sequence[Sequence[str]], scores: np.ndarray, names: Sequence[str],
                owned: bool = False) -> list[dict[str, Any]]:
    """Output rows: each row's `fields` (input fields passed through, context left out),
    then its `labels` and `scores` rounded to SCORE_DIGITS (once, for the whole batch).
    Empty text is scored as nothing: no labels and zero scores, wherever it comes from.
    With `owned`, the `fields` dicts are the caller's to give away and become the rows."""
    rounded = np.round(np.asarray(scores, dtype=np.float64), SCORE_DIGITS).tolist()
    zeros = dict.fromkeys(names, 0.0)
    out = []
    for row, text, labs, s in zip(fields, texts, labels, rounded):
        o = row if owned else dict(row)
        o.pop("context", None)
        if text and not text.isspace():
            o["labels"] = list(labs)
            o["scores"] = dict(zip(names, s))
        else:
            o["labels"] = []
            o["scores"] = dict(zeros)
        out.append(o)
    return out
