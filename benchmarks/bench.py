"""Throughput, cold start and memory of propclf against fastText and a plain scikit-learn baseline.

Run from the repository root (with the dev extra installed and ../shared/data present):

    python benchmarks/bench.py                 # all figures, medians of 5 runs
    python benchmarks/bench.py --quick         # fewer texts and runs

All numbers are measured in this one run on the same texts, and printed as a Markdown table
with ratios; compared timings take turns run by run (API, fastText, baseline), so that other load
on the machine slows them alike. fastText and the baseline are trained here on a grouped 80% split of the shared
corpora; the texts timed are the other 20% (held-out groups), which also gives each model's
PR-AUC on the same held-out texts, so speed is never bought with quality unseen.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def median_times(fns: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    """Median seconds of each function, the functions taking turns (so that a busy spell of
    the machine slows all of them alike, not the one that happened to run then)."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(ts) for name, ts in times.items()}


def load_split(root: str, limit: int | None, seed: int = 0):
    from propclf import datasets

    records = datasets.dedup(datasets.load_records(root))
    rng = np.random.default_rng(seed)
    if limit and len(records) > limit:
        records = [records[i] for i in sorted(rng.choice(len(records), limit, replace=False))]
    train_idx, test_idx = datasets.train_test_groups(records, test_size=0.2, seed=seed)
    return [records[i] for i in train_idx], [records[i] for i in test_idx]


def fasttext_model(train, tmp: Path):
    import fasttext

    path = tmp / "ft_train.txt"
    with path.open("w", encoding="utf-8") as f:
        for r in train:
            text = " ".join(r.text.lower().split())
            f.write(f"__label__{r.label} {text}\n")
    return fasttext.train_supervised(str(path), wordNgrams=2, epoch=10, lr=0.5, verbose=0, seed=1)


def sklearn_baseline(train):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=200_000),
        LogisticRegression(C=4.0, class_weight="balanced", solver="liblinear"),
    )
    return pipe.fit([r.text for r in train], [r.label == "propaganda" for r in train])


def peak_rss_mb(cmd: list[str], stdin_path: Path) -> float:
    """Peak resident memory (MB) of a child process reading ``stdin_path``."""
    probe = (
        "import resource, subprocess, sys\n"
        "with open(sys.argv[1], 'rb') as f:\n"
        "    subprocess.run(sys.argv[2:], stdin=f, stdout=subprocess.DEVNULL, check=False)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, str(stdin_path), *cmd], capture_output=True, text=True
    )
    return int(out.stdout.strip()) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--data", default=os.environ.get("PROPCLF_DATA", str(REPO.parent / "shared/data"))
    )
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--model", default=None, help="propclf model (default: embedded)")
    args = ap.parse_args()
    runs = 3 if args.quick else args.runs
    limit = 40_000 if args.quick else None

    from sklearn.metrics import average_precision_score

    import propclf

    model = propclf.load_model(args.model)
    exe = str(Path(sys.executable).with_name("propclf"))
    tmp = Path(tempfile.mkdtemp(prefix="propclf-bench-"))
    train, test = load_split(args.data, limit)
    texts = [r.text for r in test]
    y = np.array([r.label == "propaganda" for r in test])
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    ft_texts = [" ".join(t.lower().split()) for t in texts]  # fastText reads one line per text

    ft = fasttext_model(train, tmp)
    base = sklearn_baseline(train)

    rows: list[tuple[str, float, str]] = []

    def add(name: str, seconds: float, note: str = "") -> float:
        rows.append((name, seconds, note))
        return seconds

    # -- in-process throughput on the same held-out texts --------------------------------------
    t = time.perf_counter()
    model.score(texts)  # the first call meets every word for the first time (token cache empty)
    t_first = time.perf_counter() - t
    ft.predict(ft_texts[:1000])
    t = median_times(
        {
            "api": lambda: model.score(texts),
            "documents": lambda: model.score_documents(texts),
            "fasttext": lambda: ft.predict(ft_texts),
            "base": lambda: base.predict_proba(texts),
        },
        runs,
    )
    t_api = add("propclf API `model.score`", t["api"])
    add("propclf API `model.score`, first call (new words, empty token cache)", t_first)
    add("propclf API `score_documents` (passages)", t["documents"])
    t_ft = add("fastText `predict` (k=1)", t["fasttext"])
    t_base = add("scikit-learn TfidfVectorizer + LR `predict_proba`", t["base"])

    # -- CLI: JSONL in, JSONL out (one process, and all cores) --------------------------------------
    jsonl = tmp / "items.jsonl"
    with jsonl.open("w", encoding="utf-8") as f:
        for i, t in enumerate(texts):
            f.write(json.dumps({"id": str(i), "text": t}) + "\n")
    model_args = ["--model", args.model] if args.model else []

    def cli(jobs: int) -> None:
        with jsonl.open("rb") as f:
            subprocess.run(
                [exe, "score", "--input", "jsonl", "--format", "jsonl", "--jobs", str(jobs),
                 *model_args, "-"],
                stdin=f, stdout=subprocess.DEVNULL, check=False,
            )  # fmt: skip

    t = median_times({"1": lambda: cli(1), "2": lambda: cli(2)}, runs)
    add("propclf CLI JSONL→JSONL, --jobs 1", t["1"])
    add("propclf CLI JSONL→JSONL, --jobs 2", t["2"])

    # -- cold start ---------------------------------------------------------------------------
    one = tmp / "one.txt"
    one.write_text("Officials said the statement was released on Monday.\n")
    t = median_times(
        {
            "cold": lambda: subprocess.run(
                [exe, "score", *model_args, str(one)], capture_output=True
            ),
            "import": lambda: subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import sklearn.linear_model, sklearn.feature_extraction.text",
                ],
                capture_output=True,
            ),
        },
        runs,
    )
    t_cold, t_import = t["cold"], t["import"]

    # -- memory: streaming 30k vs 300k lines -------------------------------------------------
    small, big = tmp / "30k.jsonl", tmp / "300k.jsonl"
    lines = jsonl.read_text(encoding="utf-8").splitlines()
    for path, n in ((small, 30_000), (big, 300_000)):
        with path.open("w", encoding="utf-8") as f:
            for i in range(n):
                f.write(lines[i % len(lines)] + "\n")
    cmd = [exe, "score", "--input", "jsonl", "--format", "jsonl", "--jobs", "1", *model_args, "-"]
    mem_small, mem_big = peak_rss_mb(cmd, small), peak_rss_mb(cmd, big)

    # -- quality on the same held-out texts --------------------------------------------------
    p_api = model.score(texts)
    labels, probs = ft.predict(ft_texts, k=2)
    p_ft = np.array(
        [
            dict(zip(ls, ps, strict=True)).get("__label__propaganda", 0.0)
            for ls, ps in zip(labels, probs, strict=True)
        ]
    )
    p_base = base.predict_proba(texts)[:, 1]

    out = [
        f"{len(texts):,} held-out texts, {mb:.1f} MB; medians of {runs} runs; "
        f"{os.cpu_count()} cores; propclf model {model.manifest_.get('model_id')}",
        "",
        "| what | seconds | MB/s | texts/s | vs fastText |",
        "|---|---|---|---|---|",
    ]
    for name, sec, _ in rows:
        out.append(
            f"| {name} | {sec:.3f} | {mb / sec:.1f} | {len(texts) / sec:,.0f} | {t_ft / sec:.2f}× |"
        )
    out += [
        "",
        f"- API throughput ratio propclf / fastText: **{t_ft / t_api:.2f}** (target ≥ 1.0); "
        f"propclf / scikit-learn baseline: {t_base / t_api:.2f}",
        f"- cold start `propclf score one.txt`: {t_cold * 1000:.0f} ms; "
        f"`import sklearn.linear_model, sklearn.feature_extraction.text`: {t_import * 1000:.0f} ms; "
        f"ratio **{t_cold / t_import:.2f}** (target ≤ 1.5)",
        f"- peak memory streaming 30k lines: {mem_small:.0f} MB; 300k lines: {mem_big:.0f} MB; "
        f"ratio **{mem_big / mem_small:.2f}** (target ≤ 1.25)",
        f"- held-out PR-AUC on these texts: propclf (shipped model; may have seen these groups) "
        f"{average_precision_score(y, p_api):.3f}, fastText {average_precision_score(y, p_ft):.3f}, "
        f"baseline {average_precision_score(y, p_base):.3f} (fastText and baseline never saw them)",
        f"- artifact size: {Path(model.path_).stat().st_size / 1e6:.1f} MB",
    ]
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
