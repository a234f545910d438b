"""The fast encoder is the model: the ONNX export gives the vectors sentence-transformers gives.

Questions are encoded the way `ask` encodes them (one at a time, the session's
encoder); chunk and sentence texts the way `mhqa index` does (the bulk encoder,
length-sorted padded batches). Both are compared with sentence-transformers, the
model of record, loaded from the bundled folder; and so are the vectors the
index actually holds.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from mhqa.chroma import CHUNKS, UNITS
from mhqa.chunk import embedding_text
from mhqa.embed import load_encoder, load_sentence_transformer
from mhqa.model import DIGESTS, describe_model
from mhqa.settings import bundled_model_path

MIN_COSINE = 0.9999


@pytest.fixture(scope="module")
def reference(session):
    return load_sentence_transformer(describe_model(session.settings.model_path))


def reference_vectors(model, texts: list[str]) -> np.ndarray:
    return model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)


def assert_same(expected: np.ndarray, got: np.ndarray, texts: list[str]) -> None:
    assert got.shape == expected.shape
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    cosines = (expected * got).sum(axis=1) / np.linalg.norm(expected, axis=1) / np.linalg.norm(got, axis=1)
    worst = int(np.argmin(cosines))
    assert cosines[worst] >= MIN_COSINE, f"cosine {cosines[worst]:.6f} on {texts[worst][:80]!r}"


def index_texts(session, which: str) -> tuple[list[str], np.ndarray]:
    """What was embedded for every record of `which`, and the vector the index holds for it."""
    texts, stored = [], []
    for record in session.generation.scan(which, embeddings=True):
        if which == CHUNKS:
            texts.append(embedding_text(record.metadata["title"], record.metadata.get("section", ""), record.document))
        else:
            texts.append(record.document)
        stored.append(np.asarray(record.embedding, dtype=np.float32))
    return texts, np.stack(stored)


def test_questions_encoded_as_ask_does(session, labelled, reference):
    questions = [row["question"] for row in labelled]
    got = np.stack([session.searcher.encoder.encode([question])[0] for question in questions])
    assert_same(reference_vectors(reference, questions), got, questions)


def test_typed_questions_with_typos_and_unicode(session, reference):
    questions = [
        "how long do antidepresants take 2 work??",
        "SAD light therapy",
        "my 15yo wont eat — is that anorexia?",
        "Qu’est-ce que la dépression ?",
        "ptsd",
        "is it ok to stop lithium on my own " * 30,  # longer than the model reads: truncated alike
    ]
    got = np.stack([session.searcher.encoder.encode([question])[0] for question in questions])
    assert_same(reference_vectors(reference, questions), got, questions)


@pytest.mark.parametrize("which", [CHUNKS, UNITS])
def test_index_texts_encoded_as_index_does(session, reference, which):
    texts, stored = index_texts(session, which)
    assert len(texts) > 100
    # The 40 longest texts (the most padding and truncation) and an even spread of the
    # rest: sentence-transformers takes minutes for every chunk on two cores.
    by_length = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    keep = sorted(set(by_length[-40:]) | set(by_length[:: max(1, len(texts) // 80)]))
    texts, stored = [texts[i] for i in keep], stored[keep]
    expected = reference_vectors(reference, texts)
    bulk = load_encoder(session.searcher.encoder.model, session.settings.cache, bulk=True)
    assert_same(expected, bulk.encode(texts), texts)
    assert_same(expected, stored, texts)  # what the index holds is the model's vector


def test_longest_chunk_agrees_alone(session, reference):
    """Chunks are cut at the model's 256 word pieces: the longest chunk must still agree."""
    texts, _ = index_texts(session, CHUNKS)
    tokenizer = reference.tokenizer
    longest = max(texts, key=lambda text: len(tokenizer(text)["input_ids"]))
    assert len(tokenizer(longest)["input_ids"]) > 150
    got = session.searcher.encoder.encode([longest])
    assert_same(reference_vectors(reference, [longest]), got, [longest])


def test_model_identity_recorded_in_the_index(session):
    model = describe_model(session.settings.model_path)
    assert session.manifest.model["fingerprint"] == model.fingerprint
    assert session.manifest.model["dim"] == model.dim == 384
    for which in (CHUNKS, UNITS):
        assert (session.generation.collection(which).metadata or {}).get("model_fingerprint") == model.fingerprint


# --- the fingerprint covers the whole weights file --------------------------------------------


def tensor_span(weights: Path, name: str) -> tuple[int, int]:
    """Where a tensor's bytes are in a safetensors file."""
    with weights.open("rb") as handle:
        header_size = struct.unpack("<Q", handle.read(8))[0]
        header = json.loads(handle.read(header_size))
    start, end = header[name]["data_offsets"]
    return 8 + header_size + start, 8 + header_size + end


@pytest.fixture(scope="module")
def model_copy(tmp_path_factory) -> Path:
    return Path(shutil.copytree(bundled_model_path(), tmp_path_factory.mktemp("model") / "copy", ignore=shutil.ignore_patterns("*.onnx")))


def test_a_change_in_the_middle_of_the_weights_changes_the_fingerprint(model_copy, tmp_path):
    """A fine-tune of attention layers only (a merged LoRA, say) leaves the first and last MiB alone:
    the fingerprint must still change."""
    weights = model_copy / "model.safetensors"
    start, end = tensor_span(weights, "encoder.layer.2.attention.self.query.weight")
    size = weights.stat().st_size
    assert (1 << 20) < start and end < size - (1 << 20)  # far from both ends
    before = describe_model(model_copy, tmp_path / "cache").fingerprint
    assert before == describe_model(bundled_model_path()).fingerprint
    with weights.open("r+b") as handle:
        handle.seek((start + end) // 2)
        byte = handle.read(1)
        handle.seek((start + end) // 2)
        handle.write(bytes([byte[0] ^ 0x10]))
    assert weights.stat().st_size == size
    assert describe_model(model_copy, tmp_path / "cache").fingerprint != before


def test_the_weights_are_hashed_once_and_remembered_by_size_and_time(tmp_path):
    """The question path reads the remembered hash: it does not hash 90 MB again while the file is unchanged."""
    model, cache = bundled_model_path(), tmp_path / "cache"
    weights = model / "model.safetensors"
    first = describe_model(model, cache)
    remembered = json.loads((cache / DIGESTS).read_text())[str(weights.resolve())]
    assert remembered == {"size": weights.stat().st_size, "mtime_ns": weights.stat().st_mtime_ns,
                          "sha256": hashlib.sha256(weights.read_bytes()).hexdigest()}  # the whole file
    assert describe_model(model).fingerprint == first.fingerprint  # the same as without a cache
    # A remembered hash is used as it is while size and time match: proof that nothing is re-read.
    digests = json.loads((cache / DIGESTS).read_text())
    digests[str(weights.resolve())]["sha256"] = "0" * 64
    (cache / DIGESTS).write_text(json.dumps(digests))
    assert describe_model(model, cache).fingerprint != first.fingerprint
    # Another modification time (or size): hashed again.
    digests[str(weights.resolve())]["mtime_ns"] -= 1
    (cache / DIGESTS).write_text(json.dumps(digests))
    assert describe_model(model, cache).fingerprint == first.fingerprint
    (cache / DIGESTS).write_text("{damaged")
    assert describe_model(model, cache).fingerprint == first.fingerprint


def test_an_unwritable_cache_only_costs_a_hash(tmp_path):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    assert describe_model(bundled_model_path(), blocked).fingerprint == describe_model(bundled_model_path()).fingerprint
    assert os.listdir(tmp_path) == ["file-not-folder"]
