"""Obfuscation is undone: obfuscated propaganda keeps >= 90% of the clean recall."""

from __future__ import annotations

import numpy as np
import pytest

from propclf.evasion import MISSPELLINGS, OBFUSCATIONS, RUN_TOGETHER, obfuscate
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


@pytest.mark.parametrize("kind", sorted(RUN_TOGETHER))
def test_words_run_together_are_split_by_the_model_not_the_normaliser(default_model, kind) -> None:
    obf = obfuscate(TEXT, kind, seed=3)
    assert obf != TEXT and len(obf.split()) < len(TEXT.split())
    assert analyze(obf) != analyze(TEXT)  # nothing marks where the words part
    vec = default_model.pipeline_.named_steps["tfidf"]
    assert vec.segment_tokens(analyze(obf)) == analyze(TEXT)


@pytest.mark.parametrize("kind", sorted(RUN_TOGETHER))
def test_recall_on_functional_propaganda_run_together(default_model, kind: str) -> None:
    from propclf.evaluation import functional_records

    cases = functional_records()
    prop = [c.text for c in cases if c.label == "propaganda"]
    rep = [c.text for c in cases if c.label == "reporting"]
    model = default_model
    for threshold, share in ((model.flag_threshold, 0.85), (model.review_threshold, 0.95)):
        clean = np.mean(model.score(prop) >= threshold)
        dirty = np.mean(model.score([obfuscate(t, kind) for t in prop]) >= threshold)
        assert dirty >= share * clean
    rep_clean = np.mean(model.score(rep) >= model.flag_threshold)
    rep_dirty = np.mean(model.score([obfuscate(t, kind) for t in rep]) >= model.flag_threshold)
    assert rep_dirty <= rep_clean + 0.02
