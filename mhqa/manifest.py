"""What an index holds: per document its hash, size, counts, chunk ids and title; per index
the model and the settings that shape chunks. Stored with each published generation.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

FORMAT = 1
# Bump when cleaning or chunking changes what a PDF turns into: every file is then redone.
PIPELINE_VERSION = 4  # 4: sentence vectors pooled from their chunk's pass


@dataclass
class DocumentRecord:
    sha256: str
    names: list[str]  # file names (relative to the corpus) with this content; the first is cited
    size: int
    pages: int
    chunks: int
    units: int
    chunk_ids: list[str]
    title: str
    indexed_at: str
    publisher: str | None = None
    publication_no: str | None = None
    year: str | None = None
    notes: list[str] = field(default_factory=list)
    register_entry: dict | None = None  # the register's facts for these bytes when they were indexed (register.Entry.facts)

    @property
    def name(self) -> str:
        return self.names[0]


@dataclass
class FailedFile:
    name: str
    sha256: str | None
    reason: str


@dataclass
class Manifest:
    generation: str
    created_at: str
    model: dict
    chunking: dict
    documents: dict[str, DocumentRecord] = field(default_factory=dict)  # by sha256
    failed: dict[str, FailedFile] = field(default_factory=dict)  # by file name, as of the run that wrote this generation
    format: int = FORMAT

    def by_name(self) -> dict[str, DocumentRecord]:
        return {name: record for record in self.documents.values() for name in record.names}

    @property
    def total_chunks(self) -> int:
        return sum(record.chunks for record in self.documents.values())

    @property
    def total_pages(self) -> int:
        return sum(record.pages for record in self.documents.values())

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Manifest":
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise ValueError(f"unsupported manifest format {data.get('format')!r}")
        data["documents"] = {sha: DocumentRecord(**record) for sha, record in data["documents"].items()}
        data["failed"] = {name: FailedFile(**record) for name, record in data["failed"].items()}
        return cls(**data)


def chunking_settings(chunk_tokens: int, chunk_overlap: int) -> dict:
    return {"chunk_tokens": chunk_tokens, "chunk_overlap": chunk_overlap, "pipeline": PIPELINE_VERSION}
