"""propclf.spark and ``propclf spark-score``: Spark output equals the Python API, row by row.

Spark runs in ``local[2]`` with one session for the whole module; tests that need it are
marked ``spark`` and skip when pyspark or Java is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from propclf.inputs import Item, iter_items
from propclf.scoring import Scorer

pytestmark = [
    # pyspark 4 warns about pandas 3 each time it checks the pandas version
    pytest.mark.filterwarnings(
        "ignore:PySpark does not yet fully support pandas >= 3.0.0:FutureWarning"
    ),
]

REPO = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "propclf.cli"]
# short jobs on a small machine: the JVM starts faster with the client compiler only
FAST_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
HAS_JAVA = bool(shutil.which("java") or os.environ.get("JAVA_HOME"))

TEXTS = [
    "Brothers, join our ranks and fight the enemies of the faith. Victory is near!",
    "The ministry said the attack killed three people and wounded eleven.",
    "Officials condemned the bombing and promised an inquiry into the security failures.",
    "Glory to the martyrs who gave their blood. Join us and take up the fight.",
    "Analysts say the group's online messaging has declined since last year.",
    "",
    "ok",
    "Ünïcödé text — with dashes, “quotes” and emoji 🙂.",
    # longer than passage_chars: scored by passage
    " ".join(
        [
            "The council met on Tuesday to discuss the budget for the new library.",
            "Residents asked about opening hours and parking near the site.",
            "Rise up, soldiers of the dawn, the apostates will burn and our flag will fly.",
            "The meeting ended after two hours with a vote scheduled for next month.",
        ]
        * 3
    ),
]


def _rows(results):
    return [(r.id, r.score, r.label, r.band, r.error) for r in results]


def _expected(model, ids, texts, **kwargs):
    items = [
        Item(i, text=t) if isinstance(t, str) else Item(i, error="x")
        for i, t in zip(ids, texts, strict=True)
    ]
    return Scorer(model, **kwargs).score_batch(items)


# -- without Spark ---------------------------------------------------------------------------------
def test_import_propclf_does_not_import_pyspark():
    code = (
        "import sys, propclf, propclf.cli, propclf.scoring, propclf.persistence\n"
        "assert 'pyspark' not in sys.modules, 'pyspark imported'\n"
        "assert 'propclf.spark' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=60)


def test_missing_pyspark_gives_install_hint():
    block = "import sys; sys.modules['pyspark'] = None\n"
    lib = subprocess.run(
        [sys.executable, "-c", block + "import propclf.spark"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert lib.returncode != 0
    assert "ImportError" in lib.stderr
    assert "pip install 'propclf[spark]'" in lib.stderr
    cli = subprocess.run(
        [
            sys.executable,
            "-c",
            block + "from propclf.cli import main; main(['spark-score', 'in.jsonl', 'out'])",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert cli.returncode == 1
    assert "pip install 'propclf[spark]'" in cli.stderr
    assert "Traceback" not in cli.stderr


def test_cli_without_java_fails_cleanly(tmp_path, saved_model):
    pytest.importorskip("pyspark")
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "PYSPARK_GATEWAY_PORT")}
    env["PATH"] = str(tmp_path)  # no java on it
    inp = tmp_path / "in.jsonl"
    inp.write_text('{"id": "a", "text": "hello"}\n')
    proc = subprocess.run(
        [*CLI, "spark-score", str(inp), str(tmp_path / "out"), "--model", str(saved_model)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "cannot start Spark: Spark needs Java" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_broadcast_payload_is_hash_checked_before_loading(saved_model, tmp_path):
    spark_mod = pytest.importorskip("propclf.spark")
    from propclf.persistence import ModelIntegrityError, load, read_manifest

    manifest = read_manifest(saved_model)
    data = saved_model.read_bytes()
    model = spark_mod._load_payload(spark_mod._Payload(data, manifest))
    assert model.manifest_["model_id"] == manifest["model_id"]
    np.testing.assert_array_equal(model.score(TEXTS), load(saved_model).score(TEXTS))

    tampered = data[:-1] + bytes([data[-1] ^ 1])
    with pytest.raises(ModelIntegrityError, match="SHA-256"):
        spark_mod._load_payload(spark_mod._Payload(tampered, manifest))

    # a model whose file changed after loading is refused on the driver
    copy = tmp_path / "m.joblib"
    shutil.copy(saved_model, copy)
    shutil.copy(saved_model.with_suffix(".json"), copy.with_suffix(".json"))
    loaded = load(copy)
    copy.write_bytes(tampered)
    with pytest.raises(ModelIntegrityError, match="changed since"):
        spark_mod._payload_of(loaded)


PARITY_LINES = [
    b'\xef\xbb\xbf{"id": "bom", "text": "Officials said the attack was condemned."}\n',
    b"\n",
    b'{"text": "No id here: the council met on Tuesday."}\n',
    b"{bad json\n",
    b'{"id": "n1", "text": 5}\n',
    b'{"id": "n2"}\n',
    b"[1, 2]\n",
    b'{"id": 7, "text": "A numeric id."}\n',
    b'{"id": null, "text": "A null id."}\n',
    b'{"id": "cp", "text": "caf\xe9 in Windows-1252"}\n',
    b'{"id": "nul", "text": "a\x00b"}\n',
    b"   \n",
    b'{"id": "crlf", "text": "A Windows line."}\r\n',
    b'{"id": "null-text", "text": null}\n',
    b'{"id": "last", "text": "No newline at the end."}',
]


def test_parse_line_matches_propclf_score(tmp_path):
    spark_mod = pytest.importorskip("propclf.spark")
    path = tmp_path / "parity.jsonl"
    path.write_bytes(b"".join(PARITY_LINES))
    expected = [(it.id, it.text, it.error) for it in iter_items([str(path)], "jsonl")]
    got = []
    for n, raw in enumerate(PARITY_LINES, start=1):
        row = spark_mod._parse_line(raw.rstrip(b"\n"), n == 1, f"{path}:{n}", "text", "id")
        if row is not None:
            got.append(row)
    assert got == expected


def test_describe_error_names_the_failing_exception():
    spark_mod = pytest.importorskip("propclf.spark")
    task = RuntimeError(
        "\n  An exception was thrown from the Python worker. Please see the stack trace below.\n"
        "Traceback (most recent call last):\n"
        '  File "/x/propclf/spark.py", line 1, in _load_payload\n'
        "propclf.persistence.ModelIntegrityError: SHA-256 hash check failed for the model\n"
    )
    assert spark_mod.describe_error(task) == (
        "propclf.persistence.ModelIntegrityError: SHA-256 hash check failed for the model"
    )
    plain = ValueError("[PATH_NOT_FOUND] Path does not exist: file:/x.\nmore detail")
    assert spark_mod.describe_error(plain) == "[PATH_NOT_FOUND] Path does not exist: file:/x."
    assert spark_mod.describe_error(KeyError()) == "KeyError"


def test_default_ids_name_files_as_propclf_score(tmp_path, monkeypatch):
    spark_mod = pytest.importorskip("propclf.spark")
    (tmp_path / "dir" / "sub").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    uri = (tmp_path / "dir" / "sub" / "a b.jsonl").as_uri().replace("file://", "file:")
    assert spark_mod._display_path(uri, "dir/") == "dir/sub/a b.jsonl"
    assert spark_mod._display_path(uri, "./dir/sub/a b.jsonl") == "dir/sub/a b.jsonl"
    assert spark_mod._display_path(uri, "elsewhere") == str(tmp_path / "dir" / "sub" / "a b.jsonl")
    assert spark_mod._display_path("hdfs://nn/x.jsonl", "hdfs://nn/") == "hdfs://nn/x.jsonl"


# -- with Spark ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def spark():
    pytest.importorskip("pyspark")
    pytest.importorskip("pyarrow")
    if not HAS_JAVA:
        pytest.skip("Spark needs Java")
    from propclf.spark import spark_session

    before = os.environ.get("PYSPARK_PYTHON")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = spark_session(
        "local[2]",
        app_name="propclf-tests",
        quiet=True,
        conf={"spark.driver.extraJavaOptions": FAST_JVM},
    )
    session.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "4")  # several batches
    yield session
    session.stop()
    if before is None:
        os.environ.pop("PYSPARK_PYTHON", None)
    else:
        os.environ["PYSPARK_PYTHON"] = before


@pytest.fixture(scope="session")
def disk_model(saved_model):
    from propclf.persistence import load_model

    return load_model(saved_model)


@pytest.mark.spark
def test_score_dataframe_equals_python_api(spark, disk_model):
    from propclf.spark import score_dataframe

    # the last text is in a language the model cannot read: it carries the Scorer's warning
    texts = [*TEXTS, "Das Stadtmuseum öffnet nächsten Monat wieder seine Türen für Besucher."]
    ids = [f"r{i}" for i in range(len(texts))]
    df = spark.createDataFrame(list(zip(ids, texts, strict=True)), "id string, text string")
    out = score_dataframe(df, model=disk_model)
    assert [(f.name, f.dataType.simpleString()) for f in out.schema.fields] == [
        ("id", "string"),
        ("text", "string"),
        ("score", "double"),
        ("label", "string"),
        ("band", "string"),
        ("error", "string"),
        ("warning", "string"),
    ]
    got = {r["id"]: r for r in out.collect()}
    expected = _expected(disk_model, ids, texts)
    assert {r.id: (r.score, r.label, r.band, r.error, r.warning) for r in expected} == {
        i: (r["score"], r["label"], r["band"], r["error"], r["warning"]) for i, r in got.items()
    }
    assert got[ids[-1]]["warning"] is not None
    scores, _ = disk_model.score_documents(texts)
    np.testing.assert_allclose([got[i]["score"] for i in ids], scores, rtol=0, atol=1e-12)


@pytest.mark.spark
def test_order_ids_thresholds_and_in_memory_model(spark, small_model):
    from propclf.spark import score_dataframe

    texts = [f"{t} ({n})" for n in range(5) for t in TEXTS[:5]]
    ids = [f"doc-{n:03d}" for n in range(len(texts))]
    df = spark.createDataFrame(
        list(zip(ids, texts, range(len(texts)), strict=True)), "key string, body string, n int"
    )
    assert df.rdd.getNumPartitions() == 2
    out = score_dataframe(
        df, "body", small_model, id_col="key", flag=0.9, review=0.1, documents=False
    )
    assert out.columns == ["key", "score", "label", "band", "error", "warning"]
    rows = out.collect()
    assert [r["key"] for r in rows] == ids  # no shuffle: input order
    expected = spark.createDataFrame(
        _rows(_expected(small_model, ids, texts, flag=0.9, review=0.1, documents=False)),
        "key string, exp_score double, exp_label string, exp_band string, exp_error string",
    )
    joined = out.join(expected, "key").collect()
    assert len(joined) == len(ids)
    for r in joined:
        assert (r["score"], r["label"], r["band"]) == (
            r["exp_score"],
            r["exp_label"],
            r["exp_band"],
        )
        assert r["error"] is None
    assert {r["band"] for r in rows} >= {"flag", "pass"}


@pytest.mark.spark
def test_null_and_non_string_texts_are_error_rows(spark, disk_model):
    from propclf.spark import score_dataframe

    df = spark.createDataFrame(
        [("a", TEXTS[1]), ("b", None), ("c", TEXTS[0])], "id string, t string"
    )
    rows = {r["id"]: r for r in score_dataframe(df, "t", disk_model).collect()}
    assert rows["b"]["error"] == "'t' is null"
    assert (rows["b"]["score"], rows["b"]["label"], rows["b"]["band"]) == (None, None, None)
    exp = _expected(disk_model, ["a", "c"], [TEXTS[1], TEXTS[0]])
    assert [rows["a"]["score"], rows["c"]["score"]] == [r.score for r in exp]
    assert rows["a"]["error"] is None and rows["c"]["error"] is None

    ints = spark.createDataFrame([("a", 5), ("b", None)], "id string, text bigint")
    rows = {r["id"]: r for r in score_dataframe(ints, model=disk_model).collect()}
    assert rows["a"]["error"] == "'text' must be a string, got bigint"
    assert rows["b"]["error"] == "'text' is null"
    assert rows["a"]["score"] is None

    # a variant column holds a different type per row
    from pyspark.sql import functions as F

    raw = spark.createDataFrame(
        [("s", json.dumps(TEXTS[1])), ("i", "5"), ("l", "[1]"), ("n", "null")],
        "id string, raw string",
    )
    variants = raw.select("id", F.parse_json("raw").alias("text"))
    rows = {r["id"]: r for r in score_dataframe(variants, model=disk_model).collect()}
    assert rows["s"]["score"] == _expected(disk_model, ["s"], [TEXTS[1]])[0].score
    assert rows["i"]["error"] == "'text' must be a string, got bigint"
    assert rows["l"]["error"].startswith("'text' must be a string, got array")
    assert rows["n"]["error"] == "'text' is null"


@pytest.mark.spark
def test_score_dataframe_rejects_bad_arguments(spark, disk_model):
    from propclf.spark import score_dataframe

    df = spark.createDataFrame([("a", "x")], "id string, text string")
    with pytest.raises(ValueError, match="no column 'body'"):
        score_dataframe(df, "body", disk_model)
    with pytest.raises(ValueError, match="no column 'key'"):
        score_dataframe(df, model=disk_model, id_col="key")
    with pytest.raises(ValueError, match="thresholds"):
        score_dataframe(df, model=disk_model, flag=0.2, review=0.6)


@pytest.mark.spark
def test_read_jsonl_matches_propclf_score_even_across_file_splits(spark, tmp_path):
    from propclf.spark import read_jsonl

    path = tmp_path / "parity.jsonl"
    path.write_bytes(b"".join(PARITY_LINES) * 3)
    expected = [(it.id, it.text, it.error) for it in iter_items([str(path)], "jsonl")]
    assert [tuple(r) for r in read_jsonl(spark, str(path)).collect()] == expected

    spark.conf.set("spark.sql.files.maxPartitionBytes", "128")
    try:
        assert spark.read.text(str(path)).rdd.getNumPartitions() > 3
        assert [tuple(r) for r in read_jsonl(spark, str(path)).collect()] == expected
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")

    # a folder is read recursively; ids name files as propclf score does (files in any order)
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.jsonl").write_bytes(b"".join(PARITY_LINES[:5]))
    (folder / "sub" / "b c.jsonl").write_bytes(b"".join(PARITY_LINES[5:]))
    expected = sorted((it.id, it.text, it.error) for it in iter_items([str(folder)], "jsonl"))
    assert sorted(tuple(r) for r in read_jsonl(spark, str(folder)).collect()) == expected


def _write_jsonl(path: Path, records: list) -> None:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


CLI_RECORDS = [
    {"id": "a", "text": TEXTS[0]},
    {"id": "b", "text": TEXTS[1]},
    '{"id": "broken", "text": ',  # malformed: line 3
    {"id": "c"},
    "",
    {"id": "d", "text": ["not", "a", "string"]},
    {"text": TEXTS[2]},  # no id: line 7
]


def _check_cli_rows(rows: list[dict], inp: Path, model) -> None:
    assert [r["id"] for r in rows] == ["a", "b", f"{inp}:3", "c", "d", f"{inp}:7"]
    errors = [r["error"] for r in rows]
    assert errors[2].startswith("invalid JSON: ")
    assert errors[3:5] == ["record has no 'text' field", "'text' must be a string, got list"]
    assert errors[:2] == [None, None] and errors[5] is None
    for r in rows:
        if r["error"] is not None:
            assert (r["score"], r["label"], r["band"]) == (None, None, None)
    exp = _expected(model, ["a", "b", "x"], [TEXTS[0], TEXTS[1], TEXTS[2]])
    assert [rows[i]["score"] for i in (0, 1, 5)] == [r.score for r in exp]
    assert [rows[i]["band"] for i in (0, 1, 5)] == [r.band for r in exp]
    assert {r["model"] for r in rows} == {model.manifest_["model_id"]}


def _read_jsonl_dir(folder: Path) -> list[dict]:
    parts = sorted(folder.glob("part-*"))
    assert parts
    return [json.loads(line) for p in parts for line in p.read_text().splitlines() if line]


@pytest.mark.spark
def test_cli_jsonl_to_parquet(spark, saved_model, disk_model, tmp_path):
    import pandas as pd

    from propclf.cli import main

    inp, out = tmp_path / "in.jsonl", tmp_path / "out"
    _write_jsonl(inp, CLI_RECORDS)
    res = CliRunner().invoke(main, ["spark-score", str(inp), str(out), "--model", str(saved_model)])
    assert res.exit_code == 1, res.output
    assert "3 of 6 items could not be scored" in res.stderr
    frame = pd.read_parquet(out)
    assert list(frame.columns) == ["id", "label", "score", "band", "error", "model", "warning"]
    rows = [
        {k: (None if pd.isna(v) else v) for k, v in r.items()} for r in frame.to_dict("records")
    ]
    _check_cli_rows(rows, inp, disk_model)

    # the output exists: refused without --overwrite, cleanly
    again = CliRunner().invoke(
        main, ["spark-score", str(inp), str(out), "--model", str(saved_model)]
    )
    assert again.exit_code == 1
    assert "already exists" in again.stderr
    assert again.exception is None or isinstance(again.exception, SystemExit)


@pytest.mark.spark
def test_cli_parquet_to_jsonl(spark, saved_model, disk_model, tmp_path):
    import pandas as pd

    from propclf.cli import main

    inp, out = tmp_path / "in.parquet", tmp_path / "out"
    pd.DataFrame({"key": [10, 11, 12], "body": [TEXTS[0], None, TEXTS[4]]}).to_parquet(inp)
    args = ["spark-score", str(inp), str(out), "--model", str(saved_model)]
    args += ["--output-format", "jsonl", "--text-col", "body", "--id-col", "key"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 1, res.output
    rows = _read_jsonl_dir(out)
    assert [r["id"] for r in rows] == [10, 11, 12]
    assert all(
        set(r) == {"id", "label", "score", "band", "error", "model", "warning"} for r in rows
    )
    assert rows[1]["error"] == "'body' is null" and rows[1]["score"] is None
    exp = _expected(disk_model, ["x", "y"], [TEXTS[0], TEXTS[4]])
    assert [rows[0]["score"], rows[2]["score"]] == [r.score for r in exp]

    # every record scored: exit 0; no id column: FILE:ROW ids
    pd.DataFrame({"body": [TEXTS[1], TEXTS[3]]}).to_parquet(inp)
    res = CliRunner().invoke(main, [*args[:-2], "--overwrite"])
    assert res.exit_code == 0, res.output
    rows = _read_jsonl_dir(out)
    assert [r["id"] for r in rows] == ["in.parquet:1", "in.parquet:2"]
    assert all(r["error"] is None for r in rows)


@pytest.mark.spark
def test_cli_subprocess_end_to_end(spark, saved_model, disk_model, tmp_path):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out"
    _write_jsonl(inp, CLI_RECORDS)
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, JDK_JAVA_OPTIONS=FAST_JVM)
    args = ["--master", "local[2]", "--output-format", "jsonl", "--model", str(saved_model)]
    proc = subprocess.run(
        [*CLI, "spark-score", str(inp), str(out), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr
    assert "3 of 6 items could not be scored" in proc.stderr
    assert "Traceback" not in proc.stderr
    _check_cli_rows(_read_jsonl_dir(out), inp, disk_model)
