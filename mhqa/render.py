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

from .answer import FRAGMENT_PROMPT, NOTICE, REFUSAL, Answer, Citation
from .clean import clean_chars
from .crisis import ENGLISH_ONLY
from .register import REVIEW_OVERDUE


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, markup=False, emoji=False, highlight=False, soft_wrap=False)


def safe(text: str) -> Text:
    """Untrusted text as plain rich Text: control characters and escape sequences removed."""
    return Text(clean_chars(text))


def crisis_panel(resources: Iterable[str]) -> Panel:
    body = Text("\n".join(resources))
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
    stated = ", ".join(str(part) for part in (citation.publisher, citation.year) if part)
    if stated:
        line.append(f" ({clean_chars(stated)})")
    line.append(f" — {clean_chars(citation.source)}, page {citation.page}")
    if citation.review_overdue:
        line.append(f" {REVIEW_OVERDUE}", style="bold yellow")
    if citation.url:
        line.append(f"\n    {clean_chars(citation.url)}", style="dim")
    return line


def answer_view(answer: Answer, show_passages: bool = True) -> Group:
    parts: list = []
    if answer.crisis:
        parts.append(crisis_panel(answer.resources))
    if answer.language != "en":
        parts.append(Text(ENGLISH_ONLY, style="bold"))
    parts.append(Text("Q: ", style="bold") + safe(answer.question))
    if answer.read_as:
        parts.append(Text("Read as: ", style="bold") + safe(answer.read_as))
    parts.append(Text(""))
    if answer.fragment:
        parts.append(Text(FRAGMENT_PROMPT, style="bold yellow"))
        parts.append(Text("Why: ", style="bold") + safe(answer.reason or ""))
    elif answer.status == "answered":
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
            parts.append(Padding(quote, (0, 0, 0, 4), expand=False))
    parts.append(Text(""))
    parts.append(Text(NOTICE, style="italic dim"))
    return Group(*parts)


def documents_view(documents) -> Table:
    """The indexed documents (session.Session.documents): title, publisher and year, and the file cited."""
    table = Table(title=f"{len(documents)} documents in the index", title_justify="left")
    for column in ("title", "publisher", "year", "file"):
        table.add_column(column, overflow="fold")
    for name, facts in documents:
        table.add_row(safe(facts.title), safe(facts.publisher or ""), str(facts.year or ""), safe(name))
    return table


def page_view(citation: Citation, text: str) -> Panel:
    """The full cleaned text of the page behind a citation, as the index holds it."""
    body = Text(clean_chars(citation.title), style="bold") + Text("\n\n") + safe(text)
    return Panel(body, title=Text(f"[{citation.id}] {clean_chars(citation.source)}, page {citation.page}"), title_align="left", border_style="cyan")


def print_answers_json(answers: Iterable[Answer], stream=None) -> None:
    stream = stream or sys.stdout
    for answer in answers:
        stream.write(json.dumps(answer.to_json(), ensure_ascii=False) + "\n")
        stream.flush()


# --- indexing ----------------------------------------------------------------------------------


class IndexProgress:
    """The indexer's Progress, drawn as rich bars on stderr (files read, texts embedded).

    The bars start at the first thing to show, so a question on an existing index
    draws nothing and starts no refresh thread.
    """

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
        self._shown = False

    def __enter__(self) -> "IndexProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._shown:
            self._bars.stop()

    def _show(self) -> None:
        if not self._shown:
            self._shown = True
            self._bars.start()

    def start(self, files: int) -> None:
        self._show()
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
            self._bars.update(self._embedded, completed=texts, detail="passages (their sentences pooled from the same pass)")

    def note(self, message: str) -> None:
        self._show()
        self._bars.console.print(Text(clean_chars(message), style="yellow"))


_ACTION_STYLE = {"added": "green", "changed": "cyan", "updated": "cyan", "rebuilt": "cyan", "removed": "magenta", "renamed": "blue", "unchanged": "dim", "failed": "bold red", "ignored": "dim yellow"}


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


# --- evaluation --------------------------------------------------------------------------------

_METRIC_NAMES = {
    "doc_recall@1": "document recall @1",
    "doc_recall@5": "document recall @5",
    "page_recall@5": "page recall @5",
    "first_citation_on_gold_page": "first citation on a gold page",
    "any_citation_on_gold_page": "answered, with a citation on a gold page",
    "mrr": "MRR (document)",
    "answered_answerable": "answerable questions answered",
    "refused_unanswerable": "unanswerable questions refused",
    "citation_precision": "citation precision",
    "evidence_auroc": "evidence AUROC",
}


def eval_view(report) -> Group:
    parts: list = []
    if report.rows:
        table = Table(title=f"{report.rows} questions ({report.answerable} answerable, {report.unanswerable} not), threshold {report.threshold:.3f}", title_justify="left")
        table.add_column("metric")
        table.add_column("value", justify="right")
        for key, label in _METRIC_NAMES.items():
            table.add_row(label, f"{report.metrics[key]:.3f}")
        for kind, share in report.refused_by_kind.items():
            table.add_row(f"  refused: {kind} ({report.counts_by_kind.get(kind, 0)})", f"{share:.3f}")
        parts.append(table)
    if report.crisis:
        parts.append(_crisis_eval_table(report.crisis))
    if report.calibrated is not None:
        parts.append(Text(f"Calibrated threshold {report.calibrated:.4f} written to the config file (min_evidence).", style="bold green"))
    return Group(*parts)


def _crisis_eval_table(crisis: dict) -> Table:
    table = Table(title=f"Crisis check: {crisis['crisis_rows']} crisis messages, {crisis['harmless_rows']} harmless", title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    rate = lambda value: "-" if value is None else f"{value:.3f}"  # noqa: E731
    table.add_row("crisis recall", rate(crisis["recall"]))
    table.add_row("harmless flagged (false alarms)", rate(crisis["false_alarm_rate"]))
    table.add_row("kind agrees with the label", rate(crisis["kind_agreement"]))
    for name, group in (("recall", crisis["recall_by_kind"]), ("recall", crisis["recall_by_category"]), ("flagged", crisis["flagged_by_category"])):
        for label, row in group.items():
            table.add_row(f"  {name}: {clean_chars(label)} ({row['rows']})", f"{row['flagged']:.3f}")
    return table


# --- FAQ sheets --------------------------------------------------------------------------------


class QuestionProgress(IndexProgress):
    """IndexProgress (the index may be built first), plus a bar over a batch of questions."""

    _questions = None

    def start_questions(self, total: int) -> None:
        self._questions = self._bars.add_task("Answering   ", total=total, detail="questions")

    def question_done(self) -> None:
        if self._questions is not None:
            self._bars.advance(self._questions)


def _short(text: str, width: int = 70) -> Text:
    text = clean_chars(text)
    return Text(text if len(text) <= width else text[: width - 1] + "…")


def faq_summary_view(result, output: str) -> Group:
    """Per question its outcome and reading level, the questions left out, and the totals."""
    target = result.grade_target
    levels = Table(title=f"Reading level (Flesch-Kincaid grade; aim for {target:g} or lower)", title_justify="left")
    for column, justify in (("line", "right"), ("question", "left"), ("outcome", "left"), ("grade", "right")):
        levels.add_column(column, justify=justify)
    for entry in result.entries:
        grade = Text("")
        if entry.grade is not None:
            grade = Text(f"{entry.grade:.1f}" + (f" above {target:g}" if entry.grade > target else ""), style="bold yellow" if entry.grade > target else "")
        outcome_style = {"answered": "green", "not covered": "yellow", "left out": "bold red"}[entry.outcome]
        levels.add_row(str(entry.question.line), _short(entry.question.text), Text(entry.outcome, style=outcome_style), grade)
    parts: list = [levels]
    left_out = [entry for entry in result.entries if entry.outcome == "left out"]
    if left_out:
        body = Text(f"{len(left_out)} question(s) signal a personal crisis and were left out of the sheet. "
                    "If a person wrote one of these, please check on them now.\n")
        for entry in left_out:
            body.append(f"\n  line {entry.question.line}: ").append(_short(entry.question.text, 100))
        body.append("\n\n" + "\n".join(result.sheet.resources))
        parts.append(Panel(body, title="Left out: possible crisis", title_align="left", border_style="bold red"))
    grades = [entry.grade for entry in result.entries if entry.grade is not None]
    summary = Table(title="FAQ sheet", title_justify="left", show_header=False)
    summary.add_column(style="bold")
    summary.add_column(overflow="fold")
    summary.add_row("answered", str(result.count("answered")))
    summary.add_row("not covered", str(result.count("not covered")))
    summary.add_row("left out (crisis)", str(result.count("left out")))
    summary.add_row(f"answers above grade {target:g}", f"{sum(grade > target for grade in grades)} of {len(grades)}")
    summary.add_row("output", Text(f"{clean_chars(output)} ({result.format})"))
    parts.append(summary)
    return Group(*parts)


# --- status ------------------------------------------------------------------------------------


def _when(iso: str) -> str:
    """'2026-11-22T05:10:58+00:00' -> '2026-11-22 05:10 UTC' (manifest times are UTC)."""
    return iso[:16].replace("T", " ") + (" UTC" if iso.endswith("+00:00") else "")


def status_view(status) -> Group:
    model, chunking = status.model, status.chunking
    parts: list = [
        Text(f"Index {clean_chars(status.index)}, generation {status.generation}, built {_when(status.created_at)}"),
        Text(
            f"Model {clean_chars(str(model.get('name')))} (fingerprint {model.get('fingerprint')}, {model.get('dim')} dimensions); "
            f"chunks of at most {chunking.get('chunk_tokens')} word pieces, overlap {chunking.get('chunk_overlap')} sentence(s)",
            style="dim",
        ),
    ]
    documents = Table(title="Indexed documents", title_justify="left")
    for column in ("title", "file", "pages", "chunks", "indexed at", "hash", "state"):
        documents.add_column(column, overflow="fold", no_wrap=column in ("file", "indexed at", "hash"))
    for document in status.documents:
        state = Text("stale: " + clean_chars(document.stale), style="yellow") if document.stale else Text("up to date", style="dim")
        documents.add_row(
            safe(document.title),
            safe("\n".join(document.names)),
            str(document.pages),
            str(document.chunks),
            _when(document.indexed_at),
            document.sha256[:12],
            state,
        )
    documents.add_section()
    documents.add_row(Text(f"{len(status.documents)} documents", style="bold"), "", str(status.pages), str(status.chunks), "", "", "")
    parts.append(documents)
    if status.overdue:
        parts.append(Text("Review overdue: these sources are past their review-by date (review them, then update the register):", style="bold yellow"))
        overdue = Table()
        for column in ("file", "title", "review by"):
            overdue.add_column(column, overflow="fold")
        for entry in status.overdue:
            overdue.add_row(safe(entry.file), safe(entry.title), entry.review_by)
        parts.append(overdue)
    if status.rebuild_reason:
        parts.append(Text(status.rebuild_reason, style="yellow"))
    if status.stale:
        stale = Table(title=f"Stale: the index no longer matches {clean_chars(status.corpus)}", title_justify="left")
        for column in ("file", "next run", "detail"):
            stale.add_column(column, overflow="fold")
        for entry in status.stale:
            stale.add_row(safe(entry.file), Text(entry.state, style=_ACTION_STYLE.get(entry.state, "")), safe(entry.detail))
        parts.append(stale)
    if status.failed:
        parts.append(Text("Cannot be indexed (fix or remove these files):", style="bold red"))
        failed = Table()
        for column in ("file", "reason"):
            failed.add_column(column, overflow="fold")
        for entry in status.failed:
            failed.add_row(safe(entry.file), safe(entry.detail))
        parts.append(failed)
    if status.ignored:
        parts.append(Text("Ignored (not PDFs): " + ", ".join(clean_chars(name) for name in status.ignored), style="dim yellow"))
    if status.fix:
        parts.append(Text("To update the index, run: ", style="bold") + Text(clean_chars(status.fix)))
    elif status.up_to_date:
        parts.append(Text(f"Up to date with {clean_chars(status.corpus)}.", style="green"))
    return Group(*parts)


# --- the register of vetted sources ------------------------------------------------------------

_OUTCOME_STYLE = {"added": "green", "redrafted": "yellow", "already registered": "dim", "cannot be read": "bold red"}


def sources_added_view(drafted) -> Group:
    table = Table(title="Register entries", title_justify="left")
    for column in ("file", "outcome", "to complete", "detail"):
        table.add_column(column, overflow="fold")
    for entry in drafted:
        table.add_row(safe(entry.file), Text(entry.outcome, style=_OUTCOME_STYLE.get(entry.outcome, "")), ", ".join(entry.to_complete), safe(entry.detail))
    parts: list = [table]
    if any(entry.to_complete for entry in drafted):
        parts.append(Text("A draft vets nothing: complete the keys marked TO COMPLETE in the register, then run `mhqa index`.", style="bold yellow"))
    return Group(*parts)


_PROBLEM_STYLE = {"missing": "magenta", "changed": "bold red", "unregistered": "yellow", "draft": "yellow", "review overdue": "bold yellow"}


def sources_check_view(report) -> Group:
    heading = Text(f"Register {clean_chars(report.register)}: {report.entries} entries, {report.files} PDF(s) in the corpus folder")
    if report.ok:
        return Group(heading, Text("Every file is registered with its bytes, every entry is complete, and no review is overdue.", style="green"))
    table = Table(title=f"{len(report.findings)} problem(s)", title_justify="left")
    for column in ("file", "problem", "detail"):
        table.add_column(column, overflow="fold")
    for finding in report.findings:
        table.add_row(safe(finding.file), Text(finding.problem, style=_PROBLEM_STYLE.get(finding.problem, "")), safe(finding.detail))
    return Group(heading, table)


# --- rechecking an old sheet -------------------------------------------------------------------

_VERDICT_STYLE = {"unchanged": "green", "changed": "yellow", "now refused": "bold red", "quote gone": "bold red"}


def recheck_view(report) -> Group:
    table = Table(title=f"Recheck of {clean_chars(report.sheet)} against generation {report.generation}", title_justify="left")
    for column, justify in (("line", "right"), ("question", "left"), ("verdict", "left"), ("detail", "left")):
        table.add_column(column, justify=justify, overflow="fold")
    for verdict in report.verdicts:
        table.add_row(str(verdict.line), _short(verdict.question), Text(verdict.verdict, style=_VERDICT_STYLE.get(verdict.verdict, "")), safe(verdict.detail))
    counts = ", ".join(f"{report.count(kind)} {kind}" for kind in _VERDICT_STYLE)
    summary = Text(counts + (": reprint the changed answers." if report.changed else ": the sheet still holds."), style="bold")
    return Group(table, summary)
