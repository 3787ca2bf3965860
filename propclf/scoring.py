"""Batch and streaming scoring: items in, one :class:`~propclf.result.Result` out per item, in order.

This is the pre-filter loop. Items are consumed lazily in batches, so memory stays flat however
long the stream; with ``jobs > 1`` batches are scored in worker processes with a bounded window
of batches in flight, and results are still yielded in input order.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from itertools import islice
from typing import Any

import numpy as np

from propclf.inputs import Item
from propclf.result import LABELS, Result

__all__ = [
    "LOW_COVERAGE",
    "MIN_COVERAGE_WORDS",
    "NOT_ENGLISH_COVERAGE",
    "Scorer",
    "classify",
    "coverage_warning",
    "coverage_warnings",
]

log = logging.getLogger(__name__)

#: A scored text of at least this many words (see
#: :meth:`propclf.model.PropagandaClassifier.coverage`) whose vocabulary coverage is below
#: :data:`LOW_COVERAGE` gets a warning: its score rests on the few words the model knows.
MIN_COVERAGE_WORDS = 5
#: Chosen with ``python benchmarks/language.py``: the highest coverage threshold (in steps of
#: 0.025) at which no training corpus has more than 0.5% of its English records warned.
LOW_COVERAGE = 0.7
#: Below this coverage the warning says "probably not English"; between it and
#: :data:`LOW_COVERAGE` it says the text may be English mixed with another language. Measured
#: with the default model (``benchmarks/language.py``'s samples): 87% of the warned non-English
#: tweets fall below 0.5, and 83% of the warned English records (code-mixed, transliterated
#: prayers, chat) fall at or above it.
NOT_ENGLISH_COVERAGE = 0.5


def coverage_warning(known: int, words: int) -> str | None:
    """The warning for a text of which ``known`` of ``words`` words are known (or ``None``).

    Examples
    --------
    >>> coverage_warning(3, 12)
    'low vocabulary coverage: 3 of 12 words known; probably not English, the score is unreliable'
    >>> coverage_warning(7, 12)
    'low vocabulary coverage: 7 of 12 words known; another language, or English mixed with one: the score is unreliable'
    >>> coverage_warning(3, 4) is None  # too few words to tell
    True
    """
    if words < MIN_COVERAGE_WORDS or known / words >= LOW_COVERAGE:
        return None
    what = (
        "probably not English,"
        if known / words < NOT_ENGLISH_COVERAGE
        else "another language, or English mixed with one:"
    )
    return (
        f"low vocabulary coverage: {known} of {words} words known; {what} the score is unreliable"
    )


def coverage_warnings(word_counts: Any) -> list[str | None]:
    """:func:`coverage_warning` of each row of word counts (columns: known words, words)."""
    n = np.asarray(word_counts, dtype=np.int64).reshape(-1, 2)
    known, words = n[:, 0], n[:, 1]
    low = (words >= MIN_COVERAGE_WORDS) & (known / np.maximum(words, 1) < LOW_COVERAGE)
    out: list[str | None] = [None] * len(n)
    for k in np.flatnonzero(low).tolist():
        out[k] = coverage_warning(int(known[k]), int(words[k]))
    return out


@dataclass(frozen=True)
class _Settings:
    flag: float
    review: float
    reasons: int
    documents: bool


class Scorer:
    """Score batches of items with one model and one set of thresholds.

    Parameters
    ----------
    model : PropagandaClassifier
        A fitted model (see :func:`propclf.load_model`).
    flag, review : float, optional
        Thresholds overriding the model's (``review <= flag``).
    reasons : int, default=0
        Attach this many reasons (n-grams with weights and offsets) to each result.
    documents : bool, default=True
        Score long texts by passage (max rule) and report the triggering passages.
    """

    def __init__(
        self,
        model: Any,
        flag: float | None = None,
        review: float | None = None,
        reasons: int = 0,
        documents: bool = True,
    ) -> None:
        f = model.flag_threshold if flag is None else float(flag)
        r = model.review_threshold if review is None else float(review)
        if review is None and r > f:
            r = f  # a lowered flag threshold drags the review threshold along
        if not 0.0 <= r <= f <= 1.0:
            raise ValueError(f"thresholds must satisfy 0 <= review ({r}) <= flag ({f}) <= 1")
        self.model = model
        self.settings = _Settings(f, r, int(reasons), documents)
        manifest = getattr(model, "manifest_", None) or {}
        self.model_id = manifest.get("model_id")

    def score_batch(self, items: Sequence[Item]) -> list[Result]:
        """One result per item, in order; items with an error pass through as error results.

        A scored text of at least :data:`MIN_COVERAGE_WORDS` words of which fewer than
        :data:`LOW_COVERAGE` the model knows gets a ``warning`` (:func:`coverage_warning`),
        counted from the tokens that were scored; label, score and band stay as they are.
        """
        s = self.settings
        good = [i for i, it in enumerate(items) if it.error is None and it.text is not None]
        texts = [items[i].text or "" for i in good]
        out: list[Result | None] = [None] * len(items)
        if texts:
            try:
                if s.documents:
                    scores, hits, counts = self.model.score_documents(
                        texts, review=s.review, return_word_counts=True
                    )
                else:
                    hits = None
                    scores, counts = self.model._scores(texts, counts=True)
                bands = self.model.band(scores, flag=s.flag, review=s.review)
            except Exception as exc:  # one bad text must not sink the batch: retry one by one
                log.warning(
                    "a batch failed (%s: %s); scoring its items one at a time",
                    type(exc).__name__,
                    exc,
                )
                log.debug("batch failure", exc_info=True)
                if len(items) == 1:
                    raise
                return [r for it in items for r in self._safe_batch([it])]
            warnings = coverage_warnings(counts)
            for k, i in enumerate(good):
                score = float(scores[k])
                reasons = None
                if s.reasons:
                    reasons = self.model.explain(texts[k], top=s.reasons)
                passages = hits[k] if hits is not None and hits[k] else None
                out[i] = Result(
                    id=items[i].id,
                    label=LABELS[1] if score >= s.flag else LABELS[0],
                    score=score,
                    band=str(bands[k]),
                    passages=passages,
                    reasons=reasons,
                    model=self.model_id,
                    warning=warnings[k],
                )
        for i, it in enumerate(items):
            if out[i] is None:
                out[i] = Result(id=it.id, error=it.error or "no text", model=self.model_id)
        return [r for r in out if r is not None]

    def score_items(self, items: Iterable[Item], batch_size: int = 512) -> Iterator[Result]:
        """Results for a (possibly endless) iterable of items, lazily, in batches."""
        it = iter(items)
        while batch := list(islice(it, batch_size)):
            yield from self._safe_batch(batch)

    def _safe_batch(self, batch: Sequence[Item]) -> list[Result]:
        try:
            return self.score_batch(batch)
        except Exception as exc:  # a single item that cannot be scored: an error row, no crash
            log.debug("item failed", exc_info=True)
            return [
                Result(id=it.id, error=f"scoring failed: {type(exc).__name__}: {exc}")
                for it in batch
            ]


# -- worker processes ------------------------------------------------------------------------------
_WORKER: Scorer | None = None


def _init_worker(model_path: str | None, kwargs: dict[str, Any]) -> None:
    global _WORKER
    from propclf.persistence import load_model

    _WORKER = Scorer(load_model(model_path), **kwargs)


def _work(batch: list[Item]) -> list[Result]:
    assert _WORKER is not None
    return _WORKER._safe_batch(batch)


def _as_item(n: int, it: Item | str) -> Item:
    if isinstance(it, Item):
        return it
    if isinstance(it, str):
        return Item(str(n), text=it)
    return Item(str(n), error=f"not a text: expected a str, got {type(it).__name__}")


def classify(
    items: Iterable[Item | str],
    model: Any = None,
    *,
    flag: float | None = None,
    review: float | None = None,
    reasons: int = 0,
    documents: bool = True,
    batch_size: int = 512,
    jobs: int = 1,
) -> Iterator[Result]:
    """Score items (or plain strings) and yield one :class:`Result` per item, in input order.

    Parameters
    ----------
    items : iterable of Item or str
        Strings get ids ``"0"``, ``"1"``, ...
    model : PropagandaClassifier or path, optional
        A loaded model or the path of a saved one; default: the embedded model.
    flag, review, reasons, documents
        See :class:`Scorer`.
    batch_size : int, default=512
        Items per batch (memory is bounded by ``batch_size * jobs * 2`` items).
    jobs : int, default=1
        Worker processes (``0`` or negative: all cores). Workers load the model from its path.

    Examples
    --------
    >>> from propclf import classify
    >>> [r.band for r in classify(["Officials said the attack was condemned."])]
    ['pass']
    """
    from propclf.persistence import load_model

    if isinstance(items, str | bytes):  # before loading a model for nothing
        raise TypeError(
            "classify takes an iterable of texts or Items, not one text: wrap it in a list"
        )
    if model is None or isinstance(model, str | os.PathLike):
        model_path = None if model is None else str(model)
        model = load_model(model_path)
    else:
        model_path = getattr(model, "path_", None)
    kwargs: dict[str, Any] = {
        "flag": flag,
        "review": review,
        "reasons": reasons,
        "documents": documents,
    }
    scorer = Scorer(model, **kwargs)
    stream = (_as_item(n, it) for n, it in enumerate(items))
    n_jobs = (os.cpu_count() or 1) if jobs <= 0 else jobs
    if n_jobs == 1 or (model_path is None and getattr(model, "manifest_", None) is None):
        yield from scorer.score_items(stream, batch_size)
        return
    yield from _parallel(stream, scorer, model_path, kwargs, batch_size, n_jobs)


def _parallel(
    stream: Iterator[Item],
    scorer: Scorer,
    model_path: str | None,
    kwargs: dict[str, Any],
    batch_size: int,
    n_jobs: int,
) -> Iterator[Result]:
    """Ordered parallel scoring with at most ``2 * n_jobs`` batches in flight.

    The first batch is scored in this process; the pool starts only when a second batch exists,
    so short inputs pay no process start-up.
    """
    first = list(islice(stream, batch_size))
    yield from scorer.score_items(first, batch_size)
    if len(first) < batch_size:
        return
    window: deque[Future[list[Result]]] = deque()
    with ProcessPoolExecutor(
        max_workers=n_jobs, initializer=_init_worker, initargs=(model_path, kwargs)
    ) as pool:
        while batch := list(islice(stream, batch_size)):
            window.append(pool.submit(_work, batch))
            if len(window) >= 2 * n_jobs:
                yield from window.popleft().result()
        while window:
            yield from window.popleft().result()
