"""Tests of propclf.datasets: adapters, cleaning, passages, dedup, splits, user files, fetch."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from propclf import datasets as ds
from propclf.datasets import (
    CORPORA,
    SOURCES,
    ChecksumError,
    CorpusNotFoundError,
    LabelledFileError,
    Record,
)

from .conftest_datasets_helpers import write_fake_corpora

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("PROPCLF_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="module")
def fake_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_corpora(tmp_path_factory.mktemp("data"))


def _by_text(records: list[Record]) -> dict[str, Record]:
    return {r.text: r for r in records}


# --- Record ------------------------------------------------------------------------------------
def test_record_validates_label_and_weight() -> None:
    Record("a:1", "text", "propaganda", "a", "a:g")
    with pytest.raises(ValueError, match="label"):
        Record("a:1", "text", "extremist", "a", "a:g")
    with pytest.raises(ValueError, match="weight"):
        Record("a:1", "text", "reporting", "a", "a:g", weight=-1.0)
    with pytest.raises(ValueError, match="weight"):
        Record("a:1", "text", "reporting", "a", "a:g", weight=float("nan"))


def test_registry_is_consistent() -> None:
    assert set(CORPORA) == {spec.corpus for spec in SOURCES.values()}
    for info in CORPORA.values():
        assert info.files and len(info.files) == len(info.sources)
        assert set(info.sha256) == set(info.files)
        assert all(len(h) == 64 for h in info.sha256.values())
        assert info.origin and info.licence and info.group_key


# --- label mapping, drops and weights ----------------------------------------------------------
def test_fifthtribe_weights_and_filters(fake_root: Path) -> None:
    stats: dict[str, ds.SourceStats] = {}
    recs = list(ds.iter_records("fifthtribe", fake_root, stats=stats))
    by = _by_text(recs)
    assert all(r.label == "propaganda" for r in recs)
    assert (
        by["We will slaughter the kuffar and raise the flag of the khilafah over Rome"].weight == 1
    )
    assert (
        by["The soldiers of the caliphate are victorious by the permission of Allah"].weight == 0.2
    )
    # EXTREME=0 and ? are dropped, not turned into reporting
    assert not any("airport" in t or "uncertain" in t for t in by)
    # news account: unannotated tweet dropped, annotated extreme tweet kept at full weight
    assert "Reports suggest #ISIS has blown up gas pipelines near Homs" not in by
    assert by["May Allah destroy the crusaders and their apostate dogs everywhere"].weight == 1.0
    # retweet of a news account dropped; martyrdom claim ("m") kept
    assert not any(t.startswith("RT @RamiAlLolah") for t in by)
    assert any(t.startswith("#AmaqAgency") for t in by)
    assert by[
        "We will slaughter the kuffar and raise the flag of the khilafah over Rome"
    ].group == ("fifthtribe:abufan1")
    st_ = stats["fifthtribe"]
    assert st_.rows == 9 and st_.docs == len(recs) == 4
    assert st_.dropped["EXTREME=0"] == 1 and st_.dropped["short"] == 1
    assert st_.dropped["news account"] == 1 and st_.dropped["retweet of news account"] == 1


def test_fifthtribe_options(fake_root: Path) -> None:
    all_one = {"1": 1.0, "m": 1.0, "": 1.0, "0": 1.0, "?": 1.0}
    recs = list(
        ds.iter_records(
            "fifthtribe",
            fake_root,
            weights=all_one,
            news_account_weight=1.0,
            drop_news_retweets=False,
            min_words=1,
        )
    )
    assert len(recs) == 9
    assert {r.weight for r in recs} == {1.0}
    with pytest.raises(TypeError, match="unknown option"):
        list(ds.iter_records("fifthtribe", fake_root, include_nohate=True))


def test_isextreme_labels_and_translation(fake_root: Path) -> None:
    recs = list(ds.iter_records("isextreme", fake_root))
    assert [(r.label, r.group) for r in recs] == [
        ("propaganda", "isextreme:userp"),
        ("reporting", "isextreme:userr"),
    ]
    assert recs[0].text.startswith("May Allah give victory")  # English translation column
    originals = list(ds.iter_records("isextreme", fake_root, text_column="tweet"))
    assert originals[0].text.startswith("Allah yunsur")


def test_stormfront_nohate_excluded_by_default(fake_root: Path) -> None:
    recs = list(ds.iter_records("stormfront", fake_root))
    assert [(r.label, r.weight) for r in recs] == [("propaganda", 1.0)]
    assert recs[0].text == "They don't belong here, send them all back."  # detokenised
    assert recs[0].group == "stormfront:100"
    more = ds.load_records(fake_root, ["stormfront"], include_stormfront_nohate=True)
    assert sorted((r.label, r.weight) for r in more) == [("propaganda", 1.0), ("reporting", 0.2)]


def test_telegram_keyword_forward_and_news_channels(fake_root: Path) -> None:
    recs = list(ds.iter_records("farright_telegram", fake_root))
    assert [(r.id, r.weight) for r in recs] == [
        ("farright_telegram:WhiteChan/1", 1.0),
        ("farright_telegram:WhiteChan/2", 0.7),
    ]
    assert recs[0].text.endswith("too late.")  # "@WhiteChan" signature stripped
    assert {r.group for r in recs} == {"farright_telegram:WhiteChan"}
    everything = list(
        ds.iter_records("farright_telegram", fake_root, require_keyword=False, exclude_channels=())
    )
    assert len(everything) == 4


def test_reporting_sources_and_groups(fake_root: Path) -> None:
    recs = ds.load_records(fake_root, ["ungdc", "crisislex", "huffpost", "rss_news", "isaf"])
    assert {r.label for r in recs} == {"reporting"}
    groups = {r.source: r.group for r in recs}
    assert groups["ungdc"].startswith("ungdc:") and groups["isaf"] == "isaf:2013-01"
    days = {r.group for r in recs if r.source == "crisislex"}  # UTC day from the tweet id
    assert days == {"crisislex:2013-04-19", "crisislex:2013-04-15"}
    assert groups["huffpost_v3"] == "huffpost_v3:2022-09"
    assert groups["huffpost_headlines"].startswith("huffpost_headlines:h")
    assert groups["rss_news_militant"] == "rss_news:2020-11"
    texts = {r.source: r.text for r in recs}
    assert texts["huffpost_v3"] == (
        "Over 4 Million Americans Get New Boosters. Health experts said it is too early to "
        "predict demand."
    )
    assert "joe scarborough: trump's legal strategy is like 'a monkey'" in {r.text for r in recs}
    assert "**" not in " ".join(r.text for r in recs if r.source == "ungdc")


# --- cleaning ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("BAGHDAD (Reuters) - Iraqi forces advanced.", "Iraqi forces advanced."),
        ("(AP) — A bomb exploded.", "A bomb exploded."),
        ("KABUL, Afghanistan (Jan. 25, 2013) — Forces detained two.", "Forces detained two."),
        ("Kabul, Afghanistan (Sept. 2) - Coalition forces struck.", "Coalition forces struck."),
        ("WASHINGTON — The House voted.", "The House voted."),
        ("NEW YORK A man was arrested.", "A man was arrested."),
        ("AUSTIN, Texas A man was arrested.", "A man was arrested."),
        ("WASHINGTON U.S. President Obama said.", "U.S. President Obama said."),
        ("NATO said on Monday it would help.", "NATO said on Monday it would help."),
        ("ISIS fighters attacked the town.", "ISIS fighters attacked the town."),
        ("The U.S. said it would help.", "The U.S. said it would help."),
        ("WIRED is reporting from Iowa.", "WIRED is reporting from Iowa."),
    ],
)
def test_strip_dateline(text: str, expected: str) -> None:
    assert ds.strip_dateline(text) == expected


def test_news_cleaning_and_passages(fake_root: Path) -> None:
    recs = list(ds.iter_records("news_2016", fake_root, max_chars=200))
    long = [r for r in recs if "iraqi-forces" in r.id]
    assert [r.id.rsplit(":", 1)[1] for r in long] == ["p0", "p1", "p2"]
    assert all(len(r.text) <= 200 for r in long)
    assert long[0].text.startswith("Iraqi forces advanced")  # dateline gone
    joined = "\n".join(r.text for r in recs)
    assert "Reuters" not in joined and "Reporting by" not in joined and "Source" not in joined
    assert "Ok." not in joined  # passages under 8 words are dropped
    assert {r.group for r in long} == {"news_2016:2016-W12"}
    short = [r for r in recs if "smart-glasses" in r.id]
    assert short[0].id == "news_2016:2016-01-10-smart-glasses" and short[0].text.startswith("A ")
    capped = list(ds.iter_records("news_2016", fake_root, max_chars=200, max_passages=2))
    assert sum("iraqi-forces" in r.id for r in capped) == 2


def test_long_texts_keep_paragraph_newlines(fake_root: Path) -> None:
    recs = list(ds.iter_records("news_2016", fake_root, max_chars=100_000))
    assert "\n" in recs[0].text and "  " not in recs[0].text


def test_isaf_and_satp_cleaning(fake_root: Path) -> None:
    (isaf,) = list(ds.iter_records("isaf", fake_root))
    assert isaf.text == (
        "An Afghan and coalition security force arrested a Taliban leader in Kandahar province "
        "today."
    )
    satp = {r.source + str(i): r.text for i, r in enumerate(ds.iter_records("satp", fake_root))}
    assert satp["satp_terrorism0"] == (
        "Three soldiers were injured when militants attacked an army convoy in Handwara area on "
        "September 7. The convoy was attacked near a bridge."
    )
    assert satp["satp_terrorism1"] == (
        "Police arrested two suspects in Karachi on May 2. The two were handed over to "
        "investigators"
    )
    assert satp["satp_actions2"].endswith("in Kangpokpi District")


def test_magazine_pdf_artefacts_and_bare_cr(fake_root: Path) -> None:
    recs = list(ds.iter_records("is_magazines", fake_root))
    assert {r.group for r in recs} == {"is_magazines:Dabiq-2", "is_magazines:Rumiyah-3"}
    dabiq = next(r for r in recs if r.group == "is_magazines:Dabiq-2")
    assert "crusaders fled" in dabiq.text  # hyphenation across a page header line joined
    assert "grace of Allah." in dabiq.text  # honorific glyph removed with its space
    assert "mujahidin" in dabiq.text and "ā" not in dabiq.text  # macrons folded
    assert "  " not in dabiq.text and "\uf063" not in dabiq.text
    assert "dabiq" not in dabiq.text.lower().split() and "ARTICLE" not in dabiq.text
    assert all(r.label == "propaganda" for r in recs)


def test_rss_and_fakes_cleaning(fake_root: Path) -> None:
    (mil,) = list(ds.iter_records("rss_news_militant", fake_root))
    assert mil.text == (
        "Vienna attack: gunman was IS supporter. Police say the attacker had been jailed before"
        "\n\nAustrian police said the gunman had tried to travel to Syria."
    )
    fakes = [r.text for r in ds.iter_records("fakes_syria", fake_root)]
    assert fakes[0].startswith("Death toll from Aleppo") and "REUTERS" not in fakes[0]
    assert fakes[1].startswith("Air strikes hit")
    assert {r.group for r in ds.iter_records("fakes_syria", fake_root)} == {
        "fakes_syria:nna",
        "fakes_syria:sana",
    }


# --- missing files and checksums ---------------------------------------------------------------
def test_missing_corpus_names_path_and_origin(tmp_path: Path) -> None:
    with pytest.raises(CorpusNotFoundError) as err:
        list(ds.iter_records("stormfront", tmp_path))
    msg = str(err.value)
    assert str(tmp_path / "stormfront" / "sentences.csv") in msg
    assert "Vicomtech/hate-speech-dataset" in msg
    assert isinstance(err.value, FileNotFoundError)
    with pytest.raises(KeyError, match="unknown corpus"):
        list(ds.iter_records("nope", tmp_path))


def test_default_root_from_env(monkeypatch: pytest.MonkeyPatch, fake_root: Path) -> None:
    monkeypatch.setenv("PROPCLF_DATA", str(fake_root))
    assert ds.default_root() == fake_root
    assert list(ds.iter_records("isextreme"))


def test_verify_checksum(fake_root: Path) -> None:
    with pytest.raises(ChecksumError, match="does not match"):
        list(ds.iter_records("isextreme", fake_root, verify=True))


# --- dedup -------------------------------------------------------------------------------------
def _r(i: int, text: str, label: str = "reporting", source: str = "s") -> Record:
    return Record(f"{source}:{i}", text, label, source, f"{source}:g{i}")


def test_dedup_exact_near_and_conflicting() -> None:
    base = (
        "Islamic State fighters seized the northern town after two days of heavy fighting with "
        "government troops and allied militias near the river"
    )
    recs = [
        _r(0, base + " https://t.co/abc"),
        _r(1, "RT @someone: " + base.upper() + " https://t.co/xyz"),  # exact after normalising
        _r(2, base.rsplit(" ", 5)[0] + "…"),  # truncated retweet: near duplicate
        _r(3, "A completely different sentence about the weather in the mountains today"),
        _r(4, "Join the caliphate now brothers, the victory is near, rise up", "propaganda"),
        _r(5, "Join the caliphate now brothers, the victory is near, rise up!", "reporting"),
    ]
    kept, stats = ds.dedup_with_stats(recs)
    assert [r.id for r in kept] == ["s:0", "s:3"]
    assert (stats.exact, stats.near, stats.conflicting) == (1, 1, 2)
    assert stats.total == 6 and stats.kept == 2 and stats.by_source["s"]["near"] == 1
    exact_only = ds.dedup(recs, near=False)
    assert [r.id for r in exact_only] == ["s:0", "s:2", "s:3"]


def test_dedup_uses_the_model_token_folding() -> None:
    recs = [
        _r(0, "J0in the c a l i p h a t e, k1ll the kuffar", "propaganda"),
        _r(1, "Join the caliphate, kill the kuffar!!!", "propaganda"),
        _r(2, 'He said "join the caliphate, kill the kuffar"', "reporting"),
    ]
    kept, stats = ds.dedup_with_stats(recs, near=False)
    assert [r.id for r in kept] == ["s:0", "s:2"] and stats.exact == 1


def test_dedup_keeps_distinct_texts_sharing_words() -> None:
    recs = [
        _r(0, "Police arrested two suspects in Karachi on Monday after a raid on a house"),
        _r(1, "Police arrested four suspects in Lahore on Friday after a raid on a market"),
        _r(2, "short text here"),
        _r(3, "short text there"),
    ]
    assert ds.dedup(recs) == recs
    assert ds.dedup([]) == []


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a b c d", "a b c e", "x y z", "q r s t u v"]), st.booleans()),
        max_size=12,
    )
)
def test_dedup_is_idempotent_subset(items: list[tuple[str, bool]]) -> None:
    recs = [_r(i, t, "propaganda" if p else "reporting") for i, (t, p) in enumerate(items)]
    once = ds.dedup(recs)
    assert ds.dedup(once) == once
    assert all(r in recs for r in once)
    assert len({r.text for r in once}) == len(once)


# --- splits ------------------------------------------------------------------------------------
def _split_records(n_groups: int = 20) -> list[Record]:
    out = []
    for g in range(n_groups):
        for k in range(3 + g % 4):
            label = "propaganda" if g % 3 == 0 else "reporting"
            out.append(Record(f"s:{g}:{k}", f"text {g} {k}", label, "s", f"s:g{g}"))
    return out


def test_grouped_folds_are_disjoint_and_cover() -> None:
    recs = _split_records()
    folds = ds.grouped_folds(recs, n_splits=5, seed=1)
    assert len(folds) == 5
    seen = Counter[int]()
    for train, test in folds:
        assert not {recs[i].group for i in train} & {recs[i].group for i in test}
        assert {recs[i].label for i in test} == {"propaganda", "reporting"}
        seen.update(test.tolist())
    assert sorted(seen) == list(range(len(recs))) and set(seen.values()) == {1}
    with pytest.raises(ValueError, match="groups"):
        ds.grouped_folds(recs[:3], n_splits=5)


def test_train_test_groups_disjoint() -> None:
    recs = _split_records()
    train, test = ds.train_test_groups(recs, test_size=0.25, seed=3)
    assert not {recs[i].group for i in train} & {recs[i].group for i in test}
    assert len(train) + len(test) == len(recs)
    assert 0.1 < len(test) / len(recs) < 0.4
    with pytest.raises(ValueError):
        ds.train_test_groups(recs, test_size=1.5)


@pytest.mark.parametrize(
    ("n", "bucket"),
    [(0, "<100"), (99, "<100"), (100, "100-300"), (299, "100-300"), (300, "300-1000"),
     (999, "300-1000"), (1000, ">=1000")],
)  # fmt: skip
def test_length_bucket(n: int, bucket: str) -> None:
    assert ds.length_bucket("x" * n) == bucket
    assert bucket in ds.LENGTH_BUCKETS


# --- functional suite and user files -----------------------------------------------------------
def test_identity_templates_load_and_malformed_ones_are_refused(tmp_path: Path) -> None:
    shipped = ds.load_identity_templates()
    assert len(shipped["groups"]) >= 10 and shipped["benign"] and shipped["hateful"]
    good = {"groups": [["Foo", "Foos"]], "benign": ["{p} bake bread."], "hateful": ["{a} x"]}
    path = tmp_path / "t.json"
    path.write_text(json.dumps(good))
    assert ds.load_identity_templates(path) == good
    for bad, match in (
        ({**good, "groups": [["Foo"]]}, "adjective, plural"),
        ({**good, "benign": []}, "non-empty"),
        ({**good, "hateful": ["no slot here"]}, "without a group slot"),
        ({**good, "benign": ["{p} and {q}"]}, "other than"),
        ([good], "JSON object"),
    ):
        path.write_text(json.dumps(bad))
        with pytest.raises(LabelledFileError, match=match):
            ds.load_identity_templates(path)
    path.write_text("{oops")
    with pytest.raises(LabelledFileError, match="invalid JSON"):
        ds.load_identity_templates(path)


def test_religious_lines_load_and_malformed_ones_are_refused(tmp_path: Path) -> None:
    shipped = ds.load_religious_everyday()
    assert len(shipped["faiths"]) >= 5 and len(shipped["situations"]) >= 20
    good = {"situations": ["greeting"], "faiths": {"A": ["Blessed day"], "B": ["Good day"]}}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(good))
    assert ds.load_religious_everyday(path) == good
    for bad, match in (
        ({**good, "situations": []}, "situations"),
        ({**good, "faiths": {"A": ["x"]}}, "at least two"),
        ({**good, "faiths": {"A": ["x"], "B": ["y", "z"]}}, "one non-empty line per situation"),
        ({**good, "faiths": {"A": ["x"], "B": [" "]}}, "one non-empty line per situation"),
        ([good], "JSON object"),
    ):
        path.write_text(json.dumps(bad))
        with pytest.raises(LabelledFileError, match=match):
            ds.load_religious_everyday(path)


def test_load_functional_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    case = {"id": "c1", "kind": "k", "label": "reporting", "ideology": "none", "text": "t"}
    path.write_text(json.dumps(case) + "\n\n" + json.dumps({**case, "id": "c2"}) + "\n")
    assert [c["id"] for c in ds.load_functional(path)] == ["c1", "c2"]
    path.write_text(json.dumps(case) + "\n" + json.dumps({**case, "label": "spam"}) + "\n")
    with pytest.raises(LabelledFileError, match=r"cases.jsonl:2: label"):
        ds.load_functional(path)
    path.write_text(json.dumps(case) + "\n" + json.dumps(case) + "\n")
    with pytest.raises(LabelledFileError, match=r":2: duplicate id"):
        ds.load_functional(path)
    path.write_text("{not json\n")
    with pytest.raises(LabelledFileError, match=r":1: invalid JSON"):
        ds.load_functional(path)
    path.write_text(json.dumps({"id": "x", "text": "t"}) + "\n")
    with pytest.raises(LabelledFileError, match=r":1: missing"):
        ds.load_functional(path)


def test_load_functional_default_repo_suite() -> None:
    if not (REPO / "datasets" / "functional" / "cases.jsonl").is_file():
        pytest.skip("functional suite not written yet")
    cases = ds.load_functional()
    assert cases and {c["label"] for c in cases} <= set(ds.LABELS)


def test_read_labelled_csv_and_jsonl(tmp_path: Path) -> None:
    csv_path = tmp_path / "mine.csv"
    csv_path.write_text(
        'text,label,group,weight\n"Join us, brothers",1,g1,\nA news report,reporting,,0.5\n'
        "Another,TRUE,,\n"
    )
    recs = ds.read_labelled(csv_path)
    assert [(r.label, r.group, r.weight) for r in recs] == [
        ("propaganda", "g1", 1.0),
        ("reporting", "mine:3", 0.5),
        ("propaganda", "mine:4", 1.0),
    ]
    assert recs[0].id == "mine:2" and recs[0].source == "mine"
    jl = tmp_path / "mine.jsonl"
    jl.write_text(
        json.dumps({"text": "a", "label": 0, "id": "x", "source": "own"})
        + "\n"
        + json.dumps({"text": "b", "label": False})
        + "\n"
    )
    recs = ds.read_labelled(jl)
    assert [(r.id, r.label, r.group) for r in recs] == [
        ("own:x", "reporting", "own:x"),
        ("mine:2", "reporting", "mine:2"),
    ]


@pytest.mark.parametrize(
    ("content", "suffix", "match"),
    [
        ("text,label\nok,propaganda\nbad,maybe\n", ".csv", r"bad\.csv:3: bad label"),
        ('text,label\n"multi\nline",1\n,0\n', ".csv", r"bad\.csv:4: empty or missing text"),
        ("text,label,weight\nx,1,-2\n", ".csv", r"bad\.csv:2: bad weight"),
        ("text,label\nx,1,extra\n", ".csv", r"bad\.csv:2: more fields"),
        ("text\nx\n", ".csv", r"bad\.csv:1: header"),
        ('{"text": "x", "label": 1}\n{oops\n', ".jsonl", r"bad\.jsonl:2: invalid JSON"),
        ('{"text": "x", "label": 2}\n', ".jsonl", r"bad\.jsonl:1: bad label"),
        ("[1, 2]\n", ".jsonl", r"bad\.jsonl:1: expected a JSON object"),
    ],
)
def test_read_labelled_errors(tmp_path: Path, content: str, suffix: str, match: str) -> None:
    path = tmp_path / f"bad{suffix}"
    path.write_text(content)
    with pytest.raises(LabelledFileError, match=match):
        ds.read_labelled(path)


def test_read_labelled_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        ds.read_labelled(tmp_path / "none.csv")


# --- fetch -------------------------------------------------------------------------------------
class _Server:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.hits = Counter[str]()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits[self.path] += 1
                body = outer.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"


@pytest.fixture
def server() -> Iterator[_Server]:
    payload = b"propclf test payload\n" * 100
    srv = _Server({"/data/file.csv": payload, "/data/other.csv": b"x"})
    srv.thread.start()
    try:
        yield srv
    finally:
        srv.httpd.shutdown()
        srv.httpd.server_close()
        srv.thread.join(timeout=5)


def test_fetch_good_hash_and_cache(server: _Server, tmp_path: Path) -> None:
    body = server.files["/data/file.csv"]
    digest = hashlib.sha256(body).hexdigest()
    path = ds.fetch(server.url("/data/file.csv"), digest, cache_dir=tmp_path)
    assert path == tmp_path / "file.csv" and path.read_bytes() == body
    again = ds.fetch(server.url("/data/file.csv"), digest.upper(), cache_dir=tmp_path)
    assert again == path and server.hits["/data/file.csv"] == 1  # reused, no second request
    path.write_bytes(b"corrupted")
    ds.fetch(server.url("/data/file.csv"), digest, cache_dir=tmp_path)
    assert path.read_bytes() == body and server.hits["/data/file.csv"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.csv"]


def test_fetch_bad_hash_leaves_nothing(server: _Server, tmp_path: Path) -> None:
    with pytest.raises(ChecksumError, match="does not match"):
        ds.fetch(server.url("/data/other.csv"), "0" * 64, cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_fetch_env_cache_and_bad_arguments(
    server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROPCLF_CACHE", str(tmp_path / "cache"))
    digest = hashlib.sha256(b"x").hexdigest()
    assert ds.fetch(server.url("/data/other.csv"), digest).parent == tmp_path / "cache"
    with pytest.raises(ValueError, match="http"):
        ds.fetch("file:///etc/passwd", digest)
    with pytest.raises(ValueError, match="64"):
        ds.fetch(server.url("/data/other.csv"), "abc")


# --- stats CLI on the fake corpora -------------------------------------------------------------
def test_stats_cli_on_fake_root(fake_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert ds._main(["--stats", "--root", str(fake_root)]) == 0
    out = capsys.readouterr().out
    assert "| source | licence | rows read |" in out
    assert all(f"| {src} |" in out for src in SOURCES)
    assert ds._main(["--sha256", "--root", str(fake_root)]) == 0
    assert "isextreme/tweets.csv" in capsys.readouterr().out


# --- the real shared corpora -------------------------------------------------------------------
@pytest.mark.corpus
def test_real_corpora_load_bounded() -> None:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not present")
    t0 = time.perf_counter()
    recs = ds.load_records(SHARED, verify=True)
    assert time.perf_counter() - t0 < 60
    by_source = Counter(r.source for r in recs)
    assert set(by_source) == set(SOURCES) and min(by_source.values()) > 0
    labels = Counter(r.label for r in recs)
    assert labels["propaganda"] > 10_000 and labels["reporting"] > 50_000
    assert all(r.id.startswith(r.source + ":") for r in recs)
    assert all(r.group.split(":", 1)[0] in CORPORA or ":" in r.group for r in recs)
    assert len({r.id for r in recs}) == len(recs)
    kept = ds.dedup(recs)
    assert 0.8 * len(recs) < len(kept) < len(recs)
    sample = kept[:: max(1, len(kept) // 20_000)]
    for train, test in ds.grouped_folds(sample, n_splits=5):
        assert not {sample[i].group for i in train} & {sample[i].group for i in test}


# --- the training supplement -------------------------------------------------------------------
SUPPLEMENT = REPO / "datasets" / "supplement" / "supplement.jsonl"


def _shingles(text: str, n: int = 6) -> set[tuple[str, ...]]:
    import re

    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}


def test_supplement_reads_as_labelled_training_data() -> None:
    records = ds.read_labelled(SUPPLEMENT)
    kinds = Counter(r.group for r in records)
    assert len(records) >= 500 and {r.source for r in records} == {"supplement"}
    # every kind is a set of cases, not a handful (the smallest, civic_oratory_described, has 30)
    assert len(kinds) >= 10 and min(kinds.values()) >= 30
    assert {r.label for r in records} == {"propaganda", "reporting"}
    assert len({r.text for r in records}) == len(records)


def test_invented_names_are_masked_in_supplement_lines_only() -> None:
    """An invented movement's name says nothing real texts say: training replaces it by a word
    that gets no weight, as a whole word, in any case, with its possessive, longest name first."""
    lines = [
        "Join the Night Assembly's ranks; the night assembly remembers.",
        "The Free Counties Militia stands with the free counties.",
        "Nightassembly and Free Countiesville are other words.",
    ]
    names = ["Night Assembly", "Free Counties", "Free Counties Militia"]
    sup = [ds.Record(f"s{i}", t, "propaganda", "supplement", "g") for i, t in enumerate(lines)]
    corpus = ds.Record("c", lines[0], "propaganda", "fifthtribe", "fifthtribe:a")
    masked = ds.mask_invented_names([*sup, corpus], names)
    assert [r.text for r in masked] == [
        "Join the xname ranks; the xname remembers.",
        "The xname stands with the xname.",
        lines[2],
        lines[0],  # a corpus text is never changed
    ]
    assert [(r.id, r.label, r.group) for r in masked] == [
        (r.id, r.label, r.group) for r in [*sup, corpus]
    ]
    assert ds.mask_invented_names(sup, []) == sup


def test_every_invented_name_is_in_the_supplement() -> None:
    """The list names what the lines say: a name no line holds is a stale entry or a typo."""
    names = ds.read_invented_names()
    assert len(names) >= 100 and len(set(names)) == len(names)
    records = ds.read_labelled(SUPPLEMENT)
    for name in names:
        assert ds.mask_invented_names(records, [name]) != records, name
    assert not any(ds.INVENTED_NAME in r.text.lower() for r in records)


def _identity_templates() -> list[str]:
    spec = json.loads((REPO / "datasets/functional/identity_templates.json").read_text("utf-8"))
    return [t.format(a=a, p=p) for a, p in spec["groups"] for t in spec["benign"] + spec["hateful"]]


def _testimony() -> list[dict[str, str]]:
    with open(REPO / "datasets/testimony/testimony.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_testimony_is_a_labelled_test_set() -> None:
    rows = _testimony()
    assert len({r["id"] for r in rows}) == len(rows) == 280
    kinds = Counter((r["kind"], r["label"]) for r in rows)
    assert kinds == {
        ("exit_testimony", "reporting"): 150,
        ("exit_testimony_family", "reporting"): 50,
        ("propaganda_conversion_story", "propaganda"): 80,
    }
    assert all(r["text"].strip() for r in rows)


def test_supplement_never_copies_the_functional_suite() -> None:
    """The suite (and the identity templates, religious lines and testimonies) are test-only: no
    supplement line may be a (near) copy of one of their cases."""
    suite = [_shingles(c["text"]) for c in ds.load_functional()]
    suite += [_shingles(t) for t in _identity_templates()]
    suite += [_shingles(t) for ls in ds.load_religious_everyday()["faiths"].values() for t in ls]
    suite += [_shingles(r["text"]) for r in _testimony()]
    for r in ds.read_labelled(SUPPLEMENT):
        mine = _shingles(r.text)
        worst = max(len(mine & s) / len(mine | s) for s in suite)
        assert worst < 0.3, r.id


# --- the label audit ---------------------------------------------------------------------------
AUDIT = REPO / "datasets" / "audit" / "audit.jsonl"
AUDIT_LABELS = {"propaganda", "reporting", "other", "unclear"}


def _audit() -> list[dict[str, object]]:
    with open(AUDIT, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_audit_holds_ids_and_labels_never_corpus_text() -> None:
    rows = _audit()
    assert len(rows) >= 500 and len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        assert set(r) == {"id", "source", "label", "stratum", "pop", "label_a", "label_b"}, r
        assert r["label_a"] in AUDIT_LABELS and r["label_b"] in AUDIT_LABELS
        assert r["label"] in {"propaganda", "reporting"} and r["source"] in CORPORA
    strata = Counter((r["source"], r["label"], r["stratum"]) for r in rows)
    assert all(n >= 50 for n in strata.values()), strata


@pytest.mark.corpus
def test_audit_ids_still_name_the_same_records() -> None:
    """If an adapter renumbers records or changes a label, the audit is stale: this says so."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not present")
    rows = _audit()
    recs = {r.id: r for r in ds.load_records(SHARED, names=sorted({r["source"] for r in rows}))}
    for r in rows:
        assert r["id"] in recs, r["id"]
        assert (recs[r["id"]].source, recs[r["id"]].label) == (r["source"], r["label"]), r["id"]
