"""mhqa: retrieval-grounded mental-health psychoeducation Q&A over vetted guideline PDFs.

The public Python API is the names in `__all__` (see the README, "Using mhqa from Python");
everything else in the package is private. `mhqa.integrations.llama_index` holds the
LlamaIndex retriever and query engine (the `llama-index` extra).

Names are imported on first use, so `import mhqa` (and so the `mhqa` command's start-up)
loads neither chromadb nor onnxruntime nor the CLI's libraries.
"""

import importlib
import os
from typing import TYPE_CHECKING, Any

# onnxruntime (seen in 1.31, on Linux) writes a device id and usage events for Microsoft's
# telemetry under ~/.cache/Microsoft unless this is set before it is imported. mhqa sends
# and keeps no telemetry; tests/test_chat.py checks that a session leaves HOME empty.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

from .errors import (  # noqa: E402  (small, and needed to catch anything mhqa raises)
    CorpusError,
    IndexBusy,
    IndexUnavailable,
    MhqaError,
    ModelMismatch,
    ModelUnavailable,
    ServerUnavailable,
    SettingsError,
    UsageError,
)

__version__ = "0.1.0"

_LAZY = {"open_index": "api", "OpenIndex": "api", "Answer": "answer", "Citation": "answer", "Settings": "settings"}

__all__ = [
    "open_index",
    "OpenIndex",
    "Answer",
    "Citation",
    "Settings",
    "MhqaError",
    "UsageError",
    "SettingsError",
    "CorpusError",
    "IndexUnavailable",
    "IndexBusy",
    "ModelMismatch",
    "ModelUnavailable",
    "ServerUnavailable",
    "__version__",
]

if TYPE_CHECKING:
    from .answer import Answer, Citation
    from .api import OpenIndex, open_index
    from .settings import Settings


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
