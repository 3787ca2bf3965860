"""Metrics and the held-out document table."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from propclf.evaluation import (
    expected_calibration_error,
    fit_thresholds,
    held_out_documents,
    identity_term_table,
    religious_text_table,
    threshold_for_precision,
)


def test_documents_are_rebuilt_from_their_passages() -> None:
    ids = ["news:a:p0", "news:a:p1", "news:a:p2", "mag:b:p0", "mag:b:p1", "news:c:p0", "tweet:7"]
    sources = ["news", "news", "news", "mag", "mag", "news", "tweet"]
    y = np.array([0, 0, 0, 1, 1, 0, 1])
    p = np.array([0.1, 0.7, 0.2, 0.9, 0.4, 0.99, 0.8])
    src, dy, dp, n = held_out_documents(ids, sources, y, p)
    # one-passage documents and records that are not passages are left out
    assert src == ["news", "mag"]
    assert dy.tolist() == [0, 1]
    assert dp.tolist() == [0.7, 0.9]  # the maximum passage score: the document rule
    assert n.tolist() == [3, 2]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.floats(0, 1)), min_size=1, max_size=40))
def test_a_document_scores_at_least_each_of_its_passages(rows: list[tuple[int, float]]) -> None:
    ids = [f"s:doc{d}:p{k}" for k, (d, _) in enumerate(rows)]
    p = np.array([s for _, s in rows])
    _, _, dp, n = held_out_documents(ids, ["s"] * len(rows), np.zeros(len(rows), int), p)
    assert int(n.sum()) == sum(c for c in np.bincount([d for d, _ in rows]) if c >= 2)
    for doc_score, count in zip(dp, n, strict=True):
        assert count >= 2 and doc_score in p


def test_flag_threshold_reaches_its_precision() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2000)
    p = np.clip(0.35 * y + rng.random(2000) * 0.65, 0, 1)
    t = threshold_for_precision(y, p, 0.9)
    assert np.mean(y[p >= t]) >= 0.9
    assert expected_calibration_error(y, np.full(2000, y.mean())) < 0.01


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.floats(0, 1)), min_size=2, max_size=60).filter(
        lambda rows: 0 < sum(lab for lab, _ in rows) < len(rows)
    ),
    st.floats(0.5, 0.99),
    st.floats(0.5, 0.99),
)
def test_fitted_thresholds_meet_their_targets(
    rows: list[tuple[bool, float]], precision: float, recall: float
) -> None:
    y = np.array([int(lab) for lab, _ in rows])
    p = np.array([s for _, s in rows])
    fit = fit_thresholds(y, p, target_precision=precision, target_recall=recall, n_boot=20)
    flagged, reviewed = p >= fit["flag"], p >= fit["review"]
    if not (flagged.any() and y[flagged].mean() >= precision):
        assert fit["flag"] == 1.0  # only when no threshold reaches the precision
    # the lowest such threshold: no lower one keeps the precision (so recall is the most it can be)
    assert not any(y[p >= t].mean() >= precision for t in p if t < fit["flag"])
    assert fit["review"] <= fit["flag"]
    assert reviewed[y == 1].mean() >= recall
    for lo, hi in (fit["flag_interval"], fit["review_interval"]):
        assert lo <= hi or np.isnan(lo)


def test_threshold_intervals_count_groups_not_records() -> None:
    """Scores that move together within an account are one draw, not a hundred."""
    rng = np.random.default_rng(1)
    n_groups, size = 30, 100
    groups = np.repeat([f"g{k}" for k in range(n_groups)], size)
    y = np.repeat(rng.integers(0, 2, n_groups), size)
    shift = np.repeat(rng.normal(0, 0.15, n_groups), size)
    p = np.clip(0.3 + 0.35 * y + shift + rng.normal(0, 0.05, len(y)), 0, 1)
    by_group = fit_thresholds(y, p, groups, n_boot=100)
    by_record = fit_thresholds(y, p, None, n_boot=100)
    assert by_group["flag"] == by_record["flag"]  # the point estimate does not depend on groups
    assert by_group["n_groups"] == n_groups and by_record["n_groups"] == len(y)

    def width(fit: dict) -> float:
        return fit["flag_interval"][1] - fit["flag_interval"][0]

    assert width(by_group) > 3 * width(by_record)


def test_fitting_thresholds_needs_both_labels() -> None:
    with pytest.raises(ValueError, match="both propaganda and reporting"):
        fit_thresholds(np.ones(5, int), np.linspace(0, 1, 5))


class _NameBiasedModel:
    """Scores a text 0.9 when it names the Foos, else 0.05 (and 0.95 when it calls anyone vermin)."""

    flag_threshold = 0.6
    review_threshold = 0.2

    def score(self, texts: list[str]) -> np.ndarray:
        return np.array(
            [0.95 if "vermin" in t else 0.9 if "Foo" in t else 0.05 for t in texts], dtype=float
        )


def test_identity_table_shows_a_group_learnt_as_evidence() -> None:
    spec = {
        "groups": [["Foo", "Foos"], ["Bar", "Bars"]],
        "benign": ["The {p} opened a bakery.", "A {a} choir sang."],
        "hateful": ["The {p} are vermin.", "Drive out the {p}."],
    }
    rows = identity_term_table(_NameBiasedModel(), spec)
    assert set(rows) == {"Foos", "Bars"}
    assert rows["Foos"]["benign_mean"] == pytest.approx(0.9)
    assert rows["Foos"]["benign_flag"] == 1.0 and rows["Foos"]["benign_review"] == 1.0
    assert rows["Bars"]["benign_mean"] == pytest.approx(0.05) and rows["Bars"]["benign_review"] == 0
    # the hateful line without "vermin" is caught for the Foos only because of their name
    assert rows["Foos"]["hateful_flag"] == 1.0 and rows["Bars"]["hateful_flag"] == 0.5


def test_card_names_groups_only_when_their_names_raise_benign_scores() -> None:
    from propclf.training import _identity_md

    def row(mean: float) -> dict[str, float]:
        keys = ("benign_max", "benign_review", "benign_flag", "hateful_flag", "hateful_review")
        return {"benign_mean": mean, **dict.fromkeys(keys, 0.5)}

    fair = {"identity_terms": {"Foos": row(0.02), "Bars": row(0.01), "Bazzes": row(0.015)}}
    section, failure = _identity_md(fair)
    assert "| Foos | 0.020 |" in section and failure == ""
    biased = {"identity_terms": {"Foos": row(0.30), "Bars": row(0.01), "Bazzes": row(0.015)}}
    _, failure = _identity_md(biased)
    assert "name Foos " in failure and "Bars" not in failure
    assert "not scored" in _identity_md({})[0]


def test_religious_table_shows_a_faith_whose_idiom_was_learnt_as_evidence() -> None:
    spec = {
        "situations": ["greeting", "thanks"],
        "faiths": {"Fooism": ["Foo be praised", "Thanks be to Foo"], "Barism": ["Hi", "Thanks"]},
    }
    rows = religious_text_table(_NameBiasedModel(), spec)
    assert rows["Fooism"]["mean"] == pytest.approx(0.9) and rows["Fooism"]["flag"] == 1.0
    assert rows["Barism"]["mean"] == pytest.approx(0.05) and rows["Barism"]["review"] == 0.0


def test_card_names_a_faith_only_when_its_idiom_raises_scores() -> None:
    from propclf.training import _religion_md

    def row(mean: float) -> dict[str, float]:
        return {"mean": mean, "max": mean, "review": 0.5, "flag": 0.0}

    fair = {"religious_everyday": {"Fooism": row(0.02), "Barism": row(0.01), "Bazism": row(0.015)}}
    section, failure = _religion_md(fair)
    assert "| Fooism | 0.020 |" in section and failure == ""
    biased = {"religious_everyday": {"Fooism": row(0.3), "Barism": row(0.01), "Bazism": row(0.015)}}
    _, failure = _religion_md(biased)
    assert "everyday Fooism posts" in failure and "Barism" not in failure
    assert "not scored" in _religion_md({})[0]
