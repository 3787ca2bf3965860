"""Document scoring with the shipped model on the project's own test pages."""

from __future__ import annotations

import json

import pytest

from propclf.text import split_passages
from tests.conftest import REPO

DOCS = REPO / "datasets" / "functional" / "documents"


def test_a_quotation_is_not_split_across_passages() -> None:
    quote = '"' + "We will return and you will never be safe. " * 12 + '"'
    text = "The spokesman said in the video: " + quote + " Officials dismissed the threat."
    for p in split_passages(text, max_chars=200):
        assert p.text.count('"') % 2 == 0, p.text


@pytest.fixture(scope="module")
def model():
    from propclf.persistence import default_model_path, load_model

    if not default_model_path().is_file():
        pytest.skip("no default model in this checkout")
    return load_model()


def test_inserted_propaganda_paragraph_is_flagged_and_located(model) -> None:
    page = (DOCS / "reporting_page_with_insert.txt").read_text()
    inserted = json.loads((DOCS / "reporting_page_with_insert.json").read_text())[
        "inserted_paragraph"
    ]
    start = page.index(inserted)
    [score], [hits] = model.score_documents([page])
    assert model.band([score])[0] in ("flag", "review")
    top = max(hits, key=lambda h: h.score)
    assert start <= top.start < top.end <= start + len(inserted)


def test_reporting_page_that_quotes_propaganda_is_not_flagged(model) -> None:
    page = (DOCS / "reporting_page.txt").read_text()
    [score], _ = model.score_documents([page])
    assert score < model.flag_threshold


@pytest.mark.parametrize(
    "lines",
    [
        ["Share this article", "Facebook | X | WhatsApp | Email | Copy link"],
        ["Leave a Reply", "Your email address will not be published. Required fields are marked *"],
        ["Home · World · Politics · Business · Opinion"],
    ],
)
def test_boilerplate_blocks_never_trigger_a_document(small_model, lines: list[str]) -> None:
    body = (
        "Officials said the inquiry into the attack would report its findings next spring, "
        "after hearing evidence from police, survivors and the families of the victims."
    )
    page = "\n\n".join([body, body, "\n".join(lines), body, body])
    _, [hits] = small_model.score_documents([page], review=0.0)  # every scored passage
    block = page.index(lines[0])
    assert hits and not any(h.start <= block < h.end for h in hits)


def test_link_rows_that_say_something_are_not_boilerplate() -> None:
    from propclf.text import is_boilerplate

    assert is_boilerplate("Share this article\nFacebook | X | WhatsApp | Email | Copy link")
    assert not is_boilerplate("Brothers, join us | the caliphate calls you | rise up and fight")
