"""Cleaning: find the lines of a raw article that are article text, keeping their offsets.

Scraped articles carry page furniture ("Close", "What's Hot"), photo credits
("Anadolu Agency via Getty Images"), captions printed twice and embedded tweets.
Each rule is configurable and every dropped line is reported with its reason.
"""

from __future__ import annotations

import re

import regex
from collections import Counter
from dataclasses import dataclass, field

from .errors import PatternError

DEFAULT_FURNITURE = (
    "Close", "What's Hot", "What’s Hot", "Advertisement", "Share", "Share this article",
    "Read more", "Related", "Comments", "Most Read", "Trending", "Image copyright",
    "Media playback is unsupported on your device", "Getty Images", "Suggest a correction",
)
DEFAULT_CREDIT_PATTERNS = (
    r"^.{1,80}\b(?:via|/)\s+(?:Getty Images|Reuters|AFP|AP|PA(?: Images| Wire| Archive)?|Shutterstock|Alamy|EPA)$",
    r"^(?:Photo|Image|Picture)(?: credit)?\s*[:/].{1,80}$",
    r"^(?:Getty Images|Reuters|AFP|PA(?: Images| Wire)?|EPA|Shutterstock)$",
)
_TWEET_SIGNATURE = re.compile(
    r"^\s*[—–-]{1,2}\s*.{1,80}\(@\w{1,30}\)\s+\w+\s+\d{1,2},\s+\d{4}\s*$")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*\s*$")


@dataclass(frozen=True)
class CleaningRules:
    """Which kinds of non-article lines to drop; all on by default."""

    enabled: bool = True
    furniture: tuple[str, ...] = DEFAULT_FURNITURE
    credit_patterns: tuple[str, ...] = DEFAULT_CREDIT_PATTERNS
    captions: bool = True
    tweets: bool = True
    extra_patterns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Line:
    """One non-empty line of the original text: [start, end) offsets, stripped."""

    start: int
    end: int
    text: str


@dataclass
class CleaningReport:
    """How many lines were dropped for which reason, and which ones (for the card)."""

    dropped: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, reason: str, text: str) -> None:
        """Count one dropped line, keeping up to five examples per reason."""
        self.dropped[reason] += 1
        self.examples.setdefault(reason, [])
        if len(self.examples[reason]) < 5:
            self.examples[reason].append(text)

    def merge(self, other: "CleaningReport") -> None:
        """Add another article's report to this one."""
        for reason, n in other.dropped.items():
            self.dropped[reason] += n
            for text in other.examples.get(reason, []):
                if len(self.examples.setdefault(reason, [])) < 5:
                    self.examples[reason].append(text)

    def as_dict(self) -> dict:
        """A JSON-ready view."""
        return {"dropped": dict(sorted(self.dropped.items())), "total": sum(self.dropped.values()),
                "examples": self.examples}


# Configured patterns run on the `regex` engine, which defuses most catastrophic
# backtracking and stops the rest: a pattern that spends this long on one line is an
# error, never a hang.
PATTERN_TIMEOUT_S = 0.5


class Pattern:
    """A configured cleaning pattern, searched with a time limit."""

    def __init__(self, source: str) -> None:
        try:
            self._compiled = regex.compile(source, flags=regex.V0)
        except (regex.error, RecursionError, OverflowError, ValueError) as exc:
            raise PatternError(f"invalid regular expression {source!r}: {exc}") from None
        self.source = source

    def search(self, text: str) -> bool:
        try:
            return self._compiled.search(text, timeout=PATTERN_TIMEOUT_S) is not None
        except TimeoutError:
            raise PatternError(f"regular expression {self.source!r} took over "
                               f"{PATTERN_TIMEOUT_S} s on one line ({text[:40]!r}...): it "
                               "backtracks catastrophically; simplify it") from None


class _Builtin:
    """stancekit's own patterns, joined into one alternation on the `re` engine: they are
    known to be safe, and one search a line is what keeps cleaning fast."""

    def __init__(self, sources: tuple[str, ...]) -> None:
        self._compiled = re.compile("|".join(f"(?:{p})" for p in sources))

    def search(self, text: str) -> bool:
        return self._compiled.search(text) is not None


def compile_patterns(rules: CleaningRules) -> tuple[list[Pattern | _Builtin], list[Pattern]]:
    """The compiled credit and extra patterns; PatternError names a pattern that does not
    compile. Built-in credit patterns share one fast matcher; any other runs alone, with
    a time limit."""
    builtin = tuple(p for p in rules.credit_patterns if p in DEFAULT_CREDIT_PATTERNS)
    credits: list[Pattern | _Builtin] = [_Builtin(builtin)] if builtin else []
    credits += [Pattern(p) for p in rules.credit_patterns if p not in DEFAULT_CREDIT_PATTERNS]
    return credits, [Pattern(p) for p in rules.extra_patterns]


class Cleaner:
    """Cleaning rules compiled once, to clean many articles."""

    def __init__(self, rules: CleaningRules = CleaningRules()) -> None:
        self.rules = rules
        self.furniture = {f.casefold() for f in rules.furniture}
        self.credits, self.extra = compile_patterns(rules)


def split_lines(text: str) -> list[Line]:
    """Return the non-empty lines of `text` with offsets of their stripped content."""
    lines = []
    for m in re.finditer(r"[^\n]+", text):
        raw = m.group()
        stripped = raw.strip()
        if stripped:
            lead = len(raw) - len(raw.lstrip())
            start = m.start() + lead
            lines.append(Line(start, start + len(stripped), stripped))
    return lines


def _is_short_label(text: str) -> bool:
    """A caption or credit: short, and not ending like a sentence."""
    return len(text.split()) <= 10 and not _SENTENCE_END.search(text)


def clean_lines(lines: list[Line], rules: CleaningRules | Cleaner) -> tuple[list[Line], CleaningReport]:
    """Drop credit, caption, tweet and furniture lines; the first line (headline) is always kept."""
    cleaner = rules if isinstance(rules, Cleaner) else Cleaner(rules)
    rules = cleaner.rules
    report = CleaningReport()
    if not rules.enabled or not lines:
        return list(lines), report
    furniture, credits, extra = cleaner.furniture, cleaner.credits, cleaner.extra
    reasons: dict[int, str] = {}
    for i, line in enumerate(lines):
        if i == 0:
            continue
        if line.text.casefold() in furniture:
            reasons[i] = "furniture"
        elif credits and any(p.search(line.text) for p in credits):
            reasons[i] = "credit"
        elif extra and any(p.search(line.text) for p in extra):
            reasons[i] = "pattern"
        elif rules.tweets and _TWEET_SIGNATURE.match(line.text):
            reasons[i] = "tweet"
            # The embedded tweet's body stands just above its signature line.
            if i - 1 > 0 and i - 1 not in reasons and not lines[i - 1].text.startswith(("\"", "“")):
                reasons[i - 1] = "tweet"
    if rules.captions:
        for i in range(1, len(lines) - 1):
            if lines[i].text == lines[i + 1].text and _is_short_label(lines[i].text):
                reasons.setdefault(i, "caption")
                reasons.setdefault(i + 1, "caption")
                # A caption is often followed by its credit ("Parliament", "PA").
                j = i + 2
                if j < len(lines) and j not in reasons and _is_short_label(lines[j].text) \
                        and len(lines[j].text.split()) <= 5:
                    reasons[j] = "credit"
    kept = []
    for i, line in enumerate(lines):
        if i in reasons:
            report.add(reasons[i], line.text)
        else:
            kept.append(line)
    return kept, report
