"""Sentence records: their types, the article context a model reads, and output rows.

A record is what the model scores: a plain string, or a mapping with "text" and
optional "context" (`Context`). Records of one article get their context from
`add_context`, the same function for the dataset builder, evaluation and every kind
of prediction, so a sentence is scored the same way wherever it comes from. Every
output row is made by `output_row`: one rounding, one rule for empty text.
"""

from __future__ import annotations

from typing import Any, Mapping, NotRequired, Sequence, TypedDict, cast

import numpy as np

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


def add_context(records: Sequence[SentenceRecord] | Sequence[dict[str, Any]]) -> None:
    """Give each record of one article (in order) its `Context`: neighbours, position
    and whether a quotation is open when it starts."""
    open_quote = False
    for i, r in enumerate(records):
        r = cast(dict[str, Any], r)  # a SentenceRecord or a plain dict: both take "context"
        if r.get("index") == 0:
            open_quote = False
        starts_inside = open_quote
        open_quote, _ = quote_state(r["text"], open_quote)
        r["context"] = Context(index=r.get("index"), in_quote=bool(starts_inside),
                               prev=records[i - 1]["text"] if i > 0 else "",
                               next=records[i + 1]["text"] if i + 1 < len(records) else "")


def replaced(record: SentenceRecord, **changes: Any) -> SentenceRecord:
    """A copy of `record` with some fields changed (the original is left as it is)."""
    return cast(SentenceRecord, {**record, **changes})


def output_row(fields: Mapping[str, Any], text: str, labels: Sequence[str],
               scores: np.ndarray, names: Sequence[str]) -> dict[str, Any]:
    """An output row: `fields` (input fields passed through, context left out), then
    `labels` and `scores` rounded to SCORE_DIGITS. Empty text is scored as nothing:
    no labels and zero scores, wherever it comes from."""
    row = {k: v for k, v in fields.items() if k != "context"}
    empty = not text.strip()
    row["labels"] = [] if empty else list(labels)
    row["scores"] = {n: 0.0 if empty else round(float(s), SCORE_DIGITS)
                     for n, s in zip(names, scores)}
    return row
