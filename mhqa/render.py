"""Stage 9, answer -> rendering: what the terminal shows, with rich.

Text from PDFs and from questions is only ever put into rich `Text` objects after
clean_chars, never parsed as markup: `[bold red]` prints as those characters, and
escape sequences or control characters cannot style, move or hide anything.
"""

from __future__ import annotations

import json
import sys
from typing import Iterable

from rich.console import Console, Group
from rich.padding import Padding
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from .answer import NOTICE, REFUSAL, Answer, Citation
from .clean import clean_chars
from .crisis import CRISIS_RESOURCES


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, markup=False, emoji=False, highlight=False, soft_wrap=False)


def safe(text: str) -> Text:
    """Untrusted text as plain rich Text: control characters and escape sequences removed."""
    return Text(clean_chars(text))


def crisis_panel() -> Panel:
    body = Text("\n".join(CRISIS_RESOURCES))
    return Panel(body, title="Crisis resources", title_align="left", border_style="bold red")


def _quote_with_emphasis(citation: Citation) -> Text:
    context = clean_chars(citation.context or citation.quote)
    quote = clean_chars(citation.quote)
    text = Text("“", style="dim")
    start = context.find(quote.split("\n")[0]) if quote else -1
    if start < 0:
        text.append(quote)
    else:
        end = start + len(quote) if context[start : start + len(quote)] == quote else start + len(quote.split("\n")[0])
        text.append(context[:start], style="dim")
        text.append(context[start:end], style="bold")
        text.append(context[end:], style="dim")
    text.append("”", style="dim")
    return text


def _source_line(citation: Citation) -> Text:
    line = Text(f"[{citation.id}] ", style="bold cyan")
    line.append(clean_chars(citation.title), style="bold")
    line.append(f" — {clean_chars(citation.source)}, page {citation.page}")
    return line


def answer_view(answer: Answer, show_passages: bool = True) -> Group:
    parts: list = []
    if answer.crisis:
        parts.append(crisis_panel())
    parts.append(Text("Q: ", style="bold") + safe(answer.question))
    parts.append(Text(""))
    if answer.status == "answered":
        parts.append(safe(answer.answer or ""))
        parts.append(Text(""))
        parts.append(Text(f"Sources (evidence {answer.evidence:.2f}, threshold {answer.threshold:.2f}):", style="bold"))
    else:
        parts.append(Text(REFUSAL, style="bold yellow"))
        parts.append(Text("Why: ", style="bold") + safe(answer.reason or ""))
        if answer.citations:
            parts.append(Text(""))
            parts.append(Text("Closest passages found (insufficient evidence, not an answer):", style="bold"))
    for citation in answer.citations:
        parts.append(_source_line(citation))
        if show_passages:
            quote = _quote_with_emphasis(citation) if answer.status == "answered" else Text("“") + safe(citation.quote) + Text("”")
            parts.append(Padding(quote, (0, 0, 0, 4)))
    parts.append(Text(""))
    parts.append(Text(NOTICE, style="italic dim"))
    return Group(*parts)


def print_answers_json(answers: Iterable[Answer], stream=None) -> None:
    stream = stream or sys.stdout
    for answer in answers:
        stream.write(json.dumps(answer.to_json(), ensure_ascii=False) + "\n")
        stream.flush()


# --- indexing ----------------------------------------------------------------------------------


class IndexProgress:
    """The indexer's Progress, drawn as rich bars on stderr (files read, texts embedded)."""

    def __init__(self, out: Console):
        self._out = out
        self._bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=out,
            transient=False,
        )
        self._files = self._embedded = None

    def __enter__(self) -> "IndexProgress":
        self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bars.stop()

    def start(self, files: int) -> None:
        self._files = self._bars.add_task("Reading PDFs", total=files, detail="")
        self._embedded = self._bars.add_task("Embedding   ", total=None, detail="")

    def page(self, name: str, done: int, total: int) -> None:
        if self._files is not None:
            self._bars.update(self._files, detail=f"{clean_chars(name)} p. {done}/{total}")

    def file_done(self, name: str) -> None:
        if self._files is not None:
            self._bars.advance(self._files)

    def embedded(self, texts: int) -> None:
        if self._embedded is not None:
            self._bars.update(self._embedded, completed=texts, detail="chunks and sentences")

    def note(self, message: str) -> None:
        self._bars.console.print(Text(clean_chars(message), style="yellow"))


_ACTION_STYLE = {"added": "green", "changed": "cyan", "removed": "magenta", "renamed": "blue", "unchanged": "dim", "failed": "bold red", "ignored": "dim yellow"}


def index_report_view(report) -> Group:
    files = Table(title="Files" + (" (dry run: nothing was changed)" if report.dry_run else ""), title_justify="left")
    for column in ("file", "action", "pages", "chunks", "detail"):
        files.add_column(column, overflow="fold")
    for action in report.actions:
        files.add_row(
            safe(action.name),
            Text(action.action, style=_ACTION_STYLE.get(action.action, "")),
            str(action.pages or ""),
            str(action.chunks or ""),
            safe(action.detail),
        )
    summary = Table(title="Index", title_justify="left")
    for column in ("documents", "pages", "chunks", "seconds", "location"):
        summary.add_column(column)
    summary.add_row(str(report.documents), str(report.pages), str(report.chunks), f"{report.seconds:.1f}", safe(report.index))
    parts: list = []
    if report.rebuild_reason:
        parts.append(Text(report.rebuild_reason, style="yellow"))
    parts += [files, summary]
    if report.failed:
        parts.append(Text(f"{len(report.failed)} file(s) could not be indexed; the others were.", style="bold red"))
    return Group(*parts)
