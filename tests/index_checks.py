"""Helpers for the maintenance tests: read an index folder the way a maintainer's tools would.

The manifest is read as JSON and the Chroma store with chromadb itself, never through
mhqa, so a bug in mhqa's store code cannot hide a bug in what it wrote.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import CORPUS, ROOT

SMALL = ("nimh-panic-disorder.pdf", "nimh-warning-signs-of-suicide.pdf", "nimh-dmdd.pdf")
# Imported only to embed text: a run that embeds nothing must not import them.
MODEL_MODULES = ("onnxruntime", "sentence_transformers", "torch")


def copy_small_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in SMALL:
        shutil.copy(CORPUS / name, folder / name)
    return folder


def first_pages(source: Path, target: Path, pages: int) -> Path:
    """A new edition of a real PDF: its first `pages` pages, written by pypdf."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(source).pages[:pages]:
        writer.add_page(page)
    with target.open("wb") as handle:
        writer.write(handle)
    return target


def current_generation(index: Path) -> Path:
    return index / "generations" / json.loads((index / "CURRENT").read_text())["generation"]


def read_manifest(index: Path) -> dict:
    return json.loads((current_generation(index) / "manifest.json").read_text(encoding="utf-8"))


def stored(index: Path) -> dict[str, list[tuple[str, dict]]]:
    """Every record of the current generation as Chroma returns it ("chunks": [(id, metadata)]),
    and the sentences the chunks carry ("units": [(id, metadata with the sentence's text)])."""
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(path=str(current_generation(index) / "chroma"), settings=Settings(anonymized_telemetry=False))
    assert [c.name for c in client.list_collections()] == ["chunks"]  # sentences are not records of their own
    got = client.get_collection("chunks", embedding_function=None).get(include=["metadatas", "documents"])
    units: dict[str, dict] = {}
    for chunk_id, metadata, document in zip(got["ids"], got["metadatas"], got["documents"]):
        spans = json.loads(metadata["spans"])
        assert len(metadata["vectors"]) == len(spans) * 1024  # a float16 vector of 384 a span, base64
        for unit, start, end, page, kind in spans:
            if kind != "heading":
                units.setdefault(f"{metadata['sha'][:16]}-u{unit:05d}", {
                    "sha": metadata["sha"], "file": metadata["file"], "chunk": chunk_id, "page": page, "unit": unit,
                    "kind": kind, "document": document[start:end]})
    return {"chunks": list(zip(got["ids"], got["metadatas"])), "units": list(units.items())}


def pages_holding(index: Path, text: str) -> set[int]:
    """The pages of the stored sentences (units) that contain `text`."""
    return {metadata["page"] for _, metadata in stored(index)["units"] if text in metadata["document"]}


def check_consistent(index: Path) -> dict:
    """The store holds exactly the manifest's documents: no duplicate, missing or orphaned record."""
    manifest = read_manifest(index)
    documents = manifest["documents"]
    records = stored(index)
    chunk_ids = [chunk_id for doc in documents.values() for chunk_id in doc["chunk_ids"]]
    stored_chunks = [chunk_id for chunk_id, _ in records["chunks"]]
    assert len(stored_chunks) == len(set(stored_chunks)), "duplicated chunk ids"
    assert len(chunk_ids) == len(set(chunk_ids)), "duplicated chunk ids in the manifest"
    assert sorted(stored_chunks) == sorted(chunk_ids)
    assert len(stored_chunks) == sum(doc["chunks"] for doc in documents.values())
    for _, metadata in records["chunks"]:
        assert metadata["file"] == documents[metadata["sha"]]["names"][0]
    chunk_set = set(stored_chunks)
    for _, metadata in records["units"]:
        assert metadata["sha"] in documents and metadata["chunk"] in chunk_set
    assert {m["sha"] for _, m in records["units"]} == set(documents)
    return manifest


def snapshot(folder: Path) -> dict[str, str]:
    """Path -> SHA-256 of every file under `folder` (directories listed too)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        key = path.relative_to(folder).as_posix()
        out[key] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return out


def answers(mhqa, index: Path, corpus: Path, questions: list[str]) -> list[tuple]:
    """Each question's outcome through the real CLI: (status, answer, [(source, page, quote)])."""
    run = mhqa("ask", "--file", "-", "--json", "--index", index, "--corpus", corpus, input="\n".join(questions))
    assert run.code == 0, run.stderr
    return [
        (a["status"], a["answer"], [(c["source"], c["page"], c["quote"]) for c in a["citations"]])
        for a in run.json_lines()
    ]


def cited_sources(outcomes: list[tuple]) -> set[str]:
    return {source for _, _, citations in outcomes for source, _, _ in citations}


def mhqa_command(*args) -> list[str]:
    return [sys.executable, "-m", "mhqa", *map(str, args)]


def imported_modules(env: dict, *args) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run the real CLI under `python -X importtime` and return the top-level modules it imported."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mhqa", *map(str, args)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600,
    )
    modules = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            modules.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return proc, modules
