"""Vocabulary coverage and the low-coverage warning: text the English model cannot read is said so.

The lines in other languages are everyday sentences written for these tests.
"""

from __future__ import annotations

import csv
import io
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from propclf.features import analyze_many, is_word
from propclf.inputs import Item
from propclf.language import OTHER_LANGUAGE_WORDS
from propclf.result import Result
from propclf.scoring import (
    LOW_COVERAGE,
    MIN_COVERAGE_WORDS,
    NOT_ENGLISH_COVERAGE,
    Scorer,
    classify,
    coverage_warning,
)

NON_ENGLISH = {
    "German": [
        "Das Stadtmuseum öffnet nächsten Monat wieder seine Türen für Besucher.",
        "Am Donnerstag regnet es den ganzen Tag im Norden des Landes.",
        "Meine Großmutter backt jeden Sonntag einen Apfelkuchen.",
    ],
    "Spanish": [
        "El museo de la ciudad volverá a abrir sus puertas el próximo mes.",
        "El jueves lloverá todo el día en el norte del país.",
        "Mi abuela prepara una tarta de manzana cada domingo.",
    ],
    "Arabic": [
        "سيعيد متحف المدينة فتح أبوابه أمام الزوار الشهر المقبل.",
        "ستهطل الأمطار طوال يوم الخميس على شمال البلاد.",
        "تعد جدتي فطيرة التفاح كل يوم أحد لجميع أفراد العائلة.",
    ],
    "Russian": [
        "Городской музей снова откроет свои двери для посетителей в следующем месяце.",
        "В четверг на севере страны весь день будет идти дождь.",
        "Моя бабушка каждое воскресенье печёт яблочный пирог.",
    ],
    "Indonesian": [
        "Museum kota akan dibuka kembali untuk pengunjung bulan depan.",
        "Hujan akan turun sepanjang hari Kamis di wilayah utara negara ini.",
        "Nenek saya membuat kue apel setiap hari Minggu untuk keluarga.",
    ],
}
# The training corpora hold French tweets (IS supporters'), so the vocabulary knows everyday French
# words and French is caught only when a line has enough rarer ones (benchmarks/language.py).
FRENCH = [
    "Le musée de la ville rouvrira ses portes au public le mois prochain.",
    "Il pleuvra toute la journée de jeudi sur le nord du pays.",
    "Ma grand-mère prépare une tarte aux pommes chaque dimanche.",
]
# The line of the bug report: French news flagged as propaganda without a word of warning.
REPORTED_FRENCH = "Les militants ont revendiqué l'attentat, selon les autorités locales."
ENGLISH = "Police said the suspect was arrested on Tuesday after an investigation."
ALL_NON_ENGLISH = [line for lines in NON_ENGLISH.values() for line in lines]


@pytest.fixture(scope="module")
def model() -> Any:
    from propclf.persistence import default_model_path, load_model

    if not default_model_path().is_file():
        pytest.skip("no default model in this checkout")
    return load_model()


def _reference_counts(model: Any, text: str) -> tuple[int, int]:
    """Known words and words of a text from the readable tokeniser (``analyze_many``)."""
    vec = model.pipeline_.named_steps["tfidf"]
    words = [t for t in analyze_many([text], model.quotes)[0] if is_word(t)]
    known = [
        t
        for t in words
        if t in vec.vocabulary_
        and vec.unigram_col_[vec.vocabulary_[t]] >= 0
        and t.removeprefix("q_").removeprefix("r_") not in OTHER_LANGUAGE_WORDS
    ]
    return len(known), len(words)


# -- the warning -----------------------------------------------------------------------------------
@pytest.mark.parametrize("language", list(NON_ENGLISH))
def test_everyday_lines_in_other_languages_get_a_warning(model: Any, language: str) -> None:
    lines = NON_ENGLISH[language]
    results = list(classify(lines, model))
    for line, r in zip(lines, results, strict=True):
        assert r.ok and r.warning is not None, (line, r)
        assert r.warning.startswith("low vocabulary coverage: ")
        assert "probably not English" in r.warning
    assert (model.coverage(lines) < LOW_COVERAGE).all()


def test_the_reported_french_line_gets_a_warning(model: Any) -> None:
    # It was flagged (0.75) before the check existed; whatever band a model gives it, the
    # warning must say the score is unreliable.
    [r] = classify([REPORTED_FRENCH], model)
    assert r.ok and r.warning is not None and "probably not English" in r.warning


def test_everyday_french_gets_a_warning(model: Any) -> None:
    # The vocabulary knows everyday French from the French IS-supporter tweets; its function
    # words do not count as known (propclf.language), so these lines are no longer read as English.
    assert all(r.warning is not None for r in classify(FRENCH, model))


def test_other_language_function_words_are_rare_in_the_projects_english() -> None:
    # The list may only hold words that English text hardly uses: over the functional suite and
    # the training supplement (about 60,000 English words) they are under 0.1% of the words.
    from propclf.datasets import load_functional, read_labelled, supplement_path

    texts = [c["text"] for c in load_functional()]
    texts += [r.text for r in read_labelled(supplement_path())]
    words = [t for toks in analyze_many(texts, "separate") for t in toks if is_word(t)]
    core = [t.removeprefix("q_").removeprefix("r_") for t in words]
    hits = [t for t in core if t in OTHER_LANGUAGE_WORDS]
    assert len(words) > 50_000
    assert len(hits) < 0.001 * len(words), sorted(set(hits))


def test_function_words_of_other_languages_still_weigh_in_the_score(model: Any) -> None:
    # Coverage changes what is warned, never a score: "les" is a feature like any other.
    vec = model.pipeline_.named_steps["tfidf"]
    assert "les" in vec.vocabulary_ and vec.unigram_col_[vec.vocabulary_["les"]] >= 0
    assert model.coverage(["les"])[0] == 0.0


def test_english_functional_suite_is_rarely_warned(model: Any) -> None:
    from propclf.datasets import load_functional

    texts = [case["text"] for case in load_functional()]
    warned = [r for r in classify(texts, model) if r.warning is not None]
    assert len(warned) <= 0.01 * len(texts), [r.id for r in warned]


def test_the_warning_changes_no_label_score_or_band(model: Any) -> None:
    texts = [ENGLISH, *ALL_NON_ENGLISH, REPORTED_FRENCH]
    results = list(classify(texts, model))
    scores = model.score(texts)
    assert [r.score for r in results] == scores.tolist()
    assert [r.band for r in results] == model.band(scores).tolist()
    assert [r.label for r in results] == model.predict(texts).tolist()
    assert results[0].warning is None and "warning" not in results[0].to_dict()
    d = results[1].to_dict()
    assert list(d)[:6] == ["id", "label", "score", "band", "error", "warning"]
    assert d["warning"] == results[1].warning


def test_short_and_wordless_texts_get_no_warning(model: Any) -> None:
    texts = ["Привет, как дела?", "", "   ", "!!! ??? 2024 1 2 3", "x 1 y 2 z 3 w", "🙂🙂🙂"]
    assert all(r.warning is None for r in classify(texts, model))
    coverage = model.coverage(texts)
    assert np.isnan(coverage[1:]).all() and 0.0 <= coverage[0] <= 1.0


def test_the_warning_rule() -> None:
    n = MIN_COVERAGE_WORDS
    assert coverage_warning(0, n - 1) is None  # too few words to tell
    assert coverage_warning(0, n) == (
        f"low vocabulary coverage: 0 of {n} words known; "
        "probably not English, the score is unreliable"
    )
    # between NOT_ENGLISH_COVERAGE and LOW_COVERAGE the text may be English mixed with another
    mixed = int(np.ceil(NOT_ENGLISH_COVERAGE * n * 4))
    assert coverage_warning(mixed, n * 4) == (
        f"low vocabulary coverage: {mixed} of {n * 4} words known; "
        "another language, or English mixed with one: the score is unreliable"
    )
    words = 20
    below = int(np.ceil(LOW_COVERAGE * words)) - 1
    assert coverage_warning(below, words) is not None
    assert coverage_warning(below + 1, words) is None
    assert Result("x", error="boom").to_dict() == {
        "id": "x",
        "label": None,
        "score": None,
        "band": None,
        "error": "boom",
    }


# -- coverage --------------------------------------------------------------------------------------
_PIECES = [
    *"abcdefghijk lmnopq rstuvwxyz  0123!?.,'\"-_@#:/\n",
    *["é", "ß", "д", "ом", "ال", "ب", "日本", "\u200b", "\U0001f642", "K", "Q", " q_", "\x1e"],
]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=60).map("".join) | st.text(max_size=40)


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(_TEXT, max_size=8))
def test_coverage_is_a_share_or_nan(model: Any, texts: list[str]) -> None:
    coverage = model.coverage(texts)
    assert coverage.shape == (len(texts),) and coverage.dtype == np.float64
    assert np.all(np.isnan(coverage) | ((coverage >= 0.0) & (coverage <= 1.0)))


def _check_counts(model: Any, texts: list[str]) -> None:
    vec = model.pipeline_.named_steps["tfidf"]
    want = [_reference_counts(model, t) for t in texts]
    assert [tuple(row) for row in vec.word_counts(texts).tolist()] == want
    expected = np.array([k / w if w else np.nan for k, w in want])
    np.testing.assert_array_equal(model.coverage(texts), expected)


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(_TEXT, max_size=6))
def test_coverage_counts_the_models_own_words(
    model: Any, small_model: Any, texts: list[str]
) -> None:
    texts = [*texts, "k i l l them all, 2024!!", 'he said "join us" and left', "xyzzy plugh"]
    _check_counts(model, texts)  # subword features: unknown words have type ids
    _check_counts(small_model, texts)  # no subword features: unknown words have no id


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(_TEXT, max_size=6), size=st.integers(1, 5))
def test_scores_are_the_same_with_and_without_coverage(
    model: Any, small_model: Any, texts: list[str], size: int
) -> None:
    texts = [*texts, ENGLISH, *ALL_NON_ENGLISH[:3], ("Join us brothers. " * 40).strip()]
    for m in (model, small_model):
        plain, plain_hits = m.score_documents(texts)
        counted, hits, counts = m.score_documents(texts, return_word_counts=True)
        np.testing.assert_array_equal(counted, plain)
        assert hits == plain_hits and counts.shape == (len(texts), 2)
        short = [t for t in texts if len(t) <= m.passage_chars]
        np.testing.assert_array_equal(
            m.score(short), plain[[len(t) <= m.passage_chars for t in texts]]
        )
        items = [Item(str(k), text=t) for k, t in enumerate(texts)]
        for documents in (True, False):
            results = Scorer(m, documents=documents).score_batch(items)
            want = plain if documents else m.score(texts)
            assert [r.score for r in results] == want.tolist()
        batched = [
            r.score
            for k in range(0, len(items), size)
            for r in Scorer(m).score_batch(items[k : k + size])
        ]
        assert batched == plain.tolist()


def test_long_documents_count_the_words_of_the_passages_scored(model: Any) -> None:
    german = " ".join(NON_ENGLISH["German"])
    english_page = "\n\n".join([ENGLISH + " " + ENGLISH.replace("Tuesday", "Monday")] * 6)
    pages = [
        "\n\n".join([german] * 6),  # every passage in German
        english_page + "\n\n" + german,  # one German paragraph in an English page
    ]
    assert all(len(p) > model.passage_chars for p in pages)
    _, _, counts = model.score_documents(pages, return_word_counts=True)
    assert counts[0, 1] == 6 * sum(_reference_counts(model, t)[1] for t in NON_ENGLISH["German"])
    results = list(classify(pages, model))
    assert results[0].warning is not None and results[1].warning is None
    no_passages = list(classify(pages, model, documents=False))
    assert no_passages[0].warning is not None and no_passages[1].warning is None


def test_threads_count_alike(model: Any) -> None:
    vec = model.pipeline_.named_steps["tfidf"]
    texts = [f"{line} wort{k} слово{k}" for k, line in enumerate(ALL_NON_ENGLISH * 20)]
    want = [_reference_counts(model, t) for t in texts]
    batches = [texts[k::7] for k in range(7)]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(vec.word_counts, batches))
    for k, counts in enumerate(got):
        assert [tuple(row) for row in counts.tolist()] == want[k::7]


# -- the CLI and the service -----------------------------------------------------------------------
def _lines_file(tmp_path: Path) -> Path:
    path = tmp_path / "lines.txt"
    path.write_text("\n".join([ENGLISH, *ALL_NON_ENGLISH]) + "\n", encoding="utf-8")
    return path


def test_cli_jsonl_carries_the_warning(model: Any, tmp_path: Path) -> None:
    from propclf.cli import main

    path = _lines_file(tmp_path)
    args = ["score", "--input", "lines", "--format", "jsonl", "--jobs", "1", str(path)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output  # a warning is not an error
    n = len(ALL_NON_ENGLISH)
    assert f"{n} of {n + 1} items have low vocabulary coverage" in res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(rows) == 1 + len(ALL_NON_ENGLISH)
    assert "warning" not in rows[0]
    for row in rows[1:]:
        assert row["warning"].startswith("low vocabulary coverage") and row["error"] is None
        assert row["label"] in ("reporting", "propaganda") and 0.0 <= row["score"] <= 1.0


def test_cli_csv_and_table_show_the_warning(model: Any, tmp_path: Path) -> None:
    from propclf.cli import main

    path = _lines_file(tmp_path)
    res = CliRunner().invoke(main, ["score", "--input", "lines", "--format", "csv", str(path)])
    assert res.exit_code == 0, res.output
    reader = csv.DictReader(io.StringIO(res.stdout))
    assert reader.fieldnames is not None and reader.fieldnames[-1] == "warning"
    rows = list(reader)
    assert rows[0]["warning"] == ""
    assert all(r["warning"].startswith("low vocabulary coverage") for r in rows[1:])
    res = CliRunner().invoke(main, ["score", "--input", "lines", "--format", "table", str(path)])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()[1:]
    assert "low vocabulary" not in lines[0]
    assert all("(! low vocabulary coverage: " in line for line in lines[1:])


def test_service_answers_with_the_warning(model: Any) -> None:
    pytest.importorskip("fastapi")
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette\.testclient`")
        from fastapi.testclient import TestClient

    from propclf.persistence import default_model_path
    from propclf.serve import create_app

    texts = [ENGLISH, *ALL_NON_ENGLISH[:4], " ".join(NON_ENGLISH["German"] * 12)]
    items = [{"id": str(k), "text": t} for k, t in enumerate(texts)]
    with TestClient(create_app(default_model_path(), max_text_chars=5000)) as client:
        answer = client.post("/v1/score", json={"items": items}).json()["results"]
    expected = Scorer(model).score_batch([Item(it["id"], text=it["text"]) for it in items])
    assert answer == json.loads(json.dumps([r.to_dict() for r in expected]))
    assert "warning" not in answer[0] and all("warning" in r for r in answer[1:])


def test_everyday_religious_posts_of_every_faith_are_rarely_warned(model: Any) -> None:
    # Code-mixed posts (English with Hebrew, Hindi, Punjabi or Pali phrases) can be warned; a
    # word list that counted those languages' function words as foreign would warn them wholesale.
    from propclf.datasets import load_religious_everyday

    for faith, lines in load_religious_everyday()["faiths"].items():
        warned = [line for line, r in zip(lines, classify(lines, model), strict=True) if r.warning]
        assert len(warned) <= 0.2 * len(lines), (faith, warned)
