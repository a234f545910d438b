"""Fit the refusal policy (mhqa/policy.py): the signal weights on the fit rows, the threshold on the tune rows.

    python bench/fit_evidence.py [--index DIR] [--l2 0.01]
        [--fit tests/data/quality/fit.jsonl --fit tests/data/questions.jsonl:calibration]
        [--tune tests/data/quality/tune.jsonl]

Asks every fit and tune question once and takes the signals policy.signals computes
(selection does not depend on the weights, so once is enough). Weights: an
L2-regularised logistic regression (answerable = 1) with plain numpy, on the fit
rows. Threshold: on the tune rows, scored with those weights, the one that
maximises answered-answerable plus refused-unanswerable (Youden's J), placed midway
to the next lower score. Writes both to mhqa/resources/evidence.json with the
sha256 and row count of each file used and the date. The frozen test split
(tests/data/quality/test.jsonl) is never read here.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import math
from pathlib import Path

import numpy as np

from mhqa import policy
from mhqa.evaluate import load_dataset, run_questions, score
from mhqa.session import open_session
from mhqa.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FIT = [ROOT / "tests/data/quality/fit.jsonl", Path(f"{ROOT / 'tests/data/questions.jsonl'}:calibration")]
DEFAULT_TUNE = ROOT / "tests/data/quality/tune.jsonl"


def fit(features: np.ndarray, labels: np.ndarray, l2: float, steps: int = 5000, rate: float = 0.5):
    """Logistic regression by gradient descent on standardised features; weights on the raw scale."""
    mean, spread = features.mean(0), features.std(0) + 1e-9
    z = (features - mean) / spread
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        w -= rate * (z.T @ (p - labels) / len(labels) + l2 * w)
        b -= rate * float((p - labels).mean())
    return w / spread, b - float((w * mean / spread).sum())


def youden_threshold(scores: list[float], labels: list[bool]) -> float:
    """The threshold maximising answered-answerable + refused-unanswerable, midway to the next lower score."""
    best, chosen = -1.0, 0.5
    for cut in sorted(set(scores)):
        answered = np.mean([s >= cut for s, label in zip(scores, labels) if label])
        refused = np.mean([s < cut for s, label in zip(scores, labels) if not label])
        if answered + refused > best + 1e-9:
            best, chosen = answered + refused, cut
    lower = [s for s in scores if s < chosen]
    return (chosen + max(lower)) / 2 if lower else chosen


def dataset(spec: Path):
    """FILE or FILE:SPLIT -> (rows, provenance)."""
    path, _, split = str(spec).partition(":")
    path = Path(path)
    rows = load_dataset(path, split or None)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return rows, {"file": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path), "split": split or None, "sha256": digest, "rows": len(rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=ROOT / "index")
    parser.add_argument("--fit", type=Path, action="append", help="FILE or FILE:SPLIT (repeatable)")
    parser.add_argument("--tune", type=Path, default=DEFAULT_TUNE)
    parser.add_argument("--l2", type=float, default=0.01)
    args = parser.parse_args()
    if "test.jsonl" in str(args.tune) or any("quality/test.jsonl" in str(f) for f in args.fit or []):
        parser.error("the frozen test split is not for fitting")
    settings = load_settings({"index": args.index, "corpus": ROOT / "corpus"})
    fit_sets = [dataset(spec) for spec in args.fit or DEFAULT_FIT]
    tune_rows, tune_source = dataset(args.tune)
    with open_session(settings) as session:
        fitted_on = [o for rows, _ in fit_sets for o in run_questions(session, rows)]
        tuned_on = run_questions(session, tune_rows)
    features = np.array([[o.answer.signals[name] for name in policy.SIGNALS] for o in fitted_on])
    labels = np.array([o.item.answerable for o in fitted_on], dtype=float)
    weights, bias = fit(features, labels, args.l2)
    table = {"bias": round(bias, 3), **{name: round(float(w), 3) for name, w in zip(policy.SIGNALS, weights)}}

    def rescored(outcomes):
        for o in outcomes:
            o.answer.evidence = policy.score(o.answer.signals, table) if o.answer.sentences else 0.0
        return outcomes

    rescored(fitted_on)
    rescored(tuned_on)
    threshold = youden_threshold([o.answer.evidence for o in tuned_on], [o.item.answerable for o in tuned_on])
    data = {
        "weights": table,
        "threshold": round(threshold, 4),
        "provenance": {
            "date": datetime.date.today().isoformat(),
            "weights_fitted_on": [source for _, source in fit_sets],
            "threshold_chosen_on": tune_source,
            "rule": "weights: L2 logistic regression (answerable = 1); threshold: max answered + refused on the tune rows",
            "l2": args.l2,
            "script": "bench/fit_evidence.py",
        },
    }
    policy.FITTED_FILE.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {policy.FITTED_FILE}: threshold {threshold:.4f}")
    print("weights", json.dumps(table))
    for name, outcomes in (("fit", fitted_on), ("tune", tuned_on)):
        report = score(outcomes, threshold)
        shown = {k: round(v, 3) for k, v in report.metrics.items() if not math.isnan(v)}
        print(name, json.dumps(shown), json.dumps({k: round(v, 3) for k, v in report.refused_by_kind.items()}))


if __name__ == "__main__":
    main()
