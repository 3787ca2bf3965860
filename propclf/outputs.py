"""Writing results as JSONL, CSV or an aligned table, flushing per batch."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Literal, TextIO

from propclf.result import Result

__all__ = ["OUTPUT_FORMATS", "OutputFormat", "write_results"]

OutputFormat = Literal["table", "jsonl", "csv"]
OUTPUT_FORMATS: tuple[str, ...] = ("table", "jsonl", "csv")
_CSV_FIELDS = ["id", "label", "score", "band", "error", "model", "warning"]


_LINE_BREAKS = "\n\r\t\v\f\x85\u2028\u2029"
_ESCAPED = {ord(c): repr(c)[1:-1] for c in _LINE_BREAKS}


def _one_line(s: str) -> str:
    """A table cell: line breaks and tabs escaped, so that one item stays one row."""
    return s.translate(_ESCAPED) if any(c in s for c in _LINE_BREAKS) else s


def _fmt_score(score: float | None) -> str:
    return "" if score is None else f"{score:.4f}"


def write_results(
    results: Iterable[Result], out: TextIO, fmt: OutputFormat = "jsonl", flush_every: int = 512
) -> tuple[int, int]:
    """Write results to ``out``; return ``(rows, errors)``.

    JSONL rows are :meth:`Result.to_dict` (keys ``id``, ``label``, ``score``, ``band``, ``error``,
    ``model`` and, when set or asked for, ``warning``, ``passages`` / ``reasons``). CSV has the
    flat columns, ``warning`` last (empty when there is none). The table is for people: label,
    score, band, id, and the error, or the warning's first clause, after the id.
    """
    if fmt not in OUTPUT_FORMATS:
        raise ValueError(f"output format must be one of {OUTPUT_FORMATS}")
    rows = errors = 0
    writer = None
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=_CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
    elif fmt == "table":
        out.write(f"{'label':<11} {'score':>6}  {'band':<6}  id\n")
    for r in results:
        rows += 1
        errors += not r.ok
        if fmt == "jsonl":
            out.write(json.dumps(r.to_dict(), ensure_ascii=False) + "\n")
        elif writer is not None:
            d = r.to_dict()
            d["score"] = _fmt_score(r.score)
            writer.writerow(d)
        else:
            if r.ok:
                note = f"  (! {r.warning.split(';')[0]})" if r.warning else ""
                rid = _one_line(r.id)
                out.write(f"{r.label:<11} {_fmt_score(r.score):>6}  {r.band:<6}  {rid}{note}\n")
            else:
                rid, error = _one_line(r.id), _one_line(r.error or "")
                out.write(f"{'error':<11} {'':>6}  {'':<6}  {rid}  ({error})\n")
        if rows % flush_every == 0:
            out.flush()
    out.flush()
    return rows, errors
