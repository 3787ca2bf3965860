"""Subword features: the documented definition, the fast product, unseen words, exclusions."""

from __future__ import annotations

import math
import pickle
from collections import Counter
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from propclf import features
from propclf.features import FastTfidfVectorizer, subword_buckets, subword_grams
from propclf.model import PropagandaClassifier
from propclf.text import analyze

BUCKETS = 1 << 12
TRAIN = [
    "Join the caravan of the martyrs, brothers!",
    "Police said the group attacked a checkpoint.",
    "The martyrdom video urged viewers to join.",
    "Officials condemned the attack on the market.",
    'Analysts said the statement called on followers to "join the caravan".',
    "Brothers, rise and join us!",
]


def _fnv_fmix(gram: str, salt: int) -> int:
    """The documented hash of one n-gram, in Python integers."""
    m = (1 << 64) - 1
    h = 0xCBF29CE484222325 ^ salt
    for ch in gram:
        h = ((h ^ ord(ch)) * 0x100000001B3) & m
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & m
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & m
    return h ^ (h >> 33)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.text(max_size=12), min_size=1, max_size=5),
    st.sampled_from(["", "q_", "r_"]),
    st.sampled_from([(3, 5), (2, 3), (1, 1)]),
)
def test_grams_hash_as_documented(words: list[str], prefix: str, ngrams: tuple[int, int]) -> None:
    words = [prefix + w for w in words]
    owner, buckets = subword_grams(words, ngrams, 1 << 16)
    want_owner, want = [], []
    for n in range(ngrams[0], ngrams[1] + 1):
        for i, w in enumerate(words):
            salt = {"q_": 1, "r_": 2}.get(w[:2], 0) if len(w) > 2 else 0
            body = "<" + (w[2:] if salt else w) + ">"
            for k in range(len(body) - n + 1):
                want_owner.append(i)
                want.append(_fnv_fmix(body[k : k + n], salt) & 0xFFFF)
    assert owner.tolist() == want_owner and buckets.tolist() == want


def _vec(**kw: object) -> FastTfidfVectorizer:
    params = {"min_df": 1, "subword_buckets": BUCKETS, "subword_min_df": 1, **kw}
    return FastTfidfVectorizer(**params).fit(TRAIN)  # type: ignore[arg-type]


def _reference(train: list[str], texts: list[str], exclude: set[str], min_df: int) -> np.ndarray:
    """The subword block as the class docstring defines it, in plain Python."""

    def core(t: str) -> str:
        c = t[2:] if t[:2] in ("q_", "r_") else t
        for name in exclude:  # compounds and truncations of an excluded name are excluded too
            if len(name) >= 4 and (c.startswith(name) or c.endswith(name)):
                return name
            if len(c) >= 5 and name.startswith(c):
                return name
        return c

    def grams(t: str) -> Counter[int]:
        return Counter(subword_buckets(t, (3, 5), BUCKETS))

    df: Counter[int] = Counter()
    for text in train:
        df.update({b for t in set(analyze(text)) if core(t) not in exclude for b in grams(t)})
    n = len(train)
    idf = {b: math.log((1 + n) / (1 + c)) + 1 for b, c in df.items() if c >= min_df}
    out = np.zeros((len(texts), BUCKETS))
    for i, text in enumerate(texts):
        counts = Counter(t for t in analyze(text) if core(t) not in exclude)
        norm2 = 0.0
        for t, c in counts.items():
            u = {b: k * idf[b] for b, k in grams(t).items() if b in idf}
            norm2 += c * sum(v * v for v in u.values())
            for b, v in u.items():
                out[i, b] += c * v
        if norm2:
            out[i] /= math.sqrt(norm2)
    return out


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.text(alphabet="abc joinmartyr \"'!0\u00e9\u0627", max_size=40), min_size=1, max_size=6
    ),
    st.sampled_from([1, 2]),
)
def test_subword_block_matches_its_definition(texts: list[str], min_df: int) -> None:
    vec = _vec(subword_min_df=min_df, subword_exclude=("police",))
    batch = [*texts, "police police said", "joinn the karavan", ""]
    x = vec.transform(batch).toarray()
    want = _reference(TRAIN, batch, {"police"}, min_df)
    np.testing.assert_allclose(x[:, vec.n_word_features_ :], want, atol=1e-6)
    # the word block is the plain word TF-IDF, unchanged by the subwords
    plain = FastTfidfVectorizer(min_df=1).fit(TRAIN).transform(batch).toarray()
    np.testing.assert_allclose(x[:, : vec.n_word_features_], plain, atol=1e-7)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(alphabet='abc k.0 1!\u00e9\u0627 "', max_size=30), min_size=1, max_size=8))
def test_transform_dot_equals_the_sparse_product(texts: list[str]) -> None:
    vec = _vec()
    coef = np.random.default_rng(len(texts)).normal(size=vec.transform(["x"]).shape[1])
    batch = [*texts, "", "zzz", "marrtyrs joined!"]
    want = vec.transform(batch).astype(np.float64) @ coef
    np.testing.assert_allclose(vec.transform_dot(batch, coef), want, rtol=1e-5, atol=1e-5)
    for size in (1, 13):  # internal batches change nothing
        with mock.patch.object(features, "_BATCH_CHARS", size):
            np.testing.assert_allclose(vec.transform_dot(batch, coef), want, rtol=1e-5, atol=1e-5)


def test_an_unseen_spelling_shares_features_with_the_known_word() -> None:
    vec = _vec()
    x = vec.transform(["martyrs", "martyrz", "checkpoint"]).toarray()[:, vec.n_word_features_ :]
    assert x[0] @ x[1] > 0.3  # "martyrz" was never seen, yet it is close to "martyrs"
    assert x[1] @ x[2] < 0.05
    words = FastTfidfVectorizer(min_df=1).fit(TRAIN).transform(["martyrz"])
    assert words.nnz == 0  # word features alone know nothing about it


def test_quoted_words_have_subwords_of_their_own() -> None:
    vec = _vec()
    x = vec.transform(["join the caravan", '"join the caravan"']).toarray()
    sub = x[:, vec.n_word_features_ :]
    assert sub[0].any() and sub[1].any() and sub[0] @ sub[1] == pytest.approx(0.0, abs=0.02)


def test_excluded_tokens_have_no_subwords() -> None:
    vec = _vec(subword_exclude=("police", "checkpoint"))
    texts = ["Police checkpoint", '"police"', "#policestrong policemen", "checkpoints", "checkp"]
    x = vec.transform(texts).toarray()[:, vec.n_word_features_ :]
    assert not x.any()  # compounds and derived forms of a name would teach it again
    assert vec.transform(["polite"]).toarray()[:, vec.n_word_features_ :].any()


def test_pickled_vectoriser_scores_the_same_and_stays_small() -> None:
    vec = _vec()
    coef = np.random.default_rng(1).normal(size=vec.transform(["x"]).shape[1])
    texts = ["brothers joinn us", "police said", "\u0627\u0644"]
    before = vec.transform_dot(texts, coef)
    blob = pickle.dumps(vec)
    assert b"martyr" in blob and len(blob) < 200_000  # buckets' idf, no per-word caches
    np.testing.assert_array_equal(pickle.loads(blob).transform_dot(texts, coef), before)


def test_a_stream_of_new_words_keeps_the_caches_bounded() -> None:
    vec = _vec()
    coef = np.random.default_rng(2).normal(size=vec.transform(["x"]).shape[1])
    texts = [f"word{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}x{i % 7}y martyrs" for i in range(400)]
    want = vec.transform_dot(texts, coef)
    with mock.patch.object(features, "_CACHE_LIMIT", 50):
        vec2 = pickle.loads(pickle.dumps(vec))
        for k in range(0, 400, 40):
            np.testing.assert_allclose(
                vec2.transform_dot(texts[k : k + 40], coef), want[k : k + 40], atol=1e-12
            )
            assert len(vec2._ids.vocabulary) <= len(vec2.vocabulary_) + 50 + 40 * 2


def test_subword_buckets_must_be_a_power_of_two() -> None:
    with pytest.raises(ValueError, match="power of two"):
        FastTfidfVectorizer(subword_buckets=1000).fit(TRAIN)


def test_model_with_subwords_explains_spellings_and_adds_up() -> None:
    labels = ["propaganda", "reporting", "propaganda", "reporting", "reporting", "propaganda"]
    model = PropagandaClassifier(
        min_df=1, cv=2, subword_buckets=BUCKETS, nb_smoothing=1.0, exclude_tokens=("police",)
    ).fit(TRAIN * 3, labels * 3)
    text = "Brotherz, joinn the caravan! Police said."
    reasons = model.explain(text, top=1000)
    clf = model.pipeline_.named_steps["clf"]
    intercept = model.calibration_[0] * clf.intercept_[0] + model.calibration_[1]
    total = sum(r.weight for r in reasons) + intercept
    np.testing.assert_allclose(total, model.decision_function([text])[0], atol=1e-6)
    spelled = {r.ngram: r for r in reasons if r.ngram.startswith("~")}
    assert [text[s:e] for s, e in spelled["~joinn"].spans] == ["joinn"]
    assert "~police" not in spelled  # excluded names carry nothing, by spelling either
    assert all(not name.startswith("subword") for name, _ in model.top_features(50)["propaganda"])
    assert model.score(["joinn the karavan brotherz"])[0] > model.score(["police said"])[0]
