"""Recall on obfuscated copies of the functional suite's propaganda, against the clean recall.

    python benchmarks/evasion.py [--model PATH]

Prints, per obfuscation (and per misspelling, which no normaliser undoes, and per run-together
form, which the model's word segmentation undoes), the share of propaganda cases flagged (and reaching review) and the
ratio to the clean recall (target >= 0.90), and the same rates for the reporting cases, which
normalisation must not hurt.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import propclf
from propclf.evaluation import functional_records
from propclf.evasion import MISSPELLINGS, OBFUSCATIONS, RUN_TOGETHER, obfuscate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=None)
    args = ap.parse_args()
    model = propclf.load_model(args.model)
    cases = functional_records()
    prop = [c.text for c in cases if c.label == "propaganda"]
    rep = [c.text for c in cases if c.label == "reporting"]
    flag = model.flag_threshold

    def rates(texts: list[str]) -> tuple[float, float]:
        s = model.score(texts)
        return float(np.mean(s >= flag)), float(np.mean(s >= model.review_threshold))

    clean_flag, clean_review = rates(prop)
    rep_flag, _ = rates(rep)
    out = [
        f"model {model.manifest_.get('model_id')}; {len(prop)} propaganda and {len(rep)} "
        f"reporting cases; flag >= {flag}, review >= {model.review_threshold}",
        "",
        "| obfuscation | propaganda flagged | ratio to clean | reaching review | ratio | reporting flagged |",
        "|---|---|---|---|---|---|",
        f"| none | {clean_flag:.3f} | 1.00 | {clean_review:.3f} | 1.00 | {rep_flag:.3f} |",
    ]
    for kind in [*OBFUSCATIONS, *MISSPELLINGS, *RUN_TOGETHER]:
        f, r = rates([obfuscate(t, kind) for t in prop])
        rf, _ = rates([obfuscate(t, kind) for t in rep])
        out.append(
            f"| {kind} | {f:.3f} | {f / clean_flag:.2f} | {r:.3f} | {r / clean_review:.2f} | {rf:.3f} |"
        )
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
