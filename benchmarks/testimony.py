"""Testimony that recalls extremist beliefs: is the recalled belief read as the writer's own?

    python benchmarks/testimony.py [--model PATH] [--by movement|register]

Scores ``datasets/testimony/testimony.jsonl``: 150 testimonies of former members of thirteen
kinds of movement and 50 of their families and exit counsellors (reporting), and 80 propaganda
conversion stories going the other way (propaganda). Written by helpers who saw neither the
functional suite nor the tests, and never trained on (README, "Design choices, measured"), they
are an independent test of reading unquoted reported beliefs as quoted speech
(``--quotes reported``). Prints, per kind, the share correct at the model's flag threshold and
the shares flagged and reaching review; with ``--by``, the testimonies per movement or register.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

import propclf

TESTIMONY = Path(__file__).resolve().parents[1] / "datasets" / "testimony" / "testimony.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=None)
    ap.add_argument("--by", choices=("movement", "register"), default=None)
    args = ap.parse_args()
    model = propclf.load_model(args.model)
    with open(TESTIMONY, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    scores = np.asarray(model.score([r["text"] for r in rows]))
    flag, review = model.flag_threshold, model.review_threshold
    print(
        f"model {model.manifest_.get('model_id')} (quotes: {model.quotes}); {len(rows)} lines; "
        f"flag >= {flag:.3f}, review >= {review:.3f}\n"
    )
    key = args.by or "kind"
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        if key == "kind" or r.get(key):
            groups[r[key]].append(i)
    print(f"| {key} | n | label | correct | flagged | reaching review | mean score |")
    print("|---|--:|---|--:|--:|--:|--:|")
    for name, idx in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        s = scores[idx]
        positive = rows[idx[0]]["label"] == "propaganda"
        correct = np.mean((s >= flag) == positive)
        print(
            f"| {name} | {len(idx)} | {rows[idx[0]]['label']} | {correct:.3f} | "
            f"{np.mean(s >= flag):.3f} | {np.mean(s >= review):.3f} | {s.mean():.3f} |"
        )


if __name__ == "__main__":
    main()
