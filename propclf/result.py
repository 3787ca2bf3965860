"""The one result record shared by the Python API, the CLI and the service."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["BANDS", "LABELS", "PassageHit", "Reason", "Result"]

#: ``labels[1]`` is the positive class; ``score`` is always P(propaganda).
LABELS: tuple[str, str] = ("reporting", "propaganda")
#: ``flag``: at or above the flag threshold (label ``propaganda``); ``review``: between the review
#: and flag thresholds; ``pass``: below the review threshold.
BANDS: tuple[str, str, str] = ("flag", "review", "pass")


@dataclass(frozen=True)
class Reason:
    """An n-gram that moved a score: its contribution to the log-odds and where it occurs."""

    ngram: str
    weight: float
    spans: tuple[tuple[int, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"ngram": self.ngram, "weight": round(self.weight, 4), "spans": list(self.spans)}


@dataclass(frozen=True)
class PassageHit:
    """A passage of a document that reached the review band, with its offsets in the document."""

    start: int
    end: int
    score: float
    band: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 6),
            "band": self.band,
        }


@dataclass(frozen=True)
class Result:
    """The verdict on one input item.

    Exactly one of (``label``, ``score``, ``band``) and ``error`` is set: an item that could not
    be scored keeps its ``id`` and carries an ``error`` message instead of a score. A scored item
    may carry a ``warning`` as well: its score is there but unreliable (the text is mostly words
    the model does not know, see :meth:`propclf.model.PropagandaClassifier.coverage`); the
    warning changes neither the label, the score nor the band.
    """

    id: str
    label: str | None = None
    score: float | None = None
    band: str | None = None
    error: str | None = None
    passages: tuple[PassageHit, ...] | None = None
    reasons: tuple[Reason, ...] | None = None
    model: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    warning: str | None = None

    @property
    def ok(self) -> bool:
        """True when the item was scored."""
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with stable keys: id, label, score, band, error (+ optional ones:
        ``warning``, ``passages``, ``reasons``, ``model``, in that order, when set)."""
        out: dict[str, Any] = {
            "id": self.id,
            "label": self.label,
            "score": None if self.score is None else round(self.score, 6),
            "band": self.band,
            "error": self.error,
        }
        if self.warning is not None:
            out["warning"] = self.warning
        if self.passages is not None:
            out["passages"] = [p.to_dict() for p in self.passages]
        if self.reasons is not None:
            out["reasons"] = [r.to_dict() for r in self.reasons]
        if self.model is not None:
            out["model"] = self.model
        out.update(self.extra)
        return out

    def as_tuple(self) -> tuple[Any, ...]:  # pragma: no cover - convenience
        return tuple(asdict(self).values())
