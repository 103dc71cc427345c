"""Weak-labelling rules: cheap labels for unlabelled articles, each rule named after the
label it votes for. Accusation and denial read the cue-word classes the features use
(`runtime.features.CUE_CLASS`), so there is one list of cue words.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Mapping, Sequence

from .runtime.features import NUMBER_WORDS, tokenize

_QUOTED = re.compile(r"[\"“]([^\"”]{12,})[\"”]")


def rule_quote(text: str, ctx: Mapping[str, Any]) -> bool:
    """Paired quotation marks around more than two words, or a sentence inside a quotation."""
    if ctx.get("in_quote"):
        return True
    m = _QUOTED.search(text)
    return m is not None and len(m.group(1).split()) > 2


def rule_statistic(text: str, ctx: Mapping[str, Any]) -> bool:
    """A money, percent or plain count token that is not a year, date or ordinal."""
    toks = tokenize(text)
    return any(t in ("<money>", "<pct>") for t in toks) or (
        "<num>" in toks and sum(1 for t in toks if t in NUMBER_WORDS or t[:1].isdigit()) >= 1
        and "<date>" not in toks and "<year>" not in toks)


def rule_accusation(text: str, ctx: Mapping[str, Any]) -> bool:
    """An accusation cue word (accused, blamed, alleged, criticised, misled ...)."""
    return "<acc>" in tokenize(text)


def rule_denial(text: str, ctx: Mapping[str, Any]) -> bool:
    """A denial cue word (denied, rejected, dismissed, nonsense, untrue ...)."""
    return "<den>" in tokenize(text)


RULES: dict[str, Callable[[str, Mapping[str, Any]], bool]] = {
    "quote": rule_quote, "statistic": rule_statistic, "accusation": rule_accusation,
    "denial": rule_denial}


def weak_labels(text: str, ctx: Mapping[str, Any], rules: Iterable[str],
                allowed: Sequence[str]) -> tuple[str, ...]:
    """Labels from the named rules that vote for a label in `allowed`."""
    return tuple(sorted(r for r in rules if r in allowed and RULES[r](text, ctx)))
