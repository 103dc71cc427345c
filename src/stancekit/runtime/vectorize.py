"""Vectorizing a batch of sentences to feature ids in NumPy: the fast path behind
`Model.predict_scores`.

A batch is normalised in one pass over its joined text (`features.batch_text`) and
split into token ids at the byte level (`ByteTokenizer`: hashes, no token strings);
class tokens (<num>, <acc>, ...) are inserted on the id array; word n-grams are
integer keys looked up in a vectorised hash map; context features are counted per
row from the same `CONTEXT_RULES` table. The result is exactly what
`FeatureSpec` produces one sentence at a time (checked against scikit-learn at the end
of every training, and by randomized tests).
"""

from __future__ import annotations

from itertools import count, repeat
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import ArtifactError
from .features import (ASCII_ALONE, ASCII_SPACE, ASCII_WHITESPACE, CONTEXT_RULES, CUE_CLASS,
                       CUE_CLASSES, NUMBER_CLASSES, NUMBER_WORDS, QUANTITY_CLASSES, QUOTE_MARKS,
                       SEP, Batch, Facts, FeatureSpec, batch_text, is_word_ngram, split_marked)

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


# Byte classes for `ByteTokenizer`: every byte of a multi-byte character is a word byte
# (`features.batch_text` has already turned the non-ASCII marks and spaces into ASCII).
_WORD, _SPLIT, _ALONE_BYTE = 0, 1, 2
_BYTE_CLASS = np.zeros(256, dtype=np.int8)
_BYTE_CLASS[[ord(c) for c in ASCII_SPACE + ASCII_WHITESPACE]] = _SPLIT
_BYTE_CLASS[[ord(c) for c in ASCII_ALONE]] = _ALONE_BYTE


class ByteTokenizer:
    """Token ids straight from the UTF-8 bytes of `features.batch_text`: no token strings.

    A token is a run of word bytes or one ASCII mark that stands alone, exactly the
    tokens `features.split_marked` splits (tested on random text). Each token's
    polynomial hash comes from one prefix sum over the bytes, and one `IntMap` look-up
    turns hashes into ids. Tokens longer than the longest known one are unknown
    without a look-up; two 64-bit hashes of different tokens agree with a chance of
    about 1e-19 per pair, and `usable` is False if two known tokens share a hash.
    """

    _MULT = np.uint64(0x9E3779B97F4A7C15)
    _LENGTH_MIX = np.uint64(0xD6E8FEB86659FD93)
    MAX_BYTES = 1 << 21  # larger texts go the string way (the tables cost 16 bytes a byte)

    def __init__(self, tokens: Mapping[str, int], unknown: int) -> None:
        self.unknown = unknown
        self._tables = (np.ones(1, dtype=np.uint64), np.ones(1, dtype=np.uint64))
        encoded = [t.encode("utf-8", "surrogatepass") for t in tokens]
        self.max_len = max(map(len, encoded), default=0)
        hashes = [self._hashes_of(encoded[i:i + 10000]) for i in range(0, len(encoded), 10000)]
        keys = np.concatenate(hashes) if hashes else _EMPTY
        self.usable = len(np.unique(keys)) == len(keys) and not (keys == -1).any()
        self.map = IntMap(keys, np.fromiter(tokens.values(), np.int64, len(tokens)))

    def _powers(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """MULT**i and MULT**-i (mod 2**64) for i < n, grown by doubling and kept."""
        power, inverse = self._tables
        if len(power) < n:  # uint64 arithmetic wraps mod 2**64 by design
            size = 1 << max(n - 1, 1).bit_length()
            inv = np.uint64(pow(int(self._MULT), -1, 1 << 64))
            power = np.cumprod(np.r_[np.uint64(1), np.full(size - 1, self._MULT)],
                               dtype=np.uint64)
            inverse = np.cumprod(np.r_[np.uint64(1), np.full(size - 1, inv)], dtype=np.uint64)
            self._tables = (power, inverse)  # one assignment: safe across threads
        return power, inverse

    def _hash(self, data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """The hash of each byte span [start, end) of `data`."""
        power, inverse = self._powers(len(data) + 1)
        prefix = np.empty(len(data) + 1, dtype=np.uint64)
        prefix[0] = 0
        np.cumsum(data * power[:len(data)], out=prefix[1:])
        h = (prefix[ends] - prefix[starts]) * inverse[starts]  # wraps mod 2**64 by design
        h ^= (ends - starts).astype(np.uint64) * self._LENGTH_MIX
        return h.view(np.int64)

    def _hashes_of(self, encoded: list[bytes]) -> np.ndarray:
        lengths = np.fromiter(map(len, encoded), np.int64, len(encoded))
        ends = np.cumsum(lengths)
        data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        return self._hash(data, ends - lengths, ends)

    def ids(self, text: str) -> np.ndarray | None:
        """Token ids of `text` (unknown tokens get `unknown`), or None when the string
        way must do it (an unencodable lone surrogate, or a very large text)."""
        try:
            data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
        except UnicodeEncodeError:
            return None
        if len(data) > self.MAX_BYTES:
            return None
        cls = _BYTE_CLASS[data]
        word = cls == _WORD
        alone = cls == _ALONE_BYTE
        edge = np.empty(len(data) + 1, dtype=bool)  # word-ness changes between bytes
        edge[0] = edge[-1] = True
        np.not_equal(word[1:], word[:-1], out=edge[1:-1])
        starts = np.flatnonzero(alone | (word & edge[:-1]))
        ends = np.flatnonzero(alone | (word & edge[1:])) + 1
        ids = self.map.get(self._hash(data, starts, ends))
        ids[(ids < 0) | (ends - starts > self.max_len)] = self.unknown
        return ids


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
        extra = sorted({*NUMBER_WORDS, *CUE_CLASS, *CUE_CLASSES, *NUMBER_CLASSES,
                        *QUOTE_MARKS, SEP} - self.tokens.keys())
        self.tokens.update(zip(extra, count(T + 1)))
        self.size = size = T + 1 + len(extra)
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
        self.is_quantity[[self.tokens[q] for q in QUANTITY_CLASSES]] = True
        self.is_number_class = np.zeros(size, dtype=bool)
        self.is_number_class[[self.tokens[c] for c in NUMBER_CLASSES]] = True
        self.is_cue_class = np.zeros(size, dtype=bool)
        self.is_cue_class[[self.tokens[c] for c in CUE_CLASSES]] = True
        self._bytes: ByteTokenizer | None = None

    def text_ids(self, texts: list[str], number_shapes: bool) -> np.ndarray | None:
        """Token ids of many texts, each followed by SEP's id (None: a text holds SEP)."""
        text = batch_text(texts, number_shapes)
        if text is None:
            return None
        tokenizer = self._bytes
        if tokenizer is None:  # built on first use: one-sentence callers never pay for it
            tokenizer = self._bytes = ByteTokenizer(self.tokens, self.base)
        tid = tokenizer.ids(text) if tokenizer.usable else None
        return self.ids(split_marked(text)) if tid is None else tid

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
    """The `CONTEXT_RULES` features of every row at once (`features.context_features`
    decides the same rules one sentence at a time)."""
    ctx = Batch.of(texts).contexts
    facts = Facts(marks=np.bincount(row[index.is_quote[tid]], minlength=n),
                  quantity=np.bincount(row[index.is_quantity[tid]], minlength=n) > 0,
                  in_quote=np.array([bool(c.get("in_quote")) for c in ctx], dtype=bool),
                  position=np.array([-1 if c.get("index") is None else c["index"] for c in ctx],
                                    dtype=np.int64))
    rows, cols = [], []
    for name, rule in CONTEXT_RULES:
        fid = vocab.get(name)
        mask = rule(facts) if fid is not None else None
        if mask is not None and mask.any():
            r = np.flatnonzero(mask)
            rows.append(r)
            cols.append(np.full(len(r), fid, dtype=np.int64))
    return rows, cols


def batch_ids(spec: FeatureSpec, index: WordIndex, texts: Sequence[Any]
              ) -> tuple[np.ndarray, np.ndarray] | None:
    """Token ids of a batch (class tokens inserted, SEP dropped) and the row of each, or
    None when the spec needs the per-sentence path (`FeatureSpec.batchable`) or a text
    holds SEP."""
    if not spec.batchable:
        return None
    tid = index.text_ids(Batch.of(texts).texts, spec.number_shapes)
    if tid is None:
        return None
    if spec.number_shapes:
        tid = index.insert_classes(tid)
    sep = tid == index.sep
    row = np.cumsum(sep) - sep
    keep = ~sep
    return tid[keep], row[keep]


def batch_columns(spec: FeatureSpec, index: WordIndex, vocab: Mapping[str, int],
                  texts: Sequence[Any], ids: tuple[np.ndarray, np.ndarray]
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(row, feature id) of every feature occurrence in `texts`, from their `batch_ids`."""
    tid, row = ids
    ngram_rows, ngram_cols = index.ngrams(tid, row)
    rows, cols = [ngram_rows], [ngram_cols]
    if spec.context:
        batch = Batch.of(texts)
        r, c = _context_columns(index, vocab, tid, row, batch, len(batch.texts))
        rows += r
        cols += c
    return np.concatenate(rows), np.concatenate(cols)
