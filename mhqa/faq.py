"""Stage 10, questions -> FAQ sheet: an educator's list of questions answered into a cited handout.

Every answer is the extractive answer of Session.ask, unchanged: nothing is added,
summarised or guessed. A question the sources do not answer stays on the sheet,
marked NOT_COVERED. Questions about suicide, self-harm or helping someone are
answered like any other (the sheet carries the crisis resources box). Only an input
that the crisis check flags, someone disclosing that they or a person with them is
in danger now, is left out of the sheet and reported to the educator on the
terminal, with its line: a person may need help now, and a handout is no place to
answer it.

Citations are numbered once per sheet, one number per document (the References list
each document once with the pages used); a marker reads "[n, p. X]", so a reader
finds the exact page of each sentence.

Text from PDFs and from questions is escaped for the output format (html.escape;
backslash escapes in Markdown), so a PDF cannot inject markup or links. The same
questions and the same index give byte-identical output: only the date varies,
and --date or SOURCE_DATE_EPOCH fixes it.
"""

from __future__ import annotations

import html
import io
import os
import re
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Mapping, Protocol

from .answer import ANSWERED, NOTICE, Answer
from .clean import clean_chars, clean_line
from .crisis import resources_for
from .errors import UsageError
from .indexer import Progress
from .manifest import DocumentRecord
from .questions import Question
from .render import print_answers_json
from .register import REVIEW_OVERDUE, source_facts
from .settings import Settings

NOT_COVERED = "Not covered by the vetted sources - please ask a clinician"
DEFAULT_TITLE = "Frequently asked questions"
GRADE_TARGET = 8.0  # patient-facing material should read at grade 8 or below
FORMATS = ("md", "html", "jsonl")
_OUTPUT_SUFFIXES = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_GENERAL = "General questions"  # heading of the questions before the first section, when there are sections


# --- options -----------------------------------------------------------------------------------


def output_format(requested: str | None, out: Path | None) -> str:
    """--format if given, else the extension of -o, else Markdown (to standard output)."""
    if requested:
        if requested.lower() not in FORMATS:
            raise UsageError(f"unknown format {requested!r}: use md, html or jsonl")
        return requested.lower()
    if out is None:
        return "md"
    if out.suffix.lower() not in _OUTPUT_SUFFIXES:
        raise UsageError(f"cannot tell the format from the name {out.name!r}: add --format md|html|jsonl")
    return _OUTPUT_SUFFIXES[out.suffix.lower()]


def sheet_date(requested: str | None, env: Mapping[str, str] | None = None) -> str:
    """The sheet's date, YYYY-MM-DD: --date, else SOURCE_DATE_EPOCH (UTC), else today."""
    env = os.environ if env is None else env
    if requested:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", requested):
            raise UsageError(f"--date must be YYYY-MM-DD, got {requested!r}")
        try:
            return date.fromisoformat(requested).isoformat()
        except ValueError:
            raise UsageError(f"--date is not a real date: {requested!r}") from None
    if env.get("SOURCE_DATE_EPOCH"):
        try:
            return datetime.fromtimestamp(int(env["SOURCE_DATE_EPOCH"]), timezone.utc).date().isoformat()
        except (ValueError, OverflowError, OSError):
            raise UsageError(f"SOURCE_DATE_EPOCH must be a number of seconds, got {env['SOURCE_DATE_EPOCH']!r}") from None
    return date.today().isoformat()


# --- the sheet ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Marker:
    number: int  # the reference's number on the sheet
    page: int


@dataclass
class Block:
    item: bool  # a list item of the source (its "•" line), else a paragraph
    parts: list[str | Marker] = field(default_factory=list)


@dataclass
class SheetEntry:
    question: str
    blocks: list[Block]  # empty: not covered

    @property
    def covered(self) -> bool:
        return bool(self.blocks)


@dataclass
class Section:
    title: str | None
    entries: list[SheetEntry]


@dataclass
class Reference:
    number: int
    source: str  # the PDF's file name
    title: str
    publisher: str | None
    publication_no: str | None
    year: int | None
    pages: list[int]
    url: str | None = None
    review_overdue: bool = False


@dataclass
class Sheet:
    title: str
    date: str
    sections: list[Section]
    references: list[Reference]
    resources: tuple[str, ...]  # the crisis lines of the box at the top (settings' region)


@dataclass
class Entry:
    """One input question and its answer; `grade` is the answer's reading level (answered only)."""

    question: Question
    answer: Answer
    grade: float | None = None

    @property
    def outcome(self) -> str:
        if self.answer.crisis:
            return "left out"
        return "answered" if self.answer.status == ANSWERED else "not covered"


@dataclass
class FaqResult:
    entries: list[Entry]  # every question, in input order
    sheet: Sheet
    format: str
    text: str  # the rendered sheet
    grade_target: float = GRADE_TARGET

    def count(self, outcome: str) -> int:
        return sum(entry.outcome == outcome for entry in self.entries)


class FaqProgress(Progress, Protocol):
    """The indexer's Progress (the index may be built first), plus a bar over the questions."""

    def start_questions(self, total: int) -> None: ...
    def question_done(self) -> None: ...


def build_sheet(
    entries: list[Entry], documents: Mapping[str, DocumentRecord], title: str, sheet_day: str, resources: tuple[str, ...]
) -> Sheet:
    """The sheet model: sections in order of first appearance, crisis questions left out, one reference per document."""
    grouped: dict[str | None, list[Entry]] = {}
    for entry in entries:
        if not entry.answer.crisis:
            grouped.setdefault(entry.question.section, []).append(entry)
    order = sorted(grouped, key=lambda section: section is not None)  # unsectioned questions first (stable)
    references: dict[str, Reference] = {}
    sections = []
    for section in order:
        heading = section if section is not None else (_GENERAL if len(grouped) > 1 else None)
        sections.append(Section(heading, [SheetEntry(e.question.text, _blocks(e.answer, references, documents)) for e in grouped[section]]))
    for reference in references.values():
        reference.pages.sort()
    return Sheet(title, sheet_day, sections, list(references.values()), resources)


def _blocks(answer: Answer, references: dict[str, Reference], documents: Mapping[str, DocumentRecord]) -> list[Block]:
    """The answer's sentences as paragraphs and list items, each followed by its sheet-wide marker."""
    if answer.status != ANSWERED:
        return []
    citations = {citation.id: citation for citation in answer.citations}
    blocks: list[Block] = []
    for text, citation_id in answer.sentences:
        citation = citations.get(citation_id)
        if citation is None:  # its citation was cut by --top-k: never show a sentence without its source
            continue
        reference = references.get(citation.source)
        if reference is None:
            record = documents.get(citation.source)
            number = source_facts(record).publication_no if record else None
            reference = references[citation.source] = Reference(
                len(references) + 1, citation.source, citation.title, citation.publisher, number, citation.year, [], citation.url, citation.review_overdue
            )
        if citation.page not in reference.pages:
            reference.pages.append(citation.page)
        marker = Marker(reference.number, citation.page)
        for position, line in enumerate(text.split("\n")):
            line = line.strip()
            item = line.startswith("•")
            # A sentence's first line runs on in the current paragraph; its other lines, a list item,
            # and anything after a list item start a new block.
            if position > 0 or item or not blocks or blocks[-1].item:
                blocks.append(Block(item))
            elif blocks[-1].parts[-1] == marker:
                blocks[-1].parts.pop()  # same page as the sentence before: one marker after both
            if line.lstrip("• "):
                blocks[-1].parts.append(line.lstrip("• ") if item else line)
        blocks[-1].parts.append(marker)
    return blocks


def _sentence(text: str) -> str:
    return text if text[-1:] in ".?!" else text + "."


def reference_parts(reference: Reference) -> list[str]:
    """"Title.", "Publisher, publication number, year.", "<URL>" (from the register, else what the PDF states), "file, pages." """
    details = ", ".join(str(part) for part in (reference.publisher, reference.publication_no, reference.year) if part)
    pages = ", ".join(map(str, reference.pages))
    location = f"{reference.source}, {'pages' if len(reference.pages) > 1 else 'page'} {pages}."
    title = (reference.title or reference.source) + (f" {REVIEW_OVERDUE}" if reference.review_overdue else "")
    return [_sentence(title), *([_sentence(details)] if details else []), *([f"<{reference.url}>"] if reference.url else []), location]


ABOUT = (
    "Each answer on this sheet is quoted word for word from vetted health publications, listed under References; "
    "nothing is added or reworded. A marker such as [1, p. 2] points to reference 1, page 2. "
    f"Questions these publications do not answer are marked “{NOT_COVERED}”."
)


def _prepared(sheet: Sheet) -> str:
    return f"Prepared {sheet.date}."


# --- Markdown ----------------------------------------------------------------------------------

_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~&$@])")
_MD_LINE_START = re.compile(r"^(?:([#>+=-])|(\d+)([.)]))")  # a heading, quote, list or rule
_MD_AUTOLINK = re.compile(r"(?i)(?<=\bwww)\.|:(?=//)")  # GFM links bare "www." and "scheme://" text


def md_escape(text: str) -> str:
    """Text as literal Markdown: no emphasis, links (not even GFM's bare-URL ones), images, HTML, tables or block syntax."""
    text = _MD_INLINE.sub(r"\\\1", " ".join(clean_chars(text).split()))
    text = _MD_AUTOLINK.sub(lambda match: "\\" + match.group(0), text)
    return _MD_LINE_START.sub(lambda match: f"\\{match[1]}" if match[1] else f"{match[2]}\\{match[3]}", text)


def _md_block(block: Block) -> str:
    parts = [md_escape(part) if isinstance(part, str) else f"[\\[{part.number}, p. {part.page}\\]](#ref-{part.number})" for part in block.parts]
    return ("- " if block.item else "") + " ".join(parts)


def render_markdown(sheet: Sheet) -> str:
    heading = "###" if any(section.title for section in sheet.sections) else "##"
    lines = [f"# {md_escape(sheet.title)}", "", f"{_prepared(sheet)} {md_escape(ABOUT)}", ""]
    lines += ["> **Crisis resources**", ">"] + [f"> - {md_escape(line)}" for line in sheet.resources] + [""]
    for section in sheet.sections:
        if section.title:
            lines += [f"## {md_escape(section.title)}", ""]
        for entry in section.entries:
            lines += [f"{heading} {md_escape(entry.question)}", ""]
            if not entry.covered:
                lines += [f"*{md_escape(NOT_COVERED)}*", ""]
            for previous, block in zip([None, *entry.blocks], entry.blocks):
                if previous is not None and not (previous.item and block.item):
                    lines.append("")
                lines.append(_md_block(block))
            if entry.covered:
                lines.append("")
    if sheet.references:
        lines += ["## References", ""]
        for reference in sheet.references:
            title, *rest = map(md_escape, reference_parts(reference))
            lines += [f'<a id="ref-{reference.number}"></a>**\\[{reference.number}\\]** **{title}** {" ".join(rest)}', ""]
    lines += ["---", "", f"*{md_escape(NOTICE)}*", ""]
    return "\n".join(lines)


# --- HTML --------------------------------------------------------------------------------------

# Inline and self-contained: no url(), no @import, no web fonts; the CSP forbids any load.
_CSS = """
:root { color-scheme: light; }
body { margin: 0 auto; max-width: 46rem; padding: 2rem 1.5rem 3rem; background: #fff; color: #1b1b1b;
  font-family: "Segoe UI", "Helvetica Neue", Arial, "Liberation Sans", "DejaVu Sans", sans-serif; font-size: 1rem; line-height: 1.55; }
header { border-bottom: 3px solid #1d4f7a; padding-bottom: .75rem; margin-bottom: 1.25rem; }
h1 { font-size: 2rem; line-height: 1.2; margin: 0 0 .35rem; color: #0f2e4a; }
h2 { font-size: 1.35rem; line-height: 1.3; margin: 2rem 0 .75rem; padding-bottom: .2rem; color: #0f2e4a; border-bottom: 1px solid #b8c4cf; }
h3 { font-size: 1.1rem; line-height: 1.35; margin: 1.4rem 0 .35rem; color: #1b1b1b; }
p { margin: .4rem 0; }
.prepared { margin: 0 0 .5rem; color: #3d3d3d; font-weight: 600; }
.about { margin: 0; color: #2b2b2b; }
.answer ul { margin: .3rem 0 .5rem; padding-left: 1.4rem; }
.answer li { margin: .1rem 0; }
a.cite { color: #0a4a85; font-size: .85em; font-weight: 600; text-decoration: none; white-space: nowrap; }
a.cite:hover, a.cite:focus { text-decoration: underline; }
.not-covered { margin: .4rem 0; padding: .45rem .75rem; border-left: 4px solid #8a5a00; background: #fff7e0; color: #3d2800; font-style: italic; }
.crisis { margin: 0 0 1.5rem; padding: .8rem 1.1rem; border: 2px solid #a61b1b; border-radius: 6px; background: #fdf1f1; color: #1b1b1b; }
.crisis h2 { margin: 0 0 .35rem; padding: 0; border: 0; font-size: 1.15rem; color: #8f1515; }
.crisis ul { margin: 0; padding-left: 1.3rem; }
.references ol { list-style: none; margin: 0; padding: 0; }
.references li { margin: 0 0 .5rem; padding-left: 2.6rem; text-indent: -2.6rem; }
.references li:target { background: #fff3b0; }
.ref-number { display: inline-block; width: 2.6rem; text-indent: 0; font-weight: 700; color: #0a4a85; }
.ref-title { font-weight: 600; }
.ref-file { color: #3d3d3d; }
footer { margin-top: 2rem; padding-top: .6rem; border-top: 1px solid #b8c4cf; }
.notice { font-size: .9rem; color: #3d3d3d; font-style: italic; }
@page { margin: 16mm 15mm 18mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  h1 { font-size: 20pt; }
  h2 { font-size: 14pt; break-after: avoid; page-break-after: avoid; }
  h3 { font-size: 11.5pt; break-after: avoid; page-break-after: avoid; }
  .crisis, .references li, .not-covered { break-inside: avoid; page-break-inside: avoid; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  a.cite, .ref-number { color: #000; }
  .references li:target { background: none; }
}
""".strip()


def _html_block(block: Block) -> str:
    parts = [
        html.escape(part) if isinstance(part, str)
        else f'<a class="cite" href="#ref-{part.number}" aria-label="reference {part.number}, page {part.page}">[{part.number},&nbsp;p.&nbsp;{part.page}]</a>'
        for part in block.parts
    ]
    return " ".join(parts)


def _html_answer(entry: SheetEntry) -> list[str]:
    if not entry.covered:
        return [f'<p class="not-covered">{html.escape(NOT_COVERED)}</p>']
    lines, in_list = ['<div class="answer">'], False
    for block in entry.blocks:
        if block.item != in_list:
            lines.append("<ul>" if block.item else "</ul>")
            in_list = block.item
        lines.append(f"<li>{_html_block(block)}</li>" if block.item else f"<p>{_html_block(block)}</p>")
    return lines + (["</ul>"] if in_list else []) + ["</div>"]


def render_html(sheet: Sheet) -> str:
    esc = html.escape
    level = 3 if any(section.title for section in sheet.sections) else 2
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>{esc(sheet.title)}</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{esc(sheet.title)}</h1>",
        f'<p class="prepared">{esc(_prepared(sheet))}</p>',
        f'<p class="about">{esc(ABOUT)}</p>',
        "</header>",
        '<aside class="crisis" aria-labelledby="crisis-resources">',
        '<h2 id="crisis-resources">Crisis resources</h2>',
        "<ul>",
        *(f"<li>{esc(line)}</li>" for line in sheet.resources),
        "</ul>",
        "</aside>",
        "<main>",
    ]
    number = 0
    for index, section in enumerate(sheet.sections, 1):
        if section.title:
            lines += [f'<section aria-labelledby="section-{index}">', f'<h2 id="section-{index}">{esc(section.title)}</h2>']
        for entry in section.entries:
            number += 1
            lines += ['<article class="entry">', f'<h{level} id="q-{number}">{esc(entry.question)}</h{level}>', *_html_answer(entry), "</article>"]
        if section.title:
            lines.append("</section>")
    if sheet.references:
        lines += ['<section class="references" aria-labelledby="references">', '<h2 id="references">References</h2>', "<ol>"]
        for reference in sheet.references:
            title, *details, location = map(esc, reference_parts(reference))
            body = " ".join([f'<span class="ref-title">{title}</span>', *details, f'<span class="ref-file">{location}</span>'])
            lines.append(f'<li id="ref-{reference.number}"><span class="ref-number">[{reference.number}]</span>{body}</li>')
        lines += ["</ol>", "</section>"]
    lines += ["</main>", "<footer>", f'<p class="notice">{esc(NOTICE)}</p>', "</footer>", "</body>", "</html>", ""]
    return "\n".join(lines)


# --- JSON Lines --------------------------------------------------------------------------------


def render_jsonl(entries: list[Entry]) -> str:
    """The `mhqa ask --json` object of each question on the sheet, in input order (crisis questions left out)."""
    buffer = io.StringIO()
    print_answers_json([entry.answer for entry in entries if not entry.answer.crisis], buffer)
    return buffer.getvalue()


# --- the whole run -----------------------------------------------------------------------------


def reading_grade(answer: Answer) -> float:
    """Flesch-Kincaid grade of an answer, each line of it (a sentence or a list item) read as a sentence."""
    from textstat.textstat import textstatistics

    readability = textstatistics()
    # A region tag without the "en" root keeps textstat on its bundled Pyphen syllable counter:
    # for "en" it fetches NLTK's cmudict from the network at run time, and mhqa stays offline.
    readability.set_lang("en-US")
    lines = [line.strip().lstrip("• ") for text, _ in answer.sentences for line in text.split("\n")]
    return readability.flesch_kincaid_grade(" ".join(_sentence(line) for line in lines if line))


def make_faq(settings: Settings, questions: list[Question], fmt: str, title: str | None, sheet_day: str, progress: FaqProgress) -> FaqResult:
    """Answer every question with one session (the model loaded once), then build and render the sheet."""
    from .session import open_session

    with open_session(settings, progress) as session:
        progress.start_questions(len(questions))
        entries = []
        for question in questions:
            entries.append(Entry(question, session.ask(question.text)))
            progress.question_done()
        documents = session.manifest.by_name()
    resources = resources_for(settings.crisis_region, settings.crisis_lines, settings.crisis_emergency).text()
    sheet = build_sheet(entries, documents, clean_line(title or "") or DEFAULT_TITLE, sheet_day, resources)
    for entry in entries:
        if entry.outcome == "answered":
            entry.grade = reading_grade(entry.answer)
    text = {"md": lambda: render_markdown(sheet), "html": lambda: render_html(sheet), "jsonl": lambda: render_jsonl(entries)}[fmt]()
    return FaqResult(entries, sheet, fmt, text)


def write_output(text: str, out: Path | None) -> None:
    """The sheet to `out` (replaced in one step, so a reader never sees half a file), or to standard output."""
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    partial = out.with_name(f".{out.name}.partial")
    try:
        partial.write_bytes(text.encode("utf-8"))
        os.replace(partial, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise UsageError(f"cannot write {out}: {exc}") from None
