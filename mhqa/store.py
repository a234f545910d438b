"""Stage 5, vectors -> store: the Chroma index, embedded in a folder or on a Chroma server.

An index is a series of *generations*. A generation is immutable once published:
two Chroma collections (chunks and units, cosine space, embeddings always given by
mhqa) and the manifest. A writer builds the next generation beside the current
one (carrying over the vectors of unchanged files) and publishes it by replacing
one small pointer atomically. So a run killed at any moment leaves the index as
it was, readers never see a half-written state, and readers never open a Chroma
store that a writer is writing (Chroma's embedded store is not safe for that).

Embedded layout (INDEX is `index/` by default):
    INDEX/CURRENT                      {"generation": NAME, "previous": NAME}
    INDEX/.writer.lock                 flock held by the one writer
    INDEX/generations/NAME/chroma/     a PersistentClient folder
    INDEX/generations/NAME/manifest.json
    INDEX/generations/NAME/lexical/    BM25 arrays derived from the chunks
    INDEX/generations/NAME/.readers    flock shared by readers (garbage collection waits)
On a server, generation NAME is the collections `<collection>-NAME-chunks|units`,
and the pointer, manifest and writer lease are records of `<collection>-meta`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .errors import IndexBusy, IndexUnavailable, MhqaError, ServerUnavailable
from .manifest import Manifest
from .settings import Settings

CHUNKS, UNITS = "chunks", "units"
_BATCH = 500  # records per Chroma call: bounded memory on large corpora
LEASE_SECONDS = 60.0


def _chroma_settings(**extra: Any):
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, **extra)


def new_generation_name() -> str:
    return time.strftime("g%Y%m%dT%H%M%S", time.gmtime()) + f"-{uuid.uuid4().hex[:6]}"


@dataclass
class Record:
    id: str
    document: str
    metadata: dict
    embedding: Any = None  # numpy row when asked for


class Generation:
    """A published generation opened for reading (or, before publishing, for writing)."""

    def __init__(self, name: str, manifest: Manifest | None, collections, lexical_dir: Path, release=None):
        self.name = name
        self.manifest = manifest
        self._collections = collections  # a callable: opening Chroma may still be under way
        self.lexical_dir = lexical_dir
        self._release = release

    def collection(self, which: str):
        return self._collections()[which]

    def query(self, which: str, vector, k: int) -> list[tuple[str, float, str, dict]]:
        """Nearest records by cosine: (id, cosine similarity, document, metadata)."""
        collection = self.collection(which)
        count = collection.count()
        if count == 0:
            return []
        result = collection.query(
            query_embeddings=[vector], n_results=min(k, count), include=["distances", "documents", "metadatas"]
        )
        return [
            (id_, 1.0 - float(distance), document, metadata)  # Chroma's cosine distance is 1 - cosine
            for id_, distance, document, metadata in zip(
                result["ids"][0], result["distances"][0], result["documents"][0], result["metadatas"][0]
            )
        ]

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

    def update_metadata(self, which: str, ids: list[str], metadatas: list[dict]) -> None:
        collection = self.collection(which)
        for start in range(0, len(ids), _BATCH):
            collection.update(ids=ids[start : start + _BATCH], metadatas=metadatas[start : start + _BATCH])

    def close(self) -> None:
        if self._release:
            self._release()
            self._release = None


class _Background:
    """Run `work` on a thread at once; `__call__` waits for its result (or raises its error).

    Opening Chroma means importing chromadb (about 0.7 s of Python); on a thread it
    overlaps with loading the encoder, which releases the GIL.
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


class EmbeddedBackend:
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
        if not create and not path.is_dir():
            raise IndexUnavailable(f"the index at {self.root} is damaged (generation {name} is missing)")

        def work():
            import chromadb

            client = chromadb.PersistentClient(path=str(path), settings=_chroma_settings())
            return _collections(client, "", create, model_meta)

        return _Background(work)

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

    def prepare(self, name: str) -> None:
        (self.generations / name).mkdir(parents=True)
        (self.generations / name / ".readers").touch()

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
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%H:%M:%S')}")
            handle.flush()
            try:
                yield
            finally:
                handle.seek(0)
                handle.truncate()
                fcntl.flock(handle, fcntl.LOCK_UN)


class ServerBackend:
    """Generations as collections on a Chroma server; pointer, manifests and lease in a meta collection."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.url = settings.chroma_url or ""
        self.base = settings.collection
        self._client = None
        key = hashlib.sha256(f"{self.url}|{self.base}".encode()).hexdigest()[:16]
        self._cache = settings.cache / "lexical" / key

    def describe(self) -> str:
        return f"{self.url} (collection {self.base})"

    @property
    def client(self):
        if self._client is None:
            self._client = connect_server(self.settings)
        return self._client

    def _meta(self):
        with server_errors(self.url):
            return self.client.get_or_create_collection(f"{self.base}-meta", embedding_function=None)

    def _get_doc(self, record_id: str) -> str | None:
        with server_errors(self.url):
            result = self._meta().get(ids=[record_id], include=["documents"])
        return result["documents"][0] if result["ids"] else None

    def _put_doc(self, record_id: str, document: str) -> None:
        with server_errors(self.url):
            self._meta().upsert(ids=[record_id], documents=[document], embeddings=[[1.0]])

    def read_pointer(self) -> dict | None:
        document = self._get_doc("current")
        return json.loads(document) if document else None

    def write_pointer(self, pointer: dict) -> None:
        self._put_doc("current", json.dumps(pointer))

    def read_manifest(self, name: str) -> Manifest:
        document = self._get_doc(f"manifest:{name}")
        if document is None:
            raise IndexUnavailable(f"the index on {self.describe()} is damaged (no manifest for {name})")
        return Manifest.from_json(document)

    def write_manifest(self, name: str, manifest: Manifest) -> None:
        self._put_doc(f"manifest:{name}", manifest.to_json())

    def open_collections(self, name: str, create: bool, model_meta: dict | None = None):
        with server_errors(self.url):
            collections = _collections(self.client, f"{self.base}-{name}-", create, model_meta)
        return lambda: collections

    def lexical_dir(self, name: str) -> Path:
        return self._cache / name

    def reader_guard(self, name: str):
        return None  # the writer keeps the previous generation, and readers retry once

    def prepare(self, name: str) -> None:
        pass

    def names(self) -> list[str]:
        prefix, suffix = f"{self.base}-", f"-{CHUNKS}"
        with server_errors(self.url):
            listed = [c.name if hasattr(c, "name") else str(c) for c in self.client.list_collections()]
        return sorted({n[len(prefix) : -len(suffix)] for n in listed if n.startswith(prefix) and n.endswith(suffix)})

    def delete(self, name: str) -> bool:
        with server_errors(self.url):
            for which in (CHUNKS, UNITS):
                with contextlib.suppress(Exception):
                    self.client.delete_collection(f"{self.base}-{name}-{which}")
            with contextlib.suppress(Exception):
                self._meta().delete(ids=[f"manifest:{name}"])
        shutil.rmtree(self.lexical_dir(name), ignore_errors=True)
        return True

    @contextlib.contextmanager
    def writer_lock(self, wait: float) -> Iterator[None]:
        """A lease in the meta collection, renewed while the writer works.

        Chroma has no compare-and-swap, so the lease is written and then read back;
        two writers starting within the same instant could both pass, which a
        single maintainer per index (the README's rule) avoids.
        """
        me = {"holder": uuid.uuid4().hex, "host": socket.gethostname(), "pid": os.getpid()}
        deadline = time.monotonic() + wait
        while True:
            current = self._get_doc("lock")
            lease = json.loads(current) if current else None
            if lease is None or lease.get("expires", 0) < time.time() or lease.get("holder") == me["holder"]:
                self._put_doc("lock", json.dumps({**me, "expires": time.time() + LEASE_SECONDS}))
                if json.loads(self._get_doc("lock") or "{}").get("holder") == me["holder"]:
                    break
            if time.monotonic() >= deadline:
                raise IndexBusy(
                    f"another `mhqa index` is writing {self.describe()} (pid {lease.get('pid')} on {lease.get('host')}); "
                    f"waited {wait:.0f} s, try again later"
                )
            time.sleep(0.5)
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(LEASE_SECONDS / 3):
                with contextlib.suppress(MhqaError):
                    self._put_doc("lock", json.dumps({**me, "expires": time.time() + LEASE_SECONDS}))

        renewer = threading.Thread(target=renew, daemon=True)
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                self._meta().delete(ids=["lock"])


def _collections(client, prefix: str, create: bool, model_meta: dict | None) -> dict:
    out = {}
    for which in (CHUNKS, UNITS):
        name = f"{prefix}{which}"
        if create:
            metadata = {f"model_{key}": value for key, value in (model_meta or {}).items()}
            out[which] = client.create_collection(
                name, configuration={"hnsw": {"space": "cosine"}}, metadata=metadata or None, embedding_function=None
            )
        else:
            out[which] = client.get_collection(name, embedding_function=None)
    return out


@contextlib.contextmanager
def server_errors(url: str) -> Iterator[None]:
    """Turn whatever a failing server or proxy raises into one clear line."""
    try:
        yield
    except MhqaError:
        raise
    except Exception as exc:
        text = " ".join(str(exc).split()) or type(exc).__name__
        lowered = text.lower()
        if "401" in text or "403" in text or "unauthorized" in lowered or "forbidden" in lowered:
            reason = "the server refused the token (check MHQA_CHROMA_TOKEN)"
        elif "certificate" in lowered or "ssl" in lowered:
            reason = f"TLS failed ({text[:120]})"
        elif "timed out" in lowered or "timeout" in lowered:
            reason = "the server did not answer in time"
        elif "connect" in lowered or "refused" in lowered or "resolve" in lowered or "unreachable" in lowered:
            reason = "cannot connect (is the server running?)"
        elif "does not exist" in lowered or "notfound" in type(exc).__name__.lower():
            raise IndexUnavailable(f"the index on {url} is incomplete or was replaced ({text[:120]}); try again") from None
        else:
            reason = text[:160]
        raise ServerUnavailable(f"Chroma server {url}: {reason}") from None


def connect_server(settings: Settings):
    """A chromadb.HttpClient for `settings.chroma_url`, with the token as a header and short timeouts."""
    from urllib.parse import urlsplit

    import chromadb

    url = urlsplit(settings.chroma_url or "")
    if not url.hostname:
        raise ServerUnavailable(f"bad Chroma server URL: {settings.chroma_url!r}")
    headers = {}
    if settings.chroma_token:
        headers = {"Authorization": f"Bearer {settings.chroma_token}", "X-Chroma-Token": settings.chroma_token}
    ssl = url.scheme == "https"
    verify: Any = str(settings.chroma_ca) if settings.chroma_ca else True
    extra: dict[str, Any] = {"chroma_server_ssl_verify": verify} if ssl else {}
    with server_errors(settings.chroma_url or ""):
        client = chromadb.HttpClient(
            host=url.hostname,
            port=url.port or (443 if ssl else 80),
            ssl=ssl,
            headers=headers,
            settings=_chroma_settings(chroma_server_http_timeout=settings.server_timeout, **extra) if _has_timeout() else _chroma_settings(**extra),
        )
        client.heartbeat()
    return client


def _has_timeout() -> bool:
    from chromadb.config import Settings as ChromaSettings

    return "chroma_server_http_timeout" in ChromaSettings.model_fields


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
        self.backend = ServerBackend(settings) if settings.uses_server else EmbeddedBackend(settings.index)

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
            if release is None and not self.settings.uses_server:
                continue  # collected between reading the pointer and locking it: read the pointer again
            try:
                manifest = self.backend.read_manifest(name)
                collections = self.backend.open_collections(name, create=False)
            except BaseException:
                if release:
                    release()
                raise
            return Generation(name, manifest, collections, self.backend.lexical_dir(name), release)
        raise IndexUnavailable(f"the index at {self.describe()} keeps changing; try again")

    def create_generation(self, model_meta: dict) -> Generation:
        name = new_generation_name()
        self.backend.prepare(name)
        collections = self.backend.open_collections(name, create=True, model_meta=model_meta)
        return Generation(name, None, collections, self.backend.lexical_dir(name))

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
