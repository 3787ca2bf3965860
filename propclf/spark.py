"""Score Spark DataFrames and files with Spark (the optional extra ``propclf[spark]``).

The model travels to the executors as a **broadcast of the artifact's bytes and its manifest**:
each executor's Python worker checks the bytes against the manifest's SHA-256 (through
:func:`propclf.persistence.load`, the same check as :func:`propclf.load_model`) before anything
is unpickled, and keeps the loaded model for the tasks that follow. Broadcasting the bytes rather
than a path means executors need no shared filesystem and cannot pick up a different file than
the driver loaded.

Texts are scored in vectorised batches by a pandas UDF that runs :class:`propclf.scoring.Scorer`,
so scores, labels and bands are exactly those of the Python API and the ``propclf score`` CLI.
Rows without a string text get an ``error`` and a null score, as ``propclf score`` does.

``import propclf`` never imports this module (nor pyspark).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlparse

_HINT = "propclf.spark needs pyspark, pandas and pyarrow: pip install 'propclf[spark]'"

try:
    import pandas as pd
    import pyarrow  # noqa: F401  (pandas UDFs need it; fail here with the hint, not on executors)
    from pyspark.sql import Column, DataFrame, SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql import types as T
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(f"{_HINT} ({exc})") from exc

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.core.broadcast import Broadcast

__all__ = [
    "RESULT_COLUMNS",
    "describe_error",
    "read_jsonl",
    "score_dataframe",
    "score_files",
    "spark_session",
]

log = logging.getLogger(__name__)

#: Columns added by :func:`score_dataframe`, in order, with their Spark types.
RESULT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("score", "double"),
    ("label", "string"),
    ("band", "string"),
    ("error", "string"),
    ("warning", "string"),
)
_RESULT_SCHEMA = ", ".join(f"{name} {kind}" for name, kind in RESULT_COLUMNS)
_PARSED_SCHEMA = "id string, text string, error string"
_DEFAULT_BATCH = 1024
_LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.ui.showConsoleProgress": "false",
}


# -- the model on the executors --------------------------------------------------------------------
@dataclass(frozen=True)
class _Payload:
    """What is broadcast: the artifact's bytes and the manifest that vouches for them."""

    artifact: bytes
    manifest: dict[str, Any]


_MODELS: dict[str, Any] = {}
_MODELS_LOCK = threading.Lock()
_MAX_CACHED = 4


def _load_payload(payload: _Payload) -> Any:
    """Verify the broadcast artifact against its manifest's SHA-256, then load it.

    The bytes are written with the manifest to a private temporary folder and loaded with
    :func:`propclf.persistence.load`, so executors apply exactly the checks of
    :func:`propclf.load_model` (hash before unpickling, manifest format, scikit-learn line).

    Raises
    ------
    propclf.persistence.ModelIntegrityError
        The bytes do not match the manifest's SHA-256 (nothing is unpickled).
    """
    from propclf.persistence import ModelIntegrityError, load

    digest = hashlib.sha256(payload.artifact).hexdigest()
    expected = str(payload.manifest.get("artifact_sha256"))
    if digest != expected:  # fail before touching the filesystem; load() checks again
        raise ModelIntegrityError(
            f"SHA-256 hash check failed for the broadcast model: {digest[:16]}... differs from "
            f"the manifest's {expected[:16]}...; it was not loaded"
        )
    folder = tempfile.mkdtemp(prefix="propclf-model-")
    try:
        artifact = Path(folder) / "model.joblib"
        artifact.write_bytes(payload.artifact)
        manifest = dict(payload.manifest, artifact=artifact.name)
        artifact.with_suffix(".json").write_text(json.dumps(manifest), encoding="utf-8")
        model = load(artifact)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    model.manifest_ = dict(payload.manifest)
    model.path_ = None
    return model


def _executor_model(broadcast: Broadcast[_Payload], digest: str) -> Any:
    """The model of ``broadcast``, loaded once per Python worker (workers are reused)."""
    with _MODELS_LOCK:
        model = _MODELS.get(digest)
        if model is None:
            model = _load_payload(broadcast.value)
            if len(_MODELS) >= _MAX_CACHED:
                _MODELS.clear()
            _MODELS[digest] = model
        return model


def _payload_of(model: Any) -> tuple[Any, _Payload]:
    """The loaded model (driver side) and its broadcast payload.

    ``model`` is ``None`` (the default model), a path, or a fitted
    :class:`~propclf.model.PropagandaClassifier`: loaded from disk (its artifact is re-read and
    checked against the manifest it was loaded with) or in memory (saved to a temporary artifact
    first).
    """
    from propclf.model import PropagandaClassifier
    from propclf.persistence import ModelIntegrityError, file_sha256, load_model, save

    if model is None or isinstance(model, str | os.PathLike):
        model = load_model(model)
    if not isinstance(model, PropagandaClassifier):
        raise TypeError(f"model must be a PropagandaClassifier or a path, not {type(model)}")
    manifest = getattr(model, "manifest_", None)
    path = getattr(model, "path_", None)
    if manifest and path and Path(path).is_file():
        data = Path(path).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest != manifest.get("artifact_sha256"):
            raise ModelIntegrityError(
                f"{path} changed since the model was loaded (SHA-256 {digest[:16]}... differs "
                f"from the manifest's); reload it with propclf.load_model"
            )
        return model, _Payload(data, dict(manifest))
    with tempfile.TemporaryDirectory(prefix="propclf-model-") as tmp:
        artifact = Path(tmp) / "model.joblib"
        manifest = save(model, artifact, command="propclf.spark (in-memory model)")
        if file_sha256(artifact) != manifest["artifact_sha256"]:  # pragma: no cover - paranoia
            raise ModelIntegrityError("temporary artifact changed while being written")
        return model, _Payload(artifact.read_bytes(), manifest)


# -- scoring ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Scoring:
    """What the executors need: the broadcast model and the :class:`Scorer` settings."""

    broadcast: Broadcast[_Payload]
    digest: str
    flag: float | None
    review: float | None
    documents: bool
    batch_size: int

    def score(self, items: list[Any], with_id: bool = False) -> pd.DataFrame:
        """Score :class:`~propclf.inputs.Item` s (errors pass through): one row per item."""
        from propclf.scoring import Scorer

        model = _executor_model(self.broadcast, self.digest)
        scorer = Scorer(model, self.flag, self.review, reasons=0, documents=self.documents)
        results = list(scorer.score_items(items, self.batch_size))
        columns: dict[str, pd.Series] = {}
        if with_id:
            columns["id"] = pd.Series([r.id for r in results], dtype=object)
        columns["score"] = pd.Series([r.score for r in results], dtype="Float64")
        for name in ("label", "band", "error", "warning"):
            columns[name] = pd.Series([getattr(r, name) for r in results], dtype=object)
        return pd.DataFrame(columns)


def _prepare(
    spark: SparkSession,
    model: Any,
    flag: float | None,
    review: float | None,
    documents: bool,
    batch_size: int,
) -> tuple[Any, _Scoring]:
    """Load and check the model and thresholds on the driver, broadcast the model's bytes."""
    from propclf.scoring import Scorer

    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    loaded, payload = _payload_of(model)
    Scorer(loaded, flag, review, documents=documents)  # thresholds checked here, not on executors
    try:
        sc = spark.sparkContext
    except Exception as exc:  # Spark Connect sessions have no SparkContext
        raise TypeError(
            "propclf.spark needs a classic SparkSession (Spark Connect has no broadcasts)"
        ) from exc
    log.info(
        "broadcasting model %s (%d bytes)", payload.manifest.get("model_id"), len(payload.artifact)
    )
    digest = str(payload.manifest["artifact_sha256"])
    job = _Scoring(sc.broadcast(payload), digest, flag, review, documents, batch_size)
    return loaded, job


def _score_series(texts: pd.Series, job: _Scoring, null_error: str) -> pd.DataFrame:
    """Score one Arrow batch of texts on an executor: one result row per text, in order."""
    from propclf.inputs import Item

    items = [
        Item(str(i), text=t) if isinstance(t, str) else Item(str(i), error=null_error)
        for i, t in enumerate(texts.tolist())
    ]
    return job.score(items)


def _scoring_udf(job: _Scoring, null_error: str) -> Any:
    """A pandas UDF ``text -> struct<score, label, band, error, warning>``."""
    from pyspark.sql.functions import pandas_udf

    def score_texts(texts: pd.Series) -> pd.DataFrame:
        return _score_series(texts, job, null_error)

    return pandas_udf(score_texts, returnType=_RESULT_SCHEMA)  # type: ignore[call-overload]


def _text_and_error(
    df: DataFrame, text_col: str, shown: str | None = None
) -> tuple[Column, Column]:
    """The text to score (string or null) and an up-front error (null, or why not a string).

    ``shown`` is the column name used in error messages (default: ``text_col``).
    """
    field = df.schema[text_col]
    shown = text_col if shown is None else shown
    col = F.col(f"`{text_col}`")
    none = F.lit(None).cast("string")
    if isinstance(field.dataType, T.StringType):
        return col, none
    variant = getattr(T, "VariantType", None)
    if variant is not None and isinstance(field.dataType, variant):
        vkind = F.schema_of_variant(col)
        is_str = vkind == F.lit("STRING")
        text = F.when(is_str, F.variant_get(col, "$", "string"))
        err = F.when(  # a JSON null in a variant is a null text, reported by the scorer
            col.isNotNull() & ~F.is_variant_null(col) & ~is_str,
            F.concat(F.lit(f"'{shown}' must be a string, got "), F.lower(vkind)),
        )
        return text, err
    kind = field.dataType.simpleString()
    log.warning("column %r is %s, not string: every row gets an error", shown, kind)
    err = F.when(col.isNotNull(), F.lit(f"'{shown}' must be a string, got {kind}"))
    return none, err


def _apply(
    df: DataFrame,
    text: Column,
    pre_error: Column,
    udf: Any,
) -> DataFrame:
    """``df`` with the result columns (replacing columns of the same names), rows in order."""
    tmp = "__propclf_result"
    names = {name for name, _ in RESULT_COLUMNS}
    kept = [F.col(f"`{c}`") for c in df.columns if c not in names]
    scored = df.select(*kept, udf(text).alias(tmp), pre_error.alias(tmp + "_pre"))
    r = F.col(tmp)
    return scored.select(
        *kept,
        r["score"].alias("score"),
        r["label"].alias("label"),
        r["band"].alias("band"),
        F.coalesce(F.col(tmp + "_pre"), r["error"]).alias("error"),
        r["warning"].alias("warning"),
    )


def score_dataframe(
    df: DataFrame,
    text_col: str = "text",
    model: Any = None,
    *,
    id_col: str | None = None,
    flag: float | None = None,
    review: float | None = None,
    documents: bool = True,
    batch_size: int = _DEFAULT_BATCH,
) -> DataFrame:
    """Score a DataFrame's texts; return it with ``score``, ``label``, ``band``, ``error``, ``warning``.

    The result is lazy, keeps the rows in their order (no shuffle), and gives each row exactly
    the score, label, band and warning of :class:`propclf.scoring.Scorer` (the ``propclf score``
    CLI). Rows whose text is null or not a string get an ``error`` message and null ``score``,
    ``label`` and ``band``; scored rows have a null ``error``. ``warning`` is null unless the
    text's vocabulary coverage is low (another language, or English mixed with one; the score is
    kept).

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        The rows to score (of a classic, non-Connect session).
    text_col : str, default="text"
        Column holding the texts: a string column (or a variant column, in which non-string
        values are errors). A column of another type makes every non-null row an error.
    model : PropagandaClassifier, str or path, optional
        A fitted model (loaded from disk or in memory) or the path of a saved one; default: the
        embedded default model. It is broadcast to the executors as bytes plus manifest and
        hash-checked there before unpickling.
    id_col : str, optional
        When given, return only this column and the result columns (the record shape of
        ``propclf score``); by default every input column is kept. Existing ``score``,
        ``label``, ``band``, ``error`` or ``warning`` columns are replaced either way.
    flag, review : float, optional
        Thresholds overriding the model's (``0 <= review <= flag <= 1``); as in
        :class:`~propclf.scoring.Scorer`, a lowered ``flag`` drags the default review threshold
        along.
    documents : bool, default=True
        Score long texts by passage (max rule), as the CLI does; ``False``: one score per text.
    batch_size : int, default=1024
        Texts per model call inside each Arrow batch (Arrow batches hold up to
        ``spark.sql.execution.arrow.maxRecordsPerBatch`` rows).

    Returns
    -------
    pyspark.sql.DataFrame
        ``df``'s columns (or ``id_col`` only) plus ``score`` (double), ``label``, ``band``,
        ``error`` and ``warning`` (strings).

    Raises
    ------
    ValueError
        ``text_col`` or ``id_col`` is not a column, thresholds are inconsistent, or
        ``batch_size < 1``.
    propclf.persistence.ModelError
        The model cannot be loaded or fails its hash check.

    Examples
    --------
    >>> from propclf.spark import score_dataframe
    >>> scored = score_dataframe(  # doctest: +SKIP
    ...     spark.read.parquet("posts/"), "body", id_col="post_id"
    ... )
    >>> scored.where("band != 'pass'").write.parquet("to_review/")  # doctest: +SKIP
    """
    for name, role in ((text_col, "text_col"), (id_col, "id_col")):
        if name is not None and name not in df.columns:
            raise ValueError(f"{role}: no column {name!r} (columns: {', '.join(df.columns)})")
    _, job = _prepare(df.sparkSession, model, flag, review, documents, batch_size)
    text, pre_error = _text_and_error(df, text_col)
    out = _apply(df, text, pre_error, _scoring_udf(job, f"'{text_col}' is null"))
    if id_col is not None:
        out = out.select(F.col(f"`{id_col}`"), *(name for name, _ in RESULT_COLUMNS))
    return out


# -- JSONL files -----------------------------------------------------------------------------------
def _display_path(uri: str, given: str) -> str:
    """How ``propclf score`` would name a file: relative to the path the user gave, if local."""
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        return uri
    local = os.path.normpath(unquote(parsed.path))
    root = os.path.normpath(os.path.abspath(given))
    shown = str(Path(given))  # "./a.jsonl" -> "a.jsonl", "dir/" -> "dir", as propclf score
    if local == root:
        return shown
    if local.startswith(root + os.sep):
        return os.path.join(shown, os.path.relpath(local, root))
    return local


def _parse_line(
    raw: bytes, first: bool, default_id: str, text_field: str, id_field: str
) -> tuple[str, str | None, str | None] | None:
    """One JSONL line to ``(id, text, error)`` like ``propclf score --input jsonl``; blank: None."""
    from propclf.inputs import parse_line

    item = parse_line(raw, default_id, first=first, text_field=text_field, id_field=id_field)
    return None if item is None else (item.id, item.text, item.error)


def _parse_batches(
    batches: Iterator[pd.DataFrame],
    splits: Broadcast[dict[tuple[str, int], tuple[str, int]]],
    text_field: str,
    id_field: str,
) -> Iterator[pd.DataFrame]:
    """Parse the lines of one partition; rows of a file split arrive together and in order."""
    table = splits.value
    seen: dict[tuple[str, int], int] = {}
    for pdf in batches:
        ids: list[str] = []
        texts: list[str | None] = []
        errors: list[str | None] = []
        for raw, path, start in zip(pdf["line"], pdf["file"], pdf["start"], strict=True):
            key = (str(path), int(start))
            k = seen.get(key, 0)
            seen[key] = k + 1
            known = table.get(key)
            if known is None:  # the files changed since they were counted: name the split
                name, line_no = _display_path(key[0], key[0]), 0
                default_id = f"{name}@{key[1]}+{k + 1}"
            else:
                name, line_no = known[0], known[1] + k
                default_id = f"{name}:{line_no}"
            row = _parse_line(
                bytes(raw) if raw is not None else b"",
                line_no == 1,
                default_id,
                text_field,
                id_field,
            )
            if row is not None:
                ids.append(row[0])
                texts.append(row[1])
                errors.append(row[2])
        yield pd.DataFrame(
            {
                "id": pd.Series(ids, dtype=object),
                "text": pd.Series(texts, dtype=object),
                "error": pd.Series(errors, dtype=object),
            }
        )


def read_jsonl(
    spark: SparkSession,
    path: str | Sequence[str],
    *,
    text_field: str = "text",
    id_field: str = "id",
) -> DataFrame:
    """Read JSONL records as ``id``, ``text``, ``error`` rows, one per non-blank line.

    Lines are parsed in Python exactly as ``propclf score --input jsonl`` parses them, rather
    than by Spark's JSON reader, which would turn ``{"text": 5}`` into the string ``"5"``: a
    malformed line, a record without a string ``text_field`` or a non-object line yields one row
    with an ``error`` and a null ``text``. A record without an id gets ``PATH:LINE`` (line numbers
    from 1, blank lines counted) as ``propclf score`` does.

    Numbering lines costs one extra pass over the input (a count per file split).

    Parameters
    ----------
    spark : SparkSession
    path : str or sequence of str
        Files, folders (read recursively) or globs Spark can read (local, HDFS, S3, ...);
        Spark skips files whose names start with ``_`` or ``.``.
    text_field, id_field : str
        Names of the record fields holding the text and the id.

    Returns
    -------
    pyspark.sql.DataFrame
        Columns ``id``, ``text``, ``error`` (strings), in input order.
    """
    lines, splits = _numbered_lines(spark, path)

    def parse(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        return _parse_batches(batches, splits, text_field, id_field)

    return lines.mapInPandas(parse, schema=_PARSED_SCHEMA)


def _numbered_lines(
    spark: SparkSession, path: str | Sequence[str]
) -> tuple[DataFrame, Broadcast[dict[tuple[str, int], tuple[str, int]]]]:
    """Raw lines with their file split, and the first line number of every split (broadcast).

    Spark reads a large file as several splits, each from its own byte offset; counting the
    lines of every split (one pass) gives each split's first line number, and within a split
    rows arrive in order, so every line gets its number without a shuffle.
    """
    paths = [path] if isinstance(path, str) else list(path)
    lines = (
        spark.read.option("recursiveFileLookup", "true")  # folders are read recursively
        .text(paths)
        .select(
            F.col("value").cast("binary").alias("line"),
            F.col("_metadata.file_path").alias("file"),
            F.col("_metadata.file_block_start").alias("start"),
        )
    )
    counts = lines.groupBy("file", "start").count().collect()
    given = paths[0] if len(paths) == 1 else ""
    table: dict[tuple[str, int], tuple[str, int]] = {}
    next_line: dict[str, int] = {}
    for row in sorted(counts, key=lambda r: (r["file"], r["start"])):
        file, start = str(row["file"]), int(row["start"])
        first = next_line.get(file, 1)
        name = _display_path(file, given) if given else _display_path(file, file)
        table[(file, start)] = (name, first)
        next_line[file] = first + int(row["count"])
    return lines, spark.sparkContext.broadcast(table)


def _score_jsonl_batches(
    batches: Iterator[pd.DataFrame],
    splits: Broadcast[dict[tuple[str, int], tuple[str, int]]],
    text_field: str,
    id_field: str,
    job: _Scoring,
) -> Iterator[pd.DataFrame]:
    """Parse and score in one Python step (one worker per task, texts cross Arrow once)."""
    from propclf.inputs import Item

    for parsed in _parse_batches(batches, splits, text_field, id_field):
        items = [
            Item(i, text=t, error=e)
            for i, t, e in zip(parsed["id"], parsed["text"], parsed["error"], strict=True)
        ]
        yield job.score(items, with_id=True)


# -- sessions and files (the CLI's back end) -------------------------------------------------------
def spark_session(
    master: str | None = None,
    app_name: str = "propclf",
    *,
    quiet: bool = False,
    conf: dict[str, str] | None = None,
) -> SparkSession:
    """The active SparkSession, or a new one (``local[2]`` unless a master is configured).

    For local masters the web UI and console progress bars are off, shuffles use few
    partitions and, unless ``PYSPARK_PYTHON`` is set, Python workers run this interpreter (the one
    with propclf installed). Under ``spark-submit`` the master and settings of the submission
    apply.

    Parameters
    ----------
    master : str, optional
        Master URL (``local[2]``, ``spark://host:7077``, ``yarn``, ...). Default: the active
        session, else the ``spark-submit`` master, else ``$MASTER``, else ``local[2]``.
    app_name : str, default="propclf"
    quiet : bool, default=False
        Set Spark's log level to ``ERROR``.
    conf : dict, optional
        More settings for a new session (over the local defaults).

    Raises
    ------
    RuntimeError
        Java is not installed (no ``java`` on the PATH and no ``JAVA_HOME``).
    """
    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ  # launched by spark-submit / pyspark shell
    if not submitted and not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        raise RuntimeError("Spark needs Java (17 or later): install a JDK or set JAVA_HOME")
    builder = SparkSession.builder.appName(app_name)
    if master is None and not submitted:
        master = os.environ.get("MASTER") or "local[2]"
    if master is not None:
        builder = builder.master(master)
    if master is not None and master.startswith("local"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        for key, value in _LOCAL_CONF.items():
            builder = builder.config(key, value)
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    if quiet:
        session.sparkContext.setLogLevel("ERROR")
    return session


def _score_input(
    spark: SparkSession, path: str, fmt: str, text_col: str, id_col: str, job: _Scoring
) -> DataFrame:
    """Result rows ``id, score, label, band, error, warning`` of every input record, in order."""
    if fmt == "jsonl":
        lines, splits = _numbered_lines(spark, path)

        def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            return _score_jsonl_batches(batches, splits, text_col, id_col, job)

        return lines.mapInPandas(score, schema="id string, " + _RESULT_SCHEMA)
    df = spark.read.parquet(path)
    if text_col not in df.columns:
        raise ValueError(f"no column {text_col!r} in {path} (columns: {', '.join(df.columns)})")
    if id_col in df.columns:
        ident = F.col(f"`{id_col}`")
    else:  # like a JSONL line number: FILE:ROW, rows counted from 1
        ident = F.concat_ws(
            ":", F.col("_metadata.file_name"), (F.col("_metadata.row_index") + 1).cast("string")
        )
    framed = df.select(ident.alias("id"), F.col(f"`{text_col}`").alias("text"))
    text, pre_error = _text_and_error(framed, "text", shown=text_col)
    scored = _apply(framed, text, pre_error, _scoring_udf(job, f"'{text_col}' is null"))
    return scored.drop("text")


def score_files(
    spark: SparkSession,
    input_path: str,
    output_path: str,
    *,
    input_format: Literal["jsonl", "parquet"] = "jsonl",
    output_format: Literal["parquet", "jsonl"] = "parquet",
    text_col: str = "text",
    id_col: str = "id",
    model: Any = None,
    flag: float | None = None,
    review: float | None = None,
    documents: bool = True,
    overwrite: bool = False,
) -> tuple[int, int]:
    """Score JSONL or Parquet files into Parquet or JSONL; return ``(rows, errors)``.

    Output rows are the records of ``propclf score``: ``id``, ``label``, ``score``, ``band``,
    ``error``, ``model`` (the model id) and ``warning`` (null unless the text's vocabulary
    coverage is low, see :class:`propclf.scoring.Scorer`); ``output_path`` is a folder of part files, in
    input order. JSONL output keeps null fields. Every input record yields one row, with an
    ``error`` when it could not be read or scored.
    """
    if input_format not in ("jsonl", "parquet") or output_format not in ("jsonl", "parquet"):
        raise ValueError("formats are 'jsonl' or 'parquet'")
    loaded, job = _prepare(spark, model, flag, review, documents, _DEFAULT_BATCH)
    model_id = (getattr(loaded, "manifest_", None) or {}).get("model_id")
    scored = _score_input(spark, input_path, input_format, text_col, id_col, job).select(
        "id",
        "label",
        "score",
        "band",
        "error",
        F.lit(model_id).cast("string").alias("model"),
        "warning",
    )
    writer = scored.write.mode("overwrite" if overwrite else "errorifexists")
    if output_format == "parquet":
        writer.parquet(output_path)
        back = spark.read.parquet(output_path)
    else:
        writer.option("ignoreNullFields", "false").json(output_path)
        back = spark.read.schema("error string").json(output_path)
    row = back.agg(F.count(F.lit(1)).alias("rows"), F.count("error").alias("errors")).first()
    assert row is not None
    return int(row["rows"]), int(row["errors"])


def describe_error(exc: BaseException) -> str:
    """A one-line message for a Spark failure (the Python exception of a failed task, if any)."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if "Traceback (most recent call last)" in text:
        raised = [
            line
            for line in lines
            if line.split(":")[0].rsplit(".", 1)[-1].endswith(("Error", "Exception"))
        ]
        if raised:
            return raised[-1]
    return lines[0]
