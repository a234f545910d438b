"""The embedding model's identity and tokenizer: one source of truth for indexing and asking.

Reading the identity costs a few small file reads, so every command can check
that the index was built with the model it is about to use.
"""

from __future__ import annotations

import hashlib
import json
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


def describe_model(path: Path) -> ModelInfo:
    """Identify the sentence-transformers folder at `path` without loading it."""
    if not (path / "config.json").is_file() or not (path / "tokenizer.json").is_file():
        raise ModelUnavailable(f"not a sentence-transformers model folder (config.json, tokenizer.json): {path}")
    digest = hashlib.sha256()
    for name in _IDENTITY_FILES:
        if (path / name).is_file():
            digest.update((path / name).read_bytes())
    weights = _weights_file(path)
    size = weights.stat().st_size
    with weights.open("rb") as handle:  # both ends of the weights: cheap, and any retrained model differs
        digest.update(handle.read(1 << 20))
        handle.seek(max(0, size - (1 << 20)))
        digest.update(handle.read(1 << 20))
    digest.update(str(size).encode())
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
