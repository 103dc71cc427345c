"""Sentence segmentation for news text, with character offsets into the original.

A single compiled regex finds candidate boundaries (terminal punctuation, any closing
quotes or brackets, whitespace, then an upper-case letter, digit, currency sign or an
opening quote); a short check rejects abbreviations ("Mr.", "Dr.", "U.S.", initials).
Figures like "£1.4bn", "5.5%" and "2,000" never match because a boundary needs
whitespace after the punctuation. Writing it ourselves keeps quotations whole
(pysbd splits them), keeps offsets exact and runs at regex-engine speed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from .clean import CleaningReport, CleaningRules, Line, clean_lines, split_lines

ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "st", "rev", "gen", "col", "lt", "sgt", "capt", "cpl",
    "gov", "sen", "rep", "hon", "jr", "sr", "co", "corp", "inc", "ltd", "plc", "no", "nos",
    "vs", "v", "etc", "approx", "dept", "est", "fig", "jan", "feb", "mar", "apr", "aug",
    "sept", "sep", "oct", "nov", "dec", "mt", "ave", "rd", "cllr", "insp", "supt", "det",
})
# A boundary starts at the first mark of a run (the lookbehind): retried from every
# mark of a long run, each try would rescan the rest of it.
_CANDIDATE = re.compile(r"(?<![.!?…])[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9£$€])")
# No abbreviation or initial is longer than this; a longer word ends a sentence.
_LONGEST_ABBREVIATION = 40
_DOTTED = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]$")


@dataclass(frozen=True)
class Sentence:
    """A sentence of an article: its text equals `document[start:end]`."""

    index: int
    paragraph: int
    start: int
    end: int
    text: str


def _is_abbreviation(text: str, punct_start: int, punct: str, extra: frozenset[str]) -> bool:
    """True when the '.' at `punct_start` closes an abbreviation or an initial."""
    if punct != ".":
        return False
    lo = max(0, punct_start - _LONGEST_ABBREVIATION - 1)  # a bounded look back: linear time
    word_start = max(text.rfind(" ", lo, punct_start), text.rfind("\n", lo, punct_start)) + 1
    if word_start == 0 and lo > 0:
        return False  # no space within reach: a word too long to be an abbreviation
    word = text[word_start:punct_start].lstrip("\"'“‘([")
    if not word:
        return False
    if len(word) == 1 and word.isupper():
        return True
    low = word.lower()
    return low in ABBREVIATIONS or low in extra or bool(_DOTTED.match(word))


def split_sentences(text: str, start: int = 0, end: int | None = None,
                    abbreviations: frozenset[str] = frozenset()) -> list[tuple[int, int]]:
    """Return (start, end) offsets of the sentences of text[start:end], whitespace-trimmed."""
    end = len(text) if end is None else end
    spans = []
    cursor = start
    for m in _CANDIDATE.finditer(text, start, end):
        punct = m.group()
        if _is_abbreviation(text, m.start(), punct.rstrip("\"'”’)]"), abbreviations):
            continue
        spans.append((cursor, m.end()))
        cursor = m.end()
    spans.append((cursor, end))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


def segment_lines(text: str, lines: Iterable[Line],
                  abbreviations: frozenset[str] = frozenset()) -> list[Sentence]:
    """Segment each kept line (a paragraph) of `text`; the first line is the headline."""
    sentences: list[Sentence] = []
    for paragraph, line in enumerate(lines):
        if paragraph == 0:
            spans = [(line.start, line.end)]  # a headline is one sentence, punctuation or not
        else:
            spans = split_sentences(text, line.start, line.end, abbreviations)
        for s, e in spans:
            sentences.append(Sentence(len(sentences), paragraph, s, e, text[s:e]))
    return sentences


def segment_article(text: str, rules: CleaningRules = CleaningRules(),
                    abbreviations: Iterable[str] = ()) -> tuple[list[Sentence], CleaningReport]:
    """Clean a raw article and split it into sentences with offsets into `text`."""
    kept, report = clean_lines(split_lines(text), rules)
    extra = frozenset(a.lower().rstrip(".") for a in abbreviations)
    return segment_lines(text, kept, extra), report
