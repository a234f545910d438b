"""Stage 2, pages -> clean text: turn pypdf's page texts into headings, paragraphs and list items.

What it undoes, in order: control characters and invisible formatting, running
headers and footers, page numbers, web-printout chrome (the page address, site
navigation), words broken across lines ("no r\\neason") and hyphenation. A
paragraph that runs over a page break stays one block and keeps its first page;
chunk.py then gives every sentence its own page.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Collection, Iterable

from .pdf import PdfPage

HEADING, TEXT, ITEM = "heading", "text", "item"


@dataclass(frozen=True)
class Block:
    kind: str  # HEADING, TEXT or ITEM
    text: str
    page: int  # 1-based physical page where the block starts


@dataclass(frozen=True)
class DocumentInfo:
    title: str
    publisher: str | None
    publication_no: str | None
    year: str | None


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
# Chrome of a browser printout of a government web page: address header, banners, menus.
_WEB_CHROME = re.compile(
    r"^(?:.{0,80}:\s*https?://\S+"
    r"|menu|download pdf|order a free hardcopy|en español|share|print|back to top|skip to main content"
    r"|in crisis\? call or text 988\W*"
    r"|an official website of the united states government.*|here’s how you know"
    r"|due to current hhs and nih restructuring.*"
    r"|view the related infographic.*)$",
    re.IGNORECASE,
)
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


def _is_page_number(line: str, page: int, page_count: int) -> bool:
    match = _PAGE_NUMBER.match(line)
    return bool(match) and int(match.group(1)) <= page_count + 2 and abs(int(match.group(1)) - page) <= 4


@dataclass(frozen=True)
class _Line:
    page: int
    text: str
    size: float
    bold: bool


_ICON_BULLET = re.compile("^\\s*[\ue000-\uf8ff]\\s*(?=\\w)")  # icon-font bullets (private-use glyphs)
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?])(?=\s|$)")


def _line_text(raw: str) -> str:
    text = _ICON_BULLET.sub("• ", raw)
    return _SPACE_BEFORE_PUNCT.sub(r"\1", " ".join(clean_chars(text).split()))


def _content_lines(pages: list[PdfPage]) -> list[_Line]:
    raw = [[_Line(page.number, _line_text(line.text), line.size, line.bold) for line in page.lines] for page in pages]
    raw = [[line for line in lines if line.text] for lines in raw]
    texts = [[line.text for line in lines] for lines in raw]
    running = _running_lines(texts)
    web_printout = any(_WEB_CHROME.match(text) for lines in texts for text in lines)
    kept: list[_Line] = []
    for page, lines in zip(pages, raw):
        for position, line in enumerate(lines):
            edge = position < 3 or position >= len(lines) - 3
            if edge and _digits_masked(line.text) in running:
                continue
            if edge and _is_page_number(line.text, page.number, len(pages)):
                continue
            bare = line.text.removeprefix("• ")
            if _URL_ONLY.match(bare) or _WEB_CHROME.match(bare) or _SYMBOLS_ONLY.match(bare):
                continue
            kept.append(line)
    return _drop_navigation(kept) if web_printout else kept


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
    """
    lines = _content_lines(pages)
    body = _body_size(lines)
    lengths = sorted(len(line.text) for line in lines)
    full_line = lengths[int(len(lengths) * 0.85)] if lengths else 0
    blocks: list[Block] = []
    kind, text, page, size = None, "", 0, 0.0
    plain_list = False  # inside a list whose items carry no bullet glyph
    last_length = 0  # length of the last line added: a short one ends a list item

    def flush() -> None:
        nonlocal kind, text
        words = len(text.split())
        if kind == HEADING and (words > 20 or text.endswith(".") or (text.endswith(":") and words > 5)):
            kind = TEXT  # a lead paragraph or a list's introduction set large, not a heading
        if kind is not None and text.strip():
            blocks.append(Block(kind, text.strip(), page))
        kind, text = None, ""

    for line in lines:
        previous_length, last_length = last_length, len(line.text)
        bulleted = _BULLET.match(line.text) and len(line.text.split()) > 6
        if _heading_style(line, body) and not line.text[:1].islower() and not bulleted:
            if kind == HEADING and line.size == size and not text.endswith(("?", ":")):
                text = join_lines(text, line.text, dictionary)
                continue
            flush()
            kind, text, page, size, plain_list = HEADING, line.text, line.page, line.size, False
            continue
        if kind == HEADING and line.text[:1].islower():
            text = join_lines(text, line.text, dictionary)
            continue
        bullet = _BULLET.match(line.text)
        if bullet and len(line.text) > bullet.end():
            flush()
            kind, text, page, plain_list = ITEM, line.text[bullet.end() :], line.page, False
            continue
        wrapped = previous_length >= 0.6 * full_line and not _closed(text)
        if kind == ITEM and not plain_list and (wrapped or line.text[:1].islower()):
            text = join_lines(text, line.text, dictionary)
            continue
        if plain_list and line.text[:1].islower() and kind == ITEM:
            text = join_lines(text, line.text, dictionary)
            continue
        opens_list = kind in (TEXT, HEADING) and text.endswith(":") or plain_list
        if opens_list and _looks_like_item(line.text):
            flush()
            kind, text, page, plain_list = ITEM, line.text, line.page, True
            continue
        if kind == TEXT and (not _closed(text) and not text.endswith(":") or line.text[:1].islower()):
            text = join_lines(text, line.text, dictionary)
            continue
        flush()
        kind, text, page, plain_list = TEXT, line.text, line.page, False
    flush()
    return blocks


# --- what the document says about itself -----------------------------------------------

_PUB_NO = re.compile(
    r"(NIH Pub(?:lication)?\.? No\.?|NIMH Identifier No\.?)\s*((?:[A-Z]{1,3}\s)?\d{2}-(?:[A-Z]{2}-)?\d{3,5})"
)
_REVISED = re.compile(r"\bRevised\s+((?:19|20)\d{2})\b")


def describe_document(blocks: list[Block], metadata_title: str | None, file_name: str) -> DocumentInfo:
    """Title, publisher, publication number and year, where the document states them."""
    text = "\n".join(block.text for block in blocks)
    title = metadata_title
    if not title:
        first = next((b.text for b in blocks if b.kind == HEADING), None) or (blocks[0].text if blocks else "")
        title = first[:120] or file_name
    publication = _PUB_NO.search(text)
    revised = _REVISED.search(text)
    year = revised.group(1) if revised else None
    if year is None and publication:
        prefix = re.search(r"(\d{2})-", publication.group(2))
        year = f"20{prefix.group(1)}" if prefix else None
    publisher = "National Institute of Mental Health" if "National Institute of Mental Health" in text else None
    number = f"{publication.group(1).rstrip('.')}. {publication.group(2)}".replace("..", ".") if publication else None
    return DocumentInfo(title=title, publisher=publisher, publication_no=number, year=year)
