"""What the reader adds to a question: the cold load once, and the median time to read what it reads.

    python bench/reader_latency.py --index DIR [--rounds 3]

Loads the reader (resources/reader.onnx; open_session does this on a thread beside the
encoder), then for every question of tests/data/questions.jsonl times
Reader.probabilities on what evidence.assess gives it: the chosen sentences and the
candidates beside them on their pages (evidence.read_beside), with the question as searched
(retrieval and selection are not timed), --rounds times. Prints medians, the mean number
of sentences read and the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from mhqa.evidence import rank_candidates, read_beside, select_sentences
from mhqa.reader import Reader, pair_text
from mhqa.session import MIN_PASSAGES, open_session
from mhqa.settings import bundled_model_path, load_settings

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=ROOT / "index")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    questions = [json.loads(line)["question"] for line in (ROOT / "tests" / "data" / "questions.jsonl").read_text().splitlines() if line.strip()]
    started = time.perf_counter()
    reader = Reader(bundled_model_path() / "tokenizer.json")
    load = time.perf_counter() - started
    with open_session(load_settings({"index": args.index, "corpus": args.corpus})) as session:
        batches = []
        for question in questions:
            hits = session.searcher.search(question, passages=max(session.settings.top_k, MIN_PASSAGES))
            candidates = rank_candidates(hits)
            chosen = select_sentences(hits, session.settings.max_sentences, candidates=candidates)
            if chosen:
                pool = [*chosen, *read_beside(candidates, chosen)]
                batches.append((hits.reading.search, [pair_text(s.passage.title, s.passage.section, s.text) for s in pool]))
    reader.probabilities(*batches[0])
    timings = []
    for _ in range(args.rounds):
        for question, texts in batches:
            started = time.perf_counter()
            reader.probabilities(question, texts)
            timings.append(time.perf_counter() - started)
    timings.sort()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.2f}")
    print(f"reader load (once, on a thread): {load * 1000:.0f} ms")
    print(f"read {statistics.mean(len(t) for _, t in batches):.1f} sentences a question, {len(timings)} questions: "
          f"median {statistics.median(timings) * 1000:.1f} ms, p90 {timings[int(0.9 * len(timings))] * 1000:.1f} ms, max {timings[-1] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
