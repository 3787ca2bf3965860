"""Reading input loses nothing: one item per file, line or JSONL record, errors included."""

from __future__ import annotations

import io
import json
import os
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from propclf.inputs import InputFormat, decode_bytes, iter_items


def _stdin(data: bytes, fmt: str = "jsonl") -> list:
    return list(iter_items(["-"], fmt, stdin=io.BytesIO(data)))  # type: ignore[arg-type]


def _is_item(line: bytes) -> bool:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        text = line.decode("cp1252", errors="replace")
    return b"\x00" in line or bool(text.strip())


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=60).filter(lambda b: b"\n" not in b), max_size=12))
def test_every_non_blank_jsonl_line_gives_exactly_one_item(lines: list[bytes]) -> None:
    lines = [ln.replace(b"\r", b"") for ln in lines]
    items = _stdin(b"\n".join(lines) + b"\n")
    assert len(items) == sum(map(_is_item, lines))
    assert all((it.text is None) != (it.error is None) for it in items)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=10))
def test_jsonl_records_round_trip(texts: list[str]) -> None:
    data = "".join(json.dumps({"id": f"i{n}", "text": t}) + "\n" for n, t in enumerate(texts))
    items = _stdin(data.encode())
    assert [(it.id, it.text) for it in items] == [(f"i{n}", t) for n, t in enumerate(texts)]


def test_jsonl_edge_cases() -> None:
    data = b'{"id": "a", "text": "ok"}\n[1,2]\n{"text": "no id"}\n' + b"[" * 100_000 + b"\n\n"
    items = _stdin(data)
    assert [it.id for it in items] == ["a", "stdin:2", "stdin:3", "stdin:4"]
    assert items[0].text == "ok" and items[2].text == "no id"
    assert "expected a JSON object" in items[1].error
    assert items[3].error


def test_decoding() -> None:
    assert decode_bytes("caf\u00e9".encode("utf-8")) == "caf\u00e9"
    assert decode_bytes("caf\u00e9".encode("latin-1")) == "caf\u00e9"
    assert decode_bytes("caf\u00e9".encode("utf-16")) == "caf\u00e9"
    assert decode_bytes("\ufeffcaf\u00e9".encode("utf-8")) == "caf\u00e9"


def test_huge_single_line_file(tmp_path: Path) -> None:
    f = tmp_path / "big.txt"
    f.write_text("word " * 1_000_000)  # 5 MB, one line
    [item] = list(iter_items([str(f)], "text"))
    assert item.error is None and len(item.text) == 5_000_000
    [line] = list(iter_items([str(f)], "lines"))
    assert line.error is None and line.id == f"{f}:1"


def test_huge_document_scores_in_bounded_passages(small_model) -> None:
    text = ("The council met again. " * 200 + "\n\n") * 200  # ~0.9 MB
    scores, _ = small_model.score_documents([text], batch_size=256)
    assert 0.0 <= scores[0] <= 1.0


def test_closed_or_unreadable_stdin_gives_an_error_row(monkeypatch) -> None:
    import sys

    monkeypatch.setattr(sys, "stdin", None)  # `<&-`
    [item] = list(iter_items(["-"], "lines"))
    assert item.id == "stdin" and "closed" in (item.error or "")

    class WriteOnly(io.BytesIO):
        def readline(self, *a: object) -> bytes:
            raise OSError(9, "Bad file descriptor")

    [item] = list(iter_items(["-"], "lines", stdin=WriteOnly()))  # type: ignore[arg-type]
    assert "Bad file descriptor" in (item.error or "")


def test_stdin_given_twice_is_read_once() -> None:
    items = list(iter_items(["-", "-"], "text", stdin=io.BytesIO(b"hello")))  # type: ignore[arg-type]
    assert [(it.text, it.error is None) for it in items] == [("hello", True), (None, False)]


def test_wide_text_on_stdin_is_decoded_before_splitting_lines() -> None:
    data = "".join(json.dumps({"id": i, "text": "t"}) + "\n" for i in ("a", "b"))
    for enc in ("utf-16", "utf-32-be"):
        raw = data.encode(enc) if enc == "utf-16" else b"\x00\x00\xfe\xff" + data.encode(enc)
        stdin = io.BufferedReader(io.BytesIO(raw))  # as sys.stdin.buffer is
        items = list(iter_items(["-"], "jsonl", stdin=stdin))
        assert [(it.id, it.text) for it in items] == [("a", "t"), ("b", "t")], enc


def test_an_empty_path_is_not_the_current_folder(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "a.txt").write_text("text")
    monkeypatch.chdir(tmp_path)
    [item] = list(iter_items([""], "auto"))
    assert item.id == "" and "no such file" in (item.error or "")


def test_paths_keep_their_spelling_as_ids(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "a.txt").write_text("text")
    monkeypatch.chdir(tmp_path)
    assert [it.id for it in iter_items(["./a.txt", ".//a.txt", "a.txt"], "auto")] == [
        "./a.txt",
        ".//a.txt",
        "a.txt",
    ]


def test_numeric_ids_are_echoed_as_written() -> None:
    rows = [b'{"id": 1.10, "text": "a"}', b'{"id": 1e2, "text": "a"}', b'{"id": 7, "text": "a"}']
    assert [it.id for it in _stdin(b"\n".join(rows))] == ["1.10", "1e2", "7"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_pipes_are_read_without_seeking_and_never_block_a_folder(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "wb") as f:
            f.write(b'{"id": "p1", "text": "one"}\n{"id": "p2", "text": "two"}\n')

    writer = threading.Thread(target=feed)
    writer.start()
    items = list(iter_items([str(fifo)], "jsonl"))  # as `--input jsonl <(...)` gives
    writer.join(timeout=10)
    assert [(it.id, it.text) for it in items] == [("p1", "one"), ("p2", "two")]
    # in a folder, a pipe nobody writes to is reported, not opened (opening would block)
    (tmp_path / "z.txt").write_text("text")
    items = list(iter_items([str(tmp_path)], "auto"))
    assert [(Path(it.id).name, it.error is None) for it in items] == [
        ("pipe.jsonl", False),
        ("z.txt", True),
    ]


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
@pytest.mark.parametrize("fmt", ["auto", "lines", "jsonl"])
def test_a_device_named_on_the_command_line_is_refused_not_read_forever(fmt: InputFormat) -> None:
    items = list(iter_items(["/dev/zero", "/dev/null"], fmt))
    assert [(it.id, it.text) for it in items] == [("/dev/zero", None), ("/dev/null", None)]
    assert all("device" in (it.error or "") for it in items)


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="no pseudo-terminals here")
def test_a_terminal_named_as_a_path_is_read_until_end_of_input() -> None:
    master, slave = os.openpty()
    try:
        os.write(master, b"typed at the terminal\n\x04")  # a line, then Ctrl-D
        items = list(iter_items([os.ttyname(slave)], "lines"))
    finally:
        os.close(master)
        os.close(slave)
    assert [(it.text, it.error) for it in items] == [("typed at the terminal", None)]
