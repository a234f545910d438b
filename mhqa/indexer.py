"""`mhqa index`: bring the index in line with the corpus, redoing only what changed.

Plan: files are matched by content hash (SHA-256), so a renamed file keeps its
vectors and a changed file is redone whole. With a register of vetted sources
(register.py), only the files it vets are indexed; the others are reported like
broken files, and each document keeps the register's facts in the manifest. A
change of model or of the settings that shape chunks redoes everything. Run: the
next generation is written beside the current one (store.py) and published at the
end, so a crash leaves the index as it was, and a broken PDF is reported and
skipped without touching the rest.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Protocol

from . import parts
from .chroma import CHUNKS, pack_vectors
from .chunk import Chunk, Unit, chunk_document, embedding_text
from .clean import DocumentInfo, clean_pages, describe_document, words_in_lines
from .errors import CorpusError, UnreadablePdf
from .manifest import DocumentRecord, FailedFile, Manifest, chunking_settings
from .model import ModelInfo, describe_model, dictionary_words, load_tokenizer
from .pdf import file_digest, read_pdf
from .register import REGISTER_NAME, Register, load_register
from .retrieve import lexical_index
from .settings import Settings
from .store import Generation, Index, Record

ADDED, CHANGED, REMOVED, RENAMED, UNCHANGED, UPDATED, REBUILT, FAILED, IGNORED = (
    "added", "changed", "removed", "renamed", "unchanged", "updated", "rebuilt", "failed", "ignored",
)
WRITES = (ADDED, CHANGED, REMOVED, RENAMED, UPDATED, REBUILT)  # actions that need a new generation


class Progress(Protocol):
    """What the indexer tells its caller while it works (the CLI draws rich progress bars).

    `page` and `file_done` come from the reading thread, `embedded` from the main one.
    """

    def start(self, files: int) -> None: ...
    def page(self, name: str, done: int, total: int) -> None: ...
    def file_done(self, name: str) -> None: ...
    def embedded(self, texts: int) -> None: ...
    def note(self, message: str) -> None: ...


class SilentProgress:
    def start(self, files: int) -> None:
        pass

    def page(self, name: str, done: int, total: int) -> None:
        pass

    def file_done(self, name: str) -> None:
        pass

    def embedded(self, texts: int) -> None:
        pass

    def note(self, message: str) -> None:
        pass


@dataclass(frozen=True)
class CorpusFile:
    name: str  # path relative to the corpus folder, with forward slashes
    path: Path
    sha256: str
    size: int


@dataclass
class Scan:
    files: list[CorpusFile] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # not PDFs
    unreadable: dict[str, str] = field(default_factory=dict)  # name -> reason (e.g. a broken link)
    unvetted: dict[str, str] = field(default_factory=dict)  # name -> why the register does not vet it

    @property
    def refused(self) -> dict[str, str]:
        """Files reported as failed without being read: unreadable or not vetted."""
        return {**self.unreadable, **self.unvetted}


@dataclass
class FileAction:
    name: str
    action: str
    detail: str = ""
    pages: int = 0
    chunks: int = 0


@dataclass
class Plan:
    actions: list[FileAction]
    rebuild_reason: str | None
    to_index: list[CorpusFile]  # one file per new content hash
    keep: dict[str, list[str]]  # sha -> names, for documents carried over
    names: dict[str, list[str]]  # sha -> names in the corpus now
    retry: list[CorpusFile] = field(default_factory=list)  # failed last run with these bytes: read again
    drops: bool = False  # an indexed document is not carried over (its file changed or went)
    model: ModelInfo | None = None  # what the plan was made for
    chunking: dict = field(default_factory=dict)
    entries: dict[str, dict | None] = field(default_factory=dict)  # sha -> the register's facts to keep with it
    encoder: str = "fp32"  # the precision the vectors are embedded at

    @property
    def model_metadata(self) -> dict:
        """What the manifest records of the model: its identity and the encoder that embedded the index."""
        return {**self.model.as_metadata(), "encoder": self.encoder} if self.model else {}

    @property
    def changes_index(self) -> bool:
        """Whether the index must change, whatever happens to the files that are retried."""
        return bool(self.to_index) or self.drops or any(a.action in WRITES for a in self.actions)


@dataclass
class IndexReport:
    index: str
    actions: list[FileAction]
    rebuild_reason: str | None
    dry_run: bool
    seconds: float
    documents: int = 0
    pages: int = 0
    chunks: int = 0
    generation: str | None = None

    @property
    def failed(self) -> list[FileAction]:
        return [a for a in self.actions if a.action == FAILED]


# --- scan and plan -----------------------------------------------------------------------------


def scan_corpus(corpus: Path) -> Scan:
    """Every file under `corpus`: PDFs (by extension) with their hash, the rest noted as ignored."""
    if not corpus.is_dir():
        raise CorpusError(f"corpus folder not found: {corpus}")
    scan = Scan()
    for path in sorted(corpus.rglob("*")):
        name = path.relative_to(corpus).as_posix()
        if any(part.startswith(".") for part in path.relative_to(corpus).parts) or path.is_dir():
            continue
        if path.suffix.lower() != ".pdf":
            if name not in ("SOURCES.md", "README.md", REGISTER_NAME):
                scan.ignored.append(name)
            continue
        if path.is_symlink() and not path.exists():
            scan.unreadable[name] = "broken symbolic link (its target is missing)"
            continue
        try:
            scan.files.append(CorpusFile(name, path, file_digest(path), path.stat().st_size))
        except OSError as exc:
            scan.unreadable[name] = f"cannot read the file: {exc.strerror or exc}"
    return scan


def vet_files(scan: Scan, register: Register) -> None:
    """Keep in `scan.files` only what the register vets: the file's name, its bytes, a complete entry."""
    entries = register.by_file()
    kept = []
    for file in scan.files:
        entry = entries.get(file.name)
        if entry is None:
            elsewhere = register.vetted(file.sha256)
            hint = f"; its bytes are registered as {elsewhere.file}" if elsewhere else ""
            scan.unvetted[file.name] = f"not vetted: not in the register {REGISTER_NAME}{hint} (draft an entry with `mhqa sources add`)"
        elif entry.sha256 != file.sha256:
            scan.unvetted[file.name] = f"not vetted: the file changed since it was vetted (its SHA-256 is not the one in {REGISTER_NAME})"
        elif entry.missing:
            scan.unvetted[file.name] = f"not vetted: its entry in {REGISTER_NAME} is a draft (to complete: {', '.join(entry.missing)})"
        else:
            kept.append(file)
    scan.files = kept


def vetting_applies(settings: Settings, register: Register | None) -> bool:
    """`vetted_only`, whose default is: on when the corpus has a register."""
    if settings.vetted_only is None:
        return register is not None
    if settings.vetted_only and register is None:
        raise CorpusError(
            f"vetted_only is on, but {settings.corpus} has no register {REGISTER_NAME}: draft one with `mhqa sources add`"
        )
    return settings.vetted_only


def make_plan(
    scan: Scan, manifest: Manifest | None, model: ModelInfo, chunking: dict, register: Register | None = None, encoder: str = "fp32"
) -> Plan:
    """What a run would do to each file; content is matched by hash, so renames cost nothing.

    `encoder`: the precision the vectors are embedded at (embed.py); a change rebuilds.
    """
    names: dict[str, list[str]] = {}
    for f in scan.files:
        names.setdefault(f.sha256, []).append(f.name)
    first_file = {f.sha256: f for f in reversed(scan.files)}
    rebuild = _rebuild_reason(manifest, model, chunking, encoder)
    old = {} if manifest is None or rebuild else manifest.documents
    old_by_name = {} if manifest is None else manifest.by_name()
    failed_before = {} if manifest is None or rebuild else {f.sha256: f.reason for f in manifest.failed.values() if f.sha256}
    entries = {sha: _facts(register, sha) for sha in names}
    actions: list[FileAction] = []
    to_index: list[CorpusFile] = []
    retry: list[CorpusFile] = []
    keep: dict[str, list[str]] = {}
    for sha, file_names in names.items():
        if sha in old:
            keep[sha] = file_names
            actions += _carried_over(old[sha], file_names, entries[sha])
            continue
        previous = [old_by_name.get(name) for name in file_names]
        dropped = _DROPPED if any(p and p.sha256 != sha for p in previous) else ""
        if sha in failed_before:  # same bytes failed last run: reported again, read again, no rebuild for it
            retry.append(first_file[sha])
            actions += [FileAction(name, FAILED, failed_before[sha] + dropped) for name in file_names]
            continue
        to_index.append(first_file[sha])
        for name, was in zip(file_names, previous):
            action = ADDED if was is None else REBUILT if was.sha256 == sha else CHANGED
            detail = f"duplicate of {file_names[0]} (same content, indexed once)" if name != file_names[0] else ""
            actions.append(FileAction(name, action, detail))
    refused = scan.refused
    present = {name for file_names in names.values() for name in file_names} | set(refused)
    drops = False
    if manifest is not None:
        for record in manifest.documents.values():
            if record.sha256 in keep:
                continue
            drops = True
            for name in record.names:
                if name not in present:
                    actions.append(FileAction(name, REMOVED, pages=record.pages, chunks=record.chunks))
    for name, reason in refused.items():
        was = old_by_name.get(name)
        dropped = _DROPPED if was is not None and was.sha256 not in keep else ""
        actions.append(FileAction(name, FAILED, reason + dropped))
    for name in scan.ignored:
        actions.append(FileAction(name, IGNORED, "not a PDF"))
    actions.sort(key=lambda a: a.name)
    return Plan(actions, rebuild, to_index, keep, names, retry, drops, model, chunking, entries, encoder)


_DROPPED = "; its previous version is dropped from the index"


def _facts(register: Register | None, sha: str) -> dict | None:
    entry = register.vetted(sha) if register is not None else None
    return entry.facts() if entry is not None else None


def _carried_over(record: DocumentRecord, file_names: list[str], entry: dict | None) -> list[FileAction]:
    """Actions for a document whose content is still in the corpus: its names or its register entry may have changed."""
    gone = [name for name in record.names if name not in file_names]
    arrived = [name for name in file_names if name not in record.names]
    counts = {"pages": record.pages, "chunks": record.chunks}
    same = UNCHANGED if entry == record.register_entry else UPDATED
    detail = "" if same == UNCHANGED else _entry_change(record.register_entry, entry)
    actions = [FileAction(name, same, detail, **counts) for name in file_names if name in record.names]
    for i, name in enumerate(arrived):
        if i < len(gone):
            actions.append(FileAction(name, RENAMED, f"renamed from {gone[i]}", **counts))
        else:
            other = next(n for n in file_names if n != name)
            actions.append(FileAction(name, ADDED, f"duplicate of {other} (same content, indexed once)", **counts))
    for name in gone[len(arrived) :]:
        actions.append(FileAction(name, REMOVED, f"its content is still indexed as {file_names[0]}"))
    return actions


def _entry_change(before: dict | None, after: dict | None) -> str:
    if before is None:
        return f"now vetted by {REGISTER_NAME}: its facts are cited from there"
    if after is None:
        return f"no longer vetted by {REGISTER_NAME}: its facts are cited from the PDF"
    keys = [key for key in after if before.get(key) != after[key]]
    return f"register entry changed ({', '.join(keys)}); not read again"


def _rebuild_reason(manifest: Manifest | None, model: ModelInfo, chunking: dict, encoder: str) -> str | None:
    if manifest is None:
        return None
    if manifest.model.get("fingerprint") != model.fingerprint:
        before = f"{manifest.model.get('name')} {manifest.model.get('fingerprint')}"
        return f"the embedding model changed ({before} -> {model.name} {model.fingerprint}): rebuilding everything"
    built_with = manifest.model.get("encoder", "fp32")  # indexes from before int8 have no key: float
    if built_with != encoder:
        return f"the index encoder changed ({built_with} -> {encoder}): rebuilding everything"
    if manifest.chunking != chunking:
        keys = [key for key, value in chunking.items() if manifest.chunking.get(key) != value]
        changed = ", ".join(f"{key} {manifest.chunking.get(key)} -> {chunking[key]}" for key in keys)
        what = "mhqa's PDF cleaning or chunking changed" if keys == ["pipeline"] else "chunking settings changed"
        return f"{what} ({changed}): rebuilding everything"
    return None


# --- run ---------------------------------------------------------------------------------------


@dataclass
class _Prepared:
    file: CorpusFile
    info: DocumentInfo
    pages: int
    units: list[Unit]
    chunks: list[Chunk]
    notes: list[str]
    part: parts.DocumentPart  # its share of the BM25 arrays and the vocabulary (parts.py), made here, off the encoder's path


@dataclass
class _Failure:
    file: CorpusFile
    reason: str


class _Preparer:
    """PDF -> pages -> clean blocks -> units and chunks, for one file at a time."""

    def __init__(self, model: ModelInfo, settings: Settings):
        self._tokenizer = load_tokenizer(model)
        self._dictionary = dictionary_words(model)
        self._settings = settings
        self._model = model

    def count(self, texts: list[str]) -> list[int]:
        return [len(e.ids) for e in self._tokenizer.encode_batch(texts, add_special_tokens=False)]

    def __call__(self, file: CorpusFile, on_page=None) -> _Prepared | _Failure:
        try:
            document = read_pdf(file.path, on_page)
            blocks = clean_pages(document.pages, self._dictionary | words_in_lines(document.pages))
            if not blocks:
                raise UnreadablePdf("no extractable text (scanned images? OCR is not supported)")
        except UnreadablePdf as exc:
            return _Failure(file, exc.reason)
        except Exception as exc:  # a PDF that trips pypdf in a new way must not stop the run
            return _Failure(file, f"could not be read ({type(exc).__name__}: {str(exc)[:120]})")
        info = describe_document(blocks, document.metadata_title, file.path.name, document.metadata_publisher)
        units, chunks = chunk_document(
            blocks,
            info.title,
            file.sha256[:16],
            self.count,
            budget=self._settings.chunk_tokens,
            overlap=self._settings.chunk_overlap,
            hard_limit=self._model.max_tokens,
        )
        part = parts.document_part([(chunk.id, info.title, chunk.section, chunk.text) for chunk in chunks])
        return _Prepared(file, info, len(document.pages), units, chunks, document.notes, part)


def _read_in_background(
    files: list[CorpusFile], model: ModelInfo, settings: Settings, progress: Progress, readers: int = 1
) -> Iterator[_Prepared | _Failure]:
    """Read PDFs beside the encoder, in corpus order: pypdf is Python, onnxruntime releases the GIL.

    One reading thread keeps two encoder sessions busy here; with more workers (a bigger
    machine) the PDFs are read by `readers` processes, since one Python thread cannot
    feed dozens of encoder sessions.
    """
    results: queue.Queue = queue.Queue(maxsize=4)  # bounded: a huge corpus is never all in memory

    def work() -> None:
        try:
            if readers > 1:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                context = multiprocessing.get_context("spawn")  # not fork: this process runs threads
                with ProcessPoolExecutor(readers, mp_context=context, initializer=_start_reader, initargs=(model, settings)) as pool:
                    for file, item in zip(files, pool.map(_read_one, files, chunksize=1)):
                        results.put(item)
                        progress.file_done(file.name)
            else:
                prepare = _Preparer(model, settings)
                for file in files:
                    results.put(prepare(file, lambda done, total, name=file.name: progress.page(name, done, total)))
                    progress.file_done(file.name)
        except BaseException as exc:  # handed to the embedding thread, which raises it
            results.put(exc)
        finally:
            results.put(None)

    threading.Thread(target=work, daemon=True, name="mhqa-read").start()
    while (item := results.get()) is not None:
        if isinstance(item, BaseException):
            raise item
        yield item


_READER: _Preparer | None = None  # one per reading process


def _start_reader(model: ModelInfo, settings: Settings) -> None:
    global _READER
    _READER = _Preparer(model, settings)


def _read_one(file: CorpusFile) -> _Prepared | _Failure:
    assert _READER is not None
    return _READER(file)


def split_workers(workers: int) -> tuple[int, int]:
    """(PDF reading processes, encoder sessions) for `workers` cores.

    On the shipped corpus reading and cleaning take 4.6 CPU s and embedding 7.5 (int8), so
    about 4 of every 10 cores read. Below 4 cores one reading thread beside an encoder
    session per core was fastest (the encoder waits on a GIL-bound reader less than
    the cores idle).
    """
    if workers < 4:
        return 1, workers
    readers = max(1, round(workers * 0.4))
    return readers, workers - readers


_ENCODE_GROUP = 200  # chunks embedded per group: their Chroma writes overlap the next group's embedding


def plan_index(settings: Settings, index: Index | None = None) -> tuple[Manifest | None, Plan]:
    """The published manifest and what a run would do now. Only reads: no lock, no model loaded."""
    index = index or Index(settings)
    model = describe_model(settings.model_path, settings.cache)
    chunking = chunking_settings(settings.chunk_tokens, settings.chunk_overlap)
    manifest = index.current_manifest()
    scan = scan_corpus(settings.corpus)
    register = load_register(settings.corpus)
    if vetting_applies(settings, register):
        vet_files(scan, register)
    return manifest, make_plan(scan, manifest, model, chunking, register, settings.index_encoder)


def run_index(settings: Settings, progress: Progress | None = None, dry_run: bool = False) -> IndexReport:
    """Index `settings.corpus` into `settings.index` (or the Chroma server); see the module doc."""
    progress = progress or SilentProgress()
    started = time.monotonic()
    index = Index(settings)
    if dry_run:  # the pointer and manifest are replaced atomically, so reading them needs no lock
        manifest, plan = plan_index(settings, index)
        return _report(index, plan, manifest, started, dry_run=True)
    with index.writer_lock():
        manifest, plan = plan_index(settings, index)
        if manifest is not None and not plan.changes_index and not plan.retry:
            return _report(index, plan, manifest, started)
        if not plan.names:
            refused = [(a.name, a.detail) for a in plan.actions if a.action == FAILED]
            raise _nothing_indexed(refused) if refused else CorpusError(f"no PDF files in {settings.corpus}")
        if plan.rebuild_reason:
            progress.note(plan.rebuild_reason)
        index.collect_garbage()  # leftovers of a crashed run
        manifest = _write_generation(index, manifest, plan, settings, progress) or manifest
        index.collect_garbage()
    return _report(index, plan, manifest, started)


def _report(index: Index, plan: Plan, manifest: Manifest | None, started: float, dry_run: bool = False) -> IndexReport:
    report = IndexReport(index.describe(), plan.actions, plan.rebuild_reason, dry_run, time.monotonic() - started)
    if manifest is not None:
        report.documents = len(manifest.documents)
        report.pages = manifest.total_pages
        report.chunks = manifest.total_chunks
        report.generation = manifest.generation
    return report


def _write_generation(index: Index, manifest: Manifest | None, plan: Plan, settings: Settings, progress: Progress) -> Manifest | None:
    """Write the next generation and publish it; None if nothing changed (retried files failed again).

    The generation is created, and the encoder loaded, only when something needs them:
    a run that only renames or removes files embeds nothing.
    """
    from .embed import load_encoder

    model = plan.model
    documents: dict[str, DocumentRecord] = {}
    if manifest is not None:
        documents = {sha: replace(manifest.documents[sha], names=names, register_entry=plan.entries[sha]) for sha, names in plan.keep.items()}
    failed = {a.name: FailedFile(a.name, None, a.detail) for a in plan.actions if a.action == FAILED}
    by_name = {a.name: a for a in plan.actions}
    indexed_before = manifest.by_name() if manifest is not None else {}
    readers, sessions = split_workers(settings.workers or os.cpu_count() or 1)
    writer: _DocumentWriter | None = None

    def open_writer() -> _DocumentWriter:
        nonlocal writer
        if writer is None:
            generation = index.create_generation(plan.model_metadata, copy_of=manifest.generation if plan.keep and manifest else None)
            if generation.copied:
                _prune_copy(generation, manifest, plan.keep)
            elif plan.keep:
                _carry_over(index.open(), generation, plan.keep)
            if manifest is not None and plan.keep:
                parts.link(index.lexical_dir(manifest.generation), generation.lexical_dir, plan.keep)
            encoder = lambda: load_encoder(model, settings.cache, progress.note, sessions, settings.index_encoder)  # noqa: E731
            writer = _DocumentWriter(generation, encoder, plan.names, progress)
        return writer

    pending: list[_Prepared] = []

    def store_pending() -> None:
        if not pending:
            return
        for record in open_writer().write(pending, plan.entries):
            documents[record.sha256] = record
            for name in record.names:
                action = by_name[name]
                if action.action == FAILED:  # failed last time, read this time
                    action.action, action.detail = ADDED, ""
                    failed.pop(name, None)
                action.pages, action.chunks = record.pages, record.chunks
                action.detail = "; ".join(filter(None, [action.detail, *record.notes]))
        pending.clear()

    files = plan.to_index + plan.retry
    progress.start(len(files))
    for item in _read_in_background(files, model, settings, progress, readers):
        if isinstance(item, _Failure):
            for name in plan.names[item.file.sha256]:
                was = indexed_before.get(name)
                dropped = _DROPPED if was is not None and was.sha256 not in plan.keep else ""
                by_name[name].action, by_name[name].detail = FAILED, item.reason + dropped
                failed[name] = FailedFile(name, item.file.sha256, item.reason)
            continue
        pending.append(item)
        if sum(len(p.chunks) for p in pending) >= _ENCODE_GROUP:
            store_pending()
    store_pending()
    if writer is None and not plan.changes_index:
        return None
    if not documents:
        raise _nothing_indexed([(f.name, f.reason) for f in failed.values()])
    generation = open_writer().finish()
    new_manifest = Manifest(
        generation=generation.name,
        created_at=_now(),
        model=plan.model_metadata,
        chunking=plan.chunking,
        documents=documents,
        failed=failed,
    )
    generation.manifest = new_manifest  # what lexical_index combines the parts of
    lexical_index(generation)  # BM25 arrays written with the generation, before it is published
    index.publish(generation, new_manifest)
    return new_manifest


def _nothing_indexed(failures: list[tuple[str, str]]) -> CorpusError:
    reasons = "; ".join(f"{name}: {reason}" for name, reason in failures[:3])
    return CorpusError(f"no PDF in the corpus could be indexed ({reasons}); nothing was changed")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _prune_copy(copy: Generation, manifest: Manifest, keep: dict[str, list[str]]) -> None:
    """A copy of the current generation, less the documents not kept, with renames applied:
    a one-file change costs a file copy and that file's records, not every record again."""
    dropped = [sha for sha in manifest.documents if sha not in keep]
    renamed = {sha: names[0] for sha, names in keep.items() if manifest.documents[sha].names[0] != names[0]}
    if dropped:
        copy.drop_documents(CHUNKS, dropped)
    for sha, file in renamed.items():
        copy.rename_document(CHUNKS, sha, file)


def _carry_over(old: Generation, new: Generation, keep: dict[str, list[str]]) -> None:
    """Add the records of unchanged documents to the new generation again, applying renames (a server's
    collections cannot be copied)."""
    try:
        batch: list[Record] = []
        for record in old.scan(CHUNKS, embeddings=True):
            names = keep.get(record.metadata.get("sha"))
            if names is None:
                continue
            record.metadata = {**record.metadata, "file": names[0]}
            batch.append(record)
            if len(batch) >= 500:
                new.add(CHUNKS, batch)
                batch = []
        if batch:
            new.add(CHUNKS, batch)
    finally:
        old.close()


class _DocumentWriter:
    """Embeds groups of prepared documents and adds them to the new generation.

    Its Chroma writes run on a thread while the next group is embedded. A sentence's
    vector is pooled from its chunk's pass (embed.pool_spans) and kept in the chunk's
    metadata (chroma.py), not embedded again on its own: that halves the encoding, and
    on the tune questions it cited the answering page more often (first citation on a
    gold page 0.906 against 0.875; bench/README.md).
    """

    def __init__(self, generation: Generation, load_encoder, names: dict[str, list[str]], progress: Progress):
        from concurrent.futures import ThreadPoolExecutor

        self._generation, self._load_encoder, self._names, self._progress = generation, load_encoder, names, progress
        self._encoder = None
        self._writes = ThreadPoolExecutor(1, thread_name_prefix="mhqa-write")
        self._last = None
        self._embedded = 0

    def write(self, group: list[_Prepared], entries: dict[str, dict | None]) -> list[DocumentRecord]:
        if not group:
            return []
        texts, spans = [], []  # each chunk as embedded, and its units' spans in that text
        for prepared in group:
            for chunk in prepared.chunks:
                text = embedding_text(prepared.info.title, chunk.section, chunk.text)
                shift = len(text) - len(chunk.text)
                texts.append(text)
                spans.append([(start + shift, end + shift) for _, start, end in chunk.spans])
        done = self._embedded
        if self._encoder is None:
            self._encoder = self._load_encoder()
        vectors, pooled = self._encoder.encode_with_spans(texts, spans, progress=lambda n: self._progress.embedded(done + n))
        self._embedded += len(vectors)
        chunk_vectors = iter(zip(vectors, pooled))
        records, chunk_records = [], []
        for prepared in group:
            sha = prepared.file.sha256
            base = {"sha": sha, "file": self._names[sha][0], "title": prepared.info.title}
            units = {unit.index: unit for unit in prepared.units}
            chunk_records += [_chunk_record(chunk, base, units, *next(chunk_vectors)) for chunk in prepared.chunks]
            records.append(_record(prepared, self._names[sha], entries.get(sha)))
            parts.save(self._generation.lexical_dir, sha, prepared.part)
        self.finish()
        self._last = self._writes.submit(self._generation.add, CHUNKS, chunk_records)
        return records

    def finish(self) -> Generation:
        """Wait for the writes under way (and raise their error, if any)."""
        if self._last is not None:
            self._last.result()
            self._last = None
        return self._generation


def _chunk_record(chunk: Chunk, base: dict, units: dict[int, Unit], vector, unit_vectors) -> Record:
    spans = [[unit, start, end, units[unit].page, units[unit].kind] for unit, start, end in chunk.spans]
    metadata = {
        **base,
        "section": chunk.section,
        "position": chunk.position,
        "page": spans[0][3],
        "spans": json.dumps(spans),
        "vectors": pack_vectors(unit_vectors),
    }
    return Record(chunk.id, chunk.text, metadata, vector)


def _record(prepared: _Prepared, names: list[str], entry: dict | None) -> DocumentRecord:
    return DocumentRecord(
        sha256=prepared.file.sha256,
        names=names,
        size=prepared.file.size,
        pages=prepared.pages,
        chunks=len(prepared.chunks),
        units=len(prepared.units),
        chunk_ids=[chunk.id for chunk in prepared.chunks],
        title=prepared.info.title,
        indexed_at=_now(),
        publisher=prepared.info.publisher,
        publication_no=prepared.info.publication_no,
        year=prepared.info.year,
        notes=prepared.notes,
        register_entry=entry,
    )
