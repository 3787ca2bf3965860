"""Feature extraction: a fast word uni/bi-gram TF-IDF vectoriser (the one home of its settings).

:class:`FastTfidfVectorizer` computes the same matrix as scikit-learn's ``TfidfVectorizer`` with
``ngram_range=(1, 2)``, ``sublinear_tf=True``, ``smooth_idf=True``, ``norm="l2"`` over the
tokens of :data:`TOKEN_PATTERN` (a test pins the equivalence), but its ``transform`` is vectorised
with NumPy over batches of texts, with no Python object per token: the normalised batch is cut
into chunks by ``bytes.translate``, each chunk of up to 16 bytes is read as two integers and
mapped to its token id through a NumPy hash table (new chunks are tokenised once in Python and
remembered), bigram columns come from a second hash table, and weights and norms are computed on
flat arrays. :meth:`FastTfidfVectorizer.transform_dot` gives a linear model's scores without
building the sparse matrix. The vocabulary is stored as plain arrays, so the artifact stays small
and loads fast.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from propclf.language import OTHER_LANGUAGE_WORDS
from propclf.text import (
    QUOTE_PREFIXES,
    REPORTED_AFTER,
    REPORTED_ANCHORS,
    REPORTED_BEFORE,
    TOKEN_OR_SEP,
    TOKEN_PATTERN,
    QuoteMode,
    canonical_many,
    canonical_token,
    merge_letter_runs,
    normalize_joined,
)

__all__ = [
    "TOKEN_PATTERN",
    "FastTfidfVectorizer",
    "Segmenter",
    "analyze_many",
    "is_other_language",
    "is_word",
]

_SEP_ID = -2  # batch separator
_DROP_ID = -3  # token dropped by canonical_token ("rt")
_LETTER_BASE = -100  # single letters a..z get _LETTER_BASE - (ord(c) - ord("a"))
_CACHE_LIMIT = 300_000  # raw tokens; bounds memory on endless streams of new words
_BATCH_CHARS = 250_000  # characters per internal batch of transform
_REBUILD_MIN = 4096  # new chunks collected before the NumPy table of known chunks is rebuilt


def analyze_many(texts: Sequence[str], quotes: QuoteMode = "separate") -> list[list[str]]:
    """The model's tokens for each raw text (batch form of :func:`propclf.text.analyze`)."""
    if not texts:
        return []
    out: list[list[str]] = [[]]
    canon: dict[str, str] = {}
    for tok in TOKEN_OR_SEP.findall(normalize_joined(texts, quotes)):
        if tok == "\x1e":
            out.append([])
            continue
        c = canon.get(tok)
        if c is None:
            c = canon[tok] = canonical_token(tok)
        if c:
            out[-1].append(c)
    return [merge_letter_runs(toks) for toks in out]


_COMPOUND_ID = -4  # chunk holding several tokens ("go!!", "abc\u2026def"), expanded apart
_ABSENT_ID = -5  # not in the NumPy table of known chunks
# An out-of-vocabulary word (see ``is_word``) of a vectoriser without subword features: unknown
# like -1 to the features, told apart only to count the words a text has for its coverage.
_OOV_WORD_ID = -6
_MIN_ID = _LETTER_BASE - 25  # the smallest id: the letter "z"


def is_word(token: str) -> bool:
    """Whether a model token counts as a word for vocabulary coverage: two letters or more.

    Punctuation, the digit placeholder ``0`` and single letters are not words; a quoted token's
    ``q_``/``r_`` prefix is not part of it.

    Examples
    --------
    >>> [is_word(t) for t in ["war", "q_war", "0", "covid0", "x", "!", "в", "по"]]
    [True, True, False, True, False, False, False, True]
    """
    core = token[2:] if token[:2] in QUOTE_PREFIXES else token
    if core.isalpha():
        return len(core) > 1
    return sum(c.isalpha() for c in core) > 1


def is_other_language(token: str) -> bool:
    """Whether a model token is a common function word of another language
    (:data:`propclf.language.OTHER_LANGUAGE_WORDS`): a vocabulary word that does not count as
    *known* for vocabulary coverage, so that a French sentence is not read as English for the
    French words the corpora taught the vocabulary. A quoted token's prefix is not part of it.

    Examples
    --------
    >>> [is_other_language(t) for t in ["les", "q_und", "the", "un", "dont"]]
    [True, True, False, False, False]
    """
    core = token[2:] if token[:2] in QUOTE_PREFIXES else token
    return core in OTHER_LANGUAGE_WORDS


def _unknown_id(token: str) -> int:
    """Id of a canonical token that is not in the vocabulary (no subword features)."""
    return _OOV_WORD_ID if is_word(token) else -1


# Bytes that are never part of a token become spaces, which cuts the UTF-8 batch into chunks; a
# token never spans such a byte. Kept: ASCII word characters, ``!``/``?`` (split off later), the
# separator and every non-ASCII byte (judged with the regex later).
_CHUNK_TABLE = bytes(
    c if c >= 128 or chr(c) in "_!?\x1e" or chr(c).isalnum() else 32 for c in range(256)
)
_PACK = 16  # chunks up to this many bytes are looked up as two uint64 words, without Python
_LOW = np.array([(1 << 8 * min(n, 8)) - 1 for n in range(_PACK + 1)], dtype=np.uint64)
_HIGH = np.array([(1 << 8 * max(n - 8, 0)) - 1 for n in range(_PACK + 1)], dtype=np.uint64)


def _chunks(joined: str) -> tuple[bytes, np.ndarray, np.ndarray]:
    """Cut a normalised batch into chunks; their tokens, in order, are the batch's tokens.

    Returns the translated UTF-8 bytes and the start and end offset of every chunk in them.
    """
    buf = joined.encode("utf-8", "surrogatepass").translate(_CHUNK_TABLE)
    buf = buf.replace(b"\x1e", b" \x1e ") + b" " * _PACK  # padding for _pack
    edges = np.flatnonzero(np.diff(np.frombuffer(buf, dtype=np.uint8) != 32, prepend=False))
    return buf, edges[0::2], edges[1::2]


def _pack(buf: bytes, starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first 16 bytes of each chunk as two little-endian words (zero-padded, exact)."""
    words = np.ndarray((len(buf) - 7,), dtype="<u8", buffer=buf, strides=(1,))  # unaligned view
    n = np.minimum(lengths, _PACK)
    return words[starts] & _LOW[n], words[starts + 8] & _HIGH[n]


# --- run-together words -----------------------------------------------------------------------
#: Words run together without a space or capitals ("jointheranks", a lower-case hashtag such as
#: "#prayforthecity") are unknown to a vocabulary of words; :class:`Segmenter` splits such a token
#: into vocabulary words when it can. A token is split only when it is not itself in the
#: vocabulary, has at least this many letters (shorter unknown tokens are mostly names) ...
SEGMENT_MIN_CHARS = 7
#: ... and at most this many (a bound on the work for one token).
SEGMENT_MAX_CHARS = 60
#: Pieces of four letters or more must be unigram features found in at least 1 in 10,000 training
#: texts; pieces of two or three letters, in 1 in 100 (function words: "the", "for", "our"); a
#: single letter is never a piece. These keep rare words from being cut into syllables
#: ("clamoring" is not "cla mor ing").
SEGMENT_MIN_SHARE = 1e-4
SEGMENT_MIN_SHARE_SHORT = 1e-2
#: A split whose last piece is a suffix is a word the vocabulary lacks an inflection of
#: ("martyring" is not "martyr ing"); the subword features already read those.
SEGMENT_SUFFIXES = frozenset(
    {
        "ness", "less", "ment", "ments", "able", "ible", "ably", "ship", "hood", "ings", "ward",
        "wards", "tion", "ions", "ism", "isms", "ist", "ists", "ers", "ing", "ity", "ies", "ful",
        "ous", "ian", "ians", "ans", "est", "ened", "ally", "ical", "like", "wise",
    }
)  # fmt: skip


#: A word -> its pieces, or ``None`` when it is not split (:class:`Segmenter` is one).
SplitFn = Callable[[str], tuple[str, ...] | None]


def _split_unknown(tok: str, segment: SplitFn, known: Mapping[str, int]) -> tuple[str, ...] | None:
    """The pieces of a run-together word that ``known`` (the fitted vocabulary) lacks, or ``None``.

    The one rule for which tokens are split: the token cache (``transform``) and
    :meth:`FastTfidfVectorizer.segment_tokens` (``explain``) both apply it.
    """
    if len(tok) < SEGMENT_MIN_CHARS or tok in known:
        return None
    return segment(tok)


class Segmenter:
    """Split a run-together token into vocabulary words, by the most probable split.

    The probability of a piece is its document frequency in the training texts, read from the
    vectoriser's idf (``idf = ln((1 + n) / (1 + df)) + 1``), so the segmenter needs nothing the
    fitted vectoriser does not already hold; among the splits into allowed pieces (see
    :data:`SEGMENT_MIN_SHARE`), the one with the highest product of piece probabilities wins
    (fewer, commoner words), found by dynamic programming over the token's letters.

    Examples
    --------
    A toy vocabulary, every word in at least 1 in 100 texts:

    >>> seg = Segmenter({"join": -2.0, "the": -1.0, "ranks": -3.0, "ran": -3.0, "now": -2.5})
    >>> seg("jointheranksnow")
    ('join', 'the', 'ranks', 'now')
    >>> seg("q_jointheranks")
    ('q_join', 'q_the', 'q_ranks')
    >>> seg("jointhemx") is None  # "mx" is not a word: no split
    True
    """

    def __init__(self, log_share: dict[str, float]) -> None:
        long_min = math.log(SEGMENT_MIN_SHARE)
        short_min = math.log(SEGMENT_MIN_SHARE_SHORT)
        self.log_share = {
            w: p
            for w, p in log_share.items()
            if w.isascii()
            and w.isalpha()
            and ((len(w) >= 4 and p >= long_min) or (2 <= len(w) <= 3 and p >= short_min))
        }
        self.max_piece = max(map(len, self.log_share), default=0)

    @classmethod
    def from_vectorizer(cls, vec: FastTfidfVectorizer) -> Segmenter:
        """The segmenter of a fitted vectoriser's unigram features."""
        col = vec.unigram_col_
        idf = vec.idf_
        return cls({w: 1.0 - float(idf[col[i]]) for w, i in vec.vocabulary_.items() if col[i] >= 0})

    def __call__(self, token: str) -> tuple[str, ...] | None:
        """The pieces of ``token`` (with its ``q_``/``r_`` prefix on each), or ``None``."""
        prefix = ""
        if token[:2] in QUOTE_PREFIXES:
            prefix, token = token[:2], token[2:]
        n = len(token)
        if not (
            SEGMENT_MIN_CHARS <= n <= SEGMENT_MAX_CHARS and token.isascii() and token.isalpha()
        ):
            return None
        share = self.log_share
        best = [-math.inf] * (n + 1)
        back = [0] * (n + 1)
        best[0] = 0.0
        for j in range(n - 1):  # forward: only from where a split can start
            here = best[j]
            if here == -math.inf:
                continue
            for i in range(j + 2, min(n, j + self.max_piece) + 1):
                p = share.get(token[j:i])
                if p is not None and here + p > best[i]:
                    best[i], back[i] = here + p, j
        if best[n] == -math.inf:
            return None
        pieces = []
        i = n
        while i > 0:
            pieces.append(token[back[i] : i])
            i = back[i]
        if len(pieces) < 2 or pieces[0] in SEGMENT_SUFFIXES:  # pieces[0]: the last, reversed
            return None
        return tuple(prefix + p for p in reversed(pieces))


class _TokenIds(dict[bytes, int]):
    """Chunk -> id cache for one fitted vocabulary; misses are tokenised and canonicalised once.

    A chunk holding one token maps to its id; a chunk holding several maps to ``_COMPOUND_ID``
    and :meth:`expand` gives their ids.
    """

    def __init__(
        self,
        vocabulary: dict[str, int],
        segment: SplitFn | None = None,
        known: dict[str, int] | None = None,
    ) -> None:
        super().__init__()
        self.vocabulary = vocabulary
        self.segment = segment  # splits run-together words that ``known`` lacks
        self.known = vocabulary if known is None else known  # the fitted vocabulary
        self.compound: dict[bytes, tuple[int, ...]] = {}
        self[b"\x1e"] = _SEP_ID

    def token_ids(self, tok: str) -> tuple[int, ...]:
        """Ids of one raw token (before canonicalisation): one, or its pieces' when it is split."""
        if tok == "\x1e":
            return (_SEP_ID,)
        return self._word_ids(canonical_token(tok))

    def _word_ids(self, tok: str) -> tuple[int, ...]:
        """Ids of one canonical token."""
        if len(tok) <= 1:
            return (self._short_id(tok),)
        pieces = self._split(tok)
        if pieces is not None:
            return tuple(map(self._word_id, pieces))
        return (self._word_id(tok),)

    def _split(self, tok: str) -> tuple[str, ...] | None:
        """The pieces of a run-together word the fitted vocabulary lacks, or ``None``."""
        if self.segment is None:
            return None
        return _split_unknown(tok, self.segment, self.known)

    def _word_id(self, tok: str) -> int:
        """Id of a canonical token of two characters or more."""
        tid = self.vocabulary.get(tok, -1)
        return _unknown_id(tok) if tid == -1 else tid

    def expand(self, chunk: bytes) -> tuple[int, ...]:
        """Ids of every token of a chunk."""
        ids = self.compound.get(chunk)
        if ids is None:
            text = chunk.decode("utf-8", "surrogatepass")
            if text.isascii() and "!" not in text and "?" not in text:
                ids = self.token_ids(text)  # ASCII word characters only: one token
            else:
                toks = TOKEN_OR_SEP.findall(text)
                ids = tuple(itertools.chain.from_iterable(map(self.token_ids, toks)))
        return ids

    def learn(self, chunks: list[bytes]) -> None:
        """Add new chunks at once: one decode, and canonicalisation only where it changes a token."""
        if len(self) + len(chunks) > _CACHE_LIMIT:
            self.clear()
            self.compound.clear()
            self[b"\x1e"] = _SEP_ID
        chunks = [c for c in chunks if c != b"\x1e"]  # the separator keeps its own entry
        if not chunks:
            return
        texts = b"\n".join(chunks).decode("utf-8", "surrogatepass").split("\n")
        single = [t.isascii() and "!" not in t and "?" not in t for t in texts]  # one token
        words = canonical_many([t for t, one in zip(texts, single, strict=True) if one])
        split: dict[int, tuple[str, ...]] = {}  # word index -> pieces, for run-together words
        if self.segment is not None:
            for k, w in enumerate(words):
                if (pieces := self._split(w)) is not None:
                    split[k] = pieces
        vocab = self.vocabulary
        found = [
            -1 if k in split else vocab.get(w, -1) if len(w) > 1 else self._short_id(w)
            for k, w in enumerate(words)
        ]
        k = 0
        for chunk, one in zip(chunks, single, strict=True):
            if not one:
                self.__missing__(chunk)
                continue
            pieces = split.get(k)
            if pieces is None:
                tid = found[k]
                w = words[k]
                self[chunk] = _unknown_id(w) if tid == -1 and len(w) > 1 else tid
            else:
                self.compound[chunk] = tuple(map(self._word_id, pieces))
                self[chunk] = _COMPOUND_ID
            k += 1

    def _short_id(self, tok: str) -> int:
        """Id of a canonical token of at most one character."""
        if not tok:
            return _DROP_ID
        if "a" <= tok <= "z":
            return _LETTER_BASE - (ord(tok) - 97)
        return self.vocabulary.get(tok, -1)

    def __missing__(self, chunk: bytes) -> int:
        if chunk == b"\x1e":  # another thread may be between clear() and re-inserting it
            return _SEP_ID
        ids = self.expand(chunk)
        if len(self) > _CACHE_LIMIT:
            self.clear()
            self.compound.clear()
            self[b"\x1e"] = _SEP_ID
        if len(ids) == 1:
            tid = ids[0]
        elif not ids:
            tid = _DROP_ID
        else:
            tid = _COMPOUND_ID
            self.compound[chunk] = ids
        self[chunk] = tid
        return tid


def _splice(ids: np.ndarray, at: np.ndarray, parts: list[tuple[int, ...]]) -> np.ndarray:
    """Replace ``ids[at[k]]`` by the ids ``parts[k]`` (each of length >= 2)."""
    lens = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
    counts = np.ones(len(ids), dtype=np.int64)
    counts[at] = lens
    out = np.repeat(ids, counts)
    first = np.cumsum(counts)[at] - lens  # where each expansion starts in ``out``
    offsets = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)
    out[np.repeat(first, lens) + offsets] = np.fromiter(
        itertools.chain.from_iterable(parts), dtype=np.int64, count=int(lens.sum())
    )
    return out


def _batches(docs: Sequence[str]) -> list[tuple[int, int]]:
    """Consecutive slices of about ``_BATCH_CHARS`` characters (at least one text each).

    Batches this size keep the per-token arrays in the CPU caches: ~25% faster than one batch of
    megabytes, and the per-batch overhead is still negligible.
    """
    if not docs:
        return []
    ends = np.cumsum(np.fromiter(map(len, docs), dtype=np.int64, count=len(docs)))
    cuts = np.searchsorted(ends, np.arange(_BATCH_CHARS, ends[-1], _BATCH_CHARS)) + 1
    edges = np.unique(np.concatenate(([0], cuts, [len(docs)]))).tolist()
    return list(itertools.pairwise(edges))


class _KeyTable:
    """Read-only hash table from keys of one or two uint64 words to int64, looked up with NumPy.

    The first word of a key must not be 0 (it marks empty slots). Open addressing with double
    hashing at load <= 1 / room: a batch lookup is one gather per key word for nearly every key and
    a few short rounds for the rest, where a binary search over sorted keys costs ~17
    cache-missing steps per key.
    """

    _MUL = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing
    _MIX = np.uint64(0xC2B2AE3D27D4EB4F)
    _STEP = np.uint64(0xD6E8FEB86659FD93)

    def __init__(self, keys: tuple[np.ndarray, ...], values: np.ndarray, room: int = 2) -> None:
        bits = max(4, (room * len(values)).bit_length())  # load <= 1 / room
        self.mask = (1 << bits) - 1
        self.shift = np.uint64(64 - bits)
        self.keys = tuple(np.zeros(1 << bits, dtype=np.uint64) for _ in keys)
        self.values = np.zeros(1 << bits, dtype=np.int64)
        self.size = len(values)
        h = self._hash(keys)
        slot = (h >> self.shift).astype(np.int64)
        step = self._step(h)
        pending = np.arange(len(values))
        while pending.size:  # one key per free slot wins; the others probe on
            at = slot[pending]
            free = self.keys[0][at] == 0
            cand, at = pending[free], at[free]
            self.values[at] = cand  # scratch: which candidate got the slot
            won = self.values[at] == cand
            cand, at = cand[won], at[won]
            for table_words, key_words in zip(self.keys, keys, strict=True):
                table_words[at] = key_words[cand]
            self.values[at] = values[cand]
            done = np.zeros(len(values), dtype=bool)
            done[cand] = True
            pending = pending[~done[pending]]
            slot[pending] = (slot[pending] + step[pending]) & self.mask

    def _hash(self, keys: tuple[np.ndarray, ...]) -> np.ndarray:
        h = keys[0] if len(keys) == 1 else keys[0] ^ (keys[1] * self._MIX)
        return h * self._MUL

    def _step(self, h: np.ndarray) -> np.ndarray:
        """Odd probe step (visits every slot of the power-of-two table), independent of the slot."""
        return ((h * self._STEP) >> self.shift).astype(np.int64) | 1

    def get(self, keys: tuple[np.ndarray, ...], default: int = -1) -> np.ndarray:
        """Value of each key, ``default`` where it is absent."""
        h = self._hash(keys)
        slot = (h >> self.shift).astype(np.int64)
        found = self.keys[0][slot]
        hit = found == keys[0]
        for table_words, key_words in zip(self.keys[1:], keys[1:], strict=True):
            hit &= table_words[slot] == key_words
        out = np.where(hit, self.values[slot], default)
        todo = np.flatnonzero(~hit & (found != 0))  # another key holds the slot: probe on
        slot, step = slot[todo], self._step(h[todo])
        while todo.size:
            slot = (slot + step) & self.mask
            found = self.keys[0][slot]
            hit = found == keys[0][todo]
            for table_words, key_words in zip(self.keys[1:], keys[1:], strict=True):
                hit &= table_words[slot] == key_words[todo]
            out[todo[hit]] = self.values[slot[hit]]
            more = ~hit & (found != 0)
            todo, slot, step = todo[more], slot[more], step[more]
        return out


class _ChunkIds:
    """Chunk -> id for one fitted vocabulary: a NumPy table of short chunks in front of
    :class:`_TokenIds` (which tokenises and canonicalises each new chunk once).

    New short chunks are collected and added to the table in bulk, so a stream of new words
    costs an amortised rebuild; the table is replaced, never changed in place (thread-safe).
    """

    def __init__(
        self,
        vocabulary: dict[str, int],
        segment: SplitFn | None = None,
        known: dict[str, int] | None = None,
    ) -> None:
        self.vocabulary = vocabulary
        self.source: dict[str, int] = vocabulary  # the fitted vocabulary this cache serves
        self.subwords: _Subwords | None = None
        self.ids = _TokenIds(vocabulary, segment, known)
        self.known: tuple[np.ndarray, np.ndarray, np.ndarray] = (
            np.zeros(0, dtype=np.uint64),
            np.zeros(0, dtype=np.uint64),
            np.zeros(0, dtype=np.int64),
        )
        self.table = _KeyTable(self.known[:2], self.known[2])
        self.new: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.n_new = 0
        # word kind per id (see FastTfidfVectorizer._word_kinds), replaced, never changed in place
        self.kinds: np.ndarray | None = None
        # gate word codes of reporting frames (see _frame_codes); empty when there is no gate
        self.frame_codes: np.ndarray | None = None

    def lookup(self, buf: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Id of every chunk ``buf[starts[i]:ends[i]]``."""
        lengths = ends - starts
        w0, w1 = _pack(buf, starts, lengths)
        ids = self.table.get((w0, w1), default=_ABSENT_ID)
        ids[lengths > _PACK] = _ABSENT_ID
        miss = np.flatnonzero(ids == _ABSENT_ID)
        if miss.size:
            spans = map(slice, starts[miss].tolist(), ends[miss].tolist())
            chunks = list(map(buf.__getitem__, spans))
            new = [c for c in dict.fromkeys(chunks) if c not in self.ids]
            if new:
                self.ids.learn(new)
            ids[miss] = np.fromiter(map(self.ids.__getitem__, chunks), np.int64, len(miss))
            short = miss[lengths[miss] <= _PACK]
            self._remember(w0[short], w1[short], ids[short])
        return ids

    def expand(self, buf: bytes, start: int, end: int) -> tuple[int, ...]:
        """Ids of every token of the chunk ``buf[start:end]``."""
        return self.ids.expand(buf[start:end])

    def _remember(self, w0: np.ndarray, w1: np.ndarray, ids: np.ndarray) -> None:
        self.new.append((w0, w1, ids))
        self.n_new += len(ids)
        if self.n_new < max(_REBUILD_MIN, self.table.size // 2):
            return
        new, self.new, self.n_new = self.new, [], 0
        k0, k1, v = (np.concatenate(parts) for parts in zip(self.known, *new, strict=True))
        order = np.lexsort((k1, k0))
        k0, k1, v = k0[order], k1[order], v[order]
        first = np.ones(len(v), dtype=bool)
        first[1:] = (k0[1:] != k0[:-1]) | (k1[1:] != k1[:-1])
        k0, k1, v = k0[first], k1[first], v[first]
        if len(v) > _CACHE_LIMIT:  # bound memory on endless streams of new words
            k0, k1, v = k0[:0], k1[:0], v[:0]
        table = _KeyTable((k0, k1), v)
        self.known = (k0, k1, v)
        self.table = table


def _frame_codes(cache: _ChunkIds) -> np.ndarray | None:
    """Per id (offset by ``-_MIN_ID``): 1 for an anchor of a reporting frame
    (:data:`propclf.text.REPORTED_ANCHORS`), 2 for a word that may stand before one, 4 for a
    word that may follow one; 0 for every other id (the last entry: ids past the table). ``None``
    when one of these words is not a single known token (then every text is marked)."""
    if cache.frame_codes is None:
        table = np.zeros(len(cache.source) - _MIN_ID + 1, dtype=np.uint8)
        for code, words in ((1, REPORTED_ANCHORS), (2, REPORTED_BEFORE), (4, REPORTED_AFTER)):
            for w in words:
                ids = cache.ids.token_ids(w)
                known = len(ids) == 1 and (
                    0 <= ids[0] < len(cache.source) or ids[0] <= _LETTER_BASE
                )
                if not known:
                    cache.frame_codes = np.zeros(0, dtype=np.uint8)
                    return None
                table[ids[0] - _MIN_ID] |= code
        cache.frame_codes = table
    return cache.frame_codes if cache.frame_codes.size else None


def _framed_rows(rows: np.ndarray, ids: np.ndarray, cache: _ChunkIds) -> np.ndarray | None:
    """Rows with an anchor token that has a gate word one or two tokens before it or right
    after it (single letters not yet merged into words); ``None``: no gate, every row."""
    table = _frame_codes(cache)
    if table is None:
        return None
    codes = np.take(table, ids - _MIN_ID, mode="clip")
    at = np.flatnonzero(codes & 1)
    if not at.size:
        return at
    last = len(ids) - 1
    near = codes[np.maximum(at - 1, 0)] | codes[np.maximum(at - 2, 0)]
    hit = (near & 2).astype(bool) | (codes[np.minimum(at + 1, last)] & 4).astype(bool)
    return np.unique(rows[at[hit]])


def _replace_rows(
    rows: np.ndarray, ids: np.ndarray, which: np.ndarray, new_rows: np.ndarray, new_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``rows``/``ids`` (sorted by row) with the tokens of the rows ``which`` (sorted) replaced by
    ``new_rows``/``new_ids`` (sorted by row, every row in ``which``)."""
    lo = np.searchsorted(rows, which, "left").tolist()
    hi = np.searchsorted(rows, which, "right").tolist()
    nlo = np.searchsorted(new_rows, which, "left").tolist()
    nhi = np.searchsorted(new_rows, which, "right").tolist()
    out_r, out_i, pos = [], [], 0
    for a, b, c, d in zip(lo, hi, nlo, nhi, strict=True):
        out_r += [rows[pos:a], new_rows[c:d]]
        out_i += [ids[pos:a], new_ids[c:d]]
        pos = b
    out_r.append(rows[pos:])
    out_i.append(ids[pos:])
    return np.concatenate(out_r), np.concatenate(out_i)


class _Types(dict[str, int]):
    """Token -> type id for the subword features: the vocabulary's own ids, then a new id for
    every other token met (so out-of-vocabulary words still have an identity)."""

    def __init__(self, vocabulary: dict[str, int]) -> None:
        super().__init__(vocabulary)
        self.n_vocab = len(vocabulary)
        self.words: list[str] = [""] * len(vocabulary)
        for tok, i in vocabulary.items():
            self.words[i] = tok
        self._lock = threading.Lock()

    def get(self, key: str, default: Any = None) -> int:
        tid = dict.get(self, key)
        if tid is None:
            with self._lock:
                tid = dict.get(self, key)
                if tid is None:
                    tid = self[key] = len(self.words)
                    self.words.append(key)
        return tid


_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_FMIX = (0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53)


def subword_grams(
    words: Sequence[str], ngrams: tuple[int, int], n_buckets: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every character n-gram of ``<word>`` for each word (fastText's word boundaries), hashed.

    Returns the index of the word each n-gram belongs to and its bucket. A gram's hash is
    64-bit FNV-1a over its Unicode code points, started from the FNV offset XOR a salt (0, or
    1 / 2 for a token quoted as ``q_`` / ``r_``, whose grams are taken without the prefix: quoted
    speech has subword features of its own, as it has word features of its own), finished with
    MurmurHash3's 64-bit mix; the bucket is its low bits (``n_buckets`` is a power of two). All
    of it runs in NumPy over every gram of a batch of words at once, and gives the same buckets
    on every machine.
    """
    salts = np.zeros(len(words), dtype=np.uint64)
    bodies = []
    for i, w in enumerate(words):
        if w[:2] in QUOTE_PREFIXES and len(w) > 2:
            salts[i] = 1 if w[0] == "q" else 2
            w = w[2:]
        bodies.append("<" + w + ">")
    cps = np.frombuffer("".join(bodies).encode("utf-32-le", "surrogatepass"), dtype="<u4")
    cps = cps.astype(np.uint64)
    lens = np.fromiter(map(len, bodies), dtype=np.int64, count=len(bodies))
    starts = np.cumsum(lens) - lens
    owners, buckets = [], []
    prime = np.uint64(_FNV_PRIME)
    for n in range(ngrams[0], ngrams[1] + 1):
        cnt = np.maximum(lens - n + 1, 0)
        total = int(cnt.sum())
        owner = np.repeat(np.arange(len(words)), cnt)
        pos = np.repeat(starts - (np.cumsum(cnt) - cnt), cnt) + np.arange(total)
        h = salts[owner] ^ np.uint64(_FNV_OFFSET)
        for i in range(n):
            h = (h ^ cps[pos + i]) * prime
        h ^= h >> np.uint64(33)
        h *= np.uint64(_FMIX[0])
        h ^= h >> np.uint64(33)
        h *= np.uint64(_FMIX[1])
        h ^= h >> np.uint64(33)
        owners.append(owner)
        buckets.append((h & np.uint64(n_buckets - 1)).astype(np.int64))
    return np.concatenate(owners), np.concatenate(buckets)


class NameFilter:
    """Which tokens get no subword features, given the excluded names.

    A token is excluded when, without its ``q_``/``r_`` prefix, it is a name, starts or ends
    with a name of four letters or more (*bostonbombings*, *prayforboston*, *bostonians*), or
    is a name cut short to five letters or more (*bosto*, as truncated posts end): the n-grams
    of any of these would teach the model the name again.

    Examples
    --------
    >>> f = NameFilter({"boston"})
    >>> [f(w) for w in ["boston", "q_bostonstrong", "bosto", "bostic", "bost"]]
    [True, True, True, False, False]
    """

    def __init__(self, names: Iterable[str]) -> None:
        self.names = frozenset(names)
        self.long = frozenset(n for n in self.names if len(n) >= 4)
        self.cut = frozenset(n[:k] for n in self.names for k in range(5, len(n)))

    def __bool__(self) -> bool:
        return bool(self.names)

    def __call__(self, token: str) -> bool:
        core = token[2:] if token[:2] in QUOTE_PREFIXES else token
        if core in self.names or core in self.cut:
            return True
        long = self.long
        return any(core[:k] in long or core[-k:] in long for k in range(4, len(core)))


def _spelled(words: list[str], exclude: NameFilter) -> list[str]:
    """The words whose n-grams count: an excluded word becomes "" ("<>": no n-grams)."""
    return ["" if exclude(w) else w for w in words] if exclude else words


def subword_buckets(token: str, ngrams: tuple[int, int], n_buckets: int) -> list[int]:
    """The buckets of one token's character n-grams (see :func:`subword_grams`).

    Examples
    --------
    >>> len(subword_buckets("war", (3, 5), 16))  # <wa war ar> <war war> <war>
    6
    """
    return subword_grams([token], ngrams, n_buckets)[1].tolist()


class _Subwords:
    """Per-type subword vectors of one fitted vectoriser, computed once per type on first use.

    A type's vector has, per bucket, the number of its n-grams in that bucket times the bucket's
    idf; buckets below ``subword_min_df`` (idf 0) and excluded tokens give nothing. New types are
    computed in bulk (all their n-grams hashed at once in NumPy) into a flat store of
    (bucket, weight) runs; kept per type are its run, its squared norm and its dot product with
    the last weight vector asked for, so scoring a known type costs one gather.
    """

    def __init__(self, vec: FastTfidfVectorizer, types: _Types) -> None:
        assert vec.subword_idf_ is not None
        self.types = types
        self.idf: np.ndarray = vec.subword_idf_
        self.ngrams = vec.subword_ngrams
        self.exclude = NameFilter(vec.subword_exclude)
        self.chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # type, bucket, weight
        self.flat: tuple[np.ndarray, np.ndarray] | None = None  # buckets, weights, concatenated
        self.n_flat = 0
        self.start = np.zeros(0, dtype=np.int64)  # each type's run in the flat store
        self.length = np.zeros(0, dtype=np.int64)
        self.sq = np.zeros(0)
        self.known = np.zeros(0, dtype=bool)
        self.dots = np.zeros(0)
        self.coef: tuple[object, np.ndarray] | None = None
        self.lock = threading.Lock()

    def _grow(self, n: int) -> None:
        if n > len(self.known):
            extra = max(n, 2 * len(self.known), 1024) - len(self.known)
            self.start = np.concatenate((self.start, np.zeros(extra, dtype=np.int64)))
            self.length = np.concatenate((self.length, np.zeros(extra, dtype=np.int64)))
            self.sq = np.concatenate((self.sq, np.zeros(extra)))
            self.known = np.concatenate((self.known, np.zeros(extra, dtype=bool)))
            self.dots = np.concatenate((self.dots, np.zeros(extra)))

    def _ensure(self, tids: np.ndarray) -> None:
        """Compute the vectors of the types in ``tids`` not computed yet."""
        self._grow(len(self.types.words))
        new = np.unique(tids[~self.known[tids]])
        if not new.size:
            return
        words = self.types.words
        n_buckets = len(self.idf)
        new_words = _spelled([words[t] for t in new.tolist()], self.exclude)
        owner, buckets = subword_grams(new_words, self.ngrams, n_buckets)
        keys, counts = np.unique(owner * n_buckets + buckets, return_counts=True)
        k_of, b = np.divmod(keys, n_buckets)
        w = counts * self.idf[b].astype(np.float64)
        keep = w > 0
        k_of, b, w = k_of[keep], b[keep], w[keep]
        t_of = new[k_of]
        lens = np.bincount(k_of, minlength=len(new))
        self.start[new] = self.n_flat + np.cumsum(lens) - lens
        self.length[new] = lens
        self.sq[new] = np.bincount(k_of, weights=w * w, minlength=len(new))
        if self.coef is not None:
            self.dots[new] = np.bincount(k_of, weights=w * self.coef[1][b], minlength=len(new))
        self.chunks.append((t_of, b, w))
        self.n_flat += len(b)
        self.flat = None
        self.known[new] = True

    def norms(self, tids: np.ndarray) -> np.ndarray:
        """Squared norm of each type's vector."""
        with self.lock:
            self._ensure(tids)
            return self.sq[tids]

    def dot(self, tids: np.ndarray, key: object, coef: np.ndarray) -> np.ndarray:
        """Each type's vector dotted with ``coef`` (the subword block of a weight vector), which
        is remembered by identity of ``key`` (the caller's weight array). The types must have
        been computed already (:meth:`norms` has seen them: ``_weights`` calls it first)."""
        with self.lock:
            if self.coef is None or self.coef[0] is not key:
                self.coef = (key, coef)
                self.dots[:] = 0.0
                for t_of, b, w in self.chunks:
                    np.add.at(self.dots, t_of, w * coef[b])
            return self.dots[tids]

    def matrix(self, tids: np.ndarray) -> sp.csr_matrix:
        """The vectors of ``tids`` as rows."""
        with self.lock:
            self._ensure(tids)
            if self.flat is None:
                self.flat = (
                    np.concatenate([np.zeros(0, dtype=np.int64), *(c[1] for c in self.chunks)]),
                    np.concatenate([np.zeros(0), *(c[2] for c in self.chunks)]),
                )
            flat_b, flat_w = self.flat
            start, lens = self.start[tids], self.length[tids]
        indptr = np.concatenate(([0], np.cumsum(lens)))
        at = np.repeat(start - indptr[:-1], lens) + np.arange(indptr[-1])
        return sp.csr_matrix((flat_w[at], flat_b[at], indptr), shape=(len(tids), len(self.idf)))


class _SubwordRows:
    """The subword part of one batch: per token occurrence its row, type and ``1 / norm``."""

    def __init__(
        self, subwords: _Subwords, rows: np.ndarray, types: np.ndarray, weight: np.ndarray
    ) -> None:
        self.subwords, self.rows, self.types, self.weight = subwords, rows, types, weight

    def matrix(self, n_rows: int) -> sp.csr_matrix:
        uniq, inverse = np.unique(self.types, return_inverse=True)
        a = sp.csr_matrix((self.weight, (self.rows, inverse)), shape=(n_rows, len(uniq)))
        return (a @ self.subwords.matrix(uniq)).tocsr()

    def dot(self, n_rows: int, key: object, coef: np.ndarray) -> np.ndarray:
        dots = self.subwords.dot(self.types, key, coef)
        return np.bincount(self.rows, weights=self.weight * dots, minlength=n_rows)


class FastTfidfVectorizer(TransformerMixin, BaseEstimator):
    """Word unigram + bigram TF-IDF over raw texts, with a vectorised transform.

    Parameters
    ----------
    quotes : {"reported", "attributed", "separate", "mask", "ignore"}, default="separate"
        Treatment of quoted speech, see :func:`propclf.text.normalize_many`.
    min_df : int, default=2
        Ignore n-grams that occur in fewer documents.
    max_features : int or None, default=None
        Keep only the most frequent n-grams (by document frequency, ties by the n-gram).
    bigrams : bool, default=True
        Also use pairs of adjacent tokens.
    dtype : numpy dtype, default=np.float32
        Dtype of the output matrix.
    subword_buckets : int, default=0
        When non-zero (a power of two), append fastText-style subword features in this many
        hashed columns: every token (in the vocabulary or not) stands for the character
        n-grams of ``<token>`` (``subword_ngrams``), hashed by :func:`subword_grams`. A text's
        subword vector is ``sum_t c_t u_t / sqrt(sum_t c_t |u_t|**2)`` over its distinct
        tokens ``t``, with ``c_t`` the token's count and ``u_t`` its n-gram counts per bucket
        times the bucket's idf (buckets in fewer than ``subword_min_df`` training texts get idf
        0): the norm treats the occurrences as orthogonal, so a word said ``c`` times weighs
        ``sqrt(c)`` times one said once, and each occurrence's share of a linear score is a
        per-word constant over one per-text norm: scoring costs two gathers per token and no
        sort, and a misspelled or unseen word still counts through the n-grams it shares with
        known words.
    subword_ngrams : tuple of int, default=(3, 5)
        Shortest and longest character n-gram of the subword features.
    subword_min_df : int, default=5
        Minimum document frequency of a subword bucket.
    subword_exclude : tuple of str, default=()
        Tokens (also in their quoted ``q_``/``r_`` form, words that start or end with one of
        four letters or more, and the names cut short, see :class:`NameFilter`) without
        subword features: names that
        identify a source (see ``PropagandaClassifier.exclude_tokens``).

    segment_words : bool, default=False
        Split a token the vocabulary does not have into vocabulary words when it is several
        words run together ("jointheranks", a lower-case hashtag), see :class:`Segmenter`; the
        split applies to the texts ``transform`` reads, the training texts included (``fit``
        counts the tokens as they are written).

    Attributes
    ----------
    vocabulary_ : dict of str to int
        Token to token id (every token that is a feature or part of a bigram feature).
    unigram_col_ : ndarray of int32
        Column of each token id, or -1 when the token alone is not a feature.
    bigram_keys_ : ndarray of int64
        Sorted keys ``id1 * n_tokens + id2`` of the bigram features.
    bigram_col_ : ndarray of int32
        Column of each bigram key.
    idf_ : ndarray of float32
        Inverse document frequency per word n-gram column.
    subword_idf_ : ndarray of float32 or None
        Inverse document frequency per subword bucket (0 below ``subword_min_df``).
    feature_names_ : ndarray of str
        N-gram per column (bigrams joined by a space).
    """

    def __init__(
        self,
        quotes: QuoteMode = "separate",
        min_df: int = 2,
        max_features: int | None = None,
        bigrams: bool = True,
        dtype: type = np.float32,
        subword_buckets: int = 0,
        subword_ngrams: tuple[int, int] = (3, 5),
        subword_min_df: int = 5,
        subword_exclude: tuple[str, ...] = (),
        segment_words: bool = False,
    ) -> None:
        self.quotes = quotes
        self.min_df = min_df
        self.max_features = max_features
        self.bigrams = bigrams
        self.dtype = dtype
        self.subword_buckets = subword_buckets
        self.subword_ngrams = subword_ngrams
        self.subword_min_df = subword_min_df
        self.subword_exclude = subword_exclude
        self.segment_words = segment_words

    # -- fitting ---------------------------------------------------------------------------------
    def fit(self, X: Iterable[str], y: object = None) -> FastTfidfVectorizer:
        """Learn the vocabulary and idf from raw texts."""
        if isinstance(X, str):
            raise TypeError("expected an iterable of texts, got a single string")
        b = self.subword_buckets
        if b and (b < 2 or b & (b - 1)):
            raise ValueError(f"subword_buckets must be 0 or a power of two, got {b}")
        docs = analyze_many(list(X), self.quotes)
        n_docs = len(docs)
        if n_docs == 0:
            raise ValueError("cannot fit a vectorizer on zero documents")
        df: Counter[str] = Counter()
        for toks in docs:
            df.update(set(toks))
            if self.bigrams:
                df.update({f"{a} {b}" for a, b in itertools.pairwise(toks)})
        kept = [(g, c) for g, c in df.items() if c >= self.min_df]
        if not kept:
            raise ValueError("no n-gram reaches min_df; lower min_df or give more text")
        kept.sort(key=lambda gc: (-gc[1], gc[0]))
        if self.max_features is not None:
            kept = kept[: self.max_features]
        kept.sort(key=lambda gc: gc[0])  # columns in lexical order, like scikit-learn
        names = [g for g, _ in kept]
        counts = np.array([c for _, c in kept], dtype=np.float64)

        vocab: dict[str, int] = {}
        for g in names:
            for tok in g.split(" "):
                if tok not in vocab:
                    vocab[tok] = len(vocab)
        n_tok = len(vocab)
        unigram_col = np.full(n_tok, -1, dtype=np.int32)
        b_keys: list[int] = []
        b_cols: list[int] = []
        for col, g in enumerate(names):
            parts = g.split(" ")
            if len(parts) == 1:
                unigram_col[vocab[g]] = col
            else:
                b_keys.append(vocab[parts[0]] * n_tok + vocab[parts[1]])
                b_cols.append(col)
        keys = np.array(b_keys, dtype=np.int64)
        order = np.argsort(keys, kind="stable")
        self.vocabulary_ = vocab
        self.unigram_col_ = unigram_col
        self.bigram_keys_ = keys[order]
        self.bigram_col_ = np.array(b_cols, dtype=np.int32)[order]
        self.idf_ = (np.log((1.0 + n_docs) / (1.0 + counts)) + 1.0).astype(np.float32)
        self._feature_names = np.array(names, dtype=object)
        self.subword_idf_ = self._subword_idf(docs) if self.subword_buckets else None
        self.n_features_in_ = 1
        self.__dict__.pop("_ids", None)
        return self

    def _subword_idf(self, docs: list[list[str]]) -> np.ndarray:
        """Idf per subword bucket from the training texts' tokens (0 below ``subword_min_df``)."""
        n_buckets = self.subword_buckets
        type_of: dict[str, int] = {}
        rows, cols = [], []
        for i, toks in enumerate(docs):
            for t in set(toks):
                rows.append(i)
                cols.append(type_of.setdefault(t, len(type_of)))
        types = _spelled(list(type_of), NameFilter(self.subword_exclude))  # in id order
        grams_r, grams_c = subword_grams(types, self.subword_ngrams, n_buckets)
        a = sp.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, cols)), shape=(len(docs), len(type_of))
        )
        g = sp.csr_matrix(
            (np.ones(len(grams_r), np.float32), (grams_r, grams_c)),
            shape=(len(type_of), n_buckets),
        )
        g.data[:] = 1.0  # presence: the constructor summed a gram's repeats in a word
        df = np.zeros(n_buckets)
        for i in range(0, len(docs), 20_000):  # bounded memory: the product is dense-ish
            block = (a[i : i + 20_000] @ g).tocsr()
            df += np.bincount(block.indices, minlength=n_buckets)
        idf = np.log((1.0 + len(docs)) / (1.0 + df)) + 1.0
        idf[df < self.subword_min_df] = 0.0
        return idf.astype(np.float32)

    @property
    def n_word_features_(self) -> int:
        """Number of word n-gram columns (the subword buckets, if any, follow them)."""
        check_is_fitted(self, "idf_")
        return len(self.idf_)

    def _n_columns(self) -> int:
        sub = self.__dict__.get("subword_idf_")
        return len(self.idf_) + (0 if sub is None else len(sub))

    @property
    def feature_names_(self) -> np.ndarray:
        """N-gram per column; rebuilt from the vocabulary after loading (not pickled: 400,000
        string objects made up most of a model's load time)."""
        names = self.__dict__.get("_feature_names")
        if names is None:
            check_is_fitted(self, "idf_")
            tokens = np.empty(len(self.vocabulary_), dtype=object)
            for tok, i in self.vocabulary_.items():
                tokens[i] = tok
            names = np.empty(len(self.idf_), dtype=object)
            uni = np.flatnonzero(self.unigram_col_ >= 0)
            names[self.unigram_col_[uni]] = tokens[uni]
            n_tok = len(tokens)
            first, second = np.divmod(self.bigram_keys_, n_tok)
            names[self.bigram_col_] = [
                f"{a} {b}" for a, b in zip(tokens[first], tokens[second], strict=True)
            ]
            self._feature_names = names
        return names

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """N-gram of each output column (``subword_<bucket>`` for the subword columns)."""
        check_is_fitted(self, "idf_")
        sub = self.__dict__.get("subword_idf_")
        if sub is None:
            return self.feature_names_.copy()
        buckets = np.array([f"subword_{b}" for b in range(len(sub))], dtype=object)
        return np.concatenate((self.feature_names_, buckets))

    @property
    def segmenter_(self) -> Segmenter:
        """The :class:`Segmenter` of the fitted vocabulary (built on first use, not pickled)."""
        cached = self.__dict__.get("_segmenter")
        if cached is None or cached[0] is not self.vocabulary_:
            check_is_fitted(self, "idf_")
            cached = self._segmenter = (self.vocabulary_, Segmenter.from_vectorizer(self))
        return cached[1]

    def _segment(self, token: str) -> tuple[str, ...] | None:
        return self.segmenter_(token)

    def segment_tokens(self, tokens: Sequence[str]) -> list[str]:
        """``tokens`` (from ``analyze``) with run-together words split as ``transform`` splits
        them (unchanged when ``segment_words`` is off)."""
        if not self.segment_words:
            return list(tokens)
        segment, vocab = self.segmenter_, self.vocabulary_
        out: list[str] = []
        for tok in tokens:
            out.extend(_split_unknown(tok, segment, vocab) or (tok,))
        return out

    # -- transforming ----------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_ids", None)  # caches, rebuilt on first use
        state.pop("_bigram_index", None)
        state.pop("_letter_ids", None)
        state.pop("_feature_names", None)  # rebuilt from the vocabulary on first use
        state.pop("_segmenter", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # artifacts saved before the names were derived carry them under the old attribute
        names = state.pop("feature_names_", None)
        for key, default in (
            ("subword_buckets", 0),
            ("subword_ngrams", (3, 5)),
            ("subword_min_df", 5),
            ("subword_exclude", ()),
            ("subword_idf_", None),
            ("segment_words", False),
        ):
            state.setdefault(key, default)  # saved before subword features existed
        self.__dict__.update(state)
        if names is not None:
            self._feature_names = names

    def _cache(self) -> _ChunkIds:
        """Chunk -> id cache (not pickled). With subword features its ids are type ids: the
        vocabulary's, then new ones for other tokens; it is replaced when those grow too many."""
        cache = self.__dict__.get("_ids")
        subwords = self.__dict__.get("subword_idf_") is not None
        if (
            cache is None
            or cache.source is not self.vocabulary_
            or (cache.ids.segment is not None) != bool(self.__dict__.get("segment_words"))
            or (subwords and len(cache.vocabulary) > len(self.vocabulary_) + _CACHE_LIMIT)
        ):
            # the segmenter is built when a text first needs it (most short texts never do)
            segment = self._segment if self.segment_words else None
            if subwords:
                types = _Types(self.vocabulary_)
                cache = _ChunkIds(types, segment, self.vocabulary_)
                cache.subwords = _Subwords(self, types)
            else:
                cache = _ChunkIds(self.vocabulary_, segment)
            cache.source = self.vocabulary_
            self._ids = cache
        return cache

    def _token_ids(self, X: Sequence[str]) -> tuple[np.ndarray, np.ndarray, _ChunkIds]:
        """Row and id of every token in the batch, after letter-run merging, and the cache that
        gave the ids (ids ``>= len(vocabulary_)`` are out-of-vocabulary types)."""
        cache = self._cache()
        if self.quotes != "reported":
            rows, ids, _ = self._plain_ids(X, self.quotes, cache)
            return rows, ids, cache
        # Marking reported clauses (propclf.text._mark_reported) costs a third of the rest of
        # the normalisation, and few texts have one: it runs only on the texts whose tokens meet
        # a necessary condition for a reporting frame, checked on the ids of the plain pass.
        rows, ids, framed = self._plain_ids(X, "separate", cache, gate=True)
        if framed is None:  # the gate words are not single known tokens: mark every text
            rows, ids, _ = self._plain_ids(X, "reported", cache)
        elif framed.size:
            sub_rows, sub_ids, _ = self._plain_ids(
                [X[i] for i in framed.tolist()], "reported", cache
            )
            rows, ids = _replace_rows(rows, ids, framed, framed[sub_rows], sub_ids)
        return rows, ids, cache

    def _plain_ids(
        self, X: Sequence[str], quotes: QuoteMode, cache: _ChunkIds, gate: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Rows and ids of :meth:`_token_ids` for one quote mode; with ``gate``, also the rows
        that may hold a reporting frame (:func:`_framed_rows`)."""
        buf, starts, ends = _chunks(normalize_joined(X, quotes))
        ids = cache.lookup(buf, starts, ends)
        compound = np.flatnonzero(ids == _COMPOUND_ID)
        if compound.size:
            spans = zip(starts[compound].tolist(), ends[compound].tolist(), strict=True)
            ids = _splice(ids, compound, [cache.expand(buf, s, e) for s, e in spans])
        is_sep = ids == _SEP_ID
        rows = np.cumsum(is_sep)
        keep = (ids != _DROP_ID) & ~is_sep
        ids, rows = ids[keep], rows[keep]
        framed = _framed_rows(rows, ids, cache) if gate else None
        letters = ids <= _LETTER_BASE
        if letters.any():
            ids, rows = self._merge_letters(ids, rows, letters, cache.vocabulary, cache.ids)
        return rows, ids, framed

    def _merge_letters(
        self,
        ids: np.ndarray,
        rows: np.ndarray,
        letters: np.ndarray,
        vocab: dict[str, int],
        token_ids: _TokenIds | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Merge runs of 3+ single letters in one row into a word (see ``merge_letter_runs``);
        with ``token_ids``, the word is looked up as a token (split when it is several words run
        together: ``j o i n t h e r a n k s``)."""
        cached = self.__dict__.get("_letter_ids")  # id of each letter a..z (not pickled)
        if cached is None or cached[0] is not vocab:
            letter_ids = np.array([vocab.get(chr(97 + i), -1) for i in range(26)], dtype=np.int64)
            cached = self._letter_ids = (vocab, letter_ids)
        letter_id = cached[1]
        if not (letters[:-2] & letters[1:-1] & letters[2:]).any():  # no run of three: common
            ids = ids.copy()
            ids[letters] = letter_id[_LETTER_BASE - ids[letters]]
            return ids, rows
        chars = np.where(letters, _LETTER_BASE - ids, 0)
        ids = ids.copy()
        # a run starts at a letter whose predecessor is not a letter of the same row
        cont = np.concatenate(([False], letters[:-1] & letters[1:] & (rows[:-1] == rows[1:])))
        starts = np.flatnonzero(letters & ~cont)
        ends = np.flatnonzero(letters & ~np.concatenate((cont[1:], [False]))) + 1
        long_runs = np.flatnonzero(ends - starts >= 3)
        drop = np.zeros(len(ids), dtype=bool)
        for s, e in zip(starts[long_runs].tolist(), ends[long_runs].tolist(), strict=True):
            word = "".join(chr(97 + c) for c in chars[s:e].tolist())
            letters[s:e] = False
            word = canonical_token(word)
            if token_ids is not None:  # each piece of a split takes two letters or more
                pieces = token_ids._word_ids(word)
                ids[s : s + len(pieces)] = pieces
                drop[s + len(pieces) : e] = True
                continue
            tid = vocab.get(word)
            ids[s] = _unknown_id(word) if tid is None else tid
            drop[s + 1 : e] = True
        ids[letters] = letter_id[chars[letters]]
        return ids[~drop], rows[~drop]

    def _word_kinds(self, cache: _ChunkIds, n_ids: int) -> np.ndarray:
        """Kind of every id below ``n_ids``: 0 not a word (:func:`is_word`), 1 a word that is not
        known (no unigram column, or another language's function word: :func:`is_other_language`),
        2 a known word. The ids ``_OOV_WORD_ID..-1`` are the table's last entries, so an array of
        ids indexes it as it is. Cached on the token cache (not pickled)
        and replaced by a longer table as subword types are added."""
        kinds = cache.kinds
        n_tail = -_OOV_WORD_ID
        if kinds is not None and len(kinds) >= n_ids + n_tail:
            return kinds
        have = 0 if kinds is None else len(kinds) - n_tail
        types = getattr(cache.vocabulary, "words", None)  # _Types: every id's token
        if types is None:
            types = [""] * len(self.vocabulary_)
            for tok, i in self.vocabulary_.items():
                types[i] = tok
        new = types[have:n_ids]
        part = np.fromiter(map(is_word, new), dtype=np.int8, count=len(new))
        in_vocab = min(max(len(self.vocabulary_) - have, 0), len(new))
        known = (part[:in_vocab] > 0) & (self.unigram_col_[have : have + in_vocab] >= 0)
        known &= ~np.fromiter(map(is_other_language, new[:in_vocab]), dtype=bool, count=in_vocab)
        part[:in_vocab] += known
        tail = np.zeros(n_tail, dtype=np.int8)
        tail[0] = 1  # _OOV_WORD_ID: a word the vocabulary does not have; -5..-1: not words
        head = np.zeros(0, dtype=np.int8) if kinds is None else kinds[:have]
        kinds = np.concatenate((head, part, tail))
        cache.kinds = kinds
        return kinds

    def _word_counts(
        self, rows: np.ndarray, ids: np.ndarray, cache: _ChunkIds, n_rows: int
    ) -> np.ndarray:
        """Known words and words (:func:`is_word`) of each row, from ``_token_ids``' output."""
        types = getattr(cache.vocabulary, "words", None)
        n_ids = len(cache.vocabulary) if types is None else len(types)
        kind = self._word_kinds(cache, n_ids)[ids]
        per_kind = np.bincount(rows * 3 + kind, minlength=3 * n_rows).reshape(n_rows, 3)
        out = np.empty((n_rows, 2), dtype=np.int64)
        out[:, 0] = per_kind[:, 2]
        out[:, 1] = per_kind[:, 1] + per_kind[:, 2]
        return out

    def _bigram_table(self) -> _KeyTable:
        """Bigram key -> column (cached, not pickled)."""
        cached = self.__dict__.get("_bigram_index")
        if cached is None or cached[0] is not self.bigram_keys_:
            cached = self._bigram_index = (
                self.bigram_keys_,
                _KeyTable(
                    (self.bigram_keys_.astype(np.uint64) + np.uint64(1),),
                    self.bigram_col_.astype(np.int64),
                ),
            )
        return cached[1]

    def _columns(self, rows: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of every word n-gram occurrence in the batch (vectorised)."""
        if self.__dict__.get("subword_idf_") is not None:  # out-of-vocabulary types
            ids = np.where(ids < len(self.vocabulary_), ids, -1)
        else:
            ids = np.maximum(ids, -1)  # out-of-vocabulary words (_OOV_WORD_ID) are unknown too
        ucol = np.concatenate(([-1], self.unigram_col_))[ids + 1]  # ids >= -1 (unknown)
        keep = ucol >= 0
        out_rows = [rows[keep]]
        out_cols = [ucol[keep].astype(np.int64)]
        if self.bigrams and len(self.bigram_keys_) and len(ids) > 1:
            left, right = ids[:-1], ids[1:]
            ok = (left >= 0) & (right >= 0) & (rows[:-1] == rows[1:])
            keys = (left[ok] * len(self.vocabulary_) + right[ok] + 1).astype(np.uint64)
            bcol = self._bigram_table().get((keys,))
            hit = bcol >= 0
            out_rows.append(rows[:-1][ok][hit])
            out_cols.append(bcol[hit])
        return np.concatenate(out_rows), np.concatenate(out_cols)

    def _docs(self, X: Iterable[str]) -> Sequence[str]:
        check_is_fitted(self, "idf_")
        if isinstance(X, str):
            raise TypeError("expected an iterable of texts, got a single string")
        return X if isinstance(X, Sequence) else list(X)

    def _weights(
        self, docs: Sequence[str], word_counts: bool = False
    ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], _SubwordRows | None, np.ndarray | None]:
        """Word part: row and column of every non-zero (sorted by row, then column) and its
        value; subword part (or ``None``): each token occurrence's row, type and weight; with
        ``word_counts``, each row's known words and words (else ``None``), from the same tokens.
        """
        n_rows, n_cols = len(docs), len(self.idf_)
        rows, ids, cache = self._token_ids(docs)
        words = self._word_counts(rows, ids, cache, n_rows) if word_counts else None
        wrows, cols = self._columns(rows, ids)
        # count duplicates: sort (row, col) keys once, run-length encode
        keys, counts = np.unique(wrows * n_cols + cols, return_counts=True)
        r = keys // n_cols
        c = keys - r * n_cols
        data = (1.0 + np.log(counts.astype(np.float64))) * self.idf_[c]
        norms = np.sqrt(np.bincount(r, weights=data * data, minlength=n_rows))
        word = (r, c, (data / norms[r]).astype(self.dtype))
        subwords = getattr(cache, "subwords", None)
        if subwords is None:
            return word, None, words
        keep = ids >= 0
        tr, tt = rows[keep], ids[keep]  # every token occurrence: no sort needed
        sq = subwords.norms(tt)
        norm = np.sqrt(np.bincount(tr, weights=sq, minlength=n_rows))
        nz = sq > 0
        tr, tt = tr[nz], tt[nz]
        return word, _SubwordRows(subwords, tr, tt, 1.0 / norm[tr]), words

    def transform(self, X: Iterable[str]) -> sp.csr_matrix:
        """TF-IDF matrix (word part rows L2-normalised; subword columns, if any, after it)."""
        docs = self._docs(X)
        rows, cols, data = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)], []
        sub_blocks = []
        for i, j in _batches(docs):
            (r, c, d), sub, _ = self._weights(docs[i:j])
            rows.append(r + i)
            cols.append(c)
            data.append(d)
            if sub is not None:
                sub_blocks.append(sub.matrix(j - i))
        r = np.concatenate(rows)
        indptr = np.concatenate(([0], np.cumsum(np.bincount(r, minlength=len(docs)))))
        word = sp.csr_matrix(
            (
                np.concatenate([np.zeros(0, dtype=self.dtype), *data]),
                np.concatenate(cols).astype(np.int32),
                indptr,
            ),
            shape=(len(docs), len(self.idf_)),
        )
        if self.subword_idf_ is None:
            return word
        n_sub = len(self.subword_idf_)
        sub = (
            sp.vstack(sub_blocks).tocsr()
            if sub_blocks
            else sp.csr_matrix((len(docs), n_sub), dtype=self.dtype)
        )
        out = sp.hstack([word, sub.astype(self.dtype)], format="csr")
        out.sort_indices()
        return out

    def transform_dot(self, X: Iterable[str], coef: np.ndarray) -> np.ndarray:
        """``transform(X) @ coef`` for a weight vector, without building the sparse matrix.

        The products are summed in the same order as SciPy's sparse product (row by row, columns
        ascending, in float64), so a linear model's decision values are unchanged; only the
        matrix construction is skipped, which matters when only scores are wanted.
        """
        return self._dot(self._docs(X), coef, counts=False)[0]

    def transform_dot_counts(
        self, X: Iterable[str], coef: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`transform_dot` and each text's word counts (:meth:`word_counts`), from one
        tokenisation of the texts; the products are those of :meth:`transform_dot`, bit for bit.
        """
        dots, counts = self._dot(self._docs(X), coef, counts=True)
        assert counts is not None
        return dots, counts

    def word_counts(self, X: Iterable[str]) -> np.ndarray:
        """Known words and words of each text, as the vectoriser tokenises it.

        A word is a token of two letters or more (:func:`is_word`: not punctuation, not the
        digit placeholder, not a single letter); it is known when it is a unigram feature and not
        a common function word of another language (:func:`is_other_language`).

        Returns
        -------
        ndarray of int64, shape (n_texts, 2)
            Column 0: known words; column 1: words (every occurrence counts).
        """
        docs = self._docs(X)
        out = np.zeros((len(docs), 2), dtype=np.int64)
        for i, j in _batches(docs):
            rows, ids, cache = self._token_ids(docs[i:j])
            out[i:j] = self._word_counts(rows, ids, cache, j - i)
        return out

    def _dot(
        self, docs: Sequence[str], coef: np.ndarray, counts: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        key = coef
        coef = np.asarray(coef, dtype=np.float64).ravel()
        if len(coef) != self._n_columns():
            raise ValueError(f"coef has {len(coef)} entries, expected {self._n_columns()}")
        n_word = len(self.idf_)
        out = np.zeros(len(docs))
        words = np.zeros((len(docs), 2), dtype=np.int64) if counts else None
        for i, j in _batches(docs):
            (r, c, data), sub, n = self._weights(docs[i:j], counts)
            out[i:j] = np.bincount(r, weights=data.astype(np.float64) * coef[c], minlength=j - i)
            if sub is not None:
                out[i:j] += sub.dot(j - i, key, coef[n_word:])
            if words is not None and n is not None:
                words[i:j] = n
        return out, words

    def subword_contributions(self, text: str, coef: np.ndarray) -> list[tuple[str, float]]:
        """Each distinct token of ``text`` with its subword features' share of ``text @ coef``
        (empty without subword features); the shares add up to the subword part of the score."""
        check_is_fitted(self, "idf_")
        if self.__dict__.get("subword_idf_") is None:
            return []
        coef = np.asarray(coef, dtype=np.float64).ravel()
        _, sub, _ = self._weights([text])
        assert sub is not None
        dots = sub.subwords.matrix(sub.types) @ coef[len(self.idf_) :]
        words = sub.subwords.types.words
        out: dict[str, float] = {}
        for t, w, d in zip(sub.types.tolist(), sub.weight.tolist(), dots.tolist(), strict=True):
            out[words[t]] = out.get(words[t], 0.0) + w * d
        return list(out.items())

    def ngram_spans(self, tokens: Sequence[str]) -> list[tuple[str, int, int]]:
        """Every feature n-gram in a token list (from ``analyze``) with its token span ``(i, j)``."""
        check_is_fitted(self, "idf_")
        vocab = self.vocabulary_
        n_tok = len(vocab)
        ids = [vocab.get(t, -1) for t in tokens]
        bigram_keys = set(self.bigram_keys_.tolist())
        out: list[tuple[str, int, int]] = []
        for i, tid in enumerate(ids):
            if tid >= 0 and self.unigram_col_[tid] >= 0:
                out.append((tokens[i], i, i + 1))
            nxt = ids[i + 1] if i + 1 < len(ids) else -1
            if self.bigrams and tid >= 0 and nxt >= 0 and tid * n_tok + nxt in bigram_keys:
                out.append((f"{tokens[i]} {tokens[i + 1]}", i, i + 2))
        return out
