"""Raw encode throughput of the model on exactly the texts `mhqa index` embedded.

    python bench/encode_rate.py --index DIR [--cache DIR]

The texts are read back from the index's current generation: every chunk's
embedding text (title, section, passage), which is what the indexer embeds
(sentence vectors are pooled from the same pass). Two raw rates, each after a
short warm-up, with no PDF reading, cleaning, chunking or storing around them:
  sentence_transformers  SentenceTransformer.encode (the model of record), batch 32
  onnx                   mhqa's index encoder (int8 by default), as the indexer runs it
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from mhqa.chroma import CHUNKS
from mhqa.chunk import embedding_text
from mhqa.embed import load_encoder, load_sentence_transformer
from mhqa.model import describe_model
from mhqa.settings import load_settings
from mhqa.store import Index


def indexed_texts(settings) -> list[str]:
    """The passages as embedded (sentences are pooled from the same pass: no text of their own)."""
    generation = Index(settings).open()
    try:
        return [embedding_text(r.metadata["title"], r.metadata.get("section", ""), r.document) for r in generation.scan(CHUNKS)]
    finally:
        generation.close()


def rate(encode, texts: list[str]) -> tuple[float, float]:
    encode(texts[:64])  # warm-up: first-call allocations are not throughput
    started = time.perf_counter()
    encode(texts)
    seconds = time.perf_counter() - started
    return seconds, len(texts) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--cache", type=Path)
    args = parser.parse_args()
    settings = load_settings({"index": args.index, "cache": args.cache})
    texts = indexed_texts(settings)
    model = describe_model(settings.model_path)
    onnx = load_encoder(model, settings.cache, sessions=2, precision=settings.index_encoder)
    onnx_seconds, onnx_rate = rate(onnx.encode, texts)
    reference = load_sentence_transformer(model)
    st_seconds, st_rate = rate(lambda batch: reference.encode(batch, batch_size=32, normalize_embeddings=True, convert_to_numpy=True), texts)
    print(json.dumps({
        "texts": len(texts),
        "sentence_transformers": {"seconds": round(st_seconds, 3), "texts_per_second": round(st_rate, 2)},
        "onnx": {"seconds": round(onnx_seconds, 3), "texts_per_second": round(onnx_rate, 2)},
    }))


if __name__ == "__main__":
    main()
