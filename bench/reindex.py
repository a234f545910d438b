"""Re-indexing times: a no-op re-index of the shipped corpus, and re-indexing one changed 8-page file.

    python bench/reindex.py [--runs 7] [--corpus corpus] [--changed nimh-depression.pdf] [--workdir DIR]

Each timing is the wall time of a whole `python -m mhqa index` process (start-up included),
run `--runs` times; the table gives the median, min and max. The corpus is copied to a work
folder and indexed once first (not timed). For the changed file, two editions of the same PDF
(identical pages, a different /Subject in the document info, so different bytes and hash) are
swapped in before each run, so every timed run re-reads and re-embeds that one file and
carries the vectors of all the others over. Set MHQA_CACHE to a warm encoder cache, as a
maintainer's machine has after its first run.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def mhqa_index(corpus: Path, index: Path, changed: int | None = None) -> float:
    """Seconds for one `mhqa index` run; with `changed`, check the run redid exactly that many files."""
    # One table line per file; and the changed file is not in the register (corpus/sources.toml):
    # this measures re-indexing, not vetting, so vetted_only is off.
    env = {**os.environ, "COLUMNS": "200", "MHQA_VETTED_ONLY": "false"}
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "mhqa", "index", "--corpus", str(corpus), "--index", str(index)], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"mhqa index failed ({proc.returncode}): {proc.stderr.strip()}")
    actions = [line.split("│")[2].strip() for line in proc.stdout.splitlines() if line.count("│") == 6]
    redone = sum(action in ("added", "changed", "rebuilt", "removed", "renamed") for action in actions)
    if changed is not None and redone != changed:  # e.g. the code changed under the benchmark and forced a rebuild
        sys.exit(f"expected {changed} file(s) redone, the run redid {redone}:\n{proc.stdout}")
    return seconds


def edition(source: Path, target: Path, subject: str) -> Path:
    """`source` rewritten by pypdf with another /Subject: same pages and text, other bytes."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(source))
    writer.add_metadata({"/Subject": subject})
    with target.open("wb") as handle:
        writer.write(handle)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--changed", default="nimh-depression.pdf", help="the file to change (8 pages in the shipped corpus)")
    parser.add_argument("--workdir", type=Path, help="keep the work folder here (default: a temporary folder, removed)")
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="mhqa-bench-reindex-"))
    try:
        corpus, index = work / "corpus", work / "index"
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(args.corpus, corpus)
        from pypdf import PdfReader

        pages = len(PdfReader(corpus / args.changed).pages)
        editions = [edition(args.corpus / args.changed, work / f"edition-{i}.pdf", f"mhqa bench edition {i}") for i in (1, 2)]
        shutil.copy(editions[1], corpus / args.changed)
        print(f"first index of {corpus} (not timed): {mhqa_index(corpus, index):.1f} s", file=sys.stderr)

        noop = [mhqa_index(corpus, index, changed=0) for _ in range(args.runs)]
        changed = []
        for run in range(args.runs):
            shutil.copy(editions[run % 2], corpus / args.changed)
            changed.append(mhqa_index(corpus, index, changed=1))
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)

    files = len(list(args.corpus.glob("*.pdf")))
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"corpus: {args.corpus} ({files} PDFs); {args.runs} runs each; wall time of `python -m mhqa index`")
    print()
    print(f"{'case':<44} {'median s':>9} {'min s':>7} {'max s':>7}")
    for name, times in ((f"no-op re-index ({files} unchanged files)", noop), (f"one changed file ({args.changed}, {pages} pages)", changed)):
        print(f"{name:<44} {statistics.median(times):>9.2f} {min(times):>7.2f} {max(times):>7.2f}")


if __name__ == "__main__":
    main()
