"""Text preparation shared by training and scoring: normalisation, de-obfuscation, passages, quotes.

Everything the model sees goes through :func:`normalize_many`, so training and scoring can never
prepare text differently. The steps undo platform artefacts (URLs, @handles, ``RT``, ``#``, HTML
entities) that let a model learn *who posted* instead of *what was said*, and common obfuscation
(zero-width characters, look-alike letters, leetspeak, s p a c e d letters) that evades keyword
filters. Mojibake (UTF-8 decoded as Windows-1252, Latin-1 or Mac Roman: ``donâ€™t`` or ``don‚Äôt``
for ``don’t``, ``cafÃ©`` for ``café``) is repaired with ftfy first: it is a trace of the pipeline
a collection went through, not of what was said.
"""

from __future__ import annotations

import bisect
import html
import itertools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

__all__ = [
    "QUOTE_MODES",
    "SEP",
    "TOKEN_PATTERN",
    "Passage",
    "QuoteMode",
    "analyze",
    "attributed_quotes",
    "canonical_many",
    "canonical_token",
    "is_boilerplate",
    "letter_runs",
    "merge_letter_runs",
    "normalize",
    "normalize_joined",
    "normalize_many",
    "quote_spans",
    "split_passages",
]

QuoteMode = Literal["reported", "attributed", "separate", "mask", "ignore"]
QUOTE_MODES: tuple[str, ...] = ("reported", "attributed", "separate", "mask", "ignore")
#: Token prefixes of quoted speech: ``q_`` a quotation (and, in ``reported`` mode, an unquoted
#: reported belief or saying: "we were told that ..."), ``r_`` a quotation attributed to someone
#: (reported speech: "..., the group said"), in ``attributed`` mode.
QUOTE_PREFIXES: tuple[str, ...] = ("q_", "r_")

SEP = "\x1e"  # record separator: joins a batch so each regex pass runs once per batch

# --- character level ---------------------------------------------------------------------------
_ZERO_WIDTH = "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u034f\u180e"
# Look-alike letters from Cyrillic, Greek and other blocks mapped to the Latin letter they imitate.
_HOMOGLYPHS = {
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
    "ɡ": "g", "һ": "h", "ո": "n", "ս": "u", "ԛ": "q", "ԝ": "w", "ӏ": "l",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "У": "Y", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S",
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "ω": "w", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I",
    "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    "ı": "i", "ɑ": "a", "ℓ": "l",
}  # fmt: skip
_PUNCT = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
    "\u00b4": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"',
    "\u00bb": '"', "\u2033": '"', "\u2013": "-", "\u2014": "-", "\u2212": "-",
}  # fmt: skip
_TABLE: dict[int, str | None] = {ord(c): None for c in _ZERO_WIDTH}
_TABLE[ord(SEP)] = " "
_TABLE.update({ord(k): v for k, v in _HOMOGLYPHS.items()})
_TABLE.update({ord(k): v for k, v in _PUNCT.items()})
# Closed under case, so lower-casing after folding cannot create a character that folds (Ω → ω).
for _c, _v in list(_HOMOGLYPHS.items()):
    for _variant in (_c.upper(), _c.lower()):
        if len(_variant) == 1 and ord(_variant) >= 128:
            _TABLE.setdefault(ord(_variant), _v)
# C0 controls other than tab/newline become spaces (they are never words).
_TABLE.update({c: " " for c in range(32) if chr(c) not in "\t\n\r"})

# non-ASCII characters to fold, found with one regex pass per batch (ASCII controls: _CTRL)
_FOLD_MAP = {chr(k): v or "" for k, v in _TABLE.items() if k >= 128}
_FOLD = re.compile("[" + "".join(re.escape(c) for c in _FOLD_MAP) + "]")

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                       "$": "s"})  # fmt: skip

# --- platform artefacts ------------------------------------------------------------------------
# Every branch starts with a literal, so the regex engine scans for the first letters in C.
_URL = re.compile(
    r"(?:https?://|HTTPS?://|W[Ww][Ww]\.|w[Ww][Ww]\.|pic\.twitter\.com/"
    r"|(?<![\w.])(?:t\.me|t\.co|bit\.ly|youtu\.be)/)\S+"
)
# _sub_urls finds where _URL can start by scanning for its rare middles instead
_URL_SCHEME = re.compile(r"://(?=\S)")
_URL_WWW = re.compile(r"\.(?<=[Ww][Ww][Ww]\.)(?=\S)")
_URL_PIC = re.compile(r"pic\.twitter\.com/(?=\S)")
# t.me/channel and the like, scanned from the slash (a literal: the regex engine scans in C)
_URL_SHORT = re.compile(r"/(?:(?<=t\.me/)|(?<=t\.co/)|(?<=bit\.ly/)|(?<=youtu\.be/))(?=\S)")
_WORD_OR_DOT = re.compile(r"[\w.]")
_SHORT_HOSTS = ("t.me/", "t.co/", "bit.ly/", "youtu.be/")
_SPACE = re.compile(r"\s")
_HANDLE = re.compile(r"@(\w{0,30})")
_HASHTAG = re.compile(r"#(\w+)")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_HYPHEN_BREAK = re.compile(r"-(?<=[a-z]-)[ \t\r\n]+(?=[a-z])")  # "extrem-\nist"
# A contraction split off its word ("it 's", "do n't"): the Penn Treebank tokenisation that two
# collections went through (the Stormfront sentences, the HuffPost headlines), not what was said.
_CLITIC = re.compile(r"(?:[Nn]'[Tt]|'(?:[SsDdMm]|[Rr][Ee]|[Vv][Ee]|[Ll][Ll]|[Tt]))(?![A-Za-z])")
_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

# leetspeak: digits inside a word ("k1ll", "4llah"); ordinary alphanumerics ("covid19", "f16",
# "2nd", "10am") are kept.
_LEET_MIXED = re.compile(r"[a-z][0-9]|[0-9][a-z]")
_LEET_KEEP = re.compile(
    r"[0-9]+(?:st|nd|rd|th|am|pm|s|k|m|bn|mm|kg|km|g|p|d|x|v|h)?|[a-z_]*[a-z][0-9]{2,}|[a-z][0-9]"
    r"|(?:mp|ps|ww|ak|mk|sa|ch|cv|dc|hd|uk|us)[0-9][a-z]{0,2}"
)
# "$" in a word: a run of "$" before two letters, or one "$" between letters (literal prefix "$"
# keeps the scan in C; same matches as ``\$+(?=[a-z]{2})|\$+(?<=[a-z]\$)(?=[a-z])``)
_DOLLAR_IN_WORD = re.compile(r"\$\$*(?:(?=[a-z]{2})|(?<=[a-z]\$)(?=[a-z]))")
_REPEAT = re.compile(r"([a-z])\1{2,}")
_DIGITS = re.compile(r"\d+")
_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1d\x1f]")
_ACCENTED = re.compile(
    r"[\u00c0-\u024f\u1e00-\u1eff\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
)
_QUOTE = re.compile(r'"([^"\n\x1e]{3,1000})"')
_WORD = re.compile(r"\w+")
#: A cheap necessary condition for mojibake, checked before ftfy's own (slower) test. UTF-8 read
#: as Windows-1252 / Latin-1 puts a lead byte (U+00C2-U+00F4) before a continuation character,
#: read as Mac Roman U+00AC (C2), U+201A (E2), U+221A (C3) or U+F8FF (F0); continuations are
#: never ASCII. Windows-1252 read as Latin-1 leaves C1 controls (U+0080-U+009F: ``\x92`` for ’).
_MOJIBAKE_HINT = re.compile("[\u00ac\u00c2-\u00f4\u201a\u221a][^\x00-\x7f]|[\u0080-\u009f\uf8ff]")
#: One character class, searched first: four times faster than the pattern above on text without
#: any of these characters (emoji, curly quotes, Arabic), which is most non-ASCII text.
_MOJIBAKE_LEAD = re.compile("[\u00ac\u00c2-\u00f4\u201a\u221a\u0080-\u009f\uf8ff]")


def _strip_marks(text: str) -> str:
    """NFKC-fold, then drop accents and combining marks (transliteration macrons: ā ī ū → a i u)."""
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    if _ACCENTED.search(text):
        text = _ACCENTED.sub(_unaccent, text)
    return text


@lru_cache(maxsize=4096)
def _unaccent_char(c: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFD", c) if not unicodedata.combining(ch))


def _unaccent(m: re.Match[str]) -> str:
    return _unaccent_char(m.group())


def _prepare_text(text: str) -> str:
    """Per text: HTML entities, the batch separator and character folding.

    Folding runs per text because ``str.isascii`` is free: most texts are pure ASCII and skip it,
    and NFKC never reaches across the separator, so the result equals folding the whole batch.
    """
    if "&" in text:
        text = html.unescape(text)
    if SEP in text:
        text = text.replace(SEP, " ")
    if not text.isascii():
        text = _fold(_repair_mojibake(text))
        # Folding can join the halves of a garbled character ("\u00ac\u200b\u00df": a zero-width
        # space inside the Mac Roman reading of "\u00a7"); repair what it joined, so that
        # normalising twice changes nothing.
        for _ in range(3):  # a bound: one more round is all real text ever needs
            if text.isascii() or (repaired := _repair_mojibake(text)) == text:
                break
            text = _fold(repaired)
    return text


def _repair_mojibake(text: str) -> str:
    """Undo UTF-8 decoded with the wrong codec (``â€™`` → ``’``); other text is returned as is.

    ftfy repairs what its badness test finds; a text it leaves alone is still repaired when the
    whole of it encodes in Mac Roman or Windows-1252 to valid UTF-8 (emoji read as Mac Roman,
    ``\uf8ffüíî``, pass ftfy's test). Genuine accented text fails that strict decode.
    """
    if not (_MOJIBAKE_LEAD.search(text) and _MOJIBAKE_HINT.search(text)):
        return text
    from ftfy import fix_encoding  # imported on first need: most inputs never need it
    from ftfy.badness import is_bad

    if is_bad(text):
        fixed = fix_encoding(text)
        if fixed != text:
            return fixed
    for codec in ("mac_roman", "cp1252"):
        try:
            return text.encode(codec).decode("utf-8")
        except UnicodeError:
            continue
    return text


def _fold(text: str) -> str:
    """Character folding (look-alikes, zero-width, quotes, NFKC, marks) of a non-ASCII text."""
    text = _FOLD.sub(_fold_char, text)
    if not text.isascii():
        stripped = _strip_marks(text)
        if stripped is not text:  # NFKC can create look-alikes (folding twice changes nothing)
            text = _FOLD.sub(_fold_char, stripped)
    return text


def _fold_char(m: re.Match[str]) -> str:
    return _FOLD_MAP[m.group()]


def _sub_urls(joined: str) -> str:
    """``_URL.sub(" xurl ", joined)``, without trying the pattern at every h, w and p.

    Every match of ``_URL`` runs from a place where one of its prefixes starts (and a non-space
    follows) to the end of that run of non-spaces; so the earliest such place in a run wins and
    the rest of the run is consumed, which is what the regular expression's scan does.
    """
    starts = [m.start() - 3 for m in _URL_WWW.finditer(joined)]
    starts += [m.start() for m in _URL_PIC.finditer(joined)]
    if any(h in joined for h in _SHORT_HOSTS):
        for m in _URL_SHORT.finditer(joined):
            k = m.start()
            host = 4 if joined[k - 4 : k] in ("t.me", "t.co") else 6 if joined[k - 1] == "y" else 8
            if k == host or not _WORD_OR_DOT.match(joined, k - host - 1):  # (?<![\w.])
                starts.append(k - host)
    for m in _URL_SCHEME.finditer(joined):
        k = m.start()
        if k >= 5 and joined[k - 5 : k] in ("https", "HTTPS"):
            starts.append(k - 5)
        elif k >= 4 and joined[k - 4 : k] in ("http", "HTTP"):
            starts.append(k - 4)
    if not starts:
        return joined
    out: list[str] = []
    pos = 0
    for start in sorted(starts):
        if start >= pos:
            space = _SPACE.search(joined, start)
            out += (joined[pos:start], " xurl ")
            pos = space.start() if space else len(joined)
    out.append(joined[pos:])
    return "".join(out)


def _at_sign(m: re.Match[str]) -> str:
    """``@handle`` → ``xuser``; an ``@`` inside a word is the leetspeak ``a`` (``j1h@d``)."""
    start = m.start()
    if start and m.string[start - 1].isalnum():
        return "a" + m.group(1)
    return " xuser "


def _dollars(m: re.Match[str]) -> str:
    return "s" * len(m.group())


def _split_hashtag(m: re.Match[str]) -> str:
    return " " + _CAMEL.sub(" ", m.group(1)).replace("_", " ") + " "


# Words that attribute a quotation to a speaker or a document: reported speech, not the author's
# own voice. Looked for in the text just before (within 80 characters) or just after (60) a quote.
_ATTRIBUTION = re.compile(
    r"\b(?:says?|said|saying|told|tells?|wr[io]tes?|written|stat(?:ed?|es|ement|ements)"
    r"|declar(?:ed?|es|ation)|claim(?:s|ed|ing)?|according to|video|videos|audio|recording"
    r"|message|sermon|speech|broadcast|post(?:ed)?|tweet(?:s|ed)?|reads|read:|chant(?:s|ed|ing)"
    r"|shout(?:s|ed|ing)|urg(?:ed?|es|ing)|warn(?:s|ed|ing)?|threaten(?:s|ed|ing)?|added|adds"
    r"|quot(?:ed?|es|ing)|translat(?:ed|ion)|banner|slogan|caption|manifesto|leaflet|pamphlet"
    r"|spokes(?:man|woman|person)|announce(?:d|s|ment)|vow(?:s|ed)|insist(?:s|ed)|boast(?:s|ed)"
    r"|describ(?:ed?|es|ing)|call(?:s|ed)? (?:for|on|it|them|him|her))\b",
    re.IGNORECASE,
)
_ATTRIBUTION_BEFORE, _ATTRIBUTION_AFTER = 80, 60

# Reported belief or speech without quotation marks: a frame of telling or believing, in the past
# or reported ("we were told that", "they promised us", "I used to believe", "we called ... "),
# and the rest of its sentence, which is somebody else's claim or the writer's former one: the
# first person looking back (former extremists, families, survivors) rather than speaking now.
# The anchor is the verb followed by a space, searched first; the frame around it is checked only
# there. Written for lower-cased text without apostrophes (normalize_joined); the scan costs a
# third of the rest of the normalisation, so the vectoriser runs it only on the texts whose token
# ids meet a necessary condition (REPORTED_ANCHORS below).
_ANCHOR = (
    r"(?:told|taught|thought|believed|called|promised|convinced|used to|sure|preached|chanted) "
)
_REPORTED_ANCHOR = re.compile(_ANCHOR)
_SUBJECT = r"(?:i|we|he|she|they)"
_REPORTED_FRAME = (
    r"(?<![\w'])(?:"
    rf"{_SUBJECT} (?:was|were) (?:told|taught|promised|convinced|sure)"
    r"|(?:told|taught|promised|convinced) (?:me|us|him|her|them|each other|ourselves|myself)"
    rf"|{_SUBJECT} used to (?:believe|think|say|call|post|share|preach|chant|tell \w+)"
    rf"|{_SUBJECT} (?:(?:really|truly|honestly|once|genuinely|firmly|all|even|actually|still) )?"
    r"(?:believed|thought|preached|chanted)"
    r"|(?:i|we|they) called(?! (?:on|for|upon|out|off|back|in|up)\b)"
    r")\b(?: that\b)? ?"
)
_REPORTED = re.compile(_REPORTED_FRAME)
#: Every frame holds one of these words (as a token: "used" for "used to") with one of
#: ``REPORTED_BEFORE`` one or two tokens before it, or one of ``REPORTED_AFTER`` right after it: a
#: necessary condition the vectoriser checks on token ids before it runs the regular expression.
REPORTED_ANCHORS: tuple[str, ...] = (
    "told", "taught", "thought", "believed", "called", "promised", "convinced", "used", "sure",
    "preached", "chanted",
)  # fmt: skip
REPORTED_BEFORE: tuple[str, ...] = ("i", "we", "he", "she", "they", "was", "were")
REPORTED_AFTER: tuple[str, ...] = ("me", "us", "him", "her", "them", "each", "ourselves", "myself")
# the same, for raw text (quote_spans: explain's offsets)
_REPORTED_ANCHOR_ANY_CASE = re.compile(_ANCHOR.replace(" ", r"\s"), re.IGNORECASE)
_REPORTED_ANY_CASE = re.compile(_REPORTED_FRAME.replace("'", "'’"), re.IGNORECASE)
_CLAUSE_END = re.compile('[.!?;"\n\x1e“”«»]')
_CLAUSE_MAX = 300


def _reported_clauses(
    text: str, anchor: re.Pattern[str], frame: re.Pattern[str]
) -> list[tuple[int, int]]:
    """Spans of the clauses that follow a reporting frame (:data:`_REPORTED_FRAME`) in ``text``:
    from the frame's end to the end of the sentence (at most 300 characters), two words or more;
    a frame inside an earlier clause starts nothing."""
    out: list[tuple[int, int]] = []
    last = 0
    for a in anchor.finditer(text):
        if a.start() < last:
            continue
        # the frame holds its anchor verb and starts at most 24 characters before it
        lo = text.rfind(" ", 0, max(a.start() - 24, 0)) + 1
        frames = frame.finditer(text, lo, a.end() + 40)
        m = next((f for f in frames if f.start() <= a.start() < f.end()), None)
        if m is None or m.start() < last:
            continue
        end = _CLAUSE_END.search(text, m.end(), m.end() + _CLAUSE_MAX)
        stop = end.start() if end else min(len(text), m.end() + _CLAUSE_MAX)
        if len(text[m.end() : stop].split()) >= 2:
            out.append((m.end(), stop))
            last = stop
    return out


def _mark_reported(joined: str) -> str:
    """Prefix the words of every reported clause (:func:`_reported_clauses`) with ``q_``."""
    spans = _reported_clauses(joined, _REPORTED_ANCHOR, _REPORTED)
    if not spans:
        return joined
    # clauses never hold a newline (it ends them): one _prefix_words pass over them all
    marked = _prefix_words("\n".join([joined[s:e] for s, e in spans])).split("\n")
    parts, last = [], 0
    for (s, e), clause in zip(spans, marked, strict=True):
        parts += [joined[last:s], clause]
        last = e
    parts.append(joined[last:])
    return "".join(parts)


def attributed_quotes(between: Sequence[str]) -> list[bool]:
    """Which quotations are attributed, given the texts around them.

    ``between`` alternates text and quotations' surroundings as :func:`re.split` gives them:
    ``between[i]`` is the text before quotation ``i`` and ``between[i + 1]`` the text after it
    (``len(between)`` is the number of quotations plus one). A quotation is attributed when an
    attribution word (said, according to, in a video, the statement, ...) stands within 80
    characters before it or 60 after it.

    Examples
    --------
    >>> attributed_quotes(["The group said: ", " and then ", " at the rally."])
    [True, False]
    """
    out = []
    for before, after in itertools.pairwise(between):
        before = before[-_ATTRIBUTION_BEFORE:].rpartition(SEP)[2]
        after = after[:_ATTRIBUTION_AFTER].partition(SEP)[0]
        out.append(bool(_ATTRIBUTION.search(before) or _ATTRIBUTION.search(after)))
    return out


_ASCII_WORD = bytes(int(chr(c).isalnum() or chr(c) == "_") for c in range(128))


def _prefix_words(text: str, prefix: str = "q_") -> str:
    """``prefix`` before every word (``\\w+``) of ``text``."""
    if not text.isascii():
        return _WORD.sub(lambda w: prefix + w.group(0), text)
    import numpy as np  # only here: text preparation otherwise needs the standard library only

    raw = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    word = np.frombuffer(_ASCII_WORD, dtype=np.bool_)[raw]
    starts = np.flatnonzero(word & ~np.concatenate(([False], word[:-1])))
    mark = np.frombuffer(prefix.encode("ascii"), np.uint8)
    out = np.insert(raw, np.repeat(starts, len(mark)), np.tile(mark, len(starts)))
    return out.tobytes().decode("ascii")


def _mark_quotes(joined: str, attribute: bool = False) -> str:
    """Prefix the words of every quotation (``_QUOTE``) with ``q_``, or ``r_`` when attributed."""
    parts = _QUOTE.split(joined)  # text, quote, text, quote, ..., text
    if len(parts) == 1:
        return joined
    quoted = parts[1::2]
    flags = attributed_quotes(parts[0::2]) if attribute else [False] * len(quoted)
    for prefix, ascii_ in itertools.product(QUOTE_PREFIXES, (True, False)):
        want = prefix == "r_"
        group = [i for i, q in enumerate(quoted) if flags[i] == want and q.isascii() == ascii_]
        if group:  # quotes never hold a newline: join them with one, one pass per group
            marked = _prefix_words("\n".join([quoted[i] for i in group]), prefix).split("\n")
            for i, q in zip(group, marked, strict=True):
                quoted[i] = ' " ' + q + ' " '
    parts[1::2] = quoted
    return "".join(parts)


def _mask_quote(m: re.Match[str]) -> str:
    return " xquote "


def _check_quotes(quotes: str) -> None:
    if quotes not in QUOTE_MODES:
        raise ValueError(f"quotes must be one of {QUOTE_MODES}, got {quotes!r}")


def _join_split_contractions(s: str) -> str:
    """Remove the spaces between a word and a clitic split off it (``it 's`` → ``it's``).

    Found with ``str.find`` (a split clitic is always a space before ``'`` or ``n'``, rare in
    other text), not a regular expression over the whole batch, which cost a third of the
    normalisation time.
    """
    cuts = []
    for needle in (" '", " n'", " N'"):
        i = s.find(needle)
        while i >= 0:
            if _CLITIC.match(s, i + 1):
                k = i
                while k > 0 and s[k - 1] == " ":
                    k -= 1
                if k > 0 and s[k - 1] in _ASCII_LETTERS:
                    cuts.append((k, i + 1))
            i = s.find(needle, i + 1)
    if not cuts:
        return s
    cuts.sort()
    out, last = [], 0
    for start, end in cuts:
        out.append(s[last:start])
        last = end
    out.append(s[last:])
    return "".join(out)


def normalize_joined(texts: Sequence[str], quotes: QuoteMode = "separate") -> str:
    """Normalise a batch of texts into one string, the texts joined by ``SEP``.

    This is the text-level half of the preparation (the token-level half is
    :func:`canonical_token`); it runs each regular expression once per batch, not once per text.
    """
    _check_quotes(quotes)
    joined = SEP.join(map(_prepare_text, texts))
    if _CTRL.search(joined):
        joined = _CTRL.sub(" ", joined)
    if (
        "://" in joined
        or "www." in joined
        or "WWW." in joined
        or "pic.twitter" in joined
        or any(h in joined for h in _SHORT_HOSTS)
    ):
        joined = _sub_urls(joined)
    if "'" in joined:
        joined = _join_split_contractions(joined).replace("'", "")
    if "@" in joined:
        joined = _HANDLE.sub(_at_sign, joined)
    if "#" in joined:
        joined = _HASHTAG.sub(_split_hashtag, joined)
    if quotes in ("reported", "separate", "attributed") and '"' in joined:
        joined = _mark_quotes(joined, attribute=quotes == "attributed")
    elif quotes == "mask" and '"' in joined:
        joined = _QUOTE.sub(_mask_quote, joined)
    if joined.isascii():
        joined = joined.lower()
    else:  # str.lower is fast on ASCII strings; the separator ends every casing context
        joined = SEP.join([t.lower() for t in joined.split(SEP)])
    if quotes == "reported":  # after quotations are marked: a frame inside one reads "q_told"
        joined = _mark_reported(joined)
    if "$" in joined:
        joined = _DOLLAR_IN_WORD.sub(_dollars, joined)
    if "- " in joined or "-\t" in joined or "-\n" in joined or "-\r" in joined:
        joined = _HYPHEN_BREAK.sub("", joined)
    return joined


def normalize_many(texts: Sequence[str], quotes: QuoteMode = "separate") -> list[str]:
    """Normalise a batch of texts (text level: characters, platform artefacts, quotes, case).

    Parameters
    ----------
    texts : sequence of str
        Raw texts.
    quotes : {"reported", "attributed", "separate", "mask", "ignore"}
        How quoted spans ("...") are treated: ``separate`` prefixes their words with ``q_`` so the
        model weighs quoted words apart from the author's own voice; ``reported`` also prefixes
        the clause after an unquoted frame of reported belief or speech ("we were told that
        ...", "I used to believe ...", "they promised us ..."; the training default);
        ``attributed`` is ``separate`` but prefixes quotations attributed to a speaker or
        document (:func:`attributed_quotes`: "...," the group said; according to; in a video)
        with ``r_``, reported speech;
        ``mask`` replaces them by one ``xquote`` token; ``ignore`` leaves them as ordinary text.

    Returns
    -------
    list of str
        One normalised, lower-cased, whitespace-folded string per input, in order.

    Examples
    --------
    >>> normalize_many(["RT @someone: Join the caliphate https://t.co/x #VictoryIsNear"])
    ['rt xuser : join the caliphate xurl victory is near']
    """
    if not texts:
        return []
    return [" ".join(t.split()) for t in normalize_joined(texts, quotes).split(SEP)]


def normalize(text: str, quotes: QuoteMode = "separate") -> str:
    """Normalise one text; see :func:`normalize_many`."""
    return normalize_many([text], quotes=quotes)[0]


# --- tokens ------------------------------------------------------------------------------------
#: Words and the marks ``!`` and ``?``; the fast path also matches the batch separator.
TOKEN_PATTERN = r"\w+|[!?]"
TOKEN = re.compile(TOKEN_PATTERN)
TOKEN_OR_SEP = re.compile(TOKEN_PATTERN + "|" + SEP)
#: Platform and link artefacts: they say where a text was posted, not what it says, so they are
#: never features (the placeholders ``xurl``/``xuser`` still mark the spot for the regexes).
_STOP_TOKENS = frozenset(
    tok
    for base in ("rt", "amp", "via", "xurl", "xuser", "http", "https", "www", "com", "html")
    for tok in (base, "q_" + base, "r_" + base)
)


def canonical_token(token: str) -> str:
    """Token-level folding: leetspeak inside words, letter runs capped at two, digits to ``0``.

    Platform and link tokens (``rt``, ``xurl``, ``xuser``, ``https``) become ``""`` (dropped).

    Examples
    --------
    >>> [canonical_token(t) for t in ["k1ll", "4llah", "sooooo", "2016", "covid19", "rt"]]
    ['kill', 'allah', 'soo', '0', 'covid0', '']
    """
    if token in _STOP_TOKENS:
        return ""
    prefix = ""
    if token.startswith(QUOTE_PREFIXES):
        prefix, token = token[:2], token[2:]
    if not token.isalpha():
        if _LEET_MIXED.search(token) and not _LEET_KEEP.fullmatch(token):
            token = token.translate(_LEET)
        token = _DIGITS.sub("0", token)
    if _REPEAT.search(token):  # rare: skip the substitution's template machinery
        token = _REPEAT.sub(r"\1\1", token)
    return prefix + token


def canonical_many(tokens: Sequence[str]) -> list[str]:
    """:func:`canonical_token` of each token; faster on many, as most need no change.

    Examples
    --------
    >>> canonical_many(["join", "sooooo", "rt", "k1ll"])
    ['join', 'soo', '', 'kill']
    """
    out = list(tokens)
    todo = [i for i, t in enumerate(out) if not t.isalpha() or t in _STOP_TOKENS]
    joined = "\n".join(out)
    if _REPEAT.search(joined):  # letter runs never cross the newline
        starts = list(itertools.accumulate((len(t) + 1 for t in out[:-1]), initial=0))
        todo += [bisect.bisect_right(starts, m.start()) - 1 for m in _REPEAT.finditer(joined)]
    for i in set(todo):  # once each: canonical_token is not idempotent ("aa00" → "aa0" → "aao")
        out[i] = canonical_token(tokens[i])
    return out


def _is_letter(token: str) -> bool:
    return len(token) == 1 and "a" <= token <= "z"


def letter_runs(is_letter: Sequence[bool], min_run: int = 3) -> list[tuple[int, int, bool]]:
    """Cut ``range(len(is_letter))`` into pieces ``(i, j, run)``: ``run`` for ``min_run`` or more
    consecutive letters (to be joined into one word), otherwise a single item or a shorter stretch
    of letters, kept as they are.

    Examples
    --------
    >>> letter_runs([True, True, True, False, True])
    [(0, 3, True), (3, 4, False), (4, 5, False)]
    """
    out: list[tuple[int, int, bool]] = []
    i, n = 0, len(is_letter)
    while i < n:
        j = i
        while j < n and is_letter[j]:
            j += 1
        if j == i:
            j = i + 1
        out.append((i, j, j - i >= min_run and is_letter[i]))
        i = j
    return out


def merge_letter_runs(tokens: list[str], min_run: int = 3) -> list[str]:
    """Join runs of ``min_run`` or more single-letter tokens: ``k i l l`` / ``k.i.l.l`` → ``kill``."""
    out: list[str] = []
    for i, j, run in letter_runs([_is_letter(t) for t in tokens], min_run):
        if run:
            out.append(canonical_token("".join(tokens[i:j])))
        else:
            out.extend(tokens[i:j])
    return out


def analyze(text: str, quotes: QuoteMode = "separate") -> list[str]:
    """The model's tokens for one raw text: the readable reference for the fast vectoriser.

    Examples
    --------
    >>> analyze("J0in the c a l i p h a t e!!")
    ['join', 'the', 'caliphate', '!', '!']
    """
    joined = normalize_joined([text], quotes)
    toks = [c for c in map(canonical_token, TOKEN.findall(joined)) if c]
    return merge_letter_runs(toks)


# --- quotes ------------------------------------------------------------------------------------
_ANY_QUOTE = re.compile(
    r'["\u201c\u201d\u00ab\u00bb]([^"\u201c\u201d\u00ab\u00bb\n]{3,1000})["\u201c\u201d\u00ab\u00bb]'
)


def quote_spans(text: str, reported: bool = False) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of quoted speech in ``text`` (straight or curly quotes),
    in order; with ``reported``, also the unquoted reported clauses that the ``reported`` quote
    mode marks ("we were told that ...")."""
    spans = [(m.start(), m.end()) for m in _ANY_QUOTE.finditer(text)]
    if not reported:
        return spans
    # a frame inside a quotation is part of the quotation
    inside = [False] * len(text)
    for s, e in spans:
        inside[s:e] = [True] * (e - s)
    clauses = _reported_clauses(text, _REPORTED_ANCHOR_ANY_CASE, _REPORTED_ANY_CASE)
    spans += [(s, e) for s, e in clauses if not inside[s - 1]]
    return sorted(spans)


# --- passages ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Passage:
    """A passage of a document: ``text[start:end]``."""

    start: int
    end: int
    text: str


_PARA = re.compile(r"\n[ \t]*\n|\r\n[ \t]*\r\n")
_LINE = re.compile(r"\r?\n")
_SENT_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")
_BOILERPLATE = re.compile(
    r"^\W*(?:share(?: this)?(?: article| post| story)?|tweet|email|print|like|reply|leave a (?:reply|comment)"
    r"|related(?: posts| articles| stories)?|read more|advertisement|subscribe\b.*|sign up\b.*"
    r"|your email address will not be published.*|required fields are marked.*"
    r"|(?:this (?:site|website) uses )?cookies?\b.*|accept(?: all)? cookies.*|posted (?:by|in|on)\b.*"
    r"|comments?|\d+ comments?|skip to (?:main )?content|menu|search|home|previous|next"
    r"|copyright\b.*|©.*|all rights reserved.*|follow us\b.*|click here\b.*|tags?:.*"
    r"|filed under\b.*|photo:.*|image:.*|getty images.*|reuters/.*|ap photo.*)\W*$",
    re.I,
)


# a row of short links or buttons: "Facebook | X | WhatsApp | Email | Copy link"
_LINK_ROW = re.compile(
    r"^\W*(?:[^\W\d_][\w'.-]*(?: [^\W\d_][\w'.-]*){0,2}\W*[|·•/]\W*){2,}"
    r"[^\W\d_][\w'.-]*(?: [^\W\d_][\w'.-]*){0,2}\W*$"
)


def _boilerplate_line(line: str) -> bool:
    return len(line) < 200 and bool(_BOILERPLATE.match(line) or _LINK_ROW.match(line))


def is_boilerplate(passage: str, min_words: int = 6) -> bool:
    """True for navigation, sharing and comment-form lines, and passages under ``min_words`` words.

    A passage of several lines is boilerplate when every line is (``Share this article`` over a
    row of share buttons). Such passages never trigger a document flag on their own.
    """
    stripped = passage.strip()
    if len(stripped.split()) < min_words:
        return True
    lines = [line.strip() for line in stripped.splitlines() if line.strip()]
    return all(_boilerplate_line(line) for line in lines)


def _spans(text: str, pattern: re.Pattern[str], start: int, end: int) -> Iterable[tuple[int, int]]:
    pos = start
    for m in pattern.finditer(text, start, end):
        yield pos, m.start()
        pos = m.end()
    yield pos, end


def _sentences(text: str, start: int, end: int) -> list[tuple[int, int, bool]]:
    """Sentences of ``text[start:end]`` as ``(start, end, quoted)``; a quotation is never split."""
    quotes = [(m.start(), m.end()) for m in _ANY_QUOTE.finditer(text, start, end)]
    out: list[tuple[int, int, bool]] = []
    for s, e in _spans(text, _SENT_END, start, end):
        inside = [q for q in quotes if q[0] < e and s < q[1]]
        if out and any(q[0] < out[-1][1] < q[1] for q in quotes):  # boundary inside a quote
            out[-1] = (out[-1][0], e, True)
        else:
            out.append((s, e, bool(inside)))
    return out


def _windows(text: str, start: int, end: int, max_chars: int) -> Iterable[tuple[int, int]]:
    """Split ``text[start:end]`` into windows of whole sentences of at most ``max_chars``.

    A quotation stays in one window (up to three windows long), so that quoted speech is still
    recognised as quoted when a passage is scored on its own.
    """
    win_start = start
    last_cut = start
    for s, e, quoted in _sentences(text, start, end):
        if e - win_start > max_chars and last_cut > win_start:
            yield win_start, last_cut
            win_start = s
        limit = 3 * max_chars if quoted else max_chars
        while e - win_start > limit:  # one sentence longer than a window: cut at a space
            cut = text.rfind(" ", win_start + max_chars // 2, win_start + max_chars)
            cut = cut if cut > win_start else win_start + max_chars
            yield win_start, cut
            win_start = cut
        last_cut = e
    if end > win_start:
        yield win_start, end


def split_passages(text: str, max_chars: int = 600) -> list[Passage]:
    """Split a document into passages with their character offsets in ``text``.

    Paragraphs (blank-line separated, or single lines when the document has no blank lines)
    become passages; a paragraph longer than ``max_chars`` is split into windows of whole
    sentences; a "sentence" longer than that (a wall of text) is cut at spaces. Whitespace-only
    pieces are dropped, so ``[]`` means the text has nothing to score.

    Examples
    --------
    >>> [p.text for p in split_passages("First paragraph.\\n\\nSecond one.")]
    ['First paragraph.', 'Second one.']
    """
    if max_chars < 20:
        raise ValueError("max_chars must be at least 20")
    splitter = _PARA if _PARA.search(text) else _LINE
    out: list[Passage] = []
    for ps, pe in _spans(text, splitter, 0, len(text)):
        for s, e in _windows(text, ps, pe, max_chars):
            seg = text[s:e]
            lead = len(seg) - len(seg.lstrip())
            trail = len(seg.rstrip())
            if trail > lead:
                out.append(Passage(s + lead, s + trail, seg[lead:trail]))
    return out
