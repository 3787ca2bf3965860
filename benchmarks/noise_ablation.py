"""Label-noise ablation: how Fifth Tribe's noisy positives affect a quick TF-IDF + LR model.

Conditions (all other sources loaded with their defaults, then deduplicated):

  a  fifthtribe: every tweet, weight 1 (no EXTREME filter, news accounts and retweets kept)
  b  fifthtribe: propclf.datasets defaults (EXTREME 1/m at 1.0, unannotated 0.2, 0/? dropped,
     news accounts' unannotated tweets and retweets of news accounts dropped)
  b5 like b, but unannotated tweets at weight 0.5
  b2 like b, but the self-described news accounts' unannotated tweets kept (at 0.2)
  d  only the tweets annotated EXTREME=1 or m
  c  fifthtribe excluded

Model: ``TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)`` on
``propclf.text.normalize_many`` text + ``LogisticRegression(C=4, class_weight="balanced",
max_iter=2000)`` with sample weights, 5-fold grouped CV. Folds are assigned by a hash of
``Record.group``, so every record shared by two conditions is tested in the same fold.

Also reported: the share of held-out Fifth Tribe tweets (default filters; annotated EXTREME=1/m
and unannotated separately) scored >= 0.5, in every condition (also where fifthtribe is not
trained on), i.e. how the model sees pro-ISIS accounts it never saw.

Reported: out-of-fold PR-AUC (propaganda positive) over each condition's own records and over the
records common to all conditions that are not from fifthtribe; recall on isextreme propaganda
tweets and false-positive rate on isextreme reporting tweets at p >= 0.5 (common records only).

Run: ``PYTHONPATH=. python benchmarks/noise_ablation.py --root ../shared/data``
"""

from __future__ import annotations

import argparse
import time
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score

from propclf import datasets
from propclf.text import normalize_many

ALL_ONE = {"1": 1.0, "m": 1.0, "": 1.0, "0": 1.0, "?": 1.0}
CONDITIONS: dict[str, dict[str, Any] | None] = {
    "a: all tweets, weight 1": {
        "weights": ALL_ONE,
        "news_account_weight": 1.0,
        "drop_news_retweets": False,
        "min_words": 1,
    },
    "b: defaults (unannotated 0.2)": {},
    "b5: defaults, unannotated 0.5": {"weights": {"1": 1.0, "m": 1.0, "": 0.5}},
    "b2: defaults, news accounts kept": {"news_account_weight": 1.0},
    "d: annotated EXTREME=1/m only": {"weights": {"1": 1.0, "m": 1.0}},
    "c: fifthtribe excluded": None,
}


def _records(root: str | None, fifthtribe: dict[str, Any] | None) -> list[datasets.Record]:
    names = [n for n in datasets.CORPORA if fifthtribe is not None or n != "fifthtribe"]
    options = {"fifthtribe": fifthtribe} if fifthtribe is not None else None
    return datasets.dedup(datasets.load_records(root, names, options=options))


def _fold_scores(
    texts: list[str],
    y: np.ndarray,
    w: np.ndarray,
    fold: np.ndarray,
    k: int,
    probe: list[str],
    probe_fold: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    tr, te = np.nonzero(fold != k)[0], np.nonzero(fold == k)[0]
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, dtype=np.float32)
    xtr = vec.fit_transform([texts[i] for i in tr])
    clf = LogisticRegression(C=4, class_weight="balanced", max_iter=2000)
    clf.fit(xtr, y[tr], sample_weight=w[tr])
    pk = np.nonzero(probe_fold == k)[0]
    p_te = clf.predict_proba(vec.transform([texts[i] for i in te]))[:, 1]
    p_probe = clf.predict_proba(vec.transform([probe[i] for i in pk]))[:, 1]
    return te, p_te, pk, p_probe


@dataclass
class _Run:
    name: str
    n: int
    pos: int
    fifthtribe_weight: float
    pr_auc_own: float
    scores: dict[str, float]
    meta: dict[str, tuple[str, str]]
    probe_annotated: float
    probe_other: float


def run(root: str | None, n_folds: int, jobs: int) -> str:
    norm_cache: dict[str, str] = {}
    runs: list[_Run] = []
    # probe: Fifth Tribe tweets (default filters), scored out-of-fold (by account) in every
    # condition, also where fifthtribe is not trained on: how the model sees held-out fanboys
    probe_recs = list(datasets.iter_records("fifthtribe", root))
    probe = normalize_many([r.text for r in probe_recs])
    probe_fold = np.array([zlib.crc32(r.group.encode()) % n_folds for r in probe_recs])
    annotated = np.array([r.weight == 1.0 for r in probe_recs])
    for name, opts in CONDITIONS.items():
        t0 = time.perf_counter()
        recs = _records(root, opts)
        todo = [r for r in recs if r.id not in norm_cache]
        for r, t in zip(todo, normalize_many([r.text for r in todo]), strict=True):
            norm_cache[r.id] = t
        texts = [norm_cache[r.id] for r in recs]
        y = np.array([r.label == "propaganda" for r in recs], dtype=int)
        w = np.array([r.weight for r in recs], dtype=float)
        fold = np.array([zlib.crc32(r.group.encode()) % n_folds for r in recs])
        oof = np.full(len(recs), np.nan)
        parts = Parallel(n_jobs=jobs)(
            delayed(_fold_scores)(texts, y, w, fold, k, probe, probe_fold) for k in range(n_folds)
        )
        p_probe = np.full(len(probe), np.nan)
        for te, p, pk, pp in parts:
            oof[te] = p
            p_probe[pk] = pp
        run_ = _Run(
            name=name,
            n=len(recs),
            pos=int(y.sum()),
            fifthtribe_weight=sum(r.weight for r in recs if r.source == "fifthtribe"),
            pr_auc_own=float(average_precision_score(y, oof)),
            scores=dict(zip([r.id for r in recs], oof.tolist(), strict=True)),
            meta={r.id: (r.source, r.label) for r in recs},
            probe_annotated=float(np.mean(p_probe[annotated] >= 0.5)),
            probe_other=float(np.mean(p_probe[~annotated] >= 0.5)),
        )
        runs.append(run_)
        secs = time.perf_counter() - t0
        print(f"{name}: {run_.n} records, PR-AUC {run_.pr_auc_own:.4f}, {secs:.0f} s", flush=True)
    common = set.intersection(*(set(res.scores) for res in runs))
    lines = [
        "| condition | records | propaganda | fifthtribe weight sum | PR-AUC (own records) "
        "| PR-AUC (common, non-fifthtribe) | PR-AUC (isextreme) | isextreme propaganda recall "
        "| isextreme reporting FPR | held-out fifthtribe EXTREME=1/m >= 0.5 "
        "| held-out fifthtribe unannotated >= 0.5 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for res in runs:
        ids = sorted(i for i in common if res.meta[i][0] != "fifthtribe")
        yc = np.array([res.meta[i][1] == "propaganda" for i in ids])
        pc = np.array([res.scores[i] for i in ids])
        ext = [i for i in ids if res.meta[i][0] == "isextreme"]
        ep = np.array([res.scores[i] for i in ext if res.meta[i][1] == "propaganda"])
        er = np.array([res.scores[i] for i in ext if res.meta[i][1] == "reporting"])
        ye = np.array([res.meta[i][1] == "propaganda" for i in ext])
        ap_ext = average_precision_score(ye, np.array([res.scores[i] for i in ext]))
        lines.append(
            f"| {res.name} | {res.n} | {res.pos} | {res.fifthtribe_weight:.0f} | {res.pr_auc_own:.3f} "
            f"| {average_precision_score(yc, pc):.3f} | {ap_ext:.3f} "
            f"| {np.mean(ep >= 0.5):.3f} (n={len(ep)}) "
            f"| {np.mean(er >= 0.5):.3f} (n={len(er)}) | {res.probe_annotated:.3f} "
            f"| {res.probe_other:.3f} |"
        )
    lines.append("")
    lines.append(
        f"Common non-fifthtribe records: {len(ids)}; folds by hash of group, k={n_folds}; "
        f"fifthtribe probe: {int(annotated.sum())} annotated, {int((~annotated).sum())} "
        "unannotated tweets (default filters), scored by the fold that holds out their account."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=None, help="data root (default ../shared/data)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    print(run(args.root, args.folds, args.jobs))


if __name__ == "__main__":
    main()
