"""Lexical retrieval: BM25 over the same chunks, so exact terms (SAD, DMDD, ERP, SSRIs) are found.

The BM25 weight of every (term, chunk) pair is computed when a generation is
written, with bm25s's default (Lucene) formula, and saved as sparse-column arrays
beside it. A question only has to add up the columns of its terms, so the
question path reads those arrays with numpy (no bm25s or scipy: about 0.3 s).

The weights are combined from per-document parts (`LexicalPart`: each chunk's term
counts), so a re-index tokenizes only the documents it reads: tokenizing every
chunk of a 10,000-page corpus took 5 s. `tests/test_lexical.py` checks the scores
equal bm25s's own.

Tokens: lower case, letters and digits, English stop words dropped, Snowball
stems (PyStemmer). A question's typos are corrected before its terms get here
(focus.py, with symspellpy over the corpus's words), so "antidepresant" still
finds "antidepressant".
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

TOKENS_VERSION = 5  # bump when `tokenize` or the saved files change: saved arrays are kept per version
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


def lexical_text(title: str, section: str, document: str) -> str:
    """What BM25 indexes for a chunk: its title and section name its topic too."""
    return f"{title} {section} {document}"


@dataclass
class LexicalPart:
    """One document's chunks as BM25 counts them: what the weights need of it, whatever the other documents."""

    terms: list[str]  # the document's stems, in the order it first uses them
    starts: np.ndarray  # chunk c's entries are [starts[c], starts[c + 1]) of the next two (len: chunks + 1)
    term_ids: np.ndarray  # int32, into `terms`
    counts: np.ndarray  # int32, how often the chunk uses the term

    @property
    def chunks(self) -> int:
        return len(self.starts) - 1

    def valid(self) -> bool:
        """Whether the arrays fit together (a part read from disk is checked before use)."""
        n = len(self.term_ids)
        return (
            len(self.starts) >= 1 and self.starts[0] == 0 and self.starts[-1] == n and len(self.counts) == n
            and bool(np.all(np.diff(self.starts) >= 0)) and bool(np.all(self.counts > 0))
            and (n == 0 or 0 <= int(self.term_ids.min()) and int(self.term_ids.max()) < len(self.terms))
        )


def lexical_part(texts: Sequence[str]) -> LexicalPart:
    """The term counts of each of a document's chunks (`texts`: their `lexical_text`, in position order)."""
    terms: dict[str, int] = {}
    starts, term_ids, counts = [0], [], []
    for text in texts:
        counted = Counter([terms.setdefault(token, len(terms)) for token in tokenize(text)])
        term_ids += counted.keys()
        counts += counted.values()
        starts.append(len(term_ids))
    return LexicalPart(
        list(terms), np.asarray(starts, dtype=np.int64), np.asarray(term_ids, dtype=np.int32), np.asarray(counts, dtype=np.int32)
    )


# bm25s's defaults (its Lucene variant), which the weights reproduce bit for bit.
K1, B = 1.5, 0.75


def combine_lexical(ids: Sequence[str], parts: Sequence[LexicalPart]) -> LexicalIndex:
    """BM25 weights of every chunk's terms, from the documents' parts (`ids`: their chunks, in the parts' order).

    The same arithmetic as bm25s's `BM25().index` (float64, rounded to float32 at the end), so the
    arrays equal what bm25s builds from the same chunks in the same order: term ids in order of first
    use, each column's chunks ascending.
    """
    vocabulary: dict[str, int] = {}
    rows, columns, counts, lengths = [], [], [], []
    first = 0
    for part in parts:
        local = np.fromiter((vocabulary.setdefault(term, len(vocabulary)) for term in part.terms), dtype=np.int32, count=len(part.terms))
        sizes = np.diff(part.starts)
        rows.append(np.repeat(np.arange(first, first + part.chunks, dtype=np.int32), sizes))
        columns.append(local[part.term_ids])
        counts.append(part.counts)
        total = np.concatenate([[0], np.cumsum(part.counts, dtype=np.int64)])
        lengths.append(total[part.starts[1:]] - total[part.starts[:-1]])
        first += part.chunks
    if len(ids) != first:
        raise ValueError(f"{len(ids)} chunk ids for {first} chunks")
    row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int32)
    column = np.concatenate(columns) if columns else np.zeros(0, dtype=np.int32)
    tf = (np.concatenate(counts) if counts else np.zeros(0, dtype=np.int32)).astype(np.float32).astype(np.float64)
    length = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64)
    chunks = len(length)
    frequency = np.bincount(column, minlength=len(vocabulary))  # chunks that use each term
    # idf as bm25s computes it (math.log, stored as float32), once per distinct frequency
    distinct, where = np.unique(frequency, return_inverse=True)
    idf = np.array([math.log(1 + (chunks - df + 0.5) / (df + 0.5)) for df in distinct.tolist()], dtype=np.float32)[where]
    average = length.mean() if chunks else 0.0
    norm = K1 * ((1 - B) + B * length.astype(np.float64) / average) if average else np.zeros(chunks)  # no terms: no weights
    weights = (idf[column].astype(np.float64) * (tf / (norm[row] + tf))).astype(np.float32)
    order = np.argsort(column, kind="stable")  # by term, each term's chunks ascending (rows are already)
    indptr = np.zeros(len(vocabulary) + 1, dtype=np.int64)
    np.cumsum(frequency, out=indptr[1:])
    return LexicalIndex(ids=list(ids), vocabulary=vocabulary, data=weights[order], indices=row[order], indptr=indptr)


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
