"""The per-number model's training half: one logistic regression per label over number
mentions (`runtime.numbers` holds the mention features and the NumPy scorer).

Whether a sentence states a statistic turns on the words right beside one of its
numbers ("jailed for two years", "the two men", "aged 45", "50m passengers"). Every
number is a training example carrying its sentence's label; a sentence takes its best
number's score, or `floor` when it has none, and `StanceClassifier` blends that with
the sentence model's score for the labels in `numbers.labels`.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .errors import TrainingError
from .runtime.artifact import NumberWeights
from .runtime.features import text_of, tokenize
from .runtime.numbers import END, START, Feature, mention_features, slot_names, token_mentions


class NumberModel:
    """One logistic regression per label over number mentions; a sentence scores its best number.

    Each mention is a training example carrying its sentence's label and weight
    (binary features, balanced class weights), so a sentence without the label
    teaches that none of its numbers counts.
    """

    def __init__(self, labels: Sequence[str], window: int = 3, C: float = 1.0,
                 floor: float = -6.0, max_iter: int = 2000, random_state: int | None = 0) -> None:
        self.labels = tuple(labels)
        self.window = window
        self.C = C
        self.floor = floor
        self.max_iter = max_iter
        self.random_state = random_state

    def _matrix(self, mentions: list[list[list[Feature]]]) -> tuple[Any, np.ndarray]:
        """(mention x feature 0/1 matrix over the fitted vocabulary, sentence of each mention)."""
        from scipy import sparse  # training only: loading a model never imports SciPy
        vocab = self.vocabulary_
        indices: list[int] = []
        indptr = [0]
        rows: list[int] = []
        for i, sentence in enumerate(mentions):
            for feats in sentence:
                indices.extend(sorted(c for c in map(vocab.get, feats) if c is not None))
                indptr.append(len(indices))
                rows.append(i)
        X = sparse.csr_matrix((np.ones(len(indices)), np.asarray(indices, dtype=np.int32),
                               np.asarray(indptr, dtype=np.int32)),
                              shape=(len(rows), len(vocab)))
        return X, np.asarray(rows, dtype=np.int64)

    def fit(self, X: Sequence[Any], Y: np.ndarray, sample_weight: np.ndarray | None = None
            ) -> "NumberModel":
        """Fit on sentences X (strings or records) and their 0/1 labels Y (n, len(labels)).

        `sample_weight` (n, len(labels)) gives each sentence's weight per label; mentions
        of sentences with weight 0 for a label are left out of that label's model.
        """
        return self.fit_tokens([tokenize(text_of(x)) for x in X], Y, sample_weight)

    def fit_tokens(self, tokens: Sequence[list[str]], Y: np.ndarray,
                   sample_weight: np.ndarray | None = None) -> "NumberModel":
        """`fit` from each sentence's tokens (`features.tokenize`, number shapes on), for
        a caller that has tokenized the sentences already."""
        from sklearn.linear_model import LogisticRegression  # training only, as above
        mentions = [token_mentions(t, self.window) for t in tokens]
        feats = sorted({f for sentence in mentions for m in sentence for f in m})
        self.vocabulary_ = {f: i for i, f in enumerate(feats)}
        self.features_ = feats
        Xm, rows = self._matrix(mentions)
        Y = np.asarray(Y)
        W = np.ones(Y.shape) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        self.coef_ = np.zeros((len(self.labels), len(feats)))
        self.intercept_ = np.zeros(len(self.labels))
        for j, label in enumerate(self.labels):
            keep = W[rows, j] > 0
            y = Y[rows[keep], j]
            if len(y) == 0 or y.min() == y.max():
                raise TrainingError(
                    f"numbers: label '{label}' needs numbers both in sentences with it and in "
                    "sentences without it; annotate more or set numbers.labels: []")
            est = LogisticRegression(C=self.C, class_weight="balanced", solver="liblinear",
                                     max_iter=self.max_iter, random_state=self.random_state)
            est.fit(Xm[keep], y, sample_weight=W[rows[keep], j])
            self.coef_[j], self.intercept_[j] = est.coef_[0], est.intercept_[0]
        return self

    def decision_function(self, X: Sequence[Any]) -> np.ndarray:
        """Per sentence and label, the best number's linear score (`floor` without numbers)."""
        mentions = [mention_features(text_of(x), self.window) for x in X]
        out = np.full((len(mentions), len(self.labels)), float(self.floor))
        Xm, rows = self._matrix(mentions)
        if len(rows):
            np.maximum.at(out, rows, np.asarray(Xm @ self.coef_.T) + self.intercept_)
        return out

    def export(self, tokens: list[str], weight: float) -> NumberWeights:
        """The fitted numbers for the artifact, blended in at `weight`. Tokens of the
        features are appended to `tokens` (the scorer's token list) and the table refers
        to them by position; -1 is "no second token", -2 the sentence start, -3 its end."""
        index = {t: i for i, t in enumerate(tokens)}
        special = {START: -2, END: -3, "": -1}

        def code(tok: str) -> int:
            if tok in special:
                return special[tok]
            if tok not in index:
                index[tok] = len(tokens)
                tokens.append(tok)
            return index[tok]

        table = np.array([(slot, code(a), code(b)) for slot, a, b in self.features_],
                         dtype=np.int32).reshape(-1, 3)
        return NumberWeights(labels=list(self.labels), window=self.window, floor=float(self.floor),
                             weight=float(weight), intercept=[float(v) for v in self.intercept_],
                             table=table, coef=np.ascontiguousarray(self.coef_.T, dtype=np.float64))

    def top_features(self, n: int = 10) -> dict[str, list[tuple[str, float]]]:
        """The n mention features with the largest positive weight per label."""
        names = slot_names(self.window)
        out = {}
        for j, label in enumerate(self.labels):
            idx = np.argsort(-self.coef_[j], kind="stable")[:n]
            out[label] = [(f"{names[self.features_[i][0]]}={' '.join(filter(None, self.features_[i][1:]))}",
                           round(float(self.coef_[j, i]), 4)) for i in idx]
        return out
