"""Where the generations of an index live: the one small interface store.Index works through.

Two backends implement it: EmbeddedBackend (store.py, a folder on this machine) and
ServerBackend (server.py, collections on a Chroma server). Index never asks which one
it has.
"""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path
from typing import Callable, ContextManager, Protocol, runtime_checkable

from .manifest import Manifest

# A generation's name sorts by creation time: g<UTC time>-<random>.
GENERATION_NAME = re.compile(r"g\d{8}T\d{6}-[0-9a-f]{6}")


def new_generation_name() -> str:
    return time.strftime("g%Y%m%dT%H%M%S", time.gmtime()) + f"-{uuid.uuid4().hex[:6]}"


@runtime_checkable
class Backend(Protocol):
    def describe(self) -> str:
        """Where the index is, for messages (never holds the token)."""
        ...

    def read_pointer(self) -> dict | None:
        """{"generation": NAME, "previous": NAME} of the published generation; None when there is none."""
        ...

    def write_pointer(self, pointer: dict) -> None:
        """Publish: replace the pointer in one atomic step."""
        ...

    def read_manifest(self, name: str) -> Manifest: ...

    def write_manifest(self, name: str, manifest: Manifest) -> None: ...

    def open_collections(self, name: str, create: bool, model_meta: dict | None = None) -> Callable[[], dict]:
        """The generation's collections (chroma.py; created empty when `create`), behind a
        callable: opening may still be under way on a thread when this returns."""
        ...

    def copy_generation(self, source: str, name: str) -> bool:
        """Start generation `name` as a copy of generation `source`'s collections, to be opened with
        create=False; False when this backend cannot copy (the writer then adds every record again)."""
        ...

    def lexical_dir(self, name: str) -> Path:
        """Where the generation's BM25 arrays are kept."""
        ...

    def reader_guard(self, name: str) -> Callable[[], None] | None:
        """Keep the generation from being deleted while it is read; returns what releases it,
        or None when the generation is already gone (read the pointer again)."""
        ...

    def names(self) -> list[str]:
        """Every generation present, published or left behind by a crashed run."""
        ...

    def delete(self, name: str) -> bool:
        """Delete a generation; False when a reader still holds it (the next writer collects it)."""
        ...

    def writer_lock(self, wait: float) -> ContextManager[None]:
        """Be the one writer of this index, waiting up to `wait` seconds (IndexBusy after that)."""
        ...
