"""The walkthrough notebook runs top to bottom in a fresh kernel and shows its results."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "notebooks" / "walkthrough.ipynb"
#: ``argv[0]`` values that jupyter_client replaces with ``sys.executable`` when it starts a kernel.
_BARE_PYTHONS = {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info)}


def _runs_this_python(argv0: str) -> bool:
    return argv0 in _BARE_PYTHONS or os.path.abspath(argv0) == os.path.abspath(sys.executable)


@pytest.fixture
def kernel_env(tmp_path, monkeypatch, saved_model):
    """Environment for a ``python3`` kernel that runs this interpreter (and this propclf)."""
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")  # silences jupyter_core's migration warning
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        argv0 = KernelSpecManager().get_kernel_spec("python3").argv[0]
    except NoSuchKernel:
        argv0 = ""
    if not _runs_this_python(argv0):
        from ipykernel.kernelspec import install

        install(prefix=str(tmp_path / "jupyter"), kernel_name="python3")
        monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter" / "share" / "jupyter"))
        argv0 = KernelSpecManager().get_kernel_spec("python3").argv[0]
    assert _runs_this_python(argv0), argv0

    from propclf.persistence import default_model_path

    if default_model_path().is_file():
        monkeypatch.delenv("PROPCLF_WALKTHROUGH_MODEL", raising=False)
    else:  # before the default model is trained: walk through the small test model
        monkeypatch.setenv("PROPCLF_WALKTHROUGH_MODEL", str(saved_model))


def _outputs(nb):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


@pytest.mark.slow
def test_notebook_runs_top_to_bottom(kernel_env):
    from nbclient import NotebookClient

    before = NOTEBOOK.read_bytes()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:  # start from a clean slate: every output below comes from this run
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=600,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell

    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    outputs = _outputs(nb)
    assert not [o for o in outputs if o.output_type == "error"]
    stderr = [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, stderr  # no warnings or tracebacks printed
    assert sum(bool(c.outputs) for c in code) >= len(code) - 1  # only the imports are silent
    kinds = {k for o in outputs for k in o.get("data", {})}
    assert {"image/png", "text/html", "text/plain"} <= kinds
    pngs = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(pngs) == 5
    text = "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "reporting_page_with_insert.txt" in text
    assert "trained on 40 rows" in text
    assert NOTEBOOK.read_bytes() == before  # executed in memory only


def test_committed_notebook_is_valid():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert 12 <= len(nb.cells) <= 20
    assert nb.metadata["kernelspec"]["name"] == "python3"


def _default_model_exists() -> bool:
    from propclf.persistence import default_model_path

    return default_model_path().is_file()


@pytest.mark.skipif(
    not _default_model_exists(),
    reason="the committed outputs come from a run with the default model, not trained yet",
)
def test_committed_notebook_has_outputs_of_a_full_run():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), "run the notebook top to bottom before commit"
    outputs = _outputs(nb)
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 5
