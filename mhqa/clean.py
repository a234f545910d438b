"""Stage 2, pages -> clean text: turn pypdf's page texts into headings, paragraphs and list items.

What it undoes, in order: control characters and invisible formatting, running
headers and footers, page numbers, the chrome of a web page printed from a browser
(the page address, the site's banner, buttons and navigation), words broken across
lines ("no r\\neason") and hyphenation. A
paragraph that runs over a page break stays one block, which notes where each later
page starts in its text; chunk.py then gives every sentence the page it starts on.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, replace
from itertools import groupby
from typing import Collection, Iterable

from .pdf import PdfPage

HEADING, TEXT, ITEM = "heading", "text", "item"


@dataclass(frozen=True)
class Block:
    kind: str  # HEADING, TEXT or ITEM
    text: str
    page: int  # 1-based physical page where the block starts
    turns: tuple[tuple[int, int], ...] = ()  # (offset in text, page) where the block runs onto a later page

    def page_at(self, offset: int) -> int:
        """The page that the character at `offset` is on."""
        return next((page for start, page in reversed(self.turns) if offset >= start), self.page)


@dataclass(frozen=True)
class DocumentInfo:
    title: str
    publisher: str | None
    publication_no: str | None
    year: str | None
    licence: str | None = None  # as the document states it


# --- characters -----------------------------------------------------------------------

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u206f\ufeff\ue000-\uf8ff]"
)
_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "\u00a0": " ", "\t": " "})


def clean_chars(text: str) -> str:
    """Remove what could style, move or hide text on a terminal, and unify spacing characters.

    Used on PDF text and on questions alike.
    """
    text = unicodedata.normalize("NFC", text).translate(_LIGATURES)
    text = _ANSI.sub("", text)
    return _INVISIBLE.sub("", text)


def clean_line(text: str) -> str:
    """clean_chars, then every run of spaces and line breaks as one space: one line of plain text."""
    return " ".join(clean_chars(text).split())


# --- lines that are not content -------------------------------------------------------

_URL_ONLY = re.compile(r"^(?:(?:https?://|www\.)\S+|\S+@\S+\.\w+)$", re.IGNORECASE)
# A browser's printout of a web page: the page address in a header or footer ("Site name:
# https://..." as some sites print it, "https://...  2/4" as browsers do), and the labels of
# the site's buttons and links, which become lines of their own.
_ADDRESS_HEADER = re.compile(r"^(?:\w.{0,79}:\s*(https?://\S+)|(https?://\S+)\s+\d{1,4}/\d{1,4})$", re.IGNORECASE)
_SITE_BUTTON = re.compile(
    r"^(?:menu|search|download(?: the)? pdf|order (?:a )?(?:free )?(?:hard ?copy|printed cop(?:y|ies))|en español"
    r"|share(?: this page)?|print(?: this page)?|back to top|skip to (?:main )?content)$",
    re.IGNORECASE,
)
_LINK_ARROW = re.compile(r"^.{1,60}\s[»›]$")  # "Find help »": a link, not text
_SOCIAL_PROMPT = re.compile(r"\b(?:share|follow)\b.{0,60}\bsocial media\b", re.IGNORECASE)
_SYMBOLS_ONLY = re.compile(r"^[\W_]+$")
_PAGE_NUMBER = re.compile(r"^(?:page\s+)?(\d{1,4})(?:\s+of\s+\d{1,4})?$", re.IGNORECASE)


def _digits_masked(line: str) -> str:
    return re.sub(r"\d+", "#", line.lower())


def _running_lines(pages: list[list[str]]) -> set[str]:
    """Lines repeated at the top or bottom of several pages: running headers and footers."""
    if len(pages) < 3:
        return set()
    counts: Counter[str] = Counter()
    for lines in pages:
        counts.update({_digits_masked(line) for line in lines[:3] + lines[-3:]})
    return {line for line, n in counts.items() if n >= max(2, len(pages) // 2) and len(line) < 120}


def _running_edges(pages: list[list[_Line]], body: float) -> set[tuple[int, int]]:
    """(page, position) of first and last lines that are running heads with a changing part
    ("Chapter 2: Diagnosis", "Chapter 3: Treatment"): set smaller than the text, and starting
    with the same word as the line at that edge of a third of the pages or more."""
    if len(pages) < 3 or not body:
        return set()
    edges = [(page, position) for page, lines in enumerate(pages) if lines for position in {0, len(lines) - 1}]
    first_word = {edge: _digits_masked(pages[edge[0]][edge[1]].text).split()[0] for edge in edges}
    counts = Counter((position == 0, word) for (page, position), word in first_word.items())
    return {
        (page, position)
        for (page, position), word in first_word.items()
        if counts[(position == 0, word)] >= max(2, len(pages) // 3)
        and pages[page][position].size < 0.95 * body
        and len(pages[page][position].text) < 120
    }


def _is_page_number(line: str, page: int, page_count: int) -> bool:
    match = _PAGE_NUMBER.match(line)
    return bool(match) and int(match.group(1)) <= page_count + 2 and abs(int(match.group(1)) - page) <= 4


@dataclass(frozen=True)
class _Line:
    page: int
    text: str
    size: float
    bold: bool
    cells: bool = False  # a table row
    note: bool = False  # a footnote


_ICON_BULLET = re.compile("^\\s*[\ue000-\uf8ff]\\s*(?=\\w)")  # icon-font bullets (private-use glyphs)
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?])(?=\s|$)")


def _line_text(raw: str) -> str:
    text = _ICON_BULLET.sub("• ", raw)
    return _SPACE_BEFORE_PUNCT.sub(r"\1", " ".join(clean_chars(text).split()))


def printed_address(texts: list[list[str]]) -> str | None:
    """The page address a browser printed in a page's header or footer (first or last two lines), if any."""
    for lines in texts:
        for line in lines[:2] + lines[-2:]:
            if match := _ADDRESS_HEADER.match(line):
                return match.group(1) or match.group(2)
    return None


def is_web_printout(texts: list[list[str]]) -> bool:
    """A web page printed from a browser: its address in a header or footer, or a site's buttons as lines."""
    buttons = sum(bool(_SITE_BUTTON.match(text.removeprefix("• "))) for lines in texts for text in lines)
    return printed_address(texts) is not None or buttons >= 2


def _site_chrome(line: str) -> bool:
    """In a web printout: the address header, a button or link, an invitation to share the page."""
    return bool(_ADDRESS_HEADER.match(line) or _SITE_BUTTON.match(line) or _LINK_ARROW.match(line) or _SOCIAL_PROMPT.search(line))


def _below_page_title(lines: list[_Line]) -> list[_Line]:
    """A web printout's first page from its title (its largest line, among the first few) on:
    above it is the site's banner ("An official website of ...", notices)."""
    title = max(range(len(lines)), key=lambda i: lines[i].size, default=0)
    return lines[title:] if title <= _BANNER_LINES else lines


_BANNER_LINES = 4


def _content_lines(pages: list[PdfPage]) -> list[_Line]:
    raw = [[_Line(page.number, _line_text(line.text), line.size, line.bold, line.cells) for line in page.lines] for page in pages]
    raw = [[line for line in lines if line.text] for lines in raw]
    texts = [[line.text for line in lines] for lines in raw]
    running = _running_lines(texts)
    running_edges = _running_edges(raw, _body_size([line for lines in raw for line in lines]))
    web_printout = is_web_printout(texts)
    if web_printout and raw:
        raw[0] = _below_page_title(raw[0])
    kept: list[_Line] = []
    for index, (page, lines) in enumerate(zip(pages, raw)):
        for position, line in enumerate(lines):
            edge = position < 3 or position >= len(lines) - 3
            if edge and _digits_masked(line.text) in running or (index, position) in running_edges:
                continue
            if edge and _is_page_number(line.text, page.number, len(pages)):
                continue
            bare = line.text.removeprefix("• ")
            if _URL_ONLY.match(bare) or _SYMBOLS_ONLY.match(bare) or (web_printout and _site_chrome(bare)):
                continue
            kept.append(line)
    kept = _drop_navigation(kept) if web_printout else kept
    return _mark_footnotes(kept, _body_size(kept))


_NOTE_START = re.compile(r"^(?:\d{1,2}|[*†‡§¶])\s+\S")


def _mark_footnotes(lines: list[_Line], body: float) -> list[_Line]:
    """Footnotes: the lines at the foot of a page set smaller than the text, from one that starts with a note number on."""
    out: list[_Line] = []
    for _, group in groupby(lines, key=lambda line: line.page):
        page = list(group)
        foot = len(page)
        while foot > 0 and page[foot - 1].size <= 0.85 * body and not page[foot - 1].cells:
            foot -= 1
        start = next((i for i in range(foot, len(page)) if _NOTE_START.match(page[i].text)), len(page))
        out += page[:start] + [replace(line, note=True) for line in page[start:]]
    return out


def _is_nav_line(line: str) -> bool:
    return len(line.split()) <= 7 and not re.search(r"[.!?:,;]$", line)


def _drop_navigation(lines: list[_Line]) -> list[_Line]:
    """Drop runs of 4+ short link-like lines not introduced by a colon: site menus and link lists."""
    out: list[_Line] = []
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and _is_nav_line(lines[j].text):
            j += 1
        introduced = i > 0 and lines[i - 1].text.endswith(":")
        if j - i >= 4 and not introduced:
            i = j
            continue
        out.extend(lines[i : max(j, i + 1)])
        i = max(j, i + 1)
    return out


# --- words broken across lines ----------------------------------------------------------

_TAIL = re.compile(r"([A-Za-z]+)(-?)$")
_HEAD = re.compile(r"([a-z]+)")


def _is_word(word: str, dictionary: Collection[str]) -> bool:
    word = word.lower()
    return word in dictionary and (len(word) > 1 or word in ("a", "i"))


def join_lines(left: str, right: str, dictionary: Collection[str]) -> str:
    """Join two consecutive lines, repairing a word or a hyphenation split by the line break."""
    tail, head = _TAIL.search(left), _HEAD.match(right)
    if tail and head:
        first, hyphen, second = tail.group(1), tail.group(2), head.group(1)
        whole = (first + second).lower()
        if hyphen:
            glue = "" if whole in dictionary else "-"
            return left[: tail.end(1)] + glue + right
        if whole in dictionary and not (_is_word(first, dictionary) and _is_word(second, dictionary)):
            return left + right
    return left + " " + right


def words_in_lines(pages: Iterable[PdfPage]) -> set[str]:
    """Words seen inside lines (not at a line's edge, where a split fragment could sit)."""
    words: set[str] = set()
    for page in pages:
        for line in page.text.splitlines():
            tokens = re.findall(r"[A-Za-z]+", line)
            words.update(token.lower() for token in tokens[1:-1])
    return words


# --- blocks -----------------------------------------------------------------------------

_BULLET = re.compile(r"^(?:[●•▪◦■□⊲➢►✓–\-*]|\d{1,2}[.)](?=\s))\s*")
_CLOSED = re.compile(r"[.!?][\"”’)\]]*$")


_ABBREVIATION_END = re.compile(r"\b(?:U\.S|e\.g|i\.e|Dr|Mr|Mrs|Ms|St|vs|No|approx)\.$")


def _closed(text: str) -> bool:
    return bool(_CLOSED.search(text)) and not _ABBREVIATION_END.search(text)


def _body_size(lines: list[_Line]) -> float:
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[line.size] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def _heading_style(line: _Line, body: float) -> bool:
    """Set larger than body text, or a short line set wholly in bold."""
    if body and line.size >= body * 1.15:
        return True
    return line.bold and len(line.text.split()) <= 8 and not re.search(r"[.,;:]$", line.text)


def _looks_like_item(text: str) -> bool:
    return len(text.split()) <= 15 and text[:1].isupper()


def clean_pages(pages: list[PdfPage], dictionary: Collection[str]) -> list[Block]:
    """Clean one document's pages into blocks of headings, paragraphs and list items.

    Headings are told by style (size or weight), not wording. Lines of a paragraph
    are joined (repairing split words) until a sentence ends and a new line starts
    with a capital; after a line ending in a colon, short lines are list items.
    A table row is a block of its own; a footnote too, and a paragraph that runs on
    past the footnotes at the foot of its page stays one block.
    """
    lines = _content_lines(pages)
    body = _body_size(lines)
    lengths = sorted(len(line.text) for line in lines)
    full_line = lengths[int(len(lengths) * 0.85)] if lengths else 0
    blocks: list[Block] = []
    kind, text, page, size = None, "", 0, 0.0
    plain_list = False  # inside a list whose items carry no bullet glyph
    last_length = 0  # length of the last line added: a short one ends a list item

    turns: list[tuple[int, int]] = []

    def extend(line: _Line) -> None:
        nonlocal text
        text = join_lines(text, line.text, dictionary)
        if line.page != (turns[-1][1] if turns else page):
            turns.append((len(text) - len(line.text), line.page))

    def flush() -> None:
        nonlocal kind, text
        words = len(text.split())
        if kind == HEADING and (words > 20 or text.endswith(".") or (text.endswith(":") and words > 5)):
            kind = TEXT  # a lead paragraph or a list's introduction set large, not a heading
        if kind is not None and text.strip():
            blocks.append(Block(kind, text.strip(), page, tuple(turns)))
        kind, text = None, ""
        turns.clear()

    note: int | None = None  # the block of the footnote being read
    for line in lines:
        if line.note:
            if note is None or _NOTE_START.match(line.text):
                note = len(blocks)
                blocks.append(Block(TEXT, line.text, line.page))
            else:
                blocks[note] = replace(blocks[note], text=join_lines(blocks[note].text, line.text, dictionary))
            continue
        note = None
        if line.cells:
            flush()
            blocks.append(Block(TEXT, line.text, line.page))
            plain_list, last_length = False, 0
            continue
        previous_length, last_length = last_length, len(line.text)
        bulleted = _BULLET.match(line.text) and len(line.text.split()) > 6
        if _heading_style(line, body) and not line.text[:1].islower() and not bulleted:
            if kind == HEADING and line.size == size and not text.endswith(("?", ":")):
                extend(line)
                continue
            flush()
            kind, text, page, size, plain_list = HEADING, line.text, line.page, line.size, False
            continue
        if kind == HEADING and line.text[:1].islower():
            extend(line)
            continue
        bullet = _BULLET.match(line.text)
        if bullet and len(line.text) > bullet.end():
            flush()
            kind, text, page, plain_list = ITEM, line.text[bullet.end() :], line.page, False
            continue
        wrapped = previous_length >= 0.6 * full_line and not _closed(text)
        if kind == ITEM and not plain_list and (wrapped or line.text[:1].islower()):
            extend(line)
            continue
        if plain_list and line.text[:1].islower() and kind == ITEM:
            extend(line)
            continue
        opens_list = kind in (TEXT, HEADING) and text.endswith(":") or plain_list
        if opens_list and _looks_like_item(line.text):
            flush()
            kind, text, page, plain_list = ITEM, line.text, line.page, True
            continue
        if kind == TEXT and (not _closed(text) and not text.endswith(":") or line.text[:1].islower()):
            extend(line)
            continue
        flush()
        kind, text, page, plain_list = TEXT, line.text, line.page, False
    flush()
    return blocks


# --- what the document says about itself -----------------------------------------------

# A publication number as publishers print it: "NIH Publication No. 24-MH-8079", "Identifier No. OM 25-4316",
# "HHS Publication No. (SMA) 13-4711", "Publication No. EHS-2023-07", "ISBN 978-92-4-154979-0".
_PUB_NO = re.compile(
    r"\b((?:[A-Z]{2,6}\s+)?(?:Pub(?:lication)?\.?|Identifier|Document|Report|Reference)\s+(?:No\.?|Number:?)|ISBN(?:-1[03])?:?)"
    r"\s*((?:\([A-Z]{2,6}\)\s*)?(?:[A-Z]{1,4}\s)?[A-Z]{0,6}[-/]?\d[\w./-]*\w)"
)
_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
# "Revised 2024", "Last updated: 3 May 2023", "© 2022": the year of the edition.
_DATED = re.compile(
    rf"(?:\b(?:Revised|Updated|Published|Reviewed|Issued|Last (?:reviewed|updated|revised))\b|©|\bCopyright\b)\s*(?:on\s+|in\s+)?:?\s*"
    rf"(?:(?:\d{{1,2}}\s+)?{_MONTH}\s+(?:\d{{1,2}},?\s+)?)?((?:19|20)\d{{2}})\b",
    re.IGNORECASE,
)
_WORD = r"[A-Z](?:[\w&'’-]|\.(?=\w))*"  # a capitalised word; "U.S" keeps its inner dot, a sentence's end is not taken
_NAME = rf"({_WORD}(?:\s+(?:of|and|for|on|the|{_WORD})){{0,9}})"
# Where a document names its publisher: how it asks to be cited, who published it, who holds the copyright.
_PUBLISHER = [
    re.compile(rf"\bcite\s+(?:the\s+)?{_NAME}(?:\s+as\s+(?:the|a|its)\s+source|\s*[.;,])"),
    re.compile(rf"\b[Pp]ublished\s+by\s+(?:the\s+)?{_NAME}"),
    re.compile(rf"(?:©|\bCopyright\b)\s*(?:(?:19|20)\d{{2}}\s*,?\s*)?(?:by\s+)?(?:the\s+)?{_NAME}"),
]
_LICENCES = [
    re.compile(r"\bin the public domain\b", re.IGNORECASE),
    re.compile(r"\bCC[ -]BY(?:[ -](?:NC|SA|ND))*(?:\s+\d\.\d)?(?:\s+IGO)?\b"),
    re.compile(r"\bCreative Commons Attribution[\w -]*?\d\.\d(?: IGO)?\b", re.IGNORECASE),
    re.compile(r"\bOpen Government Licen[cs]e(?: v?\d\.\d)?", re.IGNORECASE),
]


def _name(text: str) -> str:
    words = text.rstrip(".,;:").split()
    while words and words[-1] in ("of", "and", "for", "on", "the"):
        words.pop()
    return " ".join(words)


def describe_document(blocks: list[Block], metadata_title: str | None, file_name: str, metadata_publisher: str | None = None) -> DocumentInfo:
    """Title, publisher, publication number, year and licence, where the document states them.

    Nothing here knows a publisher: the publisher is the one the text names (how to cite
    it, who published it, who holds the copyright), else the PDF's metadata.
    """
    text = "\n".join(block.text for block in blocks)
    title = metadata_title
    if not title:
        first = next((b.text for b in blocks if b.kind == HEADING), None) or (blocks[0].text if blocks else "")
        title = first[:120] or file_name
    publication = _PUB_NO.search(text)
    number = None
    if publication:
        label = " ".join(publication.group(1).split()).rstrip(":")
        number = f"{label}{'.' if label.endswith('No') else ''} {publication.group(2)}"
    years = [int(match.group(1)) for match in _DATED.finditer(text)]
    if not years and publication:  # a bare year printed after the publication number
        after = re.match(r"\s+((?:19|20)\d{2})\b", text[publication.end() :])
        years = [int(after.group(1))] if after else []
    named = next((_name(match.group(1)) for pattern in _PUBLISHER if (match := pattern.search(text))), None)
    licence = next((match.group(0) for pattern in _LICENCES if (match := pattern.search(text))), None)
    return DocumentInfo(
        title=title,
        publisher=named or metadata_publisher,
        publication_no=number,
        year=str(max(years)) if years else None,
        licence="Public domain" if licence and "public domain" in licence.lower() else licence,
    )
