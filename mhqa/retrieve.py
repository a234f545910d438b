"""Stage 6, store -> hits: hybrid retrieval of passages (chunks) and their sentences (units).

The question is read first (focus.py: shorthand spelled out, typos corrected,
abbreviations the corpus defines expanded, its focus found). Three ranked lists
are then fused by reciprocal rank (RRF, k=60): chunks by cosine similarity in
Chroma, chunks by BM25 (lexical.py), and the candidates of both ranked by their
best sentence's cosine similarity. The fused top passages bring all their
sentences, each with its vector (kept in the chunk's metadata, chroma.py), for
evidence.py to choose from.

Sentences are ranked among the candidates, not searched over the whole corpus:
that search needed every sentence vector in memory at each cold question, and on
the fit, tune and questions.jsonl test rows the two agreed within one question
on every figure.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from . import parts
from .chroma import CHUNKS, unpack_vectors
from .chunk import HEADING, chunk_id
from .focus import Reading, read_question
from .lexical import TOKENS_VERSION, LexicalIndex, combine_lexical, save_atomically
from .manifest import DocumentRecord
from .store import Generation
from .vocabulary import Vocabulary, combine_vocabulary

RRF_K = 60
DENSE_DEPTH, LEXICAL_DEPTH = 20, 20
# Sentences also encoded on their own at question time, the closest first. A vector pooled from
# its passage carries the passage's topic, which finds the page that answers; but it makes an
# on-topic sentence that does not state the asked-for fact look close too ("finding the best
# treatment may take trial and error" for "which SSRI is best?"). Sentence selection
# (evidence.py) and the refusal policy (policy.py) judge the sentence's own words.
READ_ALONE = 8
# Words the corpus never uses, at least this rare in general English (focus.rarity), are each
# dropped from the question once: the policy asks whether the quoted sentences account for them.
ACCOUNT_RARITY = 0.3
ALONE_CACHE = 4096  # sentences' own vectors kept per session: a batch's questions share half of them


@dataclass
class Passage:
    id: str
    sha: str
    file: str
    title: str
    section: str
    page: int
    position: int  # in its document: the chunk before it holds the sentence its first may lean on
    text: str
    spans: list[list]  # [unit, start, end, page, kind]
    vectors: np.ndarray | None = None  # one per span, from the chunk's metadata
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
    similarity: float  # cosine to the question, of the sentence's vector pooled from its passage
    vector: np.ndarray
    alone: float | None = None  # cosine to the question of the sentence encoded on its own (the closest few)
    alone_vector: np.ndarray | None = None  # that vector

    @property
    def closeness(self) -> float:
        """The sentence's own words against the question where it was read alone (the closest few,
        READ_ALONE), else its pooled vector's. Ranked by the pooled one only, an on-topic sentence
        that does not state the asked-for fact was quoted more often: facts not in the corpus were
        refused 0.75 of the time on the fit rows against 0.80, 0.77 against 0.85 on the
        questions.jsonl test half (the first citation on a gold page fell from 0.92 to 0.90)."""
        return self.alone if self.alone is not None else self.similarity


@dataclass
class Hits:
    reading: Reading  # the question as read: its words, focus and what it asks
    passages: list[Passage]
    sentences: list[Sentence]
    agreement: float  # overlap of the dense and lexical top-5 chunks, 0..1
    weights: dict[str, float] = field(default_factory=dict)  # the question's stems -> inverse chunk frequency
    vector: np.ndarray | None = None  # the question's
    without: dict[str, np.ndarray] = field(default_factory=dict)  # a rare unknown word -> the question's vector without it

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
    """The generation's BM25 arrays and vocabulary; combined from its documents' parts (and saved) when
    missing: by the indexer before it publishes, by a reader where they are not yet (a server's client).

    Kept per version, so files made by an older mhqa are never read with new tokens. The generation's
    manifest says which documents it holds (the indexer sets it before publishing).
    """
    folder = generation.lexical_dir / f"v{TOKENS_VERSION}"
    if (folder / "terms.json").is_file() and (folder / "vocabulary.json").is_file():
        return LexicalIndex.load(folder), Vocabulary.load(folder)
    assert generation.manifest is not None, "a generation's manifest is set before its BM25 arrays are made"
    # In the order a new index stores its chunks: by file name (folders first by their parts), each by position.
    documents = sorted(generation.manifest.documents.values(), key=lambda record: record.names[0].split("/"))
    found = {record.sha256: parts.load(generation.lexical_dir, record.sha256, record.chunk_ids) for record in documents}
    missing = [record for record in documents if found[record.sha256] is None]
    if missing and generation.previous_lexical_dir is not None:  # a server's client after a re-index
        parts.link(generation.previous_lexical_dir, generation.lexical_dir, [record.sha256 for record in missing])
        found.update({record.sha256: parts.load(generation.lexical_dir, record.sha256, record.chunk_ids) for record in missing})
    found.update(_derive_parts(generation, [record for record in documents if found[record.sha256] is None]))
    ordered = [found[record.sha256] for record in documents]
    index = combine_lexical([id_ for part in ordered for id_ in part.ids], [part.lexical for part in ordered])
    vocabulary = combine_vocabulary([part.vocabulary for part in ordered])
    save_atomically(folder, index, vocabulary)
    return index, vocabulary


_GET_BATCH = 1000  # chunk ids per Chroma read


def _derive_parts(generation: Generation, documents: list[DocumentRecord]) -> dict[str, parts.DocumentPart]:
    """The parts of `documents` from their chunks in the generation, saved for the next generation to link
    (an index written before parts, a damaged part, or a server client's first look at a generation)."""
    derived: dict[str, parts.DocumentPart] = {}
    for batch in _batches(documents):
        records = generation.get(CHUNKS, [id_ for record in batch for id_ in record.chunk_ids])
        for document in batch:
            chunks = [
                (id_, records[id_].metadata.get("title", ""), records[id_].metadata.get("section", ""), records[id_].document)
                for id_ in document.chunk_ids
                if id_ in records
            ]
            part = derived[document.sha256] = parts.document_part(chunks)
            if len(chunks) == len(document.chunk_ids):  # a part is saved whole or not at all
                parts.save(generation.lexical_dir, document.sha256, part)
    return derived


def _batches(documents: list[DocumentRecord]) -> Iterator[list[DocumentRecord]]:
    batch: list[DocumentRecord] = []
    size = 0
    for record in documents:
        if batch and size + len(record.chunk_ids) > _GET_BATCH:
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += len(record.chunk_ids)
    if batch:
        yield batch


class Searcher:
    def __init__(self, generation: Generation, encoder, lexical: LexicalIndex, vocabulary: Vocabulary):
        self.generation = generation
        self.encoder = encoder
        self.lexical = lexical
        self.vocabulary = vocabulary
        self._alone: OrderedDict[str, np.ndarray] = OrderedDict()

    def search(self, question: str, passages: int = 6, reading: Reading | None = None) -> Hits:
        """`reading`: the question already read (focus.read_question), so it is not read twice."""
        reading = reading or read_question(question, self.vocabulary)
        vector = self.encoder.encode([reading.search])[0]
        terms = reading.terms
        dense = self.generation.query(CHUNKS, vector, DENSE_DEPTH)
        lexical = self.lexical.search(terms, LEXICAL_DEPTH)
        records = {id_: (document, meta) for id_, _, document, meta in dense}
        wanted = [id_ for id_, _ in lexical if id_ not in records]
        records.update({id_: (r.document, r.metadata) for id_, r in self.generation.get(CHUNKS, wanted).items()})
        candidates = {id_: self._passage(id_, *records[id_]) for id_ in dict.fromkeys([*(d[0] for d in dense), *(i for i, _ in lexical)]) if id_ in records}
        best_sentence = {id_: float(np.max(p.vectors @ vector)) for id_, p in candidates.items() if p.vectors is not None and len(p.vectors)}
        ranked = {
            "dense": [id_ for id_, _, _, _ in dense],
            "lexical": [id_ for id_, _ in lexical],
            "sentence": sorted(best_sentence, key=lambda id_: -best_sentence[id_]),
        }
        fused: dict[str, float] = {}
        for ids in ranked.values():
            for rank, id_ in enumerate(ids, 1):
                fused[id_] = fused.get(id_, 0.0) + 1.0 / (RRF_K + rank)
        chosen = [id_ for id_ in sorted(fused, key=lambda id_: -fused[id_]) if id_ in candidates][:passages]
        dense_score = {id_: score for id_, score, _, _ in dense}
        lexical_score = dict(lexical)
        found = []
        for id_ in chosen:
            passage = candidates[id_]
            passage.fused = fused[id_]
            passage.dense = dense_score.get(id_)
            passage.lexical = lexical_score.get(id_)
            passage.ranks = {name: ids.index(id_) + 1 for name, ids in ranked.items() if id_ in ids}
            found.append(passage)
        top_dense, top_lexical = set(ranked["dense"][:5]), set(ranked["lexical"][:5])
        agreement = len(top_dense & top_lexical) / 5 if top_lexical else 0.0
        sentences = self._sentences(found, vector)
        closest = sorted(sentences, key=lambda s: -s.similarity)[:READ_ALONE]
        for sentence, alone in zip(closest, self._alone_vectors(closest)):
            sentence.alone, sentence.alone_vector = float(alone @ vector), alone
        rare = [w.typed for w in reading.words if not w.known and w.rarity >= ACCOUNT_RARITY]
        without = dict(zip(rare, self.encoder.encode([reading.search_without(w) for w in rare]))) if rare else {}
        return Hits(reading, found, sentences, agreement, self.lexical.idf([*terms, *reading.predicate]), vector, without)

    def _alone_vectors(self, sentences: list[Sentence]) -> list[np.ndarray]:
        """Each sentence encoded on its own, from the session's cache when an earlier question read it."""
        missing = [s for s in sentences if s.id not in self._alone]
        for sentence, alone in zip(missing, self.encoder.encode([s.text for s in missing]) if missing else []):
            self._alone[sentence.id] = alone
            if len(self._alone) > ALONE_CACHE:
                self._alone.popitem(last=False)
        for sentence in sentences:
            self._alone.move_to_end(sentence.id)
        return [self._alone[s.id] for s in sentences]

    def _passage(self, id_: str, document: str, meta: dict) -> Passage:
        packed = meta.get("vectors")
        return Passage(
            id=id_,
            sha=meta["sha"],
            file=meta["file"],
            title=meta["title"],
            section=meta.get("section", ""),
            page=int(meta["page"]),
            position=int(meta["position"]),
            text=document,
            spans=json.loads(meta["spans"]),
            vectors=unpack_vectors(packed, self.encoder.model.dim) if packed else None,
        )

    def _sentences(self, passages: list[Passage], vector: np.ndarray) -> list[Sentence]:
        """Every sentence of the passages (headings are not sentences), and the one before each
        passage, which its first may lean on (from the chunk before, which holds it)."""
        holders = list(passages)
        before = {p.id: chunk_id(p.sha[:16], p.position - 1) for p in passages if p.position > 0 and p.spans and p.spans[0][0] > 0}
        known = {p.id for p in passages}
        fetched = self.generation.get(CHUNKS, [id_ for id_ in before.values() if id_ not in known])
        holders += [self._passage(id_, r.document, r.metadata) for id_, r in fetched.items()]
        by_id = {p.id: p for p in holders}
        seen: set[tuple[str, int]] = set()
        sentences = []
        for passage in passages:
            units = [(passage, k) for k in range(len(passage.spans))]
            previous = by_id.get(before.get(passage.id) or "")
            if previous is not None:
                first = passage.spans[0][0]
                units += [(previous, k) for k, span in enumerate(previous.spans) if span[0] == first - 1]
            for holder, k in units:
                unit, start, end, page, kind = holder.spans[k]
                if kind == HEADING or (passage.sha, unit) in seen or holder.vectors is None:
                    continue
                seen.add((passage.sha, unit))
                unit_vector = holder.vectors[k]
                sentences.append(
                    Sentence(
                        id=f"{passage.sha[:16]}-u{unit:05d}",
                        text=holder.text[start:end],
                        page=int(page),
                        kind=kind,
                        unit=unit,
                        passage=passage,
                        similarity=float(unit_vector @ vector),
                        vector=unit_vector,
                    )
                )
        return sentences


def sentences_of(document: str, metadata: dict) -> list[tuple[int, str, int, str]]:
    """(unit, text, page, kind) of every span of a stored chunk."""
    return [(unit, document[start:end], int(page), kind) for unit, start, end, page, kind in json.loads(metadata["spans"])]


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
        for unit, start, end, on_page, _kind in json.loads(record.metadata["spans"]):
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
