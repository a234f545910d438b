"""The embedding model's identity and tokenizer: one source of truth for indexing and asking.

The fingerprint covers the whole weights file, the tokenizer and the pooling. The weights'
SHA-256 (90 MB for all-MiniLM-L6-v2) is computed once and remembered in the cache by the
file's size and modification time, so every later command reads a few small files to
check that the index was built with the model it is about to use.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelUnavailable

_IDENTITY_FILES = ("config.json", "tokenizer.json", "modules.json", "sentence_bert_config.json", "1_Pooling/config.json")


@dataclass(frozen=True)
class ModelInfo:
    path: Path
    name: str
    fingerprint: str  # changes when the weights, tokenizer or pooling change
    dim: int
    max_tokens: int  # word pieces the model reads, [CLS] and [SEP] included

    def as_metadata(self) -> dict[str, object]:
        return {"name": self.name, "fingerprint": self.fingerprint, "dim": self.dim, "max_tokens": self.max_tokens}


def _weights_file(path: Path) -> Path:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (path / name).is_file():
            return path / name
    raise ModelUnavailable(f"no model weights (model.safetensors) in {path}")


def describe_model(path: Path, cache: Path | None = None) -> ModelInfo:
    """Identify the sentence-transformers folder at `path` without loading it.

    With `cache`, the weights' hash is remembered there (see weights_sha256).
    """
    if not (path / "config.json").is_file() or not (path / "tokenizer.json").is_file():
        raise ModelUnavailable(f"not a sentence-transformers model folder (config.json, tokenizer.json): {path}")
    digest = hashlib.sha256()
    for name in _IDENTITY_FILES:
        if (path / name).is_file():
            digest.update((path / name).read_bytes())
    digest.update(weights_sha256(_weights_file(path), cache).encode())
    config = json.loads((path / "config.json").read_text())
    st_config = path / "sentence_bert_config.json"
    max_tokens = json.loads(st_config.read_text()).get("max_seq_length", 256) if st_config.is_file() else 256
    return ModelInfo(
        path=path,
        name=_model_name(path),
        fingerprint=digest.hexdigest()[:16],
        dim=int(config.get("hidden_size", 0)),
        max_tokens=int(max_tokens),
    )


DIGESTS = "model-digests.json"  # in the cache: weights file -> size, mtime, SHA-256


def weights_sha256(weights: Path, cache: Path | None = None) -> str:
    """SHA-256 of the whole weights file, hashed once and then taken from CACHE/model-digests.json
    while the file keeps its size and modification time (the key is its real path)."""
    try:
        state = weights.stat()
        key, seen = str(weights.resolve()), {"size": state.st_size, "mtime_ns": state.st_mtime_ns}
        digests = _read_digests(cache / DIGESTS) if cache is not None else {}
        known = digests.get(key)
        if isinstance(known, dict) and {k: known.get(k) for k in seen} == seen and isinstance(known.get("sha256"), str):
            return known["sha256"]
        digest = hashlib.sha256()
        with weights.open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    except OSError as exc:
        raise ModelUnavailable(f"cannot read the model weights {weights}: {exc.strerror or exc}") from None
    if cache is not None:
        _write_digests(cache / DIGESTS, {**digests, key: {**seen, "sha256": digest.hexdigest()}})
    return digest.hexdigest()


def _read_digests(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # none yet, or damaged: hash again
    return data if isinstance(data, dict) else {}


def _write_digests(path: Path, digests: dict) -> None:
    """Replace the file in one step; a cache that cannot be written only costs a hash next time."""
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch.write_text(json.dumps(digests, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(scratch, path)
    except OSError:
        with contextlib.suppress(OSError):
            scratch.unlink()


def _model_name(path: Path) -> str:
    readme = path / "README.md"
    if readme.is_file():
        match = re.search(r"^# (\S+)\s*$", readme.read_text(encoding="utf-8", errors="replace"), re.MULTILINE)
        if match:
            return match.group(1)
    return path.name


def load_tokenizer(model: ModelInfo, truncate: bool = False):
    """The model's own word-piece tokenizer (the `tokenizers` library, no torch).

    The bundled tokenizer.json pads and truncates to 128; both are switched off for
    counting, and truncation is set to the model's real limit for encoding.
    """
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model.path / "tokenizer.json"))
    tokenizer.no_padding()
    if truncate:
        tokenizer.enable_truncation(max_length=model.max_tokens)
    else:
        tokenizer.no_truncation()
    return tokenizer


def dictionary_words(model: ModelInfo) -> frozenset[str]:
    """Whole words in the tokenizer's vocabulary: the dictionary for repairing split words."""
    vocab = json.loads((model.path / "tokenizer.json").read_text())["model"]["vocab"]
    return frozenset(word for word in vocab if word.isalpha())


def small_session(path: Path, what: str, threads: int = 1):
    """An onnxruntime session for a classifier that reads a few short texts a question (the crisis
    classifier, the reader): basic graph fusions only (the full set costs 40 ms more to load, of a
    one-second answer, and gains nothing measurable on a few sentences: bench/crisis_latency.py).
    `threads`: one unless the caller's work is long enough to share. `what` names it in the error."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelUnavailable(f"cannot load {what} {path}: {exc}") from None
