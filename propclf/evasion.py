"""Obfuscated copies of texts, to measure how well a model resists common evasion.

Each transform imitates what evaders do to slip past keyword filters: zero-width characters
inside words, look-alike letters from other scripts, leetspeak digits, s p a c e d or d.o.t.t.e.d
letters, and words run together into a hashtag. They are deterministic (seeded), so a recall
figure measured with them can be reproduced; ``propclf.text`` undoes them before features.

:data:`MISSPELLINGS` are the other kind: deliberate typos (a letter dropped, doubled or swapped)
that no normaliser can undo; a model meets them only through the character n-grams a misspelled
word shares with the word (subword features). :data:`RUN_TOGETHER` are words run together with
nothing to split them at ("jointheranks", "#jointheranks"), which a model splits against its own
vocabulary (``segment_words``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

__all__ = ["MISSPELLINGS", "OBFUSCATIONS", "RUN_TOGETHER", "obfuscate"]

_WORD = re.compile(r"[A-Za-z]{4,}")
_LOOKALIKE = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "i": "і", "y": "у"}
_LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}


def _words(text: str, rnd: random.Random, share: float) -> list[re.Match[str]]:
    found = list(_WORD.finditer(text))
    k = max(1, round(len(found) * share)) if found else 0
    return sorted(rnd.sample(found, k), key=lambda m: m.start())


def _rewrite(text: str, rnd: random.Random, share: float, fn: Callable[[str], str]) -> str:
    out, pos = [], 0
    for m in _words(text, rnd, share):
        out += [text[pos : m.start()], fn(m.group())]
        pos = m.end()
    return "".join([*out, text[pos:]])


def zero_width(text: str, rnd: random.Random, share: float = 0.5) -> str:
    """Hide zero-width spaces/joiners inside words."""
    marks = "\u200b\u200c\u200d\u2060"
    return _rewrite(
        text,
        rnd,
        share,
        lambda w: "".join(c + (rnd.choice(marks) if i % 2 else "") for i, c in enumerate(w)),
    )


def homoglyphs(text: str, rnd: random.Random, share: float = 0.5) -> str:
    """Swap Latin letters for Cyrillic look-alikes."""
    return _rewrite(text, rnd, share, lambda w: "".join(_LOOKALIKE.get(c, c) for c in w))


def leetspeak(text: str, rnd: random.Random, share: float = 0.5) -> str:
    """Swap letters for digits inside words (the first letter stays)."""
    return _rewrite(text, rnd, share, lambda w: w[0] + "".join(_LEET.get(c, c) for c in w[1:]))


def spaced(text: str, rnd: random.Random, share: float = 0.3) -> str:
    """Separate the letters of some words by spaces."""
    return _rewrite(text, rnd, share, lambda w: " ".join(w))


def dotted(text: str, rnd: random.Random, share: float = 0.3) -> str:
    """Separate the letters of some words by dots."""
    return _rewrite(text, rnd, share, lambda w: ".".join(w))


_QUOTE_MARK = re.compile('["\u201c\u201d\u00ab\u00bb]')


def _join_three(text: str, rnd: random.Random, mark: str, case: Callable[[str], str]) -> str:
    """Run three consecutive words (outside quotation marks) together, each word in ``case``.

    A run that swallowed a quotation mark would move every quotation after it, which is not an
    obfuscation anyone writes.
    """
    words = text.split()
    if len(words) < 4:
        return text
    free = [i for i in range(len(words) - 3) if not _QUOTE_MARK.search(" ".join(words[i : i + 3]))]
    if not free:
        return text
    i = rnd.choice(free)
    joined = mark + "".join(case(re.sub(r"\W", "", w)) for w in words[i : i + 3])
    return " ".join([*words[:i], joined, *words[i + 3 :]])


def hashtag_run(text: str, rnd: random.Random, share: float = 0.3) -> str:
    """Run three consecutive words together into a camel-case hashtag."""
    return _join_three(text, rnd, "#", str.capitalize)


def mixed(text: str, rnd: random.Random, share: float = 0.3) -> str:
    """Two transforms at once (leetspeak and look-alikes)."""
    return homoglyphs(leetspeak(text, rnd, share), rnd, share)


def _typo(word: str, rnd: random.Random) -> str:
    i = rnd.randrange(1, len(word) - 2)  # inner letters only: the word stays recognisable
    edit = rnd.choice(("drop", "double", "swap"))
    if edit == "drop":
        return word[:i] + word[i + 1 :]
    if edit == "double":
        return word[: i + 1] + word[i:]
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def typos(text: str, rnd: random.Random, share: float = 0.5) -> str:
    """Misspell some words: one inner letter dropped, doubled or swapped with its neighbour."""
    return _rewrite(text, rnd, share, lambda w: _typo(w, rnd))


OBFUSCATIONS: dict[str, Callable[[str, random.Random], str]] = {
    "zero_width": zero_width,
    "homoglyphs": homoglyphs,
    "leetspeak": leetspeak,
    "spaced": spaced,
    "dotted": dotted,
    "hashtag_run": hashtag_run,
    "mixed": mixed,
}


def run_together(text: str, rnd: random.Random, share: float = 0.3) -> str:
    """Run the words together in lower case, two to four at a time, with nothing between them.

    Words next to a quotation mark stay apart (joining across one would move the quotation).
    """
    words = text.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        k = rnd.randint(2, 4)
        run = words[i : i + k]
        if len(run) > 1 and not _QUOTE_MARK.search(" ".join(run)):
            out.append("".join(re.sub(r"\W", "", w).lower() for w in run))
        else:
            out.extend(run)
        i += k
    return " ".join(out)


def lower_hashtag(text: str, rnd: random.Random, share: float = 0.3) -> str:
    """Run three consecutive words together into a lower-case hashtag (no capitals to split at)."""
    return _join_three(text, rnd, "#", str.lower)


MISSPELLINGS: dict[str, Callable[[str, random.Random], str]] = {"typos": typos}
#: Words run together with nothing to split them at: no normaliser can undo these (``analyze``
#: leaves them one token); a model with ``segment_words`` splits them against its vocabulary.
RUN_TOGETHER: dict[str, Callable[[str, random.Random], str]] = {
    "run_together": run_together,
    "lower_hashtag": lower_hashtag,
}
_KINDS = {**OBFUSCATIONS, **MISSPELLINGS, **RUN_TOGETHER}


def obfuscate(text: str, kind: str, seed: int = 0) -> str:
    """An obfuscated copy of ``text`` (``kind`` from :data:`OBFUSCATIONS`, :data:`MISSPELLINGS`
    or :data:`RUN_TOGETHER`), reproducible by seed."""
    try:
        fn = _KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown obfuscation {kind!r}; one of {sorted(_KINDS)}") from None
    return fn(text, random.Random(f"{seed}:{kind}:{text}"))
