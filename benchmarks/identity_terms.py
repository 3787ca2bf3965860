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

import numpy as np

import propclf
from propclf.datasets import load_identity_templates
from propclf.evaluation import format_identity_table, identity_term_table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=None)
    ap.add_argument("--templates", default=None, help="default: the project's templates")
    args = ap.parse_args()
    model = propclf.load_model(args.model)
    spec = load_identity_templates(args.templates)
    flag, review = model.flag_threshold, model.review_threshold
    print(
        f"model {model.manifest_.get('model_id')}; {len(spec['groups'])} groups, "
        f"{len(spec['benign'])} benign and {len(spec['hateful'])} hateful templates; "
        f"flag >= {flag:.3f}, review >= {review:.3f}\n"
    )
    rows = identity_term_table(model, spec)
    print(format_identity_table(rows))
    means = [r["benign_mean"] for r in rows.values()]
    worst, median = max(means), float(np.median(means))
    n_benign = len(spec["benign"]) * len(spec["groups"])
    flagged = round(sum(r["benign_flag"] * len(spec["benign"]) for r in rows.values()))
    print(
        f"\n- worst group's mean benign score {worst:.3f} against the median group's "
        f"{median:.3f} ({worst / median:.1f}x)"
    )
    print(f"- benign sentences flagged: {flagged} of {n_benign}")


if __name__ == "__main__":
    main()
