"""Stage 6, store -> hits: hybrid retrieval of passages (chunks) and their sentences (units).

Three ranked lists are fused by reciprocal rank (RRF, k=60): chunks by cosine
similarity in Chroma, chunks by BM25 (lexical.py), and chunks ranked by their
best sentence's cosine similarity. The fused top passages then bring all their
sentences, each with its own vector, for evidence.py to choose from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import numpy as np

from .chroma import CHUNKS, UNITS
from .lexical import TOKENS_VERSION, LexicalIndex, build_lexical, save_atomically, tokenize, words
from .store import Generation

RRF_K = 60
# Abbreviations people type that the corpus never uses; the question is searched with the
# expansion added (the answer still comes only from the passages).
ABBREVIATIONS = {
    "bpd": "borderline personality disorder",
    "ppd": "postpartum depression",
    "mdd": "major depressive disorder",
    "pmdd": "premenstrual dysphoric disorder",
    "bp": "bipolar disorder",
    "ocpd": "obsessive-compulsive",
    "ssris": "selective serotonin reuptake inhibitors",
    "meds": "medications",
    "adhd": "attention-deficit/hyperactivity disorder",
}
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
    question: str
    terms: list[str]  # the question's stems, typos corrected to corpus terms
    unknown: list[str]  # question words the corpus never uses (after typo correction)
    passages: list[Passage]
    sentences: list[Sentence]
    agreement: float  # overlap of the dense and lexical top-5 chunks, 0..1
    unknown_rare: list[str] = field(default_factory=list)  # unknown words that are not common English either


def lexical_index(generation: Generation) -> LexicalIndex:
    """The generation's BM25 arrays; derived from its chunks (and saved) when missing, e.g. on a server.

    Kept per tokenizer version, so arrays made by an older mhqa are never read with new tokens.
    """
    folder = generation.lexical_dir / f"v{TOKENS_VERSION}"
    if (folder / "terms.json").is_file():
        return LexicalIndex.load(folder)
    records = list(generation.scan(CHUNKS))
    index = build_lexical([r.id for r in records], [lexical_text(r.metadata, r.document) for r in records])
    save_atomically(index, folder)
    return index


def lexical_text(metadata: dict, document: str) -> str:
    """What BM25 indexes for a chunk: its title and section name its topic too."""
    return f"{metadata.get('title', '')} {metadata.get('section', '')} {document}"


def expand_abbreviations(question: str) -> str:
    found = [ABBREVIATIONS[w] for w in dict.fromkeys(re.findall(r"[a-z]+", question.lower())) if w in ABBREVIATIONS]
    return f"{question} ({'; '.join(found)})" if found else question


class Searcher:
    def __init__(self, generation: Generation, encoder, lexical: LexicalIndex):
        self.generation = generation
        self.encoder = encoder
        self.lexical = lexical

    def query_terms(self, question: str) -> tuple[list[str], list[str]]:
        """Stems for BM25 (typos mapped to corpus terms) and the words the corpus does not know."""
        terms, unknown = [], []
        for word in dict.fromkeys(words(question)):
            stem = tokenize(word)
            if not stem or word in ABBREVIATIONS:
                continue
            known = self.lexical.correct(stem[0])
            if known is None:
                unknown.append(word)
            else:
                terms.append(known)
        return terms, unknown

    def search(self, question: str, passages: int = 6) -> Hits:
        question = expand_abbreviations(question)
        vector = self.encoder.encode([question])[0]
        terms, unknown = self.query_terms(question)
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
        rare = [word for word in unknown if not word.isdigit() and not self.encoder.knows_word(word)]
        return Hits(question, terms, unknown, found, self._sentences(found, vector), agreement, rare)

    def _sentences(self, passages: list[Passage], vector: np.ndarray) -> list[Sentence]:
        wanted: dict[str, tuple[Passage, int]] = {}
        for passage in passages:
            for unit, _start, _end, _page in passage.spans:
                wanted.setdefault(f"{passage.sha[:16]}-u{unit:05d}", (passage, unit))
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
