"""Evaluation figures: precision-recall, reliability, score histograms and confusion matrix.

matplotlib is an optional extra (``pip install 'propclf[plots]'``); it is imported only when a
figure is drawn. Figures are :class:`matplotlib.figure.Figure` objects rendered with the Agg
backend, so nothing touches pyplot's global state and the output does not depend on the
interactive backend. The numbers shown come from :mod:`propclf.evaluation` (the same metrics as
``propclf evaluate``), computed from the same document scores.

>>> from propclf import evaluation, load_model, plots
>>> model = load_model()
>>> paths = plots.write_plots(model, evaluation.functional_records(), "figures")  # doctest: +SKIP
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from propclf.evaluation import binary_metrics, expected_calibration_error, reliability_table

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "FIGURE_NAMES",
    "PlotData",
    "confusion_figure",
    "make_figures",
    "plot_data",
    "pr_curve_figure",
    "reliability_figure",
    "save_png",
    "scores_by_class_figure",
    "scores_by_source_figure",
    "write_plots",
]

#: File stems of the figures, in the order :func:`write_plots` returns them.
FIGURE_NAMES: tuple[str, ...] = (
    "pr_curve",
    "reliability",
    "scores_by_class",
    "scores_by_source",
    "confusion_matrix",
)

_INSTALL_HINT = "propclf's plots need matplotlib: pip install 'propclf[plots]'"
_DPI = 100
_BINS = 10  # the reliability bins of evaluation.reliability_table / expected_calibration_error
_HIST_BINS: list[float] = [k / 20 for k in range(21)]
_COLOURS = {"propaganda": "#c0392b", "reporting": "#2e86c1"}
_FLAG_STYLE: dict[str, Any] = {"color": "#7b241c", "linestyle": "--", "linewidth": 1.4}
_REVIEW_STYLE: dict[str, Any] = {"color": "#d68910", "linestyle": ":", "linewidth": 1.6}
#: ``gid`` of the artists that mark the operating thresholds (for tests and for styling).
FLAG_GID, REVIEW_GID = "flag-threshold", "review-threshold"


def _require_matplotlib() -> None:
    """Import matplotlib or raise :class:`ImportError` with the install hint."""
    try:
        import matplotlib
        import matplotlib.figure  # noqa: F401
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc


def _new_figure(width: float, height: float) -> Figure:
    """A Figure attached to an Agg canvas (no pyplot, no global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


@dataclass(frozen=True)
class PlotData:
    """Scores and labels of evaluated records, with the operating thresholds.

    Attributes
    ----------
    y : ndarray of int
        1 for propaganda, 0 for reporting.
    scores : ndarray of float
        Document scores (P(propaganda)) as :func:`propclf.evaluation.evaluate` computes them.
    facets : tuple of str
        The panel of each record in the per-source figure: its source, or ``functional/<kind>``
        for the functional suite (reported per kind, as in the evaluation report).
    flag, review : float
        The flag threshold (label cut-off) and the review threshold (``review <= flag``).
    """

    y: np.ndarray
    scores: np.ndarray
    facets: tuple[str, ...]
    flag: float
    review: float

    def __post_init__(self) -> None:
        if not len(self.y) == len(self.scores) == len(self.facets):
            raise ValueError("y, scores and facets must have the same length")
        if len(self.y) == 0:
            raise ValueError("no records to plot")
        if not 0.0 <= self.review <= self.flag <= 1.0:
            raise ValueError(f"need 0 <= review ({self.review}) <= flag ({self.flag}) <= 1")


def _facet(record: Any) -> str:
    source = str(getattr(record, "source", "") or "unknown")
    if source == "functional" and getattr(record, "group", None):
        return f"functional/{record.group}"
    return source


def plot_data(model: Any, records: Sequence[Any], threshold: float | None = None) -> PlotData:
    """Score ``records`` the way :func:`propclf.evaluation.evaluate` does.

    Parameters
    ----------
    model : PropagandaClassifier
        A fitted model.
    records : sequence of Record
        Labelled records (``.text``, ``.label``, ``.source``, ``.group``).
    threshold : float, optional
        Flag threshold; default the model's. The review threshold is the model's, capped at
        the flag threshold.

    Returns
    -------
    PlotData
    """
    if not records:
        raise ValueError("no records to plot")
    flag = float(model.flag_threshold if threshold is None else threshold)
    review = float(min(model.review_threshold, flag))
    y = np.array([1 if r.label == "propaganda" else 0 for r in records], dtype=np.int64)
    scores, _ = model.score_documents([r.text for r in records], review=review)
    return PlotData(
        y=y,
        scores=np.asarray(scores, dtype=np.float64),
        facets=tuple(_facet(r) for r in records),
        flag=flag,
        review=review,
    )


def _threshold_lines(ax: Axes, data: PlotData) -> None:
    """Draw the flag and review thresholds as vertical lines on a score axis."""
    ax.axvline(data.flag, label=f"flag \u2265 {data.flag:.3f}", gid=FLAG_GID, **_FLAG_STYLE)
    ax.axvline(
        data.review, label=f"review \u2265 {data.review:.3f}", gid=REVIEW_GID, **_REVIEW_STYLE
    )


def _note(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=11)


def _fmt(v: float) -> str:
    return "n/a" if v != v else f"{v:.3f}"


def pr_curve_figure(data: PlotData) -> Figure:
    """Precision-recall curve with the flag and review operating points marked.

    Parameters
    ----------
    data : PlotData

    Returns
    -------
    matplotlib.figure.Figure
    """
    _require_matplotlib()
    fig = _new_figure(6.0, 4.6)
    ax = fig.add_subplot()
    n, pos = len(data.y), int(data.y.sum())
    ax.set_xlabel("recall (share of propaganda flagged)")
    ax.set_ylabel("precision (share of flags that are propaganda)")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.05)
    ax.grid(True, alpha=0.3)
    if not 0 < pos < n:
        ax.set_title(f"Precision-recall curve (n={n})")
        _note(ax, "needs both propaganda and reporting records")
        return fig
    from sklearn.metrics import precision_recall_curve

    precision, recall, _ = precision_recall_curve(data.y, data.scores)
    at_flag = binary_metrics(data.y, data.scores, data.flag)
    at_review = binary_metrics(data.y, data.scores, data.review)
    ax.plot(
        recall, precision, drawstyle="steps-post", color="#1b2631", linewidth=1.6, label="model"
    )
    ax.axhline(
        pos / n,
        color="grey",
        linewidth=1,
        linestyle="-.",
        label=f"chance (prevalence {pos / n:.2f})",
    )
    for m, name, style, gid, marker in (
        (at_flag, "flag", _FLAG_STYLE, FLAG_GID, "o"),
        (at_review, "review", _REVIEW_STYLE, REVIEW_GID, "s"),
    ):
        ax.plot(
            [m["recall"]],
            [m["precision"]],
            marker=marker,
            markersize=9,
            linestyle="none",
            color=style["color"],
            gid=gid,
            label=f"{name} \u2265 {m['threshold']:.3f}: P {_fmt(m['precision'])}, "
            f"R {_fmt(m['recall'])}",
        )
    ax.set_title(
        f"Precision-recall curve (PR-AUC {at_flag['pr_auc']:.3f}, n={n}, {pos} propaganda)"
    )
    ax.legend(loc="lower left", fontsize=9)
    return fig


def reliability_figure(data: PlotData) -> Figure:
    """Reliability (calibration) diagram with the expected calibration error in the title.

    Bins and ECE are those of :func:`propclf.evaluation.reliability_table` and
    :func:`propclf.evaluation.expected_calibration_error` (10 equal-width bins).

    Parameters
    ----------
    data : PlotData

    Returns
    -------
    matplotlib.figure.Figure
    """
    _require_matplotlib()
    table = reliability_table(data.y, data.scores, bins=_BINS)
    ece = expected_calibration_error(data.y, data.scores, bins=_BINS)
    fig = _new_figure(5.6, 6.0)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    rows = [r for r in table if r["n"]]
    top.plot(
        [0, 1], [0, 1], color="grey", linestyle="-.", linewidth=1, label="perfectly calibrated"
    )
    top.plot(
        [r["mean_score"] for r in rows],
        [r["observed"] for r in rows],
        marker="o",
        color="#1b2631",
        label="model (one point per score bin)",
    )
    _threshold_lines(top, data)
    top.set_xlim(0, 1)
    top.set_ylim(-0.02, 1.02)
    top.set_ylabel("observed propaganda rate")
    top.set_title(f"Reliability diagram (ECE {ece:.3f}, n={len(data.y)})")
    top.grid(True, alpha=0.3)
    top.legend(loc="upper left", fontsize=9)
    lefts = np.arange(_BINS) / _BINS
    bottom.bar(
        lefts,
        [r["n"] for r in table],
        width=1 / _BINS,
        align="edge",
        color="#aab7b8",
        edgecolor="white",
    )
    bottom.set_yscale("symlog", linthresh=1)
    bottom.set_xlabel("score (predicted probability of propaganda)")
    bottom.set_ylabel("records per bin")
    bottom.grid(True, axis="y", alpha=0.3)
    return fig


def _class_hist(ax: Axes, data: PlotData, mask: np.ndarray) -> None:
    for label, value in (("reporting", 0), ("propaganda", 1)):
        s = data.scores[mask & (data.y == value)]
        ax.hist(s, bins=_HIST_BINS, color=_COLOURS[label], alpha=0.6, label=f"{label} ({len(s)})")


def scores_by_class_figure(data: PlotData) -> Figure:
    """Histograms of the scores of propaganda and reporting records, with the thresholds.

    Parameters
    ----------
    data : PlotData

    Returns
    -------
    matplotlib.figure.Figure
    """
    _require_matplotlib()
    fig = _new_figure(6.4, 4.2)
    ax = fig.add_subplot()
    _class_hist(ax, data, np.ones(len(data.y), dtype=bool))
    _threshold_lines(ax, data)
    ax.set_xlim(0, 1)
    ax.set_xlabel("score (predicted probability of propaganda)")
    ax.set_ylabel("records")
    ax.set_title(f"Scores by true class (n={len(data.y)})")
    ax.legend(loc="upper center", fontsize=9)
    ax.grid(True, axis="y", alpha=0.3)
    return fig


def scores_by_source_figure(data: PlotData, ncols: int = 5) -> Figure:
    """Small multiples: one score histogram per source (functional suite: per kind).

    Each panel shows both classes and the thresholds; its title gives the number of records and
    the share flagged (the false-positive rate of a reporting-only source, the recall of a
    propaganda-only one).

    Parameters
    ----------
    data : PlotData
    ncols : int, default=5
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _require_matplotlib()
    facets = np.array(data.facets)
    names = sorted(set(data.facets))
    ncols = max(1, min(ncols, len(names)))
    nrows = math.ceil(len(names) / ncols)
    fig = _new_figure(2.7 * ncols + 0.3, 2.0 * nrows + 0.8)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, squeeze=False)).ravel()
    for ax, name in zip(axes, names, strict=False):
        mask = facets == name
        _class_hist(ax, data, mask)
        _threshold_lines(ax, data)
        flagged = float(np.mean(data.scores[mask] >= data.flag))
        ax.set_title(
            f"{name}\nn={int(mask.sum())}, flagged {flagged:.1%}",
            fontsize=9 if len(name) <= 30 else 8,
        )
        ax.set_xlim(0, 1)
        ax.tick_params(labelsize=8)
        ax.grid(True, axis="y", alpha=0.3)
    for ax in axes[len(names) :]:
        ax.set_axis_off()
    for ax in axes[(nrows - 1) * ncols :]:
        ax.set_xlabel("score", fontsize=9)
    for ax in axes[::ncols]:
        ax.set_ylabel("records", fontsize=9)
    handles = [
        *(_patch(_COLOURS[c], f"{c} (true class)") for c in ("reporting", "propaganda")),
        _line(_FLAG_STYLE, f"flag \u2265 {data.flag:.3f}"),
        _line(_REVIEW_STYLE, f"review \u2265 {data.review:.3f}"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=9)
    fig.suptitle(f"Scores by source (n={len(data.y)})", fontsize=12)
    return fig


def _patch(colour: str, label: str) -> Any:
    from matplotlib.patches import Patch

    return Patch(facecolor=colour, alpha=0.6, label=label)


def _line(style: dict[str, Any], label: str) -> Any:
    from matplotlib.lines import Line2D

    return Line2D([], [], label=label, **style)


def confusion_figure(data: PlotData) -> Figure:
    """Confusion matrix at the flag threshold (counts and row shares).

    Parameters
    ----------
    data : PlotData

    Returns
    -------
    matplotlib.figure.Figure
    """
    _require_matplotlib()
    import matplotlib

    m = binary_metrics(data.y, data.scores, data.flag)
    c = m["confusion"]
    counts = np.array([[c["tp"], c["fn"]], [c["fp"], c["tn"]]], dtype=np.int64)
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    fig = _new_figure(5.0, 4.4)
    ax = fig.add_subplot()
    ax.imshow(shares, cmap=matplotlib.colormaps["Blues"], vmin=0.0, vmax=1.0)
    for i in range(2):
        for j in range(2):
            ax.text(
                j,
                i,
                f"{counts[i, j]}\n({shares[i, j]:.1%} of row)",
                ha="center",
                va="center",
                fontsize=11,
                color="white" if shares[i, j] > 0.6 else "black",
            )
    classes = ["propaganda", "reporting"]
    ax.set_xticks([0, 1], [f"flagged\n(score \u2265 {data.flag:.3f})", "not flagged"])
    ax.set_yticks([0, 1], classes)
    ax.set_xlabel("prediction")
    ax.set_ylabel("true class")
    ax.set_title(
        f"Confusion matrix at flag threshold {data.flag:.3f}\n"
        f"precision {_fmt(m['precision'])}, recall {_fmt(m['recall'])}, FPR {_fmt(m['fpr'])}",
        fontsize=11,
    )
    return fig


def make_figures(
    model: Any, records: Sequence[Any], threshold: float | None = None
) -> dict[str, Figure]:
    """Score ``records`` once and draw every figure.

    Parameters
    ----------
    model : PropagandaClassifier
        A fitted model.
    records : sequence of Record
        Labelled records.
    threshold : float, optional
        Flag threshold; default the model's.

    Returns
    -------
    dict of str to matplotlib.figure.Figure
        Keyed by the names in :data:`FIGURE_NAMES`, in that order.

    Raises
    ------
    ImportError
        matplotlib is not installed.
    ValueError
        ``records`` is empty.
    """
    _require_matplotlib()
    data = plot_data(model, records, threshold)
    return {
        "pr_curve": pr_curve_figure(data),
        "reliability": reliability_figure(data),
        "scores_by_class": scores_by_class_figure(data),
        "scores_by_source": scores_by_source_figure(data),
        "confusion_matrix": confusion_figure(data),
    }


def write_plots(
    model: Any,
    records: Sequence[Any],
    out_dir: str | os.PathLike[str],
    threshold: float | None = None,
) -> list[str]:
    """Write the evaluation figures as PNG files into ``out_dir`` (created if missing).

    The figures are: ``pr_curve.png`` (precision-recall curve, flag and review operating points),
    ``reliability.png`` (calibration diagram, ECE in the title), ``scores_by_class.png`` and
    ``scores_by_source.png`` (score histograms, thresholds drawn) and ``confusion_matrix.png``
    (at the flag threshold). Same inputs give byte-identical files.

    Parameters
    ----------
    model : PropagandaClassifier
        A fitted model.
    records : sequence of Record
        Labelled records (``.text``, ``.label``, ``.source``, ``.group``), e.g. from
        :func:`propclf.evaluation.gather_records`.
    out_dir : path
        Folder for the PNG files; existing files of the same names are replaced.
    threshold : float, optional
        Flag threshold; default the model's (as in :func:`propclf.evaluation.evaluate`).

    Returns
    -------
    list of str
        The paths written, in the order of :data:`FIGURE_NAMES`.

    Raises
    ------
    ImportError
        matplotlib is not installed (``pip install 'propclf[plots]'``).
    ValueError
        ``records`` is empty.
    """
    figures = make_figures(model, records, threshold)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fig in figures.items():
        path = out / f"{name}.png"
        save_png(fig, path)
        written.append(str(path))
    return written


def save_png(fig: Figure, path: str | os.PathLike[str]) -> None:
    """Save ``fig`` as a compact, reproducible PNG.

    The Agg rendering is reduced to a 256-colour palette (median cut, no dithering: flat plot
    colours stay exact, only anti-aliased edges are approximated), which makes the files about
    three times smaller than true-colour PNGs. No metadata (software version, time) is written,
    so the bytes depend on the figure only.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path : path
        The ``.png`` file to write.
    """
    from PIL import Image  # a dependency of matplotlib

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None})
    buf.seek(0)
    with Image.open(buf) as im:
        rgb = im.convert("RGB")
    palette = rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    palette.save(path, format="PNG", optimize=True)
