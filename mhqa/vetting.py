"""`mhqa sources add` and `mhqa sources check`: draft register entries from PDFs, and check the register against the folder.

A draft holds what the PDF states (its metadata, its text, the address a browser
printed on it) and leaves every other key empty, with a comment saying it is to be
completed. A draft vets nothing: `mhqa index` skips its file until a maintainer
fills in the review. The register file is edited with tomlkit, so its comments and
layout stay as the maintainer wrote them.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from .clean import clean_pages, describe_document, printed_address, words_in_lines
from .errors import CorpusError, UnreadablePdf, UsageError
from .indexer import scan_corpus
from .model import describe_model, dictionary_words
from .pdf import file_digest, read_pdf
from .register import KEYS, REGISTER_NAME, Entry, Register, load_register, register_path
from .settings import Settings

TO_COMPLETE = "TO COMPLETE"
FROM_PDF = "as the PDF states it: check"
_OPTIONAL = ("publication_no", "year", "url")  # may stay empty: not every source has one
# Facts a maintainer may have corrected by hand: a redraft of a changed file keeps them unless the new PDF states them.
_KEPT_ON_REDRAFT = ("title", "publisher", "publication_no", "year", "url", "licence")
_HEADER = f"""\
The register of vetted sources: one [[source]] table per PDF in this folder (README, "Maintaining the corpus").
`mhqa index` indexes a file only when its name, its SHA-256 and a complete entry are here (vetted_only);
`mhqa sources check` reports what disagrees; `mhqa sources add FILE` drafts an entry.
Required: title, publisher, licence, reviewed_by, reviewed_on, review_by (dates are YYYY-MM-DD).
Optional: publication_no, year, url (empty when the source has none). A source past its review_by date is
cited with "(review overdue)" until it is reviewed again."""

# outcomes of `sources add`
ADDED, REDRAFTED, REGISTERED, UNREADABLE = "added", "redrafted", "already registered", "cannot be read"


@dataclass
class Drafted:
    file: str
    outcome: str
    to_complete: list[str] = field(default_factory=list)
    detail: str = ""


def add_sources(settings: Settings, paths: list[Path]) -> list[Drafted]:
    """Write a draft entry for each file not yet registered with these bytes."""
    corpus = settings.corpus
    if not corpus.is_dir():
        raise CorpusError(f"corpus folder not found: {corpus}")
    names = list(dict.fromkeys(_name_in_corpus(path, corpus) for path in paths))
    register = load_register(corpus) or Register(register_path(corpus), [])
    registered = register.by_file()
    document = _open_document(register.path)
    dictionary = None
    results: list[Drafted] = []
    for name in names:
        path = corpus / name
        try:
            sha = file_digest(path)
        except OSError as exc:
            results.append(Drafted(name, UNREADABLE, detail=f"cannot read the file: {exc.strerror or exc}"))
            continue
        before = registered.get(name)
        if before is not None and before.sha256 == sha:
            results.append(Drafted(name, REGISTERED, before.missing))
            continue
        if dictionary is None:
            dictionary = dictionary_words(describe_model(settings.model_path))
        try:
            stated = _stated(path, dictionary)
        except UnreadablePdf as exc:
            results.append(Drafted(name, UNREADABLE, detail=exc.reason))
            continue
        if before is not None:  # a new version: its facts stay where the PDF is silent, its review starts over
            kept = {key: getattr(before, key) for key in _KEPT_ON_REDRAFT if getattr(before, key) not in ("", None)}
            stated = {**kept, **stated}
        table = _draft_table(name, sha, stated)
        _put(document, name, table)
        missing = [key for key in KEYS if key not in stated and key not in ("file", "sha256")]
        detail = "the file changed since it was vetted: review it again" if before is not None else ""
        results.append(Drafted(name, REDRAFTED if before is not None else ADDED, missing, detail))
    if any(r.outcome in (ADDED, REDRAFTED) for r in results):
        _write(register.path, document)
    return results


def _name_in_corpus(path: Path, corpus: Path) -> str:
    try:
        relative = path.resolve().relative_to(corpus.resolve())
    except ValueError:
        raise UsageError(f"{path} is not in the corpus folder {corpus}: copy it there first") from None
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    if path.suffix.lower() != ".pdf":
        raise UsageError(f"{path} is not a PDF: only PDFs are indexed")
    return relative.as_posix()


def _stated(path: Path, dictionary) -> dict:
    """What the PDF states about itself: the keys of a draft it can fill."""
    document = read_pdf(path)
    blocks = clean_pages(document.pages, dictionary | words_in_lines(document.pages))
    info = describe_document(blocks, document.metadata_title, path.name, document.metadata_publisher)
    facts = {
        "title": info.title,
        "publisher": info.publisher,
        "publication_no": info.publication_no,
        "year": int(info.year) if info.year else None,
        "url": printed_address([[" ".join(line.text.split()) for line in page.lines] for page in document.pages]),
        "licence": info.licence,
    }
    return {key: value for key, value in facts.items() if value}


def _open_document(path: Path):
    import tomlkit

    if not path.exists():
        document = tomlkit.document()
        for line in _HEADER.splitlines():
            document.add(tomlkit.comment(line))
        document.add(tomlkit.nl())
        return document
    return tomlkit.parse(path.read_text(encoding="utf-8"))  # load_register has already validated it


def _draft_table(name: str, sha: str, stated: dict):
    import tomlkit

    table = tomlkit.table()
    table.add("file", name)
    table.add("sha256", sha)
    for key in KEYS[2:]:
        item = tomlkit.item(stated.get(key, ""))
        item.comment(FROM_PDF if key in stated else _to_complete(key))
        table.add(key, item)
    return table


def _to_complete(key: str) -> str:
    if key in _OPTIONAL:
        return f"{TO_COMPLETE}, or leave empty if it has none"
    return TO_COMPLETE + (" (YYYY-MM-DD)" if key in ("reviewed_on", "review_by") else "")


def _put(document, name: str, table) -> None:
    """Replace the entry of `name`, or append one."""
    import tomlkit

    if "source" not in document:
        document.add("source", tomlkit.aot())
    entries = document["source"]
    for position, existing in enumerate(entries):
        if existing.get("file") == name:
            entries[position] = table
            return
    entries.append(table)


def _write(path: Path, document) -> None:
    import tomlkit

    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(tomlkit.dumps(document), encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise CorpusError(f"cannot write the register {path}: {exc}") from None


# --- check ---------------------------------------------------------------------------------------

MISSING, CHANGED, UNREGISTERED, DRAFT, OVERDUE = "missing", "changed", "unregistered", "draft", "review overdue"


@dataclass(frozen=True)
class Finding:
    file: str
    problem: str  # one of the constants above
    detail: str


@dataclass
class SourcesCheck:
    register: str
    entries: int
    files: int  # PDFs in the corpus folder
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_json(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def check_sources(settings: Settings, today: date | None = None) -> SourcesCheck:
    """The register against the corpus folder: missing files, changed files, unregistered files, drafts, reviews due."""
    today = today or date.today()
    scan = scan_corpus(settings.corpus)
    register = load_register(settings.corpus)
    if register is None:
        raise CorpusError(f"{settings.corpus} has no register {REGISTER_NAME}: draft one with `mhqa sources add {settings.corpus}/*.pdf`")
    files = {f.name: f.sha256 for f in scan.files}
    findings = [finding for entry in register.entries for finding in _entry_findings(entry, files, scan.unreadable, today)]
    registered = register.by_file()
    findings += [
        Finding(name, UNREGISTERED, "not in the register: it is not indexed while vetted_only is on (draft an entry with `mhqa sources add`)")
        for name in sorted(set(files) | set(scan.unreadable))
        if name not in registered
    ]
    findings.sort(key=lambda f: (f.file, f.problem))
    return SourcesCheck(str(register.path), len(register.entries), len(files) + len(scan.unreadable), findings)


def _entry_findings(entry: Entry, files: dict[str, str], unreadable: dict[str, str], today: date) -> list[Finding]:
    if entry.file in unreadable:
        return [Finding(entry.file, MISSING, unreadable[entry.file])]
    if entry.file not in files:
        return [Finding(entry.file, MISSING, "registered, but not in the corpus folder")]
    found = []
    if files[entry.file] != entry.sha256:
        found.append(Finding(entry.file, CHANGED, f"the file changed since it was vetted: its SHA-256 is {files[entry.file]}, the register's {entry.sha256}"))
    if entry.missing:
        found.append(Finding(entry.file, DRAFT, f"to complete: {', '.join(entry.missing)}"))
    if entry.overdue(today):
        found.append(Finding(entry.file, OVERDUE, f"to be reviewed by {entry.review_by.isoformat()}"))
    return found
