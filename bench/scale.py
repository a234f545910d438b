"""mhqa at scale: a corpus of the shipped PDFs plus generated ones (bench/scale_corpus.py), 10,000 pages by default.

    python bench/scale.py --pages 10000 --corpus-dir /work/scale-corpus-10000   # the lead's run: 30-60 minutes on 2 cores
    python bench/scale.py --pages 400                                          # a check of the tooling: a few minutes

Measures, for mhqa (and the llama-index starter with --starter): the full index (wall,
pages/s, CPU, peak memory, size on disk), a no-op re-index, a one-file re-index (one
generated PDF swapped for an edition with new text, then restored), cold asks on the
scale index and on the shipped corpus's in the same rounds (their ratio), and batch
questions/s over 50 fixed questions. Every number is a new process under /usr/bin/time -v,
as in bench/run.py, whose helpers this uses. Prints a Markdown table with the machine and
writes everything to bench/results/scale-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from run import BENCH, PYTHON, QUESTIONS, ROOT, Bench, batch_rate, check_starter, child_env, finish, folder_mb, load, machine, noop_reindex, pdf_pages, summary

import scale_corpus

BATCH_QUESTIONS = 50
ASK_RATIO_TARGET = 1.3  # cold ask at scale over cold ask on the shipped corpus (issue 12)


def corpus_at(bench: Bench, shipped: Path, folder: Path, pages: int) -> dict:
    """The scale corpus in `folder`: reused when its manifest says it has `pages` pages, else built (timed)."""
    manifest_path = folder / scale_corpus.MANIFEST
    found = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    if found.get("complete") and found.get("pages") == pages:
        bench.log(f"  reusing the scale corpus in {folder}")
        return {**found, "reused": True}
    bench.log(f"  building a {pages}-page corpus in {folder}")
    run = bench.run([PYTHON, str(BENCH / "scale_corpus.py"), "--corpus", str(shipped), "--out", str(folder), "--pages", str(pages)])
    if run.code != 0:
        raise SystemExit(f"scale_corpus.py failed:\n{run.stderr[-3000:]}")
    return {**json.loads(manifest_path.read_text()), "reused": False, "build": summary([run])}


def redone(run) -> int:
    """Files an `mhqa index` run read again, from its table (one row per file, the action in the second column)."""
    rows = [line.split("│") for line in run.stdout.splitlines() if line.count("│") == 6]
    return sum(row[2].strip() in ("added", "changed", "rebuilt", "removed", "renamed") for row in rows)


def one_file_reindex(bench: Bench, folder: Path, index: Path, manifest: dict, runs: int) -> dict:
    """Swap one generated PDF for its changed edition (same page count, new text), re-index; restore, re-index."""
    target = folder / manifest["changed_edition"]["file"]
    edition = folder / manifest["changed_edition"]["path"]
    original = target.read_bytes()
    changed, restored = [], []
    try:
        for i in range(runs):
            for label, data, done in (("changed", edition.read_bytes(), changed), ("restored", original, restored)):
                target.write_bytes(data)
                run = bench.mhqa("index", "--corpus", folder, "--index", index)
                if redone(run) != 1:  # e.g. the code changed under the benchmark and forced a rebuild
                    raise SystemExit(f"expected 1 file redone, the run redid {redone(run)}:\n{run.stdout[-3000:]}")
                done.append(run)
                bench.log(f"  one-file re-index {i + 1}/{runs}, {label}: {run.seconds:.1f} s")
    finally:
        target.write_bytes(original)
    return {"file": target.name, "pages": manifest["changed_edition"]["pages"], "changed": summary(changed), "restored": summary(restored)}


def paired_cold_ask(bench: Bench, indexes: dict[str, Path], runs: int, starter_index: Path | None) -> dict:
    """Cold asks on each index in the same rounds (the order turning each round), so load hits all alike."""
    for index in indexes.values():
        bench.mhqa("ask", QUESTIONS[0], "--index", index)  # untimed: page cache and .pyc files warm
    if starter_index:
        bench.starter("ask", "--index", starter_index, QUESTIONS[0])
    done: dict[str, list] = {name: [] for name in indexes} | ({"starter_scale": []} if starter_index else {})
    for i in range(runs):
        question = QUESTIONS[i % len(QUESTIONS)]
        names = list(done) if i % 2 == 0 else list(reversed(done))
        for name in names:
            if name == "starter_scale":
                done[name].append(bench.starter("ask", "--index", starter_index, question))
            else:
                done[name].append(bench.mhqa("ask", question, "--index", indexes[name]))
        bench.log(f"  cold ask {i + 1}/{runs}: " + ", ".join(f"{name} {runs_[-1].seconds:.2f} s" for name, runs_ in done.items()))
    result = {name: summary(runs_) for name, runs_ in done.items()}
    result["questions"] = [QUESTIONS[i % len(QUESTIONS)] for i in range(runs)]
    result["ratio"] = round(result["scale"]["median_seconds"] / result["shipped"]["median_seconds"], 2)
    result["cpu_ratio"] = round(result["scale"]["median_cpu_seconds"] / max(result["shipped"]["median_cpu_seconds"], 1e-9), 2)
    return result


def batch_questions() -> list[str]:
    """The first BATCH_QUESTIONS questions of tests/data/questions.jsonl outside its test split: a fixed list."""
    rows = [json.loads(line) for line in (ROOT / "tests" / "data" / "questions.jsonl").read_text().splitlines() if line.strip()]
    return [row["question"] for row in rows if row.get("split") != "test"][:BATCH_QUESTIONS]


def extraction_rates(shipped: Path, folder: Path, sample: int = 200) -> dict:
    """pypdf pages per CPU second on the shipped PDFs and on about `sample` generated pages.

    The generated PDFs are plain text in a core font, much cheaper to parse than the
    shipped brochures: this says how much reading a real library of the same size would add.
    """
    import logging

    import pypdf

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    rates = {}
    for name, files in (("shipped", sorted(shipped.glob("*.pdf"))), ("generated", sorted(folder.glob("gen-*.pdf")))):
        started, pages, chars = time.process_time(), 0, 0
        for path in files:
            for page in pypdf.PdfReader(path).pages:
                chars += len(page.extract_text() or "")
                pages += 1
            if pages >= sample:
                break
        rates[name] = {"pages": pages, "pages_per_cpu_second": round(pages / max(time.process_time() - started, 1e-9), 1), "chars_per_page": chars // max(pages, 1)}
    return rates


def measure(bench: Bench, shipped: Path, shipped_index: Path, work: Path, folder: Path, pages: int, runs: int,
            index_runs: int, reindex_runs: int, batch_runs: int, starter: bool) -> dict:
    """Everything at scale; `shipped_index` is an up-to-date index of the shipped corpus, for the comparisons."""
    manifest = corpus_at(bench, shipped, folder, pages)
    files, total = pdf_pages(folder)
    bench.log(f"  scale corpus: {files} PDFs, {total} pages in {folder}")
    if total != manifest["pages"]:
        raise SystemExit(f"{folder} holds {total} pages, its manifest {manifest['pages']}: rebuild it")
    result: dict = {"corpus": str(folder), "files": files, "pages": total, "corpus_manifest": manifest, "extraction": extraction_rates(shipped, folder)}
    indexes = {"mhqa": work / "scale-mhqa", "starter": work / "scale-starter"}
    for who in ("mhqa", "starter") if starter else ("mhqa",):
        done = []
        for i in range(index_runs):
            shutil.rmtree(indexes[who], ignore_errors=True)
            tool = bench.mhqa if who == "mhqa" else bench.starter
            done.append(tool("index", "--corpus", folder, "--index", indexes[who]))
            bench.log(f"  full index {who} {i + 1}/{index_runs}: {done[-1].seconds:.0f} s, {done[-1].peak_mb:.0f} MB")
        median = statistics.median(r.seconds for r in done)
        result[f"{who}_index"] = {**summary(done), "pages_per_second": round(total / median, 2), "size_mb": folder_mb(indexes[who])}
    bench.log("  no-op re-index")
    result["noop_reindex"] = noop_reindex(bench, folder, indexes["mhqa"], runs)
    bench.log("  one-file re-index")
    result["one_file_reindex"] = one_file_reindex(bench, folder, indexes["mhqa"], manifest, reindex_runs)
    bench.log("  cold ask, scale and shipped")
    result["cold_ask"] = paired_cold_ask(bench, {"scale": indexes["mhqa"], "shipped": shipped_index}, runs, indexes["starter"] if starter else None)
    bench.log("  batch")
    questions = batch_questions()
    result["batch"] = {
        "scale_ask_file_json": batch_rate(bench, lambda path: bench.mhqa("ask", "--file", path, "--json", "--index", indexes["mhqa"]), questions, work, batch_runs),
        "shipped_ask_file_json": batch_rate(bench, lambda path: bench.mhqa("ask", "--file", path, "--json", "--index", shipped_index), questions, work, batch_runs),
        "scale_faq": batch_rate(bench, lambda path: bench.mhqa("faq", path, "-o", work / "faq.md", "--index", indexes["mhqa"]), questions, work, batch_runs),
    }
    bench.log("  batch: " + ", ".join(f"{name} {rate['questions_per_second']} q/s" for name, rate in result["batch"].items()))
    return result


def runs_text(r: dict) -> str:
    return f"{r['median_seconds']:.2f} ({' '.join(f'{x:.2f}' for x in r['seconds'])})"


def pages_rate(pages: int, index: dict) -> str:
    return f"{index['pages_per_second']}; {pages / max(index['median_cpu_seconds'], 1e-9):.2f}"


def rows(sc: dict) -> list[tuple[str, str, str, str]]:
    """(measure, mhqa, starter, note) rows of the scale results."""
    si, ss = sc["mhqa_index"], sc.get("starter_index")
    cold, one, noop = sc["cold_ask"], sc["one_file_reindex"], sc["noop_reindex"]
    made = sc["corpus_manifest"]
    built = "reused" if made.get("reused") else f"built in {made['build']['median_seconds']:.0f} s"
    starter = lambda text: text if ss else "-"  # noqa: E731
    out = [
        (f"scale corpus: {sc['pages']} pages, {sc['files']} PDFs", f"{made.get('size_mb', '?')} MB of PDF", "", f"{built}; pages sha256 {made['pages_sha256'][:12]}"),
        ("pypdf text extraction, pages per CPU s: shipped / generated", "{} / {}".format(*(sc["extraction"][k]["pages_per_cpu_second"] for k in ("shipped", "generated"))), "",
         "characters a page: {} / {}".format(*(sc["extraction"][k]["chars_per_page"] for k in ("shipped", "generated")))),
        ("full index, s: median (runs)", runs_text(si), starter(ss and runs_text(ss)), ""),
        ("full index, pages/s (wall; per CPU second)", pages_rate(sc["pages"], si), starter(ss and pages_rate(sc["pages"], ss)), "CPU time moves less with other load"),
        ("full index CPU time (user+sys), s", f"{si['median_cpu_seconds']:.0f}", starter(ss and f"{ss['median_cpu_seconds']:.0f}"), ""),
        ("full index peak memory, MB", f"{si['median_peak_mb']:.0f}", starter(ss and f"{ss['median_peak_mb']:.0f}"), ""),
        ("index size on disk, MB", f"{si['size_mb']}", starter(ss and f"{ss['size_mb']}"), ""),
        ("no-op re-index, s: median (runs)", runs_text(noop), "rebuilds", f"{noop['median_peak_mb']:.0f} MB; onnxruntime imported: {'yes' if noop['model_loaded'] else 'no'}; all unchanged: {'yes' if noop['all_unchanged'] else '**no**'}"),
        (f"one-file re-index ({one['file']}, {one['pages']} pages new text), s", runs_text(one["changed"]), "rebuilds", f"{one['changed']['median_peak_mb']:.0f} MB, {one['changed']['median_cpu_seconds']:.1f} s CPU"),
        ("one-file re-index, file restored, s", runs_text(one["restored"]), "rebuilds", f"{one['restored']['median_peak_mb']:.0f} MB"),
        ("cold ask at scale, s: median (runs)", runs_text(cold["scale"]), starter("starter_scale" in cold and runs_text(cold["starter_scale"])), f"CPU {cold['scale']['median_cpu_seconds']:.2f} s"),
        ("cold ask, shipped corpus, same rounds, s", runs_text(cold["shipped"]), "", f"CPU {cold['shipped']['median_cpu_seconds']:.2f} s"),
        ("cold ask, scale / shipped (wall; CPU)", f"{cold['ratio']}x; {cold['cpu_ratio']}x", "", f"target ≤ {ASK_RATIO_TARGET}x: {'met' if cold['ratio'] <= ASK_RATIO_TARGET else '**not met**'}"),
        ("cold ask peak memory, MB: scale / shipped", f"{cold['scale']['median_peak_mb']:.0f} / {cold['shipped']['median_peak_mb']:.0f}", starter("starter_scale" in cold and f"{cold['starter_scale']['median_peak_mb']:.0f}"), ""),
    ]
    batch = sc["batch"]
    for name, label in (("scale_ask_file_json", "ask --file --json at scale"), ("shipped_ask_file_json", "ask --file --json, shipped corpus"), ("scale_faq", "faq at scale")):
        rate = batch[name]
        out.append((f"{label}, questions/s after load ({rate['questions']} questions)", f"{rate['questions_per_second']}", "", f"{rate['median_peak_mb_all']:.0f} MB"))
    return out


def table(sc: dict) -> str:
    lines = [("measure", "mhqa", "starter", "note"), *rows(sc)]
    widths = [max(len(str(row[i])) for row in lines) for i in range(4)]
    text = ["| " + " | ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)) + " |" for row in lines]
    text.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus", help="the shipped corpus [corpus]")
    parser.add_argument("--pages", type=int, default=10000, help="pages of the scale corpus [10000]")
    parser.add_argument("--corpus-dir", type=Path, help="where the scale corpus is or goes [WORKDIR/scale-corpus-PAGES]; reused when it has --pages pages")
    parser.add_argument("--workdir", type=Path, help="where the indexes go [a new temporary folder, removed]")
    parser.add_argument("--cache", type=Path, help="mhqa's encoder cache [$MHQA_CACHE or ~/.cache/mhqa]")
    parser.add_argument("--runs", type=int, default=5, help="cold asks and no-op re-indexes [5]")
    parser.add_argument("--index-runs", type=int, default=1, help="full indexes at scale [1: each takes minutes]")
    parser.add_argument("--reindex-runs", type=int, default=2, help="one-file re-index rounds (changed, then restored) [2]")
    parser.add_argument("--batch-runs", type=int, default=3, help="runs of each batch process [3]")
    parser.add_argument("--starter", action="store_true", help="also the llama-index starter (index and cold ask at scale)")
    parser.add_argument("--keep", action="store_true", help="keep the working folder")
    args = parser.parse_args()

    if args.starter:
        check_starter()
    if not Path("/usr/bin/time").exists():
        raise SystemExit("needs /usr/bin/time (Debian: apt-get install time)")
    shipped = args.corpus.resolve()
    work = (args.workdir or Path(tempfile.mkdtemp(prefix="mhqa-scale-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    folder = (args.corpus_dir or work / f"scale-corpus-{args.pages}").resolve()
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    bench = Bench(child_env(args.cache), log)
    results: dict = {"machine": machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "load_before": load(), "workdir": str(work),
                     "runs": args.runs, "index_runs": args.index_runs, "reindex_runs": args.reindex_runs, "batch_runs": args.batch_runs}
    log(f"mhqa scale bench: {args.pages} pages; work in {work}")
    shipped_index = work / "shipped-mhqa"
    log("preparing (untimed): mhqa index of the shipped corpus (exports the ONNX encoder if this machine has none)")
    shutil.rmtree(shipped_index, ignore_errors=True)
    bench.mhqa("index", "--corpus", shipped, "--index", shipped_index)
    results["scale"] = measure(bench, shipped, shipped_index, work, folder, args.pages, args.runs, args.index_runs, args.reindex_runs, args.batch_runs, args.starter)
    results["load_after"] = load()
    results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")

    m = results["machine"]
    print(f"\nMachine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gb']} GB RAM, Python {m['python']}, mhqa {m['mhqa_commit']}")
    print(f"Load average before {results['load_before']}, after {results['load_after']}.\n")
    print(table(results["scale"]))
    finish(results, "scale-", work, remove=not args.keep and not args.workdir)


if __name__ == "__main__":
    main()
