"""Stage 4, chunks -> vectors: the sentence-transformers model, and its ONNX export for speed.

The sentence-transformers folder is the model of record. Importing
sentence-transformers costs about 6 s here, so mhqa encodes with an ONNX export
of the same network (transformer, mean pooling, L2 normalisation), made once per
model with torch.onnx and checked against sentence-transformers before use: the
export is kept only if every probe sentence agrees to cosine >= 0.9999. Encoding
then needs only onnxruntime and tokenizers (about 0.4 s to load).

The index is embedded with an int8 copy of that export (ONNX Runtime's dynamic
quantisation, per output channel, weights only): about twice as fast on these CPUs,
and it agrees with the float export to a mean cosine of 0.995 on the shipped
corpus's passages (bench/encoder_parity.py). The copy is made from the float export
on this machine and kept only if every probe agrees to MIN_INT8_COSINE.
"""

from __future__ import annotations

import contextlib
import os
import queue
import tempfile
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .errors import ModelUnavailable
from .model import ModelInfo, load_tokenizer

MIN_EXPORT_COSINE = 0.9999
MIN_INT8_COSINE = 0.97
FP32, INT8 = "fp32", "int8"
_PROBES = (
    "What are the signs and symptoms of depression?",
    "how long do antidepresants take to work",
    "SAD light therapy",
    "Antidepressants take time—usually 4−8 weeks—to work, and problems with sleep, appetite, "
    "and concentration often improve before mood lifts.",
    "Psychotherapy (also called talk therapy or counseling) can help people with depression. " * 12,
)


EXPORT_VERSION = 2  # 2: the graph also outputs the token embeddings (for sentence vectors from a passage's pass)


def encoder_path(cache: Path, model: ModelInfo, precision: str = FP32) -> Path:
    return cache / "encoders" / f"{model.name}-{model.fingerprint}-v{EXPORT_VERSION}-{precision}.onnx"


class OnnxEncoder:
    """Encode texts with the ONNX export: unit-length float32 vectors, as sentence-transformers gives.

    `sessions` > 1 runs that many single-threaded sessions side by side: on these
    2-core machines that embeds about 15% faster than one two-threaded session
    (the batches are small and uneven), so indexing uses it; a question uses one.
    """

    def __init__(self, model: ModelInfo, path: Path, sessions: int = 1):
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
        self.model = model

    def _run(self, text: str, spans: Spans | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """The text's vector, and with `spans` the vectors of those character spans of it."""
        encoding = self._tokenizer.encode(text)
        ids = np.array([encoding.ids], dtype=np.int64)
        outputs = ["embedding", "token_embeddings"] if spans is not None else ["embedding"]
        session = self._idle.get()
        try:
            result = session.run(outputs, {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)})
        finally:
            self._idle.put(session)
        if spans is None:
            return result[0][0], None
        return result[0][0], pool_spans(result[1][0], encoding.offsets, spans)

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Vectors of `texts` in their order; `progress(n)` now and then with the count done."""
        return self.encode_with_spans(texts, None, progress)[0]

    def encode_with_spans(
        self, texts: Sequence[str], spans: Sequence[Spans] | None, progress: Callable[[int], None] | None = None
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Vectors of `texts`, and (with `spans`) of the character spans of each text, pooled from
        the same pass: a sentence's vector from the passage it stands in ("late chunking"), so
        sentences cost no second pass and keep their passage's context.

        One text per run: int8 activations are scaled per run, so a text batched with others
        got a slightly different vector (cosine down to 0.986), and on these CPUs one text a
        run was also the fastest (7.5 s of CPU for the shipped corpus's passages against
        10.2 s in length-sorted batches of 8; bench/README.md).
        """
        vectors = np.empty((len(texts), self.model.dim), dtype=np.float32)
        span_vectors: list[np.ndarray] = [np.empty((0, self.model.dim), dtype=np.float32)] * len(texts)
        work = lambda i: (i, *self._run(texts[i], None if spans is None else spans[i]))  # noqa: E731
        if self._sessions > 1 and len(texts) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(self._sessions) as pool:
                done = self._collect(pool.map(work, range(len(texts))), vectors, span_vectors, progress)
        else:
            done = self._collect(map(work, range(len(texts))), vectors, span_vectors, progress)
        assert done == len(texts)
        return vectors, span_vectors

    @staticmethod
    def _collect(results, vectors: np.ndarray, span_vectors: list, progress) -> int:
        done = 0
        for i, vector, pooled in results:
            vectors[i] = vector
            if pooled is not None:
                span_vectors[i] = pooled
            done += 1
            if progress and (done % 16 == 0 or done == len(vectors)):
                progress(done)
        return done


Spans = Sequence[tuple[int, int]]  # (start, end) character offsets in a text


def pool_spans(tokens: np.ndarray, offsets, spans: Spans) -> np.ndarray:
    """Unit-length mean of the token embeddings whose characters lie in each span.

    A span with no token of its own (cut off by truncation) gets a zero vector; the
    indexer never asks for one, since chunks are cut to fit the model.
    """
    starts = np.array([start for start, _ in offsets])
    ends = np.array([end for _, end in offsets])
    real = ends > starts  # not [CLS] or [SEP]
    pooled = np.zeros((len(spans), tokens.shape[1]), dtype=np.float32)
    for k, (start, end) in enumerate(spans):
        inside = real & (starts >= start) & (ends <= end)
        if inside.any():
            mean = tokens[inside].mean(axis=0)
            pooled[k] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return pooled


def load_encoder(
    model: ModelInfo,
    cache: Path,
    notify: Callable[[str], None] | None = None,
    sessions: int = 1,
    precision: str = FP32,
) -> OnnxEncoder:
    """The fast encoder for `model` at `precision`, exporting it first if this machine has none yet.

    `sessions` > 1: tuned for many texts (indexing) rather than one question.
    """
    path = encoder_path(cache, model)
    if not path.is_file():
        if notify:
            notify(f"Preparing the fast encoder for {model.name} (once per machine, about 15 s)...")
        export_onnx(model, path)
    if precision == INT8:
        float_path, path = path, encoder_path(cache, model, INT8)
        if not path.is_file():
            quantize(model, float_path, path)
    return OnnxEncoder(model, path, sessions=sessions)


def quantize(model: ModelInfo, float_path: Path, target: Path) -> None:
    """The int8 copy of the float export at `target`, kept only if it agrees with it on the probes.

    Per-channel weight scales: one scale per tensor loses too much (mean cosine 0.957 on
    the corpus's passages against 0.995). Only weight MatMuls are quantised; the attention
    products of two activations stay in float.
    """
    import logging

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        # onnxruntime.quantization configures the root logger (DEBUG lines from other libraries
        # would then reach the user) and advises "pre-processing": neither is for users.
        from onnxruntime.quantization import QuantType, quantize_dynamic

        root.setLevel(logging.ERROR)
        with _scratch_beside(target) as scratch:
            quantize_dynamic(
                str(float_path), scratch, weight_type=QuantType.QInt8, per_channel=True, extra_options={"MatMulConstBOnly": True}
            )
            expected = OnnxEncoder(model, float_path).encode(list(_PROBES))
            _keep_if_agrees(model, scratch, target, expected, MIN_INT8_COSINE, f"the int8 encoder of {model.name} disagrees with the float one")
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)


@contextlib.contextmanager
def _scratch_beside(target: Path):
    """A scratch file in the target's folder (so the final rename is atomic), removed if still there."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, scratch = tempfile.mkstemp(dir=target.parent, suffix=".onnx.part")
    os.close(handle)
    try:
        yield scratch
    finally:
        if os.path.exists(scratch):
            os.unlink(scratch)


def _keep_if_agrees(model: ModelInfo, scratch: str, target: Path, expected: np.ndarray, floor: float, problem: str) -> None:
    """Move the encoder at `scratch` to `target` only if it gives the probes' expected vectors."""
    got = OnnxEncoder(model, Path(scratch)).encode(list(_PROBES))
    worst = float((expected * got).sum(axis=1).min())
    if worst < floor:
        raise ModelUnavailable(f"{problem} (cosine {worst:.6f})")
    os.replace(scratch, target)


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
            return torch.nn.functional.normalize(pooled, p=2, dim=1), hidden

    tokenizer = load_tokenizer(model, truncate=True)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    sample = tokenizer.encode_batch(list(_PROBES[:2]))
    inputs = tuple(
        torch.tensor([getattr(e, field) for e in sample], dtype=torch.int64)
        for field in ("ids", "attention_mask", "type_ids")
    )
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with _scratch_beside(target) as scratch:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Pooled().eval(),
                inputs,
                scratch,
                input_names=names,
                output_names=["embedding", "token_embeddings"],
                dynamic_axes={
                    **{name: {0: "batch", 1: "tokens"} for name in names},
                    "embedding": {0: "batch"},
                    "token_embeddings": {0: "batch", 1: "tokens"},
                },
                opset_version=17,
                dynamo=False,
            )
        expected = reference.encode(list(_PROBES), normalize_embeddings=True, convert_to_numpy=True)
        _keep_if_agrees(model, scratch, target, expected, MIN_EXPORT_COSINE, f"the ONNX export of {model.name} disagrees with sentence-transformers")
