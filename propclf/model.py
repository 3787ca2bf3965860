"""The estimator: TF-IDF + logistic regression, calibrated, with bands, documents and reasons."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal, overload

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from propclf.features import FastTfidfVectorizer, analyze_many, is_other_language, is_word
from propclf.result import BANDS, LABELS, PassageHit, Reason
from propclf.text import (
    QUOTE_PREFIXES,
    QuoteMode,
    attributed_quotes,
    canonical_token,
    is_boilerplate,
    letter_runs,
    quote_spans,
    split_passages,
)

__all__ = ["PropagandaClassifier", "as_texts", "coverage_of", "encode_labels"]

_POS, _NEG = LABELS[1], LABELS[0]
_CHUNK = re.compile(r"\S+")


def encode_labels(y: Iterable[Any]) -> np.ndarray:
    """Map labels (``"propaganda"``/``"reporting"``, 1/0, True/False) to 1/0."""
    out = []
    for v in y:
        if v in (_POS, 1, True, "1"):
            out.append(1)
        elif v in (_NEG, 0, False, "0"):
            out.append(0)
        else:
            raise ValueError(f"unknown label {v!r}; use 'propaganda' or 'reporting' (or 1/0)")
    return np.asarray(out, dtype=np.int64)


def as_texts(X: Any) -> list[str]:
    """Validate an input batch: a sequence of ``str`` (one string alone is refused)."""
    if isinstance(X, str | bytes):
        raise TypeError("expected a sequence of texts, got a single string; wrap it in a list")
    if hasattr(X, "ndim") and getattr(X, "ndim", 1) == 2:
        X = np.asarray(X).ravel()  # a one-column frame/array
    texts = list(X)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"text {i} is {type(t).__name__}, not str")
    return texts


def _log_count_ratio(X: Any, y: np.ndarray, sw: np.ndarray | None, alpha: float) -> np.ndarray:
    """Naive-Bayes log-count ratio per column (Wang & Manning 2012), from weighted presence."""
    w = np.ones(len(y)) if sw is None else sw
    present = (X > 0).astype(np.float64).T
    p = alpha + present @ (w * (y == 1))
    q = alpha + present @ (w * (y == 0))
    return np.asarray(np.log((p / p.sum()) / (q / q.sum())), dtype=np.float64)


def coverage_of(word_counts: Any) -> np.ndarray:
    """Coverage from word counts (columns: known words, words): NaN where there are no words.

    Examples
    --------
    >>> coverage_of([[3, 4], [0, 0]]).tolist()
    [0.75, nan]
    """
    n = np.asarray(word_counts, dtype=np.int64).reshape(-1, 2)
    return np.where(n[:, 1] > 0, n[:, 0] / np.maximum(n[:, 1], 1), np.nan)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))


class PropagandaClassifier(ClassifierMixin, BaseEstimator):
    """Propaganda-versus-reporting classifier over raw texts.

    A :class:`~sklearn.pipeline.Pipeline` of :class:`~propclf.features.FastTfidfVectorizer` (word
    uni+bigrams over normalised, de-obfuscated text, with quoted speech in its own feature space)
    and :class:`~sklearn.linear_model.LogisticRegression`, followed by Platt calibration fitted on
    out-of-fold (grouped when ``groups`` are given) decision values.

    Parameters
    ----------
    quotes : {"reported", "attributed", "separate", "mask", "ignore"}, default="separate"
        Treatment of quoted speech (see :func:`propclf.text.normalize_many`).
    min_df : int, default=2
        Minimum document frequency of an n-gram.
    max_features : int or None, default=200_000
        Vocabulary cap (most frequent n-grams).
    C : float, default=4.0
        Inverse regularisation strength of the logistic regression.
    class_weight : "balanced", dict or None, default="balanced"
        Class weights of the logistic regression.
    calibrate : bool, default=True
        Fit a sigmoid on out-of-fold decision values so that ``predict_proba`` is calibrated.
    cv : int, default=5
        Folds for calibration.
    flag_threshold : float, default=0.5
        ``score >= flag_threshold`` → band ``flag`` and label ``propaganda``.
    review_threshold : float, default=0.25
        ``review_threshold <= score < flag_threshold`` → band ``review``.
    passage_chars : int, default=400
        Long texts are scored by passages of at most this many characters (documents).
    min_passage_words : int, default=6
        Passages with fewer words (and boilerplate lines) never trigger a document on their own.
    document_correction : float, default=0.5
        How much a document's score is discounted for its number of passages ``n`` (a long page
        has more chances to hold one passage that scores high by chance): the strongest
        passage's score is mapped to its share ``a`` of held-out *reporting* passages scoring at
        least as high, ``a`` to ``1 - (1 - a) ** (n ** document_correction)`` (Šidák's
        correction for ``n ** document_correction`` independent passages) and that back to a
        score. ``0`` keeps the plain maximum; one-passage texts are never changed. Needs the
        held-out scores of calibration (``calibrate=True``); otherwise the maximum is used.
    random_state : int, default=0
        Seed for the fold shuffling.
    nb_smoothing : float or None, default=None
        When set, scale each feature by its Naive-Bayes log-count ratio (with this additive
        smoothing) before the regression (NBSVM-style); the ratio is folded into the
        coefficients. The training command uses 1.0.
    exclude_tokens : tuple of str, default=()
        Tokens that may not carry weight: every n-gram containing one (or its quoted ``q_`` or
        ``r_`` form) gets a zero coefficient, and the token has no subword features. Training uses it for names that identify one source
        rather than a function (see :func:`propclf.training.source_specific_names`).
    segment_words : bool, default=False
        Split words run together without spaces or capitals ("jointheranks", lower-case
        hashtags) into vocabulary words when the vocabulary lacks the whole (see
        :class:`propclf.features.Segmenter`). The training command turns it on.

    Attributes
    ----------
    classes_ : ndarray of str
        ``["propaganda", "reporting"]`` (sorted, as scikit-learn does).
    pipeline_ : Pipeline
        The fitted vectoriser + logistic regression.
    calibration_ : tuple of float
        Slope and intercept applied to the decision function before the sigmoid.
    oof_decision_, oof_fold_ : ndarray
        Out-of-fold (held-out group) decision values and fold numbers of the training texts,
        from the calibration folds (present after ``fit`` with ``calibrate=True``).
    reporting_quantiles_ : ndarray of float or None
        Quantiles (4001 levels) of the calibrated held-out scores of the reporting training
        texts: the reference for ``document_correction`` (``None`` without calibration).

    Examples
    --------
    >>> clf = PropagandaClassifier(min_df=1, cv=2).fit(
    ...     ["join our ranks brothers", "police said the group attacked",
    ...      "the enemy will burn, join us", "officials condemned the attack"],
    ...     ["propaganda", "reporting", "propaganda", "reporting"])
    >>> clf.score(["join us brothers"]).shape
    (1,)
    """

    def __init__(
        self,
        quotes: QuoteMode = "separate",
        min_df: int = 2,
        max_features: int | None = 200_000,
        C: float = 4.0,
        class_weight: str | dict[str, float] | None = "balanced",
        calibrate: bool = True,
        cv: int = 5,
        flag_threshold: float = 0.5,
        review_threshold: float = 0.25,
        passage_chars: int = 400,
        min_passage_words: int = 6,
        random_state: int = 0,
        exclude_tokens: tuple[str, ...] = (),
        nb_smoothing: float | None = None,
        document_correction: float = 0.5,
        subword_buckets: int = 0,
        segment_words: bool = False,
    ) -> None:
        self.quotes = quotes
        self.min_df = min_df
        self.max_features = max_features
        self.C = C
        self.class_weight = class_weight
        self.calibrate = calibrate
        self.cv = cv
        self.flag_threshold = flag_threshold
        self.review_threshold = review_threshold
        self.passage_chars = passage_chars
        self.min_passage_words = min_passage_words
        self.random_state = random_state
        self.exclude_tokens = exclude_tokens
        self.nb_smoothing = nb_smoothing
        self.document_correction = document_correction
        self.subword_buckets = subword_buckets
        self.segment_words = segment_words

    def __getstate__(self) -> dict[str, Any]:
        # The fitted pipeline is pickled as plain arrays (see _portable_pipeline), so a saved
        # model holds no scikit-learn object and loads under any scikit-learn release.
        state: dict[str, Any] = dict(super().__getstate__())  # a copy: never alter self
        # where it was loaded from describes the file, not the model: load() sets them again
        state.pop("manifest_", None)
        state.pop("path_", None)
        if isinstance(state.get("pipeline_"), Pipeline):
            state["pipeline_"] = _portable_pipeline(state["pipeline_"])
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # models saved before a parameter existed behave as they did then
        state.setdefault("exclude_tokens", ())
        state.setdefault("nb_smoothing", None)
        state.setdefault("document_correction", 0.0)
        state.setdefault("reporting_quantiles_", None)
        state.setdefault("subword_buckets", 0)
        state.setdefault("segment_words", False)
        if isinstance(state.get("pipeline_"), dict):
            state["pipeline_"] = _rebuild_pipeline(state["pipeline_"])
        self.__dict__.update(state)

    def _pickles_without_sklearn(self) -> bool:
        """Whether pickling stores no scikit-learn object (:func:`_portable_pipeline`); false for
        models whose pipeline is not the one propclf fits (an artifact from an early build)."""
        pipe = getattr(self, "pipeline_", None)
        return not isinstance(pipe, Pipeline) or isinstance(_portable_pipeline(pipe), dict)

    # -- fitting ---------------------------------------------------------------------------------
    def _make_pipeline(self) -> Pipeline:
        cw: Any = self.class_weight
        if isinstance(cw, dict):  # labels may be given by name; the pipeline sees 1/0
            cw = {int(k == _POS) if isinstance(k, str) else k: v for k, v in cw.items()}
        return Pipeline(
            [
                (
                    "tfidf",
                    FastTfidfVectorizer(
                        quotes=self.quotes,
                        min_df=self.min_df,
                        max_features=self.max_features,
                        subword_buckets=self.subword_buckets,
                        subword_exclude=tuple(self.exclude_tokens),
                        segment_words=self.segment_words,
                    ),
                ),
                ("clf", LogisticRegression(C=self.C, class_weight=cw, solver="liblinear")),
            ]
        )

    def _fit_pipeline(self, texts: list[str], y: np.ndarray, sw: np.ndarray | None) -> Pipeline:
        """Fit vectoriser and regression.

        Excluded n-grams are zero columns, so they get zero weights. With ``nb_smoothing`` the
        regression is fitted on features scaled by their log-count ratio and the ratio is then
        folded into the coefficients, so predicting needs no extra step.
        """
        import scipy.sparse as sp

        pipe = self._make_pipeline()
        vec, clf = pipe.named_steps["tfidf"], pipe.named_steps["clf"]
        Xt = vec.fit_transform(texts)
        if self.exclude_tokens:
            excluded = set(self.exclude_tokens)
            excluded |= {p + t for t in excluded for p in QUOTE_PREFIXES}
            keep = np.ones(Xt.shape[1], dtype=np.float32)  # subword columns: excluded by type
            keep[: vec.n_word_features_] = [
                not excluded.intersection(name.split(" ")) for name in vec.feature_names_
            ]
            if not keep.all():
                Xt = Xt @ sp.diags(keep.astype(Xt.dtype))
        if self.nb_smoothing is None:
            clf.fit(Xt, y, sample_weight=sw)
            return pipe
        ratio = _log_count_ratio(Xt, y, sw, self.nb_smoothing)
        clf.fit(Xt @ sp.diags(ratio.astype(Xt.dtype)), y, sample_weight=sw)
        clf.coef_ = clf.coef_ * ratio
        return pipe

    def fit(
        self,
        X: Sequence[str],
        y: Iterable[Any],
        sample_weight: Any = None,
        groups: Any = None,
    ) -> PropagandaClassifier:
        """Fit on raw texts and labels.

        Parameters
        ----------
        X : sequence of str
            Raw texts (passages).
        y : iterable
            ``"propaganda"`` / ``"reporting"`` (or 1 / 0).
        sample_weight : array-like, optional
            Per-text weights (noisy labels get less).
        groups : array-like, optional
            Source groups (account, forum user, country, outlet); calibration folds never split a
            group, so calibration is fitted on unseen groups.
        """
        if not 0.0 <= self.review_threshold <= self.flag_threshold <= 1.0:
            raise ValueError("need 0 <= review_threshold <= flag_threshold <= 1")
        texts = as_texts(X)
        yy = encode_labels(y)
        if len(texts) != len(yy):
            raise ValueError(f"X has {len(texts)} texts but y has {len(yy)} labels")
        if len(set(yy.tolist())) < 2:
            raise ValueError("training data must contain both propaganda and reporting texts")
        sw = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        self.classes_ = np.array(sorted(LABELS))
        self.calibration_ = (1.0, 0.0)
        self.reporting_quantiles_ = None
        for stale in ("oof_decision_", "oof_fold_"):
            self.__dict__.pop(stale, None)
        if self.calibrate:
            self.calibration_ = self._fit_calibration(texts, yy, sw, groups)
            oof = getattr(self, "oof_decision_", None)
            if oof is not None and (yy == 0).any():
                a, b = self.calibration_
                held_out = _sigmoid(a * oof[yy == 0] + b)
                self.reporting_quantiles_ = np.quantile(held_out, np.linspace(0, 1, 4001))
        self.pipeline_ = self._fit_pipeline(texts, yy, sw)
        self.n_features_in_ = 1
        return self

    def _oof_decision(
        self, texts: list[str], y: np.ndarray, sw: np.ndarray | None, groups: Any
    ) -> np.ndarray:
        """Out-of-fold decision values (folds grouped when ``groups`` is given)."""
        if groups is not None:
            g = np.asarray(groups)
            n = min(self.cv, len(set(g.tolist())))
            sgkf = StratifiedGroupKFold(n_splits=n, shuffle=True, random_state=self.random_state)
            splits = list(sgkf.split(texts, y, g))
        else:
            n = int(min(self.cv, np.bincount(y).min()))
            skf = StratifiedKFold(n_splits=n, shuffle=True, random_state=self.random_state)
            splits = list(skf.split(texts, y))
        oof = np.zeros(len(texts))
        fold = np.zeros(len(texts), dtype=np.int64)
        for k, (tr, te) in enumerate(splits):
            fold[te] = k
            pipe = self._fit_pipeline([texts[i] for i in tr], y[tr], None if sw is None else sw[tr])
            oof[te] = pipe.decision_function([texts[i] for i in te])
        # kept for the training report (held-out metrics, thresholds); dropped before saving
        self.oof_decision_, self.oof_fold_ = oof, fold
        return oof

    def _fit_calibration(
        self, texts: list[str], y: np.ndarray, sw: np.ndarray | None, groups: Any
    ) -> tuple[float, float]:
        if min(np.bincount(y)) < 2:
            return (1.0, 0.0)
        oof = self._oof_decision(texts, y, sw, groups)
        platt = LogisticRegression(C=1e6, solver="lbfgs")
        platt.fit(oof.reshape(-1, 1), y, sample_weight=sw)
        return (float(platt.coef_[0, 0]), float(platt.intercept_[0]))

    # -- predicting ------------------------------------------------------------------------------
    def decision_function(self, X: Sequence[str]) -> np.ndarray:
        """Calibrated log-odds of propaganda (positive means propaganda is more likely)."""
        check_is_fitted(self, "pipeline_")
        return self._decision(as_texts(X), counts=False)[0]

    def _decision(self, texts: list[str], counts: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """Decision values and, with ``counts``, each text's known words and words (see
        :meth:`coverage`), counted from the tokens that were scored (one tokenisation)."""
        if not texts:
            return np.zeros(0), np.zeros((0, 2), dtype=np.int64) if counts else None
        a, b = self.calibration_
        vec, clf = self.pipeline_.named_steps["tfidf"], self.pipeline_.named_steps["clf"]
        if isinstance(vec, FastTfidfVectorizer) and clf.coef_.shape[0] == 1:
            # equals pipeline_.decision_function, without building the sparse matrix
            if counts:
                dots, n = vec.transform_dot_counts(texts, clf.coef_)
                return a * (dots + clf.intercept_[0]) + b, n
            return a * (vec.transform_dot(texts, clf.coef_) + clf.intercept_[0]) + b, None
        d = a * self.pipeline_.decision_function(texts) + b
        return d, self._word_counts(texts) if counts else None

    def _scores(self, texts: list[str], counts: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """:meth:`score` of validated texts and, with ``counts``, their word counts."""
        check_is_fitted(self, "pipeline_")
        d, n = self._decision(texts, counts)
        return _sigmoid(d), n

    def _word_counts(self, texts: list[str]) -> np.ndarray:
        """Known words and words of each text (columns 0 and 1), tokenised as the model does."""
        vec = self.pipeline_.named_steps["tfidf"]
        if isinstance(vec, FastTfidfVectorizer):
            return vec.word_counts(texts)
        vocab = vec.vocabulary_  # another vectoriser: its unigram columns
        out = np.zeros((len(texts), 2), dtype=np.int64)
        for k, toks in enumerate(analyze_many(texts, self.quotes)):
            words = [t for t in toks if is_word(t)]
            known = sum(t in vocab and not is_other_language(t) for t in words)
            out[k] = (known, len(words))
        return out

    def coverage(self, X: Sequence[str]) -> np.ndarray:
        """Vocabulary coverage: the share of each text's words that the model has features for.

        The model is trained on English: a text most of whose words it does not know (another
        language, a script it never saw) gets a score from the few words it does know, and that
        score says little. A word is a token of the model's own tokenisation with two letters or
        more (:func:`propclf.features.is_word`: punctuation, the digit placeholder and single
        letters are not words); it is known when it is a unigram feature of the vocabulary and
        not one of the commonest function words of another language
        (:data:`propclf.language.OTHER_LANGUAGE_WORDS`: the corpora taught the vocabulary
        everyday French, Spanish, German...; those words still weigh in the score). Every
        occurrence counts. :class:`propclf.scoring.Scorer` warns when the coverage of a
        text of at least ``MIN_COVERAGE_WORDS`` words is below ``LOW_COVERAGE``, from the same
        tokenisation that scores it.

        Parameters
        ----------
        X : sequence of str
            Raw texts.

        Returns
        -------
        ndarray of float
            Known words / words for each text, in [0, 1]; NaN for a text without words.

        Examples
        --------
        >>> clf = PropagandaClassifier(min_df=1, cv=2).fit(
        ...     ["join our ranks brothers", "police said the group attacked",
        ...      "the enemy will burn, join us", "officials condemned the attack"],
        ...     ["propaganda", "reporting", "propaganda", "reporting"])
        >>> clf.coverage(["police said the unknown group", "la police du quartier", "!! 2"]).tolist()
        [0.8, 0.25, nan]
        """
        check_is_fitted(self, "pipeline_")
        return coverage_of(self._word_counts(as_texts(X)))

    def score(self, X: Sequence[str], y: Any = None, sample_weight: Any = None) -> Any:
        """P(propaganda) for each text; with ``y``, mean accuracy (scikit-learn's convention).

        The two forms keep model selection tools (``GridSearchCV``) working while the everyday
        call ``model.score(texts)`` returns the scores.
        """
        if y is not None:
            return super().score(X, y, sample_weight=sample_weight)
        return _sigmoid(self.decision_function(X))

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        """Class probabilities in the order of ``classes_``."""
        p = self.score(X)
        out = np.empty((len(p), 2))
        pos = int(np.flatnonzero(self.classes_ == _POS)[0])
        out[:, pos] = p
        out[:, 1 - pos] = 1.0 - p
        return out

    def predict(self, X: Sequence[str], threshold: float | None = None) -> np.ndarray:
        """``"propaganda"`` where the score reaches the flag threshold, else ``"reporting"``."""
        t = self.flag_threshold if threshold is None else threshold
        return np.where(self.score(X) >= t, _POS, _NEG)

    def band(
        self, scores: np.ndarray, flag: float | None = None, review: float | None = None
    ) -> np.ndarray:
        """``flag`` / ``review`` / ``pass`` for each score."""
        f = self.flag_threshold if flag is None else flag
        r = self.review_threshold if review is None else review
        if not 0.0 <= r <= f <= 1.0:
            raise ValueError(f"need 0 <= review ({r}) <= flag ({f}) <= 1")
        s = np.asarray(scores)
        return np.where(s >= f, BANDS[0], np.where(s >= r, BANDS[1], BANDS[2]))

    # -- documents -------------------------------------------------------------------------------
    @overload
    def score_documents(
        self,
        X: Sequence[str],
        review: float | None = None,
        batch_size: int = 2048,
        *,
        return_word_counts: Literal[False] = False,
    ) -> tuple[np.ndarray, list[tuple[PassageHit, ...]]]: ...

    @overload
    def score_documents(
        self,
        X: Sequence[str],
        review: float | None = None,
        batch_size: int = 2048,
        *,
        return_word_counts: Literal[True],
    ) -> tuple[np.ndarray, list[tuple[PassageHit, ...]], np.ndarray]: ...

    def score_documents(
        self,
        X: Sequence[str],
        review: float | None = None,
        batch_size: int = 2048,
        *,
        return_word_counts: bool = False,
    ) -> (
        tuple[np.ndarray, list[tuple[PassageHit, ...]]]
        | tuple[np.ndarray, list[tuple[PassageHit, ...]], np.ndarray]
    ):
        """Score documents by passage.

        Rule: a text no longer than ``passage_chars`` is one passage. A longer text is split
        into passages (:func:`propclf.text.split_passages`); passages that are boilerplate or
        shorter than ``min_passage_words`` words are skipped; each passage is scored and its
        score discounted for the number ``n`` of passages scored (``document_correction``,
        :meth:`correct_for_passages`); the document score is the **maximum** discounted
        passage score, so one propaganda passage is not diluted by a long page, while a long
        page is not flagged merely for having many chances (when every passage is skipped, the
        whole text is scored). Passages whose discounted score reaches the review threshold
        are returned with their character offsets and discounted scores.

        Parameters
        ----------
        X : sequence of str
            Raw texts (documents).
        review : float, optional
            Passages from this score up are returned (default: ``review_threshold``).
        batch_size : int, default=2048
            Passages scored at once.
        return_word_counts : bool, default=False
            Also return each document's word counts (see :meth:`coverage`), counted from the
            tokens that were scored: the scored passages' words, summed, for a long document.

        Returns
        -------
        scores : ndarray
            One score per document.
        hits : list of tuple of PassageHit
            The triggering passages of each document (empty for short texts).
        word_counts : ndarray of int64, shape (n_documents, 2)
            Only with ``return_word_counts``: known words (column 0) and words (column 1).
        """
        texts = as_texts(X)
        want = bool(return_word_counts)
        r = self.review_threshold if review is None else review
        hits: list[tuple[PassageHit, ...]] = [() for _ in texts]
        short = [i for i, t in enumerate(texts) if len(t) <= self.passage_chars]
        if len(short) == len(texts):  # every text is one passage (a batch of posts)
            scores, n = self._scores(texts, want)
            if n is None:
                return scores, hits
            return scores, hits, n
        scores = np.zeros(len(texts))
        counts = np.zeros((len(texts), 2), dtype=np.int64)
        if short:
            scores[short], n = self._scores([texts[i] for i in short], want)
            if n is not None:
                counts[short] = n
        for i, t in enumerate(texts):
            if len(t) <= self.passage_chars:
                continue
            parts = [
                p
                for p in split_passages(t, self.passage_chars)
                if not is_boilerplate(p.text, self.min_passage_words)
            ]
            if not parts:
                whole, n = self._scores([t[: self.passage_chars * 4]], want)
                scores[i] = whole[0]
                if n is not None:
                    counts[i] = n[0]
                continue
            scored = [
                self._scores([p.text for p in parts[k : k + batch_size]], want)
                for k in range(0, len(parts), batch_size)
            ]
            ps = np.concatenate([s for s, _ in scored])
            if want:
                counts[i] = sum(n.sum(axis=0) for _, n in scored if n is not None)
            ps = self.correct_for_passages(ps, len(parts))
            scores[i] = float(ps.max())
            bands = self.band(ps, review=min(r, self.flag_threshold))
            hits[i] = tuple(
                PassageHit(p.start, p.end, float(s), str(b))
                for p, s, b in zip(parts, ps, bands, strict=True)
                if s >= r
            )
        if want:
            return scores, hits, counts
        return scores, hits

    def correct_for_passages(self, scores: Any, n: Any) -> np.ndarray:
        """Passage scores discounted for the number of passages ``n`` of their document.

        A score ``s`` becomes the score whose share of held-out reporting passages at or above
        it is ``1 - (1 - a) ** (n ** document_correction)``, ``a`` being the share at or above
        ``s`` (so a page of ``n`` passages is as likely to reach a threshold by chance as one
        passage of reporting). Never above ``s``; unchanged for ``n = 1``, with
        ``document_correction = 0`` or without held-out reference scores.

        Examples
        --------
        >>> model = PropagandaClassifier()
        >>> model.reporting_quantiles_ = np.linspace(0, 1, 4001)  # uniform reference
        >>> model.correct_for_passages([0.9], 4).round(3).tolist()  # share 0.1 → 1 - 0.9**2
        [0.81]
        """
        s = np.asarray(scores, dtype=np.float64)
        q = getattr(self, "reporting_quantiles_", None)
        gamma = float(getattr(self, "document_correction", 0.0) or 0.0)
        n_eff = np.asarray(n, dtype=np.float64) ** gamma
        if q is None or gamma <= 0.0 or not np.any(n_eff > 1.0):
            return s
        levels = np.linspace(0.0, 1.0, len(q))
        share = 1.0 - np.interp(s, q, levels, left=0.0, right=1.0)
        adjusted = 1.0 - (1.0 - share) ** np.maximum(n_eff, 1.0)
        out = np.interp(1.0 - adjusted, levels, q)
        return np.where(share > 0.0, np.minimum(out, s), s)

    # -- reasons ---------------------------------------------------------------------------------
    def top_features(self, n: int = 20) -> dict[str, list[tuple[str, float]]]:
        """The ``n`` strongest n-grams for each class, with their weights."""
        check_is_fitted(self, "pipeline_")
        names = self.pipeline_.named_steps["tfidf"].feature_names_
        coef = self.pipeline_.named_steps["clf"].coef_.ravel()[: len(names)]
        coef = coef * self.calibration_[0]
        order = np.argsort(coef)
        return {
            _POS: [(str(names[j]), float(coef[j])) for j in order[::-1][:n]],
            _NEG: [(str(names[j]), float(coef[j])) for j in order[:n]],
        }

    def explain(self, text: str, top: int = 10) -> tuple[Reason, ...]:
        """The n-grams that drove the score of ``text``, strongest first.

        Each :class:`~propclf.result.Reason` has the n-gram (as the model sees it: normalised,
        ``q_`` marking quoted speech and, in the ``reported`` quote mode, unquoted reported
        beliefs; ``r_`` attributed speech), its contribution to the log-odds
        (positive pushes towards propaganda) and the character spans where it occurs in
        ``text``. With subword features, a word's spelling (its character n-grams) is a reason
        of its own, written ``~word``. The contributions of all reasons plus the intercept add up
        to :meth:`decision_function`.
        """
        check_is_fitted(self, "pipeline_")
        if not isinstance(text, str):
            raise TypeError("explain takes one text (str)")
        vec: FastTfidfVectorizer = self.pipeline_.named_steps["tfidf"]
        coef = self.pipeline_.named_steps["clf"].coef_.ravel() * self.calibration_[0]
        row = vec.transform([text])
        words = row.indices < vec.n_word_features_
        indices = row.indices[words]
        names = [str(n) for n in vec.feature_names_[indices]]
        contrib = (row.data[words] * coef[indices]).tolist()
        for tok, c in vec.subword_contributions(text, coef):
            names.append("~" + tok)
            contrib.append(c)
        aligned = self._aligned_tokens(text)
        out = []
        for k in np.argsort(-np.abs(np.asarray(contrib)), kind="stable")[:top].tolist():
            if contrib[k] == 0.0:  # excluded n-grams (and exact zeros) explain nothing
                continue
            ngram = names[k]
            spans = _find_spans(ngram.removeprefix("~").split(" "), aligned)
            out.append(Reason(ngram, float(contrib[k]), spans))
        return tuple(out)

    def _aligned_tokens(self, text: str) -> list[tuple[str, int, int]]:
        """Model tokens of ``text`` with the character span of the word each came from."""
        chunks = list(_CHUNK.finditer(text))
        quoted = (
            quote_spans(text, reported=self.quotes == "reported")
            if self.quotes in ("reported", "separate", "attributed")
            else []
        )
        prefixes = ["q_"] * len(quoted)
        if self.quotes == "attributed" and quoted:
            bounds = [0, *(i for span in quoted for i in span), len(text)]
            between = [text[bounds[k] : bounds[k + 1]] for k in range(0, len(bounds), 2)]
            prefixes = ["r_" if a else "q_" for a in attributed_quotes(between)]
        toks = analyze_many([m.group() for m in chunks], quotes="ignore")
        vec: FastTfidfVectorizer = self.pipeline_.named_steps["tfidf"]
        # (token, spans of its letters or of the whole word, quote prefix), as the chunks give them
        raw: list[tuple[str, list[tuple[int, int]], str]] = []
        for m, ts in zip(chunks, toks, strict=True):
            low = m.group().lower()
            cursor = 0
            for t in ts:
                at = low.find(t, cursor)
                if at >= 0:  # the token is spelled out in the chunk: point at it exactly
                    span = (m.start() + at, m.start() + at + len(t))
                    cursor = at + len(t)
                else:  # de-obfuscated or folded: point at the whole chunk
                    span = (m.start(), m.end())
                inside = (
                    p
                    for (s, e), p in zip(quoted, prefixes, strict=True)
                    if s <= span[0] < span[1] <= e
                )
                prefix = next(inside, "") if t not in "!?" else ""
                raw.append((t, [span], prefix))
        out: list[tuple[str, int, int]] = []
        for t, spans, prefix in _merge_spaced_letters(raw):
            token = prefix + t
            span = (spans[0][0], spans[-1][1])
            pieces = vec.segment_tokens([token])
            if len(pieces) == 1:
                out.append((token, *span))
                continue
            if len(spans) == len(t):  # letters spaced out: a piece spans its own letters
                k = 0
                for piece in pieces:
                    n = len(piece) - len(prefix)
                    out.append((piece, spans[k][0], spans[k + n - 1][1]))
                    k += n
                continue
            word = text[span[0] : span[1]].lower()  # a run-together word: point at each piece
            at = 0
            for piece in pieces:
                core = piece[len(prefix) :]
                k = word.find(core, at)
                if k < 0:
                    out.append((piece, *span))
                else:
                    out.append((piece, span[0] + k, span[0] + k + len(core)))
                    at = k + len(core)
        return out


def _merge_spaced_letters(
    raw: list[tuple[str, list[tuple[int, int]], str]],
) -> list[tuple[str, list[tuple[int, int]], str]]:
    """Join runs of three or more unquoted single letters into one word, as the vectoriser does
    (``k i l l``, one letter per chunk), keeping the span of each letter."""
    out: list[tuple[str, list[tuple[int, int]], str]] = []
    letters = [not prefix and len(t) == 1 and "a" <= t <= "z" for t, _, prefix in raw]
    for i, j, run in letter_runs(letters):
        if not run:
            out.extend(raw[i:j])
            continue
        word = canonical_token("".join(t for t, _, _ in raw[i:j]))
        spans = [span for _, sp, _ in raw[i:j] for span in sp]
        out.append((word, spans if len(word) == len(spans) else [spans[0], spans[-1]], ""))
    return out


def _find_spans(
    ngram: list[str], aligned: list[tuple[str, int, int]]
) -> tuple[tuple[int, int], ...]:
    n = len(ngram)
    spans = []
    for i in range(len(aligned) - n + 1):
        if all(aligned[i + k][0] == ngram[k] for k in range(n)):
            spans.append((aligned[i][1], aligned[i + n - 1][2]))
    return tuple(dict.fromkeys(spans))


#: Version of the plain form in which a fitted pipeline is pickled (:func:`_portable_pipeline`).
PORTABLE_STATE_VERSION = 1


def _portable_pipeline(pipe: Pipeline) -> dict[str, Any] | Pipeline:
    """A fitted ``tfidf -> LogisticRegression`` pipeline as propclf's vectoriser and plain arrays.

    A pickled scikit-learn estimator can be read only by the scikit-learn release that wrote it;
    the regression's fitted state is two arrays, so propclf stores those and rebuilds the
    estimator on loading (:func:`_rebuild_pipeline`). Any other pipeline is returned as it is.
    """
    steps: dict[str, Any] = dict(pipe.steps)
    # only the pipeline propclf fits is rebuilt from arrays (a subclass of the regression would
    # come back as the base class); anything else is pickled whole
    if (
        list(steps) != ["tfidf", "clf"]
        or type(steps["tfidf"]) is not FastTfidfVectorizer
        or type(steps["clf"]) is not LogisticRegression
    ):
        return pipe
    clf = steps["clf"]
    return {
        "portable": PORTABLE_STATE_VERSION,
        "tfidf": steps["tfidf"],
        "clf_params": {k: v for k, v in clf.get_params().items() if _plain(v)},
        "coef_": np.asarray(clf.coef_),
        "intercept_": np.asarray(clf.intercept_),
        "classes_": np.asarray(clf.classes_),
    }


def _rebuild_pipeline(state: dict[str, Any]) -> Pipeline:
    """The pipeline :func:`_portable_pipeline` stored, rebuilt with the installed scikit-learn."""
    version = state.get("portable")
    if version != PORTABLE_STATE_VERSION:
        raise ValueError(
            f"the model's fitted state has version {version!r}; this propclf reads version "
            f"{PORTABLE_STATE_VERSION}"
        )
    clf = LogisticRegression()
    known = clf.get_params()
    # parameters this scikit-learn does not have are dropped: they only matter for fitting
    clf.set_params(**{k: v for k, v in state["clf_params"].items() if k in known})
    clf.coef_ = state["coef_"]
    clf.intercept_ = state["intercept_"]
    clf.classes_ = state["classes_"]
    clf.n_features_in_ = int(state["coef_"].shape[1])
    return Pipeline([("tfidf", state["tfidf"]), ("clf", clf)])


def _plain(v: Any) -> bool:
    """A value pickled as builtins only (no class of any library)."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return True
    if isinstance(v, dict):
        return all(_plain(k) and _plain(x) for k, x in v.items())
    return isinstance(v, (list, tuple)) and all(_plain(x) for x in v)
