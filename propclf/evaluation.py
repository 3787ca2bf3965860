"""Metrics: precision, recall, F1, PR-AUC, calibration, and tables per source, length and kind."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "binary_metrics",
    "evaluate",
    "expected_calibration_error",
    "fit_thresholds",
    "format_fitted_thresholds",
    "format_report",
    "gather_records",
    "held_out_documents",
    "reliability_table",
    "threshold_for_precision",
    "threshold_for_recall",
]


def _labels01(labels: Iterable[str]) -> np.ndarray:
    return np.array([1 if lab == "propaganda" else 0 for lab in labels], dtype=np.int64)


def binary_metrics(y: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    """Precision, recall, F1, FPR, PR-AUC, ROC-AUC and the confusion matrix at ``threshold``."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.asarray(y)
    pred = np.asarray(scores) >= threshold
    tp = int(np.sum(pred & (y == 1)))
    fp = int(np.sum(pred & (y == 0)))
    fn = int(np.sum(~pred & (y == 1)))
    tn = int(np.sum(~pred & (y == 0)))
    both = 0 < y.sum() < len(y)
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    return {
        "n": len(y),
        "positives": int(y.sum()),
        "threshold": round(float(threshold), 4),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if tp else 0.0,
        "fpr": fp / (fp + tn) if fp + tn else float("nan"),
        "accuracy": (tp + tn) / len(y) if len(y) else float("nan"),
        "pr_auc": float(average_precision_score(y, scores)) if both else float("nan"),
        "roc_auc": float(roc_auc_score(y, scores)) if both else float("nan"),
        "confusion": {"tp": tp, "fp": fp, "fn": fn, "tn": tn},
    }


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """ECE with equal-width bins: the bin-size-weighted mean |observed rate - mean score|."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    err = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            err += m.sum() / len(p) * abs(y[m].mean() - p[m].mean())
    return float(err)


def reliability_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    """Per score bin: count, mean score and observed propaganda rate."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        m = idx == b
        rows.append(
            {
                "bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}",
                "n": int(m.sum()),
                "mean_score": float(p[m].mean()) if m.any() else None,
                "observed": float(y[m].mean()) if m.any() else None,
            }
        )
    return rows


def threshold_for_precision(
    y: np.ndarray, p: np.ndarray, target: float, sample_weight: np.ndarray | None = None
) -> float:
    """Lowest threshold whose precision reaches ``target`` (1.0 when none does)."""
    from sklearn.metrics import precision_recall_curve

    prec, _, thr = precision_recall_curve(y, p, sample_weight=sample_weight)
    ok = np.flatnonzero(prec[:-1] >= target)
    return float(thr[ok[0]]) if len(ok) else 1.0


def threshold_for_recall(
    y: np.ndarray, p: np.ndarray, target: float, sample_weight: np.ndarray | None = None
) -> float:
    """Highest threshold whose recall is still at least ``target``."""
    from sklearn.metrics import precision_recall_curve

    _, rec, thr = precision_recall_curve(y, p, sample_weight=sample_weight)
    ok = np.flatnonzero(rec[:-1] >= target)
    return float(thr[ok[-1]]) if len(ok) else 0.0


def fit_thresholds(
    y: np.ndarray,
    p: np.ndarray,
    groups: Sequence[str] | np.ndarray | None = None,
    *,
    target_precision: float = 0.9,
    target_recall: float = 0.85,
    n_boot: int = 200,
    level: float = 0.9,
    seed: int = 0,
) -> dict[str, Any]:
    """Flag and review thresholds fitted to labelled scores, with how firmly the data fix them.

    ``flag`` is the lowest threshold whose precision reaches ``target_precision`` (1.0 when none
    does) and ``review`` the highest whose recall is still ``target_recall``, capped at
    ``flag``; this is the rule ``propclf train`` uses on its held-out scores. The intervals are
    percentile intervals (``level``) over ``n_boot`` refits on the groups resampled with
    replacement (each record its own group when ``groups`` is None), so that one large
    account, channel or outlet counts as one draw. A wide interval says the operating point
    depends on which groups happened to be labelled: treat the figure as a starting point.
    """
    y = np.asarray(y, dtype=np.int64)
    p = np.asarray(p, dtype=np.float64)
    if len(y) != len(p) or (groups is not None and len(groups) != len(y)):
        raise ValueError("labels, scores and groups must have the same length")
    if not 0 < int(y.sum()) < len(y):
        raise ValueError("fitting thresholds needs both propaganda and reporting records")

    def fit(w: np.ndarray | None) -> tuple[float, float]:
        flag = threshold_for_precision(y, p, target_precision, w)
        return flag, min(threshold_for_recall(y, p, target_recall, w), flag)

    flag, review = fit(None)
    if groups is None:
        inverse, n_groups = np.arange(len(y)), len(y)
    else:
        _, inverse = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
        n_groups = int(inverse.max()) + 1
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_boot):
        counts = np.bincount(rng.integers(0, n_groups, n_groups), minlength=n_groups)
        w = counts[inverse].astype(np.float64)
        if w[y == 1].sum() > 0 and w[y == 0].sum() > 0:
            draws.append(fit(w))
    tail = (1 - level) / 2 * 100
    lo, hi = (
        np.percentile(np.array(draws), [tail, 100 - tail], axis=0)
        if draws
        else np.full((2, 2), np.nan)
    )
    pred_flag, pred_review = p >= flag, p >= review
    return {
        "flag": flag,
        "review": review,
        "target_precision": target_precision,
        "target_recall": target_recall,
        "precision_at_flag": float(y[pred_flag].mean()) if pred_flag.any() else float("nan"),
        "recall_at_flag": float(pred_flag[y == 1].mean()),
        "recall_at_review": float(pred_review[y == 1].mean()),
        "flag_interval": [float(lo[0]), float(hi[0])],
        "review_interval": [float(lo[1]), float(hi[1])],
        "interval_level": level,
        "n_groups": n_groups,
        "n_boot": len(draws),
    }


def length_bucket(text: str) -> str:
    """Length bucket of a text in characters (see :func:`propclf.datasets.length_bucket`)."""
    from propclf.datasets import length_bucket as bucket

    return bucket(text)


def grouped_table(
    keys: Sequence[str], y: np.ndarray, scores: np.ndarray, flag: float, review: float
) -> dict[str, dict[str, Any]]:
    """Per key: n, positives, and the rates that matter for that key's class mix.

    ``flag_rate`` is the share scoring at or above the flag threshold (the false-positive rate
    for a reporting-only key, the recall for a propaganda-only key); ``review_rate`` the share at
    or above the review threshold.
    """
    idx: dict[str, list[int]] = defaultdict(list)
    for i, k in enumerate(keys):
        idx[k].append(i)
    out: dict[str, dict[str, Any]] = {}
    for k in sorted(idx):
        ii = np.array(idx[k])
        yy, ss = y[ii], scores[ii]
        row: dict[str, Any] = {
            "n": len(ii),
            "propaganda": int(yy.sum()),
            "flag_rate": float(np.mean(ss >= flag)),
            "review_rate": float(np.mean(ss >= review)),
            "accuracy": float(np.mean((ss >= flag) == (yy == 1))),
        }
        if 0 < yy.sum() < len(yy):
            row["recall"] = float(np.mean(ss[yy == 1] >= flag))
            row["fpr"] = float(np.mean(ss[yy == 0] >= flag))
            from sklearn.metrics import average_precision_score

            row["pr_auc"] = float(average_precision_score(yy, ss))
        out[k] = row
    return out


_PASSAGE_ID = re.compile(r"^(.+):p\d+$")


def held_out_documents(
    ids: Sequence[str],
    sources: Sequence[str],
    y: np.ndarray,
    scores: np.ndarray,
    min_passages: int = 2,
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Rebuild documents from their passages' held-out scores and score them by the document rule.

    Passages of one document have ids ``<document>:p<k>`` (the corpus adapters split long
    articles that way); a document's score is the maximum of its passages' scores, as in
    :meth:`propclf.model.PropagandaClassifier.score_documents`. Documents with fewer than
    ``min_passages`` passages left after cleaning are skipped.

    Returns
    -------
    sources, labels, scores, passage counts
        One entry per document.
    """
    members: dict[str, list[int]] = defaultdict(list)
    for i, rid in enumerate(ids):
        m = _PASSAGE_ID.match(rid)
        if m:
            members[m.group(1)].append(i)
    docs = [ii for ii in members.values() if len(ii) >= min_passages]
    return (
        [sources[ii[0]] for ii in docs],
        np.array([int(y[ii].max()) for ii in docs], dtype=np.int64),
        np.array([float(scores[ii].max()) for ii in docs]),
        np.array([len(ii) for ii in docs], dtype=np.int64),
    )


def gather_records(
    paths: Sequence[str],
    functional: bool = False,
    data_root: str | None = None,
    sources: str | None = None,
) -> list[Any]:
    """Labelled records from files, the functional suite and/or the public corpora."""
    from propclf import datasets

    records: list[Any] = []
    for p in paths:
        records.extend(datasets.read_labelled(p))
    if functional:
        records.extend(functional_records())
    if data_root:
        names = sources.split(",") if sources else None
        records.extend(datasets.load_records(data_root, names))
    if not records:
        raise ValueError("no labelled records to evaluate")
    return records


def functional_records(path: str | None = None) -> list[Any]:
    """The shipped functional suite as records (``source`` = ``functional``, ``group`` = kind)."""
    from propclf import datasets

    return [
        datasets.Record(
            id=c["id"],
            text=c["text"],
            label=c["label"],
            source="functional",
            group=c["kind"],
        )
        for c in datasets.load_functional(path)
    ]


def identity_term_table(model: Any, spec: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per group of the identity templates: how its benign and hateful sentences score.

    Every template of ``spec`` (:func:`propclf.datasets.load_identity_templates`) is filled with
    every group. Per group (keyed by its plural): ``benign_mean`` and ``benign_max`` score,
    ``benign_review`` and ``benign_flag`` (shares of the benign sentences at or above the
    model's review and flag thresholds), ``hateful_flag`` and ``hateful_review``. A model that
    learnt a group's name as evidence of propaganda shows it in the benign columns.
    """
    flag, review = float(model.flag_threshold), float(model.review_threshold)
    out: dict[str, dict[str, float]] = {}
    for adjective, plural in spec["groups"]:
        b = np.asarray(model.score([t.format(a=adjective, p=plural) for t in spec["benign"]]))
        h = np.asarray(model.score([t.format(a=adjective, p=plural) for t in spec["hateful"]]))
        out[plural] = {
            "benign_mean": float(b.mean()),
            "benign_max": float(b.max()),
            "benign_review": float(np.mean(b >= review)),
            "benign_flag": float(np.mean(b >= flag)),
            "hateful_flag": float(np.mean(h >= flag)),
            "hateful_review": float(np.mean(h >= review)),
        }
    return out


def format_identity_table(rows: dict[str, dict[str, float]]) -> str:
    """:func:`identity_term_table` as a Markdown table, the highest benign mean first."""
    lines = [
        "| group | benign: mean score | max | reaching review | flagged "
        "| hateful: flagged | reaching review |",
        "|---|---|---|---|---|---|---|",
    ]
    for g, r in sorted(rows.items(), key=lambda kv: -kv[1]["benign_mean"]):
        lines.append(
            f"| {g} | {r['benign_mean']:.3f} | {r['benign_max']:.3f} | {r['benign_review']:.2f} "
            f"| {r['benign_flag']:.2f} | {r['hateful_flag']:.2f} | {r['hateful_review']:.2f} |"
        )
    return "\n".join(lines)


def religious_text_table(model: Any, spec: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per faith of the parallel everyday religious lines: how its (benign) lines score.

    ``spec`` is :func:`propclf.datasets.load_religious_everyday`: line ``k`` of every faith
    renders the same everyday situation, so the faiths should score alike. Per faith: ``mean``
    and ``max`` score, ``review`` and ``flag`` (shares of its lines at or above the model's
    review and flag thresholds). A model that learnt one faith's everyday idiom as evidence of
    propaganda shows it here.
    """
    flag, review = float(model.flag_threshold), float(model.review_threshold)
    out: dict[str, dict[str, float]] = {}
    for faith, lines in spec["faiths"].items():
        s = np.asarray(model.score(list(lines)))
        out[faith] = {
            "mean": float(s.mean()),
            "max": float(s.max()),
            "review": float(np.mean(s >= review)),
            "flag": float(np.mean(s >= flag)),
        }
    return out


def format_religious_table(rows: dict[str, dict[str, float]]) -> str:
    """:func:`religious_text_table` as a Markdown table, the highest mean first."""
    lines = [
        "| faith | mean score | max | reaching review | flagged |",
        "|---|---|---|---|---|",
    ]
    for g, r in sorted(rows.items(), key=lambda kv: -kv[1]["mean"]):
        lines.append(
            f"| {g} | {r['mean']:.3f} | {r['max']:.3f} | {r['review']:.2f} | {r['flag']:.2f} |"
        )
    return "\n".join(lines)


def evaluate(
    model: Any,
    records: Sequence[Any],
    threshold: float | None = None,
    fit_targets: tuple[float, float] | None = None,
    *,
    scores: np.ndarray | None = None,
) -> dict[str, Any]:
    """Score labelled records and report overall, per-source, per-group and per-length metrics.

    Records of the functional suite are reported per kind (their ``group``). With
    ``fit_targets`` = ``(precision, recall)`` the report also has ``fitted_thresholds``: the
    flag and review thresholds that meet them on these records (:func:`fit_thresholds`, groups
    resampled by the records' ``group``). ``scores``: the model's document scores of
    ``records`` when already computed (they do not depend on the thresholds).
    """
    flag = model.flag_threshold if threshold is None else threshold
    review = min(model.review_threshold, flag)
    texts = [r.text for r in records]
    y = _labels01(r.label for r in records)
    if scores is None:
        scores, _ = model.score_documents(texts, review=review)
    report: dict[str, Any] = {
        "overall": binary_metrics(y, scores, flag),
        "thresholds": {"flag": flag, "review": review},
        "ece": expected_calibration_error(y, scores),
        "per_source": grouped_table([r.source for r in records], y, scores, flag, review),
        "per_length": grouped_table([length_bucket(t) for t in texts], y, scores, flag, review),
    }
    kinds = [r.group for r in records if r.source == "functional"]
    if kinds:
        ii = np.array([i for i, r in enumerate(records) if r.source == "functional"])
        report["per_kind"] = grouped_table(kinds, y[ii], scores[ii], flag, review)
    if fit_targets is not None:
        report["fitted_thresholds"] = fit_thresholds(
            y,
            scores,
            [r.group for r in records],
            target_precision=fit_targets[0],
            target_recall=fit_targets[1],
        )
    return report


def _f(v: Any) -> str:
    if isinstance(v, float):
        return "  nan" if v != v else f"{v:.3f}"
    return str(v)


def format_table(rows: dict[str, dict[str, Any]], title: str) -> str:
    """A plain-text table of ``grouped_table`` rows."""
    cols = ["n", "propaganda", "flag_rate", "review_rate", "accuracy", "recall", "fpr", "pr_auc"]
    width = max([len(title), *map(len, rows)]) + 2
    lines = [f"{title:<{width}}" + "".join(f"{c:>12}" for c in cols)]
    for k, row in rows.items():
        lines.append(f"{k:<{width}}" + "".join(f"{_f(row.get(c, '')):>12}" for c in cols))
    return "\n".join(lines)


def format_fitted_thresholds(fit: dict[str, Any]) -> str:
    """The thresholds fitted by :func:`fit_thresholds` as text, with the command that uses them."""
    level = round(100 * fit["interval_level"])
    (f_lo, f_hi), (r_lo, r_hi) = fit["flag_interval"], fit["review_interval"]
    flag_line = (
        f"  flag   >= {fit['flag']:.4f}  (precision >= {fit['target_precision']}: "
        f"precision {_f(fit['precision_at_flag'])}, recall {_f(fit['recall_at_flag'])})"
    )
    if fit["flag"] >= 1.0:
        flag_line = f"  flag   >= 1.0  (no threshold reaches precision {fit['target_precision']})"
    return "\n".join(
        [
            "thresholds fitted to these labels",
            flag_line,
            f"  review >= {fit['review']:.4f}  (recall >= {fit['target_recall']}: "
            f"recall {_f(fit['recall_at_review'])})",
            f"  {level}% of {fit['n_boot']} refits on resampled groups ({fit['n_groups']}): "
            f"flag {_f(f_lo)}-{_f(f_hi)}, review {_f(r_lo)}-{_f(r_hi)}",
            # unrounded: rounding down would let in the items just below the fitted threshold
            f"  use: propclf score --threshold {fit['flag']!r} "
            f"--review-threshold {fit['review']!r} ...",
        ]
    )


def format_report(report: dict[str, Any]) -> str:
    """The evaluation report as text."""
    o = report["overall"]
    c = o["confusion"]
    lines = [
        f"items {o['n']}  propaganda {o['positives']}  flag threshold {o['threshold']}",
        f"precision {_f(o['precision'])}  recall {_f(o['recall'])}  f1 {_f(o['f1'])}  "
        f"fpr {_f(o['fpr'])}  pr_auc {_f(o['pr_auc'])}  roc_auc {_f(o['roc_auc'])}  "
        f"ece {_f(report['ece'])}",
        f"confusion  tp {c['tp']}  fp {c['fp']}  fn {c['fn']}  tn {c['tn']}",
        "",
        format_table(report["per_source"], "source"),
        "",
        format_table(report["per_length"], "length"),
    ]
    if "per_kind" in report:
        lines += ["", format_table(report["per_kind"], "functional kind")]
    if "fitted_thresholds" in report:
        lines += ["", format_fitted_thresholds(report["fitted_thresholds"])]
    if "written_model" in report:
        w = report["written_model"]
        lines += [f"wrote {w['path']} ({w['model_id']}): the metrics above use its thresholds"]
    if report.get("plots"):
        lines += ["", "plots: " + ", ".join(report["plots"])]
    return "\n".join(lines)
