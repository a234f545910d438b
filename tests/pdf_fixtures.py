"""Real-bytes fixture builders for corpus/ingest tests.

Every builder writes actual bytes to the path it is given (parents are
created) and returns that path; the text-bearing PDF builders return a
``PdfFixture(path, pages)`` whose ``pages`` is what pypdf 7.1
``page.extract_text()`` yields for each page (``None`` for a page that raises).

No third-party PDF writer: PDFs are serialised by hand (standard Helvetica +
WinAnsiEncoding, so cp1252 text incl. é ü ’ — € works with no font embedding);
only ``encrypted`` uses pypdf (PdfWriter) to build.  ``python tests/pdf_fixtures.py`` builds
everything into a temp dir and prints how pypdf reacts to each file.

See tests/PDF_FIXTURES.md for the probe results these builders were tuned on.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import struct
import textwrap
import zipfile
import zlib
from pathlib import Path
from typing import NamedTuple

StrPath = str | os.PathLike[str]

__all__ = [
    "PdfFixture",
    "text_pdf",
    "expected_lines",
    "zero_byte",
    "renamed_text",
    "renamed_png",
    "renamed_html",
    "truncated",
    "corrupted_xref",
    "encrypted",
    "image_only",
    "page_raises",
    "large_pdf",
    "duplicate",
    "unicode_named",
    "symlink",
    "docx_like",
    "plain_text",
    "markdown",
    "ds_store",
    "png_bytes",
    "large_page_marker",
    "UNICODE_NAME",
]

UNICODE_NAME = "Dépression guide 2024.pdf"


class PdfFixture(NamedTuple):
    path: Path
    # Expected pypdf extract_text() per page; None = that page raises.
    pages: list[str | None]


def _prep(path: StrPath) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


# --------------------------------------------------------------------------
# Minimal PDF serialiser (classic xref table, PDF 1.4)
# --------------------------------------------------------------------------


class _PdfBuilder:
    """Collects numbered objects and serialises them with a correct xref."""

    def __init__(self) -> None:
        self._objs: list[bytes | None] = []

    def reserve(self) -> int:
        self._objs.append(None)
        return len(self._objs)

    def set(self, num: int, body: bytes) -> int:
        self._objs[num - 1] = body
        return num

    def add(self, body: bytes) -> int:
        return self.set(self.reserve(), body)

    def stream(self, data: bytes, extra: bytes = b"", compress: bool = False) -> int:
        if compress:
            data = zlib.compress(data)
            extra += b" /Filter /FlateDecode"
        head = b"<< /Length %d%s >>\nstream\n" % (len(data), extra)
        return self.add(head + data + b"\nendstream")

    def tobytes(self, root: int, info: int | None = None) -> bytes:
        # Binary comment line so tools treat the file as binary (per spec).
        out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for i, body in enumerate(self._objs, start=1):
            if body is None:
                raise ValueError(f"object {i} reserved but never set")
            offsets.append(len(out))
            out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
        xref_at = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
        for off in offsets:
            out += b"%010d 00000 n \n" % off
        trailer = b"/Size %d /Root %d 0 R" % (len(offsets) + 1, root)
        if info is not None:
            trailer += b" /Info %d 0 R" % info
        out += b"trailer\n<< " + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref_at
        return bytes(out)


def _pdf_literal(raw: bytes) -> bytes:
    """PDF literal string; non-printables as octal so the file stays 7-bit clean."""
    out = bytearray(b"(")
    for b in raw:
        if b in b"\\()":
            out += b"\\" + bytes([b])
        elif 32 <= b < 127:
            out.append(b)
        else:
            out += b"\\%03o" % b
    return bytes(out + b")")


def _pdf_text_string(s: str) -> bytes:
    """Info-dictionary text string: UTF-16BE with BOM handles any Unicode."""
    return b"<FEFF" + s.encode("utf-16-be").hex().upper().encode() + b">"


def _encode_winansi(text: str) -> bytes:
    try:
        return text.encode("cp1252")
    except UnicodeEncodeError as exc:  # e.g. CJK, emoji: no glyph in base-14 fonts
        raise ValueError(
            f"text_pdf supports cp1252/WinAnsi characters only; got {exc.object[exc.start]!r}"
        ) from exc


_PAGE_W, _PAGE_H, _MARGIN = 612, 792, 72  # US Letter, 1in margins
_BASE_SIZE = 10.0
_CHARS_PER_LINE_AT_10PT = 90  # ~Helvetica average width; only affects layout, not extraction


def _layout(text: str) -> tuple[list[str], float]:
    """Wrap to page width; shrink the font (down to 4pt) until it fits one page."""
    size = _BASE_SIZE
    while True:
        width = max(20, int(_CHARS_PER_LINE_AT_10PT * _BASE_SIZE / size))
        lines: list[str] = []
        for para in text.split("\n"):
            # replace_whitespace=False keeps tabs/control chars as given.
            lines.extend(
                textwrap.wrap(para, width, expand_tabs=False, replace_whitespace=False,
                              break_on_hyphens=False)
                or [""]
            )
        while len(lines) > 1 and not lines[-1]:
            lines.pop()  # a trailing empty line would make pypdf emit a trailing '\n'
        if len(lines) * size * 1.2 <= _PAGE_H - 2 * _MARGIN or size <= 4:
            # Past 4pt lines run off the page bottom: invisible but still extracted.
            return lines, size
        size = max(4.0, size * 0.85)


def _expected(lines: list[str]) -> str:
    # pypdf emits one '\n' per line change and nothing for an empty line.
    return "\n".join(line for line in lines if line)


def expected_lines(text: str) -> str:
    """What pypdf extracts for a text_pdf page: non-empty wrapped lines joined by '\\n'."""
    return _expected(_layout(text)[0])


def _text_content(lines: list[str], size: float) -> bytes:
    leading = size * 1.2
    ops = [b"BT", b"/F1 %.2f Tf" % size, b"%.2f TL" % leading,
           b"%d %.2f Td" % (_MARGIN, _PAGE_H - _MARGIN - size)]
    for i, line in enumerate(lines):
        if i:
            ops.append(b"T*")
        ops.append(_pdf_literal(_encode_winansi(line)) + b" Tj")
    ops.append(b"ET")
    return b"\n".join(ops) + b"\n"


_HELVETICA = (b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
              b"/Encoding /WinAnsiEncoding >>")


def _info(b: _PdfBuilder, title: str | None, author: str | None) -> int | None:
    if title is None and author is None:
        return None
    entries = b"/Producer (mhqa test fixtures)"
    if title is not None:
        entries += b" /Title " + _pdf_text_string(title)
    if author is not None:
        entries += b" /Author " + _pdf_text_string(author)
    return b.add(b"<< " + entries + b" >>")


def _finish(b: _PdfBuilder, contents: list[int], resources: bytes,
            info: int | None = None) -> bytes:
    """Page per content-stream object (sharing `resources`), pages tree, catalog."""
    pages_num = b.reserve()
    kids = [b.add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %d %d] "
                  b"/Resources %s /Contents %d 0 R >>"
                  % (pages_num, _PAGE_W, _PAGE_H, resources, c)) for c in contents]
    b.set(pages_num, b"<< /Type /Pages /Kids [%s] /Count %d >>"
          % (b" ".join(b"%d 0 R" % k for k in kids), len(kids)))
    root = b.add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_num)
    return b.tobytes(root, info)


# --------------------------------------------------------------------------
# 1. Text PDF (the workhorse)
# --------------------------------------------------------------------------


def text_pdf(path: StrPath, pages: list[str], title: str | None = None,
             author: str | None = None) -> PdfFixture:
    """One PDF page per string; '\\n' starts a new line, long lines are wrapped.

    Extracted text == expected_lines(page): identical to the input except that
    wrapping turns some spaces into '\\n' and runs of spaces at wrap points are
    dropped.  Characters must be cp1252 (ValueError otherwise).  Control chars
    (e.g. ESC) are written as-is and survive extraction; see PDF_FIXTURES.md.
    """
    p = _prep(path)
    if not pages:
        raise ValueError("a PDF needs at least one page")
    b = _PdfBuilder()
    font = b.add(_HELVETICA)
    layouts = [_layout(t) for t in pages]
    contents = [b.stream(_text_content(*lo), compress=True) for lo in layouts]
    p.write_bytes(_finish(b, contents, b"<< /Font << /F1 %d 0 R >> >>" % font,
                          _info(b, title, author)))
    return PdfFixture(p, [_expected(lines) for lines, _ in layouts])


# --------------------------------------------------------------------------
# 2-4. Not-really-PDFs and damaged PDFs
# --------------------------------------------------------------------------


def zero_byte(path: StrPath) -> Path:
    p = _prep(path)
    p.write_bytes(b"")
    return p


def renamed_text(path: StrPath, text: str = "Just some notes, not a PDF.\nSecond line.\n") -> Path:
    p = _prep(path)
    p.write_text(text, encoding="utf-8")
    return p


def renamed_html(path: StrPath) -> Path:
    """An HTML error page saved as .pdf (what a failed download usually leaves)."""
    p = _prep(path)
    p.write_text("<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>"
                 "<body><h1>Not Found</h1></body></html>\n", encoding="utf-8")
    return p


def png_bytes(width: int = 16, height: int = 16) -> bytes:
    """A valid RGB PNG (gradient) built with zlib only, no Pillow needed."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in (x * 255 // max(1, width - 1),
                                                         y * 255 // max(1, height - 1), 128))
        for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def renamed_png(path: StrPath) -> Path:
    p = _prep(path)
    p.write_bytes(png_bytes())
    return p


def truncated(path: StrPath, source_pdf: StrPath, fraction: float = 0.6) -> Path:
    """First `fraction` of source bytes: loses xref, trailer and %%EOF.

    pypdf 7.1 cannot open any such cut (even losing just the final "%%EOF").
    """
    data = Path(source_pdf).read_bytes()
    p = _prep(path)
    p.write_bytes(data[: int(len(data) * fraction)])
    return p


def corrupted_xref(path: StrPath, source_pdf: StrPath, mode: str = "offsets") -> Path:
    """Damage the (last) classic xref table of source_pdf.

    mode:
      "offsets"   - every in-use entry points at a wrong (shifted) byte offset;
      "startxref" - startxref points to a garbage offset past the xref;
      "garbage"   - xref table + trailer overwritten with random bytes
                    (same length, so nothing else moves; no trailer/Root left).
    """
    data = bytearray(Path(source_pdf).read_bytes())
    m = list(re.finditer(rb"startxref\s+(\d+)", bytes(data)))
    if not m:
        raise ValueError("source has no startxref")
    last = m[-1]
    xref_at = int(last.group(1))
    if data[xref_at:xref_at + 4] != b"xref":
        raise ValueError("source uses an xref stream; only classic tables are supported")
    if mode == "offsets":
        end = data.index(b"trailer", xref_at)
        table = bytes(data[xref_at:end])
        # Shift each in-use offset by +37 (same width) so objects are "not found there".
        table = re.sub(rb"(\d{10}) (\d{5}) n",
                       lambda mm: b"%010d %s n" % (int(mm.group(1)) + 37, mm.group(2)), table)
        data[xref_at:end] = table
    elif mode == "startxref":
        num = last.group(1)
        bad = str(len(data) * 3).encode()[: len(num)].rjust(len(num), b"9")
        data[last.start(1):last.end(1)] = bad
    elif mode == "garbage":
        rng = random.Random(1234)
        end = last.start() - 1  # keep the EOL before "startxref" so it is still found
        data[xref_at:end] = bytes(rng.randrange(256) for _ in range(end - xref_at))
    else:
        raise ValueError(f"unknown mode {mode!r}")
    p = _prep(path)
    p.write_bytes(bytes(data))
    return p


# --------------------------------------------------------------------------
# 6. Encryption
# --------------------------------------------------------------------------


def encrypted(path: StrPath, source_pdf: StrPath, user_password: str = "",
              owner_password: str | None = "owner-secret",
              algorithm: str = "RC4-128") -> Path:
    """Encrypt source_pdf with pypdf.

    user_password="" gives a file any reader opens silently (only the owner
    password restricts); a non-empty one needs the password to read.
    RC4 works with pypdf's pure-Python fallback; "AES-128"/"AES-256" need the
    `cryptography` package at *build* time (pypdf raises DependencyError).
    """
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=str(source_pdf))
    writer.encrypt(user_password, owner_password, algorithm=algorithm)
    p = _prep(path)
    with open(p, "wb") as fh:
        writer.write(fh)
    return p


# --------------------------------------------------------------------------
# 7. Image-only ("scanned") PDF
# --------------------------------------------------------------------------


def image_only(path: StrPath, pages: int = 2) -> Path:
    """Each page paints one grayscale image XObject; there is no text operator."""
    p = _prep(path)
    b = _PdfBuilder()
    w = h = 64
    # Stripes pattern so it's a plausible image, Flate-compressed like real scans.
    pixels = bytes(((x // 8 + y // 8) % 2) * 200 + 30 for y in range(h) for x in range(w))
    img = b.stream(pixels, b" /Type /XObject /Subtype /Image /Width %d /Height %d "
                   b"/ColorSpace /DeviceGray /BitsPerComponent 8" % (w, h), compress=True)
    # One shared content stream: every page just paints the image full-size.
    c = b.stream(b"q 468 0 0 648 72 72 cm /Im1 Do Q\n", compress=True)
    p.write_bytes(_finish(b, [c] * pages, b"<< /XObject << /Im1 %d 0 R >> >>" % img))
    return p


# --------------------------------------------------------------------------
# 8. One page whose extraction raises
# --------------------------------------------------------------------------


def page_raises(path: StrPath, pages: int = 3, bad_page: int = 2,
                how: str = "filter", texts: list[str] | None = None) -> PdfFixture:
    """Multi-page text PDF where page `bad_page` (1-based) raises on extract_text().

    how:
      "filter" - its content stream declares an unknown /Filter /MhqaBogusDecode
                 -> NotImplementedError("Unsupported filter /MhqaBogusDecode");
      "hex"    - /ASCIIHexDecode stream with non-hex bytes
                 -> pypdf.errors.PdfStreamError("Invalid hexadecimal character ...");
      "syntax" - unfiltered content stream with unbalanced '(' / '[' operands
                 -> pypdf.errors.PdfStreamError("Stream has ended unexpectedly").
    Opening the file and the other pages are unaffected.  (A corrupt Flate
    stream or a missing font does NOT raise: pypdf logs and returns ''/U+FFFD.)
    `texts`: one string per page instead of the default lines (which differ only by
    their page number, so a cleaner may take them for a running header).
    """
    if not 1 <= bad_page <= pages:
        raise ValueError("bad_page out of range")
    p = _prep(path)
    if texts is None:
        texts = [f"Page {i} of the page-raises fixture. Good text on page {i}."
                 for i in range(1, pages + 1)]
    elif len(texts) != pages:
        raise ValueError("need one text per page")
    b = _PdfBuilder()
    font = b.add(_HELVETICA)
    contents = []
    for i, t in enumerate(texts, start=1):
        content = _text_content(*_layout(t))
        if i != bad_page:
            contents.append(b.stream(content, compress=True))
        elif how == "filter":
            contents.append(b.stream(content, b" /Filter /MhqaBogusDecode"))
        elif how == "hex":
            contents.append(b.stream(b"48656C6C6F ZZ not hex at all >", b" /Filter /ASCIIHexDecode"))
        elif how == "syntax":
            contents.append(b.stream(b"BT /F1 12 Tf 72 700 Td ((((( Tj ET ] >> << [[[ 1 2 Tz"))
        else:
            raise ValueError(f"unknown how {how!r}")
    p.write_bytes(_finish(b, contents, b"<< /Font << /F1 %d 0 R >> >>" % font))
    return PdfFixture(p, [None if i == bad_page else t for i, t in enumerate(texts, start=1)])


# --------------------------------------------------------------------------
# 9. Large PDF
# --------------------------------------------------------------------------

_WORDS = ("patient clinician symptom depression anxiety therapy medication dose "
          "sleep appetite mood energy support family school work risk safety plan "
          "assessment follow-up screening referral counseling psychotherapy trial "
          "adolescent adult episode recovery relapse monitoring guideline evidence").split()


def large_page_marker(n: int) -> str:
    """Unique token on page n (1-based) of large_pdf, for locating chunks."""
    return f"MHQA-PAGE-{n:05d}"


def large_pdf(path: StrPath, pages: int = 1200, seed: int = 7) -> PdfFixture:
    """`pages` generated text pages, each with a unique marker and distinct prose."""
    rng = random.Random(seed)
    texts = []
    for n in range(1, pages + 1):
        sentences = []
        for _ in range(rng.randint(6, 12)):
            words = rng.sample(_WORDS, rng.randint(6, 14))
            sentences.append(" ".join(words).capitalize() + ".")
        texts.append(f"{large_page_marker(n)} Section {n}. " + " ".join(sentences))
    return text_pdf(path, texts, title=f"Large fixture ({pages} pages)")


# --------------------------------------------------------------------------
# 10. Names, duplicates, symlinks
# --------------------------------------------------------------------------


def duplicate(path_a: StrPath, path_b: StrPath) -> tuple[Path, Path]:
    """Copy path_a's bytes to path_b (same content, different name)."""
    b = _prep(path_b)
    shutil.copyfile(path_a, b)
    return Path(path_a), b


def unicode_named(directory: StrPath, name: str = UNICODE_NAME,
                  text: str = "Guide sur la dépression — café, über, l’aide.") -> PdfFixture:
    """A valid text PDF whose file name has non-ASCII characters and spaces."""
    return text_pdf(Path(directory) / name, [text], title=Path(name).stem)


def symlink(link_path: StrPath, target: StrPath) -> Path:
    """Symlink link_path -> target (target may be missing: dangling link)."""
    link = _prep(link_path)
    if link.is_symlink() or link.exists():
        link.unlink()
    os.symlink(target, link)
    return link


# --------------------------------------------------------------------------
# 11. Non-PDF files that may sit in the corpus folder
# --------------------------------------------------------------------------


def docx_like(path: StrPath) -> Path:
    """A minimal OOXML zip (starts with 'PK\\x03\\x04', as real .docx do)."""
    p = _prep(path)
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/content-types"><Override PartName="/word/'
                   'document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                   'wordprocessingml.document.main+xml"/></Types>')
        z.writestr("word/document.xml",
                   '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.'
                   'org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Hello</w:t></w:r>'
                   '</w:p></w:body></w:document>')
    return p


def plain_text(path: StrPath, text: str = "Plain text notes about depression.\n") -> Path:
    p = _prep(path)
    p.write_text(text, encoding="utf-8")
    return p


def markdown(path: StrPath, text: str = "# Notes\n\n- not a PDF\n- *still* not\n") -> Path:
    p = _prep(path)
    p.write_text(text, encoding="utf-8")
    return p


def ds_store(path: StrPath) -> Path:
    """Bytes shaped like a macOS .DS_Store (Bud1 header); content is irrelevant."""
    p = _prep(path)
    p.write_bytes(b"\x00\x00\x00\x01Bud1" + b"\x00" * 8 + b"\x10\x00" + b"\x00" * 2030)
    return p


# --------------------------------------------------------------------------
# Self-check: build everything and show how pypdf reacts
# --------------------------------------------------------------------------


def _probe(path: Path) -> dict:
    """Open with PdfReader (strict=False) and extract each page, capturing pypdf's
    logger records (its non-fatal warnings) and any warnings.warn calls."""
    import logging
    import time
    import warnings

    from pypdf import PdfReader

    logs: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, rec: logging.LogRecord) -> None:
            logs.append(f"{rec.name}: {rec.getMessage()}")

    pypdf_logger = logging.getLogger("pypdf")
    handler, old_propagate = _Collect(), pypdf_logger.propagate
    pypdf_logger.addHandler(handler)
    pypdf_logger.propagate = False
    res: dict = {"open_error": None, "page_errors": [], "pages": 0, "chars": 0, "enc": None}
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                reader = PdfReader(path)
                res["enc"] = reader.is_encrypted  # known before any decryption
                res["pages"] = len(reader.pages)  # raises here if a password is needed
                for i, page in enumerate(reader.pages, start=1):
                    try:
                        res["chars"] += len(page.extract_text().strip())
                    except Exception as exc:  # noqa: BLE001 - probing
                        res["page_errors"].append(f"p{i} {type(exc).__name__}: {exc}")
            except Exception as exc:  # noqa: BLE001 - probing
                res["open_error"] = f"{type(exc).__name__}: {exc}"
        res["warnings"] = [f"{w.category.__name__}: {w.message}" for w in caught]
    finally:
        pypdf_logger.removeHandler(handler)
        pypdf_logger.propagate = old_propagate
    res["secs"] = time.perf_counter() - t0
    res["logs"] = logs
    return res


def _build_all(d: Path) -> dict[str, Path]:
    corpus = Path(__file__).resolve().parent.parent / "corpus"
    src = corpus / "nimh-warning-signs-of-suicide.pdf"
    if not src.exists():  # keep the self-check usable without the corpus
        src = text_pdf(d / "_source.pdf", ["Source page one.", "Source page two."]).path
    out: dict[str, Path] = {}
    out["text_pdf"] = text_pdf(
        d / "text.pdf",
        ["Café über naïve — it’s “quoted”.", "[bold red]x[/] \x1b[2J " + "long " * 600],
        title="Dépression", author="Zoë").path
    out["zero_byte"] = zero_byte(d / "empty.pdf")
    out["renamed_text"] = renamed_text(d / "notes.pdf")
    out["renamed_png"] = renamed_png(d / "scan.pdf")
    out["renamed_html"] = renamed_html(d / "download.pdf")
    out["truncated 0.6"] = truncated(d / "truncated.pdf", src)
    for mode in ("offsets", "startxref", "garbage"):
        out[f"corrupted_xref {mode}"] = corrupted_xref(d / f"xref-{mode}.pdf", src, mode=mode)
    out["encrypted RC4 pw=''"] = encrypted(d / "enc-open.pdf", src)
    out["encrypted RC4 pw=s3cret"] = encrypted(d / "enc-locked.pdf", src, user_password="s3cret")
    try:
        import cryptography  # noqa: F401 - only needed to *write* AES files
        out["encrypted AES-256 pw=''"] = encrypted(d / "enc-aes.pdf", src, algorithm="AES-256")
    except ImportError:
        pass
    out["image_only"] = image_only(d / "image-only.pdf")
    for how in ("filter", "hex", "syntax"):
        out[f"page_raises {how}"] = page_raises(d / f"page-raises-{how}.pdf", how=how).path
    out["large_pdf 1200"] = large_pdf(d / "large.pdf").path
    out["duplicate"] = duplicate(out["text_pdf"], d / "text copy.pdf")[1]
    out["unicode_named"] = unicode_named(d).path
    out["symlink"] = symlink(d / "link.pdf", out["text_pdf"])
    out["symlink dangling"] = symlink(d / "dangling.pdf", d / "missing.pdf")
    out["docx_like .docx"] = docx_like(d / "guide.docx")
    out["docx_like as .pdf"] = docx_like(d / "guide-docx.pdf")
    out["plain_text .txt"] = plain_text(d / "readme.txt")
    out["markdown .md"] = markdown(d / "notes.md")
    out["ds_store"] = ds_store(d / ".DS_Store")
    return out


if __name__ == "__main__":
    import tempfile
    import time

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        built = _build_all(Path(tmp))
        print(f"built {len(built)} fixtures in {time.perf_counter() - t0:.2f}s (pypdf strict=False)\n")
        # Round-trip: builders' expected text must equal what pypdf extracts.
        from pypdf import PdfReader

        for fx in (text_pdf(Path(tmp) / "rt.pdf", ["é ü ’ — € ™", "a\tb \x1b[31m\x00\x07",
                                                   "[bold]x[/]\n\nnext", "w " * 900]),
                   page_raises(Path(tmp) / "rt-raise.pdf")):
            for page, want in zip(PdfReader(fx.path).pages, fx.pages):
                if want is not None:
                    assert page.extract_text() == want, (fx.path.name, want[:40])
        print("round-trip of expected page texts: OK\n")
        print(f"{'fixture':26} {'bytes':>8} {'secs':>6}  outcome")
        for name, path in built.items():
            size = path.stat().st_size if path.exists() else -1
            r = _probe(path)
            if r["open_error"]:
                outcome = "FAILS " + r["open_error"]
                if r["enc"]:
                    outcome = "encrypted=True, pages " + outcome
            else:
                outcome = f"pages={r['pages']} chars={r['chars']} encrypted={r['enc']}"
                outcome += "".join(f" | {e}" for e in r["page_errors"])
            print(f"{name:26} {size:>8} {r['secs']:>6.3f}  {outcome[:110]}")
            extra = r["logs"] + r["warnings"]
            for m in extra[:2]:
                print(f"{'':44}log {m[:90]!r}")
            if len(extra) > 2:
                print(f"{'':44}... {len(extra)} log records in all")
