"""Whole-document rules on held-out passage scores: the max rule and multiplicity-corrected ones.

The shipped document rule scores a long text by its most propaganda-like passage. A page of many
passages has many chances to hold one passage that scores high by chance, so the rule flags and
reviews long reporting pages more often than single passages. This script measures that on the
corpora's own long documents (articles, Telegram posts and UN speeches the adapters split into
passages ``<doc>:p<k>``), from held-out grouped-CV scores, and compares corrected rules: a
passage's score is turned into its tail share among held-out reporting passages, the document's
smallest share ``a`` into ``1 - (1 - a) ** n_eff`` with ``n_eff = n_passages ** gamma`` (Šidák
for ``gamma = 1``), and that back into a score.

    propclf train --data ../shared/data --out /tmp/m.joblib --held-out-scores /tmp/held_out.jsonl
    python benchmarks/document_rule.py /tmp/held_out.jsonl --model /tmp/m.joblib

Prints, per source with at least 100 documents of two or more passages, the share of documents
flagged / sent to review or above, for each rule.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from propclf.evaluation import held_out_documents


def corrected(doc_max: np.ndarray, n: np.ndarray, null: np.ndarray, gamma: float) -> np.ndarray:
    """Document scores after a Šidák-style correction for ``n ** gamma`` passages."""
    null = np.sort(null)
    tail = 1.0 - np.searchsorted(null, doc_max, side="left") / len(null)
    adj = 1.0 - (1.0 - tail) ** (n.astype(float) ** gamma)
    k = np.clip(np.ceil((1.0 - adj) * len(null)).astype(int), 0, len(null) - 1)
    return np.where(tail > 0, np.minimum(null[k], doc_max), doc_max)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("held_out", help="JSON lines written by propclf train --held-out-scores")
    ap.add_argument("--model", help="the model those scores belong to (for its thresholds)")
    args = ap.parse_args()
    if args.model:
        manifest = json.loads(Path(args.model).with_suffix(".json").read_text())
    else:
        from propclf.persistence import default_model_path

        manifest = json.loads(default_model_path().with_suffix(".json").read_text())
    flag = manifest["params"]["flag_threshold"]
    review = manifest["params"]["review_threshold"]
    with open(args.held_out, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    ids = [r["id"] for r in rows]
    sources = [r["source"] for r in rows]
    y = np.array([r["label"] == "propaganda" for r in rows], dtype=np.int64)
    p = np.array([r["score"] for r in rows])
    src, dy, dmax, n = held_out_documents(ids, sources, y, p)
    null = p[y == 0]
    print(f"flag {flag}, review {review}; {len(dmax)} documents of 2+ passages")
    print(
        f"passages, reporting: flag {np.mean(null >= flag):.3f}, review {np.mean(null >= review):.3f}"
    )
    rules = {"max (shipped)": dmax}
    for gamma in (0.5, 1.0):
        rules[f"corrected, gamma={gamma}"] = corrected(dmax, n, null, gamma)
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
