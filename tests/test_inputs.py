"""Reading input loses nothing: one item per file, line or JSONL record, errors included."""

from __future__ import annotations

import io
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from propclf.inputs import decode_bytes, iter_items


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
