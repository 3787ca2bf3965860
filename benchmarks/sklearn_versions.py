"""Does a saved model load, and score the same, under other scikit-learn releases?

    python benchmarks/sklearn_versions.py [--model M] [--versions 1.5.2 1.7.2 1.8.0 "1.5.2+numpy<2"]

For each version: a fresh venv in a temporary folder, this checkout installed into it with
that scikit-learn (from the package index pip is configured with), then the model (default:
the embedded one, ``models/default.joblib``) is loaded there and scores the functional suite
and the testimony set. Printed per version: whether it loaded (or the error it gave) and the
largest difference from the scores of this interpreter's install. A version may carry more
requirements after ``+`` (``1.5.2+numpy<2``: with NumPy 1). Takes a minute or two per version,
most of it pip.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
TEXTS = [
    REPO / "datasets" / "functional" / "cases.jsonl",
    REPO / "datasets" / "testimony" / "testimony.jsonl",
]

# run inside each venv: load the model, score the texts, print JSON
PROBE = r"""
import json, sys
import numpy, sklearn, propclf
texts = json.load(open(sys.argv[2], encoding="utf-8"))
try:
    model = propclf.load_model(sys.argv[1])
    out = {"sklearn": sklearn.__version__, "scores": model.score(texts).tolist()}
except Exception as exc:
    out = {"sklearn": sklearn.__version__, "error": f"{type(exc).__name__}: {exc}"}
out["sklearn"] += f", numpy {numpy.__version__}"
print(json.dumps(out))
"""


def texts() -> list[str]:
    out = []
    for path in TEXTS:
        with open(path, encoding="utf-8") as f:
            out.extend(json.loads(line)["text"] for line in f if line.strip())
    return out


def probe(python: str, model: Path, texts_file: Path) -> dict:
    run = subprocess.run(
        [python, "-c", PROBE, str(model), str(texts_file)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tempfile.gettempdir(),  # import the installed propclf, not the checkout
    )
    if run.returncode != 0:
        return {"error": run.stderr.strip().splitlines()[-1] if run.stderr else "failed"}
    return json.loads(run.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=REPO / "models" / "default.joblib")
    ap.add_argument("--versions", nargs="+", default=["1.5.2", "1.7.2", "1.8.0", "1.5.2+numpy<2"])
    args = ap.parse_args()
    model = args.model.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        texts_file = Path(tmp) / "texts.json"
        texts_file.write_text(json.dumps(texts()), encoding="utf-8")
        here = probe(sys.executable, model, texts_file)
        if "error" in here:
            sys.exit(f"the model does not load here: {here['error']}")
        ref = np.array(here["scores"])
        manifest = json.loads(model.with_suffix(".json").read_text(encoding="utf-8"))
        print(
            f"model {manifest['model_id']} (manifest format {manifest.get('format')}, trained "
            f"with scikit-learn {manifest.get('sklearn_version')}); {len(ref)} texts; "
            f"reference: this interpreter, scikit-learn {here['sklearn']}\n"
        )
        print("| scikit-learn, NumPy | loads | largest score difference |")
        print("|---|---|---|")
        for k, spec in enumerate(args.versions):
            version, *extra = spec.split("+")
            env = Path(tmp) / f"venv-{k}"
            venv.create(env, with_pip=True)
            python = str(env / "bin" / "python")
            pip = subprocess.run(
                [
                    python,
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    str(REPO),
                    f"scikit-learn=={version}",
                    *extra,
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if pip.returncode != 0:
                tail = pip.stderr.strip().splitlines()[-1:] or ["pip failed"]
                print(f"| {spec} | not installed: {tail[0][:120]} | |")
                continue
            got = probe(python, model, texts_file)
            if "error" in got:
                print(f"| {got.get('sklearn', spec)} | no: {got['error'][:160]} | |")
                continue
            diff = float(np.max(np.abs(np.array(got["scores"]) - ref)))
            print(f"| {got['sklearn']} | yes | {diff:.1e} |")


if __name__ == "__main__":
    main()
