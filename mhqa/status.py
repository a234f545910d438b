"""`mhqa status`: what the index holds, and which corpus files it no longer matches.

Staleness is the indexer's own plan (indexer.plan_index), so `mhqa status` and
`mhqa index --dry-run` always agree. Nothing is written and no model is loaded.
"""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass, field
from datetime import date

from .errors import IndexUnavailable
from .indexer import CHANGED, FAILED, IGNORED, REBUILT, REMOVED, UNCHANGED, UPDATED, FileAction, plan_index
from .register import source_facts
from .settings import Settings
from .store import Index


@dataclass(frozen=True)
class IndexedDocument:
    title: str
    file: str  # the name cited in answers
    names: list[str]  # every corpus name with this content
    pages: int
    chunks: int
    indexed_at: str
    sha256: str
    stale: str | None  # None when the corpus still holds exactly what was indexed


@dataclass(frozen=True)
class FileState:
    file: str
    state: str  # the action `mhqa index` would take: added, changed, removed, renamed, rebuilt, failed
    detail: str


@dataclass(frozen=True)
class OverdueReview:
    file: str
    title: str
    review_by: str  # YYYY-MM-DD, before today


@dataclass
class IndexStatus:
    index: str
    corpus: str
    generation: str
    created_at: str
    model: dict
    chunking: dict
    documents: list[IndexedDocument]
    stale: list[FileState]  # what `mhqa index` would change
    failed: list[FileState]  # files that cannot be indexed, with the reason
    ignored: list[str] = field(default_factory=list)  # not PDFs
    rebuild_reason: str | None = None
    fix: str | None = None  # the command that brings the index up to date
    overdue: list[OverdueReview] = field(default_factory=list)  # indexed sources past their review-by date

    @property
    def up_to_date(self) -> bool:
        return not self.stale and not self.failed

    @property
    def pages(self) -> int:
        return sum(d.pages for d in self.documents)

    @property
    def chunks(self) -> int:
        return sum(d.chunks for d in self.documents)

    def to_json(self) -> dict:
        data = asdict(self)
        data.update(up_to_date=self.up_to_date, totals={"documents": len(self.documents), "pages": self.pages, "chunks": self.chunks})
        return data


_DOCUMENT_STATE = {
    CHANGED: "changed in the corpus", REMOVED: "gone from the corpus", REBUILT: "to be rebuilt",
    FAILED: "changed, or no longer vetted; cannot be indexed", UPDATED: "its register entry changed",
}


def index_status(settings: Settings) -> IndexStatus:
    index = Index(settings)
    manifest, plan = plan_index(settings, index)
    if manifest is None:
        raise IndexUnavailable(f"no index at {index.describe()}: run `mhqa index` first")
    by_name = {a.name: a for a in plan.actions}
    records = sorted(manifest.documents.values(), key=lambda r: r.name)
    facts = {record.sha256: source_facts(record) for record in records}
    today = date.today()
    documents = [
        IndexedDocument(
            title=facts[record.sha256].title,
            file=record.name,
            names=list(record.names),
            pages=record.pages,
            chunks=record.chunks,
            indexed_at=record.indexed_at,
            sha256=record.sha256,
            stale=_document_state(record.names, by_name),
        )
        for record in records
    ]
    indexed = manifest.by_name()
    # Stale: what the next run changes, including an indexed file whose new version cannot be read.
    stale = [_state(a) for a in plan.actions if a.action not in (UNCHANGED, FAILED, IGNORED) or (a.action == FAILED and a.name in indexed)]
    failed = [_state(a) for a in plan.actions if a.action == FAILED]
    return IndexStatus(
        index=index.describe(),
        corpus=str(settings.corpus),
        generation=manifest.generation,
        created_at=manifest.created_at,
        model=manifest.model,
        chunking=manifest.chunking,
        documents=documents,
        stale=stale,
        failed=failed,
        ignored=[a.name for a in plan.actions if a.action == IGNORED],
        rebuild_reason=plan.rebuild_reason,
        fix=fix_command(settings) if stale else None,
        overdue=[
            OverdueReview(record.name, facts[record.sha256].title, facts[record.sha256].review_by.isoformat())
            for record in records
            if facts[record.sha256].overdue(today)
        ],
    )


def _document_state(names: list[str], by_name: dict[str, FileAction]) -> str | None:
    states = []
    for name in names:
        action = by_name.get(name)
        prefix = f"{name}: " if len(names) > 1 else ""
        if action is None:  # its content is in the corpus under another name
            states.append(prefix + "renamed")
        elif action.action != UNCHANGED:
            states.append(prefix + _DOCUMENT_STATE.get(action.action, action.action))
    return "; ".join(states) or None


def _state(action: FileAction) -> FileState:
    return FileState(action.name, action.action, action.detail)


def fix_command(settings: Settings) -> str:
    """The `mhqa index` command for this index and corpus (the token stays in the environment)."""
    words = ["mhqa", "index", "--corpus", str(settings.corpus)]
    if settings.uses_server:
        words += ["--chroma-url", settings.chroma_url or "", "--collection", settings.collection]
        if settings.chroma_ca:
            words += ["--chroma-ca", str(settings.chroma_ca)]
    else:
        words += ["--index", str(settings.index)]
    return shlex.join(words)
