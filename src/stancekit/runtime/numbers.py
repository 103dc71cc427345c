"""Number mentions and the NumPy scorer of the per-number model (its training half is
`stancekit.number_model`).

Whether a sentence states a statistic turns on the words right beside one of its
numbers ("jailed for two years", "the two men", "aged 45", "50m passengers"). The
sentence model's bag of n-grams sees those words but not which number they sit next
to. Here every number is scored from its own window (its class and shape, each
neighbour by position, three neighbour pairs); a sentence takes its best number's
score, or `floor` when it has none, and `StanceClassifier` blends that with the
sentence model's score for the labels in `numbers.labels`.

Training and the one-sentence path work on token strings (`mention_features`);
the batch path (`NumberScorer.scores`) computes the same features as integer keys on
the fast scorer's id arrays.
"""

from __future__ import annotations

from itertools import repeat
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..errors import ArtifactError
from .features import CUE_CLASSES, NUMBER_CLASSES, text_of, tokenize
from .vectorize import IntMap

if TYPE_CHECKING:
    from .artifact import NumberWeights

# Sentence edges; a token never holds a space, so these can be no text's token.
START, END = "<sentence start>", "<sentence end>"
PAIRS = ((-2, -1), (-1, 1), (1, 2))

Feature = tuple[int, str, str]  # (slot, token, second token of a pair or "")


def blend(sentence: Any, number: Any, weight: float) -> Any:
    """The decision for a number model's label: `weight` of the number model's score,
    the rest the sentence model's (arrays or plain floats alike)."""
    return (1 - weight) * sentence + weight * number


def offsets(window: int) -> list[int]:
    """The neighbour positions scored one by one: -window..-1, 1..window."""
    return [*range(-window, 0), *range(1, window + 1)]


def slot_names(window: int) -> list[str]:
    """Readable name of each feature slot (for the model card)."""
    return ["class", "figure", *(f"{d:+d}" for d in offsets(window)),
            *(f"{a:+d},{b:+d}" for a, b in PAIRS)]


def plain_tokens(tokens: Sequence[str]) -> tuple[list[str], list[str | None]]:
    """The tokens without class tokens, and for each the class of the number it is.

    `features.tokenize` wraps each number as `<cls> shape <cls>` and follows cue words
    with their class: number classes pair up (even ones open), a number is the token
    right after an opening class token, and cue classes are dropped.
    """
    words: list[str] = []
    classes: list[str | None] = []
    rank, pending = 0, None
    for tok in tokens:
        if tok in NUMBER_CLASSES:
            pending = tok if rank % 2 == 0 else None
            rank += 1
        elif tok in CUE_CLASSES:
            pending = None
        else:
            words.append(tok)
            classes.append(pending)
            pending = None
    return words, classes


def mention_features(text: str, window: int) -> list[list[Feature]]:
    """The features of each number in a sentence, in order; [] when it has none."""
    return token_mentions(tokenize(text), window)


def token_mentions(tokens: list[str], window: int) -> list[list[Feature]]:
    """`mention_features` from the sentence's tokens (`features.tokenize`, number shapes on)."""
    if NUMBER_CLASSES.isdisjoint(tokens):  # most sentences: one set check, no Python loop
        return []
    words, classes = plain_tokens(tokens)
    pad = max(window, 2)  # sentence edges as tokens, so neighbours need no bounds checks
    padded = [START] * pad + words + [END] * pad
    singles = [(2 + k, d + pad) for k, d in enumerate(offsets(window))]
    pairs = [(2 + len(singles) + k, a + pad, b + pad) for k, (a, b) in enumerate(PAIRS)]
    out = []
    for p, cls in enumerate(classes):
        if cls is None:
            continue
        feats: list[Feature] = [(0, cls, ""), (1, words[p], "")]
        feats += [(slot, padded[p + d], "") for slot, d in singles]
        feats += [(slot, padded[p + a], padded[p + b]) for slot, a, b in pairs]
        out.append(feats)
    return out


class NumberScorer:
    """The exported number model, scoring a batch of token-id arrays with NumPy alone."""

    def __init__(self, weights: NumberWeights, tokens: list[str], size: int,
                 is_number: np.ndarray, is_cue: np.ndarray) -> None:
        """`tokens` is the scorer's token list (the table's token positions are ids in
        it), `size` the word index's id count; `is_number`/`is_cue` flag the ids of
        number-class and cue-class tokens."""
        self.labels = list(weights.labels)
        self.window = int(weights.window)
        self.floor = float(weights.floor)
        self.coef = np.asarray(weights.coef, dtype=np.float64)
        self.intercept = np.asarray(weights.intercept, dtype=np.float64)
        self.start, self.end, self.width = size, size + 1, size + 2
        self.is_number, self.is_cue = is_number, is_cue
        table = np.asarray(weights.table, dtype=np.int64).reshape(-1, 3)
        if self.coef.shape != (len(table), len(self.labels)):
            raise ArtifactError("number model: weight shapes do not match its feature table")
        self.map = IntMap(self._keys(table[:, 0], self._ids(table[:, 1]),
                                     self._ids(table[:, 2])), np.arange(len(table)))
        self._table, self._tokens = table, tokens
        self._lookup: dict[Feature, int] | None = None
        self._weights: list[dict[Feature, float]] | None = None

    def _features(self) -> dict[Feature, int]:
        """Feature -> row of the table; built on first use, so batch callers never pay for it."""
        if self._lookup is None:
            name = {-1: "", -2: START, -3: END}

            def tok(code: int) -> str:
                return name[code] if code < 0 else self._tokens[code]
            self._lookup = {(int(s), tok(a), tok(b)): i
                            for i, (s, a, b) in enumerate(self._table.tolist())}
        return self._lookup

    def scores_of_tokens(self, token_lists: Sequence[list[str]]) -> np.ndarray:
        """Each sentence's score from its tokens (`features.tokenize`, number shapes on), for
        the texts the batch path does not take; the callers have the tokens already.

        Plain Python sums over per-label feature -> weight dicts: a sentence has a
        handful of numbers, and NumPy calls on arrays this small cost more than the
        arithmetic."""
        if self._weights is None:
            lookup = self._features()
            self._weights = [dict(zip(lookup, column[list(lookup.values())].tolist()))
                             for column in self.coef.T]
        out = np.full((len(token_lists), len(self.labels)), self.floor)
        for i, tokens in enumerate(token_lists):
            mentions = token_mentions(tokens, self.window)
            if mentions:
                out[i] = [max(self.floor, *(b + sum(map(w.get, feats, repeat(0.0)))
                                            for feats in mentions))
                          for w, b in zip(self._weights, self.intercept.tolist())]
        return out

    def best_number_features(self, record: Any) -> list[tuple[str, np.ndarray]]:
        """The features of each label's best number in one sentence, named as on the
        model card, with their weights (zero for the labels whose best number it is not)."""
        lookup, names = self._features(), slot_names(self.window)
        mentions = [[(f, lookup[f]) for f in feats if f in lookup]
                    for feats in mention_features(text_of(record), self.window)]
        if not mentions:
            return []
        scores = np.array([self.coef[[i for _, i in m]].sum(axis=0) if m else
                           np.zeros(len(self.labels)) for m in mentions])
        best = scores.argmax(axis=0)
        out = []
        for m_idx in sorted(set(best.tolist())):
            mask = best == m_idx
            for (slot, a, b), i in mentions[m_idx]:
                out.append((f"number {names[slot]}={' '.join(filter(None, (a, b)))}",
                            np.where(mask, self.coef[i], 0.0)))
        return out

    def _ids(self, codes: np.ndarray) -> np.ndarray:
        """Table codes to token ids (-2 start, -3 end; -1 stays "none")."""
        return np.where(codes == -2, self.start, np.where(codes == -3, self.end, codes))

    def _keys(self, slot: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (np.asarray(slot, dtype=np.int64) * self.width + a) * (self.width + 1) + (b + 1)

    def scores(self, tid: np.ndarray, row: np.ndarray, n: int) -> np.ndarray:
        """(n, labels) best-number scores of the rows of `tid` (ids with class tokens,
        rows non-decreasing): `NumberModel.decision_function` on the same sentences."""
        out = np.full((n, len(self.labels)), self.floor)
        is_num, is_cue = self.is_number[tid], self.is_cue[tid]
        pos = np.flatnonzero(is_num)
        if not len(pos):
            return out
        r = row[pos]
        rank = np.arange(len(pos)) - np.searchsorted(r, r, side="left")
        opener = pos[rank % 2 == 0]
        opener = opener[opener + 1 < len(tid)]
        nxt = opener + 1
        ok = ~is_num[nxt] & ~is_cue[nxt] & (row[nxt] == row[opener])
        opener, nxt = opener[ok], nxt[ok]
        if not len(nxt):
            return out
        plain = ~is_num & ~is_cue
        where = np.cumsum(plain) - 1
        words, wrow = tid[plain], row[plain]
        at = where[nxt]
        lo = np.searchsorted(wrow, wrow[at], side="left")
        hi = np.searchsorted(wrow, wrow[at], side="right")
        last = len(words) - 1

        def word(d: int) -> np.ndarray:
            j = at + d
            return np.where(j < lo, self.start,
                            np.where(j >= hi, self.end, words[np.clip(j, 0, last)]))

        none = np.full(len(at), -1, dtype=np.int64)
        slots = [(tid[opener], none), (words[at], none)]
        slots += [(word(d), none) for d in offsets(self.window)]
        slots += [(word(a), word(b)) for a, b in PAIRS]
        keys = np.stack([self._keys(s, a, b) for s, (a, b) in enumerate(slots)], axis=1)
        fid = self.map.get(keys.ravel()).reshape(keys.shape)
        hit = fid >= 0
        score = np.zeros((len(at), len(self.labels)))
        m, _ = np.nonzero(hit)
        np.add.at(score, m, self.coef[fid[hit]])
        score += self.intercept
        np.maximum.at(out, wrow[at], score)
        return out
