"""The fast vectoriser computes exactly scikit-learn's TF-IDF over the model's tokens."""

from __future__ import annotations

import itertools
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from propclf import features
from propclf.features import FastTfidfVectorizer
from propclf.text import analyze

_WORDS = ["the", "police", "said", "join", "caliphate", "brothers", "!", "k", "i", "l", "\u0627"]


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
        "abcdefghijklmnop abcdefghijklmnopq abcdefgh abcdefghi abcdefghijklmnopqrstuvwxyz",
        "caf\u00e9 \u0627\u0644\u062f\u0648\u0644\u0629 go!!now?\U0001f600x a\ud800b \x1e",
    ]
    ref = TfidfVectorizer(analyzer=_ngrams, min_df=1, sublinear_tf=True).fit(texts)
    fast = FastTfidfVectorizer(min_df=1, max_features=None).fit(texts)
    with mock.patch.object(features, "_REBUILD_MIN", 1):  # known chunks go to the NumPy table
        _same(fast, ref, texts)  # new chunks: tokenised in Python
        _same(fast, ref, [*texts[::-1], "!?", "\u2026x\u2026y"])  # mostly known chunks
        _same(fast, ref, texts)


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
@given(
    st.sets(st.tuples(st.integers(1, 2**64 - 1), st.integers(0, 3)), max_size=300),
    st.lists(st.tuples(st.integers(1, 2**64 - 1), st.integers(0, 3)), max_size=50),
)
def test_key_table_finds_exactly_its_keys(
    keys: set[tuple[int, int]], others: list[tuple[int, int]]
) -> None:
    from propclf.features import _KeyTable

    stored = sorted(keys)
    want = {key: i * 7 for i, key in enumerate(stored)}
    queries = [*stored, *others, *((a, b + 1) for a, b in stored[:20])]
    words = [np.array(w, dtype=np.uint64).reshape(-1) for w in zip(*stored, strict=True)]
    table = _KeyTable(tuple(words) or (np.zeros(0, np.uint64),) * 2, np.arange(len(stored)) * 7)
    q = tuple(np.array(w, dtype=np.uint64).reshape(-1) for w in zip(*queries, strict=True))
    if queries:
        assert table.get(q).tolist() == [want.get(k, -1) for k in queries]
    first = {}  # one-word keys
    for a, _ in stored:
        first.setdefault(a, len(first))
    one = _KeyTable((np.array(list(first), dtype=np.uint64),), np.arange(len(first)))
    probe = [a for a, _ in queries]
    if probe:
        got = one.get((np.array(probe, dtype=np.uint64),)).tolist()
        assert got == [first.get(a, -1) for a in probe]


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
    # the matrix holds float32 values; the fast product sums the subword part in float64
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def test_internal_batches_change_nothing(small_data) -> None:
    texts = small_data[0] + ["", "k i l l them!!", "x"]
    fast = FastTfidfVectorizer(min_df=1).fit(small_data[0])
    whole = fast.transform(texts)
    coef = np.random.default_rng(0).normal(size=len(fast.idf_))
    for size in (1, 7, 50):
        with mock.patch.object(features, "_BATCH_CHARS", size):
            parts = fast.transform(texts)
            assert (parts != whole).nnz == 0 and parts.has_sorted_indices
            np.testing.assert_array_equal(fast.transform_dot(texts, coef), whole @ coef)
    assert fast.transform([]).shape == (0, len(fast.idf_))
    assert fast.transform_dot([], coef).shape == (0,)


_MODEL: list = []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(), max_size=6), st.lists(st.sampled_from(_WORDS), max_size=40))
def test_model_scores_equal_the_pipeline_reference(texts: list[str], words: list[str]) -> None:
    from propclf import load_model

    if not _MODEL:
        _MODEL.append(load_model())
    model = _MODEL[0]
    texts = [*texts, " ".join(words), "J0in the c a l i p h a t e!! https://t.co/x #VictoryIsNear"]
    a, b = model.calibration_
    reference = 1.0 / (
        1.0 + np.exp(-np.clip(a * model.pipeline_.decision_function(texts) + b, -40, 40))
    )
    np.testing.assert_allclose(model.score(texts), reference, rtol=0, atol=1e-7)  # float32 matrix
    np.testing.assert_allclose(model.predict_proba(texts).sum(axis=1), 1.0)


def test_token_caches_that_overflow_start_again(small_data) -> None:
    texts = small_data[0] + ["go!! now?", "k i l l", "abcdefghijklmnopqrstuvwxyz x"]
    ref = TfidfVectorizer(analyzer=_ngrams, min_df=1, sublinear_tf=True).fit(texts)
    fast = FastTfidfVectorizer(min_df=1, max_features=None).fit(texts)
    with (
        mock.patch.object(features, "_CACHE_LIMIT", 5),
        mock.patch.object(features, "_REBUILD_MIN", 1),
    ):
        for _ in range(3):
            _same(fast, ref, texts)
            _same(fast, ref, texts[::-1])


def test_learning_only_the_separator_is_harmless() -> None:
    from propclf.features import _SEP_ID, _TokenIds

    ids = _TokenIds({"abc": 0})
    ids.clear()  # as another thread may have just done
    ids.learn([b"\x1e"])
    ids.learn([b"abc", b"\x1e", b"go!!"])
    assert ids[b"\x1e"] == _SEP_ID and ids[b"abc"] == 0


def test_threads_share_the_token_caches(small_data) -> None:
    from concurrent.futures import ThreadPoolExecutor

    texts = small_data[0] + ["go!! now? k i l l", "abcdefghijklmnopqrstuvwxyz x"]
    fast = FastTfidfVectorizer(min_df=1).fit(texts)
    want = FastTfidfVectorizer(min_df=1).fit(texts).transform(texts)
    batches = [texts[k::5] for k in range(5)] * 8
    with (
        mock.patch.object(features, "_CACHE_LIMIT", 20),
        mock.patch.object(features, "_REBUILD_MIN", 1),
        ThreadPoolExecutor(4) as pool,
    ):
        got = list(pool.map(fast.transform, batches))
    for batch, x in zip(batches, got, strict=True):
        rows = [texts.index(t) for t in batch]
        assert (x != want[rows]).nnz == 0


# --- run-together words (segment_words) ---------------------------------------------------------
_SEG_TEXTS = [
    "brothers join the ranks now",
    "the police said the ranks of the party grew",
    "police said they will join the talks",
    "join the march now brothers",
    "the caliphate said now is the hour",
    "policesaid is one word here",
]


def _seg_vec(**kw) -> FastTfidfVectorizer:
    return FastTfidfVectorizer(min_df=1, max_features=None, segment_words=True, **kw).fit(
        _SEG_TEXTS
    )


@pytest.mark.parametrize(
    ("joined", "spaced"),
    [
        ("jointheranks", "join the ranks"),
        ("#brothersjointheranks!!", "brothers join the ranks!!"),  # a chunk of several tokens
        ('police said "jointheranks now"', 'police said "join the ranks now"'),  # quoted: q_
        ("JOINTHERANKSNOW", "join the ranks now"),
        ("j0intheranks", "join the ranks"),  # leetspeak is undone first
        ("j o i n t h e r a n k s", "join the ranks"),  # letters spaced out, then run together
    ],
)
def test_run_together_words_are_read_as_their_words(joined: str, spaced: str) -> None:
    vec = _seg_vec()
    with mock.patch.object(features, "_REBUILD_MIN", 1):  # also through the NumPy chunk table
        for _ in range(2):
            assert (vec.transform([joined]) != vec.transform([spaced])).nnz == 0
    assert vec.transform([joined]).nnz > 0
    off = FastTfidfVectorizer(min_df=1, max_features=None).fit(_SEG_TEXTS)
    assert off.transform(["jointheranks"]).nnz == 0  # without segmentation: one unknown word


def test_words_the_vocabulary_has_are_never_split() -> None:
    vec = _seg_vec()
    row = vec.transform(["policesaid"])
    assert list(vec.feature_names_[row.indices]) == ["policesaid"]
    assert vec.segment_tokens(["policesaid", "jointheranks"]) == [
        "policesaid",
        "join",
        "the",
        "ranks",
    ]


def test_segmentation_with_subword_features_and_full_caches() -> None:
    vec = _seg_vec(subword_buckets=1 << 10, subword_min_df=1)
    want = vec.transform(["join the ranks now", "brothers join the ranks"])
    with (
        mock.patch.object(features, "_CACHE_LIMIT", 3),
        mock.patch.object(features, "_REBUILD_MIN", 1),
    ):
        for _ in range(3):
            got = vec.transform(["jointheranksnow", "brothersjointheranks"])
            assert abs(got - want).max() < 1e-6


def test_segmentation_off_leaves_old_artifacts_as_they_were() -> None:
    vec = _seg_vec()
    state = vec.__getstate__()
    del state["segment_words"]  # an artifact saved before the parameter existed
    old = FastTfidfVectorizer.__new__(FastTfidfVectorizer)
    old.__setstate__(state)
    assert old.segment_words is False
    assert old.transform(["jointheranks"]).nnz == 0
    old.segment_words = True  # switched on later: the token cache follows
    assert old.transform(["jointheranks"]).nnz > 0


def test_segmenter_rejects_syllables_and_suffixes() -> None:
    from propclf.features import Segmenter

    # two- and three-letter pieces must be common words (1 in 100 texts); "cla mor ing" is not
    assert Segmenter({"cla": -8.0, "mor": -8.0, "ing": -8.0})("clamoring") is None
    # an inflection the vocabulary lacks is not two words
    assert Segmenter({"martyr": -5.0, "ing": -2.0})("martyring") is None
    # too short to tell from a name; a single letter is never a piece
    assert Segmenter({"bar": -1.0, "tan": -1.0})("bartan") is None
    assert Segmenter({"jointhe": -1.0, "ranks": -1.0})("jointheranksx") is None
    # rare long pieces (below 1 in 10,000 texts) are not used either
    assert Segmenter({"join": -12.0, "ranks": -3.0})("joinranks") is None
    assert Segmenter({"join": -5.0, "ranks": -3.0})("joinranks") == ("join", "ranks")


_SEG_WORDS = {
    "join": -3.0, "the": -1.0, "ranks": -4.0, "now": -2.0, "rank": -6.0, "snow": -5.0,
    "brothers": -5.0, "our": -2.0, "ours": -6.0, "to": -1.0, "day": -4.0, "today": -3.5,
    "police": -4.0, "lice": -9.0, "said": -3.0, "march": -5.0, "arch": -7.0,
}  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(sorted(_SEG_WORDS)), min_size=2, max_size=8))
def test_segmentation_is_a_most_probable_split_into_known_words(words: list[str]) -> None:
    from propclf.features import SEGMENT_MAX_CHARS, SEGMENT_MIN_CHARS, Segmenter

    token = "".join(words)
    pieces = Segmenter(_SEG_WORDS)(token)
    if not SEGMENT_MIN_CHARS <= len(token) <= SEGMENT_MAX_CHARS:  # too short, or too much work
        assert pieces is None
        return
    assert pieces is not None  # a split exists (the words), so one is found
    assert "".join(pieces) == token
    assert all(p in _SEG_WORDS for p in pieces)
    # no split is more probable than the one chosen, the words themselves included
    assert sum(_SEG_WORDS[p] for p in pieces) >= sum(_SEG_WORDS[w] for w in words) - 1e-9
    quoted = Segmenter(_SEG_WORDS)("q_" + token)
    assert quoted == tuple("q_" + p for p in pieces)


_SEG_PARTS = [
    "jointheranks", "join", "the", "ranks", "now", "policesaid", "brothersjointheranks!!",
    "J0INTHERANKS", '"', "thecaliphatesaid", "xyzzyplugh", "#nowjointhemarch", "k i l l",
    "j o i n t h e r a n k s", "n.o.w.j.o.i.n",
]  # fmt: skip


def _reference_row(vec: FastTfidfVectorizer, text: str) -> dict[int, float]:
    """TF-IDF of one text written out from ``segment_tokens(analyze(text))``."""
    toks = vec.segment_tokens(analyze(text, vec.quotes))
    col = {name: c for c, name in enumerate(vec.feature_names_)}
    grams = [*toks, *(f"{a} {b}" for a, b in itertools.pairwise(toks))]
    counts: dict[int, int] = {}
    for g in grams:
        if g in col:
            counts[col[g]] = counts.get(col[g], 0) + 1
    row = {c: (1.0 + np.log(n)) * float(vec.idf_[c]) for c, n in counts.items()}
    norm = np.sqrt(sum(v * v for v in row.values())) or 1.0
    return {c: v / norm for c, v in row.items()}


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.lists(st.sampled_from(_SEG_PARTS), max_size=8).map(" ".join),
            st.text(alphabet='abcjointheranksw #!"0', max_size=40),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_segmented_transform_equals_the_written_out_reference(texts: list[str]) -> None:
    vec = _seg_vec()
    with mock.patch.object(features, "_REBUILD_MIN", 1):
        x = vec.transform(texts).tocsr()
    for i, text in enumerate(texts):
        want = _reference_row(vec, text)
        got = dict(zip(x[i].indices.tolist(), x[i].data.tolist(), strict=True))
        assert got.keys() == want.keys()
        for c, v in want.items():
            assert abs(got[c] - v) < 1e-6


_FRAME_WORDS = ["we", "were", "was", "told", "us", "me", "each", "other", "I", "i", "he",
                "thought", "that", "called", "on", "used", "to", "believe", "the", "war", "sure",
                ".", '"', "x", "y", "k1ll", "RT", "they", "really", "wethought"]  # fmt: skip


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(_FRAME_WORDS), max_size=25).map(" ".join), max_size=8),
    st.booleans(),
)
def test_reported_clauses_are_marked_only_where_a_frame_can_be(
    texts: list[str], gate: bool
) -> None:
    """The vectoriser runs the ``reported`` marking only on texts whose token ids could hold a
    frame; that must give exactly the tokens of marking every text (``analyze``)."""
    from propclf.text import REPORTED_AFTER, REPORTED_ANCHORS, REPORTED_BEFORE

    # with every gate word in the vocabulary the shortcut is taken; without, every text is marked
    seed = [" ".join(REPORTED_ANCHORS + REPORTED_BEFORE + REPORTED_AFTER)] if gate else ["x y"]
    fit = seed + texts
    fast = FastTfidfVectorizer(min_df=1, max_features=None, quotes="reported").fit(fit)

    def ngrams(text: str) -> list[str]:
        toks = analyze(text, "reported")
        return toks + [f"{a} {b}" for a, b in itertools.pairwise(toks)]

    ref = TfidfVectorizer(analyzer=ngrams, min_df=1, sublinear_tf=True).fit(fit)
    assert (features._frame_codes(fast._cache()) is not None) == gate
    _same(fast, ref, [*texts, "we were told that the war was sure . I thought so"])
