"""What the crisis check adds to a question: medians over many one- and two-sentence questions.

    python bench/crisis_latency.py [--rounds 5]

Times CrisisDetector.check (normalisation, rules, lexicon, language and the int8
classifier over each sentence) in one warm process, on every question of
tests/data/questions.jsonl (one or two sentences each), --rounds times; and, once, the
cold load of the detector (which open_session runs on a thread beside Chroma and the
encoder). Prints medians and the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from mhqa.crisis import Classifier, CrisisDetector
from mhqa.settings import bundled_model_path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    questions = [json.loads(line)["question"] for line in (ROOT / "tests" / "data" / "questions.jsonl").read_text().splitlines() if line.strip()]
    started = time.perf_counter()
    detector = CrisisDetector(Classifier(bundled_model_path() / "tokenizer.json"))
    load = time.perf_counter() - started
    detector.check("warm up")
    timings = []
    for _ in range(args.rounds):
        for question in questions:
            started = time.perf_counter()
            detector.check(question)
            timings.append(time.perf_counter() - started)
    timings.sort()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.2f}")
    print(f"detector load (once, on a thread): {load * 1000:.0f} ms")
    print(f"check, {len(timings)} questions: median {statistics.median(timings) * 1000:.1f} ms, "
          f"p90 {timings[int(0.9 * len(timings))] * 1000:.1f} ms, max {timings[-1] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
