"""Stage 5 on a Chroma server: the generations of store.py, kept by a shared `chroma run`.

Collections on the server (COLLECTION is `--collection`, `mhqa` by default):
    COLLECTION-meta                 records `current` (the pointer) and `manifest:NAME`
    COLLECTION-writer               exists while one `mhqa index` writes (its lease)
    COLLECTION-NAME-chunks|units    generation NAME
Each client derives the BM25 arrays of a generation from its chunks once and keeps
them under CACHE/lexical/<key of URL and collection>/NAME; the server holds the rest.

The token travels only in request headers: it is not part of any name, message,
cache key or file.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import os
import re
import shutil
import socket
import ssl
import threading
import time
import uuid
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

from .backend import GENERATION_NAME, Backend
from .chroma import CHUNKS, LEGACY_UNITS, client_settings, generation_collections
from .errors import IndexBusy, IndexUnavailable, MhqaError, ServerUnavailable, SettingsError
from .manifest import Manifest
from .settings import Settings

LEASE_SECONDS = 60.0  # a writer renews its lease every third of this; a crashed one frees it after this
# Bound on each call once the pre-flight has succeeded. Generous, because a busy
# server may take seconds for a batch add; it only keeps a hung server from hanging mhqa.
CALL_TIMEOUT = 60.0


def _api_url(url: str) -> str:
    """Where chromadb's client sends its requests for a server URL (a path prefix is kept)."""
    return url.rstrip("/") + "/api/v2"


def _auth_headers(token: str | None) -> dict[str, str]:
    """The token in both header styles the sample nginx config accepts."""
    return {"Authorization": f"Bearer {token}", "X-Chroma-Token": token} if token else {}


def plain_http_warning(settings: Settings) -> str | None:
    """What to tell the user when the token would cross a network unencrypted: http:// to a host
    that is not this machine. None when it would not (no token, https, or loopback)."""
    if not settings.chroma_token or not settings.chroma_url:
        return None
    url = urlsplit(settings.chroma_url)
    if url.scheme != "http" or _is_loopback(url.hostname or ""):
        return None
    return (
        f"warning: the Chroma token is sent unencrypted over http:// to {url.hostname}, where anyone on the "
        "network can read it; use an https:// URL"
    )


def _is_loopback(host: str) -> bool:
    """A name or address of this machine itself, without asking DNS (mhqa stays offline)."""
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def _tls_verify(settings: Settings) -> ssl.SSLContext | bool:
    """What to verify an https server against: the `--chroma-ca` file or folder, else the system's CAs."""
    ca = settings.chroma_ca
    if ca is None:
        return True
    try:
        return ssl.create_default_context(capath=str(ca)) if ca.is_dir() else ssl.create_default_context(cafile=str(ca))
    except (OSError, ssl.SSLError) as exc:
        raise SettingsError(f"cannot use the CA certificate {ca}: {getattr(exc, 'strerror', None) or exc}") from None


def connect_server(settings: Settings):
    """A chromadb.HttpClient for `settings.chroma_url` whose calls cannot hang.

    chromadb 1.5.9 creates its httpx.Client with timeout=None and has no setting to
    change that, so a plain client waits forever on a hung server and about two
    minutes on an unreachable host (tests/SERVERS.md). So first a pre-flight GET of
    the heartbeat straight through httpx, with the token, the CA and
    `server_timeout`: it fails fast and tells a dead server, a refused token, a TLS
    failure and a URL that is not Chroma apart, before chromadb is even imported.
    Then every call of the client is bounded by setting the timeout of its httpx
    session (`_server._session`, the only handle chromadb offers). The constructor's
    own three requests are not bounded, but they follow a pre-flight that has just
    been answered.
    """
    import httpx

    url = settings.chroma_url or ""
    https = urlsplit(url).scheme == "https"
    verify = _tls_verify(settings) if https else True
    with server_errors(url, settings.chroma_token):
        _preflight(url, settings.chroma_token, verify, settings.server_timeout)
        import chromadb

        chroma_settings = client_settings(**({"chroma_server_ssl_verify": str(settings.chroma_ca)} if https and settings.chroma_ca else {}))
        # A full URL as the host keeps its scheme, port and path prefix.
        client = chromadb.HttpClient(host=url, headers=_auth_headers(settings.chroma_token), settings=chroma_settings)
        client._server._session.timeout = httpx.Timeout(CALL_TIMEOUT, connect=settings.server_timeout)
    return client


def _preflight(url: str, token: str | None, verify: ssl.SSLContext | bool, timeout: float) -> None:
    import httpx

    response = httpx.get(_api_url(url) + "/heartbeat", headers=_auth_headers(token), verify=verify, timeout=timeout)
    status = response.status_code
    if status in (401, 403):
        if token:
            raise ServerUnavailable(f"Chroma server {url}: the server refused the token (HTTP {status}); check --chroma-token / MHQA_CHROMA_TOKEN")
        raise ServerUnavailable(f"Chroma server {url}: the server requires a token (HTTP {status}); set MHQA_CHROMA_TOKEN or pass --chroma-token")
    if status in (502, 503, 504):
        raise ServerUnavailable(f"Chroma server {url}: the proxy answers, but the Chroma server behind it does not (HTTP {status})")
    if 300 <= status < 400:
        raise ServerUnavailable(f"Chroma server {url}: the server redirects to {response.headers.get('location', '?')} (HTTP {status}); use that URL")
    if status == 400 and "https" in response.text.lower():
        raise ServerUnavailable(f"Chroma server {url}: this port expects https (HTTP 400); use an https:// URL")
    if status != 200 or "nanosecond heartbeat" not in response.text:
        raise ServerUnavailable(f"Chroma server {url}: no Chroma 1.x server answers at this URL (HTTP {status} for /api/v2/heartbeat)")


@contextlib.contextmanager
def server_errors(url: str, token: str | None = None) -> Iterator[None]:
    """Turn whatever a failing server, proxy or connection raises into one clear line (an MhqaError)."""
    try:
        yield
    except MhqaError:
        raise
    except Exception as exc:
        error = _explain(exc, url)
        if token:  # no server message should echo it, but a message is shown, so make sure
            error.args = (str(error).replace(token, "<token>"),)
        raise error from None


def _explain(exc: BaseException, url: str) -> MhqaError:
    import httpx

    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, httpx.HTTPError):  # chromadb wraps them in ValueError
        cause = cause.__cause__ or cause.__context__
    text = " ".join(str(cause or exc).split()) or type(cause or exc).__name__
    if isinstance(cause, httpx.ConnectTimeout):
        reason = "no answer while connecting (host unreachable, or a firewall drops the connection?)"
    elif isinstance(cause, httpx.TimeoutException):
        reason = "connected, but the server did not answer in time (hung or overloaded?)"
    elif isinstance(cause, httpx.ConnectError) and ("ssl" in text.lower() or "certificate" in text.lower()):
        reason = f"TLS failed ({_short(text)}); is it an https server, and for a private CA, pass its certificate with --chroma-ca / MHQA_CHROMA_CA"
    elif isinstance(cause, httpx.ConnectError):
        lowered = text.lower()
        if "refused" in lowered:
            reason = "connection refused (is the server, or its proxy, running?)"
        elif "name" in lowered or "resolution" in lowered or "address" in lowered:
            reason = f"cannot resolve the host name ({_short(text)})"
        else:
            reason = f"cannot connect ({_short(text)})"
    elif isinstance(cause, httpx.HTTPError):
        reason = f"the connection failed ({type(cause).__name__}: {_short(text)}); is the URL's scheme (http/https) right?"
    else:
        from chromadb import errors as chroma_errors

        if isinstance(exc, chroma_errors.ChromaAuthError):  # 403: a known token, not allowed this request
            reason = "the token may not make this request (HTTP 403): a reader token only reads; `mhqa index` needs the maintainer token"
        elif isinstance(exc, chroma_errors.AuthorizationError):
            reason = "the server refused the token; check --chroma-token / MHQA_CHROMA_TOKEN"
        elif isinstance(exc, chroma_errors.NotFoundError):
            return IndexUnavailable(f"the index on {url} changed while it was being read ({_short(text)}); run the command again")
        else:
            reason = _short(text)
    return ServerUnavailable(f"Chroma server {url}: {reason}")


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Guarded:
    """A server collection whose calls fail with one clear line instead of an httpx or chromadb error."""

    def __init__(self, collection, url: str, token: str | None):
        self._collection, self._url, self._token = collection, url, token

    def __getattr__(self, name: str):
        attribute = getattr(self._collection, name)
        if not callable(attribute):
            return attribute

        def call(*args, **kwargs):
            with server_errors(self._url, self._token):
                return attribute(*args, **kwargs)

        return call


class ServerBackend(Backend):
    """Generations as collections on a Chroma server; pointer and manifests in a meta collection."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.url = settings.chroma_url or ""
        self.base = settings.collection
        self._client = None
        self._meta_collection = None
        self._pointer: dict | None = None
        self._lock = None  # the lease collection while this process holds it
        key = hashlib.sha256(f"{self.url}|{self.base}".encode()).hexdigest()[:16]
        self._cache = settings.cache / "lexical" / key

    def describe(self) -> str:
        return f"{self.url} (collection {self.base})"

    def _errors(self):
        return server_errors(self.url, self.settings.chroma_token)

    @property
    def client(self):
        if self._client is None:
            self._client = connect_server(self.settings)
        return self._client

    # --- pointer and manifests: records of COLLECTION-meta ---------------------------------

    def _meta(self, create: bool):
        """The meta collection; None when there is none and `create` is false (a reader creates nothing)."""
        if self._meta_collection is None:
            from chromadb.errors import NotFoundError

            name = f"{self.base}-meta"
            with self._errors():
                try:
                    self._meta_collection = self.client.get_collection(name, embedding_function=None)
                except NotFoundError:
                    if not create:
                        return None
                    self._meta_collection = self.client.get_or_create_collection(name, embedding_function=None)
        return self._meta_collection

    def _get_doc(self, record_id: str) -> str | None:
        meta = self._meta(create=False)
        if meta is None:
            return None
        with self._errors():
            result = meta.get(ids=[record_id], include=["documents"])
        return result["documents"][0] if result["ids"] else None

    def _put_doc(self, record_id: str, document: str) -> None:
        meta = self._meta(create=True)
        with self._errors():
            meta.upsert(ids=[record_id], documents=[document], embeddings=[[1.0]])

    def read_pointer(self) -> dict | None:
        document = self._get_doc("current")
        self._pointer = json.loads(document) if document else None
        return self._pointer

    def write_pointer(self, pointer: dict) -> None:
        if self._lock is not None and not self._holds_lease():
            raise IndexBusy(
                f"this run lost its writer lease on {self.describe()} (not renewed for {LEASE_SECONDS:.0f} s, "
                "and another `mhqa index` took over); nothing was published"
            )
        self._put_doc("current", json.dumps(pointer))

    def read_manifest(self, name: str) -> Manifest:
        document = self._get_doc(f"manifest:{name}")
        if document is None:
            raise IndexUnavailable(f"the index on {self.describe()} has no manifest for generation {name}; run the command again, or `mhqa index`")
        try:
            return Manifest.from_json(document)
        except (ValueError, TypeError, KeyError) as exc:
            raise IndexUnavailable(f"the index on {self.describe()} is damaged (manifest of {name}: {exc}); run `mhqa index` again") from None

    def write_manifest(self, name: str, manifest: Manifest) -> None:
        self._put_doc(f"manifest:{name}", manifest.to_json())

    # --- generations ----------------------------------------------------------------------------

    def open_collections(self, name: str, create: bool, model_meta: dict | None = None):
        with self._errors():
            found = generation_collections(self.client, f"{self.base}-{name}-", create, model_meta)
        collections = {which: _Guarded(collection, self.url, self.settings.chroma_token) for which, collection in found.items()}
        return lambda: collections

    def copy_generation(self, source: str, name: str) -> bool:
        return False  # Chroma's API has no collection copy: the writer adds the unchanged records again

    def lexical_dir(self, name: str) -> Path:
        return self._cache / name

    def reader_guard(self, name: str):
        """No lock on a server: the writer keeps the previous generation for readers still on it.

        Here a reader drops its local BM25 arrays of generations older than that
        one, which nobody can open any more (names sort by creation time).
        """
        pointer = self._pointer or {}
        oldest = min(filter(None, (pointer.get("generation"), pointer.get("previous"))), default=None)
        if oldest and self._cache.is_dir():
            for folder in self._cache.iterdir():
                if GENERATION_NAME.fullmatch(folder.name) and folder.name < oldest:
                    shutil.rmtree(folder, ignore_errors=True)
        return lambda: None

    def names(self) -> list[str]:
        """Generations on the server, complete or not (a crashed run leaves some behind)."""
        pattern = re.compile(rf"{re.escape(self.base)}-({GENERATION_NAME.pattern})-(?:{CHUNKS}|{LEGACY_UNITS})")
        with self._errors():
            listed = [collection.name for collection in self.client.list_collections()]
        return sorted({match.group(1) for name in listed if (match := pattern.fullmatch(name))})

    def delete(self, name: str) -> bool:
        from chromadb.errors import NotFoundError

        with self._errors():
            for which in (CHUNKS, LEGACY_UNITS):
                with contextlib.suppress(NotFoundError):
                    self.client.delete_collection(f"{self.base}-{name}-{which}")
            meta = self._meta(create=False)
            if meta is not None:
                meta.delete(ids=[f"manifest:{name}"])
        shutil.rmtree(self.lexical_dir(name), ignore_errors=True)
        return True

    # --- one writer: a lease ------------------------------------------------------------------

    @property
    def _lock_name(self) -> str:
        return f"{self.base}-writer"

    @contextlib.contextmanager
    def writer_lock(self, wait: float) -> Iterator[None]:
        """One `mhqa index` at a time per collection, from any machine: a lease.

        The lease is the collection COLLECTION-writer: creating a collection is
        atomic on the server (of several concurrent creates exactly one wins), so
        no two writers can both take it. Its metadata names the holder and when the
        lease expires, in the server's clock (from its heartbeat), so maintainers'
        clocks need not agree. The holder renews it while it works; a lease that
        has expired, or whose holder process is gone from this machine (a killed
        run), is taken over at once.
        """
        me = {"holder": uuid.uuid4().hex, "host": socket.gethostname(), "pid": os.getpid()}
        deadline = time.monotonic() + wait
        while (holder := self._acquire(me)) is not None:
            if time.monotonic() >= deadline:
                raise IndexBusy(
                    f"another `mhqa index` is writing {self.describe()} (pid {holder.get('pid', '?')} on {holder.get('host', '?')}); "
                    f"waited {wait:.0f} s, try again later"
                )
            time.sleep(0.5)
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(LEASE_SECONDS / 3):
                with contextlib.suppress(MhqaError):  # a lost lease is caught before publishing
                    if self._holds_lease():
                        with self._errors():
                            self._lock.modify(metadata=self._lease(me))

        renewer = threading.Thread(target=renew, daemon=True, name="mhqa-lease")
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            with contextlib.suppress(MhqaError):
                if self._holds_lease():
                    with self._errors():
                        self.client.delete_collection(self._lock_name)
            self._lock = None

    def _lease(self, me: dict) -> dict:
        with self._errors():
            now = self.client.heartbeat() / 1e9  # the server's clock, in seconds
        return {**me, "expires": now + LEASE_SECONDS}

    def _acquire(self, me: dict) -> dict | None:
        """Take the lease: None when taken, else the metadata of the holder's lease."""
        from chromadb.errors import ChromaError, NotFoundError, UniqueConstraintError

        lease: dict = {}
        with self._errors():
            for _attempt in range(3):
                try:
                    self._lock = self.client.create_collection(self._lock_name, metadata=self._lease(me), embedding_function=None)
                    return None
                except ChromaError as exc:
                    if not isinstance(exc, UniqueConstraintError) and "already exists" not in str(exc):
                        raise
                try:
                    held = self.client.get_collection(self._lock_name, embedding_function=None)
                except NotFoundError:
                    continue  # released meanwhile
                lease = dict(held.metadata or {})
                if not self._is_stale(lease):
                    return lease
                # Rename the stale lease by its id, then compete again by creating: a
                # second taker renames the same old collection, never a new lease.
                with contextlib.suppress(NotFoundError):
                    stale = f"{self._lock_name}-stale-{uuid.uuid4().hex[:8]}"
                    held.modify(name=stale)
                    self.client.delete_collection(stale)
            return lease

    def _is_stale(self, lease: dict) -> bool:
        with self._errors():
            now = self.client.heartbeat() / 1e9
        if float(lease.get("expires", 0)) < now:
            return True
        return lease.get("host") == socket.gethostname() and not _process_alive(int(lease.get("pid", 0)))

    def _holds_lease(self) -> bool:
        from chromadb.errors import NotFoundError

        if self._lock is None:
            return False
        with self._errors():
            try:
                return self.client.get_collection(self._lock_name, embedding_function=None).id == self._lock.id
            except NotFoundError:
                return False


def _process_alive(pid: int) -> bool:
    if pid <= 0:
        return True  # unknown: trust the expiry time
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
