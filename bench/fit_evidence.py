"""Fit the refusal policy (mhqa/policy.py): the signal weights and the threshold.

    python bench/fit_evidence.py [--index DIR] [--l2 0.01]
        [--fit tests/data/quality/dev5.jsonl --fit tests/data/quality/tune.jsonl]
        [--tune tests/data/quality/dev5.jsonl --tune tests/data/quality/tune.jsonl]

The rows are questions the reader (reader.py, bench/fit_reader.py) never trained on: on its
own training questions its probabilities are surer than on new ones, and weights fitted there
would trust it too much. dev5.jsonl is also the newest blind set, in the phrasing people use
(clinician shorthand, personal context). The threshold is chosen on the same pooled rows:
chosen on the 91 tune rows alone, it moved by 0.08 between two readers of equal quality.

Asks every question once and takes the signals policy.signals computes (selection does not
depend on the weights, so once is enough). Weights: an L2-regularised logistic regression
(answerable = 1) with plain numpy, on the --fit rows, with each penalty's weight (policy.PENALTIES)
kept at or below zero and every other at or above: fitted freely on dev5 and tune, "unknown" came
out positive (it overlaps the reader and "unaccounted"), which would make a rare word the corpus
never uses a reason to answer. Threshold: on the --tune rows, scored with
those weights, the one that maximises answered-answerable plus refused-unanswerable (Youden's
J), placed midway to the next lower score. Writes both to mhqa/resources/evidence.json with the
sha256 and row count of each file used and the date. Frozen test and holdout sets are refused.
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
DEFAULT_FIT = [ROOT / "tests/data/quality/dev5.jsonl", ROOT / "tests/data/quality/tune.jsonl"]
DEFAULT_TUNE = DEFAULT_FIT


def fit(features: np.ndarray, labels: np.ndarray, l2: float, signs: np.ndarray | None = None, steps: int = 5000, rate: float = 0.5):
    """Logistic regression by gradient descent on standardised features; weights on the raw scale.
    `signs`: -1 keeps a weight at or below zero, +1 at or above (projected after every step)."""
    mean, spread = features.mean(0), features.std(0) + 1e-9
    z = (features - mean) / spread
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        w -= rate * (z.T @ (p - labels) / len(labels) + l2 * w)
        b -= rate * float((p - labels).mean())
        if signs is not None:
            w = np.where(signs < 0, np.minimum(w, 0.0), np.maximum(w, 0.0))
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
    parser.add_argument("--tune", type=Path, action="append", help="FILE or FILE:SPLIT (repeatable)")
    parser.add_argument("--l2", type=float, default=0.01)
    args = parser.parse_args()
    fit_specs, tune_specs = args.fit or DEFAULT_FIT, args.tune or DEFAULT_TUNE
    if any("test.jsonl" in str(f) or "holdout" in str(f) for f in [*fit_specs, *tune_specs]):
        parser.error("the frozen test and holdout sets are not for fitting")
    settings = load_settings({"index": args.index, "corpus": ROOT / "corpus"})
    sets = {str(spec): dataset(spec) for spec in dict.fromkeys([*fit_specs, *tune_specs])}
    with open_session(settings) as session:
        asked = {spec: run_questions(session, rows) for spec, (rows, _) in sets.items()}
    fitted_on = [o for spec in fit_specs for o in asked[str(spec)]]
    tuned_on = [o for spec in tune_specs for o in asked[str(spec)]]
    scored = [o for o in fitted_on if o.answer.signals]  # a fragment is refused before any evidence is weighed
    features = np.array([[o.answer.signals[name] for name in policy.SIGNALS] for o in scored])
    labels = np.array([o.item.answerable for o in scored], dtype=float)
    weights, bias = fit(features, labels, args.l2, np.array([-1 if name in policy.PENALTIES else 1 for name in policy.SIGNALS]))
    table = {"bias": round(bias, 3), **{name: round(float(w), 3) for name, w in zip(policy.SIGNALS, weights)}}

    def rescored(outcomes):
        for o in outcomes:
            o.answer.evidence = policy.score(o.answer.signals, table) if o.answer.sentences and o.answer.signals else 0.0
        return outcomes

    for outcomes in asked.values():
        rescored(outcomes)
    threshold = youden_threshold([o.answer.evidence for o in tuned_on], [o.item.answerable for o in tuned_on])
    data = {
        "weights": table,
        "threshold": round(threshold, 4),
        "provenance": {
            "date": datetime.date.today().isoformat(),
            "weights_fitted_on": [sets[str(spec)][1] for spec in fit_specs],
            "threshold_chosen_on": [sets[str(spec)][1] for spec in tune_specs],
            "rule": "weights: L2 logistic regression (answerable = 1), penalties (policy.PENALTIES) kept at or below zero and the rest at or above; threshold: max answered + refused on the threshold rows",
            "l2": args.l2,
            "script": "bench/fit_evidence.py",
        },
    }
    policy.FITTED_FILE.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {policy.FITTED_FILE}: threshold {threshold:.4f}")
    print("weights", json.dumps(table))
    for name, outcomes in {"weights' rows": fitted_on, "threshold's rows": tuned_on}.items():
        report = score(outcomes, threshold)
        shown = {k: round(v, 3) for k, v in report.metrics.items() if not math.isnan(v)}
        print(name, json.dumps(shown), json.dumps({k: round(v, 3) for k, v in report.refused_by_kind.items()}))


if __name__ == "__main__":
    main()
