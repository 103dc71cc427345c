"""The classifier: TF-IDF features plus one linear model per label, as a scikit-learn estimator.

Built from a `FeatureSpec` (the same object the runtime rebuilds from the artifact);
`export()` hands the fitted numbers to `runtime.artifact.ModelData`, which the runtime
scores without scikit-learn.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

from .config import DEFAULT_LABELS
from .errors import TrainingError
from .number_model import NumberModel
from .runtime.artifact import ModelData, NeighbourWeights
from .runtime.decisions import decide, scores_from_decision, tune_thresholds
from .runtime.features import FeatureSpec, context_of, is_word_ngram, text_of
from .runtime.numbers import blend
from .runtime.vectorize import ngram_table


def _check_texts(X: Any) -> list:
    """Reject one bare string where a sequence of sentences is expected (as sklearn does)."""
    if isinstance(X, (str, bytes)) or isinstance(X, dict):
        raise TypeError("Iterable over sentences (strings or records) expected, got one "
                        f"{type(X).__name__}")
    return list(X)


def _column(sample_weight: Any, j: int | None) -> np.ndarray | None:
    """Label j's weights from per-sentence or per-(sentence, label) weights; for an
    exclusive model (j None) a sentence's largest weight."""
    if sample_weight is None:
        return None
    sw = np.asarray(sample_weight, dtype=np.float64)
    if sw.ndim == 1:
        return sw
    return sw.max(axis=1) if j is None else sw[:, j]


class StanceClassifier(ClassifierMixin, BaseEstimator):
    """Multi-label (one-vs-rest) or exclusive (multi-class) sentence classifier.

    `fit(X, Y)` takes sentence records (strings or {"text", "context"} mappings) and a
    0/1 matrix of shape (n_sentences, n_labels). Scores are in [0, 1]; a label is
    predicted when its score reaches its threshold (exclusive: the top label).
    """

    def __init__(self, labels: Sequence[str] = DEFAULT_LABELS, exclusive: bool = False,
                 features: FeatureSpec = FeatureSpec(), min_df: int = 2,
                 max_features: int | None = None, model_type: str = "logreg", C: float = 4.0,
                 class_weight: str | None = "balanced", max_iter: int = 2000,
                 default_threshold: float = 0.5, number_labels: Sequence[str] = (),
                 number_weight: float = 0.7, number_window: int = 3, number_C: float = 1.0,
                 number_floor: float = -6.0, random_state: int | None = 0) -> None:
        self.labels = labels
        self.exclusive = exclusive
        self.features = features
        self.min_df = min_df
        self.max_features = max_features
        self.model_type = model_type
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.default_threshold = default_threshold
        self.number_labels = number_labels
        self.number_weight = number_weight
        self.number_window = number_window
        self.number_C = number_C
        self.number_floor = number_floor
        self.random_state = random_state

    def _estimator(self) -> Any:
        cw = None if self.class_weight in (None, "none") else self.class_weight
        if self.model_type == "logreg":
            return LogisticRegression(C=self.C, class_weight=cw, max_iter=self.max_iter,
                                      solver="liblinear" if not self.exclusive else "lbfgs",
                                      random_state=self.random_state)
        if self.model_type == "svm":
            return LinearSVC(C=self.C, class_weight=cw, max_iter=self.max_iter,
                             random_state=self.random_state)
        if self.model_type == "sgd":
            return SGDClassifier(loss="log_loss", alpha=1.0 / (self.C * 1000), class_weight=cw,
                                 max_iter=self.max_iter, tol=1e-4, random_state=self.random_state)
        raise TrainingError(f"unknown model type {self.model_type!r}")

    def fit(self, X: Any, Y: Any, sample_weight: Any = None) -> "StanceClassifier":
        """Fit features and the linear model(s); thresholds start at `default_threshold`.

        `sample_weight` is one weight per sentence, or a (n_sentences, n_labels) matrix
        giving each label its own weights (rule-labelled sentences count only for the
        labels their rules decide).
        """
        X = _check_texts(X)
        Y = np.asarray(Y, dtype=np.int8)
        if Y.ndim != 2 or Y.shape != (len(X), len(self.labels)):
            raise TrainingError(f"Y must have shape ({len(X)}, {len(self.labels)}), got {Y.shape}")
        if not X:
            raise TrainingError("no training sentences")
        spec = self.features
        self.vectorizer_ = TfidfVectorizer(analyzer=spec, lowercase=False,
                                           min_df=self.min_df, max_features=self.max_features,
                                           sublinear_tf=spec.sublinear_tf, dtype=np.float64)
        splits = [spec.split(x) for x in X]  # tokenized once: TF-IDF and numbers
        try:
            Xt = self.vectorizer_.fit_transform(splits)
        except ValueError as exc:  # e.g. every feature below min_df
            raise TrainingError(f"cannot build features: {exc}") from None
        Xt.sort_indices()  # column order within rows must not depend on hash seeds
        if self.exclusive:
            y = Y.argmax(axis=1)
            if len(np.unique(y)) < 2:
                raise TrainingError("exclusive labels need at least two classes in training data")
            est = self._estimator().fit(Xt, y, sample_weight=_column(sample_weight, None))
            coef = np.zeros((len(self.labels), Xt.shape[1]))
            intercept = np.zeros(len(self.labels))
            classes = est.classes_
            if len(classes) == 2 and est.coef_.shape[0] == 1:
                coef[classes[1]], intercept[classes[1]] = est.coef_[0], est.intercept_[0]
            else:
                coef[classes], intercept[classes] = est.coef_, est.intercept_
            self.estimators_ = [est]
        else:
            F = Xt.shape[1]
            coef = np.zeros((len(self.labels), F))
            intercept = np.zeros(len(self.labels))
            ncols = self._neighbour_columns()
            self.neighbour_coef_ = np.zeros((len(ncols), 2 * F))
            Xn = None
            if ncols:
                self.word_mask_ = np.array([is_word_ngram(f) for f in
                                            self.vectorizer_.get_feature_names_out()], dtype=np.float64)
                Xn = sparse.hstack([Xt, self._neighbour_matrix(X, Xt)], format="csr")
            self.estimators_ = []
            for j, label in enumerate(self.labels):
                y = Y[:, j]
                if y.min() == y.max():
                    raise TrainingError(f"label '{label}' has {'no' if y.max() == 0 else 'only'} "
                                        "positive examples in the training data")
                est = self._estimator().fit(Xn if j in ncols else Xt, y,
                                            sample_weight=_column(sample_weight, j))
                coef[j], intercept[j] = est.coef_[0, :F], est.intercept_[0]
                if j in ncols:
                    self.neighbour_coef_[ncols.index(j)] = est.coef_[0, F:]
                self.estimators_.append(est)
        self.coef_ = coef
        self.intercept_ = intercept
        self.numbers_ = self._fit_numbers([toks for toks, _ in splits], Y, sample_weight)
        self.thresholds_ = np.full(len(self.labels), float(self.default_threshold))
        return self

    def _neighbour_columns(self) -> list[int]:
        """Columns of the labels whose model also reads the neighbouring sentences."""
        if self.exclusive:
            return []
        return [j for j, label in enumerate(self.labels) if label in self.features.neighbour_labels]

    def _neighbour_matrix(self, X: list, Xt: Any) -> Any:
        """Per sentence, `neighbour_weight` x the L2-normalised word n-gram TF-IDF of the
        previous sentence, then of the next (zeros where a record has none, and for
        plain strings): a denial reads the claim it answers from its neighbours.

        Only word n-grams, normalised among themselves, so a neighbour's vector depends
        on its text alone: it is taken from `Xt` (the rows of X) when the neighbour is one
        of X's sentences, as in whole articles, and the fast scorer does the same.
        """
        sides = [[context_of(x).get(side) or "" for x in X] for side in ("prev", "next")]
        texts = sorted({t for side in sides for t in side if t})
        if not texts:
            return sparse.csr_matrix((len(X), 2 * len(self.word_mask_)))
        own: dict[str, int] = {}
        for i, x in enumerate(X):
            own.setdefault(text_of(x), i)
        known = [t for t in texts if t in own]
        rest = [t for t in texts if t not in own]
        V = sparse.vstack([Xt[[own[t] for t in known]], self.vectorizer_.transform(rest)]) \
            if rest else Xt[[own[t] for t in known]]
        V = normalize(V @ sparse.diags(self.word_mask_)).tocsr() * self.features.neighbour_weight
        V = sparse.vstack([V, sparse.csr_matrix((1, V.shape[1]))], format="csr")  # row for ""
        row = {t: i for i, t in enumerate(known + rest)}
        blocks = [V[[row.get(t, len(texts)) for t in side]] for side in sides]
        return sparse.hstack(blocks, format="csr")

    def _number_columns(self) -> list[int]:
        """Columns of the labels the number model also scores (those being trained)."""
        return [j for j, label in enumerate(self.labels) if label in self.number_labels]

    def _fit_numbers(self, tokens: list[list[str]], Y: np.ndarray, sample_weight: Any
                     ) -> NumberModel | None:
        """The per-number model for `number_labels` from each sentence's tokens, or None
        when there are none."""
        cols = self._number_columns()
        if not cols:
            return None
        if not self.features.number_shapes:
            raise TrainingError("numbers.labels needs features.number_shapes: true "
                                "(the number model reads the number classes)")
        W = None
        if sample_weight is not None:
            W = np.column_stack([np.broadcast_to(np.asarray(_column(sample_weight, j)), len(tokens))
                                 for j in cols])
        model = NumberModel([self.labels[j] for j in cols], self.number_window, self.number_C,
                            self.number_floor, self.max_iter, self.random_state)
        return model.fit_tokens(tokens, Y[:, cols], W)

    def decision_function(self, X: Any) -> np.ndarray:
        """Raw linear scores, one column per label."""
        check_is_fitted(self, "coef_")
        X = _check_texts(X)
        Xt = self.vectorizer_.transform(X)
        dec = np.asarray(Xt @ self.coef_.T) + self.intercept_
        ncols = self._neighbour_columns()
        if ncols:
            dec[:, ncols] += np.asarray(self._neighbour_matrix(X, Xt) @ self.neighbour_coef_.T)
        if self.numbers_ is not None:
            cols = self._number_columns()
            dec[:, cols] = blend(dec[:, cols], self.numbers_.decision_function(X),
                                 self.number_weight)
        return dec

    def predict_proba(self, X: Any) -> np.ndarray:
        """Scores in [0, 1] per label (sigmoid one-vs-rest, softmax when exclusive)."""
        return scores_from_decision(self.decision_function(X), self.exclusive)

    def predict(self, X: Any) -> np.ndarray:
        """0/1 matrix of predicted labels at the stored thresholds."""
        return self.decide(self.predict_proba(X))

    def decide(self, scores: np.ndarray) -> np.ndarray:
        """Turn scores into 0/1 predictions at the stored thresholds."""
        return decide(scores, self.thresholds_, self.exclusive)

    def tune_thresholds(self, scores: np.ndarray, Y: np.ndarray, grid: int = 99) -> "StanceClassifier":
        """Set each label's threshold to the one maximising F1 on held-out (scores, Y)."""
        check_is_fitted(self, "coef_")
        if not self.exclusive:
            self.thresholds_ = tune_thresholds(scores, np.asarray(Y), grid, self.default_threshold)
        return self

    def export(self) -> ModelData:
        """The fitted numbers the runtime scores with (segmentation rules left at their
        defaults: training sets the config's)."""
        check_is_fitted(self, "coef_")
        vocab = self.vectorizer_.vocabulary_
        order = sorted(vocab, key=vocab.get)
        tokens, table = ngram_table(order, self.features.word_ngrams[1])
        numbers = None
        if self.numbers_ is not None:  # its tokens join the scorer's token list
            numbers = self.numbers_.export(tokens, self.number_weight)
        neighbours = None
        ncols = self._neighbour_columns()
        if ncols:  # neighbour_weight folded in: (features, previous labels + next labels)
            F = self.neighbour_coef_.shape[1] // 2
            w = self.neighbour_coef_ * self.features.neighbour_weight
            neighbours = NeighbourWeights(
                [self.labels[j] for j in ncols],
                np.ascontiguousarray(np.hstack([w[:, :F].T, w[:, F:].T]), dtype=np.float64))
        return ModelData(
            labels=list(self.labels), exclusive=bool(self.exclusive),
            thresholds=[float(t) for t in self.thresholds_], spec=self.features,
            features=order, ngram_tokens=tokens, ngram_table=table,
            idf=np.asarray(self.vectorizer_.idf_, dtype=np.float64),
            coef=np.ascontiguousarray(self.coef_.T, dtype=np.float64),
            intercept=np.asarray(self.intercept_, dtype=np.float64),
            numbers=numbers, neighbours=neighbours)

    def top_number_features(self, n: int = 10) -> dict[str, list[tuple[str, float]]]:
        """The number contexts with the largest positive weight per label ({} without
        a number model)."""
        check_is_fitted(self, "coef_")
        return {} if self.numbers_ is None else self.numbers_.top_features(n)

    def top_features(self, n: int = 15) -> dict[str, list[tuple[str, float]]]:
        """The n features with the largest positive weight per label (for the model card)."""
        check_is_fitted(self, "coef_")
        names = self.vectorizer_.get_feature_names_out()  # column order, without a full export
        out = {}
        for j, label in enumerate(self.labels):
            idx = np.argsort(-self.coef_[j])[:n]
            out[label] = [(str(names[i]), round(float(self.coef_[j, i]), 4)) for i in idx]
        return out
