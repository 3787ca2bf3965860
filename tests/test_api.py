"""The public surface: __all__ is honest, import is cheap and silent."""

from __future__ import annotations

import subprocess
import sys
import types

import propclf


def test_all_is_exported_and_nothing_else_is_promised() -> None:
    assert sorted(propclf.__all__) == sorted(set(propclf.__all__))
    for name in propclf.__all__:
        assert getattr(propclf, name) is not None, name
    public = {
        n
        for n in dir(propclf)
        if not n.startswith("_") and not isinstance(getattr(propclf, n), types.ModuleType)
    }
    assert public - set(propclf.__all__) <= {"annotations", "TYPE_CHECKING", "Any"}


def test_import_is_cheap_and_silent() -> None:
    code = (
        "import sys, propclf; "
        "heavy = [m for m in ('sklearn', 'joblib', 'numpy', 'scipy', 'click') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
    assert out.stderr == ""


def test_classify_yields_one_result_per_string(saved_model) -> None:
    results = list(propclf.classify(["a", "", "Police said"], model=saved_model))
    assert [r.id for r in results] == ["0", "1", "2"]
    assert all(r.ok and 0 <= r.score <= 1 for r in results)
    assert all(r.model and r.model.startswith("propclf-") for r in results)


def test_classify_refuses_one_string_and_reports_non_text(small_model, caplog) -> None:
    import pytest

    with pytest.raises(TypeError, match="wrap it in a list"):
        list(propclf.classify("one text, not a list of them", small_model))
    with caplog.at_level("DEBUG", logger="propclf"):
        results = list(
            propclf.classify([1, "Officials said the attack was condemned."], small_model)
        )
    assert [r.ok for r in results] == [False, True] and "str" in (results[0].error or "")
    assert not any(rec.exc_info for rec in caplog.records if rec.levelno >= 30)  # no traceback
