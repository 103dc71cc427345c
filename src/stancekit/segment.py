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

from .clean import Cleaner, CleaningReport, CleaningRules, Line, clean_lines, split_lines

ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "st", "rev", "gen", "col", "lt", "sgt", "capt", "cpl",
    "gov", "sen", "rep", "hon", "jr", "sr", "co", "corp", "inc", "ltd", "plc", "no", "nos",
    "vs", "v", "etc", "approx", "dept", "est", "fig", "jan", "feb", "mar", "apr", "aug",
    "sept", "sep", "oct", "nov", "dec", "mt", "ave", "rd", "cllr", "insp", "supt", "det",
})
# A boundary starts at the first mark of a run (the lookbehind, placed after the first
# character so the engine can still skip ahead to candidate marks): retried from every
# mark of a long run, each try would rescan the rest of it.
# It also consumes the whitespace after the boundary, so the sentences it delimits need
# no trimming (lines are stripped, and the lookahead leaves no sentence empty).
_CANDIDATE = re.compile(r"(?P<marks>[.!?…](?<![.!?…][.!?…])[.!?…]*)[\"'”’)\]]*(?P<space>\s+)"
                        r"(?=[\"'“‘(\[]?[A-Z0-9£$€])")
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
    return low in ABBREVIATIONS or low in extra or ("." in word and bool(_DOTTED.match(word)))


def split_sentences(text: str, start: int = 0, end: int | None = None,
                    abbreviations: frozenset[str] = frozenset()) -> list[tuple[int, int]]:
    """Return (start, end) offsets of the sentences of text[start:end], whitespace-trimmed."""
    end = len(text) if end is None else end
    while start < end and text[start].isspace():  # callers pass stripped lines; others may not
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    spans = []
    cursor = start
    for m in _CANDIDATE.finditer(text, start, end):
        if m.group("marks") == "." and _is_abbreviation(text, m.start(), ".", abbreviations):
            continue
        spans.append((cursor, m.start("space")))
        cursor = m.end()
    if end > cursor:
        spans.append((cursor, end))
    return spans


def sentence_spans(text: str, lines: Iterable[Line],
                   abbreviations: frozenset[str] = frozenset()) -> list[tuple[int, int, int]]:
    """(start, end, paragraph) of every sentence of the kept lines (paragraphs) of `text`;
    the first line is the headline, one sentence whatever its punctuation."""
    out: list[tuple[int, int, int]] = []
    for paragraph, line in enumerate(lines):
        if paragraph == 0:
            out.append((line.start, line.end, 0))
        else:
            out.extend((s, e, paragraph)
                       for s, e in split_sentences(text, line.start, line.end, abbreviations))
    return out


def segment_lines(text: str, lines: Iterable[Line],
                  abbreviations: frozenset[str] = frozenset()) -> list[Sentence]:
    """Segment each kept line (a paragraph) of `text`; the first line is the headline."""
    return [Sentence(i, p, s, e, text[s:e])
            for i, (s, e, p) in enumerate(sentence_spans(text, lines, abbreviations))]


class Segmenter:
    """Cleaning rules and abbreviations prepared once, to segment many articles the same way."""

    def __init__(self, rules: CleaningRules = CleaningRules(), abbreviations: Iterable[str] = ()
                 ) -> None:
        self.cleaner = Cleaner(rules)
        self.abbreviations = frozenset(a.lower().rstrip(".") for a in abbreviations)

    def __call__(self, text: str) -> tuple[list[Sentence], CleaningReport]:
        """Clean a raw article and split it into sentences with offsets into `text`."""
        kept, report = clean_lines(split_lines(text), self.cleaner)
        return segment_lines(text, kept, self.abbreviations), report

    def spans(self, text: str) -> list[tuple[int, int, int]]:
        """(start, end, paragraph) of each sentence: what `__call__` finds, without the
        objects (the prediction path's fast lane)."""
        kept, _ = clean_lines(split_lines(text), self.cleaner)
        return sentence_spans(text, kept, self.abbreviations)


def segment_article(text: str, rules: CleaningRules | Cleaner = CleaningRules(),
                    abbreviations: Iterable[str] = ()) -> tuple[list[Sentence], CleaningReport]:
    """Clean a raw article and split it into sentences with offsets into `text` (pass a
    `Cleaner` to clean many articles with rules compiled once)."""
    cleaner = rules if isinstance(rules, Cleaner) else Cleaner(rules)
    return Segmenter(cleaner.rules, abbreviations)(text)
