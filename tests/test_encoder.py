"""The fast encoder is the model: the ONNX export gives the vectors sentence-transformers gives.

Questions are encoded the way `ask` encodes them (one at a time, the session's
encoder); chunk and sentence texts the way `mhqa index` does (the bulk encoder,
length-sorted padded batches). Both are compared with sentence-transformers, the
model of record, loaded from the bundled folder; and so are the vectors the
index actually holds.
"""

from __future__ import annotations

import numpy as np
import pytest

from mhqa.chunk import embedding_text
from mhqa.embed import load_encoder, load_sentence_transformer
from mhqa.model import describe_model
from mhqa.store import CHUNKS, UNITS

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
