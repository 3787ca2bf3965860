"""The estimator: scikit-learn conventions, scores, bands, documents, reasons."""

from __future__ import annotations

import joblib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from propclf.model import PropagandaClassifier

PROP = "Brothers, join our ranks and fight the enemies of the faith. Victory is near!"
REP = "Police said the suspect was arrested on Tuesday after an investigation."


def test_sklearn_conventions(small_model, small_data) -> None:
    texts, labels, _ = small_data
    assert list(small_model.classes_) == ["propaganda", "reporting"]
    proba = small_model.predict_proba(texts)
    assert proba.shape == (len(texts), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # column order follows classes_, and score is P(propaganda)
    np.testing.assert_allclose(proba[:, 0], small_model.score(texts))
    d = small_model.decision_function(texts)
    assert np.all((d > 0) == (small_model.score(texts) > 0.5))
    # predict agrees with the flag threshold
    pred = small_model.predict(texts)
    assert set(pred) <= {"propaganda", "reporting"}
    assert np.all(
        (pred == "propaganda") == (small_model.score(texts) >= small_model.flag_threshold)
    )
    # learned it: training texts come back right
    assert (pred == np.array(labels)).mean() > 0.9
    assert small_model.score([PROP])[0] > 0.5 > small_model.score([REP])[0]


def test_clone_pipeline_and_grid_search(small_data) -> None:
    texts, labels, _ = small_data
    est = PropagandaClassifier(min_df=1, cv=2, calibrate=False)
    assert clone(est).get_params() == est.get_params()
    pipe = Pipeline([("clf", est)]).fit(texts, labels)
    assert pipe.predict([PROP])[0] == "propaganda"
    gs = GridSearchCV(est, {"C": [0.5, 4.0]}, cv=2).fit(texts, labels)
    assert gs.best_params_["C"] in (0.5, 4.0)
    # score(X, y) keeps scikit-learn's meaning (accuracy) for model selection
    assert 0.0 <= gs.best_estimator_.score(texts, labels) <= 1.0


def test_unfitted_and_bad_input_errors(small_model) -> None:
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        PropagandaClassifier().score(["x"])
    with pytest.raises(TypeError, match="single string"):
        small_model.score("just one string")
    with pytest.raises(TypeError, match="not str"):
        small_model.score(["ok", None])
    with pytest.raises(ValueError, match="both"):
        PropagandaClassifier(min_df=1).fit(["a b", "c d"], ["reporting", "reporting"])
    with pytest.raises(ValueError, match="label"):
        PropagandaClassifier(min_df=1).fit(["a b", "c d"], ["reporting", "spam"])
    assert small_model.score([]).shape == (0,)


def test_bands(small_model) -> None:
    bands = small_model.band(np.array([0.0, 0.3, 0.99]), flag=0.9, review=0.2)
    assert list(bands) == ["pass", "review", "flag"]
    with pytest.raises(ValueError):
        small_model.band(np.array([0.5]), flag=0.2, review=0.4)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(), min_size=1, max_size=6))
def test_any_text_scores_in_unit_interval(small_model, texts: list[str]) -> None:
    s = small_model.score(texts)
    assert s.shape == (len(texts),)
    assert np.all((s >= 0) & (s <= 1)) and np.all(np.isfinite(s))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(max_size=80), min_size=2, max_size=10), st.randoms())
def test_scores_do_not_depend_on_batch_or_order(small_model, texts: list[str], rnd) -> None:
    whole = small_model.score(texts)
    one_by_one = np.array([small_model.score([t])[0] for t in texts])
    np.testing.assert_allclose(whole, one_by_one, rtol=0, atol=1e-12)
    order = list(range(len(texts)))
    rnd.shuffle(order)
    shuffled = small_model.score([texts[i] for i in order])
    np.testing.assert_allclose(shuffled, whole[order], rtol=0, atol=1e-12)


def test_long_document_is_scored_by_its_worst_passage(small_model) -> None:
    filler = "\n\n".join(
        f"Paragraph {i}: the weather in the region was mild and the council met on Monday."
        for i in range(12)
    )
    page = filler + "\n\n" + PROP + "\n\n" + filler + "\n\nShare this\n\nLeave a Reply"
    scores, hits = small_model.score_documents([filler, page], review=0.5)
    assert scores[0] < 0.5 <= scores[1]
    assert len(hits[1]) == 1
    hit = hits[1][0]
    assert page[hit.start : hit.end] == PROP
    # the plain score of the whole page is diluted; the document rule is not
    assert small_model.score([page])[0] < scores[1]


def test_boilerplate_only_page_still_gets_a_score(small_model) -> None:
    page = "\n".join(["Share this", "Leave a Reply", "Menu", "Home"] * 40)
    scores, hits = small_model.score_documents([page])
    assert 0.0 <= scores[0] <= 1.0 and hits[0] == ()


def test_explain_adds_up_and_points_at_the_text(small_model) -> None:
    text = "Brothers, JOIN our ranks! Police said nothing."
    reasons = small_model.explain(text, top=1000)
    total = sum(r.weight for r in reasons)
    intercept = small_model.calibration_[0] * small_model.pipeline_.named_steps["clf"].intercept_[0]
    intercept += small_model.calibration_[1]
    np.testing.assert_allclose(total + intercept, small_model.decision_function([text])[0])
    by_ngram = {r.ngram: r for r in reasons}
    assert [text[s:e] for s, e in by_ngram["join"].spans] == ["JOIN"]
    assert by_ngram["join"].weight > 0
    weights = [abs(r.weight) for r in reasons]
    assert weights == sorted(weights, reverse=True)


@pytest.mark.parametrize("quotes", ["separate", "attributed"])
def test_explain_marks_quoted_speech(small_data, quotes) -> None:
    texts, labels, _ = small_data
    quoting = 'Analysts said the video urged viewers to "join our ranks" online.'
    model = PropagandaClassifier(quotes=quotes, min_df=1, calibrate=False).fit(
        [*texts, quoting], [*labels, "reporting"]
    )
    reasons = model.explain(quoting, top=1000)
    prefix = "r_" if quotes == "attributed" else "q_"  # "urged" attributes the quotation
    quoted = [r for r in reasons if r.ngram.startswith(prefix)]
    assert {prefix + "join", prefix + "our", prefix + "ranks"} <= {r.ngram for r in quoted}
    assert not any(r.ngram.startswith(("q_", "r_")) and r not in quoted for r in reasons)
    for r in quoted:
        if " " in r.ngram:  # bigrams may straddle the closing quote
            continue
        for s, e in r.spans:
            assert quoting.index('"') < s < e <= quoting.rindex('"')


def test_explain_marks_reported_beliefs(small_data) -> None:
    texts, labels, _ = small_data
    recalled = "We were told that the brothers would join our ranks in paradise. I left in 2019."
    model = PropagandaClassifier(quotes="reported", min_df=1, calibrate=False).fit(
        [*texts, recalled], [*labels, "reporting"]
    )
    reasons = {r.ngram: r for r in model.explain(recalled, top=1000)}
    clause = (recalled.index("the brothers"), recalled.index("."))
    assert {"q_brothers", "q_join", "q_ranks", "we", "told", "left"} <= set(reasons)
    assert "brothers" not in reasons and "q_left" not in reasons  # the clause ends its sentence
    for name in ("q_brothers", "q_join", "q_ranks"):
        for s, e in reasons[name].spans:
            assert clause[0] <= s < e <= clause[1]
    total = sum(r.weight for r in reasons.values())
    intercept = model.calibration_[0] * model.pipeline_.named_steps["clf"].intercept_[0]
    assert total + intercept == pytest.approx(model.decision_function([recalled])[0], abs=1e-6)


def test_excluded_tokens_carry_no_weight(small_data) -> None:
    texts, labels, _ = small_data
    plain = PropagandaClassifier(min_df=1, calibrate=False).fit(texts, labels)
    strongest = plain.top_features(1)["propaganda"][0][0]  # most propaganda-like n-gram
    token = strongest.split(" ")[0].removeprefix("q_")
    model = PropagandaClassifier(min_df=1, calibrate=False, exclude_tokens=(token,)).fit(
        texts, labels
    )
    vec = model.pipeline_.named_steps["tfidf"]
    coef = model.pipeline_.named_steps["clf"].coef_.ravel()
    hit = [
        i
        for i, name in enumerate(vec.feature_names_)
        if {token, "q_" + token} & set(str(name).split(" "))
    ]
    assert hit and np.all(coef[hit] == 0.0)
    assert all(token not in r.ngram.split(" ") for r in model.explain(PROP + " " + token, 1000))
    assert clone(model).get_params()["exclude_tokens"] == (token,)


def test_shipped_model_leans_on_language_not_artefacts() -> None:
    """The strongest n-grams of the default model are words, not platform, link or name traces."""
    from propclf import load_model
    from propclf.datasets import read_invented_names
    from propclf.features import analyze_many
    from propclf.training import ARTEFACT_TOKENS, PLATFORM_NAMES

    # handles and event words named as shortcuts by the corpora's own README
    traps = ("boston", "aleppo", "palmyra", "warreporter", "ramiallolah", "nidalgazaui")
    # the movements the training supplement invented ("free counties" was, until masked)
    invented = {" ".join(toks) for toks in analyze_many(read_invented_names(), "ignore")}
    model = load_model()
    excluded = set(model.exclude_tokens)
    assert len(excluded) >= 50  # the shipped model was trained with source-specific names out
    for label, feats in model.top_features(50).items():
        for ngram, _ in feats:
            tokens = {t.removeprefix("q_") for t in ngram.split(" ")}
            assert not tokens & ARTEFACT_TOKENS, (label, ngram)
            assert not tokens & PLATFORM_NAMES, (label, ngram)  # "on x" was, until excluded
            assert not tokens & excluded, (label, ngram)
            assert not any(trap in ngram for trap in traps), (label, ngram)
            assert ngram.replace("q_", "") not in invented, (label, ngram)
            assert any(t.isalpha() for t in tokens), (label, ngram)  # words, not numbers


def test_shipped_model_spellings_are_not_name_traces() -> None:
    """The words whose spelling (subword features) weighs most are not names of a collection."""
    from propclf import load_model
    from propclf.training import ARTEFACT_TOKENS

    model = load_model()
    vec = model.pipeline_.named_steps["tfidf"]
    if vec.subword_idf_ is None:
        pytest.skip("the default model has no subword features")
    coef = model.pipeline_.named_steps["clf"].coef_.ravel()[vec.n_word_features_ :]
    words = sorted(w for w in vec.vocabulary_ if not w.startswith(("q_", "r_")))
    spelling = vec.transform(words)[:, vec.n_word_features_ :] @ coef
    names = {n for n in model.exclude_tokens if len(n) >= 4} | {"boston", "aleppo", "palmyra"}
    order = np.argsort(spelling)
    for k in [*order[:50], *order[-50:]]:
        word = words[k]
        assert word not in ARTEFACT_TOKENS, word
        # a name inside the word, or the word a truncated name (*bosto*): either way, a trace
        assert not any(n in word or (len(word) >= 5 and n.startswith(word)) for n in names), word


def test_shipped_model_has_no_mojibake_words() -> None:
    """Text read with the wrong codec folded into words of its own (*donaot* from don‚Äôt) that
    marked the collections it came from; the normaliser repairs it before anything is learnt."""
    from propclf import load_model

    vocabulary = load_model().pipeline_.named_steps["tfidf"].vocabulary_
    for contraction in ("don", "doesn", "didn", "isn", "can", "won", "it", "that"):
        for garbled in (f"{contraction}aot", f"{contraction}aeaot", f"{contraction}aeat"):
            assert garbled not in vocabulary, garbled


def test_nb_scaling_is_folded_into_the_coefficients(small_data) -> None:
    """With nb_smoothing the regression sees ratio-scaled features; scoring needs no extra step."""
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    from propclf.model import _log_count_ratio

    texts, labels, _ = small_data
    model = PropagandaClassifier(min_df=1, calibrate=False, nb_smoothing=1.0).fit(texts, labels)
    vec = model.pipeline_.named_steps["tfidf"]
    X = vec.transform(texts)
    y = np.array([lab == "propaganda" for lab in labels], dtype=int)
    ratio = _log_count_ratio(X, y, None, 1.0)
    assert np.ptp(ratio) > 0  # the scaling is not a constant
    manual = LogisticRegression(C=model.C, class_weight="balanced", solver="liblinear")
    manual.fit(X @ sp.diags(ratio), y)
    np.testing.assert_allclose(
        model.decision_function(texts), manual.decision_function(X @ sp.diags(ratio)), atol=1e-6
    )
    plain = PropagandaClassifier(min_df=1, calibrate=False).fit(texts, labels)
    assert not np.allclose(model.decision_function(texts), plain.decision_function(texts))


def test_held_out_reporting_scores_are_kept_for_the_document_rule(small_model) -> None:
    q = small_model.reporting_quantiles_
    assert q is not None and len(q) == 4001
    assert np.all(np.diff(q) >= 0) and 0.0 <= q[0] <= q[-1] <= 1.0
    uncalibrated = PropagandaClassifier(min_df=1, calibrate=False).fit([PROP, REP], [1, 0])
    assert uncalibrated.reporting_quantiles_ is None
    assert uncalibrated.correct_for_passages([0.7], 10).tolist() == [0.7]  # plain maximum


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=20),
    st.integers(1, 200),
    st.sampled_from([0.0, 0.5, 1.0]),
)
def test_more_passages_never_raise_a_score(
    small_model, scores: list[float], n: int, gamma: float
) -> None:
    model = clone(small_model).set_params(document_correction=gamma)
    model.reporting_quantiles_ = small_model.reporting_quantiles_
    s = np.array(scores)
    one, many, more = (model.correct_for_passages(s, k) for k in (1, n, n + 1))
    np.testing.assert_array_equal(one, s)  # a one-passage text keeps its score
    assert np.all(many <= s + 1e-12) and np.all(more <= many + 1e-12)
    assert np.all((many >= 0.0) & (many <= 1.0))
    if gamma == 0.0:
        np.testing.assert_array_equal(many, s)
    top = s > small_model.reporting_quantiles_[-1]  # above every held-out reporting passage
    np.testing.assert_array_equal(many[top], s[top])


def test_a_long_reporting_page_is_discounted_and_a_propaganda_passage_still_found(
    small_model,
) -> None:
    filler = [
        f"Officials said on day {k} that the inquiry heard evidence from police and survivors."
        for k in range(12)
    ]
    page = "\n\n".join([*filler[:6], PROP, *filler[6:]])
    plain = clone(small_model).set_params(document_correction=0.0)
    plain.__dict__.update({k: v for k, v in small_model.__dict__.items() if k.endswith("_")})
    [with_rule], [hits] = small_model.score_documents([page])
    [max_rule], _ = plain.score_documents([page])
    assert with_rule <= max_rule
    assert hits and max(hits, key=lambda h: h.score).start == page.index(PROP)
    assert with_rule == max(h.score for h in hits)  # the document scores its strongest hit


def test_shipped_model_does_not_flag_a_group_for_being_named() -> None:
    """Benign sentences must not score as propaganda because of the group they name, and hateful
    ones must reach review whatever group they target (``benchmarks/identity_terms.py``)."""
    from propclf import load_model
    from propclf.datasets import load_identity_templates
    from propclf.evaluation import identity_term_table

    rows = identity_term_table(load_model(), load_identity_templates())
    assert len(rows) >= 10
    for group, r in rows.items():
        assert r["benign_flag"] == 0.0, group
        assert r["benign_mean"] < 0.20, group
        assert r["benign_review"] <= 0.5, group
        assert r["hateful_review"] >= 0.8, group


def test_shipped_model_scores_everyday_piety_alike_across_faiths() -> None:
    """The same benign everyday post must not score as propaganda for being in one faith's idiom
    (``benchmarks/religious_text.py``; the card's failure-mode rule: a faith whose mean reaches
    max(0.05, 3 x the median faith's) has had its idiom learnt as evidence)."""
    from propclf import load_model
    from propclf.datasets import load_religious_everyday
    from propclf.evaluation import religious_text_table

    rows = religious_text_table(load_model(), load_religious_everyday())
    assert len(rows) >= 5
    median = float(np.median([r["mean"] for r in rows.values()]))
    for faith, r in rows.items():
        assert r["mean"] < max(0.05, 3 * median), faith
        assert r["review"] <= 0.2, faith
        assert r["flag"] <= 0.04, faith  # at most one line in 25


# Kinds where the shipped model misses #3's 0.90 (README, "Where it stands"): each is held to
# the default's measured level less one case, so that it cannot fall back unnoticed, and every
# case of a propaganda kind must still reach the review band. Propaganda of movements the
# corpora do not hold is flagged less often (measured 33 of 42; floor 32 of 42 = 0.762);
# definitions of extremist terms are flagged a little more often (measured 28 of 32 correct, a
# museum label at 0.681 against the flag threshold 0.676; floor 27 of 32 = 0.844).
BELOW_TARGET = {"propaganda_other_movements": 0.76, "glossary_explainer": 0.84}


def test_shipped_model_meets_the_functional_target_on_every_kind() -> None:
    """#3's target on the project's own hard cases: at least 0.90 correct on every kind, at the
    model's own flag threshold (``propclf evaluate --functional``), except the kinds listed in
    ``BELOW_TARGET``, which keep their measured level (a propaganda kind's cases all reaching
    review)."""
    from propclf import evaluation, load_model

    model = load_model()
    report = evaluation.evaluate(model, evaluation.gather_records((), True, None, None))
    per_kind = report["per_kind"]
    assert len(per_kind) >= 10 and set(BELOW_TARGET) <= set(per_kind)
    low = {
        k: round(r["accuracy"], 3)
        for k, r in per_kind.items()
        if r["accuracy"] < BELOW_TARGET.get(k, 0.90)
    }
    assert not low, low
    for kind in BELOW_TARGET:
        if per_kind[kind]["propaganda"]:
            assert per_kind[kind]["review_rate"] == 1.0, kind


# The shipped model on datasets/testimony (held out: never trained on), measured level less two
# cases: former members' testimony 143 of 150 correct (floor 141 = 0.94), families' 49 of 50
# (floor 47 = 0.94), propaganda conversion stories 52 of 80 flagged (floor 50 = 0.625).
TESTIMONY_FLOOR = {
    "exit_testimony": 0.94,
    "exit_testimony_family": 0.94,
    "propaganda_conversion_story": 0.625,
}


def test_shipped_model_reads_recalled_beliefs_as_reported() -> None:
    """Testimony that recalls a movement's beliefs in its own words is not flagged as the
    movement's voice (README, "Design choices, measured"), and the conversion stories that
    recruit for it still are."""
    import json
    from pathlib import Path

    from propclf import load_model

    model = load_model()
    path = Path(__file__).resolve().parents[1] / "datasets" / "testimony" / "testimony.jsonl"
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    flagged = model.score([r["text"] for r in rows]) >= model.flag_threshold
    for kind, floor in TESTIMONY_FLOOR.items():
        hit = [
            f == (r["label"] == "propaganda")
            for r, f in zip(rows, flagged, strict=True)
            if r["kind"] == kind
        ]
        assert np.mean(hit) >= floor, (kind, np.mean(hit))


def test_run_together_words_are_scored_and_explained_as_their_words(small_data, tmp_path) -> None:
    texts, labels, groups = small_data
    model = PropagandaClassifier(min_df=1, cv=3, max_features=None, segment_words=True).fit(
        texts, labels, groups=groups
    )
    joined, spaced = "BrothersJOINourranks today!", "Brothers JOIN our ranks today!"
    np.testing.assert_allclose(model.score([joined]), model.score([spaced]))
    reasons = model.explain(joined, top=1000)
    intercept = model.calibration_[0] * model.pipeline_.named_steps["clf"].intercept_[0]
    total = sum(r.weight for r in reasons) + intercept + model.calibration_[1]
    np.testing.assert_allclose(total, model.decision_function([joined])[0])
    by_ngram = {r.ngram: r for r in reasons}
    assert [joined[s:e] for s, e in by_ngram["join"].spans] == ["JOIN"]  # inside the word
    assert [joined[s:e] for s, e in by_ngram["our ranks"].spans] == ["ourranks"]
    # the setting travels with the model; without it the word is one unknown token
    path = tmp_path / "m.joblib"
    joblib.dump(model, path)
    again = joblib.load(path)
    assert again.segment_words and again.score([joined]) == pytest.approx(model.score([joined]))
    off = PropagandaClassifier(min_df=1, cv=3, max_features=None).fit(texts, labels, groups=groups)
    assert off.score([joined]) != pytest.approx(off.score([spaced]))


def test_explain_points_at_letters_spaced_out(small_model, small_data) -> None:
    text = "Brothers, J O I N our ranks! Police said nothing."
    by_ngram = {r.ngram: r for r in small_model.explain(text, top=1000)}
    assert [text[s:e] for s, e in by_ngram["join"].spans] == ["J O I N"]
    texts, labels, groups = small_data
    model = PropagandaClassifier(min_df=1, cv=3, max_features=None, segment_words=True).fit(
        texts, labels, groups=groups
    )
    spaced = "B r o t h e r s j o i n o u r r a n k s today!"
    np.testing.assert_allclose(
        model.score([spaced]), model.score(["Brothers join our ranks today!"])
    )
    by_ngram = {r.ngram: r for r in model.explain(spaced, top=1000)}
    assert [spaced[s:e] for s, e in by_ngram["join"].spans] == ["j o i n"]
    assert [spaced[s:e] for s, e in by_ngram["our ranks"].spans] == ["o u r r a n k s"]
