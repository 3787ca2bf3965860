"""Training: data → grouped cross-validation → thresholds → artifact, manifest and model card."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from propclf.evaluation import (
    binary_metrics,
    expected_calibration_error,
    fit_thresholds,
    format_identity_table,
    format_religious_table,
    format_table,
    functional_records,
    grouped_table,
    held_out_documents,
    identity_term_table,
    length_bucket,
    reliability_table,
    religious_text_table,
)
from propclf.model import PropagandaClassifier, _sigmoid

__all__ = [
    "ARTEFACT_TOKENS",
    "HARD_NEGATIVE_WEIGHTS",
    "PLATFORM_NAMES",
    "SUPPLEMENT_WEIGHT",
    "card_path",
    "records_sha256",
    "retune",
    "source_specific_names",
    "summary_text",
    "train",
    "write_card",
]

log = logging.getLogger(__name__)

#: Weight multipliers by ``source`` or ``source:label``. Tweets that discuss, report on or
#: criticise extremism on the same platform and with the same vocabulary as the propaganda
#: (isextreme's reporting tweets, crisislex's tweets about an attack) are the hardest and rarest
#: negatives; up-weighting them cut the held-out false-positive rate on crisislex from 5.3% to
#: 3.6% and raised grouped-CV PR-AUC from 0.840 to 0.847 (3-fold experiment, see the model card).
HARD_NEGATIVE_WEIGHTS: dict[str, float] = {"isextreme:reporting": 3.0, "crisislex": 3.0}

#: Weight of each case of the project's hand-written training supplement (729 cases beside
#: ~193,000 corpus passages). Grouped 3-fold experiments (``benchmarks/ablation.py``): weight 1,
#: 5, 10 and 20 raised the functional suite's PR-AUC from 0.862 to 0.931, 0.954, 0.960 and 0.966
#: while grouped-CV PR-AUC on the corpora stayed within 0.002; 10 keeps the supplement a minor
#: share of the training mass.
SUPPLEMENT_WEIGHT = 10.0

#: Tokens that betray *where* a text came from rather than what it says; none may be among the
#: strongest features of a shipped model.
ARTEFACT_TOKENS = frozenset(
    {"xuser", "xurl", "rt", "http", "https", "t", "co", "pic", "twitter", "com", "www", "amp"}
)


#: Names of the platforms texts are posted on, and their verbs. They say *where* a text was
#: posted: one crawl points its readers to X, Odysee and Substack, the news collections mention
#: Facebook. In the default model before they were excluded, *on x* and *x post* were among the
#: 50 strongest propaganda n-grams, and a plain sentence naming Gab and Odysee scored 0.84.
#: With ``exclude_names`` they get no weight, like the collection names. (*twitter* also marks
#: link residue, hence its place among the artefacts.)
PLATFORM_NAMES = frozenset(
    {
        *("x", "twitter", "tweet", "tweets", "tweeted", "retweet", "retweets", "retweeted"),
        *("telegram", "facebook", "instagram", "youtube", "tiktok", "whatsapp", "snapchat"),
        *("reddit", "gab", "rumble", "bitchute", "odysee", "substack", "parler", "gettr"),
        *("vk", "vkontakte", "truthsocial"),
    }
)


_WORD = re.compile(r"(?<![\w@#])(#?)([A-Za-z][A-Za-z]+)\b")
_ALNUM = re.compile(r"(?<![\w@#])(?:[A-Za-z]+[0-9]+|[0-9]+[A-Za-z]+)[A-Za-z0-9]*\b")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\"\n]\s*)$")


def source_specific_names(
    records: Sequence[Any],
    min_count: int = 20,
    capitalised: float = 0.6,
    one_source: float = 0.9,
    reporting: float = 0.9,
) -> frozenset[str]:
    """Names that say which reporting collection a text came from, not what it does.

    A word is such a name when it is written capitalised or as a hashtag (``capitalised`` of its
    ``min_count`` or more occurrences, sentence starts not counted), ``one_source`` of its
    occurrences are in one source and ``reporting`` of them in reporting texts: *Boston* (the
    crisis tweets), *Alawite* (one scrape's search topic), *Kandahar* (the ISAF releases), *Cruz*
    (2016 wire news). Reporting and propaganda speak of the same events, so such names teach the
    collection; the model gives them, and every n-gram containing them, no weight. Names spread
    over sources (*Syria*, *Jews*) and the movements' own vocabulary are kept. Words of letters
    and digits (*Media2Rise*, *warreporter1*: handles and brands without their ``@``) tied to
    one source are names on either side.
    """
    total: Counter[str] = Counter()
    caps: Counter[str] = Counter()
    starts: Counter[str] = Counter()
    rep: Counter[str] = Counter()
    by_source: dict[str, Counter[str]] = {}
    for r in records:
        text, is_rep = r.text, r.label != "propaganda"
        for m in _WORD.finditer(text):
            word = m.group(2)
            low = word.lower()
            total[low] += 1
            rep[low] += is_rep
            by_source.setdefault(low, Counter())[r.source] += 1
            if m.group(1):  # a hashtag names an event or a campaign
                caps[low] += 1
            elif not m.start() or _SENTENCE_START.search(text[max(0, m.start() - 3) : m.start()]):
                starts[low] += 1  # capitalised or not, a sentence start says nothing
            elif word[0].isupper():
                caps[low] += 1
    names = set()
    for word, n in total.items():
        if n < min_count or rep[word] < reporting * n:
            continue
        if caps[word] < capitalised * max(1, n - starts[word]):
            continue
        if by_source[word].most_common(1)[0][1] >= one_source * n:
            names.add(word)
    # letters and digits run together ("Media2Rise", "warreporter1"): handles and brands written
    # without their @, whichever side they are on
    from propclf.text import canonical_token

    brands: Counter[str] = Counter()
    brand_source: dict[str, Counter[str]] = {}
    for r in records:
        for m in _ALNUM.finditer(r.text):
            tok = canonical_token(m.group().lower())
            brands[tok] += 1
            brand_source.setdefault(tok, Counter())[r.source] += 1
    for tok, n in brands.items():
        if n >= min_count and brand_source[tok].most_common(1)[0][1] >= one_source * n:
            names.add(tok)
    return frozenset(names)


def records_sha256(records: Sequence[Any]) -> str:
    """SHA-256 over (source, id, label, text) of the training records, in order."""
    h = hashlib.sha256()
    for r in records:
        for part in (r.source, r.id, r.label, r.text):
            h.update(part.encode("utf-8", "surrogatepass"))
            h.update(b"\x00")
    return h.hexdigest()


def _cross_fitted_probabilities(oof: np.ndarray, fold: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Calibrate each fold's held-out decision values with a sigmoid fitted on the other folds."""
    from sklearn.linear_model import LogisticRegression

    p = np.zeros(len(oof))
    for k in np.unique(fold):
        tr, te = fold != k, fold == k
        platt = LogisticRegression(C=1e6).fit(oof[tr].reshape(-1, 1), y[tr])
        p[te] = _sigmoid(platt.coef_[0, 0] * oof[te] + platt.intercept_[0])
    return p


def _load_training_records(
    data_root: str | None,
    sources: str | None,
    labelled: Sequence[str],
    limit: int | None,
    supplement: bool = True,
) -> list[Any]:
    from propclf import datasets

    records: list[Any] = []
    invented: list[str] = []
    if data_root is not None or not labelled:
        names = sources.split(",") if sources else None
        records.extend(datasets.load_records(data_root, names))
        if supplement:
            records.extend(datasets.read_labelled(datasets.supplement_path()))
            invented = datasets.read_invented_names()
    for path in labelled:
        records.extend(datasets.read_labelled(path))
    if limit:
        per: Counter[str] = Counter()
        kept = []
        for r in records:
            per[r.source] += 1
            if per[r.source] <= limit:
                kept.append(r)
        records = kept
    before = len(records)
    records = datasets.dedup(records)
    log.info("records: %d, after dedup %d", before, len(records))
    if invented:  # after dedup, so the same records as with the names
        records = datasets.mask_invented_names(records, invented)
    return records


def train(
    out_path: str,
    data_root: str | None = None,
    sources: str | None = None,
    labelled: Sequence[str] = (),
    seed: int = 0,
    cv: int = 5,
    target_precision: float = 0.9,
    target_recall: float = 0.85,
    quotes: str = "reported",
    C: float = 4.0,
    max_features: int | None = 400_000,
    limit: int | None = None,
    command: str | None = None,
    source_weights: dict[str, float] | None = None,
    supplement: bool = True,
    exclude_names: bool = True,
    nb_smoothing: float | None = 1.0,
    held_out_path: str | None = None,
    document_correction: float = 0.5,
    subword_buckets: int = 1 << 20,
    segment_words: bool = True,
) -> dict[str, Any]:
    """Train, evaluate on held-out groups, fit thresholds, save; return the training report.

    Grouped cross-validation (folds never split an account, forum user, country, outlet or
    issue) gives held-out decision values for every record; they calibrate the model, measure
    it (overall, per source, per length) and place the thresholds: ``flag`` at the lowest score
    reaching ``target_precision``, ``review`` at the highest score keeping ``target_recall``. The
    final model is fitted on all records. The functional suite is scored only by the final
    model, never trained on.

    Features are scaled by their Naive-Bayes log-count ratio (``nb_smoothing``; 0 or None turns
    it off) with C=4: in grouped 3-fold experiments (``benchmarks/quick_ablation.py``) this
    raised corpus PR-AUC from 0.796 to 0.804 and, at the flag rule, counter-speech, religious
    and quoting-reporting accuracy on the functional suite from 0.69/0.69/0.95 to 0.88/0.81/0.97.

    Subword features (``subword_buckets``; 0 turns them off): 5-fold grouped CV PR-AUC 0.806
    without, 0.817 with 2**20 buckets.

    The review target is a recall of 0.85: on grouped 3-fold held-out scores, a recall of 0.9
    sent 17% of reporting passages to review, 0.85 sent 10%, 0.8 sent 6%.

    With the corpora (``data_root`` given, or no ``labelled`` file), the project's training
    supplement is added unless ``supplement=False``, the names its writers invented masked
    (:func:`propclf.datasets.mask_invented_names`); with ``exclude_names`` the
    :func:`source_specific_names` of the training records, the :data:`PLATFORM_NAMES` and the
    mask word get no weight. With
    ``held_out_path``, every record's held-out (grouped-CV) score is written there as JSON lines
    (``id``, ``source``, ``group``, ``label``, ``score``) for error analysis.
    """
    from propclf import datasets, persistence

    t0 = time.perf_counter()
    if source_weights is None:
        source_weights = {**HARD_NEGATIVE_WEIGHTS, "supplement": SUPPLEMENT_WEIGHT}
    for where in (out_path, held_out_path):  # before, not after, ten minutes of training
        if where:
            folder = Path(where).parent
            blocked = next((p for p in (folder, *folder.parents) if p.exists()), folder)
            if not blocked.is_dir():
                raise ValueError(f"cannot write {where}: {blocked} is a file, not a folder")
            folder.mkdir(parents=True, exist_ok=True)
    records = _load_training_records(data_root, sources, labelled, limit, supplement)
    per_label = Counter(r.label for r in records)
    if min(per_label["propaganda"], per_label["reporting"]) < 2:
        raise ValueError(
            "training needs at least 2 records of each label after de-duplication; got "
            f"{per_label['propaganda']} propaganda and {per_label['reporting']} reporting"
        )
    names = (
        source_specific_names(records) | PLATFORM_NAMES | {datasets.INVENTED_NAME}
        if exclude_names
        else frozenset()
    )
    log.info("source-specific and platform names given no weight: %d", len(names))
    texts = [r.text for r in records]
    y = np.array([1 if r.label == "propaganda" else 0 for r in records])
    weights = np.array(
        [
            r.weight
            * source_weights.get(f"{r.source}:{r.label}", source_weights.get(r.source, 1.0))
            for r in records
        ],
        dtype=np.float64,
    )
    groups = np.array([r.group for r in records])
    model = PropagandaClassifier(
        quotes=quotes,  # type: ignore[arg-type]
        C=C,
        max_features=max_features,
        cv=cv,
        random_state=seed,
        exclude_tokens=tuple(sorted(names)),
        nb_smoothing=nb_smoothing or None,
        document_correction=document_correction,
        subword_buckets=subword_buckets,
        segment_words=segment_words,
    )
    model.fit(texts, y, sample_weight=weights, groups=groups)
    p = _cross_fitted_probabilities(model.oof_decision_, model.oof_fold_, y)
    fitted = fit_thresholds(
        y, p, groups, target_precision=target_precision, target_recall=target_recall
    )
    flag, review = fitted["flag"], fitted["review"]
    model.set_params(flag_threshold=round(flag, 4), review_threshold=round(review, 4))
    del model.oof_decision_, model.oof_fold_

    sources_col = [r.source for r in records]
    if held_out_path:
        _write_held_out(held_out_path, records, p)
    doc_sources, doc_y, doc_max, doc_n = held_out_documents(
        [r.id for r in records], sources_col, y, p
    )
    doc_p = model.correct_for_passages(doc_max, doc_n)  # the document rule of the model
    report: dict[str, Any] = {
        "records": len(records),
        "per_source_records": dict(Counter(sources_col)),
        "supplement_weight": source_weights.get("supplement"),
        "propaganda": int(y.sum()),
        "groups": len(set(groups.tolist())),
        "grouped_cv": {
            "folds": cv,
            "overall": binary_metrics(y, p, flag),
            "ece": expected_calibration_error(y, p),
            "reliability": reliability_table(y, p),
            "per_source": grouped_table(sources_col, y, p, flag, review),
            "per_length": grouped_table([length_bucket(t) for t in texts], y, p, flag, review),
            "documents": grouped_table(doc_sources, doc_y, doc_p, flag, review),
            "documents_plain_max": grouped_table(doc_sources, doc_y, doc_max, flag, review),
        },
        "thresholds": {
            "flag": model.flag_threshold,
            "review": model.review_threshold,
            "target_precision": target_precision,
            "target_recall": target_recall,
            "flag_interval": [round(v, 4) for v in fitted["flag_interval"]],
            "review_interval": [round(v, 4) for v in fitted["review_interval"]],
            "interval_level": fitted["interval_level"],
        },
        "top_features": model.top_features(25),
        "excluded_names": sorted(names),
    }
    try:
        fx = functional_records()
    except FileNotFoundError:
        fx = []
    if fx:
        fy = np.array([1 if r.label == "propaganda" else 0 for r in fx])
        fs, _ = model.score_documents([r.text for r in fx])
        report["functional"] = {
            "overall": binary_metrics(fy, fs, model.flag_threshold),
            "per_kind": grouped_table(
                [r.group for r in fx], fy, fs, model.flag_threshold, model.review_threshold
            ),
        }
    from propclf.datasets import load_identity_templates

    try:
        spec = load_identity_templates()
    except FileNotFoundError:
        spec = None
    if spec is not None:
        report["identity_terms"] = identity_term_table(model, spec)
    from propclf.datasets import load_religious_everyday

    with contextlib.suppress(FileNotFoundError):
        report["religious_everyday"] = religious_text_table(model, load_religious_everyday())
    cvm = report["grouped_cv"]
    summary = {
        "grouped_cv_pr_auc": round(cvm["overall"]["pr_auc"], 4),
        "grouped_cv_precision": round(cvm["overall"]["precision"], 4),
        "grouped_cv_recall": round(cvm["overall"]["recall"], 4),
        "grouped_cv_ece": round(cvm["ece"], 4),
        "max_reporting_source_fpr": round(
            max(
                (row["flag_rate"] for row in cvm["per_source"].values() if row["propaganda"] == 0),
                default=0.0,
            ),
            4,
        ),
    }
    if fx:
        summary["functional_accuracy"] = round(report["functional"]["overall"]["accuracy"], 4)
        summary["functional_min_kind_accuracy"] = round(
            min(r["accuracy"] for r in report["functional"]["per_kind"].values()), 4
        )
    report["summary"] = summary
    report["train_seconds"] = round(time.perf_counter() - t0, 1)
    data_hash = records_sha256(records)
    manifest = persistence.save(
        model,
        out_path,
        training_data_sha256=data_hash,
        metrics={
            "summary": summary,
            "grouped_cv_per_source": cvm["per_source"],
            "functional_per_kind": report.get("functional", {}).get("per_kind", {}),
            "threshold_fit": report["thresholds"],
        },
        command=command,
        extra={
            "source_weights": source_weights,
            "training_records": len(records),
            "training_sources": sorted(set(sources_col)),
        },
    )
    report["manifest"] = manifest
    report["card"] = str(write_card(out_path, report, manifest))
    return report


def retune(
    model: Any,
    records: Sequence[Any],
    out_path: str | Path,
    *,
    target_precision: float = 0.9,
    target_recall: float = 0.85,
    command: str | None = None,
) -> dict[str, Any]:
    """Save a copy of ``model`` whose thresholds are fitted to ``records``, a user's labels.

    The weights are untouched; only the operating point moves, so a team can set the flag and
    review bands for its own platform without retraining. The thresholds follow the training
    rule (:func:`propclf.evaluation.fit_thresholds`), unrounded, on the model's document scores
    of ``records``. The new manifest keeps the base model's training-data hash and records the
    base model, the labels' SHA-256 and the fit (with its intervals over the records' groups).
    Returns the evaluation report of ``records`` at the new thresholds, with ``manifest``.

    Raises
    ------
    ValueError
        The records lack one of the labels, or no threshold reaches ``target_precision``.
    """
    from propclf import persistence
    from propclf.evaluation import evaluate

    scores, _ = model.score_documents(
        [r.text for r in records]
    )  # once: thresholds move, not scores
    targets = (target_precision, target_recall)
    fit = evaluate(model, records, fit_targets=targets, scores=scores)["fitted_thresholds"]
    if fit["flag"] >= 1.0:
        raise ValueError(
            f"no threshold reaches precision {target_precision} on these labels; "
            "lower the target precision or label more items"
        )
    base = getattr(model, "manifest_", None) or {}
    tuned = copy.deepcopy(model)  # without manifest_ and path_ (PropagandaClassifier.__getstate__)
    tuned.set_params(flag_threshold=fit["flag"], review_threshold=fit["review"])
    report = evaluate(tuned, records, scores=scores)
    manifest = persistence.save(
        tuned,
        out_path,
        training_data_sha256=base.get("training_data_sha256"),
        metrics={
            "summary": base.get("metrics", {}).get("summary", {}),
            "threshold_fit": fit,
            "tuned_on": {
                "records": len(records),
                "sha256": records_sha256(records),
                "sources": sorted({r.source for r in records}),
                "overall": report["overall"],
            },
        },
        command=command,
        extra={
            "base_model_id": base.get("model_id"),
            "base_artifact_sha256": base.get("artifact_sha256"),
            "base_thresholds": base.get("thresholds"),
        },
    )
    report["fitted_thresholds"] = fit
    report["manifest"] = manifest
    return report


def card_path(artifact: str | Path) -> Path:
    """``MODEL_CARD.md`` beside ``default.joblib``; ``<stem>.card.md`` beside other artifacts."""
    a = Path(artifact)
    return a.with_name("MODEL_CARD.md") if a.stem == "default" else a.with_suffix(".card.md")


def _features_md(top: dict[str, list[tuple[str, float]]]) -> str:
    rows = ["| propaganda n-gram | weight | reporting n-gram | weight |", "|---|---|---|---|"]
    for (pn, pw), (rn, rw) in zip(top["propaganda"], top["reporting"], strict=False):
        rows.append(f"| `{pn}` | {pw:+.2f} | `{rn}` | {rw:+.2f} |")
    return "\n".join(rows)


def _write_held_out(path: str, records: Sequence[Any], p: np.ndarray) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r, score in zip(records, p.tolist(), strict=True):
            row = {"id": r.id, "source": r.source, "group": r.group, "label": r.label}
            f.write(json.dumps({**row, "score": round(score, 6)}, ensure_ascii=False) + "\n")


def _md_table(rows: dict[str, dict[str, Any]], title: str) -> str:
    cols = ["n", "propaganda", "flag_rate", "review_rate", "accuracy", "recall", "fpr", "pr_auc"]
    out = [f"| {title} | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for k, row in rows.items():
        cells = []
        for c in cols:
            v = row.get(c, "")
            cells.append(f"{v:.3f}" if isinstance(v, float) else str(v))
        out.append(f"| {k} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def _quote_phrase(mode: object) -> str:
    if mode == "attributed":
        return "`q_` n-grams; `r_` for quotations attributed to a speaker or document"
    if mode == "separate":
        return "`q_` n-grams"
    if mode == "reported":
        return (
            "`q_` n-grams, as are unquoted reported beliefs and sayings "
            '("we were told that ...", "I used to believe ...")'
        )
    return f"quotes: {mode}"


def _subword_phrase(buckets: object) -> str:
    if not buckets:
        return ""
    return (
        f", plus fastText-style character 3-5-grams of every word hashed into {buckets} columns "
        "(a word's spelling counts even when the word itself was never seen)"
    )


def _subword_failure(buckets: object) -> str:
    if not buckets:
        return ""
    return (
        "; subword features give a new word the weight of known words spelled like it, which "
        "covers inflections and some misspellings but can mislead (a new name that shares "
        "letters with a loaded word), and they raised the false-positive rate on same-platform "
        "discussion (isextreme) by about 0.7 points"
    )


def _segment_phrase(segment_words: object) -> str:
    if not segment_words:
        return ""
    return (
        "; words run together with nothing to split them at (`jointheranks`, lower-case "
        "hashtags) are split into vocabulary words when the vocabulary lacks the whole"
    )


def _segment_failure(segment_words: object) -> str:
    if not segment_words:
        return ", words run together without a hashtag"
    return (
        ", words run together that include a word the vocabulary lacks or of fewer than "
        "seven letters, which are left whole"
    )


def _nb_phrase(nb_smoothing: float | None) -> str:
    if not nb_smoothing:
        return ""
    return f" over features scaled by their Naive-Bayes log-count ratio (smoothing {nb_smoothing})"


def _sources_phrase(sources: list[str]) -> str:
    public = [s for s in sources if s != "supplement"]
    extra = " and the project's training supplement" if "supplement" in sources else ""
    return f"{len(public)} public sources{extra}"


def _threshold_interval_phrase(report: dict[str, Any]) -> str:
    t = report["thresholds"]
    if "flag_interval" not in t:
        return ""
    (f_lo, f_hi), (r_lo, r_hi) = t["flag_interval"], t["review_interval"]
    level = round(100 * t["interval_level"])
    return (
        f" Refitted on groups resampled with replacement, {level}% of the refits put the flag "
        f"threshold between {f_lo:.2f} and {f_hi:.2f} and the review threshold between "
        f"{r_lo:.2f} and {r_hi:.2f}: which accounts, channels and outlets the data hold "
        "moves the operating point that much, so fit it on your own labelled data "
        "(`propclf evaluate yours.csv --fit-thresholds`)."
    )


def _supplement_md(report: dict[str, Any]) -> str:
    parts = []
    n_sup = report.get("per_source_records", {}).get("supplement", 0)
    if n_sup:
        parts.append(
            f"The project's training supplement ({n_sup} short hand-written cases, weight "
            f"{report.get('supplement_weight')}, `datasets/supplement/`) fills the corpora's gaps "
            "(everyday religious text, counter-speech, reporting that quotes, propaganda of "
            "several movements and in news style). It was written by a separate LLM-assisted "
            "author without access to the functional suite and a test rejects near-copies, but "
            "both are the project's own writing, and the topics of the later batches (loaded "
            "religious vocabulary, long attributed quotations; Irish institutions and platform "
            "names; history and ideas; the movements, causes and lawful mobilising speech of the "
            "suite's newest kinds; benign lines naming identity groups; the informal register "
            "of supporters' chat posts; veiled threats, recruitment pitches and civic oratory; "
            "definitions of extremist terms) were chosen from "
            "failures and gaps the suite also tests: read the functional figures as optimistic."
        )
    names = report.get("excluded_names", [])
    if names:
        shown = [n for n in names if n not in PLATFORM_NAMES][:12]
        parts.append(
            f"{len(names)} names get no weight: those specific to one reporting collection "
            f"(`source_specific_names`), e.g. {', '.join(shown)}, and the names of platforms "
            "(`PLATFORM_NAMES`: x, telegram, odysee ...), which say where a text was posted."
        )
    return ("\n" + "\n\n".join(parts) + "\n") if parts else ""


def _raised(
    rows: dict[str, dict[str, float]], key: str
) -> tuple[float, list[tuple[str, dict[str, float]]]]:
    """The median of ``key`` over the rows, and the rows (highest first) at or above
    max(0.05, 3 x that median): benign text that scores well above the median row's because of
    a name or an idiom learnt as evidence (a failure mode only when it is large enough to move a
    score)."""
    median = float(np.median([r[key] for r in rows.values()]))
    order = sorted(rows.items(), key=lambda kv: -kv[1][key])
    return median, [(g, r) for g, r in order if r[key] >= max(0.05, 3 * median)]


def _identity_md(report: dict[str, Any]) -> tuple[str, str]:
    """The card's identity-term section and its failure-mode line ("" without templates)."""
    rows = report.get("identity_terms")
    if not rows:
        return "_The identity-term templates were not found, so they were not scored._", ""
    median, raised = _raised(rows, "benign_mean")
    section = f"""Generic benign and hateful template sentences (`datasets/functional/identity_templates.json`,
the project's test material, never trained on), each filled with every group: benign ones
should score alike whatever group they name, hateful ones should be caught whatever group they
target (`python benchmarks/identity_terms.py` prints this table for any model).

{format_identity_table(rows)}
"""
    if not raised:
        return section, ""
    names = " or ".join(g for g, _ in raised)
    means = ", ".join(f"{r['benign_mean']:.3f}" for _, r in raised)
    review = ", ".join(f"{r['benign_review']:.0%}" for _, r in raised)
    failure = (
        f"- **Identity terms.** The same benign sentences score higher when they name {names} "
        f"(mean {means} against {median:.3f} for the median group; {review} reach `review`): "
        "the model has learnt those names as evidence, as happens when most training texts "
        'that name a group are hate. See "Identity terms" for the hateful sentences caught '
        "per group.\n"
    )
    return section, failure


def _religion_md(report: dict[str, Any]) -> tuple[str, str]:
    """The card's everyday-religion section and its failure-mode line ("" without the lines)."""
    rows = report.get("religious_everyday")
    if not rows:
        return "_The everyday religious lines were not found, so they were not scored._\n", ""
    median, raised = _raised(rows, "mean")
    section = f"""Benign everyday religious posts (`datasets/functional/religious_everyday.json`, the
project's test material, never trained on): line *k* of every faith says the same thing (a
greeting, a prayer for the sick, a festival wish, ...) in that faith's idiom, so every faith
should score alike (`python benchmarks/religious_text.py` prints this table for any model).

{format_religious_table(rows)}
"""
    if not raised:
        return section, ""
    names = " and ".join(g for g, _ in raised)
    means = ", ".join(f"{r['mean']:.3f}" for _, r in raised)
    review = ", ".join(f"{r['review']:.0%}" for _, r in raised)
    failure = (
        f"- **Everyday religious idiom.** Benign everyday {names} posts score higher than the "
        f"same posts in other faiths' idiom (mean {means} against {median:.3f} for the median "
        f"faith; {review} reach `review`): many short pious posts in the training data come "
        'from extremist supporters\' accounts. See "Everyday religious text".\n'
    )
    return section, failure


def write_card(artifact: str | Path, report: dict[str, Any], manifest: dict[str, Any]) -> Path:
    """Write the model card (Markdown) from a training report."""
    cvm = report["grouped_cv"]
    rel = "\n".join(
        f"| {r['bin']} | {r['n']} | "
        + ("" if r["mean_score"] is None else f"{r['mean_score']:.3f}")
        + " | "
        + ("" if r["observed"] is None else f"{r['observed']:.3f}")
        + " |"
        for r in cvm["reliability"]
    )
    o = cvm["overall"]
    fx = report.get("functional")
    fx_md = (
        _md_table(fx["per_kind"], "functional kind")
        if fx
        else "_The functional suite was not found, so it was not scored._"
    )
    identity_md, identity_failure = _identity_md(report)
    religion_md, religion_failure = _religion_md(report)
    text = f"""# Model card: {manifest["model_id"]}

_Written by `propclf train`; do not edit by hand. Regenerate with the command below._

## Summary
- **Task**: score a text by the probability that it is extremist **propaganda** (made by violent
  extremist groups or their supporters to recruit, glorify, threaten or incite) rather than
  **reporting** (news, analysis, research, official statements, counter-speech, or unrelated text).
- **Model**: word uni+bigram TF-IDF over normalised, de-obfuscated text with quoted speech in its
  own feature space ({_quote_phrase(manifest["params"].get("quotes"))}){
        _subword_phrase(manifest["params"].get("subword_buckets"))
    }{_segment_phrase(manifest["params"].get("segment_words"))}, logistic regression (C={
        manifest["params"].get("C")
    }){_nb_phrase(manifest["params"].get("nb_smoothing"))},
  Platt calibration fitted on held-out groups.
- **Thresholds**: flag ≥ {manifest["thresholds"]["flag"]} (label `propaganda`), review ≥
  {manifest["thresholds"]["review"]}; fitted on grouped held-out scores for precision ≥
  {report["thresholds"]["target_precision"]} (flag) and recall ≥
  {report["thresholds"]["target_recall"]} (review).{_threshold_interval_phrase(report)}
- **Versions**: propclf {manifest["propclf_version"]}, scikit-learn {manifest["sklearn_version"]};
  artifact SHA-256 `{manifest["artifact_sha256"]}`; training data SHA-256
  `{manifest["training_data_sha256"]}`; created {manifest["created"]}.
- **Command**: `{manifest["command"]}`

## Intended use
A fast first-pass filter for trust-and-safety queues and for research sweeps: it ranks English
text for human review, attaches reasons (n-grams with offsets) and passage offsets for long
documents, and abstains into a `review` band between its two thresholds.

## Out-of-scope use
- Automated removal or sanctions without human review; decisions about individuals.
- Languages other than English; images, audio, video; coded imagery and memes.
- Detecting *all* extremism: it learned jihadist (mostly ISIS-era) and white-supremacist /
  far-right propaganda; other movements and newer slang are covered only by generalisation.
- Legal determinations of terrorist content.

## Data provenance
{report["records"]} passages after cleaning and de-duplication ({report["propaganda"]} propaganda)
from {_sources_phrase(manifest.get("training_sources", []))}, in {report["groups"]} groups
(accounts, forum users, channels, countries, outlets, magazine issues, months). See
`datasets/DATASHEET.md` for origins, licences, label mapping and label-noise handling. The
project's hand-written functional suite is a test set only and was not used for training.
{_supplement_md(report)}

## Grouped cross-validation ({cvm["folds"]} folds, no group on both sides)
PR-AUC **{o["pr_auc"]:.3f}**, ROC-AUC {o["roc_auc"]:.3f}; at the flag threshold precision
{o["precision"]:.3f}, recall {o["recall"]:.3f}, F1 {o["f1"]:.3f}, false-positive rate
{o["fpr"]:.4f}; expected calibration error **{cvm["ece"]:.4f}**.

`flag_rate` is the share of a source's held-out passages flagged: the false-positive rate for a
reporting source, the recall for a propaganda source.

{_md_table(cvm["per_source"], "source")}

### By length
{_md_table(cvm["per_length"], "length (chars)")}

### Whole documents
Articles, posts and speeches the corpora split into passages (documents of two or more
passages), rebuilt from their passages' held-out scores. The model's document rule (maximum
passage score, discounted for the number of passages with `document_correction` =
{manifest["params"].get("document_correction")}):

{_md_table(cvm.get("documents", {}), "source (documents)")}

The plain maximum, for comparison: a long reporting page has many chances to hold one
propaganda-like passage, so its rates are well above its passages'.

{_md_table(cvm.get("documents_plain_max", {}), "source (documents)")}

### Reliability (calibration) on held-out groups
| score bin | n | mean score | observed propaganda rate |
|---|---|---|---|
{rel}

## Functional suite (hand-written hard cases; never trained on)
{fx_md}

## Identity terms
{identity_md}
## Everyday religious text
{religion_md}
## Strongest features
{_features_md(report["top_features"])}

## Known failure modes
- Reporting that paraphrases propaganda **without quotation marks or attribution** reads like
  the author's own voice and can be flagged.
- Propaganda phrased like a neutral news bulletin, and irony or sarcasm, are hard.
- Scores shift with register: very short texts carry little evidence; long documents are scored
  by their most propaganda-like passage, discounted for the number of passages (see the README's
  document rule), so a long post whose only propaganda-like passage is borderline can land in
  `review` rather than `flag` (compare the two "Whole documents" tables above).
- Hateful one-liners (forum posts) and short supporter tweets are the weakest propaganda: many
  miss the flag threshold and reach only `review` (see the per-source table).
- Same-platform discussion of extremism (isextreme's tweets labelled reporting) has the highest
  false-positive rate of the reporting data; some of those labels are wrong, many are genuinely
  borderline.
- Training sources differ by platform and era (2013-2024); events, names and slang after that
  are unknown to the vocabulary{_subword_failure(manifest["params"].get("subword_buckets"))}.
- **English only.** Text in another language gets an arbitrary score. Results carry a `warning`
  when fewer than 70% of a text's words (five or more) are English words of the vocabulary,
  which catches most non-English text (93% of the non-English tweets of five words or more;
  README, "Languages").
- A movement, platform or era that no training collection covers is caught far less often than
  the per-source table above suggests: that table's accounts and channels are new to the model,
  its collections are not. Leaving a whole propaganda collection out of training costs most of
  its recall (README, "How far it generalises"; `benchmarks/quick_ablation.py cross-source`).
- Obfuscation beyond what the normaliser undoes (new look-alike characters{
        _segment_failure(manifest["params"].get("segment_words"))
    }) lowers recall; so do deliberate misspellings, which no normaliser undoes
  (`python benchmarks/evasion.py`, `typos`).
{identity_failure}{religion_failure}"""
    path = card_path(artifact)
    path.write_text(text, encoding="utf-8")
    return path


def _thresholds_line(t: dict[str, Any]) -> str:
    line = f"thresholds: flag >= {t['flag']}, review >= {t['review']}"
    if "flag_interval" in t:
        (f_lo, f_hi), (r_lo, r_hi) = t["flag_interval"], t["review_interval"]
        line += (
            f" ({round(100 * t['interval_level'])}% of refits on resampled groups: flag "
            f"{f_lo:.3f}-{f_hi:.3f}, review {r_lo:.3f}-{r_hi:.3f})"
        )
    return line


def summary_text(report: dict[str, Any]) -> str:
    """A short text summary of a training report for the terminal."""
    cvm = report["grouped_cv"]
    lines = [
        f"trained on {report['records']} passages ({report['propaganda']} propaganda, "
        f"{report['groups']} groups) in {report['train_seconds']}s",
        f"wrote {report['manifest']['artifact']} ({report['manifest']['model_id']}) "
        f"and {report['card']}",
        "summary: " + ", ".join(f"{k}={v}" for k, v in report["summary"].items()),
        _thresholds_line(report["thresholds"]),
        "",
        format_table(cvm["per_source"], "grouped CV source"),
    ]
    if "functional" in report:
        lines += ["", format_table(report["functional"]["per_kind"], "functional kind")]
    return "\n".join(lines)
