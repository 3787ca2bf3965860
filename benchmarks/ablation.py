"""Grouped 3-fold ablations of the default model's choices (quotes, C, source weights, caps).

    python benchmarks/ablation.py '{"name": "base"}'
    python benchmarks/ablation.py '{"name": "ignore", "quotes": "ignore"}'
    python benchmarks/ablation.py '{"name": "hardneg", "src_w": {"isextreme:reporting": 3, "crisislex": 3}}'
    python benchmarks/ablation.py '{"name": "shipped", "supplement": 10, "exclude_names": true,
        "src_w": {"isextreme:reporting": 3, "crisislex": 3}}'

``supplement`` adds the project's training supplement at that weight (its cases are scored in
their held-out folds like any other source); ``exclude_names`` gives the training records'
``source_specific_names`` no weight.

Prints one JSON line: grouped-CV PR-AUC, per-source recall / false-positive rate at the
threshold giving 1% pooled false positives, and functional-suite accuracy per kind (fold-0
model) at that threshold. The suite is only scored, never trained on.
"""

import json
import sys
import time
from collections import Counter, defaultdict

import numpy as np
from sklearn.metrics import average_precision_score
from sklearn.model_selection import StratifiedGroupKFold

from propclf import datasets
from propclf.evaluation import functional_records
from propclf.model import PropagandaClassifier
from propclf.training import source_specific_names

recs = datasets.dedup(datasets.load_records())
cfg = json.loads(sys.argv[1])
name = cfg.pop("name")
sup_w = cfg.pop("supplement", 0)
if sup_w:
    recs += datasets.read_labelled(datasets.supplement_path())
if cfg.pop("exclude_names", False):
    cfg["exclude_tokens"] = tuple(sorted(source_specific_names(recs)))
cap = cfg.pop("source_cap", None)
drop = set(cfg.pop("drop_sources", []))
srcw = cfg.pop("src_w", {})
recs = [r for r in recs if r.source not in drop]
texts = [r.text for r in recs]
y = np.array([r.label == "propaganda" for r in recs], int)
w = np.array([r.weight for r in recs], float)
src = np.array([r.source for r in recs])
g = np.array([r.group for r in recs])
if sup_w:
    srcw = {**srcw, "supplement": sup_w}
for i, r in enumerate(recs):
    m_ = srcw.get(r.source + ":" + r.label, srcw.get(r.source))
    if m_ is not None:
        w[i] *= m_
if cap:
    n = Counter(src.tolist())
    w = w * np.array([min(1.0, cap / n[s]) for s in src])
folds = list(StratifiedGroupKFold(n_splits=3, shuffle=True, random_state=0).split(texts, y, g))
oof = np.zeros(len(texts))
t0 = time.time()
fx = functional_records()
fxt = [r.text for r in fx]
fxy = np.array([r.label == "propaganda" for r in fx])
fx_scores = None
for k, (tr, te) in enumerate(folds):
    m = PropagandaClassifier(calibrate=False, **cfg).fit(
        [texts[i] for i in tr], y[tr], sample_weight=w[tr]
    )
    oof[te] = m.decision_function([texts[i] for i in te])
    if k == 0:
        fx_scores = m.decision_function(fxt)
# threshold: decision at which pooled reporting FPR = 1%
neg = oof[y == 0]
thr = np.quantile(neg, 0.99)
out = {
    "name": name,
    "secs": round(time.time() - t0),
    "pr_auc": round(average_precision_score(y, oof), 4),
}
per = {}
for s in sorted(set(src.tolist())):
    ii = src == s
    if y[ii].all():
        per[s] = f"rec {(oof[ii] >= thr).mean():.3f}"
    elif not y[ii].any():
        per[s] = f"fpr {(oof[ii] >= thr).mean():.3f}"
    else:
        per[s] = (
            f"rec {(oof[ii & (y == 1)] >= thr).mean():.3f} fpr {(oof[ii & (y == 0)] >= thr).mean():.3f}"
        )
out["per_source@fpr1%"] = per
kinds = defaultdict(list)
for r, sc in zip(fx, fx_scores, strict=False):
    kinds[r.group].append((sc >= thr) == (r.label == "propaganda"))
out["functional@thr"] = {k: round(float(np.mean(v)), 3) for k, v in sorted(kinds.items())}
out["functional_pr_auc"] = round(average_precision_score(fxy, fx_scores), 4)
print(json.dumps(out), flush=True)
