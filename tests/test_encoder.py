"""The fast encoder is the model: the ONNX export gives the vectors sentence-transformers gives.

The float export must reproduce sentence-transformers, the model of record, loaded from
the bundled folder. Questions and the index are encoded by its int8 copy (embed.py):
it must stay close to the model on questions and passages, and the index must hold
exactly what that encoder gives, for passages and for the sentences pooled from them.
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

from mhqa import embed
from mhqa.chroma import CHUNKS, unpack_vectors
from mhqa.chunk import embedding_text
from mhqa.embed import FP32, INT8, load_encoder, load_sentence_transformer
from mhqa.errors import ModelUnavailable
from mhqa.model import DIGESTS, describe_model
from mhqa.settings import bundled_model_path

MIN_COSINE = 0.9999  # the float export
INT8_WORST, INT8_MEAN = 0.97, 0.99  # its int8 copy


@pytest.fixture(scope="module")
def reference(session):
    return load_sentence_transformer(describe_model(session.settings.model_path))


@pytest.fixture(scope="module")
def float_encoder(session):
    return load_encoder(session.searcher.encoder.model, session.settings.cache, precision=FP32)


def reference_vectors(model, texts: list[str]) -> np.ndarray:
    return model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)


def cosines(expected: np.ndarray, got: np.ndarray) -> np.ndarray:
    assert got.shape == expected.shape
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    return (expected * got).sum(axis=1) / np.linalg.norm(expected, axis=1) / np.linalg.norm(got, axis=1)


def assert_same(expected: np.ndarray, got: np.ndarray, texts: list[str], floor: float = MIN_COSINE) -> None:
    found = cosines(expected, got)
    worst = int(np.argmin(found))
    assert found[worst] >= floor, f"cosine {found[worst]:.6f} on {texts[worst][:80]!r}"


def assert_close(expected: np.ndarray, got: np.ndarray, texts: list[str]) -> None:
    """The int8 encoder against the model: no text far off, and close on average."""
    assert_same(expected, got, texts, INT8_WORST)
    assert float(cosines(expected, got).mean()) >= INT8_MEAN


def stored(session, which: str) -> list:
    return list(session.generation.scan(which, embeddings=True))


def chunk_text(record) -> str:
    return embedding_text(record.metadata["title"], record.metadata.get("section", ""), record.document)


def test_questions_encoded_as_ask_does(session, labelled, reference, float_encoder):
    questions = [row["question"] for row in labelled]
    expected = reference_vectors(reference, questions)
    assert_same(expected, float_encoder.encode(questions), questions)
    assert session.settings.query_encoder == INT8
    assert_close(expected, np.stack([session.searcher.encoder.encode([question])[0] for question in questions]), questions)


def test_typed_questions_with_typos_and_unicode(reference, float_encoder):
    questions = [
        "how long do antidepresants take 2 work??",
        "SAD light therapy",
        "my 15yo wont eat — is that anorexia?",
        "Qu’est-ce que la dépression ?",
        "ptsd",
        "is it ok to stop lithium on my own " * 30,  # longer than the model reads: truncated alike
    ]
    assert_same(reference_vectors(reference, questions), float_encoder.encode(questions), questions)


def test_the_index_holds_the_int8_vectors_of_its_passages(session, reference):
    records = stored(session, CHUNKS)
    assert len(records) > 100
    # The 40 longest passages (the most truncation risk) and an even spread of the rest:
    # sentence-transformers takes minutes for every chunk on two cores.
    by_length = sorted(range(len(records)), key=lambda i: len(records[i].document))
    keep = sorted(set(by_length[-40:]) | set(by_length[:: max(1, len(records) // 80)]))
    texts = [chunk_text(records[i]) for i in keep]
    held = np.stack([np.asarray(records[i].embedding, dtype=np.float32) for i in keep])
    bulk = load_encoder(session.searcher.encoder.model, session.settings.cache, sessions=2, precision=INT8)
    assert_same(bulk.encode(texts), held, texts)  # exactly what the index encoder gives, whatever ran beside it
    assert_close(reference_vectors(reference, texts), held, texts)


def test_sentence_vectors_are_pooled_from_their_passage(session):
    """A chunk carries a vector for each of its sentences: the mean of the sentence's tokens in
    the chunk's own pass, not a pass of its own."""
    encoder = session.searcher.encoder
    checked = 0
    for record in stored(session, CHUNKS)[::15]:
        text = chunk_text(record)
        shift = len(text) - len(record.document)
        spans = json.loads(record.metadata["spans"])
        held = unpack_vectors(record.metadata["vectors"], 384)
        assert held.shape == (len(spans), 384)
        _, pooled = encoder.encode_with_spans([text], [[(start + shift, end + shift) for _, start, end, _, _ in spans]])
        assert np.allclose(pooled[0], held, atol=2e-3)  # float16 in the metadata
        for (_, start, end, _, _), vector in zip(spans, held):
            if end - start < 0.8 * len(record.document):  # a sentence alone reads differently from its passage
                assert float(encoder.encode([record.document[start:end]])[0] @ vector) < 0.9999
        checked += 1
    assert checked > 10


def test_longest_chunk_agrees_alone(session, reference, float_encoder):
    """Chunks are cut at the model's 256 word pieces: the longest chunk must still agree."""
    texts = [chunk_text(record) for record in stored(session, CHUNKS)]
    tokenizer = reference.tokenizer
    longest = max(texts, key=lambda text: len(tokenizer(text)["input_ids"]))
    assert len(tokenizer(longest)["input_ids"]) > 150
    assert_same(reference_vectors(reference, [longest]), float_encoder.encode([longest]), [longest])


def test_model_and_encoder_recorded_in_the_index(session):
    model = describe_model(session.settings.model_path)
    assert session.manifest.model["fingerprint"] == model.fingerprint
    assert session.manifest.model["dim"] == model.dim == 384
    assert session.manifest.model["encoder"] == INT8
    assert (session.generation.collection(CHUNKS).metadata or {}).get("model_fingerprint") == model.fingerprint


def test_making_the_int8_copy_leaves_logging_as_it_was(session, tmp_path):
    """onnxruntime.quantization configures the root logger: other libraries' DEBUG lines then reached users."""
    import logging

    root = logging.getLogger()
    before = (root.level, list(root.handlers))
    model = session.searcher.encoder.model
    embed.quantize(model, embed.encoder_path(session.settings.cache, model, FP32), tmp_path / "int8.onnx")
    assert (tmp_path / "int8.onnx").is_file()
    assert (root.level, list(root.handlers)) == before


def test_an_int8_copy_that_disagrees_with_the_model_is_not_kept(session, tmp_path, monkeypatch):
    model = session.searcher.encoder.model
    float_path = embed.encoder_path(session.settings.cache, model, FP32)
    monkeypatch.setattr(embed, "MIN_INT8_COSINE", 1.001)  # no int8 copy can reach it
    with pytest.raises(ModelUnavailable, match="disagrees"):
        embed.quantize(model, float_path, tmp_path / "int8.onnx")
    assert list(tmp_path.iterdir()) == []


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
