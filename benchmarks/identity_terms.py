"""Identity-term bias: do benign sentences score higher because of the group they mention?

    python benchmarks/identity_terms.py [--model PATH]

Fills the project's templates (``datasets/functional/identity_templates.json``: ten benign
sentences and five generic hateful ones, each with every group) and prints per group the mean
and maximum score of the benign sentences, the share of them reaching review and flag, and the
share of the hateful ones flagged and reaching review. A model that learnt "mentions Jews" or
"mentions white people" as evidence of propaganda shows it in the first columns; one that
learnt the opposite lesson too well misses the hateful ones. The last lines summarise: the
worst group's mean benign score against the median group's, and the benign sentences flagged.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import propclf

TEMPLATES = Path(__file__).resolve().parent.parent / "datasets/functional/identity_templates.json"


def fill(templates: list[str], adjective: str, plural: str) -> list[str]:
    return [t.format(a=adjective, p=plural) for t in templates]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=None)
    args = ap.parse_args()
    model = propclf.load_model(args.model)
    spec = json.loads(TEMPLATES.read_text(encoding="utf-8"))
    flag, review = model.flag_threshold, model.review_threshold
    print(
        f"model {model.manifest_.get('model_id')}; {len(spec['groups'])} groups, "
        f"{len(spec['benign'])} benign and {len(spec['hateful'])} hateful templates; "
        f"flag >= {flag:.3f}, review >= {review:.3f}\n"
    )
    print(
        "| group | benign: mean score | max | reaching review | flagged "
        "| hateful: flagged | reaching review |"
    )
    print("|---|---|---|---|---|---|---|")
    means, flagged_benign, rows = [], 0, []
    for adjective, plural in spec["groups"]:
        b = model.score(fill(spec["benign"], adjective, plural))
        h = model.score(fill(spec["hateful"], adjective, plural))
        means.append(float(b.mean()))
        flagged_benign += int((b >= flag).sum())
        rows.append(
            (
                float(b.mean()),
                f"| {plural} | {b.mean():.3f} | {b.max():.3f} | {np.mean(b >= review):.2f} "
                f"| {np.mean(b >= flag):.2f} | {np.mean(h >= flag):.2f} | {np.mean(h >= review):.2f} |",
            )
        )
    for _, row in sorted(rows, reverse=True):
        print(row)
    worst, median = max(means), float(np.median(means))
    n_benign = len(spec["benign"]) * len(spec["groups"])
    print(
        f"\n- worst group's mean benign score {worst:.3f} against the median group's "
        f"{median:.3f} ({worst / median:.1f}x)"
    )
    print(f"- benign sentences flagged: {flagged_benign} of {n_benign}")


if __name__ == "__main__":
    main()
