"""The register of vetted sources, `CORPUS/sources.toml`: what was vetted, by whom, and until when.

One `[[source]]` table per corpus file: its name and SHA-256 (the exact bytes that were
vetted), what a citation says about it (title, publisher, publication number, year, URL),
its licence, and its review (who, when, and the date by which it is reviewed again).

Only the register's own facts are kept here: checking it against the folder is
vetting.py, applying it when indexing is indexer.py. The facts are copied into the
index manifest when a document is indexed, so an answer (also on a team server, whose
clients have no corpus folder) cites the facts that were current for that generation.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any

from .errors import CorpusError
from .manifest import DocumentRecord

REGISTER_NAME = "sources.toml"
# Every key of an entry, in the order a drafted entry lists them.
KEYS = ("file", "sha256", "title", "publisher", "publication_no", "year", "url", "licence", "reviewed_by", "reviewed_on", "review_by")
# An entry missing one of these is a draft: it vets nothing until a maintainer completes it.
REQUIRED = ("title", "publisher", "licence", "reviewed_by", "reviewed_on", "review_by")
_SHA256 = re.compile(r"[0-9a-f]{64}")
REVIEW_OVERDUE = "(review overdue)"  # the mark of a cited source past its review-by date


@dataclass(frozen=True)
class Entry:
    """One vetted file. Empty strings (and None) are facts not stated or not yet completed."""

    file: str
    sha256: str
    title: str = ""
    publisher: str = ""
    publication_no: str = ""
    year: int | None = None
    url: str = ""
    licence: str = ""
    reviewed_by: str = ""
    reviewed_on: date | None = None
    review_by: date | None = None

    @property
    def missing(self) -> list[str]:
        """The required keys still to be completed (empty for a complete entry)."""
        return [key for key in REQUIRED if getattr(self, key) in ("", None)]

    def overdue(self, today: date) -> bool:
        return self.review_by is not None and self.review_by < today

    def facts(self) -> dict[str, Any]:
        """What the index manifest keeps of this entry (JSON values; dates as YYYY-MM-DD)."""
        values = {key: getattr(self, key) for key in KEYS if key not in ("file", "sha256")}
        return {key: value.isoformat() if isinstance(value, date) else value for key, value in values.items()}


@dataclass(frozen=True)
class Register:
    path: Path
    entries: list[Entry]

    def by_file(self) -> dict[str, Entry]:
        return {entry.file: entry for entry in self.entries}

    def vetted(self, sha256: str) -> Entry | None:
        """The complete entry for these bytes, under any name (None: not vetted)."""
        return next((e for e in self.entries if e.sha256 == sha256 and not e.missing), None)


def register_path(corpus: Path) -> Path:
    return corpus / REGISTER_NAME


def load_register(corpus: Path) -> Register | None:
    """The corpus's register, or None when it has none. A register that cannot be read is an error."""
    path = register_path(corpus)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CorpusError(f"cannot read the register {path}: {exc}") from None
    unknown = sorted(set(data) - {"source"})
    if unknown:
        raise CorpusError(f"the register {path} holds unknown table(s) {', '.join(unknown)}: entries are [[source]] tables")
    rows = data.get("source", [])
    if not isinstance(rows, list):
        raise CorpusError(f"the register {path}: `source` must be an array of tables ([[source]])")
    entries, seen = [], set()
    for number, row in enumerate(rows, 1):
        entry = _entry(row, f"{path} entry {number}")
        if entry.file in seen:
            raise CorpusError(f"{path} entry {number}: {entry.file!r} is registered twice")
        seen.add(entry.file)
        entries.append(entry)
    return Register(path, entries)


def _entry(row: Any, where: str) -> Entry:
    if not isinstance(row, dict):
        raise CorpusError(f"{where}: not a table")
    unknown = sorted(set(row) - set(KEYS))
    if unknown:
        raise CorpusError(f"{where}: unknown key(s) {', '.join(unknown)} (keys: {', '.join(KEYS)})")
    values: dict[str, Any] = {}
    for spec in fields(Entry):
        value = row.get(spec.name, "")
        if spec.name in ("reviewed_on", "review_by"):
            values[spec.name] = _date(value, f"{where}, {spec.name}")
        elif spec.name == "year":
            values[spec.name] = _year(value, f"{where}, year")
        elif isinstance(value, str):
            values[spec.name] = " ".join(value.split())
        else:
            raise CorpusError(f"{where}: {spec.name} must be a string, got {value!r}")
    if not values["file"]:
        raise CorpusError(f"{where}: `file` is missing")
    values["sha256"] = values["sha256"].lower()
    if not _SHA256.fullmatch(values["sha256"]):
        raise CorpusError(f"{where} ({values['file']}): sha256 must be 64 hexadecimal digits")
    return Entry(**values)


def _date(value: Any, where: str) -> date | None:
    if value in ("", None):
        return None
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise CorpusError(f"{where}: expected a date YYYY-MM-DD, got {value!r}")


def _year(value: Any, where: str) -> int | None:
    if value in ("", None):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 1000 <= value <= 9999:
        return value
    raise CorpusError(f"{where}: expected a year such as 2024, got {value!r}")


# --- what a citation says about its source ----------------------------------------------------


@dataclass(frozen=True)
class SourceFacts:
    """Title, publisher, publication number, year and URL of an indexed document, and its review-by date.

    From the register entry stored with the document when it was indexed; a document
    indexed without one shows what its PDF states (and has no review date).
    """

    title: str
    publisher: str | None
    publication_no: str | None
    year: int | None
    url: str | None
    review_by: date | None

    def overdue(self, today: date) -> bool:
        return self.review_by is not None and self.review_by < today


def source_facts(record: DocumentRecord) -> SourceFacts:
    entry = record.register_entry
    if entry:
        review_by = entry.get("review_by")
        return SourceFacts(
            title=entry.get("title") or record.title,
            publisher=entry.get("publisher") or None,
            publication_no=entry.get("publication_no") or None,
            year=entry.get("year"),
            url=entry.get("url") or None,
            review_by=date.fromisoformat(review_by) if review_by else None,
        )
    year = int(record.year) if record.year and record.year.isdigit() else None
    return SourceFacts(record.title, record.publisher, record.publication_no, year, None, None)
