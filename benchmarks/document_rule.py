"""Whole-document rules on held-out passage scores: the plain maximum and discounted ones.

A long text is scored by its most propaganda-like passage. A page of many passages has many
chances to hold one passage that scores high by chance, so the plain maximum flags and reviews
long reporting pages more often than single passages. The model's ``document_correction``
(``gamma``) discounts the strongest passage for the number of passages ``n``
(:meth:`propclf.model.PropagandaClassifier.correct_for_passages`: Šidák's correction for
``n ** gamma`` passages against the held-out reporting scores kept at fit). This script measures
the rules on the corpora's own long documents (articles, Telegram posts and UN speeches the
adapters split into passages ``<doc>:p<k>``), from held-out grouped-CV scores.

    propclf train --data ../shared/data --out /tmp/m.joblib --held-out-scores /tmp/held_out.jsonl
    python benchmarks/document_rule.py /tmp/held_out.jsonl --model /tmp/m.joblib

(the scores must come from the same training run as the model, or from the same recipe).

Prints, per source with at least 100 documents of two or more passages, the share of documents
flagged / sent to review or above, for each rule.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict

import numpy as np

from propclf.evaluation import held_out_documents


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("held_out", help="JSON lines written by propclf train --held-out-scores")
    ap.add_argument("--model", help="the model those scores belong to (for its thresholds)")
    args = ap.parse_args()
    from propclf.persistence import load_model

    model = load_model(args.model)
    flag, review = model.flag_threshold, model.review_threshold
    shipped = model.document_correction
    with open(args.held_out, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    ids = [r["id"] for r in rows]
    sources = [r["source"] for r in rows]
    y = np.array([r["label"] == "propaganda" for r in rows], dtype=np.int64)
    p = np.array([r["score"] for r in rows])
    src, dy, dmax, n = held_out_documents(ids, sources, y, p)
    null = p[y == 0]
    print(f"flag {flag}, review {review}; {len(dmax)} documents of 2+ passages")
    if model.reporting_quantiles_ is None:
        raise SystemExit(
            "this model keeps no held-out reporting scores (trained without calibration)"
        )
    print(
        f"passages, reporting: flag {np.mean(null >= flag):.3f}, review {np.mean(null >= review):.3f}"
    )
    rules = {}
    for gamma in (0.0, 0.5, 1.0):
        model.set_params(document_correction=gamma)
        name = "plain maximum" if gamma == 0 else f"discounted, gamma={gamma}"
        rules[name + (" (shipped)" if gamma == shipped else "")] = model.correct_for_passages(
            dmax, n
        )
    by_source: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(src):
        by_source[s].append(i)
    keep = sorted(s for s, ii in by_source.items() if len(ii) >= 100)
    print("| rule | " + " | ".join(keep) + " |")
    print("|---" * (len(keep) + 1) + "|")
    print(
        "| documents (propaganda) | "
        + " | ".join(f"{len(by_source[s])} ({int(dy[by_source[s]].sum())})" for s in keep)
        + " |"
    )
    for name, scores in rules.items():
        cells = []
        for s in keep:
            ii = by_source[s]
            cells.append(f"{np.mean(scores[ii] >= flag):.3f} / {np.mean(scores[ii] >= review):.3f}")
        print(f"| {name}: flag / review | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
