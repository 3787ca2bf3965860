"""One artifact + manifest; verified before unpickling; typed errors that say how to fix."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from propclf.persistence import (
    IncompatibleModelError,
    ManifestError,
    ModelIntegrityError,
    file_sha256,
    load,
    load_model,
    save,
)


class CustomRegression(LogisticRegression):
    """A regression subclass: a pipeline propclf does not store as arrays."""


def _copy(saved: Path, tmp_path: Path) -> Path:
    dst = tmp_path / saved.name
    shutil.copy(saved, dst)
    shutil.copy(saved.with_suffix(".json"), dst.with_suffix(".json"))
    return dst


def _edit_manifest(artifact: Path, **fields: object) -> dict:
    """Set ``fields`` in the manifest beside ``artifact``; return the manifest as written."""
    mpath = artifact.with_suffix(".json")
    m = json.loads(mpath.read_text())
    m.update(fields)
    mpath.write_text(json.dumps(m))
    return m


def test_round_trip_gives_the_same_scores(small_model, saved_model: Path, small_data) -> None:
    loaded = load(saved_model)
    texts = [*small_data[0], "", "unseen words only", "J0IN our r a n k s"]
    np.testing.assert_array_equal(loaded.score(texts), small_model.score(texts))
    assert loaded.get_params() == small_model.get_params()


def test_manifest_records_provenance(saved_model: Path) -> None:
    import sklearn

    import propclf

    m = json.loads(saved_model.with_suffix(".json").read_text())
    assert m["artifact_sha256"] == file_sha256(saved_model)
    assert m["model_id"] == f"propclf-{m['artifact_sha256'][:12]}"
    assert m["propclf_version"] == propclf.__version__
    assert m["sklearn_version"] == sklearn.__version__
    assert m["labels"] == ["reporting", "propaganda"]
    assert set(m["thresholds"]) == {"flag", "review"}
    for key in ("training_data_sha256", "metrics", "command", "created"):
        assert key in m


def test_one_altered_byte_is_refused_before_unpickling(
    saved_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _copy(saved_model, tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))

    import joblib

    def boom(*a: object, **k: object) -> None:
        raise AssertionError("unpickled a tampered file")

    monkeypatch.setattr(joblib, "load", boom)
    with pytest.raises(ModelIntegrityError, match="SHA-256 hash check failed"):
        load(path)


def test_missing_or_broken_manifest(saved_model: Path, tmp_path: Path) -> None:
    path = _copy(saved_model, tmp_path)
    path.with_suffix(".json").write_text("{not json")
    with pytest.raises(ManifestError, match="cannot read manifest"):
        load(path)
    path.with_suffix(".json").unlink()
    with pytest.raises(ManifestError, match="propclf train"):
        load(path)


def test_a_model_saved_under_another_sklearn_release_loads_and_scores_the_same(
    small_model, saved_model: Path, small_data, tmp_path: Path
) -> None:
    path = _copy(saved_model, tmp_path)
    _edit_manifest(path, sklearn_version="1.4.2")
    texts = [*small_data[0], "unseen words only"]
    np.testing.assert_array_equal(load(path).score(texts), small_model.score(texts))


def test_the_artifact_holds_no_sklearn_object(saved_model: Path) -> None:
    """What makes it load under any scikit-learn release: only propclf's own classes, NumPy
    arrays and builtins are pickled; the regression is rebuilt from its arrays."""
    import joblib.numpy_pickle as npk

    seen: set[tuple[str, str]] = set()
    find_class = npk.NumpyUnpickler.find_class

    def record(self: object, module: str, name: str) -> object:
        seen.add((module, name))
        return find_class(self, module, name)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(npk.NumpyUnpickler, "find_class", record)
        model = load(saved_model)
    modules = {module.split(".")[0] for module, _ in seen}
    assert modules <= {"propclf", "numpy", "joblib", "builtins"}, sorted(seen)
    assert type(model.pipeline_.named_steps["clf"]).__module__.startswith("sklearn.")


def test_pickling_leaves_the_model_intact(small_model, small_data) -> None:
    import copy
    import pickle

    texts = small_data[0]
    before = small_model.score(texts)
    pickle.dumps(small_model)
    twin = copy.deepcopy(small_model)
    np.testing.assert_array_equal(small_model.score(texts), before)
    np.testing.assert_array_equal(twin.score(texts), before)
    assert twin.pipeline_.named_steps["clf"].get_params() == (
        small_model.pipeline_.named_steps["clf"].get_params()
    )


def test_format_1_artifact_of_another_sklearn_line_is_refused(
    saved_model: Path, tmp_path: Path
) -> None:
    """Format 1 artifacts pickled scikit-learn's estimators: only their own line reads them."""
    path = _copy(saved_model, tmp_path)
    _edit_manifest(path, format=1, sklearn_version="1.4.2")
    with pytest.raises(IncompatibleModelError, match=r"scikit-learn 1\.4\.2.*retrain"):
        load(path)


def test_unknown_manifest_format_is_refused(saved_model: Path, tmp_path: Path) -> None:
    path = _copy(saved_model, tmp_path)
    _edit_manifest(path, format=99)
    with pytest.raises(IncompatibleModelError, match="format"):
        load(path)


def test_save_refuses_other_suffixes(small_model, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.joblib"):
        save(small_model, tmp_path / "model.pkl")


def test_load_model_accepts_the_manifest_path_and_caches(saved_model: Path) -> None:
    a = load_model(saved_model)
    b = load_model(saved_model.with_suffix(".json"))
    assert a is b
    with pytest.raises(FileNotFoundError):
        load_model(saved_model.with_name("nope.joblib"))


def test_the_embedded_default_model_loads_and_separates() -> None:
    from propclf.persistence import default_model_path

    if not default_model_path().is_file():
        pytest.skip("no default model in this checkout")
    model = load_model()
    assert model.manifest_["artifact_sha256"] == file_sha256(model.path_)
    s = model.score(
        [
            "Officials said the attack killed three people and condemned the violence.",
            "Brothers, rise up and join the soldiers of the caliphate, the kuffar will burn!",
        ]
    )
    assert s[0] < 0.5 < s[1]


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],  # truncated
        lambda b: b"",  # empty
        lambda b: b"not a pickle at all\n",
    ],
    ids=["truncated", "empty", "not-a-pickle"],
)
def test_an_unreadable_artifact_matching_its_manifest_is_a_model_error(
    saved_model: Path, tmp_path: Path, damage
) -> None:
    """A file that passes the hash check (its manifest was rewritten with it) but is no model
    must still give a ModelError, never an unpickling exception from deep inside joblib."""
    from propclf.persistence import ModelError

    path = _copy(saved_model, tmp_path)
    path.write_bytes(damage(path.read_bytes()))
    _edit_manifest(path, artifact_sha256=file_sha256(path))
    with pytest.raises(ModelError, match="cannot load"):
        load(path)


def test_a_fitted_state_of_a_later_version_is_a_clear_model_error(
    small_model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import propclf.model as model_module
    from propclf.persistence import ModelError

    path = tmp_path / "later.joblib"
    with monkeypatch.context() as mp:
        mp.setattr(model_module, "PORTABLE_STATE_VERSION", 99)
        save(small_model, path)
    with pytest.raises(ModelError, match="version 99"):
        load(path)


def test_a_pipeline_that_cannot_be_stored_as_arrays_is_saved_as_format_1(
    small_model, small_data, tmp_path: Path
) -> None:
    """An unusual pipeline is pickled whole, scikit-learn objects and all, and its manifest says
    so: it then loads only under the scikit-learn line that wrote it."""
    import copy

    from sklearn.pipeline import Pipeline

    odd = copy.deepcopy(small_model)
    lr = odd.pipeline_.named_steps["clf"]
    custom = CustomRegression(C=lr.C, solver=lr.solver)
    custom.coef_, custom.intercept_, custom.classes_ = lr.coef_, lr.intercept_, lr.classes_
    custom.n_features_in_ = lr.n_features_in_
    odd.pipeline_ = Pipeline([("tfidf", odd.pipeline_.named_steps["tfidf"]), ("clf", custom)])
    path = tmp_path / "odd.joblib"
    assert save(odd, path)["format"] == 1
    loaded = load(path)
    assert type(loaded.pipeline_.named_steps["clf"]) is CustomRegression
    np.testing.assert_array_equal(loaded.score(small_data[0]), small_model.score(small_data[0]))


def test_resave_turns_a_format_1_artifact_into_one_any_release_loads(
    small_model, saved_model: Path, small_data, tmp_path: Path
) -> None:
    from propclf.persistence import resave

    old = _copy(saved_model, tmp_path)
    # format 1, as earlier builds wrote it (only this scikit-learn line reads it), and a field
    # save() does not write, to be carried over
    m = _edit_manifest(old, format=1, training_records={"total": 12})

    new = resave(old, tmp_path / "new.joblib")
    assert new["format"] == 2 and new["model_id"] != m["model_id"]
    assert new["resaved_from"]["model_id"] == m["model_id"]
    assert new["resaved_from"]["format"] == 1
    for key in ("command", "training_data_sha256", "metrics", "thresholds", "training_records"):
        assert new[key] == m[key], key
    # the copy loads whatever scikit-learn the manifest names, and scores the same
    _edit_manifest(tmp_path / "new.joblib", sklearn_version="1.4.2")
    np.testing.assert_array_equal(
        load(tmp_path / "new.joblib").score(small_data[0]), small_model.score(small_data[0])
    )
