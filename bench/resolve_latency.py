"""What reading a follow-up against the conversation adds to a `chat` turn (issue 15: at most 10 ms).

    python bench/resolve_latency.py [--index DIR] [--rounds 3]

Replays the readable chat conversations (tests/data/chat/fit.jsonl and tune.jsonl) in one
warm process and times, per turn, conversation.resolve (the rewrite) and, for a rewritten
turn, the second focus.read_question that Session.follow makes of the rewrite: together, what
a follow-up costs beyond a question on its own. Retrieval and the answer are not timed: they
are the same for any question. Prints medians and the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from mhqa.conversation import Context, resolve
from mhqa.focus import read_question
from mhqa.session import open_session
from mhqa.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
CONVERSATIONS = [ROOT / "tests" / "data" / "chat" / name for name in ("fit.jsonl", "tune.jsonl")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=ROOT / "index")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    conversations = [json.loads(line)["turns"] for path in CONVERSATIONS for line in path.read_text().splitlines() if line.strip()]
    timings, rewritten = [], 0
    with open_session(load_settings({"index": args.index, "corpus": ROOT / "corpus"})) as session:
        vocabulary = session.searcher.vocabulary
        for _ in range(args.rounds):
            for turns in conversations:
                context = Context()
                for text in turns:
                    if text.strip() == "/new":
                        context = Context()
                        continue
                    reading = read_question(text, vocabulary)
                    started = time.perf_counter()
                    turn = resolve(text, reading, context, vocabulary)
                    if turn.read_as:
                        read_question(turn.text, vocabulary)
                        rewritten += 1
                    timings.append(time.perf_counter() - started)
                    context = turn.context
    timings.sort()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.2f}")
    print(f"{len(timings)} turns ({rewritten} rewritten): median {statistics.median(timings) * 1000:.2f} ms, "
          f"p90 {timings[int(0.9 * len(timings))] * 1000:.2f} ms, max {timings[-1] * 1000:.2f} ms")


if __name__ == "__main__":
    main()
