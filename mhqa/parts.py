"""Each document's share of the BM25 arrays and the vocabulary, kept so that a re-index redoes only its documents.

A part is derived from one document's chunks alone (lexical.LexicalPart, vocabulary.VocabularyPart):
it holds for that content under any file name and beside any other documents. The indexer writes
the part of each document it reads and links those of the documents it keeps from the previous
generation; retrieve.lexical_index combines the parts into the generation's arrays and vocabulary.
Re-deriving them from every chunk took 25 s of a one-file re-index at 10,000 pages.

A part is used only when it reads back whole (the zip's CRC), is of this format and of these
tokens, and lists exactly the chunk ids the manifest gives its document; otherwise it is derived
again from that document's chunks.

Layout: LEXICAL_DIR/parts/v{TOKENS_VERSION}.{FORMAT}/SHA256.npz (uncompressed numpy arrays and
one JSON member), written under a scratch name and renamed, never changed after: generations
share a part by a hard link.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .lexical import TOKENS_VERSION, LexicalPart, lexical_part, lexical_text
from .vocabulary import VocabularyPart, vocabulary_part

FORMAT = 1  # bump when what a part holds changes: parts of another format are not read


@dataclass
class DocumentPart:
    ids: list[str]  # the document's chunk ids, in position order
    lexical: LexicalPart
    vocabulary: VocabularyPart


def document_part(chunks: Sequence[tuple[str, str, str, str]]) -> DocumentPart:
    """The part of one document from its chunks: (chunk id, title, section, text) each, in position order."""
    return DocumentPart(
        [id_ for id_, _, _, _ in chunks],
        lexical_part([lexical_text(title, section, text) for _, title, section, text in chunks]),
        vocabulary_part([(title, section, text) for _, title, section, text in chunks]),
    )


def folder(lexical_dir: Path) -> Path:
    return lexical_dir / "parts" / f"v{TOKENS_VERSION}.{FORMAT}"


def save(lexical_dir: Path, sha: str, part: DocumentPart) -> None:
    """Write the part of document `sha` (whole or not at all: readers may be combining parts)."""
    target = folder(lexical_dir)
    target.mkdir(parents=True, exist_ok=True)
    meta = {"format": FORMAT, "tokens": TOKENS_VERSION, "sha": sha, "ids": part.ids, "terms": part.lexical.terms, "vocabulary": part.vocabulary.as_json()}
    scratch = target / f".{sha}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        with scratch.open("wb") as handle:
            np.savez(
                handle,
                meta=np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8),
                starts=part.lexical.starts,
                term_ids=part.lexical.term_ids,
                counts=part.lexical.counts,
            )
        os.replace(scratch, target / f"{sha}.npz")
    finally:
        scratch.unlink(missing_ok=True)


def load(lexical_dir: Path, sha: str, chunk_ids: Sequence[str]) -> DocumentPart | None:
    """The saved part of document `sha`, or None when it is missing, damaged, of another version or
    of other chunks than `chunk_ids` (the manifest's)."""
    try:
        with np.load(folder(lexical_dir) / f"{sha}.npz", allow_pickle=False) as data:
            meta = json.loads(data["meta"].tobytes().decode("utf-8"))
            arrays = [data[name] for name in ("starts", "term_ids", "counts")]
        if (meta["format"], meta["tokens"], meta["sha"]) != (FORMAT, TOKENS_VERSION, sha) or meta["ids"] != list(chunk_ids):
            return None
        if any(array.ndim != 1 or array.dtype.kind != "i" for array in arrays):
            return None
        lexical = LexicalPart(meta["terms"], *arrays)
        if lexical.chunks != len(chunk_ids) or not lexical.valid():
            return None
        return DocumentPart(meta["ids"], lexical, VocabularyPart.from_json(meta["vocabulary"]))
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):  # missing or damaged
        return None


def link(source_dir: Path, target_dir: Path, shas: Iterable[str]) -> None:
    """Give generation `target_dir` the parts generation `source_dir` has of documents `shas`
    (hard links; copies where links fail). A part missing there is derived when combining."""
    source, target = folder(source_dir), folder(target_dir)
    if not source.is_dir():
        return  # an index from before parts
    target.mkdir(parents=True, exist_ok=True)
    for sha in shas:
        name = f"{sha}.npz"
        try:
            os.link(source / name, target / name)
        except (FileNotFoundError, FileExistsError):
            continue
        except OSError:  # another file system, or no links there
            try:
                shutil.copyfile(source / name, target / name)
            except OSError:
                continue
