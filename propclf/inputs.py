"""Reading items to score from files, folders, stdin and JSONL, losing none of them.

Every input item yields exactly one :class:`Item`: text that could not be read or decoded
(binary files, unreadable paths, broken symlinks, malformed JSON lines, records without a string
``text``) becomes an item carrying an ``error`` instead of text, so that the output still has
one row for it.
"""

from __future__ import annotations

import codecs
import io
import json
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

__all__ = [
    "INPUT_FORMATS",
    "InputFormat",
    "Item",
    "decode_bytes",
    "iter_items",
    "iter_paths",
    "parse_line",
]

InputFormat = Literal["auto", "text", "lines", "jsonl"]
INPUT_FORMATS: tuple[str, ...] = ("auto", "text", "lines", "jsonl")
_SNIFF = 8192
MAX_LINE_BYTES = 64 * 1024 * 1024  # one JSONL record / line at most (a line beyond is an error)
# UTF-16 and UTF-32 (UTF-32-LE starts with the UTF-16-LE mark): decoded whole, then read as lines
_WIDE_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE)


@dataclass(frozen=True)
class Item:
    """One thing to score: ``text``, or an ``error`` saying why there is none."""

    id: str
    text: str | None = None
    error: str | None = None


class DecodeError(ValueError):
    """Bytes that are not text."""


def decode_bytes(data: bytes) -> str:
    """Decode file bytes: BOM-marked UTF-8/16/32, else UTF-8, else Windows-1252/Latin-1.

    Raises
    ------
    DecodeError
        For binary data (NUL bytes in a file without a UTF-16/32 byte-order mark).
    """
    for bom, enc in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(enc)
            except UnicodeDecodeError as exc:
                raise DecodeError(f"invalid {enc} text: {exc.reason}") from exc
    if b"\x00" in data[:_SNIFF] or b"\x00" in data[-_SNIFF:]:
        raise DecodeError("binary file (NUL bytes), not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def iter_paths(root: Path) -> Iterator[tuple[Path, str | None]]:
    """Files under ``root`` in sorted order, recursively; ``(path, error)`` for what is unreadable.

    Symlinked folders are not followed (no loops); broken symlinks and unreadable folders are
    reported rather than skipped.
    """
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as exc:
        yield root, f"cannot read folder: {exc.strerror or exc}"
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                yield from iter_paths(path)
            elif entry.is_symlink() and not path.exists():
                yield path, "broken symbolic link"
            elif entry.is_symlink() and path.is_dir():
                yield path, "symbolic link to a folder (not followed)"
            elif not entry.is_file():  # a FIFO would block, a device never end
                yield path, "not a regular file (a pipe, socket or device), not read"
            else:
                yield path, None
        except OSError as exc:
            yield path, f"cannot read: {exc.strerror or exc}"


def _read_file(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _is_jsonl(path: Path) -> bool:
    return path.suffix.lower() in (".jsonl", ".ndjson")


class _Number(str):
    """A JSON number as written (``1.10``, ``1e2``): an id is echoed, not re-serialised."""


def _jsonl_item(line: str, default_id: str, text_field: str = "text", id_field: str = "id") -> Item:
    try:
        rec = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        msg = getattr(exc, "msg", "too deeply nested")
        return Item(default_id, error=f"invalid JSON: {msg}")
    if not isinstance(rec, dict):
        return Item(default_id, error=f"expected a JSON object, got {type(rec).__name__}")
    rid = rec.get(id_field, default_id)
    if isinstance(rid, int | float) and not isinstance(rid, bool):  # 1.10 stays "1.10"
        rid = json.loads(line, parse_float=_Number, parse_int=_Number, parse_constant=_Number)[
            id_field
        ]
    rid = default_id if rid is None else rid if isinstance(rid, str) else json.dumps(rid)
    if text_field not in rec:
        return Item(rid, error=f"record has no {text_field!r} field")
    text = rec[text_field]
    if not isinstance(text, str):
        return Item(rid, error=f"{text_field!r} must be a string, got {type(text).__name__}")
    return Item(rid, text=text)


def parse_line(
    raw: bytes,
    default_id: str,
    fmt: str = "jsonl",
    *,
    first: bool = False,
    text_field: str = "text",
    id_field: str = "id",
) -> Item | None:
    """One raw input line as an :class:`Item` (``None`` for a blank line).

    The one place where the rules for a line live (BOM on the first line, NUL bytes, UTF-8 with
    a Windows-1252 fallback, JSON records with a string text); the CLI and Spark both use it.
    """
    if first and raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    if b"\x00" in raw:
        return Item(default_id, error="binary data (NUL bytes), not text")
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        line = raw.decode("cp1252", errors="replace")
    line = line.rstrip("\r\n")
    if not line.strip():
        return None  # blank lines are separators, not items
    if fmt == "jsonl":
        return _jsonl_item(line, default_id, text_field, id_field)
    return Item(default_id, text=line)


def _iter_lines(stream: BinaryIO) -> Iterator[tuple[int, bytes | None]]:
    """Lines of a binary stream, numbered from 1; ``None`` for a line over MAX_LINE_BYTES."""
    n = 0
    while True:
        line = stream.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        n += 1
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):  # skip the rest of the over-long line
                line = stream.readline(MAX_LINE_BYTES)
            yield n, None
            continue
        yield n, line


def _items_from_stream(stream: BinaryIO, name: str, fmt: str) -> Iterator[Item]:
    if fmt == "text":
        data = stream.read()
        try:
            yield Item(name, text=decode_bytes(data))
        except DecodeError as exc:
            yield Item(name, error=str(exc))
        return
    for n, raw in _iter_lines(stream):
        item_id = f"{name}:{n}"
        if raw is None:
            yield Item(item_id, error=f"line longer than {MAX_LINE_BYTES} bytes")
            continue
        item = parse_line(raw, item_id, fmt, first=n == 1)
        if item is not None:
            yield item


def _as_utf8_lines(stream: BinaryIO) -> BinaryIO:
    """``stream`` as UTF-8 that can be read line by line: UTF-16/32 (by a byte-order mark seen
    with ``peek``, so nothing is consumed) is decoded whole and re-encoded; other streams, and
    streams that cannot peek, are returned as they are.

    Raises
    ------
    DecodeError
        Invalid UTF-16/32.
    """
    peek = getattr(stream, "peek", None)
    if peek is not None and peek(4)[:4].startswith(_WIDE_BOMS):
        return io.BytesIO(decode_bytes(stream.read()).encode("utf-8"))
    return stream


def _items_from_file(path: Path, fmt: str, name: str | None = None) -> Iterator[Item]:
    name = str(path) if name is None else name  # a path given is kept as given ("./a.txt")
    resolved = "jsonl" if fmt == "auto" and _is_jsonl(path) else "text" if fmt == "auto" else fmt
    try:
        if resolved == "text":
            data = _read_file(path)
            try:
                yield Item(name, text=decode_bytes(data))
            except DecodeError as exc:
                yield Item(name, error=str(exc))
            return
        with open(path, "rb") as f:
            try:
                stream = _as_utf8_lines(f)
            except DecodeError as exc:
                yield Item(name, error=str(exc))
                return
            # peeked, not read: pipes and FIFOs cannot seek back
            if stream is f and resolved == "lines" and b"\x00" in f.peek(_SNIFF)[:_SNIFF]:
                yield Item(name, error="binary file (NUL bytes), not text")
                return
            n = 0
            for item in _items_from_stream(stream, name, resolved):
                n += 1
                yield item
            if n == 0:  # an empty file still gets its row
                yield Item(name, error="no text lines (empty or whitespace-only file)")
    except OSError as exc:
        yield Item(name, error=f"cannot read: {exc.strerror or exc}")


def _items_from_stdin(stdin: BinaryIO | None, fmt: str) -> Iterator[Item]:
    if stdin is None:
        import sys

        if sys.stdin is None:  # closed (<&-)
            yield Item("stdin", error="cannot read: standard input is closed")
            return
        stdin = sys.stdin.buffer
    fmt = "lines" if fmt == "auto" else fmt
    try:
        if fmt != "text":
            try:
                stdin = _as_utf8_lines(stdin)
            except DecodeError as exc:
                yield Item("stdin", error=str(exc))
                return
        yield from _items_from_stream(stdin, "stdin", fmt)
    except OSError as exc:  # not open for reading, or a read error part-way
        yield Item("stdin", error=f"cannot read standard input: {exc.strerror or exc}")


def iter_items(
    sources: Iterable[str], fmt: InputFormat = "auto", stdin: BinaryIO | None = None
) -> Iterator[Item]:
    """Items from paths, folders (recursive) and ``-`` (standard input), in order.

    Parameters
    ----------
    sources : iterable of str
        Paths; ``-`` reads ``stdin``.
    fmt : {"auto", "text", "lines", "jsonl"}
        ``text``: a file is one item; ``lines``: each non-blank line is an item; ``jsonl``: each
        non-blank line is a ``{"id", "text"}`` record. ``auto``: ``.jsonl`` files are JSONL,
        other files text, standard input lines.
    stdin : binary stream, optional
        What ``-`` reads (default: ``sys.stdin.buffer``).
    """
    if fmt not in INPUT_FORMATS:
        raise ValueError(f"input format must be one of {INPUT_FORMATS}")
    stdin_read = False
    for src in sources:
        if src == "-":
            if stdin_read:
                yield Item("stdin", error="standard input was already read (- given twice)")
                continue
            stdin_read = True
            yield from _items_from_stdin(stdin, fmt)
            continue
        if not src:
            yield Item(src, error="no such file or folder (an empty path)")
            continue
        path = Path(src)
        try:
            is_dir = path.is_dir()
            exists = path.exists() or path.is_symlink()
        except OSError as exc:
            yield Item(src, error=f"cannot read: {exc.strerror or exc}")
            continue
        if is_dir:
            for p, err in iter_paths(path):
                if err:
                    yield Item(str(p), error=err)
                else:
                    yield from _items_from_file(p, fmt)
        elif not exists:
            yield Item(src, error="no such file or folder")
        elif path.is_symlink() and not path.exists():
            yield Item(src, error="broken symbolic link")
        elif _is_device(path):
            yield Item(src, error="a device, not a file or pipe (not read)")
        else:
            yield from _items_from_file(path, fmt, src)


def _is_device(path: Path) -> bool:
    """A character or block device other than a terminal: ``/dev/zero`` would never end.

    Named pipes (``<(...)``, ``/dev/stdin`` on a pipe) and terminals are read.
    """
    try:
        mode = path.stat().st_mode
        if stat.S_ISBLK(mode):
            return True
        if not stat.S_ISCHR(mode):
            return False
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError:
        return False  # reading it reports the error
    try:
        return not os.isatty(fd)
    finally:
        os.close(fd)
