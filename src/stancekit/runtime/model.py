"""A loaded model: scores sentences and articles with NumPy alone (no scikit-learn, no pickle).

Scoring reproduces scikit-learn's TF-IDF (sublinear tf, idf, l2 norm) and the linear
decision exactly, so its predictions equal those of the fitted estimator; training
checks that on its validation sentences before it writes an artifact.
"""

from __future__ import annotations

import os
from collections import Counter
from itertools import repeat
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from ..segment import Segmenter
from . import artifact
from .artifact import ModelData
from .decisions import decide, scores_from_decision
from .features import Batch, context_of, is_word_ngram, text_of
from .numbers import NumberScorer, blend
from .records import contexts, output_rows, with_context
from .vectorize import WordIndex, batch_columns, batch_ids

# Sentences scored per NumPy pass: large enough to amortise the per-call overhead,
# small enough that the intermediate arrays stay in the CPU cache (measured on
# bbc-news.jsonl: 2,000 is about a fifth faster than one pass over 41k sentences).
# A chunk also ends at _CHUNK_CHARS characters: the byte tokenizer's tables cost about
# 16 bytes a byte, so 2,000 one-megabyte lines must not go in one pass.
_CHUNK = 2000
_CHUNK_CHARS = 4 << 20


def _counted(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct keys and how often each occurs (`np.unique(..., return_counts=True)`
    without its general-purpose overhead)."""
    keys = np.sort(keys)
    first = np.empty(len(keys), dtype=bool)
    first[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return keys[starts], np.diff(np.append(starts, len(keys)))


def _chunks(sizes: list[int]) -> Iterator[tuple[int, int]]:
    """[lo, hi) ranges of at most _CHUNK texts and (beyond one text) _CHUNK_CHARS characters."""
    lo, total = 0, 0
    for i, size in enumerate(sizes):
        if i > lo and (i - lo >= _CHUNK or total + size > _CHUNK_CHARS):
            yield lo, i
            lo, total = i, 0
        total += size
    if lo < len(sizes):
        yield lo, len(sizes)


def _texts(texts: Any) -> list:
    if isinstance(texts, (str, bytes, dict)):
        raise TypeError("predict expects a list of sentences, got one "
                        f"{type(texts).__name__}; wrap it in a list")
    return list(texts)


class Model:
    """A trained sentence classifier ready to score; immutable, so safe across threads."""

    def __init__(self, data: ModelData, metadata: Mapping[str, Any],
                 path: Path | None = None) -> None:
        self.labels: list[str] = list(data.labels)
        self.metadata: dict[str, Any] = dict(metadata)
        self.path = path
        self.data = data
        self.spec = data.spec
        self.exclusive = bool(data.exclusive)
        self.thresholds = np.asarray(data.thresholds, dtype=np.float64)
        self._features: list[str] = list(data.features)
        self._vocab = dict(zip(self._features, range(len(self._features))))
        self._idf = np.asarray(data.idf, dtype=np.float64)
        self._coef = np.asarray(data.coef, dtype=np.float64)
        self._intercept = np.asarray(data.intercept, dtype=np.float64)
        self._sublinear = data.spec.sublinear_tf
        self._words = WordIndex(data.ngram_tokens, data.ngram_table, data.spec.word_ngrams)
        numbers = data.numbers
        self._numbers = None if numbers is None else NumberScorer(
            numbers, list(data.ngram_tokens), self._words.size,
            self._words.is_number_class, self._words.is_cue_class)
        self._number_cols = [self.labels.index(l) for l in numbers.labels] if numbers else []
        self._number_weight = float(numbers.weight) if numbers else 0.0
        # the batch path's gather table: idf, then idf * coef for each label
        self._table = np.column_stack([self._idf, self._coef * self._idf[:, None]])
        view = data.neighbours
        self._ncols = [self.labels.index(l) for l in view.labels] if view else []
        self._ncoef = np.asarray(view.coef, dtype=np.float64) if view else np.zeros((0, 0))
        self._near: tuple[np.ndarray, np.ndarray] | None = None
        self._segmenter = Segmenter(data.cleaning, data.abbreviations)

    def _neighbour_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """(which features are word n-grams, the gather table for batches with neighbours:
        `_table`, word-only idf, idf * neighbour weights). Built on first use, so loading
        and plain strings never pay for it; two threads racing build the same arrays."""
        if self._near is None:
            word = np.fromiter(map(is_word_ngram, self._features), bool, len(self._features))
            word_idf = self._idf * word
            self._near = word, np.column_stack([self._table, word_idf,
                                                self._ncoef * word_idf[:, None]])
        return self._near

    def __repr__(self) -> str:
        return f"<stancekit.Model {self.metadata.get('name')}@{self.metadata.get('version')} " \
               f"labels={self.labels}>"

    # -- scoring ---------------------------------------------------------------------
    def _ids(self, record: Any) -> list[int]:
        get = self._vocab.get
        return [i for i in map(get, self.spec(record)) if i is not None]

    def _columns(self, splits: list[tuple[list[str], list[str]]]) -> tuple[np.ndarray, np.ndarray]:
        """(row, feature id) of every known feature occurrence, from each text's
        `Analyzer.split` (tokens, extras): the path for batches `batch_ids` cannot take."""
        toks: list[str] = []
        extras: list[str] = []
        tok_lens: list[int] = []
        extra_lens: list[int] = []
        for t, e in splits:
            toks.extend(t)
            tok_lens.append(len(t))
            if e:
                extras.extend(e)
            extra_lens.append(len(e))
        n = len(splits)
        rows, cols = self._words.ngrams(self._words.ids(toks), np.repeat(np.arange(n), tok_lens))
        if extras:
            ids = np.fromiter(map(self._vocab.get, extras, repeat(-1)), np.int64, len(extras))
            erow = np.repeat(np.arange(n), extra_lens)
            keep = ids >= 0
            rows, cols = np.concatenate([rows, erow[keep]]), np.concatenate([cols, ids[keep]])
        return rows, cols

    def decision_function(self, texts: Iterable[Any]) -> np.ndarray:
        """Linear scores (n_texts, n_labels) for strings or {"text", "context"} records."""
        texts = _texts(texts)
        n = len(texts)
        if n == 1:
            return self._decision_one(texts[0])[None, :]
        out = np.empty((n, len(self.labels)))
        batch = Batch.of(texts)
        for lo, hi in _chunks([len(t) for t in batch.texts]):
            out[lo:hi] = self._decision_batch(batch.part(lo, hi))
        return out

    def _occurrences(self, texts: Batch | list[Any]) -> tuple[
            np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None,
            list[tuple[list[str], list[str]]] | None]:
        """(row, feature id) of every feature occurrence, plus what the number model reads:
        the batch path's id arrays, or else each text's `Analyzer.split` (tokenized once)."""
        batch = Batch.of(texts)
        ids = batch_ids(self.spec, self._words, batch)
        if ids is not None:
            return (*batch_columns(self.spec, self._words, self._vocab, batch, ids), ids, None)
        splits = [self.spec.split(rec) for rec in batch.records]
        return (*self._columns(splits), None, splits)

    def _decision_batch(self, texts: Batch) -> np.ndarray:
        """Scores of one chunk: the sentence model, blended with the number model for
        the labels it scores."""
        n = len(texts.texts)
        out = np.tile(self._intercept, (n, 1))
        rows, cols, ids, splits = self._occurrences(texts)
        near = np.zeros((n, 2 * len(self._ncols))) if self._ncols and any(
            texts.contexts) else None
        if len(cols):
            self._add_sentence_scores(out, rows, cols, near)
        if near is not None:
            out[:, self._ncols] += self._neighbour_scores(texts, near)
        if self._numbers is not None:
            numbers = self._numbers.scores(ids[0], ids[1], n) if ids is not None else \
                self._numbers.scores_of_tokens([t for t, _ in splits or []])
            ncols = self._number_cols
            out[:, ncols] = blend(out[:, ncols], numbers, self._number_weight)
        return out

    def _add_sentence_scores(self, out: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                             near: np.ndarray | None = None) -> None:
        """Add each row's TF-IDF dot products to `out`; the rows are never built.

        A row's score is sum(tf * idf * coef) / ||tf * idf||: one gather of `_table`
        rows (idf, then idf * coef per label) and one segmented sum give every
        numerator and the squared norm at once. With `near`, the same pass fills it with
        each row's dot products with the neighbour weights over its word n-grams alone
        (what the row contributes to the sentences before and after it).
        """
        n = len(out)
        F = len(self._features)
        keys = rows * F + cols
        if n * F < 2 ** 32:
            keys = keys.astype(np.uint32)  # sorts twice as fast as int64
        keys, counts = _counted(keys)
        row, col = (keys // F).astype(np.int64), (keys % F).astype(np.int64)
        tf = counts.astype(np.float64)
        if self._sublinear:
            tf = 1.0 + np.log(tf)
        table = self._table if near is None else self._neighbour_tables()[1]
        terms = np.take(table, col, axis=0)  # row gathers: 6x faster than columns
        terms *= tf[:, None]
        L = len(self.labels)
        terms[:, 0] *= terms[:, 0]
        if near is not None:
            terms[:, L + 1] *= terms[:, L + 1]
        starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
        sums = np.add.reduceat(terms, starts, axis=0)
        out[row[starts]] += sums[:, 1:L + 1] / np.sqrt(sums[:, :1])
        if near is not None:
            norm = np.sqrt(sums[:, L + 1:L + 2])
            near[row[starts]] = np.divide(sums[:, L + 2:], norm, out=np.zeros_like(sums[:, L + 2:]),
                                          where=norm > 0)

    def _neighbour_scores(self, texts: Batch, near: np.ndarray) -> np.ndarray:
        """(n, neighbour labels) the previous and next sentences add to each record's scores.

        A record's neighbour is usually the record beside it in the batch, whose row of
        `near` is already computed; any other neighbour text (a batch edge, a lone
        record) is scored on its own as a plain string.
        """
        k = len(self._ncols)
        text, ctxs = texts.texts, texts.contexts
        add = np.zeros((len(texts.texts), k))
        missing: dict[str, list[tuple[int, int]]] = {}
        for side, (key, shift) in enumerate((("prev", -1), ("next", 1))):
            other = [c.get(key) or "" for c in ctxs]
            beside = [""] + text[:-1] if shift < 0 else text[1:] + [""]
            here = np.array([i for i, (o, b) in enumerate(zip(other, beside)) if o and o == b],
                            dtype=np.int64)
            add[here] += near[here + shift, side * k:(side + 1) * k]
            for i, (o, b) in enumerate(zip(other, beside)):
                if o and o != b:
                    missing.setdefault(o, []).append((i, side))
        if missing:
            alone = list(missing)
            rows_near = np.zeros((len(alone), 2 * k))
            scratch = np.zeros((len(alone), len(self.labels)))
            rows, cols, _, _ = self._occurrences(alone)
            if len(cols):
                self._add_sentence_scores(scratch, rows, cols, rows_near)
            for r, places in zip(rows_near, missing.values()):
                for i, side in places:
                    add[i] += r[side * k:(side + 1) * k]
        return add

    def _neighbour_one(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(word n-gram feature ids, their L2-normalised TF-IDF values) of a neighbour text."""
        toks, _ = self.spec.split(text)
        word = self._neighbour_tables()[0]
        counts = Counter(i for i in map(self._vocab.get, self.spec.features(toks, []))
                         if i is not None and word[i])
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        ids = np.fromiter(counts.keys(), np.int64, len(counts))
        return ids, self._unit_tfidf(ids, np.fromiter(counts.values(), np.float64, len(counts)))

    def _neighbour_terms(self, record: Any) -> list[tuple[str, np.ndarray]]:
        """Each neighbour feature's contribution to the neighbour labels (`explain`)."""
        ctx = record.get("context") if isinstance(record, dict) and self._ncols else None
        if not ctx:
            return []
        k, out = len(self._ncols), []
        for side, key in enumerate(("prev", "next")):
            if ctx.get(key):
                ids, val = self._neighbour_one(ctx[key])
                for f, c in zip(ids, self._ncoef[ids, side * k:(side + 1) * k] * val[:, None]):
                    out.append((f"{key}: {self._features[f]}", c))
        return out

    def _unit_tfidf(self, ids: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """One sentence's L2-normalised TF-IDF values for feature `ids` seen `counts` times."""
        tf = 1.0 + np.log(counts) if self._sublinear else counts
        val = tf * self._idf[ids]
        return val / np.sqrt(val @ val)

    def _decision_one(self, record: Any) -> np.ndarray:
        """One sentence with a handful of NumPy calls: the low-latency path for services."""
        toks, extras = self.spec.split(record)
        counts = Counter(map(self._vocab.get, self.spec.features(toks, extras)))
        counts.pop(None, None)
        out = self._intercept.copy()
        if counts:
            ids = np.fromiter(counts.keys(), np.int64, len(counts))
            out += self._unit_tfidf(ids, np.fromiter(counts.values(), np.float64, len(counts))
                                    ) @ self._coef[ids]
        for _, c in self._neighbour_terms(record):
            out[self._ncols] += c
        if self._numbers is not None:  # the number model reads the same tokens
            cols = self._number_cols
            out[cols] = blend(out[cols], self._numbers.scores_of_tokens([toks])[0],
                              self._number_weight)
        return out

    def predict_scores(self, texts: Iterable[Any]) -> np.ndarray:
        """Scores in [0, 1], one row per text, one column per label (see `labels`)."""
        return scores_from_decision(self.decision_function(texts), self.exclusive)

    def predict(self, texts: Iterable[Any]) -> list[list[str]]:
        """The predicted labels of each text at the model's thresholds."""
        return self.labels_of(self.predict_scores(texts))

    def labels_of(self, scores: np.ndarray) -> list[list[str]]:
        """The labels that `predict_scores` rows select at the model's thresholds."""
        P = decide(scores, self.thresholds, self.exclusive)
        return [[l for l, on in zip(self.labels, row) if on] for row in P]

    def predict_one(self, text: Any) -> list[str]:
        """Labels of one sentence; the low-latency path for services."""
        return self.predict([text])[0]

    def explain(self, record: Any, k: int = 5) -> dict[str, list[tuple[str, float]]]:
        """Per label, the k features that pushed its score up most for this sentence
        (for the number model's labels, the blend's shares of both models' features)."""
        named: list[tuple[str, np.ndarray]] = []
        ids = self._ids(record)
        if ids:
            uniq, counts = np.unique(np.asarray(ids), return_counts=True)
            val = self._unit_tfidf(uniq, counts.astype(np.float64))
            contrib = self._coef[uniq] * val[:, None]
            named = [(self._features[f], c) for f, c in zip(uniq, contrib)]
        for name, c in self._neighbour_terms(record):
            full = np.zeros(len(self.labels))
            full[self._ncols] = c
            named.append((name, full))
        for _, c in named:  # the number model's labels: the sentence model's share
            c[self._number_cols] *= 1 - self._number_weight
        if self._numbers is not None:
            for name, weights in self._numbers.best_number_features(record):
                full = np.zeros(len(self.labels))
                full[self._number_cols] = self._number_weight * weights
                named.append((name, full))
        out = {}
        for j, label in enumerate(self.labels):
            top = sorted(((float(c[j]), name) for name, c in named if c[j] > 0), reverse=True)[:k]
            out[label] = [(name, round(c, 4)) for c, name in top]
        return out

    # -- rows and articles ----------------------------------------------------------
    def predict_rows(self, rows: Iterable[dict[str, Any]], text_field: str = "text",
                     explain: bool = False) -> list[dict[str, Any]]:
        """Output rows for input rows (dicts with the text in `text_field`): each row's
        fields, then `labels` and `scores`, and with `explain` the n-grams behind each
        label. Rows that carry `article_id` and `index` are read as sentences of their
        article, with the context the model was trained with (`records.with_context`)."""
        return self.score_rows(list(with_context(rows, text_field)), text_field, explain)

    def score_rows(self, rows: Sequence[dict[str, Any]], text_field: str = "text",
                   explain: bool = False, owned: bool = False) -> list[dict[str, Any]]:
        """`predict_rows` for rows whose "context" is already set (or absent): the step
        after `with_context`, for callers that batch a stream. With `owned` the rows
        themselves become the output rows (no copy)."""
        # a row with the text under "text" is a record as it is (the scorer reads only
        # "text" and "context"); otherwise a record is made for it
        records = rows if text_field == "text" else \
            [{"text": r[text_field], "context": r.get("context")} for r in rows]
        scores = self.predict_scores(records) if records else np.zeros((0, len(self.labels)))
        explained = [self.explain(rec) for rec in records] if explain else []
        out = output_rows(rows, [r[text_field] for r in rows], self.labels_of(scores), scores,
                          self.labels, owned)
        for o, e in zip(out, explained):
            o["explanation"] = {l: e[l] for l in o["labels"]}
        return out

    def segment(self, text: str, article_id: str | None = None) -> list[dict[str, Any]]:
        """Clean and segment a raw article exactly as the dataset builder does; each
        sentence with its id, index, offsets, text and article context."""
        spans = self._segmenter.spans(text)
        texts = [text[s:e] for s, e, _ in spans]
        return [{"article_id": article_id, "index": i, "start": s, "end": e, "text": t,
                 "context": c} for i, ((s, e, _), t, c) in
                enumerate(zip(spans, texts, contexts(texts, range(len(texts)))))]

    def predict_article(self, text: str, article_id: str | None = None,
                        explain: bool = False) -> list[dict[str, Any]]:
        """One row per sentence of a raw article: article_id, index, offsets, text,
        labels and scores."""
        return self.score_rows(self.segment(text, article_id), explain=explain, owned=True)


def load(spec: str | os.PathLike[str], root: str | os.PathLike[str] | None = None) -> Model:
    """Load a verified model from a directory, `name` or `name@v3` under the artifact root."""
    root = root if root is not None else os.environ.get("STANCEKIT_ARTIFACTS", "artifacts")
    path = artifact.resolve(spec, root)
    data, meta = artifact.read(path)
    return Model(data, meta, path)
