"""Chroma as both homes of an index use it (store.py's folder, server.py's server): the client
settings and the two collections of a generation. chromadb itself is imported by the callers,
when they open a client, so importing this module costs nothing.
"""

from __future__ import annotations

from typing import Any

CHUNKS, UNITS = "chunks", "units"
# HNSW's ef_search (Chroma's default is 100). The search is approximate: at 100 it misses
# some nearest units of a question far from the corpus (the closest passages a refusal
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
    """The chunks and units collections of one generation, created (empty) or opened.

    `persist_every_write`: an embedded store saves its HNSW graph after each add. By default
    Chroma saves it every 1,000 records and every process that opens the folder replays
    the rest and rewrites the graph files, so readers would write a published generation
    (and race each other). Saved at every add, a published generation is only read.
    """
    out = {}
    hnsw: dict[str, Any] = {"space": "cosine", "ef_search": SEARCH_BREADTH, **({"sync_threshold": 1} if persist_every_write else {})}
    for which in (CHUNKS, UNITS):
        name = f"{prefix}{which}"
        if create:
            metadata = {f"model_{key}": value for key, value in (model_meta or {}).items()}
            out[which] = client.create_collection(
                name, configuration={"hnsw": hnsw}, metadata=metadata or None, embedding_function=None
            )
        else:
            out[which] = client.get_collection(name, embedding_function=None)
    return out
