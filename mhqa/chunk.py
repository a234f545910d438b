"""Stage 3, clean text -> chunks: sentences (units) and the chunks that pack them.

A *unit* is what an answer can quote: one sentence, a heading, or a list with its
introduction ("Symptoms include:" and its short items). Every unit keeps its own
page. A *chunk* packs consecutive units of one section up to a token budget
measured with the model's own tokenizer, so that the text embedded for it
(title, section and units) never exceeds the model's 256 word pieces; the next
chunk repeats the last unit(s) as overlap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from .clean import HEADING, ITEM, TEXT, Block

LIST = "list"
LIST_ITEM_WORDS = 15  # longer items read as sentences of their own


@dataclass(frozen=True)
class Unit:
    index: int  # position in the document
    text: str
    page: int
    kind: str  # HEADING, TEXT, ITEM or LIST
    section: str


@dataclass(frozen=True)
class Chunk:
    id: str
    position: int
    section: str
    text: str
    spans: tuple[tuple[int, int, int], ...]  # (unit index, start, end) of each unit in `text`

    @property
    def unit_indexes(self) -> list[int]:
        return [index for index, _, _ in self.spans]


# --- sentences ----------------------------------------------------------------------------

_ABBREVIATIONS = {"u.s", "e.g", "i.e", "dr", "mr", "mrs", "ms", "st", "vs", "no", "approx", "etc", "jr", "sr", "fig"}
_BOUNDARY = re.compile(r"([.!?][\"”’)\]]*)\s+(?=[\"“‘(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Split at a full stop, question or exclamation mark followed by a capital or digit,
    except after an abbreviation ("U.S. Food", "e.g. SSRIs") or an initial ("J. Smith")."""
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        before = text[start : match.start(1) + 1]
        last_word = re.search(r"(\S+)$", before)
        token = last_word.group(1).rstrip(".").lower().lstrip("(\"“") if last_word else ""
        if token in _ABBREVIATIONS or re.fullmatch(r"[a-z]", token):
            continue
        sentences.append(text[start : match.end(1)].strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return [s for s in sentences if s]


# --- units --------------------------------------------------------------------------------


def _short_item(block: Block) -> bool:
    return block.kind == ITEM and len(block.text.split()) <= LIST_ITEM_WORDS


def _run_in(block: Block) -> bool:
    """A short label ending in a colon ("1. ASK:", "FEELING:") that introduces what follows."""
    return block.text.endswith(":") and len(block.text.split()) <= 5


def build_units(blocks: Sequence[Block]) -> list[Unit]:
    """Turn blocks into quotable units: sentences, headings, and lists with their introduction.

    A list's short items join their introduction (a sentence or a label ending in a
    colon) in one unit; a short label before a paragraph joins its first sentence, so
    a step like "1. ASK:" is quoted with what it says.
    """
    units: list[Unit] = []
    section = ""

    def add(text: str, page: int, kind: str) -> None:
        units.append(Unit(len(units), text, page, kind, section))

    i = 0
    label = ""  # a run-in label waiting for the paragraph it introduces
    while i < len(blocks):
        block = blocks[i]
        j = i + 1
        items: list[Block] = []
        if block.kind != ITEM and block.text.endswith(":"):
            while j < len(blocks) and _short_item(blocks[j]):
                items.append(blocks[j])
                j += 1
        if block.kind == HEADING and not items:
            if _run_in(block) and j < len(blocks) and blocks[j].kind in (TEXT, ITEM):
                label = block.text + " "
            else:
                section = block.text.rstrip(":")
                add(block.text, block.page, HEADING)
            i = j
            continue
        sentences = split_sentences(block.text)
        pages = _sentence_pages(block, sentences)
        if label and sentences:
            sentences[0] = label + sentences[0]
        label = ""
        kind = ITEM if block.kind == ITEM else TEXT
        for sentence, page in zip(sentences[:-1] if items else sentences, pages):
            add(sentence, page, kind)
        if items:
            intro = sentences[-1] if sentences else block.text
            add(intro + "\n" + "\n".join("• " + item.text for item in items), block.page, LIST)
        i = j
    return units


def _sentence_pages(block: Block, sentences: list[str]) -> list[int]:
    """The page each sentence starts on (a paragraph may run over a page break)."""
    pages, cursor = [], 0
    for sentence in sentences:
        found = block.text.find(sentence, cursor)
        start = found if found >= 0 else cursor
        pages.append(block.page_at(start))
        cursor = start + len(sentence)
    return pages


# --- chunks -------------------------------------------------------------------------------


def chunk_id(id_prefix: str, position: int) -> str:
    """A chunk's id: its document's id prefix (SHA-256, 16 hex digits) and its position in it."""
    return f"{id_prefix}-{position:04d}"


def embedding_text(title: str, section: str, text: str) -> str:
    """What is embedded for a chunk: its document title and section give the passage its topic."""
    head = title if not section or text.startswith(section) else f"{title} - {section}"
    return f"{head}\n{text}"


def chunk_document(
    blocks: Sequence[Block],
    title: str,
    id_prefix: str,
    count_tokens,
    budget: int,
    overlap: int,
    hard_limit: int,
) -> tuple[list[Unit], list[Chunk]]:
    """Units of a document and the chunks that pack them.

    Chunks hold at most `budget` word pieces, and their embedded text at most
    `hard_limit` with [CLS] and [SEP]. `count_tokens(list[str]) -> list[int]` counts
    with the model's tokenizer. A unit longer than the budget is first cut at word
    boundaries into several units.
    """
    units = _fit_units(build_units(blocks), count_tokens, budget)
    return units, _pack(units, title, id_prefix, count_tokens, budget, overlap, hard_limit)


def _pack(units, title, id_prefix, count_tokens, budget, overlap, hard_limit) -> list[Chunk]:
    costs = count_tokens([unit.text for unit in units])
    head_cost = max(count_tokens([title])[0] + 4, 8)
    chunks: list[list[int]] = []
    current: list[int] = []
    used = 0
    for position, unit in enumerate(units):
        cost = costs[position] + 1
        fresh_section = unit.kind == HEADING and used >= budget * 0.4
        if current and (used + cost + head_cost > budget or fresh_section):
            chunks.append(current)
            carry = [] if unit.kind == HEADING else _overlap(current, units, costs, overlap, budget // 3)
            current, used = carry, sum(costs[k] + 1 for k in carry)
        current.append(position)
        used += cost
    if current:
        chunks.append(current)
    return [_make_chunk(members, units, title, id_prefix, n, count_tokens, hard_limit) for n, members in enumerate(chunks)]


def _overlap(current: list[int], units: Sequence[Unit], costs: list[int], count: int, limit: int) -> list[int]:
    carry: list[int] = []
    for k in reversed(current):
        if len(carry) == count or units[k].kind == HEADING or sum(costs[c] for c in carry) + costs[k] > limit:
            break
        carry.insert(0, k)
    return carry


def _fit_units(units: Sequence[Unit], count_tokens, budget: int) -> list[Unit]:
    """Cut over-long units into pieces and number all units afresh."""
    costs = count_tokens([unit.text for unit in units]) if units else []
    fitted: list[Unit] = []
    for unit, cost in zip(units, costs):
        pieces = [unit.text]
        if cost > budget * 0.8:
            words = unit.text.split(" ")
            size = -(-len(words) // max(2, -(-cost // int(budget * 0.6))))
            pieces = [" ".join(words[start : start + size]) for start in range(0, len(words), size)]
        for piece in pieces:
            fitted.append(Unit(len(fitted), piece, unit.page, unit.kind, unit.section))
    return fitted


def _make_chunk(members, units, title, id_prefix, position, count_tokens, hard_limit) -> Chunk:
    parts: list[str] = []
    spans: list[tuple[int, int, int]] = []
    offset = 0
    for k in members:
        unit = units[k]
        if parts:
            previous = units[members[members.index(k) - 1]]
            separator = "\n" if HEADING in (unit.kind, previous.kind) or LIST in (unit.kind, previous.kind) else " "
            parts.append(separator)
            offset += len(separator)
        parts.append(unit.text)
        spans.append((unit.index, offset, offset + len(unit.text)))
        offset += len(unit.text)
    text = "".join(parts)
    section = units[members[0]].section
    while count_tokens([embedding_text(title, section, text)])[0] + 2 > hard_limit and len(spans) > 1:
        spans.pop()  # the estimate was off; drop the last unit rather than let the model truncate
        text = text[: spans[-1][2]]
    return Chunk(id=chunk_id(id_prefix, position), position=position, section=section, text=text, spans=tuple(spans))
