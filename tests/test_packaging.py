"""The wheel carries the model, its manifest and card, and the functional suite."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_wheel_contains_the_model_files(tmp_path: Path) -> None:
    pytest.importorskip("hatchling")
    if not (REPO / "models" / "default.joblib").is_file():
        pytest.skip("no default model in this checkout")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(tmp_path),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    [wheel] = tmp_path.glob("propclf-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "propclf/_data/default.joblib",
        "propclf/_data/default.json",
        "propclf/_data/MODEL_CARD.md",
        "propclf/_data/functional_cases.jsonl",
        "propclf/_data/identity_templates.json",
        "propclf/_data/religious_everyday.json",
        "propclf/__init__.py",
        "propclf/cli.py",
    ):
        assert name in names, name
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "propclf = propclf.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
    size = (REPO / "models" / "default.joblib").stat().st_size
    assert size < 20 * 1024 * 1024
