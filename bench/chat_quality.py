"""Follow-up questions: replay labelled conversations through `mhqa chat --json` and score the last turns.

    python bench/chat_quality.py tests/data/chat/fit.jsonl [--index DIR] [--misses] [--json]

Every conversation is typed into one `mhqa chat --json` process, turn after turn, with
`/new` between conversations, so each one starts afresh as a person's would. Each line
typed gets one JSON object back. A row (tests/data/chat/README.md) labels its last turn:

  expect {"status": "answered", "source": FILE, "alt": [{"source": FILE}, ...]}
      right when the last turn is answered and its first citation is FILE or an alt
  expect {"status": "refused", "why": "fragment" | "not_in_corpus"}
      right when the last turn is refused (for either reason)

Prints "last turns right" overall and per conversation type, how many fragments got the
fragment prompt, and (--misses) each wrong row with its turns as read. The index is
built first when DIR does not hold one (default: a folder under /tmp, kept between runs).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FRAGMENT_REASON_START = "the question does not say which condition"


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def replay(rows: list[dict], index: Path) -> list[list[dict]]:
    """Per conversation, the JSON object printed for each of its turns."""
    lines: list[str] = []
    for row in rows:
        turns = [" ".join(turn.split()) for turn in row["turns"]]
        if any(not turn or turn.lower() in ("exit", "quit", "/quit") for turn in turns):
            sys.exit(f"{row['id']}: a turn is empty or would end the chat")
        lines += [*turns, "/new"]
    done = subprocess.run(
        [sys.executable, "-m", "mhqa", "chat", "--json", "--index", str(index), "--corpus", str(ROOT / "corpus")],
        input="\n".join(lines) + "\n", capture_output=True, text=True, cwd=ROOT,
    )
    printed = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or len(printed) != len(lines):
        sys.exit(f"mhqa chat --json printed {len(printed)} objects for {len(lines)} lines (exit {done.returncode}):\n{done.stderr[-2000:]}")
    out, at = [], 0
    for row in rows:
        out.append(printed[at : at + len(row["turns"])])
        at += len(row["turns"]) + 1  # and the /new
    return out


def right(expect: dict, last: dict) -> bool:
    if expect["status"] == "refused":
        return last.get("status") == "refused"
    sources = {expect["source"], *(alt["source"] for alt in expect.get("alt", []))}
    return last.get("status") == "answered" and bool(last["citations"]) and last["citations"][0]["source"] in sources


def score(rows: list[dict], replies: list[list[dict]]) -> dict:
    by_type: dict[str, list[bool]] = defaultdict(list)
    verdicts = []
    for row, turns in zip(rows, replies):
        ok = right(row["expect"], turns[-1])
        by_type[row.get("type", "-")].append(ok)
        verdicts.append(ok)
    fragments = [(row, turns[-1]) for row, turns in zip(rows, replies) if row["expect"].get("why") == "fragment"]
    prompted = sum((last.get("reason") or "").startswith(FRAGMENT_REASON_START) for _, last in fragments)
    return {
        "rows": len(rows),
        "last_turns_right": round(sum(verdicts) / len(rows), 4) if rows else None,
        "by_type": {kind: {"rows": len(v), "right": round(sum(v) / len(v), 4)} for kind, v in sorted(by_type.items())},
        "fragments_prompted": f"{prompted} of {len(fragments)}",
        "verdicts": verdicts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("conversations", type=Path)
    parser.add_argument("--index", type=Path, default=Path("/tmp/mhqa-chat-quality/index"))
    parser.add_argument("--misses", action="store_true", help="print every wrong row with its turns as read")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    if not (args.index / "CURRENT").exists():
        subprocess.run([sys.executable, "-m", "mhqa", "index", "--corpus", str(ROOT / "corpus"), "--index", str(args.index)], check=True, capture_output=True, cwd=ROOT)
    rows = load(args.conversations)
    replies = replay(rows, args.index)
    report = score(rows, replies)
    verdicts = report.pop("verdicts")
    if args.json:
        print(json.dumps({"file": str(args.conversations), **report}))
    else:
        print(f"{args.conversations}: {report['rows']} conversations, last turns right {report['last_turns_right']:.3f}; "
              f"fragments refused with the prompt: {report['fragments_prompted']}")
        for kind, figures in report["by_type"].items():
            print(f"  {kind:22} {figures['rows']:3}  {figures['right']:.3f}")
    if args.misses:
        for row, turns, ok in zip(rows, replies, verdicts):
            if ok:
                continue
            print(f"\n{row['id']} ({row.get('type')}): expected {json.dumps(row['expect'])}")
            for typed, reply in zip(row["turns"], turns):
                if "command" in reply:
                    print(f"  > {typed}")
                    continue
                cited = reply["citations"][0]["source"] + f" p{reply['citations'][0]['page']}" if reply["citations"] else "-"
                print(f"  > {typed}\n      read as: {reply['read_as']}\n      {reply['status']} ({reply['evidence']:.2f}) {cited}: "
                      f"{(reply['answer'] or reply['reason'] or '')[:160]}")


if __name__ == "__main__":
    main()
