"""Server mode timings: the same commands against a local folder, a Chroma server, and the
server behind nginx with TLS and a token; and how long each failure takes to be reported.

    python bench/server.py [--runs 5]

Servers are real and on loopback (tests/servers.py: `chroma run`, nginx). Each number is a
new process timed with perf_counter (bench/run.py's Bench); medians over --runs runs, every
run kept. Prints a Markdown table and the machine; writes bench/results/server-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent / "tests")]

from run import ROOT, Bench, load, machine, summary  # noqa: E402
from servers import blackhole_port, chroma_server, nginx_proxy, silent_server  # noqa: E402

QUESTION = "What are the warning signs of suicide?"
TOKEN = "bench_token_0123456789abcdef"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    results: dict = {"machine": machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "load_before": load(), "runs": args.runs}
    rows: list[tuple[str, dict]] = []
    with tempfile.TemporaryDirectory(prefix="mhqa-bench-server-") as tmp:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MHQA_")}
        env.update(MHQA_CACHE=os.environ.get("MHQA_CACHE", str(work / "cache")), HF_HUB_OFFLINE="1")
        bench = Bench(env, lambda message: print(message, file=sys.stderr))
        corpus = ROOT / "corpus"
        bench.mhqa("index", "--corpus", corpus, "--index", work / "warm")  # untimed: exports the encoder if needed

        def timed(label: str, *command, expect: int = 0, **kw) -> None:
            runs = [bench.mhqa(*command, check=False, **kw) for _ in range(args.runs)]
            bad = [r for r in runs if r.code != expect]
            if bad:
                raise SystemExit(f"{label}: exit {bad[0].code}, expected {expect}:\n{bad[0].stderr[-2000:]}")
            rows.append((label, summary(runs)))
            print(f"{label}: {rows[-1][1]['median_seconds']} s", file=sys.stderr)

        with chroma_server(work / "chroma") as server, nginx_proxy(server.port, TOKEN, work / "nginx", tls=True) as proxy:
            direct = ["--chroma-url", server.url]
            behind = ["--chroma-url", proxy.url, "--chroma-ca", proxy.ca_path]
            with_token = {**env, "MHQA_CHROMA_TOKEN": TOKEN}
            index_runs = []
            for i in range(args.runs):  # a fresh collection each time: a full index from nothing
                index_runs.append(bench.mhqa("index", "--corpus", corpus, *direct, "--collection", f"full{i}"))
            rows.append(("index, full corpus: Chroma server", summary(index_runs)))
            folder_runs = [bench.mhqa("index", "--corpus", corpus, "--index", work / f"folder{i}") for i in range(args.runs)]
            rows.append(("index, full corpus: local folder", summary(folder_runs)))
            timed("index, unchanged corpus: Chroma server", "index", "--corpus", corpus, *direct, "--collection", "full0")
            timed("ask: local folder", "ask", QUESTION, "--index", work / "folder0")
            timed("ask: Chroma server (http)", "ask", QUESTION, *direct, "--collection", "full0")
            bench.env = with_token
            timed("ask: nginx + TLS + token", "ask", QUESTION, *behind, "--collection", "full0")
            bench.env = {**env, "MHQA_CHROMA_TOKEN": "bench_wrong_token"}
            timed("error: wrong token", "ask", QUESTION, *behind, "--collection", "full0", expect=3)
            bench.env = with_token
            server.stop()
            timed("error: Chroma down behind nginx", "ask", QUESTION, *behind, expect=3)
            bench.env = env
            timed("error: server stopped", "ask", QUESTION, *direct, expect=3)
        with blackhole_port() as port:
            timed("error: unreachable host", "ask", QUESTION, "--chroma-url", f"http://127.0.0.1:{port}", expect=3)
        with silent_server() as port:
            timed("error: hung server", "ask", QUESTION, "--chroma-url", f"http://127.0.0.1:{port}", expect=3)

    results["load_after"] = load()
    results["timings"] = dict(rows)
    out = BENCH / "results" / f"server-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    m = results["machine"]
    print(f"Machine: {m['cpu']}, {m['nproc']} cores, {m['ram_gb']} GB, {m['os']}, Python {m['python']}, "
          f"chromadb {m['packages']['chromadb']}; load {results['load_before']} -> {results['load_after']}\n")
    print("| what | median s | runs (s) |\n| --- | --- | --- |")
    for label, stats in rows:
        print(f"| {label} | {stats['median_seconds']} | {', '.join(str(s) for s in stats['seconds'])} |")
    print(f"\nmax of the error medians: {max(s['median_seconds'] for label, s in rows if label.startswith('error'))} s; "
          f"all runs in {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
