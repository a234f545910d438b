"""Stage 5, vectors -> store: the Chroma index, embedded in a folder or on a Chroma server.

An index is a series of *generations*. A generation is immutable once published:
one Chroma collection of chunks (cosine space, embeddings always given by mhqa;
each chunk carries its sentences, chroma.py) and the manifest. A writer builds the next generation beside the current
one (a copy of the current one's files, less what changed, on this machine; the
unchanged files' records added again on a server) and publishes it by replacing
one small pointer atomically. So a run killed at any moment leaves the index as
it was, readers never see a half-written state, and readers never open a Chroma
store that a writer is writing (Chroma's embedded store is not safe for that).

Embedded layout (INDEX is `index/` by default):
    INDEX/CURRENT                      {"generation": NAME, "previous": NAME}
    INDEX/.writer.lock                 flock held by the one writer
    INDEX/generations/NAME/chroma/     a PersistentClient folder
    INDEX/generations/NAME/manifest.json
    INDEX/generations/NAME/lexical/    BM25 arrays derived from the chunks, and each document's part of them (parts.py)
    INDEX/generations/NAME/.readers    flock shared by readers (garbage collection waits)
On a Chroma server the same generations are collections (server.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .backend import Backend, new_generation_name
from .chroma import client_settings, generation_collections
from .errors import IndexBusy, IndexUnavailable
from .manifest import Manifest
from .settings import Settings

_BATCH = 500  # records per Chroma call: bounded memory on large corpora
TIE_MARGIN = 20  # more than the copies of any shared sentence in the shipped corpus (18)


@dataclass
class Record:
    id: str
    document: str
    metadata: dict
    embedding: Any = None  # numpy row when asked for


class Generation:
    """A published generation opened for reading (or, before publishing, for writing)."""

    def __init__(
        self, name: str, manifest: Manifest | None, collections, lexical_dir: Path, release=None, copied: bool = False,
        previous_lexical_dir: Path | None = None,
    ):
        self.name = name
        self.copied = copied  # written as a copy of the current generation: it starts with all its records
        self.manifest = manifest
        self._collections = collections  # a callable: opening Chroma may still be under way
        self.lexical_dir = lexical_dir
        # The previous generation's: a reader that derives this one's BM25 arrays (a server's client) links
        # the document parts it already has from there instead of deriving them again.
        self.previous_lexical_dir = previous_lexical_dir
        self._release = release
        self._counts: dict[str, int] = {}  # only queries read it, and they read published (unchanging) generations

    def collection(self, which: str):
        return self._collections()[which]

    def query(self, which: str, vector, k: int) -> list[tuple[str, float, str, dict]]:
        """Nearest records by cosine: (id, cosine similarity, document, metadata)."""
        collection = self.collection(which)
        if which not in self._counts:
            self._counts[which] = collection.count()  # a few ms per call in Chroma: once per generation
        count = self._counts[which]
        if count == 0:
            return []
        # A sentence that several documents share has one vector, and which copies the
        # search returns first differs between stores: fetch past the cut and break ties by id.
        result = collection.query(
            query_embeddings=[vector], n_results=min(k + TIE_MARGIN, count), include=["distances", "documents", "metadatas"]
        )
        hits = [
            (id_, 1.0 - float(distance), document, metadata)  # Chroma's cosine distance is 1 - cosine
            for id_, distance, document, metadata in zip(
                result["ids"][0], result["distances"][0], result["documents"][0], result["metadatas"][0]
            )
        ]
        return sorted(hits, key=lambda hit: (-hit[1], hit[0]))[:k]

    def get(self, which: str, ids: list[str], embeddings: bool = False) -> dict[str, Record]:
        """Records by id (Chroma returns them in its own order, so they come back keyed by id)."""
        if not ids:
            return {}
        include = ["documents", "metadatas"] + (["embeddings"] if embeddings else [])
        result = self.collection(which).get(ids=list(dict.fromkeys(ids)), include=include)
        vectors = result.get("embeddings") if embeddings else None
        return {
            id_: Record(id_, document, metadata, vectors[i] if vectors is not None else None)
            for i, (id_, document, metadata) in enumerate(zip(result["ids"], result["documents"], result["metadatas"]))
        }

    def scan(self, which: str, embeddings: bool = False) -> Iterator[Record]:
        """Every record, in batches."""
        collection = self.collection(which)
        include = ["documents", "metadatas"] + (["embeddings"] if embeddings else [])
        offset = 0
        while True:
            result = collection.get(include=include, limit=_BATCH, offset=offset)
            if not result["ids"]:
                return
            vectors = result.get("embeddings") if embeddings else None
            for i, id_ in enumerate(result["ids"]):
                yield Record(id_, result["documents"][i], result["metadatas"][i], vectors[i] if vectors is not None else None)
            offset += len(result["ids"])

    def add(self, which: str, records: list[Record]) -> None:
        collection = self.collection(which)
        for start in range(0, len(records), _BATCH):
            batch = records[start : start + _BATCH]
            collection.add(
                ids=[r.id for r in batch],
                documents=[r.document for r in batch],
                metadatas=[r.metadata for r in batch],
                embeddings=[r.embedding for r in batch],
            )

    def drop_documents(self, which: str, shas: list[str]) -> None:
        """Delete every record of these documents (a copied generation, less what changed)."""
        for start in range(0, len(shas), _BATCH):
            self.collection(which).delete(where={"sha": {"$in": shas[start : start + _BATCH]}})

    def rename_document(self, which: str, sha: str, file: str) -> None:
        """Cite the document's records under another file name."""
        collection = self.collection(which)
        found = collection.get(where={"sha": sha}, include=["metadatas"])
        for start in range(0, len(found["ids"]), _BATCH):
            ids = found["ids"][start : start + _BATCH]
            metadatas = [{**metadata, "file": file} for metadata in found["metadatas"][start : start + _BATCH]]
            collection.update(ids=ids, metadatas=metadatas)

    def close(self) -> None:
        if self._release:
            self._release()
            self._release = None


class Background:
    """Run `work` on a thread at once; `__call__` waits for its result (or raises its error).

    Opening Chroma means importing chromadb (about 0.7 s of Python); on a thread it
    overlaps with loading the encoder, which releases the GIL. The session loads the
    crisis check the same way.
    """

    def __init__(self, work) -> None:
        self._result: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(work,), daemon=True)
        self._thread.start()

    def _run(self, work) -> None:
        try:
            self._result = work()
        except BaseException as exc:  # handed to the caller's thread
            self._error = exc

    def __call__(self):
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result


# --- backends: where generations live -------------------------------------------------------


class EmbeddedBackend(Backend):
    """Generations as folders under the index folder; the pointer is the file CURRENT."""

    def __init__(self, index_dir: Path):
        self.root = index_dir
        self.generations = index_dir / "generations"

    def describe(self) -> str:
        return str(self.root)

    def read_pointer(self) -> dict | None:
        try:
            return json.loads((self.root / "CURRENT").read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise IndexUnavailable(f"cannot read {self.root / 'CURRENT'}: {exc}") from None

    def write_pointer(self, pointer: dict) -> None:
        _atomic_write(self.root / "CURRENT", json.dumps(pointer))

    def read_manifest(self, name: str) -> Manifest:
        path = self.generations / name / "manifest.json"
        try:
            return Manifest.from_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise IndexUnavailable(f"the index at {self.root} is damaged ({path}: {exc}); run `mhqa index` again") from None

    def write_manifest(self, name: str, manifest: Manifest) -> None:
        _atomic_write(self.generations / name / "manifest.json", manifest.to_json())

    def open_collections(self, name: str, create: bool, model_meta: dict | None = None):
        path = self.generations / name / "chroma"
        if create:
            (self.generations / name).mkdir(parents=True)
            (self.generations / name / ".readers").touch()
        elif not path.is_dir():
            raise IndexUnavailable(f"the index at {self.root} is damaged (generation {name} is missing)")

        def work():
            import chromadb

            client = chromadb.PersistentClient(path=str(path), settings=client_settings())
            return generation_collections(client, "", create, model_meta, persist_every_write=True)

        return Background(work)

    def copy_generation(self, source: str, name: str) -> bool:
        """A copy of the files, not links: Chroma writes its files in place, and `source` stays published."""
        folder = self.generations / name
        folder.mkdir(parents=True)
        (folder / ".readers").touch()
        shutil.copytree(self.generations / source / "chroma", folder / "chroma")
        return True

    def lexical_dir(self, name: str) -> Path:
        return self.generations / name / "lexical"

    def reader_guard(self, name: str):
        """Hold a shared lock on the generation while reading it; garbage collection skips it."""
        path = self.generations / name / ".readers"
        try:
            handle = path.open("a")
        except FileNotFoundError:
            return None
        fcntl.flock(handle, fcntl.LOCK_SH)
        return handle.close

    def names(self) -> list[str]:
        return sorted(p.name for p in self.generations.iterdir() if p.is_dir()) if self.generations.is_dir() else []

    def delete(self, name: str) -> bool:
        folder = self.generations / name
        try:
            handle = (folder / ".readers").open("a")
        except FileNotFoundError:
            shutil.rmtree(folder, ignore_errors=True)
            return True
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # a reader is still on it; the next writer collects it
            shutil.rmtree(folder, ignore_errors=True)
        return True

    @contextlib.contextmanager
    def writer_lock(self, wait: float) -> Iterator[None]:
        """The writer lock; a failed first run removes the folders it created for the index."""
        created = next((folder for folder in reversed([self.root, *self.root.parents]) if not folder.exists()), None)
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / ".writer.lock"
        with path.open("a+") as handle:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        handle.seek(0)
                        holder = handle.read().strip() or "another process"
                        raise IndexBusy(
                            f"another `mhqa index` is writing {self.root} ({holder}); waited {wait:.0f} s, try again later"
                        ) from None
                    time.sleep(0.2)
            for leftover in self.root.glob(".CURRENT.*.tmp"):  # the unpublished pointer of a killed writer
                leftover.unlink(missing_ok=True)
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%H:%M:%S')}")
            handle.flush()
            try:
                yield
            except BaseException:
                if created is not None and not (self.root / "CURRENT").exists():
                    shutil.rmtree(created, ignore_errors=True)  # a failed command creates nothing
                raise
            finally:
                handle.seek(0)
                handle.truncate()
                fcntl.flock(handle, fcntl.LOCK_UN)


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with scratch.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(scratch, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


# --- the index: open for reading, or write the next generation ------------------------------


class Index:
    """One index (a folder or a server collection) and its generations."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.backend: Backend
        if settings.uses_server:
            from .server import ServerBackend  # imported only in server mode: it loads ssl and more

            self.backend = ServerBackend(settings)
        else:
            self.backend = EmbeddedBackend(settings.index)

    def describe(self) -> str:
        return self.backend.describe()

    def current_manifest(self) -> Manifest | None:
        pointer = self.backend.read_pointer()
        return self.backend.read_manifest(pointer["generation"]) if pointer else None

    def open(self) -> Generation:
        """The current generation, for reading. Raises IndexUnavailable when there is none."""
        for _attempt in range(3):
            pointer = self.backend.read_pointer()
            if pointer is None:
                raise IndexUnavailable(f"no index at {self.describe()}: run `mhqa index` first")
            name = pointer["generation"]
            release = self.backend.reader_guard(name)
            if release is None:
                continue  # collected between reading the pointer and guarding it: read the pointer again
            try:
                manifest = self.backend.read_manifest(name)
                collections = self.backend.open_collections(name, create=False)
            except BaseException:
                release()
                raise
            previous = pointer.get("previous")
            earlier = self.backend.lexical_dir(previous) if previous else None
            return Generation(name, manifest, collections, self.backend.lexical_dir(name), release, previous_lexical_dir=earlier)
        raise IndexUnavailable(f"the index at {self.describe()} keeps changing; try again")

    def create_generation(self, model_meta: dict, copy_of: str | None = None) -> Generation:
        """A new, unpublished generation: empty, or (when the backend can) a copy of generation `copy_of`."""
        name = new_generation_name()
        copied = copy_of is not None and self.backend.copy_generation(copy_of, name)
        collections = self.backend.open_collections(name, create=not copied, model_meta=model_meta)
        return Generation(name, None, collections, self.backend.lexical_dir(name), copied=copied)

    def lexical_dir(self, name: str) -> Path:
        """Where generation `name` keeps its BM25 arrays (and its documents' parts), without opening it."""
        return self.backend.lexical_dir(name)

    def publish(self, generation: Generation, manifest: Manifest) -> None:
        """Make `generation` current: after this line readers see it, before it they see the old one."""
        self.backend.write_manifest(generation.name, manifest)
        pointer = self.backend.read_pointer()
        previous = pointer["generation"] if pointer else None
        self.backend.write_pointer({"generation": generation.name, "previous": previous})
        generation.manifest = manifest

    def collect_garbage(self) -> None:
        """Delete generations other than the current and the previous one (readers may still use it)."""
        pointer = self.backend.read_pointer() or {}
        keep = {pointer.get("generation"), pointer.get("previous")}
        for name in self.backend.names():
            if name not in keep:
                self.backend.delete(name)

    def writer_lock(self):
        return self.backend.writer_lock(self.settings.lock_wait)
