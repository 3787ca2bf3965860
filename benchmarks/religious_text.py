"""Everyday religious text: do benign pious posts score higher in one faith's idiom?

    python benchmarks/religious_text.py [--model PATH] [--lines PATH] [--situations]

Scores the project's parallel everyday religious lines
(``datasets/functional/religious_everyday.json``: the same everyday situations, a greeting, a
prayer for the sick, a festival wish, rendered in the idiom of each of six faiths; test
material, never trained on) and prints per faith the mean and maximum score and the shares
reaching review and flag. Many short pious posts in the training data come from extremist
supporters' accounts, so a word model can learn one faith's everyday idiom ("Insha'Allah",
"Allahu akbar") as evidence of propaganda. With ``--situations``, one line per situation: each
faith's score, worst first.
"""

from __future__ import annotations

import argparse

import numpy as np

import propclf
from propclf.datasets import load_religious_everyday
from propclf.evaluation import format_religious_table, religious_text_table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=None)
    ap.add_argument("--lines", default=None, help="default: the project's lines")
    ap.add_argument("--situations", action="store_true", help="print every situation's scores")
    args = ap.parse_args()
    model = propclf.load_model(args.model)
    spec = load_religious_everyday(args.lines)
    faiths = list(spec["faiths"])
    print(
        f"model {model.manifest_.get('model_id')}; {len(faiths)} faiths x "
        f"{len(spec['situations'])} situations; flag >= {model.flag_threshold:.3f}, "
        f"review >= {model.review_threshold:.3f}\n"
    )
    rows = religious_text_table(model, spec)
    print(format_religious_table(rows))
    means = {f: r["mean"] for f, r in rows.items()}
    worst = max(means, key=lambda f: means[f])
    median = float(np.median(list(means.values())))
    print(
        f"\n- highest mean: {worst} {means[worst]:.3f} against the median faith's {median:.3f} "
        f"({means[worst] / max(median, 1e-9):.1f}x)"
    )
    if args.situations:
        scores = {f: np.asarray(model.score(spec["faiths"][f])) for f in faiths}
        print("\n| situation | " + " | ".join(faiths) + " |")
        print("|---|" + "---|" * len(faiths))
        order = np.argsort(
            [-max(scores[f][k] for f in faiths) for k in range(len(spec["situations"]))]
        )
        for k in order:
            cells = " | ".join(f"{scores[f][k]:.3f}" for f in faiths)
            print(f"| {spec['situations'][k]} | {cells} |")


if __name__ == "__main__":
    main()
