"""The examples in the library's docstrings run and print what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import warnings

import pytest

import propclf

MODULES = sorted(m.name for m in pkgutil.iter_modules(propclf.__path__, "propclf."))
OPTIONAL = {"propclf.serve": "fastapi", "propclf.spark": "pyspark", "propclf.plots": "matplotlib"}


def test_every_module_is_listed() -> None:
    assert {"propclf.model", "propclf.text", "propclf.language", "propclf.scoring"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    if name in OPTIONAL:
        pytest.importorskip(OPTIONAL[name])
    module = importlib.import_module(name)
    with warnings.catch_warnings():
        # Starlette >= 1.x warns on importing its TestClient with httpx instead of httpx2.
        warnings.filterwarnings(
            "ignore", message=r"Using `httpx` with `starlette\.testclient` is deprecated"
        )
        result = doctest.testmod(
            module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
        )
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
