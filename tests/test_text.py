"""Text preparation: normalisation, de-obfuscation, tokens, passages, quotes."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from propclf.features import analyze_many
from propclf.text import (
    _join_split_contractions,
    _repair_mojibake,
    analyze,
    attributed_quotes,
    canonical_token,
    is_boilerplate,
    normalize,
    normalize_many,
    quote_spans,
    split_passages,
)


def test_platform_artefacts_are_removed() -> None:
    toks = analyze("RT @warreporter1: Breaking https://t.co/AbC pic.twitter.com/xyz #BreakingNews")
    assert "warreporter1" not in toks and "rt" not in toks
    assert "https" not in toks and "co" not in toks and "pic" not in toks
    assert "xuser" not in toks and "xurl" not in toks  # placeholders mark, never count
    assert toks == ["breaking", "breaking", "news"]


@pytest.mark.parametrize(
    ("obfuscated", "clean"),
    [
        ("j\u200bo\u200bin the cause", "join the cause"),  # zero-width characters
        ("j\u043ein the c\u0430use", "join the cause"),  # Cyrillic look-alikes
        ("j01n th3 c4use", "join the cause"),  # leetspeak
        ("j o i n the cause", "join the cause"),  # spaced letters
        ("j.o.i.n the cause", "join the cause"),  # dotted letters
        ("JOOOOIN the cause", "join the cause"),  # stretched letters (capped at two)
        ("\uff4a\uff4f\uff49\uff4e the cause", "join the cause"),  # full-width forms
        ("#JoinTheCause", "join the cause"),  # camel-case hashtag
        ("b\u0101qiyah", "baqiyah"),  # transliteration macrons
    ],
)
def test_obfuscation_is_undone(obfuscated: str, clean: str) -> None:
    want = analyze(clean)
    got = analyze(obfuscated)
    if obfuscated.startswith("JOOOO"):
        want = ["jooin", "the", "cause"]
    assert got == want


def test_ordinary_alphanumerics_are_not_leet() -> None:
    assert analyze("covid19 on the 2nd at 10am") == ["covid0", "on", "the", "0nd", "at", "0am"]
    assert canonical_token("f16") == "f0"


def test_quoted_speech_gets_its_own_tokens() -> None:
    toks = analyze('The group said: "kill them all" in a video.')
    assert toks[:3] == ["the", "group", "said"]
    assert toks[3:6] == ["q_kill", "q_them", "q_all"]
    assert "xquote" in analyze('He said "kill them all".', quotes="mask")
    assert "kill" in analyze('He said "kill them all".', quotes="ignore")
    with pytest.raises(ValueError, match="quotes"):
        normalize("x", quotes="nope")  # type: ignore[arg-type]


def test_curly_quotes_are_found() -> None:
    text = "Officials said \u201cwe will return\u201d was a threat."
    [(s, e)] = quote_spans(text)
    assert text[s:e] == "\u201cwe will return\u201d"
    assert "q_we" in analyze(text)


def test_batch_separator_cannot_leak() -> None:
    texts = ["a\x1eb", "&#30;x", "plain"]
    assert len(normalize_many(texts)) == 3
    assert len(analyze_many(texts)) == 3


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1),
    st.sampled_from(["'s", "'t", "'re", "'ve", "'ll", "'d", "'m", "n't", "\u2019s", "N'T", "'S"]),
    st.sampled_from(["", " and more", "!", ", then"]),
)
def test_a_split_contraction_reads_as_written(word: str, clitic: str, rest: str) -> None:
    """Two collections were tokenised ("it 's", "do n't"): the split must not be a feature."""
    assert normalize(f"{word} {clitic}{rest}") == normalize(f"{word}{clitic}{rest}")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab nNtTsS'\u2019 .", max_size=30))
def test_split_contractions_are_joined_exactly_where_the_rule_says(text: str) -> None:
    """The rule, as one regular expression: the spaces between an ASCII letter and a clitic
    (``'s``, ``'t``, ``'re``, ``'ve``, ``'ll``, ``'d``, ``'m``, ``n't``) not followed by a letter."""
    rule = r"(?<=[A-Za-z]) +(?=(?:[Nn]'[Tt]|'(?:[SsDdMm]|[Rr][Ee]|[Vv][Ee]|[Ll][Ll]|[Tt]))(?![A-Za-z]))"
    text = text.replace("\u2019", "'")
    assert _join_split_contractions(text) == re.sub(rule, "", text)


def test_quoted_words_keep_their_space() -> None:
    assert normalize("he said 'such' things") == "he said such things"
    assert normalize("the 'dogs' and 'snakes'") == "the dogs and snakes"
    assert normalize("it 's") == normalize("it’s") == "its"


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_normalisation_is_idempotent(text: str) -> None:
    once = normalize(text, quotes="ignore")
    assert normalize(once, quotes="ignore") == once


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(), max_size=8))
def test_batch_analysis_matches_one_by_one(texts: list[str]) -> None:
    assert analyze_many(texts) == [analyze(t) for t in texts]


def test_passages_keep_offsets_and_skip_blank() -> None:
    text = "Title\n\n  First paragraph here.  \n\n\n\nSecond paragraph. " + "Long sentence. " * 60
    parts = split_passages(text, max_chars=200)
    assert parts[0].text == "Title"
    assert all(text[p.start : p.end] == p.text for p in parts)
    assert all(len(p.text) <= 200 for p in parts)
    assert all(p.text.strip() for p in parts)
    assert split_passages("   \n\n  ") == []


def test_wall_of_text_is_cut() -> None:
    text = "word " * 10_000  # no sentence ends, no newlines
    parts = split_passages(text, max_chars=300)
    assert len(parts) > 100
    assert all(len(p.text) <= 300 for p in parts)


@pytest.mark.parametrize(
    "line",
    [
        "Share this article",
        "Leave a Reply",
        "Your email address will not be published.",
        "12 comments",
    ],
)
def test_boilerplate(line: str) -> None:
    assert is_boilerplate(line)


def test_real_sentences_are_not_boilerplate() -> None:
    assert not is_boilerplate("The statement was shared widely by supporters of the group online.")


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="$ab Z-\x1e", max_size=30), st.text(alphabet="hHtTpPsS:/wW.x ic", max_size=30)
)
def test_fast_regexes_match_their_readable_forms(dollars: str, links: str) -> None:
    import re

    from propclf import text

    readable_dollar = re.compile(r"\$+(?=[a-z]{2})|\$+(?<=[a-z]\$)(?=[a-z])")
    assert text._DOLLAR_IN_WORD.sub("_", dollars) == readable_dollar.sub("_", dollars)
    readable_url = re.compile(
        r"(?:https?://|HTTPS?://|[Ww][Ww][Ww]\.|pic\.twitter\.com/"
        r"|(?<![\w.])(?:t\.me|t\.co|bit\.ly|youtu\.be)/)\S+"
    )
    links += " pic.twitter.com/x www.a WwW.b t.me/chan at.me/x bit.ly/y"
    assert text._URL.sub("_", links) == readable_url.sub("_", links)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "http",
                "https",
                "HTTP",
                "HTTPS",
                "HTTPs",
                "://",
                "www.",
                "wWw",
                "W",
                ".",
                "x",
                "/",
                "pic.twitter.com/",
                "t.me/",
                "bit.ly/",
                "t.co/",
                "youtu.be/",
                "_",
                "t",
                " ",
                "\n",
                "\x1c",
                "\u00a0",
                "\u00e9",
                ":",
                "s",
                "ht",
            ]
        ),
        max_size=25,
    )
)
def test_link_scan_matches_the_link_pattern(pieces: list[str]) -> None:
    from propclf import text

    joined = "".join(pieces)
    assert text._sub_urls(joined) == text._URL.sub(" xurl ", joined)


_QUOTE_PIECES = st.one_of(
    st.text(alphabet='ab _"\n\x1e.\u00e9\u0627\u03a3', max_size=40),
    st.sampled_from([" said: ", "according to ", " SAYS ", "a video"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_QUOTE_PIECES, max_size=6), st.booleans())
def test_quote_marking_matches_its_readable_form(parts: list[str], attribute: bool) -> None:
    from propclf import text

    joined = '"'.join(parts)
    pieces = text._QUOTE.split(joined)
    prefixes = iter(
        ["r_" if attribute and a else "q_" for a in text.attributed_quotes(pieces[0::2])]
    )

    def mark(m: re.Match[str]) -> str:
        prefix = next(prefixes)
        return ' " ' + re.sub(r"\w+", lambda w: prefix + w.group(0), m.group(1)) + ' " '

    assert text._mark_quotes(joined, attribute) == text._QUOTE.sub(mark, joined)


def test_casing_is_per_text() -> None:
    texts = ["\u039f\u0394\u039f\u03a3", "\u03a3x", "AB\u03a3", "\u03a3.\u0394 x"]
    assert analyze_many(texts) == [analyze(t) for t in texts]
    assert normalize_many(texts) == [normalize(t) for t in texts]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="a\u03a3\u0394.'\u0301 \u00b7x", max_size=8), max_size=6))
def test_the_separator_ends_casing_contexts(texts: list[str]) -> None:
    """Lower-casing per text equals lower-casing the batch (final sigma looks across neighbours)."""
    from propclf.text import SEP

    assert SEP.join(texts).lower() == SEP.join(t.lower() for t in texts)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="abklo01_q\u00e9\u0627!", max_size=8), max_size=20))
def test_canonical_many_is_canonical_token_for_each(tokens: list[str]) -> None:
    from propclf.text import canonical_many

    tokens += ["rt", "q_rt", "sooooo", "q_k1ll", "aaa", "x", "", "aa00", "aaa00", "aaabbb0"]
    assert canonical_many(tokens) == [canonical_token(t) for t in tokens]


def test_attributed_quotations_are_reported_speech() -> None:
    said = analyze('"We will return," the group said in a statement.', quotes="attributed")
    assert said[:3] == ["r_we", "r_will", "r_return"]
    # without an attribution word nearby (scare quotes, slogans) a quotation stays ``q_``
    assert "q_heroes" in analyze('They were "heroes" to us all.', quotes="attributed")
    assert "q_heroes" in analyze('They were "heroes" to us all.', quotes="separate")
    # attribution is looked for in the text around a quotation, never across texts
    a, _ = analyze_many(['Join "the ranks"', "the spokesman said"], quotes="attributed")
    assert "q_ranks" in a


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), st.text(max_size=60))
def test_attribution_needs_no_more_than_the_neighbouring_text(before: str, after: str) -> None:
    flags = attributed_quotes([before, after])
    assert flags == attributed_quotes(["x" * 200 + " " + before, after + " " + "y" * 200])


@pytest.mark.parametrize(
    ("garbled", "codec"),
    [
        ("They don\u00e2\u20ac\u2122t speak for us", "cp1252"),  # donâ€™t
        ("They don\u201a\u00c4\u00f4t speak for us", "mac_roman"),  # don‚Äôt
        ("They don\x92t speak for us", "latin-1 read as cp1252"),  # C1 control
    ],
)
def test_mojibake_reads_like_the_original(garbled: str, codec: str) -> None:
    assert normalize(garbled) == normalize("They don\u2019t speak for us"), codec


def test_emoji_read_as_mac_roman_leave_no_letters() -> None:
    # Read as Mac Roman, an emoji's bytes are letters with accents ("\uf8ff\u00fc\u00f2\u00c7"),
    # which folding would otherwise turn into a word ("uoc").
    garbled = "Keep searching " + "\U0001f602".encode("utf-8").decode("mac_roman")
    assert normalize(garbled) == normalize("Keep searching \U0001f602")
    assert analyze(garbled) == ["keep", "searching"]


# Real words with the characters that get garbled. ftfy judges by plausibility, so a string of
# two arbitrary characters can be ambiguous (the Windows-1252 reading of U+0257 is "É—"); words are
# what it is built for.
_GENUINE = st.lists(
    st.sampled_from(
        [
            "the",
            "Caf\u00e9",
            "na\u00efve",
            "don\u2019t",
            "\u201cquoted\u201d",
            "M\u00fcller",
            "\u2014",
            "\u20ac5",
            "\U0001f602",
            "Stra\u00dfe",
            "d\u00e9j\u00e0",
            "S\u00e3o",
            "\u00bfQu\u00e9?",
            "\u0627\u0644\u0644\u0647",
            "fa\u00e7ade",
            "\u2764\ufe0f",
            "I'm",
        ]
    ),
    max_size=8,
).map(" ".join)


@given(_GENUINE, st.sampled_from(["cp1252", "mac_roman"]))
def test_mojibake_repair_restores_what_was_garbled(text: str, codec: str) -> None:
    try:
        garbled = text.encode("utf-8").decode(codec)
    except UnicodeDecodeError:  # cp1252 leaves five bytes undefined
        assume(False)
    assert normalize(garbled) == normalize(text)


@given(_GENUINE)
def test_genuine_accented_text_is_left_alone(text: str) -> None:
    assert _repair_mojibake(text) == text


@given(st.text(alphabet=st.characters(max_codepoint=0x2300) | st.sampled_from("\uf8ff\u00ac")))
def test_the_mojibake_prefilter_never_hides_a_hint(text: str) -> None:
    from propclf.text import _MOJIBAKE_HINT, _MOJIBAKE_LEAD

    if _MOJIBAKE_HINT.search(text):
        assert _MOJIBAKE_LEAD.search(text)


def test_reported_beliefs_are_read_as_reported_speech() -> None:
    told = analyze(
        "We were told that martyrdom was the highest honour. I don't believe it now.",
        quotes="reported",
    )
    assert told[:6] == ["we", "were", "told", "that", "q_martyrdom", "q_was"]
    assert "believe" in told and "q_now" not in told  # the clause ends with its sentence
    for text in (
        "I used to believe the collapse would purify us; it did not.",
        "When I was with them we called outsiders vermin.",
        "The recruiters promised me a family.",
    ):
        assert any(t.startswith("q_") for t in analyze(text, quotes="reported")), text
    # the same words in the writer's own voice, and phrasal verbs, are not reported speech
    for text in (
        "Martyrdom is the highest honour. Join us.",
        "We called on every brother to rise.",
        "Asher told USA Today the talks would resume.",
    ):
        assert not any(t.startswith("q_") for t in analyze(text, quotes="reported")), text
    # only the ``reported`` mode reads them
    assert "martyrdom" in analyze("We were told that martyrdom awaits us.", quotes="separate")


def test_a_frame_inside_a_quotation_belongs_to_the_quotation() -> None:
    toks = analyze('"We were told to wait," he said. They told us nothing.', quotes="reported")
    assert toks[:5] == ["q_we", "q_were", "q_told", "q_to", "q_wait"]
    assert not any(t.startswith("q_q_") for t in toks)
    assert "q_nothing" not in toks  # one word is not a clause


def test_reported_clause_spans_point_at_the_clauses() -> None:
    text = 'They said "never". I used to think that the war was coming. "I thought so," he said.'
    spans = quote_spans(text, reported=True)
    assert [text[s:e] for s, e in spans] == ['"never"', "the war was coming", '"I thought so,"']
    assert quote_spans(text) == [spans[0], spans[2]]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["we", "were", "told", "us", "I", "i", "thought", "that", "called", "on", "used",
             "to", "believe", "the", "war", ".", ";", '"', "x", "y", "Told", "THEY", "really",
             ",", ":", "told,", "thought:"]
        ),
        max_size=30,
    ).map(" ".join)
)  # fmt: skip
def test_reported_marking_agrees_with_its_spans(text: str) -> None:
    """The words the ``reported`` mode marks are the words inside :func:`quote_spans`."""
    marked = [t for t in analyze(text, quotes="reported") if t.startswith("q_")]
    spans = quote_spans(text, reported=True)
    inside = [w.lower() for s, e in spans for w in re.findall(r"\w+", text[s:e])]
    assert [t[2:] for t in marked] == inside
