"""Feature extraction: a sentence (and its article context) to a list of feature strings.

Pure Python and NumPy, no scikit-learn: the same analyzer feeds scikit-learn's
TfidfVectorizer at training time and the fast NumPy scorer at prediction time, so
both paths see identical features. Tokens keep what carries the labels: quotation
marks, number shapes ("£1.4bn" -> "£0.0bn" and <money>), percent and currency signs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

_TOKEN = re.compile(
    r"[£$€]?\d[\d,.]*\d(?:%|bn|m|k|st|nd|rd|th|s)?|[£$€]?\d(?:%|bn|m|k|st|nd|rd|th|s)?"
    r"|\w+(?:['’]\w+)*|[\"“”‘’'%£$€?!:;()-]")
_DIGIT = re.compile(r"\d")
_YEAR = re.compile(r"(?:19|20)\d\ds?$")
_ORDINAL = re.compile(r"\d+(?:st|nd|rd|th)$")
MONTHS = frozenset(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split())
NUMBER_WORDS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
    "hundred thousand million billion trillion half third thirds quarter quarters dozen "
    "hundreds thousands millions billions".split())
QUOTE_MARKS = frozenset("\"“”‘’'")
_QUANTITIES = frozenset(("<money>", "<pct>", "<num>"))
_OPEN_DOUBLE = "“"
_CLOSE_DOUBLE = "”"


def number_class(token: str, prev: str, nxt: str) -> str:
    """Classify a numeric token: <year>, <date>, <ord>, <money>, <pct> or <num>."""
    core = token.lstrip("£$€")
    if token[0] in "£$€":
        return "<money>"
    if core.endswith("%") or nxt in ("per", "percent"):
        return "<pct>"
    if _YEAR.match(core):
        return "<year>"
    if _ORDINAL.match(core):
        return "<ord>"
    if prev in MONTHS or nxt in MONTHS:
        return "<date>"
    return "<num>"


def tokenize(text: str, number_shapes: bool = True) -> list[str]:
    """Lower-cased word tokens; digits masked to 0 and numbers tagged with their class."""
    low = _TOKEN.findall(text.lower())
    if not number_shapes or (not _DIGIT.search(text) and NUMBER_WORDS.isdisjoint(low)):
        return low  # the common case: no number to shape
    out = []
    n = len(low)
    for i, tok in enumerate(low):
        c = tok[0]
        if c.isdigit() or (c in "£$€" and len(tok) > 1):
            out.append(_DIGIT.sub("0", tok))
            out.append(number_class(tok, low[i - 1] if i else "", low[i + 1] if i + 1 < n else ""))
        elif tok in NUMBER_WORDS:
            out.append(tok)
            out.append("<num>")
        else:
            out.append(tok)
    return out


def quote_state(text: str, open_before: bool) -> tuple[bool, int]:
    """Whether a double quotation is open after `text`, and how many marks it has.

    Straight quotes toggle; curly ones open or close. A sentence that starts with a
    quote mark while a quotation is already open continues it (BBC style repeats the
    opening mark at each new paragraph of a long quotation).
    """
    state = open_before
    marks = 0
    stripped = text.lstrip()
    skip_first = open_before and stripped[:1] in ("\"", _OPEN_DOUBLE)
    for i, ch in enumerate(stripped):
        if ch == "\"" or ch == _OPEN_DOUBLE or ch == _CLOSE_DOUBLE:
            marks += 1
            if i == 0 and skip_first:
                continue
            if ch == "\"":
                state = not state
            else:
                state = ch == _OPEN_DOUBLE
    return state, marks


@dataclass(frozen=True)
class Analyzer:
    """Turn a sentence record into feature strings; picklable, so sklearn can hold it.

    A record is a plain string or a mapping with "text" and optional "context"
    (see `stancekit.dataset.add_context`): in_quote, index, prev, next.
    """

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (0, 0)
    number_shapes: bool = True
    context: bool = True
    neighbours: bool = True

    def __call__(self, record: Any) -> list[str]:
        if isinstance(record, str):
            text, ctx = record, {}
        else:
            text, ctx = record["text"], record.get("context") or {}
        toks = tokenize(text, self.number_shapes)
        feats = _word_ngrams(toks, self.word_ngrams)
        if self.char_ngrams[1] > 0:
            feats.extend(_char_ngrams(text.lower(), self.char_ngrams))
        if self.context:
            feats.extend(_context_features(text, toks, ctx))
        if self.neighbours and ctx:
            for side in ("prev", "next"):
                other = ctx.get(side)
                if other:
                    feats.extend(f"{side}:{t}" for t in dict.fromkeys(tokenize(other, self.number_shapes)))
        return feats


def _word_ngrams(toks: list[str], ngram_range: tuple[int, int]) -> list[str]:
    lo, hi = ngram_range
    feats = list(toks) if lo == 1 else []
    if lo <= 2 <= hi:
        feats.extend(map(" ".join, zip(toks, toks[1:])))
    for n in range(max(lo, 3), hi + 1):
        feats.extend(" ".join(toks[i:i + n]) for i in range(len(toks) - n + 1))
    return feats


def _char_ngrams(text: str, ngram_range: tuple[int, int]) -> list[str]:
    text = " " + " ".join(text.split()) + " "
    lo, hi = ngram_range
    return [f"#{text[i:i + n]}" for n in range(lo, hi + 1) for i in range(len(text) - n + 1)]


def _context_features(text: str, toks: list[str], ctx: Mapping[str, Any]) -> list[str]:
    """Features of the sentence's place in its article and its quotation marks."""
    feats = []
    marks = sum(map(toks.count, QUOTE_MARKS.intersection(toks)))
    if marks:
        feats.append("ctx:has_quote_marks")
        if marks >= 2:
            feats.append("ctx:quote_pair")
    if ctx.get("in_quote"):
        feats.append("ctx:in_quote")
        if not marks:
            feats.append("ctx:in_quote_unmarked")
    if ctx.get("index") == 0:
        feats.append("ctx:headline")
    elif ctx.get("index") == 1:
        feats.append("ctx:lead")
    if not _QUANTITIES.isdisjoint(toks):
        feats.append("ctx:quantity")
    return feats
