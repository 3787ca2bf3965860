"""Obfuscation is undone: obfuscated propaganda keeps >= 90% of the clean recall."""

from __future__ import annotations

import numpy as np
import pytest

from propclf.evasion import MISSPELLINGS, OBFUSCATIONS, obfuscate
from propclf.text import analyze

TEXT = "Brothers, join the soldiers of the caliphate and fight the crusaders today."


@pytest.mark.parametrize("kind", sorted(OBFUSCATIONS))
def test_each_obfuscation_is_undone_by_the_normaliser(kind: str) -> None:
    obf = obfuscate(TEXT, kind, seed=3)
    assert obf != TEXT
    assert analyze(obf) == analyze(TEXT)


def test_obfuscation_is_reproducible() -> None:
    assert obfuscate(TEXT, "leetspeak", seed=1) == obfuscate(TEXT, "leetspeak", seed=1)
    with pytest.raises(ValueError, match="unknown obfuscation"):
        obfuscate(TEXT, "rot13")


@pytest.fixture(scope="module")
def default_model():
    from propclf.persistence import default_model_path, load_model

    if not default_model_path().is_file():
        pytest.skip("no default model in this checkout")
    return load_model()


@pytest.mark.parametrize("kind", sorted(OBFUSCATIONS))
def test_recall_on_obfuscated_functional_propaganda(default_model, kind: str) -> None:
    from propclf.evaluation import functional_records

    cases = functional_records()
    prop = [c.text for c in cases if c.label == "propaganda"]
    rep = [c.text for c in cases if c.label == "reporting"]
    flag = default_model.flag_threshold
    clean = np.mean(default_model.score(prop) >= flag)
    dirty = np.mean(default_model.score([obfuscate(t, kind) for t in prop]) >= flag)
    assert dirty >= 0.9 * clean
    # normalisation must not push reporting over the line either
    rep_clean = np.mean(default_model.score(rep) >= flag)
    rep_dirty = np.mean(default_model.score([obfuscate(t, kind) for t in rep]) >= flag)
    assert rep_dirty <= rep_clean + 0.02


def test_typos_are_deterministic_and_not_undone() -> None:
    obf = obfuscate(TEXT, "typos", seed=2)
    assert obf == obfuscate(TEXT, "typos", seed=2) and obf != TEXT
    assert analyze(obf) != analyze(TEXT)  # a misspelling is not an obfuscation to normalise
    assert len(obf.split()) == len(TEXT.split())


@pytest.mark.parametrize("kind", sorted(MISSPELLINGS))
def test_misspelled_functional_propaganda_still_reaches_review(default_model, kind: str) -> None:
    from propclf.evaluation import functional_records

    prop = [c.text for c in functional_records() if c.label == "propaganda"]
    review = default_model.review_threshold
    clean = np.mean(default_model.score(prop) >= review)
    dirty = np.mean(default_model.score([obfuscate(t, kind) for t in prop]) >= review)
    assert dirty >= 0.9 * clean
