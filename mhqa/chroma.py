"""Chroma as both homes of an index use it (store.py's folder, server.py's server): the client
settings, the one collection of a generation, and how a chunk carries its sentences. chromadb
itself is imported by the callers, when they open a client, so importing this module costs nothing.

A generation is one collection of chunks (passages). A chunk's metadata carries its sentences:
"spans" ([unit, start, end, page, kind] each, offsets in the chunk's text) and "vectors" (each
span's vector, pooled from the chunk's pass, float16, base64). Sentences are not records of their
own: Chroma loads a collection's whole HNSW graph into memory on first use, so a sentence
collection (about 4.5 records a chunk) made every cold question read every sentence vector of the
corpus, and cost most of the writing time of an index.
"""

from __future__ import annotations

from typing import Any

CHUNKS = "chunks"
LEGACY_UNITS = "units"  # the sentence collection of generations written before 2026-11-28
# HNSW's ef_search (Chroma's default is 100). The search is approximate: at 100 it misses
# some nearest records of a question far from the corpus (the closest passages a refusal
# shows), and misses different ones in an embedded store and on a server, so the same
# question could cite other passages depending on where the index lives. At 500 both
# return the exact nearest records for every labelled question (checked against brute
# force); a query costs a few milliseconds more.
SEARCH_BREADTH = 500


def client_settings(**extra: Any):
    """chromadb Settings for every client mhqa opens: never any telemetry."""
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, **extra)


def generation_collections(client, prefix: str, create: bool, model_meta: dict | None, persist_every_write: bool = False) -> dict:
    """The chunks collection of one generation, created (empty) or opened.

    `persist_every_write`: an embedded store saves its HNSW graph after each add. By default
    Chroma saves it every 1,000 records and every process that opens the folder replays
    the rest and rewrites the graph files, so readers would write a published generation
    (and race each other). Saved at every add, a published generation is only read.
    """
    out = {}
    hnsw: dict[str, Any] = {"space": "cosine", "ef_search": SEARCH_BREADTH, **({"sync_threshold": 1} if persist_every_write else {})}
    for which in (CHUNKS,):
        name = f"{prefix}{which}"
        if create:
            metadata = {f"model_{key}": value for key, value in (model_meta or {}).items()}
            out[which] = client.create_collection(
                name, configuration={"hnsw": hnsw}, metadata=metadata or None, embedding_function=None
            )
        else:
            out[which] = client.get_collection(name, embedding_function=None)
    return out


def pack_vectors(vectors) -> str:
    """Unit vectors as chunk metadata: float16 (a cosine error below 1e-3), base64."""
    import base64

    import numpy as np

    return base64.b64encode(np.asarray(vectors, dtype="<f2").tobytes()).decode("ascii")


def unpack_vectors(text: str, dim: int):
    import base64

    import numpy as np

    return np.frombuffer(base64.b64decode(text), dtype="<f2").reshape(-1, dim).astype(np.float32)
