"""Training data: corpus registry, source adapters and cleaning, dedup, grouped splits, fetch."""

from __future__ import annotations

import argparse
import csv
import hashlib
import html
import inspect
import io
import json
import logging
import math
import os
import re
import statistics
import sys
import tempfile
import unicodedata
import zlib
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from propclf.text import (
    canonical_token,
    is_boilerplate,
    merge_letter_runs,
    normalize_many,
    split_passages,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np

__all__ = [
    "CORPORA",
    "DEFAULT_MAX_CHARS",
    "DEFAULT_MAX_PASSAGES",
    "DEFAULT_MIN_PASSAGE_WORDS",
    "FIFTHTRIBE_NEWS_ACCOUNTS",
    "FIFTHTRIBE_NEWS_RETWEETED",
    "INVENTED_NAME",
    "LABELS",
    "LENGTH_BUCKETS",
    "SOURCES",
    "TELEGRAM_NEWS_CHANNELS",
    "ChecksumError",
    "CorpusInfo",
    "CorpusNotFoundError",
    "DatasetError",
    "DedupStats",
    "LabelledFileError",
    "Record",
    "SourceStats",
    "dedup",
    "dedup_with_stats",
    "default_root",
    "fetch",
    "grouped_folds",
    "iter_records",
    "length_bucket",
    "load_functional",
    "load_identity_templates",
    "load_records",
    "load_religious_everyday",
    "mask_invented_names",
    "read_invented_names",
    "read_labelled",
    "sha256_file",
    "stats_markdown",
    "strip_dateline",
    "supplement_path",
    "train_test_groups",
    "verify_corpus",
]

logger = logging.getLogger(__name__)

LABELS: tuple[str, str] = ("propaganda", "reporting")
LENGTH_BUCKETS: tuple[str, ...] = ("<100", "100-300", "300-1000", ">=1000")

DEFAULT_MAX_CHARS = 400
DEFAULT_MAX_PASSAGES = 30
DEFAULT_MIN_PASSAGE_WORDS = 8
DEFAULT_MIN_WORDS = 3
_HASH_BUCKETS = 64


# --- errors ------------------------------------------------------------------------------------
class DatasetError(Exception):
    """Base class for data-loading errors raised by this module."""


class CorpusNotFoundError(DatasetError, FileNotFoundError):
    """A corpus file is missing; the message names the path and where to obtain the file."""


class ChecksumError(DatasetError, ValueError):
    """A file's SHA-256 differs from the expected one."""


class LabelledFileError(DatasetError, ValueError):
    """A row of a user's labelled file is malformed; the message gives ``path:line``."""


# --- records -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Record:
    """One labelled training text.

    Parameters
    ----------
    id : str
        Stable identifier, ``<source>:<doc id>`` or ``<source>:<doc id>:p<k>`` for passages.
    text : str
        Cleaned raw text (not normalised: run :func:`propclf.text.normalize_many` for features).
    label : {"propaganda", "reporting"}
        Class label.
    source : str
        Source name (a corpus, or a corpus file such as ``rss_news_militant``).
    group : str
        Grouping key for leak-free splits, prefixed by the corpus (``fifthtribe:username``).
    weight : float
        Sample weight (label confidence), ``>= 0``.
    """

    id: str
    text: str
    label: str
    source: str
    group: str
    weight: float = 1.0

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise ValueError(f"label must be one of {LABELS}, got {self.label!r}")
        if not (math.isfinite(self.weight) and self.weight >= 0):
            raise ValueError(f"weight must be a finite number >= 0, got {self.weight!r}")


@dataclass(frozen=True)
class CorpusInfo:
    """Registry entry of one public corpus.

    Parameters
    ----------
    name : str
        Corpus name (the key of :data:`CORPORA`).
    folder : str
        Folder under the data root.
    files : tuple of str
        Files read from ``folder``.
    sources : tuple of str
        Source names emitted (one per file, in the order of ``files``).
    origin : str
        Public origin: where users obtain the files.
    licence : str
        Licence of the data as stated by its origin.
    sha256 : mapping of str to str
        Expected SHA-256 of each file.
    columns : tuple of str
        Columns used.
    label_mapping : str
        How rows become labels (and which rows are dropped).
    group_key : str
        What :attr:`Record.group` holds for this corpus.
    notes : str
        Cleaning and caveats.
    """

    name: str
    folder: str
    files: tuple[str, ...]
    sources: tuple[str, ...]
    origin: str
    licence: str
    sha256: Mapping[str, str]
    columns: tuple[str, ...]
    label_mapping: str
    group_key: str
    notes: str = ""

    def paths(self, root: str | os.PathLike[str] | None = None) -> list[Path]:
        """Absolute paths of this corpus's files under ``root`` (see :func:`default_root`)."""
        base = Path(root) if root is not None else default_root()
        return [base / self.folder / f for f in self.files]


@dataclass
class SourceStats:
    """Counters filled while a source is read (see ``stats=`` of :func:`iter_records`).

    Attributes
    ----------
    rows : int
        Rows read from the file.
    docs : int
        Rows kept after cleaning and label filters.
    records : int
        Records emitted (passages count individually).
    dropped : collections.Counter
        Rows dropped, by reason (``"label:noHate"``, ``"short"``, ...).
    kept : collections.Counter
        Rows kept, by decision (``"EXTREME=1"``, ``"forward"``, ...), for the datasheet.
    """

    rows: int = 0
    docs: int = 0
    records: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    kept: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class _Doc:
    doc_id: str
    text: str
    label: str
    group: str
    weight: float = 1.0


# --- paths and checksums -----------------------------------------------------------------------
def default_root() -> Path:
    """The data root: ``$PROPCLF_DATA`` if set, else ``../shared/data`` relative to the CWD."""
    env = os.environ.get("PROPCLF_DATA")
    return Path(env) if env else Path.cwd() / ".." / "shared" / "data"


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _missing(info: CorpusInfo, path: Path) -> CorpusNotFoundError:
    return CorpusNotFoundError(
        f"corpus file not found: {path}\n"
        f"  corpus {info.name!r} ({info.licence}); obtain it from: {info.origin}\n"
        f"  then put it at <root>/{info.folder}/{path.name}, with root given by root=... or the "
        "PROPCLF_DATA environment variable (default ../shared/data)"
    )


def verify_corpus(name: str, root: str | os.PathLike[str] | None = None) -> None:
    """Check that every file of corpus ``name`` exists and has its registered SHA-256.

    Raises
    ------
    CorpusNotFoundError
        A file is missing.
    ChecksumError
        A file's hash differs (a different version or a corrupted copy).
    """
    info = _corpus(name)
    for path in info.paths(root):
        if not path.is_file():
            raise _missing(info, path)
        got = sha256_file(path)
        want = info.sha256[path.name]
        if got != want:
            raise ChecksumError(
                f"{path}: SHA-256 {got} does not match the registered {want} for corpus "
                f"{info.name!r}; the file is a different version (see {info.origin})"
            )


# --- CSV ---------------------------------------------------------------------------------------
def _read_csv(path: Path) -> Iterator[dict[str, str]]:
    """Rows of a UTF-8 CSV as dicts with stripped header names.

    Bare carriage returns inside unquoted fields (``is_magazines`` has some in its ``id`` and
    ``headline`` columns) would end a row early in the csv module, so they become spaces first.
    """
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    raw = path.read_bytes().decode("utf-8-sig")  # read_text() would turn a bare CR into a newline
    if "\r" in raw:
        raw = re.sub(r"\r(?!\n)", " ", raw)
    reader = csv.reader(io.StringIO(raw, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return
    for row in reader:
        if not row:
            continue
        yield {h: (row[i] if i < len(row) else "") for i, h in enumerate(header)}


# --- generic cleaning --------------------------------------------------------------------------
_WS = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_URLISH = re.compile(r"(?:https?://|www\.)\S+|\bpic\.twitter\.com/\S+|(?<![\w@])@\w+|^\s*RT\b:?")
_WORDLIKE = re.compile(r"[^\W\d_][\w'’-]*")
_TOKEN = re.compile(r"[a-z0-9]+")


def _tidy(text: str) -> str:
    """Unescape HTML entities, fold spaces within lines, keep paragraph breaks (max one blank)."""
    if "&" in text:
        text = html.unescape(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    text = text.replace("\u2029", "\n\n").replace("\x0c", "\n")
    lines = [_WS.sub(" ", ln).strip() for ln in text.split("\n")]
    out = "\n".join(lines)
    out = re.sub(r"\n{3,}", "\n\n", out)
    return out.strip()


def _n_words(text: str) -> int:
    """Words in ``text`` not counting URLs, @handles and a leading ``RT``."""
    return len(_WORDLIKE.findall(_URLISH.sub(" ", text)))


def _hash_bucket(prefix: str, text: str, buckets: int = _HASH_BUCKETS) -> str:
    """Stable hash bucket of a text's first 8 lower-cased tokens: near-copies share a bucket."""
    key = " ".join(_TOKEN.findall(text.lower())[:8])
    return f"{prefix}:h{zlib.crc32(key.encode('utf-8')) % buckets:02d}"


def _fold_marks(text: str) -> str:
    """Drop combining marks (transliteration macrons ā ī ū → a i u) and keep NFC."""
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


_DETOK = [
    (re.compile(r"``\s*|\s*''"), '"'),
    (re.compile(r" (n't|'s|'re|'ve|'ll|'d|'m)\b", re.I), r"\1"),
    (re.compile(r"\b(ca|wo|do|does|did|is|are|was|were|have|has|had|could|should|would) n't\b",
                re.I), r"\1n't"),
    (re.compile(r"(^|\s)(['\"]) ([^'\"\n]+?) \2(?=\s|$|[.,;:!?])"), r"\1\2\3\2"),
    (re.compile(r" ([.,;:!?%)\]])"), r"\1"),
    (re.compile(r"([(\[$]) "), r"\1"),
    (re.compile(r"(\d) ([-:]) (\d)"), r"\1\2\3"),
    (re.compile(r"(\w) - (\w)"), r"\1-\2"),
]  # fmt: skip


def _detokenize(text: str) -> str:
    """Undo PTB-style tokenisation (``do n't`` , ``trump 's``, `` , ``) of forum/headline data."""
    for pattern, repl in _DETOK:
        text = pattern.sub(repl, text)
    return _WS.sub(" ", text).strip()


# --- wire datelines and tails ------------------------------------------------------------------
_NOT_PLACES = frozenset(
    {
        "AP", "AFP", "UPI", "ISIS", "ISIL", "IS", "NATO", "UN", "EU", "US", "USA", "UK", "FBI",
        "CIA", "NSA", "DHS", "IRA", "PKK", "YPG", "SDF", "ISAF", "TTP", "ANSF", "IED", "LG",
        "BREAKING", "UPDATE", "UPDATED", "FILE", "PHOTO", "VIDEO", "WATCH", "EXCLUSIVE",
        "ANALYSIS", "OPINION", "JUST", "IN", "LIVE", "WARNING", "I", "A", "THE",
    }
)  # fmt: skip
_CITY_TOKEN = r"[A-Z](?:[A-Z'’.\-]*[A-Z])?\.?(?![A-Za-z])"
_REGION = (
    r",\s*(?:(?:New|North|South|West|East|Saudi|Sri|Puerto|Rhode|United|El|Costa|Hong|Sierra"
    r"|Burkina|Papua|Northern)\s)?[A-Z][\w.’'\-]*(?:\s[A-Z][A-Z.]+(?!\w))*"
    rf"(?:/{_CITY_TOKEN}(?:[ /]{_CITY_TOKEN})*)?"
)
_DATELINE = re.compile(
    r"^\s*(?:(?:UPDATE|UPDATED|FILE|BREAKING)\s*[:\-–—]\s*)?"
    rf"(?P<city>{_CITY_TOKEN}(?:[ /]{_CITY_TOKEN})*)"
    rf"(?P<region>{_REGION})?"
    r"(?P<paren>\s*\((?:Reuters|AP|AFP|UPI|CNN|BBC|[A-Z][a-z]{2,4}\.? \d{1,2}(?:, \d{4})?"
    r"|[A-Z][a-z]+ \d{1,2}(?:, \d{4})?|[^()\n]{0,32})\))?"
    r"(?P<dash>\s*(?:[-–—]+|:)(?=\s|[A-Z\"“‘']))?\s*"
)
_LEAD_WIRE = re.compile(
    r"^\s*\((?:Reuters|AP|AFP|UPI|CNN)\)\s*[-–—]*\s*"
    # mixed-case "Kabul, Afghanistan (Sept. 2) -" / "Paris, France (AP) —"
    r"|^\s*[A-Z][\w'’\-]+(?: [A-Z][\w'’\-]+){0,2}, [A-Z][\w'’\-]+(?: [A-Z][\w'’\-]+)?\s*"
    r"\((?:[A-Z][a-z]{2,8}\.? \d{1,2}(?:, \d{4})?|Reuters|AP|AFP)\)\s*(?:[-–—:]+\s*)?"
)
_BYLINE = re.compile(
    r"^\s*By [A-Z][\w.'\-]+(?: [A-Z][\w.'\-]+){0,3}(?:,? (?:Reuters|AP|AFP))?\s*\n"
)
_SENTENCE_START = re.compile(r"[A-Z0-9\"“‘']")


def _is_place(token: str) -> bool:
    return token.replace(".", "").replace("’", "'") not in _NOT_PLACES


def strip_dateline(text: str) -> str:
    """Remove a leading wire dateline or byline from a news text.

    Handles ``BAGHDAD (Reuters) -``, ``(AP) —``, ``KABUL, Afghanistan (Jan. 25, 2013) —``,
    ``WASHINGTON —`` and the bare upper-case ``NEW YORK The ...`` form of reposted wire copy.
    A leading acronym that is not a place (``ISIS``, ``NATO``, ``U.S.``) is kept, also after a
    place (``WASHINGTON U.S. President ...`` keeps ``U.S. President ...``).

    Examples
    --------
    >>> strip_dateline("BAGHDAD (Reuters) - Iraqi forces advanced on Sunday.")
    'Iraqi forces advanced on Sunday.'
    >>> strip_dateline("NATO said on Monday it would send troops.")
    'NATO said on Monday it would send troops.'
    """
    text = _BYLINE.sub("", text, count=1)
    m = _LEAD_WIRE.match(text)
    if m:
        return text[m.end() :]
    m = _DATELINE.match(text)
    if not m:
        return text
    start = m.start("city")
    toks = [(t.group(0), start + t.start()) for t in re.finditer(r"[^ /]+", m.group("city"))]
    if not _is_place(toks[0][0]):
        return text
    if m.group("region") or m.group("paren"):
        return text[m.end() :].lstrip(" -–—:")
    k = len(toks)
    while k > 1 and not _is_place(toks[k - 1][0]):
        k -= 1  # "WASHINGTON FBI Director ...": trailing acronyms start the sentence
    letters = sum(len(re.sub(r"[^A-Z]", "", t)) for t, _ in toks[:k])
    if k < len(toks):
        rest = text[toks[k][1] :]
    else:
        rest = text[m.end() :]
        if not m.group("dash") and not _SENTENCE_START.match(rest):
            return text
    if letters < 4 and not m.group("dash"):
        return text
    return rest.lstrip(" -–—:")


_WIRE_TAIL_LINES = re.compile(
    r"^\s*(?:\((?:Reporting|Additional reporting|Writing|Editing)\b[^)]*\)|Source(?: link)?"
    r"|Go Back to Top\.? Skip To:.*|The post .* appeared first on .*|Continue reading\.*"
    r"|Related:.*|Story highlights|Getty Images|Photo|Slide: ?\d+.*"
    r"|Here’s The Thing With Ad Blockers|We get it: Ads aren’t what you’re here for\..*"
    r"|So, add us to your ad blocker’s whitelist.*|Last Updated.*|Advertisement"
    r"|FILE\s*[-–—].*|.*\((?:AP|AFP|Reuters|Getty) Photo[^)]*\)\.?)\s*$",
    re.I | re.M,
)
_TICKER = re.compile(r"\s*\(\s*[A-Z0-9]{1,6}\.[A-Z]{1,3}\s*\)")


def _clean_wire(text: str) -> str:
    """Dateline, wire tails (``(Reporting by ...)``, ``Source``), stock tickers, ad lines."""
    text = _WIRE_TAIL_LINES.sub("", text)
    text = _TICKER.sub("", text)
    return strip_dateline(_tidy(text))


# --- source-specific cleaning ------------------------------------------------------------------
_ISAF_HEADER = re.compile(
    r"^\s*(?:ISAF Joint Command\s*-?\s*Afgh\w*|For Immediate Release|Download PDF"
    r"|ISAF Joint Command (?:Morning |Evening )?Operational Update.*"
    r"|UPDATE\s*$|\d{4}-\d{2}-[A-Z]{1,3}-\d{2,4}\b.*|[\d,\s]+)\s*$",
    re.I,
)
_ISAF_RELEASE = re.compile(r"\b\d{4}-\d{2}-[A-Z]{1,3}-\d{2,4}\b")
_ISAF_INLINE = re.compile(
    r"ISAF Joint Command\s*-?\s*Afghanistan|For Immediate Release|Download PDF"
)


def _clean_isaf(text: str) -> str:
    """Drop ISAF header lines (command name, release id ``2013-01-S-025``, PDF links), datelines."""
    text = _tidy(text)
    kept: list[str] = []
    for line in text.split("\n"):
        if _ISAF_HEADER.match(line):
            continue
        line = strip_dateline(_ISAF_INLINE.sub(" ", _ISAF_RELEASE.sub(" ", line)).strip())
        if line:  # a line that was only a dateline ("KABUL, Afghanistan (July 26, 2012)") goes
            kept.append(line)
    return "\n".join(kept)


_SATP_PAPERS = sorted(
    """Daily Excelsior|The Times of India|Times of India|Dawn|The News International|The News
    |The Daily Times|Daily Times|Pajhwok Afghan News|Pajhwok|Khaama Press|Bakhtar News Agency
    |Bakhtar News|Bhaktar News Agency|Bhaktar News|The Hindu|The Himalayan Times|The Daily Star
    |The Telegraph|The Sentinel|The Assam Tribune|The Shillong Times|The Express Tribune
    |Express Tribune|Nagaland Post|The Sangai Express|Sangai Express|The Business Standard
    |Business Standard|The New Indian Express|New Indian Express|New Age|Tolo News|TOLOnews
    |Colombo Page|Northeast Today|PTI|Dhaka Tribune|The Nation|Myrepublica|Republica
    |Imphal Free Press|India Today|The Hindustan Times|Hindustan Times|Daily Mirror|Kanglaonline
    |Zee News|The Morung Express|Morung Express|The Pioneer|NDTV|The Indian Express
    |Indian Express|The Kathmandu Post|Kathmandu Post|Epao|Odisha TV|OdishaTV|Odisha Sun Times
    |Bihar Prabha|The Asian Age|Dainik Jagran|Tripurainfo|Live Hindustan|Greater Kashmir
    |Kashmir Observer|Rising Kashmir|The Tribune|Deccan Chronicle|Deccan Herald|The Statesman
    |Eastern Mirror|Arunachal Times|The Arunachal Times|Daily Pakistan|Pakistan Today|Xinhua
    |Prothom Alo|bdnews24|Ada Derana|Ariana News|Afghanistan Times|The Edition|ANI|IANS|UNI
    |Geo News|Samaa|Outlook|Firstpost|News18|The Quint|Scroll""".replace("\n", "").split("|"),
    key=len,
    reverse=True,
)
_SATP_REPORTS = re.compile(
    r"(?:[,;]\s*|\s+)reports?\s+(?:the\s+)?(?:"
    + "|".join(re.escape(p.strip()) for p in _SATP_PAPERS if p.strip())
    + r")(?:\s+on\s+[A-Z][a-z]+\s+\d{1,2})?(?![\w'])"
    + r"|(?:[,;]\s*|\s+)reports?\s+(?:the\s+)?[A-Z][\w&'.-]*(?:\s+[A-Z][\w&'.-]*){0,4}"
    + r"(?:\s+on\s+[A-Z][a-z]+\s+\d{1,2})?(?=\s*(?:[.;,]|$))"
)


def _strip_satp(text: str) -> str:
    """Remove SATP ``..., reports Daily Excelsior.`` source tails (also unpunctuated ones)."""

    def repl(m: re.Match[str]) -> str:
        after = text[m.end() : m.end() + 2]
        # unpunctuated digests ("... reports Dawn The three ...") need a sentence break
        return "." if re.match(r"\s+[A-Z]", after) else ""

    return _tidy(_SATP_REPORTS.sub(repl, text))


_MAG_HEADER = re.compile(
    r"^(?:[\s\d]*(?:dabiq|rumiyah|foreword|articles?|feature|interview|exclusive|news|reports?"
    r"|contents|editorial|history|enemy.s words|in the words of the enemy)[\s\d]*)+$|^[\s\d]+$",
    re.I,
)
_PRIVATE_USE = re.compile("[ \t]*[\ue000-\uf8ff]")
_HYPHEN_EOL = re.compile(r"(?<=[a-z])[-\u00ad]\n(?=[a-z])")


def _clean_magazine(text: str) -> str:
    """PDF artefacts: honorific glyphs, soft hyphens, page headers, line-break hyphenation."""
    text = _PRIVATE_USE.sub("", text).replace("\u00ad", "")
    text = text.replace("\r\n", "\n").replace("\x0c", "\n")
    lines = [ln for ln in text.split("\n") if len(ln) > 60 or not _MAG_HEADER.match(ln)]
    text = _HYPHEN_EOL.sub("", "\n".join(lines))
    text = re.sub(r"(?<=[a-z])- +(?=[a-z])", "", text)  # "cor- ruption" inside a line
    return _tidy(_fold_marks(text))


_FAKES_DATE = re.compile(
    r"^\s*(?:Date of publication|Published|Last updated)?\s*"
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?\s+)?"
    r"(?:\d{1,2}\s+[A-Z][a-z]+\.?\s+\d{4}|[A-Z][a-z]+\.?\s+\d{1,2},?\s+\d{4}"
    r"|\d{1,2}\s+[A-Z][a-z]{2}\s+\d{4}|\d{1,2}\.\d{1,2}\.\d{4}"
    r"|[A-Z][a-z]{2}\s+[A-Z][a-z]{2}\s+\d{1,2}\s+\d{4})"
    r"(?:\s+by\s+(?:[A-Z][\w'-]+\s+){1,3}(?:and\s+(?:[A-Z][\w'-]+\s+){1,3})?)?\s*"
)
_FAKES_TAIL = re.compile(
    r"\s*(?:-\s*REUTERS|Source:? TRTWorld and agencies|This article is an edited translation"
    r".*|\(Source:[^)]*\)\s*Twitter|\d* ?Tags .*|Comment via Facebook.*)\s*$"
)


def _clean_fakes(text: str) -> str:
    """Leading publication dates (``Wed 05 Apr 2017``, ``Date of publication``), outlet tails."""
    text = _FAKES_DATE.sub("", text, count=1)
    text = re.sub(r"^\s*(?:[A-Z][a-z]+\s+)?SANA\s*[-–—]\s*", "", text)
    return _tidy(_FAKES_TAIL.sub("", text))


_RSS_TAIL = re.compile(r"\s*(?:Continue reading\.*|Related:.*?(?=\s{2,}|$))", re.S)
_AUTHOR_SUFFIX = re.compile(r"\s+\|\s+[^|]{2,60}$")


def _join_title(title: str, body: str) -> str:
    """Headline and lead as one text: ``Title. Body`` (no doubled full stop)."""
    title = _WS.sub(" ", title).strip()
    body = body.strip()
    if not title:
        return body
    if not body:
        return title
    sep = " " if title[-1] in ".!?:…" else ". "
    return title + sep + body


def _clean_rss(title: str, description: str) -> str:
    """Guardian/BBC/CNN item: title (without ``| Author``) + lead.

    In Guardian leads a double space marks both a paragraph break (after a sentence end, or
    between the standfirst and the first paragraph) and the edges of a removed hyperlink (``the
    crackdown on recent protests .``): the first become blank lines, the second single spaces.
    """
    title = _AUTHOR_SUFFIX.sub("", html.unescape(title))
    desc = html.unescape(description)
    desc = _RSS_TAIL.sub(" ", desc)
    desc = re.sub(r"\s+Related:\s.*?(?=\s{2,}|$)", " ", desc)
    desc = re.sub(r"(?<=[\w’”\"'.!?…])[ \t\u00a0]{2,}(?=[A-Z‘“\"])", "\n\n", desc.strip())
    desc = re.sub(r"[ \t\u00a0]+(?=[.,;:!?’”])", "", desc)
    return _tidy(_join_title(title, desc))


_TELEGRAM_TAIL = re.compile(
    r"(?:\s*(?:Follow|Join|Subscribe|Share)\b[^\n]{0,40}?(?:->\s*\S+|@\w+|t\.me/\S+|https?://\S+)"
    r"|\s*\[\s*Article\s*\]|\s*Article JOIN THE \w*|\s*@\w+)+\s*$",
    re.I,
)


def _clean_telegram(text: str) -> str:
    """Channel self-promotion tails (``Follow us -> LiveLeak``, ``@Channel`` signatures)."""
    return _tidy(_TELEGRAM_TAIL.sub("", text))


def _iso_week(d: str) -> str:
    try:
        y, w, _ = date.fromisoformat(d[:10]).isocalendar()
    except ValueError:
        return "unknown"
    return f"{y}-W{w:02d}"


def _year_month(d: str) -> str:
    m = re.match(r"(\d{4})-(\d{2})", d.strip())
    return f"{m.group(1)}-{m.group(2)}" if m else "unknown"


def _snowflake_day(tweet_id: str) -> str:
    """UTC day of a tweet from its (snowflake) id; ``unknown`` for pre-2010 or bad ids."""
    try:
        ms = (int(tweet_id) >> 22) + 1288834974657
    except ValueError:
        return "unknown"
    if int(tweet_id) < 1 << 32:
        return "unknown"
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d")


# --- adapters ----------------------------------------------------------------------------------
# Accounts of the Fifth Tribe list whose own profile describes a news, monitoring, journalism or
# analysis account (RamiAlLolah: "Real-Time News ..."; mobi_ayubi: "Journalist ..."): most of their
# tweets are war news, not propaganda, so by default only their EXTREME=1 tweets are kept.
FIFTHTRIBE_NEWS_ACCOUNTS: frozenset[str] = frozenset(
    {
        "ramiallolah", "warrnews", "warreporter1", "warreporter2", "mobi_ayubi", "nidalgazaui",
        "maghrabiarabi", "naseemahmed50", "__alfresco__", "lnsldewar", "sonofshishan",
        "maghrebiq", "maghrebihd", "freedom_speech2",
    }
)  # fmt: skip
# Accounts whose retweets ("RT @x: ...") are dropped: the news accounts above plus outside news,
# wire and conflict-monitoring accounts retweeted in the file.
FIFTHTRIBE_NEWS_RETWEETED: frozenset[str] = FIFTHTRIBE_NEWS_ACCOUNTS | frozenset(
    {
        "conflicts", "afp", "reuters", "ap", "bbcbreaking", "bbcworld", "cnn", "cnnbrk",
        "ajenglish", "skynews", "middleeasteye", "terror_monitor", "worldonalert", "warnews24_7",
        "tracterrorism", "pieternanninga", "alwasatengnews", "markito0171", "vivarevolt",
        "maghrebiqm", "elizrael", "simnasr",
    }
)  # fmt: skip
# Unannotated tweets at 0.2: chosen by benchmarks/noise_ablation.py (see datasets/DATASHEET.md):
# against 0.5 it improves held-out PR-AUC and false positives on same-vocabulary reporting tweets
# at equal recall on held-out extreme tweets; excluding them loses most of that recall.
_FIFTHTRIBE_WEIGHTS: Mapping[str, float] = {"1": 1.0, "m": 1.0, "": 0.2, "0": 0.0, "?": 0.0}
_RT_HANDLE = re.compile(r"^\s*RT @(\w+)")
_FIFTHTRIBE_JUNK = re.compile(r"^\s*(?:My week on Twitter|I'm at |Just posted a )", re.I)

# Telegram channels of the far-right crawl that relay general news (SOURCE.txt names them).
TELEGRAM_NEWS_CHANNELS: frozenset[str] = frozenset({"leaklive", "insiderpaper"})


def _adapt_fifthtribe(
    rows: Iterable[Mapping[str, str]],
    st: SourceStats,
    *,
    weights: Mapping[str, float] | None = None,
    news_accounts: Collection[str] = FIFTHTRIBE_NEWS_ACCOUNTS,
    news_account_weight: float = 0.0,
    drop_news_retweets: bool = True,
    news_retweeted: Collection[str] = FIFTHTRIBE_NEWS_RETWEETED,
    min_words: int = 4,
) -> Iterator[_Doc]:
    """Fifth Tribe pro-ISIS accounts: noisy positives, weighted by the per-tweet ``EXTREME`` code.

    Parameters
    ----------
    weights : mapping of str to float, optional
        Weight by ``EXTREME`` code (stripped, lower-cased; other codes count as ``"?"``).
        Default ``{"1": 1.0, "m": 1.0, "": 0.2, "0": 0.0, "?": 0.0}``: annotated extreme and
        "m" (martyrdom-operation claims) at full weight, unannotated at 0.2 (the value the label
        noise ablation in ``datasets/DATASHEET.md`` supports); ``0`` (the annotator saw nothing
        extreme: mostly war news, but also Amaq claims, so *not* reporting) and uncertain codes
        are dropped (weight 0 drops a row).
    news_accounts : collection of str
        Lower-cased usernames of self-described news/monitoring accounts.
    news_account_weight : float
        Multiplier for their tweets not annotated ``1``/``m`` (default 0: dropped).
    drop_news_retweets : bool
        Drop ``RT @x:`` retweets of ``news_retweeted`` accounts (news copied verbatim).
    min_words : int
        Drop tweets with fewer words after removing URLs, handles and ``RT`` (default 4).
    """
    table = dict(_FIFTHTRIBE_WEIGHTS if weights is None else weights)
    news = {a.lower() for a in news_accounts}
    retweeted = {a.lower() for a in news_retweeted}
    for i, row in enumerate(rows):
        st.rows += 1
        text = _tidy(row.get("tweets", ""))
        user = row.get("username", "").strip() or "unknown"
        code = row.get("EXTREME", "").strip().lower()
        code = code if code in table else "?"
        weight = table.get(code, 0.0)
        if weight <= 0:
            st.dropped[f"EXTREME={code or 'empty'}"] += 1
            continue
        if user.lower() in news and code not in ("1", "m"):
            weight *= news_account_weight
            if weight <= 0:
                st.dropped["news account"] += 1
                continue
        rt = _RT_HANDLE.match(text)
        if drop_news_retweets and rt and rt.group(1).lower() in retweeted:
            st.dropped["retweet of news account"] += 1
            continue
        if _FIFTHTRIBE_JUNK.match(text):
            st.dropped["automated post"] += 1
            continue
        if _n_words(text) < min_words:
            st.dropped["short"] += 1
            continue
        st.kept[f"EXTREME={code or 'empty'} w={weight:g}"] += 1
        yield _Doc(str(i), text, "propaganda", f"fifthtribe:{user.lower()}", weight)


def _adapt_isextreme(
    rows: Iterable[Mapping[str, str]],
    st: SourceStats,
    *,
    text_column: str = "translated",
    min_words: int = DEFAULT_MIN_WORDS,
) -> Iterator[_Doc]:
    """isextreme tweets: ``label`` 1 → propaganda, 0 → reporting.

    ``translated`` is the tweet machine-translated to English (identical to ``tweet`` for the
    ~89% already in English), so it is the default text; ``text_column="tweet"`` keeps originals.
    """
    for i, row in enumerate(rows):
        st.rows += 1
        raw = row.get(text_column, "").strip() or row.get("tweet", "")
        text = _tidy(raw)
        lab = row.get("label", "").strip()
        if lab not in ("0", "1"):
            st.dropped[f"label:{lab or 'empty'}"] += 1
            continue
        if _n_words(text) < min_words:
            st.dropped["short"] += 1
            continue
        user = row.get("username", "").strip().lower() or f"row{i}"
        label = "propaganda" if lab == "1" else "reporting"
        st.kept[label] += 1
        yield _Doc(str(i), text, label, f"isextreme:{user}")


def _adapt_stormfront(
    rows: Iterable[Mapping[str, str]],
    st: SourceStats,
    *,
    include_nohate: bool = False,
    nohate_weight: float = 0.2,
    min_words: int = DEFAULT_MIN_WORDS,
) -> Iterator[_Doc]:
    """Stormfront sentences: ``hate`` → propaganda; ``relation``/``idk/skip`` dropped.

    ``noHate`` is the forum's ordinary chatter, neither class, so it is excluded unless
    ``include_nohate=True`` (then reporting at ``nohate_weight``, for experiments only).
    """
    for _i, row in enumerate(rows):
        st.rows += 1
        lab = row.get("label", "").strip()
        weight = 1.0
        if lab == "hate":
            label = "propaganda"
        elif lab == "noHate" and include_nohate and nohate_weight > 0:
            label, weight = "reporting", nohate_weight
        else:
            st.dropped[f"label:{lab or 'empty'}"] += 1
            continue
        text = _detokenize(_tidy(row.get("text", "")))
        if _n_words(text) < min_words:
            st.dropped["short"] += 1
            continue
        st.kept[f"label:{lab}"] += 1
        doc_id = row.get("file_id", "").strip() or str(_i)
        yield _Doc(doc_id, text, label, f"stormfront:{row.get('user_id', '').strip()}", weight)


def _adapt_ungdc(rows: Iterable[Mapping[str, str]], st: SourceStats) -> Iterator[_Doc]:
    """UN General Debate paragraphs mentioning terrorism: reporting, grouped by country."""
    for i, row in enumerate(rows):
        st.rows += 1
        text = _tidy(row.get("text", "").replace("**", ""))
        if not text:
            st.dropped["empty"] += 1
            continue
        country = row.get("country", "").strip() or "unknown"
        doc = f"{country}_{row.get('year', '').strip()}_{row.get('chunk_idx', '').strip() or i}"
        st.kept["reporting"] += 1
        yield _Doc(doc, text, "reporting", f"ungdc:{country}")


def _adapt_crisislex(rows: Iterable[Mapping[str, str]], st: SourceStats) -> Iterator[_Doc]:
    """Boston-bombing tweets, on- and off-topic alike: reporting, grouped by UTC day."""
    for i, row in enumerate(rows):
        st.rows += 1
        tid = row.get("tweet id", "").strip().strip("'") or str(i)
        text = _tidy(row.get("tweet", ""))
        if _n_words(text) < DEFAULT_MIN_WORDS:
            st.dropped["short"] += 1
            continue
        st.kept[row.get("label", "").strip() or "unlabelled"] += 1
        yield _Doc(tid, text, "reporting", f"crisislex:{_snowflake_day(tid)}")


def _adapt_is_magazines(rows: Iterable[Mapping[str, str]], st: SourceStats) -> Iterator[_Doc]:
    """Dabiq/Rumiyah articles: propaganda, grouped by magazine + issue (PDF artefacts cleaned)."""
    for i, row in enumerate(rows):
        st.rows += 1
        mag = row.get("magazine", "").strip()
        issue = row.get("issue", "").strip()
        if mag not in ("Dabiq", "Rumiyah") or not issue.isdigit():
            st.dropped["malformed row"] += 1
            continue
        text = _clean_magazine(row.get("text", ""))
        if not text:
            st.dropped["empty"] += 1
            continue
        slug = row.get("id", "").rstrip("/").rsplit("/", 1)[-1].strip() or str(i)
        slug = re.sub(r"\s+", "-", slug)
        st.kept[mag] += 1
        yield _Doc(slug, text, "propaganda", f"is_magazines:{mag}-{issue}")


def _adapt_farright_telegram(
    rows: Iterable[Mapping[str, str]],
    st: SourceStats,
    *,
    require_keyword: bool = True,
    forward_weight: float = 0.7,
    other_weight: float = 0.0,
    exclude_channels: Collection[str] = TELEGRAM_NEWS_CHANNELS,
) -> Iterator[_Doc]:
    """Far-right Telegram posts: channel-level label, so filtered and weighted.

    Parameters
    ----------
    require_keyword : bool
        Keep only ``farright_kw == 1`` posts (default) at weight 1.0; others get
        ``other_weight`` (default 0: excluded, as they are mostly memes, fitness, art, news).
    forward_weight : float
        Multiplier for forwarded posts (``is_forward == 1``), whose author is another channel.
    exclude_channels : collection of str
        Channels that relay general news (``leaklive``, ``insiderpaper``): excluded.
    """
    excluded = {c.lower() for c in exclude_channels}
    for i, row in enumerate(rows):
        st.rows += 1
        channel = row.get("channel_name", "").strip() or "unknown"
        if channel.lower() in excluded:
            st.dropped["news-relay channel"] += 1
            continue
        weight = 1.0 if row.get("farright_kw", "").strip() == "1" else other_weight
        if not require_keyword and weight <= 0:
            weight = 1.0
        if weight <= 0:
            st.dropped["farright_kw=0"] += 1
            continue
        forwarded = row.get("is_forward", "").strip() == "1"
        if forwarded:
            weight *= forward_weight
            if weight <= 0:
                st.dropped["forward"] += 1
                continue
        text = _clean_telegram(row.get("cleaned_message", ""))
        if _n_words(text) < DEFAULT_MIN_WORDS:
            st.dropped["short"] += 1
            continue
        link = row.get("msg_link", "").strip()
        doc = "/".join(link.rstrip("/").split("/")[-2:]) if link else str(i)
        st.kept["forward" if forwarded else "own post"] += 1
        yield _Doc(doc, text, "propaganda", f"farright_telegram:{channel}", weight)


def _adapt_news_2016(rows: Iterable[Mapping[str, str]], st: SourceStats) -> Iterator[_Doc]:
    """2016 wire/online news: reporting, grouped by ISO week (events), datelines stripped."""
    for i, row in enumerate(rows):
        st.rows += 1
        text = _clean_wire(row.get("text", ""))
        if not text:
            st.dropped["empty"] += 1
            continue
        doc = Path(row.get("file", "").strip()).stem or str(i)
        st.kept["strict" if row.get("strict", "").strip() == "1" else "general"] += 1
        yield _Doc(doc, text, "reporting", f"news_2016:{_iso_week(row.get('date', ''))}")


def _adapt_fakes_syria(rows: Iterable[Mapping[str, str]], st: SourceStats) -> Iterator[_Doc]:
    """FA-KES Syrian-war articles: reporting (its ``labels`` is credibility), grouped by outlet."""
    for i, row in enumerate(rows):
        st.rows += 1
        text = _clean_fakes(row.get("article_content", ""))
        if not text:
            st.dropped["empty"] += 1
            continue
        outlet = row.get("source", "").strip() or "unknown"
        st.kept[outlet] += 1
        yield _Doc(f"{row.get('unit_id', '').strip()}_{i}", text, "reporting",
                   f"fakes_syria:{outlet}")  # fmt: skip


def _adapt_rss(rows: Iterable[Mapping[str, str]], st: SourceStats) -> Iterator[_Doc]:
    """RSS headline + lead: reporting, grouped by year-month (shared by both rss files)."""
    for i, row in enumerate(rows):
        st.rows += 1
        text = _clean_rss(row.get("title", ""), row.get("description", ""))
        if _n_words(text) < DEFAULT_MIN_WORDS:
            st.dropped["short"] += 1
            continue
        st.kept["reporting"] += 1
        yield _Doc(str(i), text, "reporting", f"rss_news:{_year_month(row.get('date', ''))}")


def _adapt_satp(rows: Iterable[Mapping[str, str]], st: SourceStats) -> Iterator[_Doc]:
    """SATP digests: reporting, ``reports <paper>`` tails stripped, hash-bucket groups."""
    for i, row in enumerate(rows):
        st.rows += 1
        text = _strip_satp(row.get("news", ""))
        if _n_words(text) < DEFAULT_MIN_WORDS:
            st.dropped["short"] += 1
            continue
        st.kept["reporting"] += 1
        yield _Doc(str(i), text, "reporting", _hash_bucket("satp", text))


def _adapt_isaf(rows: Iterable[Mapping[str, str]], st: SourceStats) -> Iterator[_Doc]:
    """ISAF press releases: reporting (official), header/release ids stripped, by year-month."""
    for i, row in enumerate(rows):
        st.rows += 1
        text = _clean_isaf(row.get("text", ""))
        if not text:
            st.dropped["empty"] += 1
            continue
        st.kept["reporting"] += 1
        yield _Doc(str(i), text, "reporting", f"isaf:{_year_month(row.get('start_date', ''))}")


def _adapt_huffpost_v3(rows: Iterable[Mapping[str, str]], st: SourceStats) -> Iterator[_Doc]:
    """HuffPost headline + short description 2018-22: reporting, grouped by year-month."""
    for i, row in enumerate(rows):
        st.rows += 1
        text = _tidy(_join_title(row.get("headline", ""), row.get("short_description", "")))
        if _n_words(text) < DEFAULT_MIN_WORDS:
            st.dropped["short"] += 1
            continue
        st.kept[row.get("category", "").strip() or "unknown"] += 1
        yield _Doc(str(i), text, "reporting", f"huffpost_v3:{_year_month(row.get('date', ''))}")


def _adapt_huffpost_headlines(rows: Iterable[Mapping[str, str]], st: SourceStats) -> Iterator[_Doc]:
    """HuffPost lower-cased tokenised headlines 2012-18: detokenised, hash-bucket groups."""
    for i, row in enumerate(rows):
        st.rows += 1
        text = _detokenize(_tidy(row.get("headline_lower_tokenized", "")))
        if _n_words(text) < DEFAULT_MIN_WORDS:
            st.dropped["short"] += 1
            continue
        st.kept["reporting"] += 1
        yield _Doc(str(i), text, "reporting", _hash_bucket("huffpost_headlines", text))


_Adapter = Callable[..., Iterator[_Doc]]


@dataclass(frozen=True)
class _SourceSpec:
    corpus: str
    file: str
    adapter: _Adapter


SOURCES: dict[str, _SourceSpec] = {
    "fifthtribe": _SourceSpec("fifthtribe", "tweets.csv", _adapt_fifthtribe),
    "isextreme": _SourceSpec("isextreme", "tweets.csv", _adapt_isextreme),
    "stormfront": _SourceSpec("stormfront", "sentences.csv", _adapt_stormfront),
    "ungdc": _SourceSpec("ungdc", "paragraphs.csv", _adapt_ungdc),
    "crisislex": _SourceSpec("crisislex", "boston_ontopic_offtopic.csv", _adapt_crisislex),
    "is_magazines": _SourceSpec("is_magazines", "articles.csv", _adapt_is_magazines),
    "farright_telegram": _SourceSpec("farright_telegram", "posts.csv", _adapt_farright_telegram),
    "news_2016": _SourceSpec("news_2016", "articles.csv", _adapt_news_2016),
    "fakes_syria": _SourceSpec("fakes_syria", "articles.csv", _adapt_fakes_syria),
    "rss_news_militant": _SourceSpec("rss_news", "militant_2020.csv", _adapt_rss),
    "rss_news_sample": _SourceSpec("rss_news", "sample_2020.csv", _adapt_rss),
    "satp_terrorism": _SourceSpec("satp", "satp_terrorism.csv", _adapt_satp),
    "satp_actions": _SourceSpec("satp", "satp_actions.csv", _adapt_satp),
    "isaf": _SourceSpec("isaf", "isaf_press_releases_test.csv", _adapt_isaf),
    "huffpost_v3": _SourceSpec("huffpost", "huffpost_v3_first9998.csv", _adapt_huffpost_v3),
    "huffpost_headlines": _SourceSpec(
        "huffpost", "huffpost_fsl_headlines.csv", _adapt_huffpost_headlines
    ),
}
"""Source name → (corpus, file, adapter). ``Record.source`` is one of these keys."""


def _info(name: str, **kw: Any) -> CorpusInfo:
    srcs = tuple(s for s, spec in SOURCES.items() if spec.corpus == name)
    files = tuple(SOURCES[s].file for s in srcs)
    return CorpusInfo(name=name, folder=name, files=files, sources=srcs, **kw)


CORPORA: dict[str, CorpusInfo] = {
    "fifthtribe": _info(
        "fifthtribe",
        origin="Kaggle fifthtribe/how-isis-uses-twitter (tweets.xlsx with the EXTREME column: "
        "github ambervoong/isextreme@c9fe201 Data/how-isis-uses-twitter/tweets.xlsx)",
        licence="CC0",
        sha256={"tweets.csv": "196e4193d7f600810144fb3eaa7a446c9dba0a96f48410630e3dcd9fc6939509"},
        columns=("username", "EXTREME", "tweets"),
        label_mapping="propaganda (account-level label); weight by per-tweet EXTREME: 1/m 1.0, "
        "empty 0.2, 0/? dropped; news/monitoring accounts' unannotated tweets and retweets "
        "of news accounts dropped; < 4 words dropped",
        group_key="fifthtribe:<username, lower-cased>",
        notes="2015-16 pro-ISIS 'fanboy' accounts; ~half the tweets come from self-described "
        "news accounts.",
    ),
    "isextreme": _info(
        "isextreme",
        origin="github ambervoong/isextreme@c9fe201 (Data/scraped, Data/added_scraped)",
        licence="none stated (public repository)",
        sha256={"tweets.csv": "accbd96c7f4c2dc7947048cf36ae1962e25b041699acc056715fdb65bf45a765"},
        columns=("username", "label", "translated", "tweet"),
        label_mapping="label 1 → propaganda, 0 → reporting; text = translated (English MT)",
        group_key="isextreme:<username, lower-cased>",
        notes="2018-19 tweets matching ISIS search terms, per-tweet student labels.",
    ),
    "stormfront": _info(
        "stormfront",
        origin="github Vicomtech/hate-speech-dataset@b802137 (annotations_metadata.csv + "
        "all_files/*.txt)",
        licence="CC BY-SA 3.0 ES",
        sha256={
            "sentences.csv": "ebce9b38a829ba11b5ef55e780ea62b12ee1fb3e39e4518dae3bd26da5fb3120"
        },
        columns=("file_id", "user_id", "label", "text"),
        label_mapping="hate → propaganda; noHate excluded (optional: reporting at weight 0.2); "
        "relation, idk/skip dropped",
        group_key="stormfront:<user_id>",
        notes="Sentences are PTB-tokenised; detokenised here.",
    ),
    "ungdc": _info(
        "ungdc",
        origin="UN General Debate Corpus (Harvard Dataverse doi:10.7910/DVN/0TJX8Y), "
        "paragraphs mentioning terrorism/extremism 2001-2024",
        licence="CC0 (as listed by its mirror)",
        sha256={
            "paragraphs.csv": "cd76a1c240bf512ca0bf812e398f7866c50ea80c4bf71b565b320c03eeec98cd"
        },
        columns=("country", "year", "chunk_idx", "text"),
        label_mapping="reporting (official statements)",
        group_key="ungdc:<country ISO3>",
    ),
    "crisislex": _info(
        "crisislex",
        origin="github sajao/CrisisLex@d67cddd data/CrisisLexT6/2013_Boston_Bombings",
        licence="MIT (repository); tweets under the platform's terms",
        sha256={
            "boston_ontopic_offtopic.csv": (
                "eddbae6c7d3797fc155fffb339e436bec4eeec9331c57d33baff74acead2d33c"
            )
        },
        columns=("tweet id", "tweet", "label"),
        label_mapping="reporting (on-topic and off-topic)",
        group_key="crisislex:<UTC day from the tweet id>",
    ),
    "is_magazines": _info(
        "is_magazines",
        origin="github gsi-upm/gsicrawler@d686f51 (dabiqarticles.json, rumiyaharticles.json)",
        licence="research use only (no licence)",
        sha256={"articles.csv": "627f37641bceffb1bd5eecddbf470e8fdd91fda8acb5eeb03c5fba0eff8c5f48"},
        columns=("id", "magazine", "issue", "text"),
        label_mapping="propaganda",
        group_key="is_magazines:<magazine>-<issue>",
        notes="PDF-extracted; bare CRs inside unquoted fields are repaired when reading.",
    ),
    "farright_telegram": _info(
        "farright_telegram",
        origin="github shahin-nazar/far-right-ecosystem-dataset-telegram@22ee195 "
        "(mirror of ProjectGRTM/far-right-telegram-data), data/processed_part_*.csv sample",
        licence="CC BY-SA 4.0",
        sha256={"posts.csv": "5605622145100e59c263e69c196d09f2bf7268a4c688b44d7938cee8397ec2ec"},
        columns=("channel_name", "cleaned_message", "msg_link", "is_forward", "farright_kw"),
        label_mapping="farright_kw == 1 → propaganda (forwards at 0.7); other posts and the "
        "news-relay channels leaklive/insiderpaper excluded",
        group_key="farright_telegram:<channel_name>",
    ),
    "news_2016": _info(
        "news_2016",
        origin="github secureIntent-git/teftst@4a4d0d8 _posts/2016-*.md (reposted Reuters and "
        "Google-News articles)",
        licence="articles © publishers; research use only",
        sha256={"articles.csv": "7570e3f76aa4adcac6a4b554dcea182acd46a570a0f56466be3e79a6de7134c1"},
        columns=("date", "file", "text"),
        label_mapping="reporting",
        group_key="news_2016:<ISO week of date> (events)",
    ),
    "fakes_syria": _info(
        "fakes_syria",
        origin="FA-KES (Salem et al., ICWSM 2019), Zenodo doi:10.5281/zenodo.2607278; "
        "github fmohsen/Fake-news-res@396124a",
        licence="research data set (licence not stated)",
        sha256={"articles.csv": "02ed706299dfc97f4d7f0410cc69b6eb6f8488009609de2c180f13af241cbc6e"},
        columns=("unit_id", "article_content", "source"),
        label_mapping="reporting (labels = credibility, ignored)",
        group_key="fakes_syria:<outlet>",
    ),
    "rss_news": _info(
        "rss_news",
        origin="github rumca-js/RSS-Link-Database-2020@619a819 (per-day JSON files)",
        licence="headlines © publishers (repository GPL-3.0)",
        sha256={
            "militant_2020.csv": (
                "273e7c5d3c84531cc46761b151de59780b0a8f0b1e795734f5fc8b9b8d47c5cc"
            ),
            "sample_2020.csv": "6bc9d0a50a39cd52439ed09eb4363b95f5a1a43d95eed9bbb6978ce3c75ac9f2",
        },
        columns=("date", "title", "description"),
        label_mapping="reporting",
        group_key="rss_news:<year-month> (shared by both files)",
    ),
    "satp": _info(
        "satp",
        origin="South Asia Terrorism Portal digests via github thesickish/WICSS@ec193a6 "
        "(Osorio_ml_for_nlp.zip)",
        licence="research use (SATP content © ICM)",
        sha256={
            "satp_terrorism.csv": (
                "07950e01e7be8e33dc146f4c3a7ed2f9fbdc73d8575e8c3196295a18e7e332a3"
            ),
            "satp_actions.csv": "8e7744fd4036f6365bcc6e6502d6b8c77c3aab8c192cbe5f5278362a49556bb3",
        },
        columns=("news",),
        label_mapping="reporting",
        group_key="satp:h<NN> (hash of the first 8 tokens, 64 buckets; no date column)",
    ),
    "isaf": _info(
        "isaf",
        origin="HF strickvl/isafpressreleases via github strickvl/isafpr_finetune@be1b439",
        licence="CC BY-SA 4.0",
        sha256={
            "isaf_press_releases_test.csv": (
                "8146df58077d503eba7bdb9f8b0c5d2a96e16ea0c12c8251986473b7a237d5e4"
            )
        },
        columns=("text", "start_date"),
        label_mapping="reporting (official military statements)",
        group_key="isaf:<year-month of start_date>",
    ),
    "huffpost": _info(
        "huffpost",
        origin="News Category Dataset (Misra), first 9,999 rows via github Limpery/MGO@6229ca6; "
        "FSL headline split via github ws-jiang/MetaPrompter_public@dea17d5",
        licence="CC BY 4.0",
        sha256={
            "huffpost_v3_first9998.csv": (
                "4a9ca114f189ccdc2eefb0814c0f7974a029ef5af0b7233e80a375aa8a96d05a"
            ),
            "huffpost_fsl_headlines.csv": (
                "6674eba8b5a68163dd5e266206334725d9d42718e7490a2fd8e9b485dc80f7d6"
            ),
        },
        columns=("date", "headline", "short_description", "headline_lower_tokenized"),
        label_mapping="reporting",
        group_key="huffpost_v3:<year-month>; huffpost_headlines:h<NN> (hash bucket)",
    ),
}
"""Registry of the public corpora, in load order."""


def _corpus(name: str) -> CorpusInfo:
    try:
        return CORPORA[name]
    except KeyError:
        raise KeyError(f"unknown corpus {name!r}; known: {', '.join(CORPORA)}") from None


# --- records from documents --------------------------------------------------------------------
def _emit(
    source: str,
    docs: Iterable[_Doc],
    st: SourceStats,
    *,
    max_chars: int,
    max_passages: int | None,
    min_passage_words: int,
) -> Iterator[Record]:
    """Turn documents into records; texts over ``max_chars`` become passage records."""
    for d in docs:
        if not d.text.strip():
            st.dropped["empty"] += 1
            continue
        if len(d.text) <= max_chars:
            st.docs += 1
            st.records += 1
            yield Record(f"{source}:{d.doc_id}", d.text, d.label, source, d.group, d.weight)
            continue
        k = 0
        for p in split_passages(d.text, max_chars=max_chars):
            if is_boilerplate(p.text, min_words=min_passage_words):
                continue
            yield Record(f"{source}:{d.doc_id}:p{k}", p.text, d.label, source, d.group, d.weight)
            k += 1
            if max_passages is not None and k >= max_passages:
                break
        if k:
            st.docs += 1
            st.records += k
        else:
            st.dropped["no passage"] += 1


def _adapter_options(adapter: _Adapter, options: Mapping[str, Any]) -> dict[str, Any]:
    accepted = {
        p.name
        for p in inspect.signature(adapter).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }
    return {k: v for k, v in options.items() if k in accepted}


def iter_records(
    name: str,
    root: str | os.PathLike[str] | None = None,
    *,
    verify: bool = False,
    max_chars: int = DEFAULT_MAX_CHARS,
    max_passages: int | None = DEFAULT_MAX_PASSAGES,
    min_passage_words: int = DEFAULT_MIN_PASSAGE_WORDS,
    stats: dict[str, SourceStats] | None = None,
    **options: Any,
) -> Iterator[Record]:
    """Yield the cleaned, labelled records of one corpus (or one source of a corpus).

    Parameters
    ----------
    name : str
        A corpus name (key of :data:`CORPORA`) or a source name (key of :data:`SOURCES`,
        e.g. ``"rss_news_militant"``).
    root : path, optional
        Data root holding ``<corpus>/<file>``; default :func:`default_root`.
    verify : bool
        Check the files' SHA-256 first (raises :class:`ChecksumError`).
    max_chars : int
        Texts longer than this are split with :func:`propclf.text.split_passages` into passages
        of at most about this many characters (default 400, close to tweet/headline sources).
    max_passages : int or None
        Keep at most this many passages per document (default 30, the first ones), so one long
        article cannot dominate; ``None`` keeps all.
    min_passage_words : int
        Passages with fewer words (or that are navigation/boilerplate lines) are dropped.
    stats : dict, optional
        Filled with a :class:`SourceStats` per source read.
    **options
        Adapter options, e.g. ``include_nohate=True`` (stormfront), ``weights=...``
        (fifthtribe), ``forward_weight=...`` (farright_telegram). An option no adapter of
        ``name`` accepts raises :class:`TypeError`.

    Yields
    ------
    Record

    Raises
    ------
    CorpusNotFoundError
        A file is missing (the message says where to obtain it).
    ChecksumError
        ``verify=True`` and a file differs from the registered version.
    """
    if name in SOURCES:
        sources = [name]
        info = CORPORA[SOURCES[name].corpus]
    else:
        info = _corpus(name)
        sources = list(info.sources)
    base = Path(root) if root is not None else default_root()
    used: set[str] = set()
    for src in sources:
        used |= set(_adapter_options(SOURCES[src].adapter, options))
    unknown = set(options) - used
    if unknown:
        raise TypeError(f"unknown option(s) for {name!r}: {', '.join(sorted(unknown))}")
    if verify:
        verify_corpus(info.name, base)
    for src in sources:
        spec = SOURCES[src]
        path = base / info.folder / spec.file
        if not path.is_file():
            raise _missing(info, path)
        st = SourceStats()
        if stats is not None:
            stats[src] = st
        docs = spec.adapter(_read_csv(path), st, **_adapter_options(spec.adapter, options))
        yield from _emit(
            src,
            docs,
            st,
            max_chars=max_chars,
            max_passages=max_passages,
            min_passage_words=min_passage_words,
        )


def load_records(
    root: str | os.PathLike[str] | None = None,
    names: Sequence[str] | None = None,
    *,
    verify: bool = False,
    max_chars: int = DEFAULT_MAX_CHARS,
    max_passages: int | None = DEFAULT_MAX_PASSAGES,
    min_passage_words: int = DEFAULT_MIN_PASSAGE_WORDS,
    include_stormfront_nohate: bool = False,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    stats: dict[str, SourceStats] | None = None,
) -> list[Record]:
    """Load the records of several corpora (all of :data:`CORPORA` by default), not deduplicated.

    Parameters
    ----------
    root : path, optional
        Data root; default :func:`default_root`.
    names : sequence of str, optional
        Corpus or source names; default all corpora in registry order.
    verify, max_chars, max_passages, min_passage_words
        See :func:`iter_records`.
    include_stormfront_nohate : bool
        Add Stormfront ``noHate`` sentences as low-weight reporting (experiments only).
    options : mapping, optional
        Per-corpus adapter options, e.g. ``{"fifthtribe": {"news_account_weight": 0.5}}``.
    stats : dict, optional
        Filled with a :class:`SourceStats` per source.

    Returns
    -------
    list of Record
        In registry order; run :func:`dedup` before splitting.
    """
    out: list[Record] = []
    opts = {k: dict(v) for k, v in (options or {}).items()}
    if include_stormfront_nohate:
        opts.setdefault("stormfront", {})["include_nohate"] = True
    for name in names if names is not None else list(CORPORA):
        corpus = SOURCES[name].corpus if name in SOURCES else name
        out.extend(
            iter_records(
                name,
                root,
                verify=verify,
                max_chars=max_chars,
                max_passages=max_passages,
                min_passage_words=min_passage_words,
                stats=stats,
                **opts.get(name, opts.get(corpus, {})),
            )
        )
    return out


# --- dedup -------------------------------------------------------------------------------------
@dataclass
class DedupStats:
    """What :func:`dedup` removed.

    Attributes
    ----------
    total : int
        Records in.
    kept : int
        Records out.
    exact : int
        Removed as exact duplicates (after normalisation) of an earlier record.
    near : int
        Removed as near duplicates (MinHash candidates verified by shingle overlap).
    conflicting : int
        Removed because copies of the same text carry both labels (all copies dropped).
    by_source : dict
        ``{source: Counter(exact=..., near=..., conflicting=...)}``.
    """

    total: int = 0
    kept: int = 0
    exact: int = 0
    near: int = 0
    conflicting: int = 0
    by_source: dict[str, Counter[str]] = field(default_factory=dict)


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        ri, rj = self.find(i), self.find(j)
        if ri != rj:  # the smaller index (first occurrence) is the root
            if rj < ri:
                ri, rj = rj, ri
            self.parent[rj] = ri


_MASK_TOKENS = frozenset({"xurl", "xuser"})
_WORD_RE = re.compile(r"\w+")
_LETTER_RUN = re.compile(r"(?<!\w)[^\W\d_](?:\W+[^\W\d_](?!\w)){2}")  # "k i l l"


def _near_pairs(
    token_lists: Sequence[Sequence[str]], threshold: float, seed: int = 0
) -> list[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, whose word 3-shingle sets overlap by at least ``threshold``.

    Overlap is ``|A ∩ B| / min(|A|, |B|)`` with a length ratio of at least 0.5 (so a truncated
    retweet matches its original but a headline does not match an article containing it).
    Candidates come from MinHash LSH (64 permutations, 16 bands of 4 rows), computed with numpy.
    """
    import numpy as np

    n = len(token_lists)
    if n < 2:
        return []
    vocab: dict[str, int] = {}
    shingles: list[np.ndarray] = []
    mod = (1 << 61) - 1
    for toks in token_lists:
        ids = [vocab.setdefault(t, len(vocab) + 1) for t in toks]
        if len(ids) < 3:
            sh = {sum(x << (21 * k) for k, x in enumerate(ids)) % mod}
        else:
            sh = {((a << 42) | (b << 21) | c) % mod for a, b, c in
                  zip(ids, ids[1:], ids[2:], strict=False)}  # fmt: skip
        shingles.append(np.fromiter(sorted(sh), dtype=np.uint64, count=len(sh)))
    sizes = np.fromiter((len(s) for s in shingles), dtype=np.int64, count=n)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    prime = np.uint64((1 << 31) - 1)
    flat = np.concatenate(shingles) % prime
    rng = np.random.default_rng(seed)
    n_perm, rows = 64, 4
    a = rng.integers(1, (1 << 31) - 1, size=n_perm, dtype=np.uint64)
    b = rng.integers(0, (1 << 31) - 1, size=n_perm, dtype=np.uint64)
    sig = np.empty((n, n_perm), dtype=np.uint64)
    for j in range(n_perm):
        sig[:, j] = np.minimum.reduceat((flat * a[j] + b[j]) % prime, starts)
    cand: set[tuple[int, int]] = set()
    index = np.arange(n)
    mix = np.uint64(0x9E3779B97F4A7C15)
    for band in range(n_perm // rows):
        c = band * rows
        keys = ((sig[:, c] << np.uint64(32)) | sig[:, c + 1]) ^ (
            ((sig[:, c + 2] << np.uint64(32)) | sig[:, c + 3]) * mix
        )
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        heads = first[inverse.ravel()]
        for dup in np.nonzero(heads != index)[0].tolist():
            cand.add((int(heads[dup]), dup))
    pairs: list[tuple[int, int]] = []
    for i, j in sorted(cand):
        si, sj = sizes[i], sizes[j]
        if min(si, sj) < 0.5 * max(si, sj):
            continue
        common = np.intersect1d(shingles[i], shingles[j], assume_unique=True).size
        if common >= threshold * min(si, sj):
            pairs.append((i, j))
    return pairs


def dedup_with_stats(
    records: Sequence[Record], near: bool = True, threshold: float = 0.8
) -> tuple[list[Record], DedupStats]:
    """Remove duplicate texts, keeping the first occurrence; see :func:`dedup`.

    Returns
    -------
    (list of Record, DedupStats)
    """
    n = len(records)
    stats = DedupStats(total=n)
    if n == 0:
        return [], stats
    normed = normalize_many([r.text for r in records], quotes="ignore")
    canon: dict[str, str] = {}  # the model's token folding (leetspeak, digits, rt), memoised
    tokens: list[list[str]] = []
    for s in normed:
        toks = []
        for t in _WORD_RE.findall(s):
            c = canon.get(t)
            if c is None:
                c = canon[t] = "" if t in _MASK_TOKENS else canonical_token(t)
            if c:
                toks.append(c)
        tokens.append(merge_letter_runs(toks) if _LETTER_RUN.search(s) else toks)
    uf = _UnionFind(n)
    reason = ["" for _ in range(n)]
    first_of: dict[str, int] = {}
    for i, toks in enumerate(tokens):
        key = " ".join(toks) or "\x00" + normed[i]  # no words: only identical texts match
        j = first_of.setdefault(key, i)
        if j != i:
            uf.union(j, i)
            reason[i] = "exact"
    if near:
        reps = [i for i in range(n) if not reason[i] and tokens[i]]
        for a, b in _near_pairs([tokens[i] for i in reps], threshold):
            i, j = reps[a], reps[b]
            uf.union(i, j)
            reason[j] = reason[j] or "near"
    labels: dict[int, set[str]] = {}
    for i, r in enumerate(records):
        labels.setdefault(uf.find(i), set()).add(r.label)
    kept: list[Record] = []
    for i, r in enumerate(records):
        root = uf.find(i)
        why = ""
        if len(labels[root]) > 1:
            why = "conflicting"
        elif root != i:
            why = reason[i] or "near"
        if not why:
            kept.append(r)
            continue
        setattr(stats, why, getattr(stats, why) + 1)
        stats.by_source.setdefault(r.source, Counter())[why] += 1
    stats.kept = len(kept)
    logger.info(
        "dedup: %d in, %d kept; removed %d exact, %d near, %d conflicting-label",
        stats.total,
        stats.kept,
        stats.exact,
        stats.near,
        stats.conflicting,
    )
    return kept, stats


def dedup(records: Sequence[Record], near: bool = True, threshold: float = 0.8) -> list[Record]:
    """Remove exact and near-duplicate texts, keeping the first occurrence.

    Texts are compared after :func:`propclf.text.normalize_many` (the model's own normaliser,
    quotes left as text) and the model's token folding (:func:`propclf.text.canonical_token`,
    :func:`propclf.text.merge_letter_runs`: leetspeak, digits, ``rt``, s p a c e d letters), with
    ``xurl``/``xuser`` placeholders and punctuation dropped. With
    ``near=True``, near copies (truncated retweets, texts differing by a few words) are found
    with MinHash over word 3-shingles and confirmed when their shingle overlap is at least
    ``threshold``. If copies of one text disagree on the label, all copies are dropped.
    Counts are logged at INFO; use :func:`dedup_with_stats` to get them.

    Parameters
    ----------
    records : sequence of Record
    near : bool
        Also remove near duplicates.
    threshold : float
        Minimum overlap ``|A ∩ B| / min(|A|, |B|)`` of shingle sets for a near duplicate.

    Returns
    -------
    list of Record
    """
    return dedup_with_stats(records, near=near, threshold=threshold)[0]


# --- splits and buckets ------------------------------------------------------------------------
def grouped_folds(
    records: Sequence[Record], n_splits: int = 5, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified group k-fold indices: no :attr:`Record.group` is on both sides of a fold.

    Parameters
    ----------
    records : sequence of Record
    n_splits : int
        Number of folds (at most the number of distinct groups).
    seed : int
        Shuffling seed.

    Returns
    -------
    list of (train_idx, test_idx)
        Integer index arrays into ``records``.
    """
    import numpy as np
    from sklearn.model_selection import StratifiedGroupKFold

    if n_splits < 2:
        raise ValueError("n_splits must be at least 2")
    y = np.array([r.label == "propaganda" for r in records], dtype=int)
    groups = np.array([r.group for r in records], dtype=object)
    n_groups = len(set(groups.tolist()))
    if n_groups < n_splits:
        raise ValueError(f"{n_groups} groups cannot make {n_splits} group folds")
    cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return [(tr, te) for tr, te in cv.split(np.zeros(len(y)), y, groups)]


def train_test_groups(
    records: Sequence[Record], test_size: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """One grouped, stratified train/test split with about ``test_size`` of the records in test.

    It is the first fold of :func:`grouped_folds` with ``round(1 / test_size)`` folds, so the
    test share is approximately ``test_size`` (exactly ``1/k`` for some integer ``k``).

    Returns
    -------
    (train_idx, test_idx)
    """
    if not 0 < test_size < 1:
        raise ValueError("test_size must be in (0, 1)")
    k = max(2, round(1 / test_size))
    return grouped_folds(records, n_splits=k, seed=seed)[0]


def length_bucket(text: str) -> str:
    """Length bucket of a text by characters: ``<100``, ``100-300``, ``300-1000``, ``>=1000``."""
    n = len(text)
    if n < 100:
        return "<100"
    if n < 300:
        return "100-300"
    if n < 1000:
        return "300-1000"
    return ">=1000"


# --- functional cases and user files -----------------------------------------------------------
_FUNCTIONAL_FIELDS = ("id", "kind", "label", "ideology", "text")


def _functional_default() -> Path | None:
    repo = Path(__file__).resolve().parent.parent / "datasets" / "functional" / "cases.jsonl"
    return repo if repo.is_file() else None


def supplement_path() -> Path:
    """The project's hand-written training supplement (``datasets/supplement/supplement.jsonl``).

    Short cases for the corpora's gaps (everyday religious text, counter-speech, reporting that
    quotes, propaganda of several movements and styles), written without access to the functional
    suite; training data only. The source tree's copy, else the one packaged with the wheel.

    Raises
    ------
    FileNotFoundError
        Neither copy exists.
    """
    repo = Path(__file__).resolve().parent.parent / "datasets" / "supplement" / "supplement.jsonl"
    if repo.is_file():
        return repo
    packaged = Path(__file__).resolve().parent / "_data" / "supplement.jsonl"
    if packaged.is_file():
        return packaged
    raise FileNotFoundError(f"training supplement not found at {repo} or {packaged}")


#: The word that stands in for an invented name of the supplement. Training gives it, and every
#: n-gram containing it, no weight (see :func:`mask_invented_names`).
INVENTED_NAME = "xname"


def read_invented_names(path: str | os.PathLike[str] | None = None) -> list[str]:
    """The names the supplement's writers invented (``invented_names.txt`` beside it).

    One name a line; blank lines and ``#`` comments are skipped.

    Raises
    ------
    FileNotFoundError
        The list does not exist.
    """
    where = Path(path) if path is not None else supplement_path().with_name("invented_names.txt")
    lines = where.read_text(encoding="utf-8").splitlines()
    return [s for s in (line.strip() for line in lines) if s and not s.startswith("#")]


def mask_invented_names(
    records: Sequence[Record], names: Sequence[str], source: str = "supplement"
) -> list[Record]:
    """Replace invented names in the ``source`` records by :data:`INVENTED_NAME`.

    The supplement speaks of movements, outlets and places that do not exist; no real text holds
    their names, yet a model trained on the lines as written gives them weight (*free counties*
    and *night assembly* were among the 50 strongest propaganda n-grams of propclf-37d875e24467).
    With the names masked, the weight the lines carry goes to what they say. Names match as whole
    words, ignoring case, with a possessive ``'s``; the longest name first. Other sources'
    records are returned unchanged.

    Examples
    --------
    >>> r = Record("sup-1", "Join the Night Assembly's ranks.", "propaganda", "supplement", "g")
    >>> mask_invented_names([r], ["Night Assembly"])[0].text
    'Join the xname ranks.'
    """
    if not names:
        return list(records)
    alternatives = sorted({re.escape(n).replace("'", "['’]") for n in names}, key=len, reverse=True)
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?:['’]s)?(?!\w)", re.I)
    return [
        replace(r, text=pattern.sub(INVENTED_NAME, r.text)) if r.source == source else r
        for r in records
    ]


def load_functional(path: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """Read the hand-written functional test suite (JSON lines).

    Parameters
    ----------
    path : path, optional
        Default: ``datasets/functional/cases.jsonl`` of the source tree if present, else the
        copy packaged as ``propclf/_data/functional_cases.jsonl``.

    Returns
    -------
    list of dict
        One dict per case with at least ``id, kind, label, ideology, text``.

    Raises
    ------
    FileNotFoundError
        No suite is found.
    LabelledFileError
        A line is not a JSON object with those fields, a label is not a known label, or an
        ``id`` repeats.
    """
    if path is not None:
        text = Path(path).read_text(encoding="utf-8")
        where = str(path)
    elif (repo := _functional_default()) is not None:
        text = repo.read_text(encoding="utf-8")
        where = str(repo)
    else:
        from importlib import resources

        res = resources.files("propclf").joinpath("_data/functional_cases.jsonl")
        if not res.is_file():
            raise FileNotFoundError(
                "functional suite not found: neither datasets/functional/cases.jsonl nor the "
                "packaged propclf/_data/functional_cases.jsonl exists"
            )
        text = res.read_text(encoding="utf-8")
        where = str(res)
    cases: list[dict[str, Any]] = []
    seen: set[str] = set()
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LabelledFileError(f"{where}:{lineno}: invalid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise LabelledFileError(f"{where}:{lineno}: expected a JSON object")
        missing = [f for f in _FUNCTIONAL_FIELDS if not isinstance(obj.get(f), str)]
        if missing:
            raise LabelledFileError(f"{where}:{lineno}: missing or non-string {missing}")
        if obj["label"] not in LABELS:
            raise LabelledFileError(f"{where}:{lineno}: label {obj['label']!r} not in {LABELS}")
        if obj["id"] in seen:
            raise LabelledFileError(f"{where}:{lineno}: duplicate id {obj['id']!r}")
        seen.add(obj["id"])
        cases.append(obj)
    return cases


def _test_material(name: str) -> Path:
    """``datasets/functional/<name>`` of the source tree if present, else the packaged copy."""
    repo = Path(__file__).resolve().parent.parent / "datasets" / "functional" / name
    path = repo if repo.is_file() else Path(__file__).resolve().parent / "_data" / name
    if not path.is_file():
        raise FileNotFoundError(f"{name} not found at {repo} or {path}")
    return path


def _read_json_object(path: str | os.PathLike[str]) -> tuple[dict[str, Any], str]:
    """A JSON file holding one object, and the path as shown in errors."""
    where = str(path)
    try:
        spec = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise LabelledFileError(f"{where}: invalid JSON ({exc.msg})") from None
    if not isinstance(spec, dict):
        raise LabelledFileError(f"{where}: expected a JSON object")
    return spec, where


def load_identity_templates(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Read the project's identity-term templates (test material, never training data).

    Parameters
    ----------
    path : path, optional
        Default: ``datasets/functional/identity_templates.json`` of the source tree if present,
        else the copy packaged as ``propclf/_data/identity_templates.json``.

    Returns
    -------
    dict
        ``groups``: ``[adjective, plural]`` pairs; ``benign`` and ``hateful``: templates with
        ``{a}`` (adjective) and/or ``{p}`` (plural) slots, each filled with every group.

    Raises
    ------
    FileNotFoundError
        No copy is found.
    LabelledFileError
        The file is not such an object.
    """
    path = _test_material("identity_templates.json") if path is None else path
    spec, where = _read_json_object(path)
    groups = spec.get("groups")
    if not (
        isinstance(groups, list)
        and groups
        and all(
            isinstance(g, list) and len(g) == 2 and all(isinstance(x, str) and x for x in g)
            for g in groups
        )
    ):
        raise LabelledFileError(f"{where}: 'groups' must be a list of [adjective, plural] pairs")
    for key in ("benign", "hateful"):
        templates = spec.get(key)
        if not (isinstance(templates, list) and templates):
            raise LabelledFileError(f"{where}: {key!r} must be a non-empty list of templates")
        for t in templates:
            if not isinstance(t, str) or not ("{a}" in t or "{p}" in t):
                raise LabelledFileError(f"{where}: {key} template without a group slot: {t!r}")
            try:
                t.format(a="", p="")
            except (KeyError, IndexError, ValueError):
                raise LabelledFileError(
                    f"{where}: {key} template with slots other than {{a}} and {{p}}: {t!r}"
                ) from None
    return spec


def load_religious_everyday(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Read the project's parallel everyday religious lines (test material, never training data).

    Parameters
    ----------
    path : path, optional
        Default: ``datasets/functional/religious_everyday.json`` of the source tree if present,
        else the copy packaged as ``propclf/_data/religious_everyday.json``.

    Returns
    -------
    dict
        ``situations``: names of everyday situations (a greeting, a prayer for the sick, ...);
        ``faiths``: for each faith, one benign line per situation in that faith's idiom, so that
        line ``k`` of every faith says the same thing.

    Raises
    ------
    FileNotFoundError
        No copy is found.
    LabelledFileError
        The file is not such an object.
    """
    path = _test_material("religious_everyday.json") if path is None else path
    spec, where = _read_json_object(path)
    situations, faiths = spec.get("situations"), spec.get("faiths")
    if not (
        isinstance(situations, list) and situations and all(isinstance(x, str) for x in situations)
    ):
        raise LabelledFileError(f"{where}: 'situations' must be a non-empty list of names")
    if not (isinstance(faiths, dict) and len(faiths) >= 2):
        raise LabelledFileError(f"{where}: 'faiths' must map at least two faiths to their lines")
    for faith, lines in faiths.items():
        if not (
            isinstance(lines, list)
            and len(lines) == len(situations)
            and all(isinstance(t, str) and t.strip() for t in lines)
        ):
            raise LabelledFileError(
                f"{where}: faith {faith!r} needs one non-empty line per situation "
                f"({len(situations)})"
            )
    return spec


_LABEL_WORDS = {
    "propaganda": "propaganda",
    "1": "propaganda",
    "true": "propaganda",
    "reporting": "reporting",
    "0": "reporting",
    "false": "reporting",
}


def _parse_label(value: object) -> str | None:
    if isinstance(value, bool):
        return "propaganda" if value else "reporting"
    if isinstance(value, int | float) and value in (0, 1):
        return "propaganda" if value == 1 else "reporting"
    if isinstance(value, str):
        return _LABEL_WORDS.get(value.strip().lower())
    return None


def read_labelled(path: str | os.PathLike[str]) -> list[Record]:
    """Read a user's labelled file: CSV (``.csv``/``.tsv``) or JSON lines (other suffixes).

    Columns/fields: ``text`` and ``label`` (``propaganda``/``reporting``, ``1``/``0``,
    ``true``/``false``, case-insensitive), optional ``id`` (default ``<line number>``),
    ``source`` (default the file stem), ``group`` (default ``<source>:<id>``: every row its own
    group) and ``weight`` (default 1).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    LabelledFileError
        A row is malformed; the message gives ``path:line`` and the reason.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"labelled file not found: {p}")
    rows: list[tuple[int, dict[str, Any]]] = []
    if p.suffix.lower() in (".csv", ".tsv"):
        raw = p.read_bytes().decode("utf-8-sig")
        reader = csv.DictReader(
            io.StringIO(raw, newline=""), delimiter="\t" if p.suffix.lower() == ".tsv" else ","
        )
        fields = [f.strip() for f in reader.fieldnames or []]
        if "text" not in fields or "label" not in fields:
            raise LabelledFileError(f"{p}:1: header must have 'text' and 'label' columns")
        reader.fieldnames = fields
        start = 2
        for row in reader:
            if None in row:
                raise LabelledFileError(f"{p}:{start}: more fields than the header")
            rows.append((start, dict(row)))
            start = reader.line_num + 1
    else:
        for lineno, line in enumerate(p.read_text(encoding="utf-8-sig").splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except (json.JSONDecodeError, RecursionError) as exc:
                msg = getattr(exc, "msg", "too deeply nested")
                raise LabelledFileError(f"{p}:{lineno}: invalid JSON ({msg})") from None
            if not isinstance(obj, dict):
                raise LabelledFileError(f"{p}:{lineno}: expected a JSON object")
            rows.append((lineno, obj))
    out: list[Record] = []
    for lineno, row in rows:
        text = row.get("text")
        if not isinstance(text, str) or not text.strip():
            raise LabelledFileError(f"{p}:{lineno}: empty or missing text")
        label = _parse_label(row.get("label"))
        if label is None:
            raise LabelledFileError(
                f"{p}:{lineno}: bad label {row.get('label')!r} (use propaganda/reporting, 1/0, "
                "true/false)"
            )
        source = str(row.get("source") or p.stem)
        rid = str(row.get("id") or lineno)
        group = str(row.get("group") or f"{source}:{rid}")
        w = row.get("weight")
        try:
            weight = 1.0 if w is None or w == "" else float(w)
            record = Record(f"{source}:{rid}", text, label, source, group, weight)
        except (TypeError, ValueError):
            raise LabelledFileError(f"{p}:{lineno}: bad weight {w!r} (a number >= 0)") from None
        out.append(record)
    return out


# --- fetch -------------------------------------------------------------------------------------
def _cache_dir(cache_dir: str | os.PathLike[str] | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("PROPCLF_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "propclf"


def fetch(
    url: str,
    sha256: str,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    filename: str | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` into a cache directory and verify its SHA-256.

    A cached file whose hash matches is reused without network access. Downloads go to a
    temporary file in the cache directory that is renamed into place only after the hash
    matches, so a partial or wrong file is never left under the final name.

    Parameters
    ----------
    url : str
        ``http://`` or ``https://`` URL.
    sha256 : str
        Expected hex SHA-256 of the file.
    cache_dir : path, optional
        Default ``$PROPCLF_CACHE`` or ``~/.cache/propclf``.
    filename : str, optional
        Name in the cache; default the last path segment of the URL.
    timeout : float
        Socket timeout in seconds.

    Returns
    -------
    pathlib.Path
        Path of the verified file.

    Raises
    ------
    ChecksumError
        The downloaded file's hash differs (the file is deleted).
    ValueError
        Not an http(s) URL, or ``sha256`` is not 64 hex digits.
    urllib.error.URLError
        The download failed.
    """
    from urllib.request import Request, urlopen  # lazy: pulls in http.client and email

    want = sha256.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", want):
        raise ValueError("sha256 must be 64 hexadecimal digits")
    parsed = urlsplit(url)
    if parsed.scheme not in ("http", "https"):
        raise ValueError(f"only http(s) URLs can be fetched, got {url!r}")
    name = filename or Path(unquote(parsed.path)).name or want[:16]
    name = re.sub(r"[^\w.\-]", "_", name)
    target_dir = _cache_dir(cache_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / name
    if target.is_file():
        if sha256_file(target) == want:
            logger.info("fetch: using cached %s", target)
            return target
        logger.warning("fetch: cached %s has a different hash; downloading again", target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=target_dir)
    tmp = Path(tmp_name)
    h = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            req = Request(url, headers={"User-Agent": "propclf"})
            with urlopen(req, timeout=timeout) as resp:  # scheme checked above
                while block := resp.read(1 << 16):
                    h.update(block)
                    out.write(block)
        got = h.hexdigest()
        if got != want:
            raise ChecksumError(f"{url}: SHA-256 {got} does not match the expected {want}")
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    logger.info("fetch: downloaded %s -> %s", url, target)
    return target


# --- stats -------------------------------------------------------------------------------------
def _median_len(records: Iterable[Record]) -> int:
    lens = [len(r.text) for r in records]
    return int(statistics.median(lens)) if lens else 0


def stats_markdown(
    root: str | os.PathLike[str] | None = None,
    *,
    verify: bool = False,
    include_stormfront_nohate: bool = False,
) -> str:
    """Load every corpus with the defaults, deduplicate, and describe the result in markdown.

    Returns
    -------
    str
        Tables: per source (rows read, kept, records, after dedup, labels, groups, median
        length), the label-noise decisions (drop/keep reasons) and the dedup counts.
    """
    import time

    t0 = time.perf_counter()
    stats: dict[str, SourceStats] = {}
    records = load_records(
        root, verify=verify, stats=stats, include_stormfront_nohate=include_stormfront_nohate
    )
    t_load = time.perf_counter() - t0
    kept, ds = dedup_with_stats(records)
    t_all = time.perf_counter() - t0
    by_src: dict[str, list[Record]] = {}
    for r in kept:
        by_src.setdefault(r.source, []).append(r)
    lines = [
        "| source | licence | rows read | rows kept | records (passages) | after dedup "
        "| propaganda / reporting | weight sum | group key | groups | median chars |",
        "|---|---|---:|---:|---:|---:|---|---:|---|---:|---:|",
    ]
    tot = Counter[str]()
    for src, spec in SOURCES.items():
        st = stats.get(src, SourceStats())
        info = CORPORA[spec.corpus]
        recs = by_src.get(src, [])
        labs = Counter(r.label for r in recs)
        key = info.group_key
        if spec.corpus == "huffpost":
            key = (
                "huffpost_v3:<year-month>"
                if src == "huffpost_v3"
                else ("huffpost_headlines:h<NN> (hash bucket)")
            )
        lines.append(
            f"| {src} | {info.licence} | {st.rows} | {st.docs} | {st.records} | {len(recs)} "
            f"| {labs['propaganda']} / {labs['reporting']} | {sum(r.weight for r in recs):.0f} "
            f"| `{key}` | {len({r.group for r in recs})} | {_median_len(recs)} |"
        )
        tot.update(rows=st.rows, docs=st.docs, records=st.records, kept=len(recs))
        tot.update(prop=labs["propaganda"], rep=labs["reporting"])
    lines.append(
        f"| **total** | | {tot['rows']} | {tot['docs']} | {tot['records']} | {tot['kept']} "
        f"| {tot['prop']} / {tot['rep']} | {sum(r.weight for r in kept):.0f} | "
        f"| {len({r.group for r in kept})} | {_median_len(kept)} |"
    )
    lines += ["", "| source | dropped rows (reason: count) | kept rows (decision: count) |"]
    lines.append("|---|---|---|")
    for src in SOURCES:
        st = stats.get(src, SourceStats())
        drop = ", ".join(f"{k}: {v}" for k, v in sorted(st.dropped.items())) or "-"
        keep = ", ".join(f"{k}: {v}" for k, v in sorted(st.kept.items()))
        if len(st.kept) > 8:
            keep = f"{len(st.kept)} categories"
        lines.append(f"| {src} | {drop} | {keep or '-'} |")
    lines += [
        "",
        f"Dedup: {ds.total} records in, {ds.kept} kept; removed {ds.exact} exact, {ds.near} near, "
        f"{ds.conflicting} with conflicting labels.",
        "",
        "| source | exact | near | conflicting |",
        "|---|---:|---:|---:|",
    ]
    for src, c in sorted(ds.by_source.items()):
        lines.append(f"| {src} | {c['exact']} | {c['near']} | {c['conflicting']} |")
    buckets = Counter((length_bucket(r.text), r.label) for r in kept)
    lines += ["", "| length bucket | propaganda | reporting |", "|---|---:|---:|"]
    for b in LENGTH_BUCKETS:
        lines.append(f"| {b} | {buckets[(b, 'propaganda')]} | {buckets[(b, 'reporting')]} |")
    lines += ["", f"Load {t_load:.1f} s, load + dedup {t_all:.1f} s."]
    return "\n".join(lines) + "\n"


def _main(argv: Sequence[str] | None = None) -> int:
    """``python -m propclf.datasets``: corpus statistics and file hashes."""
    parser = argparse.ArgumentParser(prog="python -m propclf.datasets", description=__doc__)
    parser.add_argument("--root", default=None, help="data root (default $PROPCLF_DATA or "
                        "../shared/data)")  # fmt: skip
    parser.add_argument("--stats", action="store_true", help="print the markdown stats tables")
    parser.add_argument("--verify", action="store_true", help="check registered SHA-256 first")
    parser.add_argument("--sha256", action="store_true", help="print SHA-256 of corpus files")
    parser.add_argument(
        "--include-stormfront-nohate", action="store_true", help="add noHate as reporting"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    root = Path(args.root) if args.root else default_root()
    if args.sha256:
        for info in CORPORA.values():
            for path in info.paths(root):
                digest = sha256_file(path) if path.is_file() else "missing"
                sys.stdout.write(f"{digest}  {info.folder}/{path.name}\n")
    if args.stats:
        sys.stdout.write(
            stats_markdown(
                root, verify=args.verify, include_stormfront_nohate=args.include_stormfront_nohate
            )
        )
    if not (args.sha256 or args.stats):
        parser.print_help(sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(_main())
