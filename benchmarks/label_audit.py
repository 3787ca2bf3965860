"""Label audit: how much of the gap to the targets is the corpus labels, not the model?

    propclf train --data ../shared/data --out /tmp/m.joblib --held-out-scores /tmp/held.jsonl
    python benchmarks/label_audit.py --held-out /tmp/held.jsonl

``datasets/audit/audit.jsonl`` holds a stratified random sample of the noisy propaganda
collections (Fifth Tribe, far-right Telegram, Stormfront, isextreme, IS magazines) and of the
isextreme reporting tweets, plus a sample of the isextreme reporting tweets the model flags,
each labelled twice, blind to source, given label and score, by the rules of
``datasets/audit/GUIDELINES.md``. The file holds record ids and labels only, never corpus text.

Printed: agreement between the two passes (Cohen's kappa) and with the given labels; per stratum
the share the audit calls propaganda; the held-out model's recall at the flag and review
thresholds on given-propaganda items the audit confirms and on those it rejects; the isextreme
reporting false-positive rate with the audited labels; and the corpus PR-AUC recomputed with the
audited labels in place of the given ones for the audited strata (sample items weighted by
stratum size / sample size; other collections keep their labels), with a bootstrap interval.
Consensus = both passes agree; items where the passes disagree or either says ``unclear`` are
left out of the corrected figures and counted.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, cohen_kappa_score

ROOT = Path(__file__).resolve().parents[1]
AUDIT = ROOT / "datasets" / "audit" / "audit.jsonl"
POS = "propaganda"


def binary(label: str) -> str:
    """Audit label → the model's two classes (``unclear`` kept as is)."""
    if label == "unclear":
        return "unclear"
    return POS if label == POS else "reporting"


def consensus(item: dict[str, Any]) -> str | None:
    """The two passes' shared binary label, or None when they differ or either is unclear."""
    a, b = binary(item["label_a"]), binary(item["label_b"])
    return a if a == b and a != "unclear" else None


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def weighted_pr_auc(
    base_y: np.ndarray, base_s: np.ndarray, y: np.ndarray, s: np.ndarray, w: np.ndarray
) -> float:
    """PR-AUC of the unaudited rows (weight 1) together with weighted sample rows."""
    return float(
        average_precision_score(
            np.concatenate([base_y, y]),
            np.concatenate([base_s, s]),
            sample_weight=np.concatenate([np.ones(len(base_y)), w]),
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--held-out", required=True, help="held-out scores from propclf train")
    ap.add_argument("--audit", default=str(AUDIT))
    ap.add_argument("--model", default=None, help="manifest thresholds (default: shipped model)")
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap resamples")
    args = ap.parse_args()

    import propclf

    model = propclf.load_model(args.model)
    flag, review = model.flag_threshold, model.review_threshold
    audit = load_jsonl(Path(args.audit))
    held = {r["id"]: r for r in load_jsonl(Path(args.held_out))}
    missing = [a["id"] for a in audit if a["id"] not in held]
    if missing:
        raise SystemExit(f"{len(missing)} audited ids not in the held-out file, e.g. {missing[:3]}")
    for a in audit:
        a["score"] = held[a["id"]]["score"]
        a["audit"] = consensus(a)

    print(
        f"model {model.manifest_.get('model_id')}; flag >= {flag:.3f}, review >= {review:.3f}; "
        f"{len(audit)} audited items\n"
    )

    # 1. agreement
    la = [a["label_a"] for a in audit]
    lb = [a["label_b"] for a in audit]
    ba = [binary(x) for x in la]
    bb = [binary(x) for x in lb]
    both = [i for i in range(len(audit)) if ba[i] != "unclear" and bb[i] != "unclear"]
    print("## Agreement")
    print(
        f"- four labels: raw {np.mean([x == y for x, y in zip(la, lb, strict=True)]):.2f}, "
        f"kappa {cohen_kappa_score(la, lb):.2f}"
    )
    print(
        f"- propaganda vs not (both decided, n={len(both)}): raw "
        f"{np.mean([ba[i] == bb[i] for i in both]):.2f}, kappa "
        f"{cohen_kappa_score([ba[i] for i in both], [bb[i] for i in both]):.2f}"
    )
    cons = [a for a in audit if a["audit"] is not None]
    print(
        f"- consensus on {len(cons)} of {len(audit)}; agrees with the given label on "
        f"{np.mean([a['audit'] == a['label'] for a in cons]):.2f} of those\n"
    )

    # 2. per stratum
    strata: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for a in audit:
        strata[(a["source"], a["label"], a["stratum"])].append(a)
    print(
        "## Per stratum (given label; consensus shares; recall / flag rate of the held-out model)"
    )
    print(
        "| stratum | n | audit: propaganda | not propaganda | no consensus | flagged: all | "
        "flagged: audit propaganda | flagged: audit not | reaching review: audit propaganda | "
        "reaching review: audit not |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key in sorted(strata):
        items = strata[key]
        c = Counter(a["audit"] for a in items)
        n = len(items)

        def rate(sel: list[dict[str, Any]], thr: float) -> str:
            return f"{np.mean([a['score'] >= thr for a in sel]):.2f} (n={len(sel)})" if sel else "—"

        yes = [a for a in items if a["audit"] == POS]
        no = [a for a in items if a["audit"] == "reporting"]
        name = f"{key[0]} {key[1]}" + ("" if key[2] == "random" else f" ({key[2]})")
        print(
            f"| {name} | {n} | {c[POS] / n:.2f} | {c['reporting'] / n:.2f} | {c[None] / n:.2f} | "
            f"{rate(items, flag)} | {rate(yes, flag)} | {rate(no, flag)} | {rate(yes, review)} | {rate(no, review)} |"
        )

    # 3. corrected corpus PR-AUC
    rows = [r for r in held.values() if r["source"] != "supplement"]
    audited_keys = {(a["source"], a["label"]) for a in audit if a["stratum"] == "random"}
    base = [r for r in rows if (r["source"], r["label"]) not in audited_keys]
    base_y = np.array([r["label"] == POS for r in base], dtype=int)
    base_s = np.array([r["score"] for r in base])
    rand = [a for a in audit if a["stratum"] == "random"]
    size = Counter((a["source"], a["label"]) for a in rand)
    given_all = np.array([r["label"] == POS for r in rows], dtype=int)
    score_all = np.array([r["score"] for r in rows])
    print("\n## Corpus PR-AUC (supplement excluded)")
    print(
        f"- given labels, every held-out record: {average_precision_score(given_all, score_all):.4f}"
    )

    def estimate(sample: list[dict[str, Any]], use_audit: bool) -> float:
        keep = [a for a in sample if (a["audit"] is not None or not use_audit)]
        y = np.array([(a["audit"] if use_audit else a["label"]) == POS for a in keep], dtype=int)
        s = np.array([a["score"] for a in keep])
        # each stratum's kept items stand for the whole stratum
        kept = Counter((a["source"], a["label"]) for a in keep)
        w = np.array([a["pop"] / kept[(a["source"], a["label"])] for a in keep])
        return weighted_pr_auc(base_y, base_s, y, s, w)

    rng = np.random.default_rng(0)
    by_stratum: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for a in rand:
        by_stratum[(a["source"], a["label"])].append(a)

    def resample() -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for items in by_stratum.values():
            idx = rng.integers(0, len(items), len(items))
            out.extend(items[i] for i in idx)
        return out

    for use_audit, what in ((False, "given labels"), (True, "audited labels (consensus)")):
        point = estimate(rand, use_audit)
        boots = [estimate(resample(), use_audit) for _ in range(args.boot)]
        lo, hi = np.percentile(boots, [2.5, 97.5])
        print(
            f"- audited strata ({', '.join(f'{s} {lab}' for s, lab in sorted(size))}) represented "
            f"by their sample, {what}: {point:.3f} (95% bootstrap {lo:.3f}-{hi:.3f})"
        )

    # 4. isextreme reporting FPR with audited labels. The flagged stratum was drawn from the
    # tweets one model flagged; for any model, its items that this model flags stand for this
    # model's flagged set (a close approximation when the two flag much the same tweets).
    rep_rand = by_stratum.get(("isextreme", "reporting"), [])
    rep_all = [r for r in rows if r["source"] == "isextreme" and r["label"] == "reporting"]
    drawn = [a for a in audit if a["stratum"] == "isextreme_rep_flagged"]
    flagged = [a for a in drawn + rep_rand if a["score"] >= flag]
    if rep_rand and flagged:
        pop_rep = len(rep_all)
        pop_flag = sum(r["score"] >= flag for r in rep_all)
        fc = [a for a in flagged if a["audit"] is not None]
        rc = [a for a in rep_rand if a["audit"] is not None]
        p_flag_prop = float(np.mean([a["audit"] == POS for a in fc]))
        p_rep_prop = float(np.mean([a["audit"] == POS for a in rc]))
        fpr_given = pop_flag / pop_rep
        fpr_audit = pop_flag * (1 - p_flag_prop) / (pop_rep * (1 - p_rep_prop))
        print("\n## isextreme reporting tweets at the flag threshold")
        print(
            f"- given labels: {pop_flag} of {pop_rep} flagged = FPR {fpr_given:.3f}\n"
            f"- of the audited ones this model flags, the audit calls propaganda "
            f"{p_flag_prop:.2f} (n={len(fc)}); of all given-reporting ones {p_rep_prop:.2f} "
            f"(n={len(rc)})\n"
            f"- FPR against the audited labels ≈ {fpr_audit:.3f}"
        )


if __name__ == "__main__":
    main()
