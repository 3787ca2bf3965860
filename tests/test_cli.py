"""The CLI contract: one row per item, ids kept, errors as rows, exit status, no tracebacks."""

from __future__ import annotations

import csv
import io
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from propclf.cli import main
from propclf.result import LABELS

PROP = "Brothers, join our ranks and fight the enemies of the faith. Victory is near!"
REP = "Police said the suspect was arrested on Tuesday after an investigation."


@pytest.fixture
def run(saved_model: Path):
    def _run(*args: str, input: str | bytes | None = None):
        return CliRunner().invoke(
            main, [*args[:1], "--model", str(saved_model), *args[1:]], input=input
        )

    return _run


def _jsonl(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_score_files_jsonl(run, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(PROP)
    (tmp_path / "b.txt").write_text(REP)
    res = run("score", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"), "--format", "jsonl")
    assert res.exit_code == 0, res.output
    rows = _jsonl(res.stdout)
    assert [r["id"] for r in rows] == [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]
    assert [r["label"] for r in rows] == ["propaganda", "reporting"]
    for r in rows:
        assert set(r) >= {"id", "label", "score", "band", "error", "model"}
        assert r["error"] is None and 0 <= r["score"] <= 1


def test_jsonl_input_keeps_ids_and_reports_bad_lines(run) -> None:
    lines = [
        json.dumps({"id": "x1", "text": PROP}),
        "{broken json",
        json.dumps({"id": "x3"}),
        json.dumps({"id": "x4", "text": None}),
        json.dumps({"id": 5, "text": 7}),
        json.dumps(["a", "list"]),
        "",
        json.dumps({"id": "x8", "text": REP}),
    ]
    res = run("score", "--input", "jsonl", "--format", "jsonl", "-", input="\n".join(lines) + "\n")
    assert res.exit_code == 1
    rows = _jsonl(res.stdout)
    assert [r["id"] for r in rows] == ["x1", "stdin:2", "x3", "x4", "5", "stdin:6", "x8"]
    assert [r["error"] is None for r in rows] == [True, False, False, False, False, False, True]
    assert "invalid JSON" in rows[1]["error"]
    assert "no 'text'" in rows[2]["error"]
    assert "must be a string" in rows[3]["error"]
    assert rows[0]["label"] == "propaganda" and rows[-1]["label"] == "reporting"
    assert "could not be scored" in res.stderr
    assert "Traceback" not in res.output


def test_csv_and_table_formats(run, tmp_path: Path) -> None:
    f = tmp_path / "lines.txt"
    f.write_text(f"{PROP}\n\n{REP}\n")
    res = run("score", "--input", "lines", "--format", "csv", str(f))
    assert res.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert [r["id"] for r in rows] == [f"{f}:1", f"{f}:3"]
    assert rows[0]["label"] == "propaganda" and float(rows[0]["score"]) > 0.5
    res = run("score", "--input", "lines", "--format", "table", str(f))
    assert res.exit_code == 0
    assert len(res.stdout.splitlines()) == 3 and "propaganda" in res.stdout


def test_thresholds_and_reasons(run, tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text(REP)
    res = run("score", str(f), "--format", "jsonl", "--threshold", "0.0", "--reasons", "3")
    assert res.exit_code == 0
    [row] = _jsonl(res.stdout)
    assert row["label"] == "propaganda" and row["band"] == "flag"
    assert 1 <= len(row["reasons"]) <= 3
    assert {"ngram", "weight", "spans"} <= set(row["reasons"][0])
    res = run("score", str(f), "--threshold", "0.2", "--review-threshold", "0.5")
    assert res.exit_code == 2 and "Traceback" not in res.output


def test_folder_with_hostile_files(run, tmp_path: Path) -> None:
    d = tmp_path / "in"
    (d / "deep" / "deeper").mkdir(parents=True)
    (d / "empty.txt").write_text("")
    (d / "blank.txt").write_text("   \n\t\n")
    (d / "binary.bin").write_bytes(b"\x00\x01\x02\xff" * 100)
    (d / "latin1.txt").write_bytes("Le ministre a d\xe9clar\xe9 que l'attaque".encode("latin-1"))
    (d / "utf16.txt").write_bytes("Police said the group was banned".encode("utf-16"))
    (d / "deep" / "deeper" / "ok.txt").write_text(PROP)
    (d / "broken").symlink_to(d / "missing")
    (d / "loop").symlink_to(d)
    res = run("score", str(d), "--format", "jsonl")
    assert res.exit_code == 1
    rows = {Path(r["id"]).name: r for r in _jsonl(res.stdout)}
    assert set(rows) == {
        "empty.txt",
        "blank.txt",
        "binary.bin",
        "latin1.txt",
        "utf16.txt",
        "ok.txt",
        "broken",
        "loop",
    }
    assert "binary" in rows["binary.bin"]["error"]
    assert "broken" in rows["broken"]["error"]
    assert rows["loop"]["error"]
    for name in ("empty.txt", "blank.txt", "latin1.txt", "utf16.txt", "ok.txt"):
        assert rows[name]["error"] is None, name
    assert rows["ok.txt"]["label"] == "propaganda"
    assert "Traceback" not in res.output


def test_unreadable_file(run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import propclf.inputs

    f = tmp_path / "secret.txt"
    f.write_text(REP)
    ok = tmp_path / "ok.txt"
    ok.write_text(REP)

    def deny(path: Path) -> bytes:
        if path.name == "secret.txt":
            raise PermissionError(13, "Permission denied")
        return Path(path).read_bytes()

    monkeypatch.setattr(propclf.inputs, "_read_file", deny)
    res = run("score", str(tmp_path), "--format", "jsonl")
    assert res.exit_code == 1
    rows = {Path(r["id"]).name: r for r in _jsonl(res.stdout)}
    assert "Permission denied" in rows["secret.txt"]["error"]
    assert rows["ok.txt"]["error"] is None


def test_missing_path_and_bad_model(run, tmp_path: Path) -> None:
    res = run("score", str(tmp_path / "nope.txt"), "--format", "jsonl")
    assert res.exit_code == 1 and "no such file" in _jsonl(res.stdout)[0]["error"]
    bad = tmp_path / "bad.joblib"
    bad.write_bytes(b"not a model")
    res = CliRunner().invoke(main, ["score", "--model", str(bad), str(tmp_path)])
    assert res.exit_code == 1 and "manifest" in res.stderr and "Traceback" not in res.output


def test_info_json(saved_model: Path) -> None:
    res = CliRunner().invoke(main, ["info", "--model", str(saved_model), "--format", "json"])
    assert res.exit_code == 0
    info = json.loads(res.stdout)
    assert info["model_path"] == str(saved_model.resolve())
    assert info["model_id"].startswith("propclf-")
    assert info["thresholds"]["flag"] >= info["thresholds"]["review"]
    assert info["manifest_format"] == 2  # saved without scikit-learn objects
    rule = info["warning_rule"]  # a queue can tell which results carry a warning, and why
    assert rule["min_words"] >= 1 and 0 < rule["not_english_coverage"] < rule["low_coverage"] < 1


def test_resave_writes_a_loadable_copy_and_fails_cleanly(saved_model: Path, tmp_path: Path) -> None:
    dst = tmp_path / "copy.joblib"
    res = CliRunner().invoke(main, ["resave", str(saved_model), str(dst)])
    assert res.exit_code == 0, res.output
    old = json.loads(saved_model.with_suffix(".json").read_text())
    new = json.loads(dst.with_suffix(".json").read_text())
    assert new["resaved_from"]["model_id"] == old["model_id"] and new["model_id"] in res.stdout
    for args in (
        [str(tmp_path / "missing.joblib"), str(dst)],
        [str(saved_model), str(tmp_path / "copy.pkl")],
    ):
        res = CliRunner().invoke(main, ["resave", *args])
        assert res.exit_code == 1 and "error" in res.stderr and "Traceback" not in res.output


def test_stdin_lines_stream(run) -> None:
    text = "\n".join([PROP, REP] * 300) + "\n"
    res = run("score", "--format", "jsonl", "--batch-size", "64", "--jobs", "1", "-", input=text)
    assert res.exit_code == 0
    rows = _jsonl(res.stdout)
    assert [r["id"] for r in rows] == [f"stdin:{i}" for i in range(1, 601)]
    assert [r["label"] for r in rows[:2]] == ["propaganda", "reporting"]


def test_parallel_jobs_keep_order(run, saved_model: Path) -> None:
    lines = [json.dumps({"id": f"r{i}", "text": PROP if i % 3 else REP}) for i in range(900)]
    res1 = run(
        "score",
        "--input",
        "jsonl",
        "--format",
        "jsonl",
        "--jobs",
        "1",
        "--batch-size",
        "50",
        "-",
        input="\n".join(lines),
    )
    res2 = run(
        "score",
        "--input",
        "jsonl",
        "--format",
        "jsonl",
        "--jobs",
        "2",
        "--batch-size",
        "50",
        "-",
        input="\n".join(lines),
    )
    assert res1.exit_code == res2.exit_code == 0
    assert _jsonl(res1.stdout) == _jsonl(res2.stdout)


def test_train_and_evaluate_on_own_file(tmp_path: Path) -> None:
    from tests.conftest import FIXTURES

    out = tmp_path / "m" / "own.joblib"
    res = CliRunner().invoke(
        main,
        [
            "train",
            "--labelled",
            str(FIXTURES / "small_train.jsonl"),
            "--out",
            str(out),
            "--cv",
            "3",
            "--max-features",
            "5000",
            "--held-out-scores",
            str(tmp_path / "held_out.jsonl"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert out.is_file() and out.with_suffix(".json").is_file()
    held_out = _jsonl((tmp_path / "held_out.jsonl").read_text())
    assert len(held_out) == 24  # one held-out score per training record
    assert all(0.0 <= r["score"] <= 1.0 and r["label"] in LABELS for r in held_out)
    card = out.with_suffix(".card.md").read_text(encoding="utf-8")
    assert "## Identity terms" in card and "| Jews |" in card
    manifest = json.loads(out.with_suffix(".json").read_text())
    assert manifest["command"].startswith("propclf train")
    lo, hi = manifest["metrics"]["threshold_fit"]["flag_interval"]
    assert lo <= hi and "Refitted on groups resampled with replacement" in card
    assert f"thresholds: flag >= {manifest['thresholds']['flag']}" in res.output
    assert f"of refits on resampled groups: flag {lo:.3f}-{hi:.3f}" in res.output
    res = CliRunner().invoke(
        main,
        ["evaluate", "--model", str(out), str(FIXTURES / "small_train.jsonl"), "--format", "json"],
    )
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["overall"]["n"] == 24
    assert {"precision", "recall", "f1", "pr_auc", "confusion"} <= set(report["overall"])


def test_trained_model_gives_platform_names_no_weight(tmp_path: Path) -> None:
    """Where a text was posted (on X, on Telegram) is not what it does: the training command
    gives platform names no weight unless told to keep names."""
    from propclf import load_model
    from propclf.training import PLATFORM_NAMES
    from tests.conftest import FIXTURES

    rows = _jsonl((FIXTURES / "small_train.jsonl").read_text())
    for r in rows:  # the platforms appear only in the propaganda, as in a crawl of one platform
        if r["label"] == "propaganda":
            r["text"] += " Follow us on Telegram and on X."
    data = tmp_path / "with_platforms.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    text = "The council met on Telegram and on X today."

    def platform_reasons(*flags: str) -> list[str]:
        out = tmp_path / f"m{len(flags)}.joblib"
        args = ["train", "--labelled", str(data), "--out", str(out), "--cv", "2", *flags]
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 0, res.output
        reasons = load_model(str(out)).explain(text, top=100)
        return [
            r.ngram
            for r in reasons
            if {w.lstrip("~").removeprefix("q_") for w in r.ngram.split()} & PLATFORM_NAMES
        ]

    assert platform_reasons() == []
    assert platform_reasons("--keep-names")  # the same data teaches them when they are kept
    manifest = json.loads((tmp_path / "m1.json").read_text())
    assert manifest["command"].endswith("--cv 2 --keep-names")  # the switch, not "False"


def test_the_manifest_command_names_switches_turned_off(tmp_path: Path) -> None:
    from tests.conftest import FIXTURES

    out = tmp_path / "m.joblib"
    args = ["train", "--labelled", str(FIXTURES / "small_train.jsonl"), "--out", str(out)]
    res = CliRunner().invoke(main, [*args, "--cv", "2", "--no-supplement", "--seed", "0"])
    assert res.exit_code == 0, res.output
    command = json.loads(out.with_suffix(".json").read_text())["command"]
    assert (
        command == f"propclf train --labelled {args[2]} --out {out} --seed 0 --cv 2 --no-supplement"
    )


@pytest.mark.slow
def test_installed_console_script(saved_model: Path, tmp_path: Path) -> None:
    exe = shutil.which("propclf", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("propclf is not installed as a console script in this environment")
    f = tmp_path / "a.txt"
    f.write_text(PROP)
    out = subprocess.run(
        [exe, "score", "--model", str(saved_model), "--format", "jsonl", str(f)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    [row] = _jsonl(out.stdout)
    assert row["id"] == str(f) and row["label"] == "propaganda"
    out = subprocess.run(
        [exe, "score", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert out.returncode == 1 and "Traceback" not in out.stderr


def test_lines_mode_gives_every_file_a_row(run, tmp_path: Path) -> None:
    d = tmp_path / "in"
    d.mkdir()
    (d / "empty.txt").write_text("")
    (d / "blank.txt").write_text("  \n\t\n")
    (d / "utf16.txt").write_bytes(f"{PROP}\n{REP}\n".encode("utf-16"))
    (d / "binary.bin").write_bytes(b"\x00\x01" * 50)
    res = run("score", str(d), "--input", "lines", "--format", "jsonl")
    assert res.exit_code == 1
    rows = _jsonl(res.stdout)
    by_id = {r["id"]: r for r in rows}
    assert "no text lines" in by_id[str(d / "empty.txt")]["error"]
    assert "no text lines" in by_id[str(d / "blank.txt")]["error"]
    assert "binary" in by_id[str(d / "binary.bin")]["error"]
    assert by_id[f"{d / 'utf16.txt'}:1"]["label"] == "propaganda"
    assert by_id[f"{d / 'utf16.txt'}:2"]["label"] == "reporting"
    assert len(rows) == 5


CLI = [sys.executable, "-c", "from propclf.cli import main; main()"]


def test_ids_that_cannot_be_encoded_are_escaped_not_fatal(
    saved_model: Path, tmp_path: Path
) -> None:
    """A lone surrogate in a JSON id (or an undecodable file name) must not end the run: every
    item still gets its row, under a strict UTF-8 standard output."""
    data = tmp_path / "s.jsonl"
    data.write_text(
        '{"id": "ok1", "text": "fine"}\n{"id": "\\ud800x", "text": "t"}\n{"id": "ok2", "text": "t"}\n'
    )
    for fmt in ("jsonl", "csv", "table"):
        res = subprocess.run(
            [*CLI, "score", str(data), "--model", str(saved_model), "--format", fmt],
            capture_output=True,
            env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"},
        )
        assert res.returncode == 0, res.stderr
        out = res.stdout.decode("utf-8")
        assert "ok1" in out and "ok2" in out and "\\ud800x" in out, fmt


def test_table_rows_stay_one_line(run, tmp_path: Path) -> None:
    data = tmp_path / "n.jsonl"
    data.write_text(json.dumps({"id": "two\nlines", "text": REP}) + "\n")
    res = run("score", str(data), "--format", "table")
    assert res.exit_code == 0 and res.stdout.splitlines()[1].endswith("two\\nlines")


def test_threshold_mistakes_are_usage_errors(run, tmp_path: Path) -> None:
    f = tmp_path / "t.txt"
    f.write_text(REP)
    assert run("score", str(f), "--review-threshold", "0.9999").exit_code == 2  # above the flag
    assert run("score", str(f), "--threshold", "nan").exit_code == 2
    assert run("score", str(f), "--review-threshold", "nan").exit_code == 2
    assert run("score", str(f), "--threshold", "0.9", "--review-threshold", "0.5").exit_code == 0


def test_train_refuses_early_and_cleanly(tmp_path: Path) -> None:
    """Too few records of a label, or an output path under a file: a one-line error, no
    traceback, and (for the path) before any training."""
    few = tmp_path / "few.jsonl"
    rows = [{"text": f"report number {w}", "label": "reporting"} for w in "abcd"]
    few.write_text("".join(json.dumps(r) + "\n" for r in [*rows, {"text": PROP, "label": 1}]))
    res = CliRunner().invoke(
        main, ["train", "--labelled", str(few), "--out", str(tmp_path / "m.joblib")]
    )
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit)
    assert "at least 2 records of each label" in res.output
    (tmp_path / "afile").write_text("")
    res = CliRunner().invoke(
        main, ["train", "--labelled", str(few), "--out", str(tmp_path / "afile" / "m.joblib")]
    )
    assert res.exit_code == 1 and "is a file, not a folder" in res.output


def test_evaluate_fits_thresholds_that_score_then_uses(run) -> None:
    """The thresholds `evaluate --fit-thresholds` prints meet their precision when `score`
    is run with them on the same labelled items."""
    from tests.conftest import FIXTURES

    labelled = FIXTURES / "small_train.jsonl"
    args = ["evaluate", str(labelled), "--fit-thresholds", "--target-precision", "0.8"]
    res = run(*args, "--format", "json")
    assert res.exit_code == 0, res.output
    fit = json.loads(res.stdout)["fitted_thresholds"]
    assert fit["target_precision"] == 0.8 and fit["review"] <= fit["flag"] < 1.0
    assert fit["flag_interval"][0] <= fit["flag_interval"][1]
    table = run(*args)
    assert table.exit_code == 0 and "thresholds fitted to these labels" in table.output
    assert f"--threshold {fit['flag']!r} " in table.output

    rows = _jsonl(labelled.read_text())
    items = [json.dumps({"id": str(k), "text": r["text"]}) for k, r in enumerate(rows)]
    res = run(
        "score",
        "--input",
        "jsonl",
        "--format",
        "jsonl",
        "--threshold",
        repr(fit["flag"]),
        "--review-threshold",
        repr(fit["review"]),
        "-",
        input="\n".join(items),
    )
    assert res.exit_code == 0, res.output
    out = {r["id"]: r for r in _jsonl(res.stdout)}
    flagged = [rows[int(k)]["label"] for k, r in out.items() if r["band"] == "flag"]
    assert flagged and flagged.count("propaganda") / len(flagged) >= 0.8


def _mixed_labels(tmp_path: Path) -> Path:
    """Labelled items the small model has not seen, some of them against its grain."""
    rows = [
        ("Soldiers of the faith, rise and strike the apostates wherever you find them.", 1, "a"),
        ("Join the caravan of martyrs, brothers; paradise awaits the steadfast.", 1, "a"),
        ("Our lions will return and the enemies of God will weep.", 1, "b"),
        ("The faithful must take up arms against the tyrants.", 1, "b"),
        ("The ministry said the new rail line will open next spring.", 0, "c"),
        ("Police said the group's statement urged followers to join its fighters.", 0, "c"),
        ("Researchers studied how the group's videos glorified its martyrs.", 0, "d"),
        ("The court heard the defendant had shared calls to strike the enemy.", 0, "d"),
        ("Brothers and sisters, join us at the food bank this Saturday.", 0, "e"),
        ("Victory is near for our team, the fans sang in the rain.", 0, "e"),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        "".join(
            json.dumps({"text": t, "label": "propaganda" if y else "reporting", "group": g}) + "\n"
            for t, y, g in rows
        )
    )
    return path


def test_evaluate_writes_a_model_with_the_fitted_thresholds(run, saved_model, tmp_path) -> None:
    """The written model keeps the weights (same scores) and moves only the operating point;
    its manifest says which model it came from and on what labels."""
    from propclf import load_model

    labelled = _mixed_labels(tmp_path)
    out = tmp_path / "tuned" / "ours.joblib"
    args = ["evaluate", str(labelled), "--fit-thresholds", "--target-precision", "0.75"]
    res = run(*args, "--write-model", str(out), "--format", "json")
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    fit = report["fitted_thresholds"]
    base, tuned = load_model(saved_model), load_model(out)
    assert (tuned.flag_threshold, tuned.review_threshold) == (fit["flag"], fit["review"])
    assert (base.flag_threshold, base.review_threshold) != (fit["flag"], fit["review"])
    texts = [json.loads(line)["text"] for line in labelled.read_text().splitlines()]
    assert np.array_equal(base.score(texts), tuned.score(texts))
    assert report["overall"]["threshold"] == pytest.approx(fit["flag"], abs=1e-4)
    assert report["overall"]["precision"] >= 0.75
    manifest = json.loads(out.with_suffix(".json").read_text())
    assert manifest["base_model_id"] == base.manifest_["model_id"]
    assert manifest["training_data_sha256"] == base.manifest_["training_data_sha256"]
    assert manifest["metrics"]["tuned_on"]["records"] == len(texts)
    assert (
        manifest["command"].startswith("propclf evaluate ")
        and "--write-model" in manifest["command"]
    )
    res = CliRunner().invoke(main, ["info", "--model", str(out), "--format", "json"])
    info = json.loads(res.stdout)
    assert info["base_model_id"] == base.manifest_["model_id"]
    assert info["thresholds"] == {"flag": fit["flag"], "review": fit["review"]}
    scored = run("score", "--format", "jsonl", "-", input=texts[0])
    assert scored.exit_code == 0
    res = CliRunner().invoke(
        main, ["score", "--model", str(out), "--format", "jsonl", "-"], input=texts[0]
    )
    assert res.exit_code == 0, res.output
    [row] = _jsonl(res.stdout)
    assert row["band"] == (
        "flag"
        if row["score"] >= fit["flag"]
        else "review"
        if row["score"] >= fit["review"]
        else "pass"
    )


def test_evaluate_refuses_to_write_a_model_it_cannot_tune(run, tmp_path: Path) -> None:
    labelled = _mixed_labels(tmp_path)
    out = tmp_path / "t.joblib"
    res = run("evaluate", str(labelled), "--write-model", str(out))
    assert res.exit_code == 2 and "--write-model needs --fit-thresholds" in res.output
    # the model's surest propaganda, labelled reporting: no threshold is that precise any more
    with labelled.open("a") as f:
        f.write(json.dumps({"text": PROP, "label": "reporting", "group": "z"}) + "\n")
    res = run(
        "evaluate",
        str(labelled),
        "--fit-thresholds",
        "--target-precision",
        "1.0",
        "--write-model",
        str(out),
    )
    assert res.exit_code == 1 and "no threshold reaches precision" in res.output
    assert not out.exists() and "Traceback" not in res.output


def test_evaluate_cannot_fit_thresholds_to_one_label(run, tmp_path: Path) -> None:
    only = tmp_path / "only.jsonl"
    only.write_text(json.dumps({"text": PROP, "label": "propaganda"}) + "\n")
    res = run("evaluate", str(only), "--fit-thresholds")
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit)
    assert "both propaganda and reporting" in res.output and "Traceback" not in res.output


def test_evaluate_json_is_strict_json(run, tmp_path: Path) -> None:
    only = tmp_path / "only.jsonl"  # one label only: precision, PR-AUC ... are undefined
    only.write_text(json.dumps({"text": PROP, "label": "propaganda"}) + "\n")
    res = run("evaluate", str(only), "--format", "json")
    assert res.exit_code == 0, res.output
    json.loads(res.stdout, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))


_TRAIN_OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "--sources": st.sampled_from(["isextreme", "stormfront,isextreme", "a b"]),
        "--seed": st.integers(-5, 99),
        "--cv": st.integers(2, 20),
        "--target-precision": st.floats(0.01, 1.0),
        "--C": st.floats(1e-3, 1e3),
        "--quotes": st.sampled_from(["reported", "separate", "attributed", "mask", "ignore"]),
        "--max-features": st.integers(1, 10**6),
        "--limit": st.integers(1, 1000),
        "--supplement": st.booleans(),
        "--exclude-names": st.booleans(),
        "--segment-words": st.booleans(),
    },
)


@settings(max_examples=60, deadline=None)
@given(_TRAIN_OPTIONS, st.booleans())
def test_the_recorded_command_parses_back_to_the_same_options(options: dict, data: bool) -> None:
    """The manifest's `command` is how a model is rebuilt: parsed again, it must give the same
    options, switches turned off included."""
    from propclf.cli import _command_line, train
    from tests.conftest import FIXTURES

    args = ["--data", "/data dir"] if data else ["--labelled", str(FIXTURES / "small_train.jsonl")]
    args += ["--out", "m o.joblib"]
    for opt, value in options.items():
        if opt in ("--supplement", "--exclude-names", "--segment-words"):
            off = {"--supplement": "--no-supplement", "--segment-words": "--no-segment-words"}
            args.append(opt if value else off.get(opt, "--keep-names"))
        else:
            args += [opt, str(value)]
    given_ctx = train.make_context("train", list(args))
    words = shlex.split(_command_line(given_ctx))
    assert words[:2] == ["propclf", "train"] and "False" not in words and "True" not in words
    assert train.make_context("train", words[2:]).params == given_ctx.params
