"""propclf: tell extremist propaganda from reporting about extremism.

``import propclf`` is cheap and silent: scikit-learn and the model load on first use.

>>> import propclf
>>> model = propclf.load_model()          # the embedded default model
>>> scores = model.score(["some text"])   # P(propaganda) per text
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "IncompatibleModelError",
    "ManifestError",
    "ModelError",
    "ModelIntegrityError",
    "PassageHit",
    "PropagandaClassifier",
    "Reason",
    "Result",
    "__version__",
    "classify",
    "load_model",
    "save_model",
]

_LAZY = {
    "PropagandaClassifier": "propclf.model",
    "load_model": "propclf.persistence",
    "save_model": ("propclf.persistence", "save"),
    "ModelError": "propclf.persistence",
    "ManifestError": "propclf.persistence",
    "ModelIntegrityError": "propclf.persistence",
    "IncompatibleModelError": "propclf.persistence",
    "Result": "propclf.result",
    "Reason": "propclf.result",
    "PassageHit": "propclf.result",
    "classify": "propclf.scoring",
}

if TYPE_CHECKING:  # pragma: no cover
    from propclf.model import PropagandaClassifier
    from propclf.persistence import (
        IncompatibleModelError,
        ManifestError,
        ModelError,
        ModelIntegrityError,
        load_model,
    )
    from propclf.persistence import save as save_model
    from propclf.result import PassageHit, Reason, Result
    from propclf.scoring import classify


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'propclf' has no attribute {name!r}")
    module, attr = target if isinstance(target, tuple) else (target, name)
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
