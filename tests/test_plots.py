"""Evaluation figures: files, PNG validity, thresholds drawn, numbers, determinism, ImportError."""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from propclf import evaluation, plots
from propclf.datasets import Record

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: str | Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (asserting the signature)."""
    head = Path(path).read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert head[12:16] == b"IHDR"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


@pytest.fixture(scope="module")
def records(small_data):
    """A third of the functional suite (every kind) plus the fixture texts as a second source."""
    texts, labels, groups = small_data
    extra = [
        Record(id=f"fixture:{i}", text=t, label=lab, source="fixture", group=g)
        for i, (t, lab, g) in enumerate(zip(texts, labels, groups, strict=True))
    ]
    return evaluation.functional_records()[::3] + extra


@pytest.fixture(scope="module")
def written(small_model, records, tmp_path_factory):
    out = tmp_path_factory.mktemp("plots") / "figs"  # does not exist yet: write_plots creates it
    return plots.write_plots(small_model, records, out)


@pytest.fixture(scope="module")
def figures(small_model, records):
    return plots.make_figures(small_model, records)


def _by_gid(fig, gid):
    return [a for a in fig.findobj() if a.get_gid() == gid]


def _texts(fig) -> str:
    return "\n".join(t.get_text() for t in fig.findobj() if hasattr(t, "get_text"))


def test_write_plots_writes_the_figures(written):
    assert [Path(p).name for p in written] == [f"{n}.png" for n in plots.FIGURE_NAMES]
    assert all(isinstance(p, str) for p in written)
    for p in written:
        width, height = png_size(p)
        assert 300 <= width <= 2500 and 300 <= height <= 2500, (p, width, height)
        assert 5_000 < Path(p).stat().st_size < 600_000


def test_png_size_matches_figure_size(written, figures):
    for path, (name, fig) in zip(written, figures.items(), strict=True):
        w, h = fig.get_size_inches() * plots._DPI
        assert png_size(path) == (round(w), round(h)), name


def test_write_plots_is_deterministic(small_model, records, written, tmp_path):
    again = plots.write_plots(small_model, records, tmp_path)
    for a, b in zip(written, again, strict=True):
        assert Path(a).read_bytes() == Path(b).read_bytes(), Path(a).name


def test_figures_are_labelled(figures):
    for name, fig in figures.items():
        axes = [ax for ax in fig.axes if ax.axison]
        assert axes, name
        assert any(ax.get_title() for ax in axes) or fig.get_suptitle(), name
        assert any(ax.get_xlabel() for ax in axes), name
        assert any(ax.get_ylabel() for ax in axes), name


def test_thresholds_are_drawn(figures, small_model):
    flag, review = small_model.flag_threshold, small_model.review_threshold
    pr = figures["pr_curve"]
    (flag_point,) = _by_gid(pr, plots.FLAG_GID)
    (review_point,) = _by_gid(pr, plots.REVIEW_GID)
    assert f"flag \u2265 {flag:.3f}" in flag_point.get_label()
    assert f"review \u2265 {review:.3f}" in review_point.get_label()
    assert pr.axes[0].get_legend() is not None
    for name in ("reliability", "scores_by_class", "scores_by_source"):
        fig = figures[name]
        flags, reviews = _by_gid(fig, plots.FLAG_GID), _by_gid(fig, plots.REVIEW_GID)
        assert flags and reviews, name
        assert all(line.get_xdata()[0] == pytest.approx(flag) for line in flags), name
        assert all(line.get_xdata()[0] == pytest.approx(review) for line in reviews), name


def test_threshold_override_moves_the_lines(small_model, records):
    data = plots.plot_data(small_model, records, threshold=0.8)
    assert data.flag == 0.8
    assert data.review == min(small_model.review_threshold, 0.8)
    fig = plots.scores_by_class_figure(data)
    (line,) = _by_gid(fig, plots.FLAG_GID)
    assert line.get_xdata()[0] == pytest.approx(0.8)
    assert "0.800" in _texts(plots.confusion_figure(data))


def test_numbers_come_from_evaluation(small_model, records, figures):
    report = evaluation.evaluate(small_model, records)
    pr_title = figures["pr_curve"].axes[0].get_title()
    assert f"PR-AUC {report['overall']['pr_auc']:.3f}" in pr_title
    assert f"ECE {report['ece']:.3f}" in figures["reliability"].axes[0].get_title()
    c = report["overall"]["confusion"]
    cells = [t.get_text().split("\n")[0] for t in figures["confusion_matrix"].axes[0].texts]
    assert cells == [str(c["tp"]), str(c["fn"]), str(c["fp"]), str(c["tn"])]


def test_sources_get_small_multiples(figures, records):
    fig = figures["scores_by_source"]
    titles = [ax.get_title() for ax in fig.axes if ax.axison]
    kinds = {r.group for r in records if r.source == "functional"}
    assert len(titles) == len(kinds) + 1
    assert any(t.startswith("fixture\n") for t in titles)
    assert any(t.startswith("functional/propaganda_own_voice\n") for t in titles)


def test_one_class_only_draws_a_note(small_model):
    recs = [r for r in evaluation.functional_records() if r.label == "reporting"][:20]
    fig = plots.make_figures(small_model, recs)["pr_curve"]
    assert "needs both propaganda and reporting" in _texts(fig)


def test_no_records_is_an_error(small_model, tmp_path):
    with pytest.raises(ValueError, match="no records"):
        plots.write_plots(small_model, [], tmp_path)
    assert not list(tmp_path.iterdir())


def test_plot_data_validates():
    with pytest.raises(ValueError, match="review"):
        plots.PlotData(np.array([0, 1]), np.array([0.1, 0.9]), ("a", "a"), flag=0.2, review=0.5)
    with pytest.raises(ValueError, match="same length"):
        plots.PlotData(np.array([0, 1]), np.array([0.1]), ("a", "a"), flag=0.5, review=0.2)


def test_no_pyplot_state(figures):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    assert all(isinstance(fig.canvas, FigureCanvasAgg) for fig in figures.values())
    if "matplotlib.pyplot" in sys.modules:  # imported elsewhere: no figure of ours registered
        import matplotlib.pyplot as plt

        assert not any(plt.figure(n) in figures.values() for n in plt.get_fignums())


def test_missing_matplotlib_raises_importerror_with_hint(
    small_model, records, monkeypatch, tmp_path
):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'propclf\[plots\]'"):
        plots.write_plots(small_model, records[:5], tmp_path / "figs")
    assert not (tmp_path / "figs").exists()


def test_cli_evaluate_writes_plots(saved_model, tmp_path):
    from click.testing import CliRunner

    from propclf.cli import main

    out = tmp_path / "figs"
    result = CliRunner().invoke(
        main, ["evaluate", "--functional", "--model", str(saved_model), "--plots", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.png" for n in plots.FIGURE_NAMES)
    assert "pr_curve.png" in result.output


def test_cli_figures_of_a_written_model_use_its_thresholds(saved_model, tmp_path):
    """With --write-model the figures, like the metrics, show the new operating point: they are
    the written model's own figures, not the base model's."""
    from click.testing import CliRunner

    from propclf.cli import main

    labelled = tmp_path / "ours.jsonl"
    rows = [
        ("Soldiers of the faith, rise and strike the apostates wherever you find them.", 1),
        ("Join the caravan of martyrs, brothers; paradise awaits the steadfast.", 1),
        ("The faithful must take up arms against the tyrants.", 1),
        ("Police said the group's statement urged followers to join its fighters.", 0),
        ("Researchers studied how the group's videos glorified its martyrs.", 0),
        ("Victory is near for our team, the fans sang in the rain.", 0),
    ]
    labelled.write_text(
        "".join(
            json.dumps({"text": t, "label": "propaganda" if y else "reporting"}) + "\n"
            for t, y in rows
        )
    )
    tuned = tmp_path / "ours.joblib"

    def figures(*args: str) -> dict[str, bytes]:
        out = tmp_path / f"figs{len(list(tmp_path.iterdir()))}"
        res = CliRunner().invoke(main, ["evaluate", str(labelled), *args, "--plots", str(out)])
        assert res.exit_code == 0, res.output
        return {p.name: p.read_bytes() for p in out.iterdir()}

    written = figures(
        "--model",
        str(saved_model),
        "--fit-thresholds",
        "--target-precision",
        "0.6",
        "--write-model",
        str(tuned),
    )
    assert written == figures("--model", str(tuned))
    assert written["pr_curve.png"] != figures("--model", str(saved_model))["pr_curve.png"]
