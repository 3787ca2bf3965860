"""Score a folder of hostile files through the CLI and print what came out.

    python benchmarks/hostile.py [--model PATH]

Builds, in a temporary folder: empty and whitespace-only files, a binary file, Latin-1 and
UTF-16 (BOM) text, a 45 MB single-line file, a deeply nested folder, a broken symlink, a
symlink loop and (when not root) an unreadable file; then runs ``propclf score`` on it with
``--input text`` and ``--input lines`` and prints rows, errors, exit status, time and peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def build(root: Path) -> int:
    (root / "empty.txt").write_text("")
    (root / "blank.txt").write_text("  \n\t \n")
    (root / "binary.bin").write_bytes(bytes(range(256)) * 64)
    (root / "latin1.txt").write_bytes("Le porte-parole a d\xe9clar\xe9 que".encode("latin-1"))
    (root / "utf16.txt").write_bytes("Officials said the group was banned.".encode("utf-16"))
    line = "The committee reviewed the statement and said more work was needed. "
    (root / "huge_one_line.txt").write_text(line * (45_000_000 // len(line)))
    deep = root
    for i in range(60):
        deep = deep / f"d{i}"
    deep.mkdir(parents=True)
    (deep / "deep.txt").write_text("Police said the suspect was arrested.")
    (root / "broken_link").symlink_to(root / "does-not-exist")
    (root / "loop").symlink_to(root)
    files = 9
    if os.geteuid() != 0:
        locked = root / "locked.txt"
        locked.write_text("secret")
        locked.chmod(0)
        files += 1
    return files


def run(cmd: list[str]) -> tuple[int, list[dict], float, float]:
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    rows = [json.loads(x) for x in out.stdout.splitlines() if x.strip()]
    assert "Traceback" not in out.stderr, out.stderr
    return out.returncode, rows, wall, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=None)
    args = ap.parse_args()
    exe = str(Path(sys.executable).with_name("propclf"))
    model = ["--model", args.model] if args.model else []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        expected = build(root)
        lines = [
            "| mode | files | rows | errors | exit | seconds | peak MB (max so far) |",
            "|---|---|---|---|---|---|---|",
        ]
        for mode in ("text", "lines"):
            code, rows, wall, peak = run(
                [
                    exe,
                    "score",
                    str(root),
                    "--input",
                    mode,
                    "--format",
                    "jsonl",
                    "--jobs",
                    "1",
                    *model,
                ]
            )
            errors = [r for r in rows if r["error"]]
            lines.append(
                f"| {mode} | {expected} | {len(rows)} | {len(errors)} | {code} | {wall:.1f} | {peak:.0f} |"
            )
            for r in errors:
                lines.append(f"|  | `{Path(r['id']).name}` | error: {r['error']} | | | | |")
        sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
