"""The fast vectoriser computes exactly scikit-learn's TF-IDF over the model's tokens."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from propclf.features import FastTfidfVectorizer
from propclf.text import analyze


def _ngrams(text: str) -> list[str]:
    toks = analyze(text)
    return toks + [f"{a} {b}" for a, b in itertools.pairwise(toks)]


def _same(fast: FastTfidfVectorizer, ref: TfidfVectorizer, texts: list[str]) -> None:
    assert len(fast.feature_names_) == len(ref.vocabulary_)
    perm = np.array([ref.vocabulary_[n] for n in fast.feature_names_])
    a = fast.transform(texts)
    b = ref.transform(texts)[:, perm]
    assert abs(a - b).max() < 1e-6 if a.nnz or b.nnz else True


def test_matches_sklearn_tfidf(small_data) -> None:
    texts = small_data[0] + ["k i l l them a b", "x y z", "RT rt a", "", "!!! ???"]
    fast = FastTfidfVectorizer(min_df=1, max_features=None).fit(texts)
    ref = TfidfVectorizer(analyzer=_ngrams, min_df=1, sublinear_tf=True).fit(texts)
    _same(fast, ref, texts)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="abc k.0 1\u200b@#\"'!", max_size=40), min_size=1, max_size=12))
def test_matches_sklearn_on_arbitrary_text(texts: list[str]) -> None:
    try:
        ref = TfidfVectorizer(analyzer=_ngrams, min_df=1, sublinear_tf=True).fit(texts)
    except ValueError:  # empty vocabulary: ours must say so too
        with pytest.raises(ValueError):
            FastTfidfVectorizer(min_df=1, max_features=None).fit(texts)
        return
    fast = FastTfidfVectorizer(min_df=1, max_features=None).fit(texts)
    _same(fast, ref, texts)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(), min_size=1, max_size=8))
def test_matches_sklearn_on_any_unicode(texts: list[str]) -> None:
    texts = [
        *texts,
        "caf\u00e9 \u0627\u0644\u062f\u0648\u0644\u0629 go!!now?\U0001f600x a\ud800b \x1e",
    ]
    ref = TfidfVectorizer(analyzer=_ngrams, min_df=1, sublinear_tf=True).fit(texts)
    fast = FastTfidfVectorizer(min_df=1, max_features=None).fit(texts)
    _same(fast, ref, texts)
    _same(fast, ref, [*texts[::-1], "!?", "\u2026x\u2026y"])


def test_unknown_and_empty_rows_are_zero(small_data) -> None:
    fast = FastTfidfVectorizer(min_df=1).fit(small_data[0])
    x = fast.transform(["", "zzzz qqqq", "police said"])
    assert x.shape == (3, len(fast.feature_names_))
    assert x[0].nnz == 0 and x[1].nnz == 0 and x[2].nnz > 0
    np.testing.assert_allclose(np.sqrt(x[2].multiply(x[2]).sum()), 1.0, rtol=1e-5)


def test_max_features_caps_vocabulary(small_data) -> None:
    fast = FastTfidfVectorizer(min_df=1, max_features=25).fit(small_data[0])
    assert len(fast.feature_names_) == 25
    assert fast.transform(small_data[0]).shape[1] == 25


def test_refuses_a_single_string() -> None:
    with pytest.raises(TypeError):
        FastTfidfVectorizer().fit("one string")


@settings(max_examples=50, deadline=None)
@given(st.sets(st.integers(0, 2**40), max_size=300), st.lists(st.integers(0, 2**40), max_size=50))
def test_key_table_finds_exactly_its_keys(keys: set[int], others: list[int]) -> None:
    from propclf.features import _KeyTable

    k = np.array(sorted(keys), dtype=np.int64)
    table = _KeyTable(k, np.arange(len(k)) * 7)
    queries = np.array([*k.tolist(), *others], dtype=np.int64)
    want = {key: i * 7 for i, key in enumerate(k.tolist())}
    assert table.get(queries).tolist() == [want.get(q, -1) for q in queries.tolist()]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet="abc k.0 1!\u00e9\u0627 ", max_size=30), min_size=1, max_size=10))
def test_transform_dot_equals_the_sparse_product(texts: list[str]) -> None:
    fast = FastTfidfVectorizer(min_df=1, max_features=None).fit([*texts, "a b c", "abc k"])
    coef = np.random.default_rng(len(texts)).normal(size=len(fast.idf_))
    batch = [*texts, "", "zzz", "abc abc abc k"]
    np.testing.assert_allclose(
        fast.transform_dot(batch, coef), fast.transform(batch) @ coef, rtol=0, atol=1e-12
    )


def test_default_model_scores_through_the_fast_product() -> None:
    from propclf import load_model

    model = load_model()
    tfidf, clf = model.pipeline_.named_steps["tfidf"], model.pipeline_.named_steps["clf"]
    texts = [
        "Join the caliphate, brothers!!",
        "Police said the group attacked a bus.",
        "",
        "\u0627",
    ]
    want = clf.decision_function(tfidf.transform(texts))
    got = tfidf.transform_dot(texts, clf.coef_) + clf.intercept_[0]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
