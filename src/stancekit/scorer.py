"""Batch feature lookup in NumPy: the fast path behind `Model.predict_scores`.

A batch is tokenized in one pass over its joined text (`features.batch_tokens`);
tokens become integer ids with one C-level `map` over a dict; class tokens (<num>,
<acc>, ...) are inserted on the id array; word n-grams are integer keys looked up in
a vectorised hash map;
context features are counted per row. The result is exactly what
`features.Analyzer` produces one sentence at a time (tested against scikit-learn).
"""

from __future__ import annotations

from itertools import count, repeat
from typing import Any, Mapping, Sequence

import numpy as np

from .errors import ArtifactError
from .features import (CUE_CLASS, NUMBER_WORDS, QUOTE_MARKS, SEP, Analyzer, batch_tokens,
                       is_word_ngram)

_QUANTITY_TOKENS = ("<money>", "<pct>", "<num>")
_EMPTY = np.zeros(0, dtype=np.int64)


class IntMap:
    """A read-only int64 -> int64 hash map looked up a whole array at a time.

    Open addressing with linear probing in a table at most a quarter full, so most
    look-ups take one or two vectorised probes (a sorted array with searchsorted
    costs a binary search per key).
    """

    _MULT = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing

    def __init__(self, keys: np.ndarray, values: np.ndarray) -> None:
        bits = max(4, int(np.ceil(np.log2(max(len(keys), 1) * 4))))
        self.mask = (1 << bits) - 1
        self.shift = np.uint64(64 - bits)
        self.keys = np.full(self.mask + 1, -1, dtype=np.int64)
        self.values = np.full(self.mask + 1, -1, dtype=np.int64)
        pending = np.arange(len(keys))
        pos = self._slot(keys)
        while len(pending):
            p = pos[pending]
            free = self.keys[p] == -1
            slots, first = np.unique(p[free], return_index=True)
            winners = pending[free][first]
            self.keys[slots] = keys[winners]
            self.values[slots] = values[winners]
            placed = np.zeros(len(keys), dtype=bool)
            placed[winners] = True
            pending = pending[~placed[pending]]
            pos[pending] = (pos[pending] + 1) & self.mask

    def _slot(self, keys: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            h = (keys.astype(np.uint64) * self._MULT) >> self.shift
        return h.astype(np.int64)

    def get(self, keys: np.ndarray) -> np.ndarray:
        """The value of each key, or -1 where the key is absent.

        The first probe settles most keys with whole-array `np.take`s; only keys whose
        slot holds another key probe on (about one in ten at this load).
        """
        pos = self._slot(keys)
        stored = np.take(self.keys, pos)
        found = stored == keys
        out = np.where(found, np.take(self.values, pos), -1)
        pending = np.flatnonzero(~found & (stored != -1))
        pos = pos[pending]
        while len(pending):
            pos = (pos + 1) & self.mask
            stored = np.take(self.keys, pos)
            found = stored == keys[pending]
            out[pending[found]] = np.take(self.values, pos[found])
            keep = ~found & (stored != -1)
            pending, pos = pending[keep], pos[keep]
        return out


def ngram_table(features: Sequence[str], max_n: int) -> tuple[list[str], np.ndarray]:
    """At training time: the tokens of the word n-gram features, and for every feature
    its token ids padded with -1 (all -1 for features that are not word n-grams)."""
    tokens: dict[str, int] = {}
    table = np.full((len(features), max(max_n, 1)), -1, dtype=np.int32)
    for i, f in enumerate(features):
        if is_word_ngram(f):
            for j, p in enumerate(f.split(" ")):
                table[i, j] = tokens.setdefault(p, len(tokens))
    return list(tokens), table


class WordIndex:
    """Token ids, unigram and n-gram feature ids, and per-token class insertions.

    Ids below `base` are tokens that occur in some word n-gram feature; `base` itself
    is "unknown"; ids above it are tokens the scorer must recognise (cue and number
    words, class tokens, quote marks, SEP) that are no feature's part.
    """

    def __init__(self, tokens: Sequence[str], table: np.ndarray,
                 ngram_range: tuple[int, int]) -> None:
        """`tokens` and `table` come from `ngram_table` (stored in the artifact, so
        loading does no per-feature Python work)."""
        self.lo, self.hi = ngram_range
        self.tokens: dict[str, int] = dict(zip(tokens, count()))
        T = len(self.tokens)
        self.base = T
        extra = sorted({*NUMBER_WORDS, *CUE_CLASS, *CUE_CLASS.values(), *_QUANTITY_TOKENS,
                        *QUOTE_MARKS, SEP} - self.tokens.keys())
        self.tokens.update(zip(extra, count(T + 1)))
        size = T + 1 + len(extra)
        self.sep = self.tokens[SEP]
        table = np.asarray(table, dtype=np.int64)
        lengths = (table >= 0).sum(axis=1) if table.size else np.zeros(0, dtype=np.int64)
        fid_arr = np.arange(len(table), dtype=np.int64)
        self.unigram = np.full(size, -1, dtype=np.int64)
        one = lengths == 1
        if table.size:
            self.unigram[table[one, 0]] = fid_arr[one]
        if T and T ** max(self.hi, 1) >= 2 ** 62:
            raise ArtifactError("vocabulary too large for integer n-gram keys")
        self.keys: dict[int, IntMap] = {}
        for n in range(2, self.hi + 1):
            sel = lengths == n
            if not sel.any():
                continue
            key = np.zeros(int(sel.sum()), dtype=np.int64)
            for j in range(n):
                key = key * T + table[sel, j]
            self.keys[n] = IntMap(key, fid_arr[sel])
        self.before = np.full(size, -1, dtype=np.int64)
        self.after = np.full(size, -1, dtype=np.int64)
        num = self.tokens["<num>"]
        for w in NUMBER_WORDS:
            self.before[self.tokens[w]] = num
            self.after[self.tokens[w]] = num
        for w, cls in CUE_CLASS.items():
            if w not in NUMBER_WORDS:
                self.after[self.tokens[w]] = self.tokens[cls]
        self.is_quote = np.zeros(size, dtype=bool)
        self.is_quote[[self.tokens[q] for q in QUOTE_MARKS]] = True
        self.is_quantity = np.zeros(size, dtype=bool)
        self.is_quantity[[self.tokens[q] for q in _QUANTITY_TOKENS]] = True

    def ids(self, toks: list[str]) -> np.ndarray:
        """Token ids (unknown tokens get `base`)."""
        return np.fromiter(map(self.tokens.get, toks, repeat(self.base)), np.int64, len(toks))

    def insert_classes(self, tid: np.ndarray) -> np.ndarray:
        """Insert <num> around number words and a cue class after each cue word."""
        b, a = self.before[tid], self.after[tid]
        hb, ha = b >= 0, a >= 0
        if not (hb.any() or ha.any()):
            return tid
        count = 1 + hb + ha
        start = np.cumsum(count) - count
        out = np.empty(int(count.sum()), dtype=np.int64)
        pos = start + hb
        out[start[hb]] = b[hb]
        out[pos] = tid
        out[pos[ha] + 1] = a[ha]
        return out

    def ngrams(self, tid: np.ndarray, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, feature id) for every unigram and n-gram of the ids that is a feature."""
        T = self.base
        rows, cols = [], []
        if self.lo == 1:
            fid = self.unigram[tid]
            keep = fid >= 0
            rows.append(row[keep])
            cols.append(fid[keep])
        for n in range(max(self.lo, 2), self.hi + 1):
            if n not in self.keys or len(tid) < n:
                continue
            m = len(tid) - n + 1
            valid = row[:m] == row[n - 1:]
            for j in range(n):
                valid &= tid[j:j + m] < T
            at = np.flatnonzero(valid)  # only n-grams of known tokens can be features
            key = np.zeros(len(at), dtype=np.int64)
            for j in range(n):
                key = key * T + tid[at + j]
            fid = self.keys[n].get(key)
            hit = fid >= 0
            rows.append(row[at[hit]])
            cols.append(fid[hit])
        if not rows:
            return _EMPTY, _EMPTY
        return np.concatenate(rows), np.concatenate(cols)


def _context_columns(index: WordIndex, vocab: Mapping[str, int], tid: np.ndarray,
                     row: np.ndarray, texts: Sequence[Any], n: int
                     ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The ctx:* features of `features._context_features`, computed per row at once."""
    marks = np.bincount(row[index.is_quote[tid]], minlength=n)
    quantity = np.bincount(row[index.is_quantity[tid]], minlength=n) > 0
    masks = {"ctx:has_quote_marks": marks >= 1, "ctx:quote_pair": marks >= 2,
             "ctx:quantity": quantity}
    if any(not isinstance(t, str) for t in texts):
        ctx = [{} if isinstance(t, str) else (t.get("context") or {}) for t in texts]
        in_quote = np.array([bool(c.get("in_quote")) for c in ctx], dtype=bool)
        position = np.array([c.get("index", -1) if c.get("index") is not None else -1
                             for c in ctx])
        masks["ctx:in_quote"] = in_quote
        masks["ctx:in_quote_unmarked"] = in_quote & (marks == 0)
        masks["ctx:headline"] = position == 0
        masks["ctx:lead"] = position == 1
    rows, cols = [], []
    for name, mask in masks.items():
        fid = vocab.get(name)
        if fid is not None and mask.any():
            r = np.flatnonzero(mask)
            rows.append(r)
            cols.append(np.full(len(r), fid, dtype=np.int64))
    return rows, cols


def batch_columns(analyzer: Analyzer, index: WordIndex, vocab: Mapping[str, int],
                  texts: Sequence[Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """(row, feature id) of every feature occurrence in `texts`, or None when this
    analyzer needs the per-sentence path (character n-grams or neighbours)."""
    if analyzer.char_ngrams[1] > 0 or analyzer.neighbours:
        return None
    strings = [t if isinstance(t, str) else t["text"] for t in texts]
    toks = batch_tokens(strings, analyzer.number_shapes)
    if toks is None:
        return None
    tid = index.ids(toks)
    if analyzer.number_shapes:
        tid = index.insert_classes(tid)
    sep = tid == index.sep
    row = np.cumsum(sep) - sep
    keep = ~sep
    tid, row = tid[keep], row[keep]
    rows, cols = index.ngrams(tid, row)
    rows, cols = [rows], [cols]
    if analyzer.context:
        r, c = _context_columns(index, vocab, tid, row, texts, len(texts))
        rows += r
        cols += c
    return np.concatenate(rows), np.concatenate(cols)
