"""Fit the evidence score's weights (mhqa/evidence.py WEIGHTS) on the calibration half of the labelled set.

    python bench/fit_evidence.py [--index DIR] [--dataset tests/data/questions.jsonl] [--l2 0.01]

Asks every calibration question once, takes the signals evidence.assess computes,
and fits an L2-regularised logistic regression (answerable = 1) with plain numpy.
Prints the weights to paste into evidence.py and the threshold to ship
(settings.CALIBRATED_MIN_EVIDENCE). The threshold follows the calibration rule
(evaluate.choose_threshold) applied to 5-fold cross-validated scores of the
calibration half, so it is chosen on scores the weights were not fitted to,
as a new question's would be. The test half is only reported, never fitted on.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from mhqa import evidence
from mhqa.evaluate import choose_threshold, load_dataset, run_questions, score
from mhqa.session import open_session
from mhqa.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=ROOT / "index")
    parser.add_argument("--dataset", type=Path, default=ROOT / "tests" / "data" / "questions.jsonl")
    parser.add_argument("--l2", type=float, default=0.01)
    args = parser.parse_args()
    settings = load_settings({"index": args.index, "corpus": ROOT / "corpus"})
    calibration, test = load_dataset(args.dataset, "calibration"), load_dataset(args.dataset, "test")
    names = [name for name in evidence.WEIGHTS if name != "bias"]
    with open_session(settings) as session:
        outcomes = run_questions(session, calibration)
        features = np.array([[o.answer.signals[name] for name in names] for o in outcomes])
        labels = np.array([o.item.answerable for o in outcomes], dtype=float)
        held_out = np.zeros(len(labels))
        folds = np.arange(len(labels)) % 5
        for fold in range(5):
            w, b = fit(features[folds != fold], labels[folds != fold], args.l2)
            held_out[folds == fold] = 1 / (1 + np.exp(-(features[folds == fold] @ w + b)))
        threshold = choose_threshold([score for score, label in zip(held_out, labels) if not label])
        weights, bias = fit(features, labels, args.l2)
        evidence.WEIGHTS = {"bias": round(bias, 3), **{n: round(float(w), 3) for n, w in zip(names, weights)}}
        calibrated = run_questions(session, calibration)
        tested = run_questions(session, test)
    print("WEIGHTS =", json.dumps(evidence.WEIGHTS))
    print(f"threshold (calibration rule on cross-validated scores): {threshold:.4f}")
    for name, rows in (("calibration", calibrated), ("test", tested)):
        report = score(rows, threshold)
        shown = {k: round(v, 3) for k, v in report.metrics.items() if not math.isnan(v)}
        print(name, json.dumps(shown), json.dumps({k: round(v, 3) for k, v in report.refused_by_kind.items()}))


if __name__ == "__main__":
    main()
