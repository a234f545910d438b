"""Lexical retrieval: BM25 over the same chunks, so exact terms (SAD, DMDD, ERP, SSRIs) are found.

bm25s (a maintained BM25 library) computes the BM25 weight of every (term, chunk)
pair when a generation is written; the weights are saved as sparse-column arrays
beside it. A question only has to add up the columns of its terms, so the
question path reads those arrays with numpy and does not import bm25s or scipy
(about 0.3 s). `tests/test_lexical.py` checks the scores equal bm25s's own.

Tokens: lower case, letters and digits, English stop words dropped, Snowball
stems (PyStemmer). A question's typos are corrected before its terms get here
(focus.py, with symspellpy over the corpus's words), so "antidepresant" still
finds "antidepressant".
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

TOKENS_VERSION = 3  # bump when `tokenize` or the saved files change: saved arrays are kept per version
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having
    he her here hers herself him himself his how i if in into is it its itself just me more most my myself no
    nor not now of off on once only or other our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too under until up very
    was we were what when where which while who whom why will with would you your yours yourself yourselves
    also may might must shall get got let lot lots much many really thing things something someone anyone
    im ive dont doesnt cant whats hes shes theyre youre id ill its s t anymore even still like ever
    kind sort okay ok please thanks hi hello""".split()
)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


_ACRONYM_PLURAL = re.compile(r"\b([A-Z]{2,})s\b")  # SSRIs -> SSRI, so "ssri" finds it


def words(text: str) -> list[str]:
    """Lower-case content words of `text`, before stemming."""
    text = _ACRONYM_PLURAL.sub(r"\1", text).lower()
    found = (w.replace("’", "'").split("'")[0] for w in _WORD.findall(text))
    return [w for w in found if w and w not in STOP_WORDS]


def tokenize(text: str) -> list[str]:
    return [stem for stem in _stemmer().stemWords(words(text)) if stem]


@dataclass
class LexicalIndex:
    ids: list[str]  # chunk ids, in column order
    vocabulary: dict[str, int]  # stem -> term id
    data: np.ndarray  # BM25 weights, compressed sparse columns by term
    indices: np.ndarray  # chunk index of each weight
    indptr: np.ndarray  # column starts

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every chunk for the given stems (unknown stems add nothing)."""
        total = np.zeros(len(self.ids), dtype=np.float32)
        for term in terms:
            column = self.vocabulary.get(term)
            if column is not None:
                start, end = self.indptr[column], self.indptr[column + 1]
                np.add.at(total, self.indices[start:end], self.data[start:end])
        return total

    def search(self, terms: Sequence[str], k: int) -> list[tuple[str, float]]:
        scores = self.scores(terms)
        if not len(scores):
            return []
        top = np.argsort(-scores, kind="stable")[:k]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def idf(self, terms: Sequence[str]) -> dict[str, float]:
        """log(chunks / chunks with the term) of each known term: how much finding it says."""
        out = {}
        for term in terms:
            column = self.vocabulary.get(term)
            if column is not None:
                out[term] = float(np.log(len(self.ids) / max(1, self.indptr[column + 1] - self.indptr[column])))
        return out

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("data", "indices", "indptr"):
            np.save(folder / f"{name}.npy", getattr(self, name))
        (folder / "terms.json").write_text(json.dumps({"ids": self.ids, "vocabulary": self.vocabulary}))

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        meta = json.loads((folder / "terms.json").read_text())
        # Memory-mapped: a question reads the columns of its few terms, not every weight of the corpus.
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in ("data", "indices", "indptr")}
        return cls(ids=meta["ids"], vocabulary=meta["vocabulary"], **arrays)


def build_lexical(ids: Sequence[str], texts: Sequence[str]) -> LexicalIndex:
    """BM25 weights (bm25s, its default Lucene variant) of every chunk's terms."""
    import bm25s

    corpus = [tokenize(text) for text in texts]
    vocabulary: dict[str, int] = {}
    for tokens in corpus:
        for token in tokens:
            vocabulary.setdefault(token, len(vocabulary))
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenization.Tokenized(ids=[[vocabulary[t] for t in doc] for doc in corpus], vocab=vocabulary), show_progress=False)
    scores = retriever.scores
    return LexicalIndex(
        ids=list(ids),
        vocabulary=vocabulary,
        data=np.asarray(scores["data"], dtype=np.float32),
        indices=np.asarray(scores["indices"], dtype=np.int32),
        indptr=np.asarray(scores["indptr"], dtype=np.int64),
    )


def save_atomically(folder: Path, *parts) -> None:
    """Save `parts` (each with a `save(folder)`) beside `folder`, then rename into place.

    Several processes may derive one generation's arrays at once (each client of a
    server does); they are identical, so the first rename wins and the rest drop theirs.
    """
    import shutil

    scratch = folder.with_name(folder.name + f".{os.getpid()}.tmp")
    for part in parts:
        part.save(scratch)
    try:
        os.replace(scratch, folder)
    except OSError:  # `folder` exists and is not empty
        if all((folder / name).is_file() for name in os.listdir(scratch)):
            shutil.rmtree(scratch, ignore_errors=True)
            return
        shutil.rmtree(folder, ignore_errors=True)  # a damaged copy
        os.replace(scratch, folder)


def term_share(terms: set[str], text: str, weights: dict[str, float] | None = None) -> float:
    """Share of `terms` that `text` uses, each weighted by `weights` (1 when not given)."""
    if not terms:
        return 0.0
    found = set(tokenize(text))
    weight = (lambda t: weights.get(t, 0.0)) if weights else (lambda t: 1.0)
    total = sum(weight(t) for t in terms)
    return sum(weight(t) for t in terms & found) / total if total else 0.0
