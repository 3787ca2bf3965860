"""Throughput of ``propclf.spark.score_dataframe`` in local mode against the plain Python API.

Scores the same generated short texts (generic, news-like lines written for this benchmark)
with :func:`propclf.classify` in one process, with ``classify(jobs=2)``, and with
:func:`propclf.spark.score_dataframe` on a ``local[2]`` SparkSession, and prints rows per second
(median of ``--repeats`` timed runs, after one untimed warm-up run each) as a markdown table.

Usage::

    python benchmarks/bench_spark.py                 # 30,000 rows, 3 runs
    python benchmarks/bench_spark.py --rows 50000 --model models/default.joblib

Without ``--model`` the default model is used when present, else a small model is trained on
``tests/fixtures/small_train.jsonl`` (scoring cost depends mostly on the text processing, not
on the vocabulary size).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

SUBJECTS = [
    "The city council",
    "Local officials",
    "A spokesperson for the ministry",
    "Researchers at the university",
    "The transport authority",
    "Residents of the northern district",
    "The regional court",
    "Organisers of the festival",
]
VERBS = ["announced", "discussed", "postponed", "reviewed", "published", "approved", "criticised"]
OBJECTS = [
    "a new budget for public libraries",
    "plans for a cycling lane along the river",
    "the annual report on air quality",
    "changes to school bus routes",
    "a proposal to extend museum opening hours",
    "the results of a survey on local housing",
    "repairs to the old bridge",
    "a schedule of road works for the summer",
]
TAILS = [
    "on Tuesday.",
    "after a long debate.",
    "according to a statement.",
    "despite some objections.",
    "at a meeting attended by about forty people.",
    "and said more details would follow next week.",
]


def generate_texts(n: int, seed: int = 0) -> list[str]:
    """``n`` short, generic news-like lines (deterministic for a given seed)."""
    rng = random.Random(seed)
    return [
        f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)}"
        + (f" Item {i}." if rng.random() < 0.5 else "")
        for i in range(n)
    ]


def load_or_train(model_path: str | None, workdir: Path) -> Any:
    from propclf.persistence import default_model_path, load_model, save

    if model_path or default_model_path().is_file():
        return load_model(model_path)
    from propclf.model import PropagandaClassifier

    rows = [
        json.loads(line)
        for line in (REPO / "tests" / "fixtures" / "small_train.jsonl").read_text().splitlines()
    ]
    model = PropagandaClassifier(min_df=1, cv=3, max_features=None).fit(
        [r["text"] for r in rows], [r["label"] for r in rows], groups=[r["group"] for r in rows]
    )
    path = workdir / "bench.joblib"
    save(model, path, command="benchmarks/bench_spark.py")
    return load_model(path)


def timed(fn: Callable[[], Any], repeats: int) -> float:
    """Median wall time of ``repeats`` runs of ``fn`` after one untimed warm-up run."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", help="A .joblib model (default: the default model).")
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()

    import pandas as pd

    import propclf
    from propclf.scoring import classify
    from propclf.spark import score_dataframe, spark_session

    texts = generate_texts(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        model = load_or_train(args.model, Path(tmp))
        results: list[tuple[str, float]] = []

        def python_api(jobs: int) -> None:
            n = sum(1 for _ in classify(texts, model, jobs=jobs))
            assert n == len(texts)

        results.append(
            ("Python API, `classify(jobs=1)`", timed(lambda: python_api(1), args.repeats))
        )
        results.append(
            ("Python API, `classify(jobs=2)`", timed(lambda: python_api(2), args.repeats))
        )

        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        start = time.perf_counter()
        spark = spark_session(args.master, app_name="propclf-bench", quiet=True)
        startup = time.perf_counter() - start
        frame = pd.DataFrame({"id": [str(i) for i in range(len(texts))], "text": texts})
        df = spark.createDataFrame(frame).cache()
        assert df.count() == len(texts)

        def spark_run() -> None:
            scored = score_dataframe(df, model=model)
            scored.write.format("noop").mode("overwrite").save()

        results.append(
            (f"Spark `{args.master}`, `score_dataframe`", timed(spark_run, args.repeats))
        )
        partitions = df.rdd.getNumPartitions()
        spark.stop()

    base = args.rows / results[0][1]
    print(
        f"{args.rows:,} texts, median of {args.repeats} runs after a warm-up; model "
        f"{model.manifest_.get('model_id')}; propclf {propclf.__version__}, Python "
        f"{platform.python_version()}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f}; Spark session start-up {startup:.1f} s (not included), "
        f"{partitions} partitions\n"
    )
    print("| path | median time (s) | rows/s | ratio to `classify(jobs=1)` |")
    print("|---|---:|---:|---:|")
    for name, seconds in results:
        rate = args.rows / seconds
        print(f"| {name} | {seconds:.2f} | {rate:,.0f} | {rate / base:.2f}× |")


if __name__ == "__main__":
    main()
