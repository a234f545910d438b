"""Stage 7b, evidence -> reading: does the quoted text answer this question?

Retrieval and sentence choice measure closeness; a close sentence on the right topic may still
not answer ("How long does X last?" against a sentence about X's symptoms), and closeness
signals written by hand separated answerable from unanswerable questions well only on the
questions they were written against (evidence AUROC 0.97 there, 0.85 on a new blind set).
The reader reads the question and each chosen sentence together: a cross-encoder, MiniLM
fine-tuned by bench/fit_reader.py on blind-written questions and shipped as int8 ONNX
(resources/reader.onnx). It reads the chosen sentences and the few next candidates on their
pages (evidence.read_beside), with the question as searched; a candidate it prefers joins the
answer, and policy.py takes its highest probability over what is quoted as a signal. Two
sentences a question on average: some ten milliseconds.

The sentence is read with its document's title and section (pair_text), as in training:
"It usually starts in the teens" answers "When does OCD start?" only in the OCD brochure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from .language import RESOURCES
from .model import small_session

READER_FILE = RESOURCES / "reader.onnx"
READER_META = RESOURCES / "reader.json"


def pair_text(title: str, section: str, text: str) -> str:
    """The second segment the reader sees: where the sentence is, then the sentence (as in training)."""
    return f"{title}. {section}. {text}" if section else f"{title}. {text}"


class Reader:
    """The fine-tuned cross-encoder (int8 ONNX); reader.json holds its token limit and provenance."""

    def __init__(self, tokenizer_file: Path, path: Path = READER_FILE, meta: Path = READER_META):
        from tokenizers import Tokenizer

        info = json.loads(meta.read_text(encoding="utf-8"))
        # Two threads: it runs alone, after retrieval, and a list read with its question is up to
        # 160 word pieces (mean 11.6 -> 8.2 ms a question on two cores; the same probabilities).
        self._session = small_session(path, "the reader", threads=2)
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))  # the base model's: the reader is MiniLM
        self._tokenizer.enable_truncation(max_length=int(info["max_tokens"]))
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def probabilities(self, question: str, passages: Sequence[str]) -> np.ndarray:
        """P(answers the question) of each `passages` item (a pair_text)."""
        if not passages:
            return np.zeros(0)
        encoded = self._tokenizer.encode_batch([(question, text) for text in passages])
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        types = np.array([e.type_ids for e in encoded], dtype=np.int64)
        logits = self._session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
        return 1.0 / (1.0 + np.exp(-logits[:, 0]))
