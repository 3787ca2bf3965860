"""The ``propclf`` command line: click commands, nothing else."""

from __future__ import annotations

import json
import logging
import math
import shlex
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import click

from propclf import __version__
from propclf.text import QUOTE_MODES

_FORMATS = click.Choice(["table", "jsonl", "csv"])


def _fail(message: str) -> None:
    click.echo(f"propclf: error: {message}", err=True)
    sys.exit(1)


def _json_ready(obj: Any) -> Any:
    """``obj`` with NaN and infinities as ``null`` (undefined metrics: no positives, say), as
    strict JSON has no NaN."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _json_ready(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_ready(v) for v in obj]
    return obj


def _load(model_path: str | None) -> Any:
    from propclf.persistence import ModelError, load_model

    try:
        return load_model(model_path)
    except (ModelError, OSError) as exc:
        _fail(str(exc))


def _progress(results: Iterator[Any], enabled: bool) -> Iterator[Any]:
    """Pass results through, drawing a count and rate on stderr (terminals only)."""
    if not enabled:
        yield from results
        return
    start = last = time.monotonic()
    n = 0
    for r in results:
        n += 1
        now = time.monotonic()
        if now - last > 0.5:
            last = now
            click.echo(f"\rscored {n:,} items ({n / (now - start):,.0f}/s)", err=True, nl=False)
        yield r
    if n and last > start:
        click.echo(f"\rscored {n:,} items in {time.monotonic() - start:.1f}s", err=True)


def _count_warnings(results: Iterable[Any], counter: Counter[str]) -> Iterator[Any]:
    """Pass results through, counting those that carry a warning."""
    for r in results:
        if r.warning:
            counter["warning"] += 1
        yield r


def _command_line(ctx: click.Context) -> str:
    """The command as it was typed: the arguments and options given, in declaration order."""
    from click.core import ParameterSource

    words = ["propclf", ctx.info_name or ""]
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        source = ctx.get_parameter_source(param.name or "")
        if value is None or value == () or source is not ParameterSource.COMMANDLINE:
            continue
        values = value if isinstance(value, tuple) else (value,)
        if isinstance(param, click.Argument):
            words += [str(v) for v in values]
        elif isinstance(param, click.Option) and param.is_flag:
            # --keep-names, --no-supplement: the switch that was given, never "--flag False"
            words.append(param.opts[0] if value else (param.secondary_opts or param.opts)[0])
        else:
            words += [w for v in values for w in (param.opts[0], str(v))]
    return shlex.join(words)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="propclf")
@click.option("-v", "--verbose", count=True, help="More diagnostics on stderr.")
def main(verbose: int) -> None:
    """Tell extremist propaganda from reporting about extremism."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="propclf: %(levelname)s: %(message)s")


@main.command()
@click.argument("paths", nargs=-1, type=str)
@click.option(
    "--input",
    "input_format",
    type=click.Choice(["auto", "text", "lines", "jsonl"]),
    default="auto",
    show_default=True,
    help="text: a file is one item; lines: each line; jsonl: {'id','text'} records. "
    "auto: .jsonl files as jsonl, other files as text, stdin as lines.",
)
@click.option("--format", "fmt", type=_FORMATS, default="table", show_default=True)
@click.option("--model", "model_path", type=click.Path(dir_okay=False), help="A .joblib model.")
@click.option("--threshold", type=click.FloatRange(0, 1), help="Flag threshold (label cut-off).")
@click.option("--review-threshold", type=click.FloatRange(0, 1), help="Lower edge of 'review'.")
@click.option(
    "--reasons",
    type=int,
    default=0,
    is_flag=False,
    flag_value=5,
    help="Add the top N n-grams behind each score (JSONL output; N defaults to 5).",
)
@click.option(
    "--passages/--no-passages",
    default=True,
    show_default=True,
    help="Score long texts by passage and report the passages that triggered.",
)
@click.option("--jobs", "-j", type=int, default=0, help="Worker processes (0: all cores).")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=512, show_default=True)
@click.option("--progress/--no-progress", default=None, help="Progress on stderr (default: tty).")
def score(
    paths: tuple[str, ...],
    input_format: str,
    fmt: str,
    model_path: str | None,
    threshold: float | None,
    review_threshold: float | None,
    reasons: int,
    passages: bool,
    jobs: int,
    batch_size: int,
    progress: bool | None,
) -> None:
    """Score files, folders (recursively) or standard input (-).

    One output row per item (file, line or JSONL record) with its id, label, score and band;
    an item that cannot be read or scored gets an error instead. Exit status 0 when every item
    was scored, 1 otherwise.
    """
    from propclf.inputs import iter_items
    from propclf.outputs import write_results
    from propclf.scoring import classify

    if not paths:
        if sys.stdin is None or sys.stdin.isatty():
            raise click.UsageError("give files or folders to score, or - to read standard input")
        paths = ("-",)
    if reasons < 0:
        raise click.BadParameter("must be >= 0", param_hint="--reasons")
    for name, value in (("--threshold", threshold), ("--review-threshold", review_threshold)):
        if value is not None and math.isnan(value):
            raise click.BadParameter("must be a number in [0, 1], not NaN", param_hint=name)
    model = _load(model_path)
    flag = threshold
    if review_threshold is not None and review_threshold > (
        threshold if threshold is not None else model.flag_threshold
    ):
        raise click.BadParameter(
            "must not exceed --threshold"
            if threshold is not None
            else f"must not exceed the model's flag threshold {model.flag_threshold} "
            "(or give --threshold too)",
            param_hint="--review-threshold",
        )
    if sys.stdout is None:
        _fail("standard output is closed")
    # an id that cannot be written (a lone surrogate from a JSON escape or an undecodable file
    # name) is escaped, not the end of the run
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="backslashreplace")
    try:
        results = classify(
            iter_items(paths, input_format),  # type: ignore[arg-type]
            model,
            flag=flag,
            review=review_threshold,
            reasons=reasons,
            documents=passages,
            batch_size=batch_size,
            jobs=jobs,
        )
        show = sys.stderr.isatty() if progress is None else progress
        warned: Counter[str] = Counter()
        counted = _count_warnings(_progress(results, show), warned)
        rows, errors = write_results(counted, sys.stdout, fmt)  # type: ignore[arg-type]
    except ValueError as exc:
        _fail(str(exc))
    except BrokenPipeError:  # downstream closed the pipe: stop quietly
        sys.stderr.close()
        sys.exit(1)
    except OSError as exc:  # the output could not be written: a full disk, a closed descriptor
        _fail(f"cannot write the output: {exc.strerror or exc}")
    if warned["warning"]:
        click.echo(
            f"propclf: {warned['warning']} of {rows} items have low vocabulary coverage "
            "(not English, or mixed with another language): their scores are unreliable "
            "(see the warning field)",
            err=True,
        )
    if errors:
        click.echo(f"propclf: {errors} of {rows} items could not be scored", err=True)
        sys.exit(1)


@main.command()
@click.argument("src", type=click.Path(dir_okay=False))
@click.argument("dst", type=click.Path(dir_okay=False))
def resave(src: str, dst: str) -> None:
    """Save the model SRC again as DST (.joblib) in the current format, provenance kept.

    A model of manifest format 1 (earlier builds) loads only under the scikit-learn minor line
    that wrote it; resaved under that line, the copy loads, and scores the same, under any.
    """
    from propclf.persistence import ModelError, resave

    try:
        manifest = resave(src, dst)
    except (ModelError, OSError, ValueError) as exc:
        _fail(str(exc))
    old = manifest["resaved_from"]
    click.echo(
        f"{dst}: {manifest['model_id']} (manifest format {manifest['format']}), the weights and "
        f"thresholds of {old['model_id']} (format {old['format']}, scikit-learn "
        f"{old['sklearn_version']})"
    )


@main.command()
@click.option("--model", "model_path", type=click.Path(dir_okay=False), help="A .joblib model.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def info(model_path: str | None, fmt: str) -> None:
    """Describe the model in use: path, versions, hash, labels, thresholds, metrics, and the
    rule by which results get a low-coverage ``warning``."""
    import sklearn

    from propclf.scoring import LOW_COVERAGE, MIN_COVERAGE_WORDS, NOT_ENGLISH_COVERAGE

    model = _load(model_path)
    m = dict(model.manifest_)
    data = {
        "model_path": model.path_,
        "model_id": m.get("model_id"),
        "artifact_sha256": m.get("artifact_sha256"),
        "propclf_version": __version__,
        "trained_with_propclf": m.get("propclf_version"),
        "sklearn_version": sklearn.__version__,
        "trained_with_sklearn": m.get("sklearn_version"),
        # 2: no scikit-learn object inside, loads under any release; 1: only its own minor line
        "manifest_format": m.get("format"),
        "labels": m.get("labels"),
        "thresholds": m.get("thresholds"),
        "created": m.get("created"),
        "training_data_sha256": m.get("training_data_sha256"),
        "command": m.get("command"),
        "warning_rule": {
            "min_words": MIN_COVERAGE_WORDS,
            "low_coverage": LOW_COVERAGE,
            "not_english_coverage": NOT_ENGLISH_COVERAGE,
        },
        "metrics": m.get("metrics", {}),
    }
    if m.get("base_model_id"):  # a copy whose thresholds were refitted (evaluate --write-model)
        data["base_model_id"] = m["base_model_id"]
        data["base_thresholds"] = m.get("base_thresholds")
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
        return
    for k, v in data.items():
        if k == "metrics":
            continue
        click.echo(f"{k:22} {v}")
    summary = data["metrics"].get("summary") if isinstance(data["metrics"], dict) else None
    if isinstance(summary, dict) and summary:
        click.echo("metrics:")
        for k, v in summary.items():
            click.echo(f"  {k:20} {v}")


@main.command()
@click.option(
    "--data",
    "data_root",
    type=click.Path(file_okay=False),
    help="Folder of the public corpora (default: $PROPCLF_DATA or ../shared/data).",
)
@click.option("--sources", help="Comma-separated corpus names (default: all registered).")
@click.option(
    "--labelled",
    "labelled",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Your own CSV/JSONL with text,label (repeatable); alone or with --data.",
)
@click.option("--out", "out_path", type=click.Path(dir_okay=False), required=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--cv", type=click.IntRange(2, 20), default=5, show_default=True)
@click.option(
    "--target-precision",
    type=click.FloatRange(0, 1),
    default=0.9,
    show_default=True,
    help="Flag threshold: lowest score reaching this precision on held-out groups.",
)
@click.option(
    "--target-recall",
    type=click.FloatRange(0, 1),
    default=0.85,
    show_default=True,
    help="Review threshold: highest score keeping this recall on held-out groups.",
)
@click.option(
    "--quotes",
    type=click.Choice(QUOTE_MODES),
    default="reported",
    show_default=True,
    help="Quoted speech: own features, with unquoted reported beliefs and sayings ('we were "
    "told that ...') read as quoted (reported) or not (separate), attributed quotations apart "
    "(attributed), one token (mask) or plain text (ignore); see propclf.text.normalize_many.",
)
@click.option("--C", "C", type=float, default=4.0, show_default=True)
@click.option(
    "--nb-smoothing",
    type=click.FloatRange(0),
    default=1.0,
    show_default=True,
    help="Scale features by their Naive-Bayes log-count ratio (this smoothing); 0 turns it off.",
)
@click.option(
    "--max-features",
    type=int,
    default=400_000,
    show_default=True,
    help="Vocabulary cap; grouped-CV PR-AUC 0.795 / 0.803 / 0.806 / 0.807 at 100k / 200k / 400k / 800k.",
)
@click.option(
    "--subword-buckets",
    type=click.IntRange(0),
    default=1 << 20,
    show_default=True,
    help="Character 3-5-grams of every word (fastText-style), hashed into this many columns "
    "(a power of two); 0: word n-grams only. Grouped-CV PR-AUC 0.806 without, 0.817 with 2^20.",
)
@click.option(
    "--segment-words/--no-segment-words",
    default=True,
    show_default=True,
    help="Split words run together with nothing to split them at (jointheranks, lower-case "
    "hashtags) into vocabulary words when the vocabulary lacks the whole.",
)
@click.option("--limit", type=int, help="Use at most N records per source (quick runs).")
@click.option(
    "--supplement/--no-supplement",
    default=True,
    show_default=True,
    help="With the corpora, add the project's hand-written training supplement.",
)
@click.option(
    "--exclude-names/--keep-names",
    default=True,
    show_default=True,
    help="Give names specific to one reporting collection (Boston, Kandahar) and platform names "
    "(X, Telegram) no weight.",
)
@click.option(
    "--document-correction",
    type=click.FloatRange(0),
    default=0.5,
    show_default=True,
    help="Discount a long document's score for its number of passages n (as n ** this many "
    "independent passages; 0: plain maximum).",
)
@click.option(
    "--held-out-scores",
    "held_out_path",
    type=click.Path(dir_okay=False),
    help="Also write every record's grouped-CV held-out score here (JSON lines).",
)
def train(**kwargs: Any) -> None:
    """Train a model, fit its thresholds on held-out groups, write artifact, manifest and card."""
    from propclf import training

    command = _command_line(click.get_current_context())
    try:
        report = training.train(command=command, **kwargs)
    except (OSError, ValueError) as exc:
        _fail(str(exc))
    click.echo(training.summary_text(report))


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--model", "model_path", type=click.Path(dir_okay=False), help="A .joblib model.")
@click.option("--functional", is_flag=True, help="Evaluate on the shipped functional suite.")
@click.option("--data", "data_root", type=click.Path(file_okay=False), help="Corpora folder.")
@click.option("--sources", help="With --data: comma-separated corpus names.")
@click.option("--threshold", type=click.FloatRange(0, 1), help="Flag threshold override.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--plots", "plots_dir", type=click.Path(file_okay=False), help="Write PNG figures.")
@click.option(
    "--fit-thresholds",
    is_flag=True,
    help="Also fit flag/review thresholds to these labels (with intervals over their groups).",
)
@click.option(
    "--target-precision",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.9,
    show_default=True,
    help="With --fit-thresholds: precision the flag threshold must reach.",
)
@click.option(
    "--target-recall",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.85,
    show_default=True,
    help="With --fit-thresholds: recall the review threshold must keep.",
)
@click.option(
    "--write-model",
    "write_model",
    type=click.Path(dir_okay=False),
    help="With --fit-thresholds: save a copy of the model with those thresholds (.joblib).",
)
def evaluate(
    paths: tuple[str, ...],
    model_path: str | None,
    functional: bool,
    data_root: str | None,
    sources: str | None,
    threshold: float | None,
    fmt: str,
    plots_dir: str | None,
    fit_thresholds: bool,
    target_precision: float,
    target_recall: float,
    write_model: str | None,
) -> None:
    """Metrics on labelled data: precision, recall, F1, PR-AUC, confusion matrix, per source.

    With --fit-thresholds it also fits the flag and review thresholds to these labels, and with
    --write-model saves a copy of the model that uses them (the weights are unchanged).
    """
    from propclf import evaluation

    if not paths and not functional and not data_root:
        raise click.UsageError("give labelled CSV/JSONL files, --functional or --data")
    if write_model and not fit_thresholds:
        raise click.UsageError("--write-model needs --fit-thresholds")
    if write_model and threshold is not None:
        raise click.UsageError("--write-model fits the thresholds; drop --threshold")
    model = _load(model_path)
    try:
        records = evaluation.gather_records(paths, functional, data_root, sources)
        if write_model:
            from propclf import training

            command = _command_line(click.get_current_context())
            report = training.retune(
                model,
                records,
                write_model,
                target_precision=target_precision,
                target_recall=target_recall,
                command=command,
            )
            manifest = report.pop("manifest")
            report["written_model"] = {"path": write_model, "model_id": manifest["model_id"]}
            model = _load(write_model)  # the figures, like the metrics, at the new thresholds
        else:
            targets = (target_precision, target_recall) if fit_thresholds else None
            report = evaluation.evaluate(model, records, threshold=threshold, fit_targets=targets)
    except (FileNotFoundError, ValueError, OSError) as exc:
        _fail(str(exc))
    if plots_dir:
        try:
            from propclf import plots

            written = plots.write_plots(model, records, plots_dir, threshold=threshold)
        except (ImportError, OSError) as exc:
            _fail(str(exc))
        report["plots"] = written
    if fmt == "json":
        click.echo(json.dumps(_json_ready(report), indent=2, allow_nan=False))
    else:
        click.echo(evaluation.format_report(report))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--model", "model_path", type=click.Path(dir_okay=False), help="A .joblib model.")
@click.option(
    "--workers", type=click.IntRange(1, 256), default=1, show_default=True, help="Processes."
)
@click.option("--max-items", type=click.IntRange(1), default=1000, show_default=True)
@click.option(
    "--max-body-bytes", type=click.IntRange(1), default=10 * 1024 * 1024, show_default=True
)
@click.option("--max-text-chars", type=click.IntRange(1), default=100_000, show_default=True)
@click.option(
    "--shutdown-timeout",
    type=click.IntRange(0),
    default=20,
    show_default=True,
    help="Seconds in-flight requests get to finish on SIGTERM/SIGINT.",
)
@click.option("--access-log/--no-access-log", default=True, show_default=True)
def serve(model_path: str | None, **options: Any) -> None:
    """Serve the model over HTTP: POST /v1/score, GET /healthz, /readyz, /v1/model.

    Needs the serve extra: pip install 'propclf[serve]'.
    """
    try:
        import uvicorn  # noqa: F401  (checked here: the server needs it, the app does not)

        from propclf import serve as service
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in {"fastapi", "uvicorn", "starlette", "pydantic"}:
            raise
        _fail(
            f"propclf serve needs fastapi and uvicorn ({exc.name} is missing): "
            "pip install 'propclf[serve]'"
        )
    from propclf.persistence import ModelError

    try:
        service.run(model_path, **options)
    except (ModelError, OSError, ValueError) as exc:
        _fail(str(exc))


@main.command("spark-score")
@click.argument("input_path", metavar="INPUT")
@click.argument("output_path", metavar="OUTPUT")
@click.option("--master", help="Spark master URL (default: local[2], or spark-submit's master).")
@click.option(
    "--input-format",
    type=click.Choice(["jsonl", "parquet"]),
    help="Default: parquet when INPUT ends in .parquet, else jsonl.",
)
@click.option(
    "--output-format", type=click.Choice(["parquet", "jsonl"]), default="parquet", show_default=True
)
@click.option("--text-col", default="text", show_default=True, help="Field/column of the text.")
@click.option("--id-col", default="id", show_default=True, help="Field/column of the id.")
@click.option("--model", "model_path", type=click.Path(dir_okay=False), help="A .joblib model.")
@click.option("--threshold", type=click.FloatRange(0, 1), help="Flag threshold (label cut-off).")
@click.option("--review-threshold", type=click.FloatRange(0, 1), help="Lower edge of 'review'.")
@click.option("--passages/--no-passages", default=True, show_default=True, help="Score by passage.")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
def spark_score(
    input_path: str,
    output_path: str,
    master: str | None,
    input_format: str | None,
    output_format: str,
    text_col: str,
    id_col: str,
    model_path: str | None,
    threshold: float | None,
    review_threshold: float | None,
    passages: bool,
    overwrite: bool,
) -> None:
    """Score JSONL or Parquet with Spark into Parquet or JSONL (OUTPUT is a folder).

    One output row per input record (id, label, score, band, error, model); a malformed line
    or a record without a string text gets an error. Exit status 0 when every record was
    scored, 1 otherwise. Needs Java and the spark extra: pip install 'propclf[spark]'.
    """
    try:
        from propclf import spark as pspark
    except ImportError as exc:
        _fail(str(exc))
    if review_threshold is not None and threshold is not None and review_threshold > threshold:
        raise click.BadParameter("must not exceed --threshold", param_hint="--review-threshold")
    model = _load(model_path)
    fmt = input_format or ("parquet" if input_path.rstrip("/").endswith(".parquet") else "jsonl")
    had_session = pspark.SparkSession.getActiveSession() is not None
    try:
        session = pspark.spark_session(master, quiet=True)
    except Exception as exc:
        logging.getLogger(__name__).debug("Spark start-up failed", exc_info=True)
        _fail(f"cannot start Spark: {str(exc).strip().splitlines()[0]}")
    try:
        rows, errors = pspark.score_files(
            session,
            input_path,
            output_path,
            input_format=fmt,  # type: ignore[arg-type]
            output_format=output_format,  # type: ignore[arg-type]
            text_col=text_col,
            id_col=id_col,
            model=model,
            flag=threshold,
            review=review_threshold,
            documents=passages,
            overwrite=overwrite,
        )
    except Exception as exc:  # Spark reports analysis and task failures as many types
        logging.getLogger(__name__).debug("Spark job failed", exc_info=True)
        _fail(pspark.describe_error(exc))
    finally:
        if not had_session:
            session.stop()
    if errors:
        click.echo(f"propclf: {errors} of {rows} items could not be scored", err=True)
        sys.exit(1)
    click.echo(f"propclf: scored {rows} items into {output_path}", err=True)


if __name__ == "__main__":  # pragma: no cover
    main()
