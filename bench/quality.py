"""Answer quality, mhqa next to the llama-index starter pipeline, on the same labelled questions.

    python bench/quality.py [--split test] [--dataset tests/data/questions.jsonl] [--work /tmp/mhqa-quality]

Builds both indexes of the shipped corpus in WORK (kept between runs), runs
`mhqa eval DATASET --split SPLIT --json` and `bench/starter.py eval` (top-5
retrieval, its own default chunking), and prints one table. The starter has no
refusal and no answer, so only its retrieval metrics are comparable.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ("doc_recall@1", "doc_recall@5", "page_recall@5", "mrr")
MHQA_ONLY = (
    "first_citation_on_gold_page",
    "citation_precision",
    "answered_answerable",
    "refused_unanswerable",
    "evidence_auroc",
)


def run_json(*command: str) -> dict:
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="test")
    parser.add_argument("--dataset", type=Path, default=ROOT / "tests" / "data" / "questions.jsonl")
    parser.add_argument("--work", type=Path, default=Path("/tmp/mhqa-quality"))
    args = parser.parse_args()
    mhqa_index, starter_index = args.work / "mhqa-index", args.work / "starter-index"
    python = sys.executable
    subprocess.run([python, "-m", "mhqa", "index", "--corpus", str(ROOT / "corpus"), "--index", str(mhqa_index)], check=True, capture_output=True, cwd=ROOT)
    if not starter_index.exists():
        subprocess.run([python, str(ROOT / "bench" / "starter.py"), "index", "--corpus", str(ROOT / "corpus"), "--index", str(starter_index)], check=True, capture_output=True, cwd=ROOT)
    ours = run_json(python, "-m", "mhqa", "eval", str(args.dataset), "--split", args.split, "--index", str(mhqa_index), "--json")
    theirs = run_json(python, str(ROOT / "bench" / "starter.py"), "eval", "--index", str(starter_index), str(args.dataset), "--split", args.split)
    print(f"{args.split} split: {ours['answerable']} answerable, {ours['unanswerable']} unanswerable questions; mhqa threshold {ours['threshold']}")
    print(f"{'metric':34} {'mhqa':>8} {'starter':>8}")
    for key in SHARED:
        print(f"{key:34} {ours['metrics'][key]:8.3f} {theirs[key]:8.3f}")
    for key in MHQA_ONLY:
        print(f"{key:34} {ours['metrics'][key]:8.3f} {'-':>8}")
    for kind, share in ours["refused_by_kind"].items():
        print(f"{'refused: ' + kind:34} {share:8.3f} {'-':>8}")


if __name__ == "__main__":
    main()
