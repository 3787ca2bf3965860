"""Save and load models: one joblib artifact plus a JSON manifest, verified before unpickling.

A ``.joblib`` file is a pickle: loading one runs code. propclf therefore loads an artifact only
after the SHA-256 recorded in its manifest matches the file's bytes. The manifest is the audit
record: versions, labels, thresholds, data hash, metrics, the training command and the creation
time.

Artifacts hold no scikit-learn object (manifest format 2): the fitted regression is stored as
its arrays and rebuilt on loading (``propclf.model``), so a model trained under one
scikit-learn release loads, and scores the same, under another. Artifacts of manifest format 1
(written by earlier builds) pickled scikit-learn's own estimators, which only the scikit-learn
minor line that wrote them can read; they are loaded only under that line.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import warnings
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = [
    "MANIFEST_FORMAT",
    "IncompatibleModelError",
    "ManifestError",
    "ModelError",
    "ModelIntegrityError",
    "default_model_path",
    "file_sha256",
    "load",
    "load_model",
    "manifest_path",
    "read_manifest",
    "resave",
    "save",
]

log = logging.getLogger(__name__)
#: Format of the manifests (and artifacts) this propclf writes: 2, an artifact without
#: scikit-learn objects. Format 1 artifacts pickled scikit-learn estimators.
MANIFEST_FORMAT = 2
_READABLE_FORMATS = (1, 2)
_HOW_TO_RETRAIN = "retrain it with `propclf train` or reinstall propclf to get a matching model"


class ModelError(Exception):
    """Base class of model loading errors."""


class ManifestError(ModelError):
    """The manifest beside an artifact is missing or unreadable."""


class ModelIntegrityError(ModelError):
    """The artifact's bytes do not match the SHA-256 in its manifest (tampered or corrupt)."""


class IncompatibleModelError(ModelError):
    """The artifact was made by an incompatible propclf or scikit-learn version."""


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def manifest_path(artifact: str | os.PathLike[str]) -> Path:
    """The manifest that belongs to ``artifact``: same folder, same stem, ``.json``."""
    return Path(artifact).with_suffix(".json")


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def save(
    model: Any,
    path: str | os.PathLike[str],
    *,
    training_data_sha256: str | None = None,
    metrics: dict[str, Any] | None = None,
    command: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``model`` to ``path`` (``.joblib``) and its manifest beside it; return the manifest."""
    import joblib
    import numpy
    import sklearn

    from propclf import __version__

    path = Path(path)
    if path.suffix != ".joblib":
        raise ValueError(f"model files end in .joblib, got {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".joblib.tmp")
    joblib.dump(model, tmp, compress=("zlib", 3), protocol=5)
    os.replace(tmp, path)
    digest = file_sha256(path)
    manifest: dict[str, Any] = {
        # 1 for a pipeline pickled whole (scikit-learn objects inside): see _check_versions
        "format": MANIFEST_FORMAT if model._pickles_without_sklearn() else 1,
        "model_id": f"propclf-{digest[:12]}",
        "artifact": path.name,
        "artifact_sha256": digest,
        "artifact_bytes": path.stat().st_size,
        "propclf_version": __version__,
        "sklearn_version": sklearn.__version__,
        "numpy_version": numpy.__version__,
        "python_version": platform.python_version(),
        "labels": ["reporting", "propaganda"],
        "positive_label": "propaganda",
        "thresholds": {
            "flag": float(model.flag_threshold),
            "review": float(model.review_threshold),
        },
        "params": {k: v for k, v in model.get_params().items() if _jsonable(v)},
        "training_data_sha256": training_data_sha256,
        "metrics": metrics or {},
        "command": command,
        "created": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
    }
    if extra:
        manifest.update(extra)
    mpath = manifest_path(path)
    mpath.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return manifest


def _jsonable(v: Any) -> bool:
    try:
        json.dumps(v)
    except TypeError:
        return False
    return True


def read_manifest(artifact: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check the manifest of ``artifact`` (does not touch the artifact's contents)."""
    mpath = manifest_path(artifact)
    if not mpath.is_file():
        raise ManifestError(
            f"no manifest at {mpath}: a model is loaded only with the JSON manifest that "
            f"`propclf train` writes beside it (same name, .json); {_HOW_TO_RETRAIN}"
        )
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"cannot read manifest {mpath}: {exc}") from exc
    if not isinstance(manifest, dict) or "artifact_sha256" not in manifest:
        raise ManifestError(f"manifest {mpath} has no artifact_sha256; {_HOW_TO_RETRAIN}")
    return manifest


def _check_versions(manifest: dict[str, Any], artifact: Path) -> None:
    import sklearn

    fmt = manifest.get("format")
    if fmt not in _READABLE_FORMATS:
        raise IncompatibleModelError(
            f"{artifact.name}: manifest format {fmt!r}, this propclf reads formats "
            f"{', '.join(map(str, _READABLE_FORMATS))}; {_HOW_TO_RETRAIN}"
        )
    if fmt != 1:
        return  # no scikit-learn object inside: any scikit-learn release reads it
    trained = str(manifest.get("sklearn_version", "?"))
    if _minor(trained) != _minor(sklearn.__version__):
        raise IncompatibleModelError(
            f"{artifact.name} was trained with scikit-learn {trained}, but {sklearn.__version__} "
            f"is installed, and this artifact (manifest format 1) holds scikit-learn objects, which "
            f"only their own minor line reads. Install scikit-learn=={_minor(trained)}.* (where "
            f"`propclf resave` writes a copy that any release loads) or {_HOW_TO_RETRAIN}"
        )


def load(path: str | os.PathLike[str]) -> Any:
    """Load a model saved by :func:`save`, verifying it **before** unpickling.

    Raises
    ------
    ManifestError
        No readable manifest beside the artifact.
    ModelIntegrityError
        The artifact's SHA-256 differs from the manifest's (nothing is unpickled).
    IncompatibleModelError
        Unknown manifest format, or a format-1 artifact (scikit-learn estimators pickled) under
        another scikit-learn minor line than the one that wrote it.
    FileNotFoundError
        No artifact at ``path``.
    """
    artifact = Path(path)
    if artifact.suffix == ".json":
        artifact = artifact.with_suffix(".joblib")
    if not artifact.is_file():
        raise FileNotFoundError(f"no model artifact at {artifact}")
    manifest = read_manifest(artifact)
    digest = file_sha256(artifact)
    if digest != manifest["artifact_sha256"]:
        raise ModelIntegrityError(
            f"SHA-256 hash check failed for {artifact}: the file's hash {digest[:16]}... differs "
            f"from the manifest's {str(manifest['artifact_sha256'])[:16]}...; the file was "
            f"altered or corrupted and was not loaded. Restore it, or {_HOW_TO_RETRAIN}"
        )
    _check_versions(manifest, artifact)
    import joblib
    from sklearn.exceptions import InconsistentVersionWarning

    from propclf.model import PropagandaClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        try:
            model = joblib.load(artifact)
        except InconsistentVersionWarning as exc:  # pragma: no cover - a pipeline pickled whole
            raise IncompatibleModelError(f"{artifact.name}: {exc}; {_HOW_TO_RETRAIN}") from exc
        except MemoryError:
            raise
        except Exception as exc:  # a truncated file, not a pickle, a class that no longer exists
            raise ModelError(
                f"cannot load {artifact}: {type(exc).__name__}: {exc}; the file matches its "
                f"manifest but is not a model this propclf can read; {_HOW_TO_RETRAIN}"
            ) from exc
    if not isinstance(model, PropagandaClassifier):
        raise IncompatibleModelError(
            f"{artifact.name} holds a {type(model).__name__}, not a PropagandaClassifier"
        )
    model.manifest_ = manifest
    model.path_ = str(artifact.resolve())
    log.debug("loaded %s (%s)", artifact, manifest.get("model_id"))
    return model


#: Manifest fields :func:`save` writes afresh; :func:`resave` carries every other field over.
_SAVE_FIELDS = frozenset(
    {
        "format",
        "model_id",
        "artifact",
        "artifact_sha256",
        "artifact_bytes",
        "propclf_version",
        "sklearn_version",
        "numpy_version",
        "python_version",
        "labels",
        "positive_label",
        "thresholds",
        "params",
        "training_data_sha256",
        "metrics",
        "command",
        "created",
    }
)


def resave(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a saved model (verified as by :func:`load`) and save it again in the current format.

    For artifacts of manifest format 1, which only the scikit-learn minor line that wrote them
    reads: run this once under that line, and the copy at ``dst`` loads under any release. The
    weights and thresholds are unchanged, and so are the scores. The new manifest keeps the
    training command, data hash, metrics and other fields of the old one, and records the old
    artifact under ``resaved_from``. Returns the new manifest.
    """
    model = load(src)
    base: dict[str, Any] = model.manifest_
    extra = {k: v for k, v in base.items() if k not in _SAVE_FIELDS}
    extra["resaved_from"] = {
        k: base.get(k)
        for k in ("model_id", "artifact_sha256", "format", "sklearn_version", "created")
    }
    return save(
        model,
        dst,
        training_data_sha256=base.get("training_data_sha256"),
        metrics=base.get("metrics"),
        command=base.get("command"),
        extra=extra,
    )


def default_model_path() -> Path:
    """The embedded default model: inside the installed package, or ``models/`` in a checkout."""
    packaged = resources.files("propclf") / "_data" / "default.joblib"
    if packaged.is_file():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parent.parent / "models" / "default.joblib"
    return checkout


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime: float) -> Any:
    return load(path)


def load_model(path: str | os.PathLike[str] | None = None) -> Any:
    """Load a model: the embedded default (``path=None``) or a saved ``.joblib`` artifact.

    The model is loaded on first use and cached per path; ``import propclf`` loads nothing.

    Examples
    --------
    >>> import propclf
    >>> model = propclf.load_model()
    >>> float(model.score(["The ministry said the attack killed three people."])[0]) < 0.5
    True
    """
    p = Path(path) if path is not None else default_model_path()
    if p.suffix == ".json":
        p = p.with_suffix(".joblib")
    if not p.is_file():
        raise FileNotFoundError(f"no model artifact at {p}")
    return _load_cached(str(p.resolve()), p.stat().st_mtime)
