"""The index encoder against the float export: cosine parity and CPU time on the shipped corpus.

    python bench/encoder_parity.py [--corpus corpus] [--cache DIR]

Reads and chunks the corpus as `mhqa index` does, then encodes every passage (title,
section and text, as embedded) with:
  - the float ONNX export (the model of record's vectors, checked at export time);
  - the int8 copy mhqa indexes with (per-channel weight scales), one text per run;
  - an int8 copy with one scale per tensor, for comparison;
  - the int8 copy in length-sorted batches of 8 (what the float encoder used to do).
Prints, for each, the CPU seconds and the cosine to the float vectors (minimum, 1st
percentile, mean), and how far the sentence vectors pooled from a passage's pass are
from each sentence embedded alone. The machine and load average go with the table.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from mhqa.chunk import HEADING, embedding_text
from mhqa.embed import FP32, INT8, OnnxEncoder, encoder_path, load_encoder
from mhqa.indexer import _Preparer, scan_corpus
from mhqa.model import describe_model
from mhqa.settings import load_settings


def timed(work):
    cpu, wall = time.process_time(), time.perf_counter()
    result = work()
    return result, time.process_time() - cpu, time.perf_counter() - wall


def batched(encoder: OnnxEncoder, texts: list[str], size: int = 8) -> np.ndarray:
    """Length-sorted padded batches, for comparison with one text per run."""
    tokenizer = encoder._tokenizer
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    session = encoder._idle.get()
    out = np.empty((len(texts), encoder.model.dim), dtype=np.float32)
    order = np.argsort([len(t) for t in texts], kind="stable")
    for start in range(0, len(texts), size):
        batch = order[start : start + size]
        encodings = tokenizer.encode_batch([texts[i] for i in batch])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        out[batch] = session.run(["embedding"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
    tokenizer.no_padding()
    encoder._idle.put(session)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--cache", type=Path)
    args = parser.parse_args()
    settings = load_settings({"corpus": args.corpus, **({"cache": args.cache} if args.cache else {})})
    model = describe_model(settings.model_path, settings.cache)
    prepare = _Preparer(model, settings)
    documents = [p for p in (prepare(f) for f in scan_corpus(settings.corpus).files) if hasattr(p, "chunks")]
    texts, spans, sentences = [], [], []
    for document in documents:
        kinds = {unit.index: unit.kind for unit in document.units}
        seen: set[int] = set()
        for chunk in document.chunks:
            text = embedding_text(document.info.title, chunk.section, chunk.text)
            shift = len(text) - len(chunk.text)
            owned = [(u, a + shift, b + shift) for u, a, b in chunk.spans if u not in seen and kinds[u] != HEADING]
            seen.update(u for u, _, _ in owned)
            texts.append(text)
            spans.append([(a, b) for _, a, b in owned])
            sentences += [text[a:b] for _, a, b in owned]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    print(f"{len(texts)} passages, {len(sentences)} sentences\n")
    float_encoder = load_encoder(model, settings.cache, precision=FP32)
    int8_encoder = load_encoder(model, settings.cache, precision=INT8)
    reference, cpu, _ = timed(lambda: float_encoder.encode(texts))
    rows = [("float export, one text a run", reference, cpu)]
    got, cpu, _ = timed(lambda: int8_encoder.encode(texts))
    rows.append(("int8 per channel, one text a run (mhqa)", got, cpu))
    got, cpu, _ = timed(lambda: batched(int8_encoder, texts))
    rows.append(("int8 per channel, sorted batches of 8", got, cpu))
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as scratch:
        per_tensor = Path(scratch) / "per-tensor.onnx"
        quantize_dynamic(str(encoder_path(settings.cache, model, FP32)), str(per_tensor), weight_type=QuantType.QInt8, extra_options={"MatMulConstBOnly": True})
        got, cpu, _ = timed(lambda: OnnxEncoder(model, per_tensor).encode(texts))
        rows.append(("int8 per tensor, one text a run", got, cpu))
    print("| passages encoded with | CPU s | cosine to float: min | p1 | mean |")
    print("|---|---|---|---|---|")
    for name, vectors, cpu in rows:
        cos = (vectors * reference).sum(axis=1)
        print(f"| {name} | {cpu:.1f} | {cos.min():.4f} | {np.percentile(cos, 1):.4f} | {cos.mean():.4f} |")
    (_, pooled), cpu, _ = timed(lambda: int8_encoder.encode_with_spans(texts, spans))
    late = np.concatenate([p for p in pooled if len(p)])
    alone, alone_cpu, _ = timed(lambda: int8_encoder.encode(sentences))
    cos = (late * alone).sum(axis=1)
    nearest = float(np.mean(np.argmax(alone @ late.T, axis=1) == np.arange(len(late))))
    print(f"\nsentence vectors: pooled from the passages' pass {cpu:.1f} CPU s (passages included); "
          f"a pass of their own {alone_cpu:.1f} CPU s more")
    print(f"pooled vs alone: cosine median {np.median(cos):.3f}, p10 {np.percentile(cos, 10):.3f}; "
          f"a sentence alone is nearest its own pooled vector for {nearest:.3f} of sentences")


if __name__ == "__main__":
    main()
