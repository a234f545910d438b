"""Benchmark mhqa against the llama-index starter pipeline (bench/starter.py), side by side, in one run.

    python bench/run.py                 # the shipped corpus: about 10 minutes on 2 cores
    python bench/run.py --scale         # and a corpus of 2,000+ pages (bench/scale.py, bench/scale_corpus.py)

Every number comes from a new process timed with Python's perf_counter, with its
peak memory from `/usr/bin/time -v`; medians over --runs runs, every run kept.
See bench/README.md for what each number means. Prints a Markdown table and the
machine, and writes everything to bench/results/<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable
QUESTIONS = [  # cold-ask questions, one per round, the same for both pipelines
    "What are the signs and symptoms of depression?",
    "how long do antidepressants take to work",
    "What is the treatment for panic disorder?",
    "What are the warning signs of suicide?",
    "Can children have bipolar disorder?",
]
STARTER_NEEDS = ("llama_index.readers.file", "llama_index.vector_stores.chroma", "llama_index.embeddings.huggingface")
INSTALL_HINT = (
    'pip install -e ".[bench]" && pip install --no-deps "llama-index-readers-file>=0.7,<0.8"   (see bench/README.md)'
)


@dataclass
class Run:
    seconds: float  # wall time of the whole process
    peak_mb: float  # maximum resident set size
    cpu: float  # user + system CPU seconds: less sensitive than wall time to other load on the machine
    code: int
    stdout: str = ""
    stderr: str = ""


class Bench:
    def __init__(self, env: dict[str, str], log):
        self.env = env
        self.log = log

    def run(self, args: list[str], stdin: str | None = None, check: bool = True) -> Run:
        """One process under /usr/bin/time -v: wall time by perf_counter, peak RSS by time(1)."""
        with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
            started = time.perf_counter()
            proc = subprocess.run(
                ["/usr/bin/time", "-v", "-o", report.name, *args],
                input=stdin, capture_output=True, text=True, env=self.env, cwd=ROOT,
            )
            seconds = time.perf_counter() - started
            stats = report.read()
        peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stats)
        cpu = sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", stats))
        run = Run(seconds, int(peak.group(1)) / 1024 if peak else float("nan"), cpu, proc.returncode, proc.stdout, proc.stderr)
        if check and proc.returncode not in (0, 1):
            raise SystemExit(f"failed ({proc.returncode}): {' '.join(args)}\n{proc.stderr[-3000:]}")
        return run

    def mhqa(self, *args: str, **kw) -> Run:
        return self.run([PYTHON, "-m", "mhqa", *map(str, args)], **kw)

    def starter(self, *args: str, **kw) -> Run:
        return self.run([PYTHON, str(BENCH / "starter.py"), *map(str, args)], **kw)


def summary(runs: list[Run]) -> dict:
    return {
        "median_seconds": round(statistics.median(r.seconds for r in runs), 3),
        "seconds": [round(r.seconds, 3) for r in runs],
        "median_peak_mb": round(statistics.median(r.peak_mb for r in runs), 1),
        "peak_mb": [round(r.peak_mb, 1) for r in runs],
        "median_cpu_seconds": round(statistics.median(r.cpu for r in runs), 2),
    }


def machine() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    ram = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.MULTILINE)
    versions = {}
    for package in ("chromadb", "onnxruntime", "tokenizers", "numpy", "typer", "rich", "sentence-transformers", "torch", "llama-index-core", "pypdf"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "mhqa", "bench"], capture_output=True, text=True, cwd=ROOT).stdout.strip())
    return {
        "nproc": os.cpu_count(),
        "cpu": model.group(1).strip() if model else platform.processor(),
        "ram_gb": round(int(ram.group(1)) / 1024 / 1024, 1) if ram else None,
        "os": platform.platform(),
        "python": platform.python_version(),
        "mhqa_commit": (commit + ("+changes" if dirty else "")) or None,
        "packages": versions,
    }


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def folder_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1024 / 1024, 1)


def pdf_pages(corpus: Path) -> tuple[int, int]:
    import logging

    import pypdf

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    files = sorted(corpus.glob("*.pdf"))
    return len(files), sum(len(pypdf.PdfReader(f).pages) for f in files)


# --- the measurements ------------------------------------------------------------------------


def full_index(bench: Bench, corpus: Path, work: Path, runs: int, starter: bool) -> dict:
    """Index from nothing into a new folder, `runs` times each, alternating the two pipelines."""
    mhqa_runs, starter_runs = [], []
    for i in range(runs):
        order = ["mhqa", "starter"] if i % 2 == 0 else ["starter", "mhqa"]
        for who in order:
            target = work / f"fresh-{who}"
            shutil.rmtree(target, ignore_errors=True)
            if who == "mhqa":
                mhqa_runs.append(bench.mhqa("index", "--corpus", corpus, "--index", target))
            elif starter:
                starter_runs.append(bench.starter("index", "--corpus", corpus, "--index", target))
            shutil.rmtree(target, ignore_errors=True)
        bench.log(f"  full index {i + 1}/{runs}: mhqa {mhqa_runs[-1].seconds:.1f} s" + (f", starter {starter_runs[-1].seconds:.1f} s" if starter else ""))
    return {"mhqa": summary(mhqa_runs), "starter": summary(starter_runs) if starter_runs else None}


def noop_reindex(bench: Bench, corpus: Path, index: Path, runs: int) -> dict:
    """`mhqa index` again with nothing changed; and whether it imported onnxruntime (loaded the model)."""
    bench.mhqa("index", "--corpus", corpus, "--index", index)  # untimed: brings the index up to date first
    done = [bench.mhqa("index", "--corpus", corpus, "--index", index) for _ in range(runs)]
    traced = bench.run([PYTHON, "-X", "importtime", "-m", "mhqa", "index", "--corpus", str(corpus), "--index", str(index)])
    unchanged = all("unchanged" in r.stdout and not re.search(r"\b(added|changed|removed)\b", r.stdout) for r in done)
    return {
        **summary(done),
        "all_unchanged": unchanged,
        "model_loaded": bool(re.search(r"\|\s+onnxruntime$", traced.stderr, re.MULTILINE)),
    }


def cold_ask(bench: Bench, mhqa_index: Path, starter_index: Path | None, runs: int) -> dict:
    """A question in a new process, index present; one untimed warm-up each, then alternating rounds."""
    bench.mhqa("ask", QUESTIONS[0], "--index", mhqa_index)
    if starter_index:
        bench.starter("ask", "--index", starter_index, QUESTIONS[0])
    mhqa_runs, starter_runs = [], []
    for i in range(runs):
        question = QUESTIONS[i % len(QUESTIONS)]
        order = ["mhqa", "starter"] if i % 2 == 0 else ["starter", "mhqa"]
        for who in order:
            if who == "mhqa":
                mhqa_runs.append(bench.mhqa("ask", question, "--index", mhqa_index))
            elif starter_index:
                starter_runs.append(bench.starter("ask", "--index", starter_index, question))
        bench.log(f"  cold ask {i + 1}/{runs}: mhqa {mhqa_runs[-1].seconds:.2f} s" + (f", starter {starter_runs[-1].seconds:.2f} s" if starter_runs else ""))
    result = {"questions": [QUESTIONS[i % len(QUESTIONS)] for i in range(runs)], "mhqa": summary(mhqa_runs), "starter": summary(starter_runs) if starter_runs else None}
    if starter_runs:
        result["speedup"] = round(result["starter"]["median_seconds"] / result["mhqa"]["median_seconds"], 2)
    return result


def batch_rate(bench: Bench, make_args, questions: list[str], work: Path, runs: int) -> dict:
    """Questions per second after the model is loaded: (N - 1) questions over wall(N) - wall(1).

    Both walls are medians of `runs` processes, so start-up (the same in both) cancels out
    and no timer inside the program is needed.
    """
    all_file, one_file = work / "batch-all.txt", work / "batch-one.txt"
    all_file.write_text("\n".join(questions) + "\n")
    one_file.write_text(questions[0] + "\n")
    walls = {}
    for name, path in (("one", one_file), ("all", all_file)):
        walls[name] = [make_args(path) for _ in range(runs)]
    one = statistics.median(r.seconds for r in walls["one"])
    every = statistics.median(r.seconds for r in walls["all"])
    return {
        "questions": len(questions),
        "questions_per_second": round((len(questions) - 1) / max(every - one, 1e-9), 1),
        "wall_one": [round(r.seconds, 3) for r in walls["one"]],
        "wall_all": [round(r.seconds, 3) for r in walls["all"]],
        "median_peak_mb_all": round(statistics.median(r.peak_mb for r in walls["all"]), 1),
    }


def batches(bench: Bench, mhqa_index: Path, starter_index: Path | None, work: Path, runs: int) -> dict:
    questions = [json.loads(line)["question"] for line in (ROOT / "tests" / "data" / "questions.jsonl").read_text().splitlines() if line.strip()]
    result = {
        "ask_file_json": batch_rate(bench, lambda path: bench.mhqa("ask", "--file", path, "--json", "--index", mhqa_index), questions, work, runs),
        "ask_file": batch_rate(bench, lambda path: bench.mhqa("ask", "--file", path, "--index", mhqa_index), questions, work, runs),
    }
    bench.log(f"  ask --file: {result['ask_file_json']['questions_per_second']} q/s (--json), {result['ask_file']['questions_per_second']} q/s (rich)")
    if bench.mhqa("faq", "--help", check=False).code == 0:
        sheet = work / "faq.md"
        result["faq"] = batch_rate(bench, lambda path: bench.mhqa("faq", path, "-o", sheet, "--index", mhqa_index), questions, work, runs)
        bench.log(f"  faq: {result['faq']['questions_per_second']} q/s")
    if starter_index:
        result["starter_batch"] = batch_rate(bench, lambda path: bench.starter("batch", "--index", starter_index, "--file", path), questions, work, runs)
        own = bench.starter("batch", "--index", starter_index, "--file", work / "batch-all.txt")
        result["starter_batch"]["self_reported_per_second"] = json.loads(own.stdout)["per_second"]
        bench.log(f"  starter batch: {result['starter_batch']['questions_per_second']} q/s")
    return result


def encode_rates(bench: Bench, mhqa_index: Path, texts_index_seconds: float) -> dict:
    """Raw encode rates on the indexed texts, and the indexer's own rate: texts / whole `mhqa index` wall."""
    run = bench.run([PYTHON, str(BENCH / "encode_rate.py"), "--index", str(mhqa_index)])
    raw = json.loads(run.stdout)
    during = raw["texts"] / texts_index_seconds
    raw["during_indexing"] = {"texts_per_second": round(during, 2), "index_seconds": texts_index_seconds}
    raw["ratio_to_sentence_transformers"] = round(during / raw["sentence_transformers"]["texts_per_second"], 3)
    raw["ratio_to_onnx"] = round(during / raw["onnx"]["texts_per_second"], 3)
    return raw


# --- the report -----------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def table(results: dict) -> str:
    rows = [("measure", "mhqa", "starter", "target", "met")]
    cold = results["cold_ask"]
    m, s = cold["mhqa"], cold["starter"]
    runs_text = lambda r: f"{r['median_seconds']:.2f} ({' '.join(f'{x:.2f}' for x in r['seconds'])})"  # noqa: E731
    rows.append((
        "cold ask, s: median (runs)", runs_text(m), runs_text(s) if s else "-", "≤ 1.5 s, ≥ 5x faster",
        verdict(m["median_seconds"] <= 1.5 and (not s or cold["speedup"] >= 5)) + (f" ({cold['speedup']}x)" if s else ""),
    ))
    rows.append(("cold ask CPU time (user+sys), s, median", f"{m['median_cpu_seconds']:.2f}", f"{s['median_cpu_seconds']:.2f}" if s else "-", "", ""))
    rows.append(("cold ask peak memory, MB (median)", f"{m['median_peak_mb']:.0f}", f"{s['median_peak_mb']:.0f}" if s else "-", "≤ 400 MB", verdict(m["median_peak_mb"] <= 400)))
    batch = results["batch"]
    starter_batch = batch.get("starter_batch")
    rows.append(("ask --file --json, questions/s after load", f"{batch['ask_file_json']['questions_per_second']}", f"{starter_batch['questions_per_second']} (own timer {starter_batch['self_reported_per_second']})" if starter_batch else "-", "≥ 20", verdict(batch["ask_file_json"]["questions_per_second"] >= 20)))
    rows.append(("ask --file (rich view), questions/s after load", f"{batch['ask_file']['questions_per_second']}", "-", "≥ 20", verdict(batch["ask_file"]["questions_per_second"] >= 20)))
    if "faq" in batch:
        rows.append(("faq, questions/s after load", f"{batch['faq']['questions_per_second']}", "-", "≥ 20", verdict(batch["faq"]["questions_per_second"] >= 20)))
    full = results["full_index"]
    fm, fs = full["mhqa"], full["starter"]
    rows.append(("full index, s: median (runs)", runs_text(fm), runs_text(fs) if fs else "-", "faster than the starter", verdict(not fs or fm["median_seconds"] < fs["median_seconds"])))
    rows.append(("full index CPU time (user+sys), s, median", f"{fm['median_cpu_seconds']:.1f}", f"{fs['median_cpu_seconds']:.1f}" if fs else "-", "", ""))
    rows.append(("full index peak memory, MB (median)", f"{fm['median_peak_mb']:.0f}", f"{fs['median_peak_mb']:.0f}" if fs else "-", "", ""))
    enc = results["encode"]
    rows.append((
        f"embedding during indexing, texts/s ({enc['texts']} texts / full-index wall)", f"{enc['during_indexing']['texts_per_second']}", "-",
        "≥ 80% of raw sentence-transformers", verdict(enc["ratio_to_sentence_transformers"] >= 0.8) + f" ({enc['ratio_to_sentence_transformers']:.0%})",
    ))
    rows.append(("raw encode, sentence-transformers, texts/s", f"{enc['sentence_transformers']['texts_per_second']}", "", "", ""))
    rows.append(("raw encode, ONNX export (bulk), texts/s", f"{enc['onnx']['texts_per_second']}", "", "", f"indexing at {enc['ratio_to_onnx']:.0%} of it"))
    noop = results["noop_reindex"]
    rows.append((
        "no-op re-index, s: median (runs)", runs_text(noop), "rebuilds (= full index)", "about 1 s, model not loaded",
        verdict(noop["median_seconds"] <= 1.5 and not noop["model_loaded"] and noop["all_unchanged"]) + f" (onnxruntime imported: {'yes' if noop['model_loaded'] else 'no'}; {noop['median_peak_mb']:.0f} MB)",
    ))
    widths = [max(len(str(row[i])) for row in rows) for i in range(5)]
    lines = ["| " + " | ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def check_starter() -> None:
    probe = subprocess.run([PYTHON, "-c", "import " + ", ".join(STARTER_NEEDS)], capture_output=True, text=True)
    if probe.returncode != 0:
        raise SystemExit(f"the starter pipeline's packages are missing ({probe.stderr.strip().splitlines()[-1]}); install them:\n  {INSTALL_HINT}\nor pass --skip-starter")


def child_env(cache: Path | None) -> dict[str, str]:
    """The children's environment: as on a user's machine, with `cache` (or $MHQA_CACHE) as mhqa's encoder cache."""
    # .pyc files are written (some shells set PYTHONDONTWRITEBYTECODE), nothing is fetched,
    # no mhqa setting leaks in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MHQA_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update({"HF_HUB_OFFLINE": "1", "NO_COLOR": "1", "COLUMNS": "100"})
    cache = cache or (Path(os.environ["MHQA_CACHE"]) if os.environ.get("MHQA_CACHE") else None)
    if cache:
        env["MHQA_CACHE"] = str(cache.resolve())
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (cold ask, full index, no-op) [5]")
    parser.add_argument("--batch-runs", type=int, default=3, help="runs of each batch process [3]")
    parser.add_argument("--workdir", type=Path, help="where indexes and the scale corpus go [a new temporary folder]")
    parser.add_argument("--cache", type=Path, help="mhqa's encoder cache [$MHQA_CACHE or ~/.cache/mhqa]")
    parser.add_argument("--skip-starter", action="store_true", help="measure mhqa alone")
    parser.add_argument("--scale", action="store_true", help="also the scale run (a corpus of --scale-pages pages)")
    parser.add_argument("--scale-pages", type=int, default=2000)
    parser.add_argument("--scale-index-runs", type=int, default=1, help="full index runs at scale [1: each takes minutes]")
    parser.add_argument("--scale-reindex-runs", type=int, default=2, help="one-file re-index rounds at scale [2]")
    parser.add_argument("--scale-corpus-dir", type=Path, help="where the scale corpus is or goes [WORKDIR/scale-corpus-PAGES]")
    parser.add_argument("--keep", action="store_true", help="keep the working folder")
    args = parser.parse_args()

    if not Path("/usr/bin/time").exists():
        raise SystemExit("needs /usr/bin/time (Debian: apt-get install time)")
    starter = not args.skip_starter
    if starter:
        check_starter()
    corpus = args.corpus.resolve()
    work = (args.workdir or Path(tempfile.mkdtemp(prefix="mhqa-bench-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    bench = Bench(child_env(args.cache), log)

    files, pages = pdf_pages(corpus)
    results: dict = {"machine": machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "load_before": load(),
                     "corpus": {"path": str(corpus), "files": files, "pages": pages}, "runs": args.runs, "workdir": str(work)}
    log(f"mhqa bench: {files} PDFs, {pages} pages; {args.runs} runs; work in {work}")
    mhqa_index, starter_index = work / "mhqa-index", (work / "starter-index" if starter else None)
    log("preparing (untimed): mhqa index (exports the ONNX encoder if this machine has none), starter index")
    shutil.rmtree(mhqa_index, ignore_errors=True)
    bench.mhqa("index", "--corpus", corpus, "--index", mhqa_index)
    if starter_index:
        bench.starter("index", "--corpus", corpus, "--index", starter_index)

    log("cold ask")
    results["cold_ask"] = cold_ask(bench, mhqa_index, starter_index, args.runs)
    log("batch")
    results["batch"] = batches(bench, mhqa_index, starter_index, work, args.batch_runs)
    log("full index")
    results["full_index"] = full_index(bench, corpus, work, args.runs, starter)
    log("no-op re-index")
    results["noop_reindex"] = noop_reindex(bench, corpus, mhqa_index, args.runs)
    log("raw encode rates")
    results["encode"] = encode_rates(bench, mhqa_index, results["full_index"]["mhqa"]["median_seconds"])
    if args.scale:
        import scale  # bench/scale.py, which imports this file's helpers

        log(f"scale ({args.scale_pages} pages)")
        folder = args.scale_corpus_dir or work / f"scale-corpus-{args.scale_pages}"
        results["scale"] = scale.measure(bench, corpus, mhqa_index, work, folder.resolve(), args.scale_pages, args.runs,
                                         args.scale_index_runs, args.scale_reindex_runs, args.batch_runs, starter)
    results["load_after"] = load()
    results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")

    m = results["machine"]
    print(f"\nMachine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gb']} GB RAM, Python {m['python']}, mhqa {m['mhqa_commit']}")
    print(f"Corpus: {files} PDFs, {pages} pages. Load average before {results['load_before']}, after {results['load_after']}.\n")
    print(table(results))
    if args.scale:
        print(f"\nAt scale (bench/scale.py):\n\n{scale.table(results['scale'])}")
    finish(results, "", work, remove=not args.keep and not args.workdir)


def finish(results: dict, prefix: str, work: Path, remove: bool) -> None:
    """Write every run to bench/results/ (git-ignored), say where, and remove a temporary workdir."""
    out = BENCH / "results" / f"{prefix}{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nAll runs: {out.relative_to(ROOT)}")
    if remove:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
