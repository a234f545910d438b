"""A question session: the index, the encoder and the BM25 arrays, opened once and asked many times.

`ask`, `faq`, `eval` and `chat` all go through Session.ask, so a question takes
the same path everywhere: clean -> crisis check -> hits -> evidence (read by the reader,
reader.py) -> answer.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from datetime import date
from pathlib import Path

from .answer import Answer, compose, fragment_refusal
from .chroma import CHUNKS
from .clean import clean_line
from .conversation import Context, Turn, resolve
from .crisis import Classifier, CrisisCheck, CrisisDetector, resources_for
from .embed import load_encoder
from .errors import ModelMismatch, UsageError
from .evidence import assess
from .focus import Reading, read_question
from .indexer import Progress, run_index
from .model import describe_model
from .policy import fitted
from .reader import Reader
from .register import SourceFacts, source_facts
from .retrieve import Searcher, lexical_index, page_text
from .settings import Settings, bundled_model_path, check_writable
from .store import Background, Generation, Index

MIN_PASSAGES = 6  # passages read for sentences, whatever --top-k says


class Session:
    def __init__(
        self,
        settings: Settings,
        generation: Generation,
        searcher: Searcher,
        crisis: CrisisDetector,
        reader: Reader | None,
        indexed: bool = False,
    ):
        self.settings = settings
        self.generation = generation
        self.searcher = searcher
        self.crisis = crisis
        self.reader = reader  # None only while bench/fit_reader.py fits it
        self.resources = resources_for(settings.crisis_region, settings.crisis_lines, settings.crisis_emergency).text()
        self.indexed = indexed  # this process built the index before opening it (so it wrote to disk)
        self.threshold = fitted().threshold if settings.min_evidence is None else settings.min_evidence
        # Cited facts come from the manifest (the register as of indexing): no PDF or register is read per question.
        self._sources = {name: (record.sha256, source_facts(record)) for name, record in generation.manifest.by_name().items()}
        self._today = date.today()

    @property
    def manifest(self):
        return self.generation.manifest

    def ask(self, question: str, max_sentences: int | None = None, min_evidence: float | None = None) -> Answer:
        """A question on its own: one that leans on an earlier question is refused as a fragment."""
        return self.follow(question, Context(), max_sentences, min_evidence)[0]

    def follow(
        self, question: str, context: Context, max_sentences: int | None = None, min_evidence: float | None = None
    ) -> tuple[Answer, Context]:
        """A question in a conversation (`chat`): read against `context`; returns the answer and the context after it."""
        text = clean_line(question)
        if not text:
            raise UsageError("the question is empty")
        crisis, reading, turn = self.read_turn(text, context)
        threshold = min_evidence if min_evidence is not None else self.threshold
        if turn.fragment:
            answer = fragment_refusal(question, threshold, crisis, self.resources)
        else:
            passages = max(self.settings.top_k, MIN_PASSAGES)
            hits = self.searcher.search(turn.text, passages=passages, reading=None if turn.read_as else reading)
            evidence = assess(hits, max_sentences or self.settings.max_sentences, self.reader.probabilities if self.reader else None)
            answer = compose(question, evidence, hits, threshold, crisis, self.resources, max_citations=self.settings.top_k)
        answer.read_as = turn.read_as
        self._cite_sources(answer)
        if self.settings.log_file:
            _log(self.settings.log_file, answer)
        return answer, turn.context

    def read_turn(self, text: str, context: Context) -> tuple[CrisisCheck, Reading, Turn]:
        """How a turn is read after `context`: the crisis check first, on what the person typed,
        before any rewrite; then its reading and how the conversation resolves it."""
        crisis = self.crisis.check(text)
        reading = read_question(text, self.searcher.vocabulary)
        return crisis, reading, resolve(text, reading, context, self.searcher.vocabulary, crisis=crisis.crisis)

    def documents(self) -> list[tuple[str, SourceFacts]]:
        """The indexed documents, by title: the file name a citation gives, and what the register states."""
        return sorted(((name, facts) for name, (_, facts) in self._sources.items()), key=lambda item: (item[1].title.lower(), item[0]))

    def page(self, source: str, page: int) -> str:
        """The cleaned text of one page of an indexed document, read from the index (not the PDF)."""
        record = self.manifest.by_name().get(source)
        if record is None or not 1 <= page <= record.pages:
            raise UsageError(f"the index has no page {page} of {source}")
        return page_text(self.generation, record.chunk_ids, page)

    def _cite_sources(self, answer: Answer) -> None:
        """Provenance: the generation that answered, and per citation its source's facts and SHA-256."""
        answer.generation = self.generation.name
        for citation in answer.citations:
            if citation.source not in self._sources:
                continue
            citation.sha256, facts = self._sources[citation.source]
            citation.title, citation.publisher, citation.year, citation.url = facts.title, facts.publisher, facts.year, facts.url
            citation.review_overdue = facts.overdue(self._today)

    def close(self) -> None:
        self.generation.close()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_session(settings: Settings, progress: Progress | None = None, build: bool = True, read: bool = True) -> Session:
    """Open the current index for questions, building it first if an embedded index does not exist yet
    (unless `build` is False: then a missing index is an IndexUnavailable error). `read` False: without
    the reader, for bench/fit_reader.py only (the evidence score is then not the policy's)."""
    if settings.log_file:
        check_writable(settings.log_file, "the question log")
    index = Index(settings)
    indexed = build and not settings.uses_server and index.backend.read_pointer() is None
    if indexed:
        if progress is not None:
            progress.note(f"No index at {settings.index} yet: indexing {settings.corpus} first.")
        run_index(settings, progress)
    crisis = Background(_crisis_detector)  # with Chroma, on a thread while the encoder loads here
    reader = Background(_reader if read else lambda: None)  # likewise
    generation = index.open()
    try:
        model = describe_model(settings.model_path, settings.cache)
        built_with = generation.manifest.model
        if built_with.get("fingerprint") != model.fingerprint:
            raise ModelMismatch(
                f"the index was built with the model {built_with.get('name')} ({built_with.get('fingerprint')}), "
                f"but {model.name} ({model.fingerprint}) is configured: use the same model, or run `mhqa index` to rebuild"
            )
        encoder = load_encoder(model, settings.cache, progress.note if progress else None, precision=settings.query_encoder)
        searcher = Searcher(generation, encoder, *lexical_index(generation))
        return Session(settings, generation, searcher, crisis(), reader(), indexed)
    except BaseException:
        # Let the loading threads finish first: a process that exits while onnxruntime is
        # loading on a daemon thread aborts ("terminate called without an active exception").
        for pending in (crisis, reader, lambda: generation.collection(CHUNKS)):
            with contextlib.suppress(BaseException):
                pending()
        generation.close()
        raise


def _crisis_detector() -> CrisisDetector:
    return CrisisDetector(Classifier(bundled_model_path() / "tokenizer.json"))


def _reader() -> Reader:
    return Reader(bundled_model_path() / "tokenizer.json")


def _log(path: Path, answer: Answer) -> None:
    """Only when the user asked for a log (--log / MHQA_LOG_FILE): one JSON line per question."""
    entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "question": answer.question, "status": answer.status, "evidence": round(answer.evidence, 4)}
    try:  # created readable by its owner only: these are mental-health questions
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise UsageError(f"cannot write the question log {path}: {exc.strerror or exc}") from None
