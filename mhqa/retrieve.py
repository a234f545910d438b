"""Stage 6, store -> hits: hybrid retrieval of passages (chunks) and their sentences (units).

The question is read first (focus.py: shorthand spelled out, typos corrected,
abbreviations the corpus defines expanded, its focus found). Three ranked lists
are then fused by reciprocal rank (RRF, k=60): chunks by cosine similarity in
Chroma, chunks by BM25 (lexical.py), and chunks ranked by their best sentence's
cosine similarity. The fused top passages then bring all their sentences, each
with its own vector, for evidence.py to choose from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from .chroma import CHUNKS, UNITS
from .focus import Reading, read_question
from .lexical import TOKENS_VERSION, LexicalIndex, build_lexical, save_atomically
from .store import Generation
from .vocabulary import Vocabulary, build_vocabulary

RRF_K = 60
DENSE_DEPTH, LEXICAL_DEPTH, UNIT_DEPTH = 20, 20, 30


@dataclass
class Passage:
    id: str
    sha: str
    file: str
    title: str
    section: str
    page: int
    text: str
    spans: list[list[int]]  # [unit, start, end, page]
    fused: float = 0.0
    dense: float | None = None  # cosine of the chunk, when in the dense top list
    lexical: float | None = None  # BM25, when in the lexical top list
    ranks: dict[str, int] = field(default_factory=dict)

    @property
    def pages(self) -> list[int]:
        return sorted({span[3] for span in self.spans})


@dataclass
class Sentence:
    id: str
    text: str
    page: int
    kind: str
    unit: int
    passage: Passage
    similarity: float  # cosine to the question
    vector: np.ndarray


@dataclass
class Hits:
    reading: Reading  # the question as read: its words, focus and what it asks
    passages: list[Passage]
    sentences: list[Sentence]
    agreement: float  # overlap of the dense and lexical top-5 chunks, 0..1
    weights: dict[str, float] = field(default_factory=dict)  # the question's stems -> inverse chunk frequency

    @property
    def question(self) -> str:
        return self.reading.question

    @property
    def terms(self) -> list[str]:
        return self.reading.terms

    @property
    def unknown(self) -> list[str]:
        return self.reading.unknown


def lexical_index(generation: Generation) -> tuple[LexicalIndex, Vocabulary]:
    """The generation's BM25 arrays and vocabulary; derived from its chunks (and saved) when missing, e.g. on a server.

    Kept per version, so files made by an older mhqa are never read with new tokens.
    """
    folder = generation.lexical_dir / f"v{TOKENS_VERSION}"
    if (folder / "terms.json").is_file() and (folder / "vocabulary.json").is_file():
        return LexicalIndex.load(folder), Vocabulary.load(folder)
    records = list(generation.scan(CHUNKS))
    index = build_lexical([r.id for r in records], [lexical_text(r.metadata, r.document) for r in records])
    vocabulary = build_vocabulary([(r.metadata["file"], r.metadata.get("title", ""), r.metadata.get("section", ""), r.document) for r in records])
    save_atomically(folder, index, vocabulary)
    return index, vocabulary


def lexical_text(metadata: dict, document: str) -> str:
    """What BM25 indexes for a chunk: its title and section name its topic too."""
    return f"{metadata.get('title', '')} {metadata.get('section', '')} {document}"


class Searcher:
    def __init__(self, generation: Generation, encoder, lexical: LexicalIndex, vocabulary: Vocabulary):
        self.generation = generation
        self.encoder = encoder
        self.lexical = lexical
        self.vocabulary = vocabulary

    def search(self, question: str, passages: int = 6, reading: Reading | None = None) -> Hits:
        """`reading`: the question already read (focus.read_question), so it is not read twice."""
        reading = reading or read_question(question, self.vocabulary)
        vector = self.encoder.encode([reading.search])[0]
        terms = reading.terms
        dense = self.generation.query(CHUNKS, vector, DENSE_DEPTH)
        units = self.generation.query(UNITS, vector, UNIT_DEPTH)
        lexical = self.lexical.search(terms, LEXICAL_DEPTH)
        by_unit: list[str] = list(dict.fromkeys(meta["chunk"] for _, _, _, meta in units))
        ranked = {
            "dense": [id_ for id_, _, _, _ in dense],
            "lexical": [id_ for id_, _ in lexical],
            "sentence": by_unit,
        }
        fused: dict[str, float] = {}
        for ids in ranked.values():
            for rank, id_ in enumerate(ids, 1):
                fused[id_] = fused.get(id_, 0.0) + 1.0 / (RRF_K + rank)
        chosen = sorted(fused, key=lambda id_: -fused[id_])[:passages]
        documents = {id_: (document, meta) for id_, _, document, meta in dense}
        missing = [id_ for id_ in chosen if id_ not in documents]
        documents.update({id_: (r.document, r.metadata) for id_, r in self.generation.get(CHUNKS, missing).items()})
        dense_score = {id_: score for id_, score, _, _ in dense}
        lexical_score = dict(lexical)
        found = []
        for id_ in chosen:
            if id_ not in documents:
                continue  # gone from the store (a concurrent rebuild); skip rather than cite it
            document, meta = documents[id_]
            passage = Passage(
                id=id_,
                sha=meta["sha"],
                file=meta["file"],
                title=meta["title"],
                section=meta.get("section", ""),
                page=int(meta["page"]),
                text=document,
                spans=json.loads(meta["spans"]),
                fused=fused[id_],
                dense=dense_score.get(id_),
                lexical=lexical_score.get(id_),
                ranks={name: ids.index(id_) + 1 for name, ids in ranked.items() if id_ in ids},
            )
            found.append(passage)
        top_dense, top_lexical = set(ranked["dense"][:5]), set(ranked["lexical"][:5])
        agreement = len(top_dense & top_lexical) / 5 if top_lexical else 0.0
        return Hits(reading, found, self._sentences(found, vector), agreement, self.lexical.idf([*terms, *reading.predicate]))

    def _sentences(self, passages: list[Passage], vector: np.ndarray) -> list[Sentence]:
        wanted: dict[str, tuple[Passage, int]] = {}
        for passage in passages:
            for unit, _start, _end, _page in passage.spans:
                wanted.setdefault(f"{passage.sha[:16]}-u{unit:05d}", (passage, unit))
        for passage in passages:  # and the sentence before each passage, which its first may lean on
            first = passage.spans[0][0] if passage.spans else 0
            if first > 0:
                wanted.setdefault(f"{passage.sha[:16]}-u{first - 1:05d}", (passage, first - 1))
        records = self.generation.get(UNITS, list(wanted), embeddings=True)  # headings are not stored
        sentences = []
        for id_, (passage, unit) in wanted.items():
            record = records.get(id_)
            if record is None:
                continue
            unit_vector = np.asarray(record.embedding, dtype=np.float32)
            sentences.append(
                Sentence(
                    id=id_,
                    text=record.document,
                    page=int(record.metadata["page"]),
                    kind=record.metadata["kind"],
                    unit=unit,
                    passage=passage,
                    similarity=float(unit_vector @ vector),
                    vector=unit_vector,
                )
            )
        return sentences


def in_context(sentence: Sentence) -> str:
    """The sentence with its document's title and section: what it is about."""
    return f"{sentence.passage.title} {sentence.passage.section} {sentence.text}"


def page_text(generation: Generation, chunk_ids: list[str], page: int) -> str:
    """One page of a document as indexed (cleaned; headings and lists on lines of their own), from its chunks."""
    units: dict[int, tuple[str, str]] = {}  # unit -> (what a chunk puts before it, its text)
    headings: set[str] = set()
    for record in generation.get(CHUNKS, chunk_ids).values():
        headings.add(record.metadata.get("section", ""))
        previous = None
        for unit, start, end, on_page in json.loads(record.metadata["spans"]):
            before = record.document[previous:start] if previous is not None else ""
            if on_page == page and (unit not in units or (before and not units[unit][0])):
                units[unit] = (before, record.document[start:end])
            previous = end
    text, last, previous_body = "", None, ""
    for unit in sorted(units):
        before, body = units[unit]
        if text:
            if last != unit - 1 or not before:  # no chunk shows the gap: a heading or a list still gets its own line
                apart = {previous_body.rstrip(":"), body.rstrip(":")} & headings or "\n" in previous_body + body
                before = "\n" if apart or last != unit - 1 else " "
            text += before
        text, last, previous_body = text + body, unit, body
    return text
