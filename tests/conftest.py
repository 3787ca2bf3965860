"""Shared fixtures: a small model trained on the project's own tiny fixture file, saved once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


def _small_records() -> tuple[list[str], list[str], list[str]]:
    rows = [json.loads(line) for line in (FIXTURES / "small_train.jsonl").read_text().splitlines()]
    return [r["text"] for r in rows], [r["label"] for r in rows], [r["group"] for r in rows]


@pytest.fixture(scope="session")
def small_data() -> tuple[list[str], list[str], list[str]]:
    return _small_records()


@pytest.fixture(scope="session")
def small_model(small_data):
    from propclf.model import PropagandaClassifier

    texts, labels, groups = small_data
    return PropagandaClassifier(min_df=1, cv=3, max_features=None).fit(texts, labels, groups=groups)


@pytest.fixture(scope="session")
def saved_model(small_model, tmp_path_factory) -> Path:
    """A small model saved with its manifest; returns the .joblib path."""
    from propclf.persistence import save

    path = tmp_path_factory.mktemp("model") / "small.joblib"
    save(small_model, path, training_data_sha256="0" * 64, command="tests")
    return path
