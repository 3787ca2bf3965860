"""Vocabulary coverage and the low-coverage warning, on English and on other languages.

The model is trained on English; a text most of whose words it does not know gets a score from
the few words it does know. :class:`propclf.scoring.Scorer` warns when a text of at least
``MIN_COVERAGE_WORDS`` words has a vocabulary coverage (the share of its words that are unigram
features, :meth:`propclf.model.PropagandaClassifier.coverage`) below ``LOW_COVERAGE``. This
script measures that rule and the thresholds around it on

(a) English: a seeded sample of up to ``--per-source`` records of every source of every corpus
    in the data root (``propclf.datasets.load_records``). Some corpora hold other languages
    too (the IS-supporter tweets have French, Arabic, Indonesian...): with ``langid``
    installed (``pip install langid``, an independent language identifier) the rates are also
    given on the records it calls English, which is the figure the threshold is chosen on;
(b) the isextreme tweets whose original ``tweet`` differs from its English ``translated``
    column: many are in other languages, some are English with small edits. Rates over all of
    them, over those whose letters are >= 30% non-ASCII, and (with langid) over those it calls
    English or not; their English translations are the control;
(c) lines written for this script in eight languages, everyday news and a few recruitment-style
    lines, with their scores, to show that a score on a language the model does not know is
    arbitrary.

Every text is scored the way the CLI scores it (``score_documents`` with its word counts, the
warning of ``propclf.scoring.coverage_warnings``). Run from the repository root:

    python benchmarks/language.py                       # ../shared/data, the embedded model
    python benchmarks/language.py --per-source 500 --model path/to/model.joblib

Prints Markdown tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SWEEP = (0.5, 0.55, 0.6, 0.65, 0.7, 0.725, 0.75, 0.8)
QUANTILES = (0.001, 0.01, 0.05, 0.5)

# (c): written for this benchmark (not the tests' lines). Everyday news and life, then
# recruitment-style calls (the README's example line and the CLI tests' line, translated).
OWN_LINES: dict[str, list[str]] = {
    "French": [
        "Les militants ont revendiqué l'attentat, selon les autorités locales.",
        "Le gouvernement a annoncé mardi une nouvelle réforme des retraites.",
        "La mairie organise un marché de Noël sur la place centrale ce week-end.",
        "Selon la police, trois personnes ont été blessées dans l'accident de la route.",
        "Les élèves reprendront les cours lundi prochain après les vacances d'hiver.",
        "Le prix du pain a encore augmenté dans plusieurs régions du pays.",
        "Frères, rejoignez les rangs des moudjahidines, le paradis attend les martyrs !",
    ],
    "German": [
        "Die Regierung hat am Dienstag eine neue Rentenreform angekündigt.",
        "Am Wochenende findet auf dem Marktplatz ein Weihnachtsmarkt statt.",
        "Nach Angaben der Polizei wurden bei dem Unfall drei Menschen verletzt.",
        "Der Zug nach München hat heute wegen Bauarbeiten eine Stunde Verspätung.",
        "Brüder, schließt euch den Reihen der Mudschaheddin an, das Paradies erwartet die "
        "Märtyrer!",
    ],
    "Spanish": [
        "El gobierno anunció el martes una nueva reforma de las pensiones.",
        "Según la policía, tres personas resultaron heridas en el accidente de tráfico.",
        "Los alumnos volverán a clase el lunes después de las vacaciones de invierno.",
        "Mañana habrá lluvias fuertes en el norte y temperaturas más bajas.",
        "Hermanos, uníos a las filas de los muyahidines, ¡el paraíso espera a los mártires!",
    ],
    "Italian": [
        "Il governo ha annunciato martedì una nuova riforma delle pensioni.",
        "Secondo la polizia, tre persone sono rimaste ferite nell'incidente stradale.",
        "Gli studenti torneranno a scuola lunedì dopo le vacanze invernali.",
    ],
    "Arabic": [
        "قالت الشرطة إن المهاجمين استهدفوا مركزا أمنيا في المدينة وأصيب عدد من المارة.",
        "أعلنت الحكومة يوم الثلاثاء عن إصلاح جديد لنظام التقاعد في البلاد.",
        "يعود الطلاب إلى المدارس يوم الاثنين بعد انتهاء العطلة الشتوية.",
        "تنظم البلدية سوقا شعبيا في الساحة الرئيسية نهاية هذا الأسبوع.",
        "يا إخوة، انضموا إلى صفوف المجاهدين، فالجنة تنتظر الشهداء!",
    ],
    "Russian": [
        "Правительство во вторник объявило о новой пенсионной реформе.",
        "По данным полиции, в результате аварии пострадали три человека.",
        "Школьники вернутся к занятиям в понедельник после зимних каникул.",
        "Братья, вступайте в ряды моджахедов, рай ждёт мучеников!",
    ],
    "Indonesian": [
        "Pemerintah mengumumkan reformasi dana pensiun yang baru pada hari Selasa.",
        "Menurut polisi, tiga orang terluka dalam kecelakaan lalu lintas itu.",
        "Besok akan turun hujan lebat di wilayah utara dan suhu lebih dingin.",
        "Saudara-saudara, bergabunglah dengan barisan mujahidin, surga menanti para syuhada!",
    ],
    "Turkish": [
        "Hükümet salı günü yeni bir emeklilik reformu açıkladı.",
        "Polisin açıklamasına göre trafik kazasında üç kişi yaralandı.",
        "Öğrenciler kış tatilinin ardından pazartesi günü okula dönecek.",
    ],
}


def language_id() -> Callable[[str], str] | None:
    """langid.py's language of a text, or None when langid is not installed."""
    try:
        import langid  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        return None
    return lambda text: str(langid.classify(text)[0])


def english_sample(root: str, per_source: int, seed: int) -> dict[str, list[str]]:
    """Up to ``per_source`` records of every source, seeded, in registry order."""
    from propclf import datasets

    out: dict[str, list[str]] = {}
    for name in datasets.CORPORA:
        by_source: dict[str, list[str]] = defaultdict(list)
        for r in datasets.load_records(root, names=[name]):
            by_source[r.source].append(r.text)
        for source, texts in by_source.items():
            if len(texts) > per_source:
                texts = random.Random(f"{seed}:{source}").sample(texts, per_source)
            out[source] = texts
    return out


def isextreme_changed(root: str) -> tuple[list[str], list[str]]:
    """isextreme tweets whose ``tweet`` differs from ``translated``, and their translations."""
    csv.field_size_limit(1 << 30)
    path = Path(root) / "isextreme" / "tweets.csv"
    with path.open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["tweet"] != r["translated"]]
    return [r["tweet"] for r in rows], [r["translated"] for r in rows]


def non_ascii_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum(not c.isascii() for c in letters) / len(letters) if letters else 0.0


class Measured:
    """Scores, word counts and warnings of a set of texts, scored as the CLI scores them."""

    def __init__(self, model: Any, texts: Sequence[str]) -> None:
        from propclf.scoring import coverage_warnings

        texts = list(texts)
        if texts:
            self.scores, _, self.counts = model.score_documents(texts, return_word_counts=True)
        else:
            self.scores, self.counts = np.zeros(0), np.zeros((0, 2), dtype=np.int64)
        self.warned = np.array([w is not None for w in coverage_warnings(self.counts)], bool)
        words = self.counts[:, 1]
        self.coverage = np.where(words > 0, self.counts[:, 0] / np.maximum(words, 1), np.nan)
        self.eligible = words >= min_words()

    def subset(self, keep: np.ndarray) -> Measured:
        out = object.__new__(Measured)
        for k in ("scores", "counts", "warned", "coverage", "eligible"):
            setattr(out, k, getattr(self, k)[keep])
        return out

    def __len__(self) -> int:
        return len(self.scores)

    def rate(self, threshold: float | None = None) -> float:
        """Share warned (at ``threshold`` instead of ``LOW_COVERAGE`` when given)."""
        if not len(self):
            return float("nan")
        if threshold is None:
            return float(self.warned.mean())
        return float((self.eligible & (self.coverage < threshold)).mean())

    def quantiles(self) -> list[float]:
        c = self.coverage[~np.isnan(self.coverage)]
        return [float(np.quantile(c, q)) for q in QUANTILES] if len(c) else [float("nan")] * 4


def min_words() -> int:
    from propclf.scoring import MIN_COVERAGE_WORDS

    return MIN_COVERAGE_WORDS


def pct(x: float) -> str:
    return "–" if x != x else f"{100 * x:.2f}%"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_root = os.environ.get("PROPCLF_DATA", str(REPO.parent / "shared" / "data"))
    ap.add_argument("--data", default=default_root, help="data root (default ../shared/data)")
    ap.add_argument("--model", help="a .joblib model (default: the embedded one)")
    ap.add_argument("--per-source", type=int, default=2000, help="English records per source")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from propclf.persistence import load_model
    from propclf.scoring import LOW_COVERAGE, MIN_COVERAGE_WORDS

    start = time.perf_counter()
    model = load_model(args.model)
    lid = language_id()
    model_id = (getattr(model, "manifest_", None) or {}).get("model_id")
    print(f"# Vocabulary coverage: model {model_id}\n")
    print(
        f"Warning rule: at least {MIN_COVERAGE_WORDS} words and coverage below {LOW_COVERAGE}. "
        f"English per langid: {'yes' if lid else 'no (pip install langid)'}.\n"
    )

    # (a) English records of every source
    sample = english_sample(args.data, args.per_source, args.seed)
    measured: dict[str, Measured] = {}
    english: dict[str, Measured] = {}
    print("## (a) Records of the training corpora\n")
    cols = "| source | records | langid English | warned: all | warned: English |"
    print(cols + " coverage of English q0.1% / q1% / q5% / median |")
    print("|---|--:|--:|--:|--:|---|")
    for source, texts in sample.items():
        m = measured[source] = Measured(model, texts)
        is_en = np.array([lid(t) == "en" for t in texts], bool) if lid else np.ones(len(m), bool)
        e = english[source] = m.subset(is_en)
        q = " / ".join(f"{x:.2f}" for x in e.quantiles())
        print(
            f"| {source} | {len(m):,} | {pct(is_en.mean()) if lid else '–'} | {pct(m.rate())} | "
            f"{pct(e.rate()) if lid else '–'} | {q} |"
        )
    from propclf import datasets

    functional = Measured(model, [c["text"] for c in datasets.load_functional()])
    q = " / ".join(f"{x:.2f}" for x in functional.quantiles())
    print(
        f"| functional suite (hand-written, English) | {len(functional):,} | – | "
        f"{pct(functional.rate())} | – | {q} |\n"
    )

    # (b) isextreme originals that differ from their English translation
    tweets, translations = isextreme_changed(args.data)
    tw = Measured(model, tweets)
    tr = Measured(model, translations)
    groups: list[tuple[str, np.ndarray]] = [
        ("all tweets that differ from their translation", np.ones(len(tw), bool)),
        (
            "letters >= 30% non-ASCII",
            np.array([non_ascii_share(t) >= 0.3 for t in tweets], bool),
        ),
    ]
    if lid:
        langs = np.array([lid(t) for t in tweets])
        groups += [("langid: not English", langs != "en"), ("langid: English", langs == "en")]
    print("## (b) isextreme tweets whose original differs from the English translation\n")
    n = MIN_COVERAGE_WORDS
    print(f"| tweets | n | with >= {n} words | warned | warned, of those | translations warned |")
    print("|---|--:|--:|--:|--:|--:|")
    for name, keep in groups:
        s, t = tw.subset(keep), tr.subset(keep)
        elig = s.subset(s.eligible)
        print(
            f"| {name} | {len(s):,} | {int(s.eligible.sum()):,} | {pct(s.rate())} | "
            f"{pct(elig.rate())} | {pct(t.rate())} |"
        )
    print()

    # (c) own lines
    print("## (c) Lines in other languages written for this benchmark\n")
    print("| language | words | known | coverage | warned | score | band | line |")
    print("|---|--:|--:|--:|---|--:|---|---|")
    own: list[str] = []
    for language, lines in OWN_LINES.items():
        m = Measured(model, lines)
        bands = model.band(m.scores)
        own += lines
        for k, line in enumerate(lines):
            known, words = (int(x) for x in m.counts[k])
            print(
                f"| {language} | {words} | {known} | {m.coverage[k]:.2f} | "
                f"{'yes' if m.warned[k] else 'no'} | {m.scores[k]:.3f} | {bands[k]} | {line} |"
            )
    mine = Measured(model, own)
    print(
        f"\n{int(mine.warned.sum())} of {len(mine)} lines warned; scores range "
        f"{mine.scores.min():.3f}-{mine.scores.max():.3f}, "
        f"{int((model.band(mine.scores) != 'pass').sum())} reach review or flag.\n"
    )

    # the threshold
    reference = english if lid else measured
    print("## Threshold sweep\n")
    print(
        "Worst source: the highest warning rate of any source's "
        f"{'English (langid) ' if lid else ''}records; (b) and (c) as above.\n"
    )
    print(
        "| threshold | worst source | its rate | functional suite | (b) all | (b) >= 30% "
        "non-ASCII | (b) langid not English | (c) own lines |"
    )
    print("|--:|---|--:|--:|--:|--:|--:|--:|")
    non_ascii = groups[1][1]
    not_en = groups[2][1] if lid else None
    for threshold in SWEEP:
        worst = max(reference, key=lambda s: reference[s].rate(threshold))
        mark = " (shipped)" if abs(threshold - LOW_COVERAGE) < 1e-9 else ""
        b3 = pct(tw.subset(not_en).rate(threshold)) if not_en is not None else "–"
        print(
            f"| {threshold}{mark} | {worst} | {pct(reference[worst].rate(threshold))} | "
            f"{pct(functional.rate(threshold))} | {pct(tw.rate(threshold))} | "
            f"{pct(tw.subset(non_ascii).rate(threshold))} | {b3} | "
            f"{pct(mine.rate(threshold))} |"
        )
    print(f"\n{time.perf_counter() - start:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
