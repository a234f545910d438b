"""Stage 1, PDF -> pages: read one file with pypdf into page texts, or say why it cannot be read.

pypdf reports problems through the `pypdf` logger and `warnings`; both are
captured here and kept as notes, so they never reach the user's terminal as noise.
"""

from __future__ import annotations

import hashlib
import logging
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from .errors import UnreadablePdf


@dataclass(frozen=True)
class PdfLine:
    text: str
    size: float  # effective font size of the line's largest text
    bold: bool  # every non-blank piece of the line is in a bold face
    cells: bool = False  # the cells of a table row, side by side


@dataclass(frozen=True)
class PdfPage:
    number: int  # 1-based physical page
    lines: tuple[PdfLine, ...]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


@dataclass
class PdfDocument:
    path: Path
    pages: list[PdfPage]
    metadata_title: str | None
    notes: list[str] = field(default_factory=list)  # pages skipped, damage pypdf recovered from
    metadata_publisher: str | None = None  # the info dictionary's /Author, else the site named after a web page's title


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_MAGIC = [
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive or Office document"),
    (b"{\\rtf", "an RTF document"),
    (b"<!DOCTYPE html", "an HTML page"),
    (b"<html", "an HTML page"),
]


def _sniff_not_pdf(head: bytes) -> str:
    for magic, what in _MAGIC:
        if head.lstrip().lower().startswith(magic.lower()):
            return f"not a PDF (it looks like {what})"
    try:
        head.decode("utf-8")
        return "not a PDF (it looks like plain text)"
    except UnicodeDecodeError:
        return "not a PDF (no %PDF header)"


class _LogCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class _quiet_pypdf:
    """Route pypdf's logger and warnings into a list for the duration of a read."""

    def __enter__(self) -> list[str]:
        self._logger = logging.getLogger("pypdf")
        self._collector = _LogCollector()
        self._saved = (self._logger.handlers[:], self._logger.propagate, self._logger.level)
        self._logger.handlers = [self._collector]
        self._logger.propagate = False
        self._logger.setLevel(logging.WARNING)
        self._warnings = warnings.catch_warnings(record=True)
        self._caught = self._warnings.__enter__()
        warnings.simplefilter("always")
        return self._collector.messages

    def __exit__(self, *exc: object) -> None:
        self._collector.messages.extend(str(w.message) for w in self._caught)
        self._warnings.__exit__(*exc)
        self._logger.handlers, self._logger.propagate, level = self._saved
        self._logger.setLevel(level)


def _damage(path: Path, size: int, exc: BaseException) -> str:
    """Why pypdf could not open a file that starts like a PDF: cut short, or otherwise damaged."""
    with path.open("rb") as handle:
        handle.seek(max(0, size - 1024))
        tail = handle.read()
    if b"%%EOF" not in tail:  # every complete PDF ends with it; pypdf cannot open one without it
        return "truncated PDF: the end of the file is missing (an incomplete download or copy?)"
    return f"damaged PDF ({_short(exc)})"


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def read_pdf(path: Path, on_page: Callable[[int, int], None] | None = None) -> PdfDocument:
    """Read `path`; raise UnreadablePdf with a maintainer-facing reason if it cannot be indexed."""
    import pypdf
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(1024)
    except OSError as exc:
        raise UnreadablePdf(f"cannot open the file: {exc.strerror or exc}") from None
    if size == 0:
        raise UnreadablePdf("empty file (0 bytes)")
    if b"%PDF-" not in head:
        raise UnreadablePdf(_sniff_not_pdf(head))

    with _quiet_pypdf() as log:
        try:
            reader = pypdf.PdfReader(path, strict=False)
            if reader.is_encrypted:
                try:
                    ok = reader.decrypt("")
                except Exception as exc:  # pypdf raises several types for unsupported ciphers
                    raise UnreadablePdf(f"encrypted and cannot be decrypted: {_short(exc)}") from None
                if not ok:
                    raise UnreadablePdf("encrypted: a password is required to open it")
            count = len(reader.pages)
            if count == 0:
                raise UnreadablePdf("the PDF has no pages")
            title = author = None
            try:
                title, author = ((reader.metadata or {}).get(key) for key in ("/Title", "/Author"))
            except Exception:  # a damaged info dictionary only costs us the title and author
                title = author = None
        except UnreadablePdf:
            raise
        except FileNotDecryptedError:
            raise UnreadablePdf("encrypted: a password is required to open it") from None
        except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
            raise UnreadablePdf(_damage(path, size, exc)) from None
        except RecursionError:
            raise UnreadablePdf("damaged PDF (its object tree loops)") from None

        notes: list[str] = []
        result: list[PdfPage] = []
        texts_found = 0
        for index in range(count):
            try:
                lines = _styled_lines(reader.pages[index])
            except FileNotDecryptedError:
                raise UnreadablePdf("encrypted: a password is required to open it") from None
            except Exception as exc:  # one bad page must not cost the others
                notes.append(f"page {index + 1} could not be read ({_short(exc)}); skipped")
                lines = ()
            if any(line.text.strip() for line in lines):
                texts_found += 1
            result.append(PdfPage(index + 1, lines))
            if on_page:
                on_page(index + 1, count)
    if texts_found == 0:
        if notes and len(notes) == count:
            raise UnreadablePdf("no page could be read: " + notes[0])
        raise UnreadablePdf("no extractable text (scanned images? OCR is not supported)")
    if any(marker in message.lower() for message in log for marker in _REPAIRED):
        notes.append("its cross-reference table was damaged; pypdf rebuilt it")
    title, site = _split_title(title)
    publisher = " ".join(author.split()) if isinstance(author, str) and author.strip() else site
    return PdfDocument(path=path, pages=result, metadata_title=title, notes=notes, metadata_publisher=publisher)


# What pypdf logs when it had to rebuild a damaged cross-reference table.
_REPAIRED = ("xref", "wrong pointing object", "startxref")

_BOLD_FACES = ("bold", "black", "semibold", "heavy", "-md")


@dataclass(frozen=True)
class _Piece:
    text: str
    size: float
    bold: bool
    y: float  # baseline, in points


def _styled_lines(page) -> tuple[PdfLine, ...]:
    """The page's text as pypdf extracts it, line by line, with the font size and weight of each line.

    pypdf's visitor sees exactly the pieces extract_text joins, so the text is the same,
    except that a footnote marker set small against a word ("danger.¹") is dropped. The
    style lets clean.py tell headings from body text without guessing from wording. A
    line whose pieces sit on several baselines is the row of a table, which pypdf puts
    together from cells set side by side (`cells`). Only baselines tell it: the visitor
    reports where a run of text starts, not where its later pieces are, so horizontal
    gaps cannot be trusted.
    """
    lines: list[list[_Piece]] = [[]]

    def visit(text, cm, tm, font, size) -> None:
        scale = abs(tm[3] * cm[3]) or 1.0
        name = str((font or {}).get("/BaseFont", "")).lower()
        bold = any(face in name for face in _BOLD_FACES)
        baseline = tm[5] * cm[3] + cm[5]
        for i, part in enumerate(text.split("\n")):
            if i:
                lines.append([])
            if part:
                lines[-1].append(_Piece(part, round(size * scale, 1), bold, baseline))

    page.extract_text(visitor_text=visit)
    out = []
    for pieces in lines:
        pieces = _without_note_markers(pieces)
        text = "".join(piece.text for piece in pieces)
        signal = [p for p in pieces if p.text.strip() and p.text.strip() not in "●•▪◦"]
        if text.strip():
            size = max((p.size for p in signal), default=0.0)
            baselines = [p.y for p in signal] or [0.0]
            cells = max(baselines) - min(baselines) > 0.5 * size
            out.append(PdfLine(text, size, bool(signal) and all(p.bold for p in signal), cells))
    return tuple(out)


_NOTE_MARKER = re.compile(r"^[0-9*†‡§]{1,3}$")


def _without_note_markers(pieces: list[_Piece]) -> list[_Piece]:
    """Drop footnote markers: a number or symbol set at most 3/4 the size of the word it is glued to."""
    kept: list[_Piece] = []
    for i, piece in enumerate(pieces):
        before = kept[-1] if kept else None
        after = pieces[i + 1].text if i + 1 < len(pieces) else ""
        if (
            before is not None and _NOTE_MARKER.match(piece.text) and piece.size <= 0.75 * before.size
            and before.text[-1:].strip() and not after[:1].isalnum()
        ):
            continue
        kept.append(piece)
    return kept


# A browser titles a printed page "Page title - Site name" (or "|", "–"): the site is split off
# when it reads as an organisation's name ("... Institute ...", "... (ACRONYM)").
_SITE_SUFFIX = re.compile(r"^(?P<title>.+?)\s+[-|–—]\s+(?P<site>[^-|–—]+)$")
_ORGANISATION = re.compile(
    r"\b(?:Institutes?|Organi[sz]ation|Agency|Administration|Department|Cent(?:er|re)|Association|Society|College"
    r"|Services?|Foundation|Council|Ministry|Office|Board|Trust|Network|Alliance)\b|\([A-Z]{2,8}\)$"
)


def _split_title(title: object) -> tuple[str | None, str | None]:
    """(title, site name) from the PDF's /Title."""
    if not isinstance(title, str):
        return None, None
    title = " ".join(title.split())
    match = _SITE_SUFFIX.match(title)
    if match and _ORGANISATION.search(match["site"]):
        return match["title"], re.sub(r"\s*\([A-Z]{2,8}\)$", "", match["site"])
    return title or None, None
