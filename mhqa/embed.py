"""Stage 4, chunks -> vectors: the sentence-transformers model, and its ONNX export for speed.

The sentence-transformers folder is the model of record. Importing
sentence-transformers costs about 6 s here, so mhqa encodes with an ONNX export
of the same network (transformer, mean pooling, L2 normalisation), made once per
model with torch.onnx and checked against sentence-transformers before use: the
export is kept only if every probe sentence agrees to cosine >= 0.9999. Encoding
then needs only onnxruntime and tokenizers (about 0.4 s to load).
"""

from __future__ import annotations

import os
import queue
import tempfile
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .errors import ModelUnavailable
from .model import ModelInfo, load_tokenizer

MIN_EXPORT_COSINE = 0.9999
_PROBES = (
    "What are the signs and symptoms of depression?",
    "how long do antidepresants take to work",
    "SAD light therapy",
    "Antidepressants take time—usually 4−8 weeks—to work, and problems with sleep, appetite, "
    "and concentration often improve before mood lifts.",
    "Psychotherapy (also called talk therapy or counseling) can help people with depression. " * 12,
)


def encoder_path(cache: Path, model: ModelInfo) -> Path:
    return cache / "encoders" / f"{model.name}-{model.fingerprint}.onnx"


class OnnxEncoder:
    """Encode texts with the ONNX export: unit-length float32 vectors, as sentence-transformers gives.

    `sessions` > 1 runs that many single-threaded sessions side by side: on these
    2-core machines that embeds about 15% faster than one two-threaded session
    (the batches are small and uneven), so indexing uses it; a question uses one.
    """

    def __init__(self, model: ModelInfo, path: Path, sessions: int = 1, batch_size: int = 8):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        # One thread per session, also for a question: a dozen word pieces are too little work
        # to share, and a pool's spinning threads took CPU from the rest of the question
        # (7 ms a question against 15-20 ms with two threads on a busy 2-core machine).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._idle: queue.Queue = queue.Queue()
            for _ in range(sessions):
                self._idle.put(onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]))
        except Exception as exc:  # a damaged cache file: say where it is
            raise ModelUnavailable(f"cannot load the encoder {path}: {exc}") from None
        self._sessions = sessions
        self._tokenizer = load_tokenizer(model, truncate=True)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.model = model
        self.batch_size = batch_size

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        session = self._idle.get()
        try:
            return session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
        finally:
            self._idle.put(session)

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Vectors of `texts` in their order; `progress(n)` after each batch with the count done."""
        vectors = np.empty((len(texts), self.model.dim), dtype=np.float32)
        order = np.argsort([len(text) for text in texts], kind="stable")  # similar lengths pad least
        batches = [order[start : start + self.batch_size] for start in range(0, len(texts), self.batch_size)]
        work = lambda batch: (batch, self._run([texts[i] for i in batch]))  # noqa: E731
        if self._sessions > 1 and len(batches) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(self._sessions) as pool:
                done = self._collect(pool.map(work, batches), vectors, progress)
        else:
            done = self._collect(map(work, batches), vectors, progress)
        assert done == len(texts)
        return vectors

    @staticmethod
    def _collect(results, vectors: np.ndarray, progress) -> int:
        done = 0
        for batch, output in results:
            vectors[batch] = output
            done += len(batch)
            if progress:
                progress(done)
        return done


def load_encoder(
    model: ModelInfo, cache: Path, notify: Callable[[str], None] | None = None, bulk: bool = False
) -> OnnxEncoder:
    """The fast encoder for `model`, exporting it first if this machine has none yet.

    `bulk`: tuned for many texts (indexing) rather than one question.
    """
    path = encoder_path(cache, model)
    if not path.is_file():
        if notify:
            notify(f"Preparing the fast encoder for {model.name} (once per machine, about 15 s)...")
        export_onnx(model, path)
    return OnnxEncoder(model, path, sessions=(os.cpu_count() or 1) if bulk else 1)


def load_sentence_transformer(model: ModelInfo):
    """The reference model. Loaded by path with the hub switched off: nothing is downloaded."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import logging

    for name in ("sentence_transformers", "transformers"):
        logging.getLogger(name).setLevel(logging.ERROR)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # its "Loading weights" bar is noise under ours

        return SentenceTransformer(str(model.path), device="cpu")
    except Exception as exc:
        raise ModelUnavailable(f"cannot load the embedding model at {model.path}: {exc}") from None


def export_onnx(model: ModelInfo, target: Path) -> None:
    """Export `model` to ONNX at `target`, keeping it only if it reproduces sentence-transformers."""
    import warnings

    import torch

    reference = load_sentence_transformer(model)
    transformer = reference[0].auto_model.eval()

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    tokenizer = load_tokenizer(model, truncate=True)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    sample = tokenizer.encode_batch(list(_PROBES[:2]))
    inputs = tuple(
        torch.tensor([getattr(e, field) for e in sample], dtype=torch.int64)
        for field in ("ids", "attention_mask", "type_ids")
    )
    names = ["input_ids", "attention_mask", "token_type_ids"]
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, scratch = tempfile.mkstemp(dir=target.parent, suffix=".onnx.part")
    os.close(handle)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Pooled().eval(),
                inputs,
                scratch,
                input_names=names,
                output_names=["embedding"],
                dynamic_axes={**{name: {0: "batch", 1: "tokens"} for name in names}, "embedding": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        expected = reference.encode(list(_PROBES), normalize_embeddings=True, convert_to_numpy=True)
        got = OnnxEncoder(model, Path(scratch)).encode(list(_PROBES))
        worst = float((expected * got).sum(axis=1).min())
        if worst < MIN_EXPORT_COSINE:
            raise ModelUnavailable(f"the ONNX export of {model.name} disagrees with sentence-transformers (cosine {worst:.6f})")
        os.replace(scratch, target)
    finally:
        if os.path.exists(scratch):
            os.unlink(scratch)
