"""The `mhqa` command: parse flags, build the settings, call one function, render its result.

Every error a user can cause is an MhqaError, mapped to its exit code and a
one-line message in `main`; nothing here prints a traceback.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer

from .errors import EXIT_CHANGED, EXIT_OK, EXIT_REFUSED, EXIT_STALE, EXIT_UNAVAILABLE, EXIT_UNVETTED, MhqaError, UsageError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help text is plain: "[default: 5]" must not be read as markup
    help="Answers mental-health psychoeducation questions only from vetted guideline PDFs, with page citations.",
)
sources_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="The register of vetted sources (CORPUS/sources.toml): draft entries, check it against the corpus.",
)
app.add_typer(sources_app, name="sources")

# Where the corpus and index are, and how to reach a server: every command takes these.
WHERE = {
    "corpus": (Optional[Path], typer.Option("--corpus", help="Corpus folder [default: ./corpus, $MHQA_CORPUS].", show_default=False)),
    "index": (Optional[Path], typer.Option("--index", help="Index folder [default: ./index, $MHQA_INDEX].", show_default=False)),
    "config": (Optional[Path], typer.Option("--config", help="Config file [default: ./mhqa.toml, $MHQA_CONFIG].", show_default=False)),
    "chroma_url": (Optional[str], typer.Option("--chroma-url", help="Use a Chroma server (http:// or https://) instead of the index folder [$MHQA_CHROMA_URL].", show_default=False)),
    "chroma_token": (Optional[str], typer.Option("--chroma-token", help="Token for the server's proxy [$MHQA_CHROMA_TOKEN]; never printed or stored.", show_default=False)),
    "collection": (Optional[str], typer.Option("--collection", help="Collection name on the server [default: mhqa].", show_default=False)),
    "chroma_ca": (Optional[Path], typer.Option("--chroma-ca", help="CA certificate (PEM file or folder) to verify an https server with [default: the system's; $MHQA_CHROMA_CA].", show_default=False)),
}

# Options of the commands that answer questions.
JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object per line instead of the rich view.")]
TopKOpt = Annotated[Optional[int], typer.Option("--top-k", help="Passages to cite or show at most [default: 5].", show_default=False)]
SentencesOpt = Annotated[Optional[int], typer.Option("--max-sentences", "-n", help="Longest answer, in sentences [default: 3].", show_default=False)]
EvidenceOpt = Annotated[Optional[float], typer.Option("--min-evidence", help="Refuse below this evidence score (0..1) [default: the calibrated threshold].", show_default=False)]
PassagesOpt = Annotated[bool, typer.Option("--no-passages", help="List the sources without quoting the passages.")]
LogOpt = Annotated[Optional[Path], typer.Option("--log", help="Append each question and its outcome to this file (nothing is logged otherwise).", show_default=False)]


def command(name: str | None = None, group: typer.Typer = app):
    """Register a command that also takes the WHERE options; it receives them as one dict, `where`."""

    def register(function):
        own = [p for p in inspect.signature(function, eval_str=True).parameters.values() if p.name != "where"]
        shared = [
            inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[kind, option])
            for key, (kind, option) in WHERE.items()
        ]

        @functools.wraps(function)
        def with_where(**values):
            return function(where={key: values.pop(key) for key in WHERE}, **values)

        with_where.__signature__ = inspect.Signature(own + shared)
        return group.command(name)(with_where)

    return register


def show(report, json_output: bool, view) -> None:
    """A report as one JSON object (--json), or as its rich view."""
    from .render import console

    if json_output:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        console().print(view(report))


def _settings(where: dict, **flags):
    """The command's one settings object; warns (once: each command builds it once) about a token sent in the clear."""
    from .settings import load_settings

    location = {key: value for key, value in where.items() if key != "config"}
    settings = load_settings({**location, **flags}, config=where["config"])
    if settings.uses_server and settings.chroma_token:
        from .clean import clean_line
        from .server import plain_http_warning

        if warning := plain_http_warning(settings):
            print(f"mhqa: {clean_line(warning)}", file=sys.stderr)
    return settings


@command()
def index(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan (added, changed, removed, renamed, unchanged) and change nothing.")] = False,
    wait: Annotated[Optional[float], typer.Option("--wait", help="Seconds to wait for another index run to finish [default: 10].", show_default=False)] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", help="Cores to index with: PDF readers and encoder sessions [default: all].", show_default=False)] = None,
    *,
    where: dict,
) -> None:
    """Index the corpus PDFs, redoing only what changed since the last run."""
    from .indexer import run_index
    from .render import IndexProgress, console, index_report_view

    settings = _settings(where, lock_wait=wait, workers=workers)
    with IndexProgress(console(stderr=True)) as progress:
        report = run_index(settings, progress, dry_run=dry_run)
    console().print(index_report_view(report))
    if report.failed:
        raise typer.Exit(EXIT_UNAVAILABLE)


@command()
def status(json_output: JsonOpt = False, *, where: dict) -> None:
    """Show the indexed documents and the corpus files that changed since; exit 1 if any are stale or unreadable."""
    from .render import status_view
    from .status import index_status

    report = index_status(_settings(where))
    show(report, json_output, status_view)
    if not report.up_to_date:
        raise typer.Exit(EXIT_STALE)


@command()
def ask(
    question: Annotated[Optional[str], typer.Argument(help="The question, in quotes.", show_default=False)] = None,
    file: Annotated[Optional[Path], typer.Option("--file", "-f", help="Answer one question per line of FILE ('-' for standard input); '#' lines and blank lines are skipped.", show_default=False)] = None,
    top_k: TopKOpt = None,
    max_sentences: SentencesOpt = None,
    min_evidence: EvidenceOpt = None,
    json_output: JsonOpt = False,
    no_passages: PassagesOpt = False,
    log: LogOpt = None,
    *,
    where: dict,
) -> None:
    """Answer a question from the vetted corpus, citing document and page, or refuse."""
    from .questions import read_questions
    from .render import IndexProgress, answer_view, console, print_answers_json
    from .session import open_session

    if (question is None) == (file is None):
        raise UsageError("give either a QUESTION or --file FILE")
    questions = [question] if question is not None else [q.text for q in read_questions(file, "txt")]
    settings = _settings(where, top_k=top_k, max_sentences=max_sentences, min_evidence=min_evidence, log_file=log)
    out = console()
    with IndexProgress(console(stderr=True)) as progress:
        session = open_session(settings, progress)
    refused = False
    with session:
        for text in questions:
            answer = session.ask(text)
            refused = refused or answer.status == "refused"
            if json_output:
                print_answers_json([answer])
            else:
                out.print(answer_view(answer, show_passages=not no_passages))
                if len(questions) > 1:
                    out.rule()
    code = EXIT_REFUSED if file is None and refused else EXIT_OK
    if session.indexed:
        raise typer.Exit(code)
    exit_now(code)


@command()
def chat(
    top_k: TopKOpt = None,
    max_sentences: SentencesOpt = None,
    min_evidence: EvidenceOpt = None,
    no_passages: PassagesOpt = False,
    history: Annotated[Optional[Path], typer.Option("--history", help="Keep the line history in this file across chats (by default it is kept in memory only).", show_default=False)] = None,
    log: LogOpt = None,
    json_output: Annotated[bool, typer.Option("--json", help="Read lines from standard input and print one JSON object per line: an `ask --json` object with `read_as`, or a slash command's.")] = False,
    *,
    where: dict,
) -> None:
    """Ask question after question with the model kept loaded; a follow-up may lean on the one before. /help lists the commands; exit, quit or Ctrl-D leaves."""
    from .chat import line_editing, run_chat, welcome
    from .render import IndexProgress, console
    from .session import open_session

    settings = _settings(where, top_k=top_k, max_sentences=max_sentences, min_evidence=min_evidence, log_file=log)
    out, err = console(), console(stderr=True)
    save_history = line_editing(history)
    with IndexProgress(err) as progress:
        session = open_session(settings, progress)
    with session:
        if not json_output:
            out.print(welcome(session))
        run_chat(session, out, err, show_passages=not no_passages, json_output=json_output)
    save_history()
    if session.indexed:
        return
    exit_now(EXIT_OK)


@command("eval")
def evaluate(
    dataset: Annotated[Path, typer.Argument(help="Labelled questions, JSON Lines (see README, 'Answer quality').", show_default=False)],
    split: Annotated[Optional[str], typer.Option("--split", help="Only rows of this split (e.g. calibration, test) [default: all].", show_default=False)] = None,
    calibrate: Annotated[bool, typer.Option("--calibrate", help="Choose the threshold on these rows and write it to the config file (min_evidence).")] = False,
    min_evidence: Annotated[Optional[float], typer.Option("--min-evidence", help="Score as if refusing below this evidence.", show_default=False)] = None,
    json_output: JsonOpt = False,
    *,
    where: dict,
) -> None:
    """Measure retrieval, citations and refusals on a labelled set; optionally calibrate the threshold."""
    from .evaluate import calibrate_and_score
    from .render import IndexProgress, console, eval_view

    settings = _settings(where, min_evidence=min_evidence)
    with IndexProgress(console(stderr=True)) as progress:
        report = calibrate_and_score(settings, dataset, split, calibrate, progress)
    show(report, json_output, eval_view)


@command()
def faq(
    questions: Annotated[Optional[Path], typer.Argument(help="Questions: .txt (one per line, '## ' starts a section, '#' lines skipped), .csv or .jsonl (a 'question' and an optional 'section'); '-' reads standard input.", metavar="QUESTIONS", show_default=False)] = None,
    out: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the sheet here [default: standard output].", show_default=False)] = None,
    fmt: Annotated[Optional[str], typer.Option("--format", help="md, html or jsonl [default: from the extension of -o, else md].", show_default=False)] = None,
    title: Annotated[Optional[str], typer.Option("--title", help="The sheet's title [default: Frequently asked questions].", show_default=False)] = None,
    date: Annotated[Optional[str], typer.Option("--date", help="The sheet's date, YYYY-MM-DD [default: $SOURCE_DATE_EPOCH, else today].", show_default=False)] = None,
    input_format: Annotated[Optional[str], typer.Option("--input-format", help="txt, csv or jsonl [default: from the extension of QUESTIONS; txt for '-'].", show_default=False)] = None,
    recheck: Annotated[Optional[Path], typer.Option("--recheck", help="Instead of a sheet: re-ask the questions of OLD.jsonl (a sheet written with -o OLD.jsonl) and report per question unchanged, changed, now refused or quote gone; exit 1 if any changed.", metavar="OLD.jsonl", show_default=False)] = None,
    *,
    where: dict,
) -> None:
    """Turn a list of questions into a cited FAQ sheet (Markdown, HTML or JSON Lines) for a handout; --recheck says which answers of an old sheet changed."""
    from .faq import make_faq, output_format, sheet_date, write_output
    from .questions import read_questions
    from .render import QuestionProgress, console, faq_summary_view

    if recheck is not None:
        if questions is not None or any(v is not None for v in (out, fmt, title, date, input_format)):
            raise UsageError("--recheck OLD.jsonl takes no QUESTIONS and writes no sheet (no -o, --format, --title, --date, --input-format)")
        _recheck(where, recheck)
    if questions is None:
        raise UsageError("give QUESTIONS (a file, or '-' for standard input), or --recheck OLD.jsonl")

    out = None if out is not None and str(out) == "-" else out
    asked = read_questions(questions, input_format)
    chosen, day = output_format(fmt, out), sheet_date(date)
    with QuestionProgress(console(stderr=True)) as progress:
        result = make_faq(_settings(where), asked, chosen, title, day, progress)
    write_output(result.text, out)
    console(stderr=out is None).print(faq_summary_view(result, str(out) if out else "standard output"))


def _recheck(where: dict, sheet: Path) -> NoReturn:
    from .recheck import recheck_sheet
    from .render import QuestionProgress, console, recheck_view

    with QuestionProgress(console(stderr=True)) as progress:
        report = recheck_sheet(_settings(where), sheet, progress)
    console().print(recheck_view(report))
    raise typer.Exit(EXIT_CHANGED if report.changed else EXIT_OK)


@command("add", group=sources_app)
def sources_add(
    files: Annotated[list[Path], typer.Argument(help="PDFs in the corpus folder to draft register entries for.", show_default=False)],
    *,
    where: dict,
) -> None:
    """Draft a register entry for each FILE from what its PDF states; the rest is marked TO COMPLETE."""
    from .render import console, sources_added_view
    from .vetting import UNREADABLE, add_sources

    drafted = add_sources(_settings(where), files)
    console().print(sources_added_view(drafted))
    if any(d.outcome == UNREADABLE for d in drafted):
        raise typer.Exit(EXIT_UNAVAILABLE)


@command("check", group=sources_app)
def sources_check(json_output: JsonOpt = False, *, where: dict) -> None:
    """Check the register against the corpus folder: missing, changed and unregistered files, drafts, reviews due; exit 1 if any."""
    from .render import sources_check_view
    from .vetting import check_sources

    report = check_sources(_settings(where))
    show(report, json_output, sources_check_view)
    if not report.ok:
        raise typer.Exit(EXIT_UNVETTED)


def exit_now(code: int) -> NoReturn:
    """End a command that only read the index, skipping the interpreter's teardown.

    Unloading chromadb and onnxruntime at exit costs about 0.2 s of a one-second
    answer. Only commands with nothing left to save come here: their output is
    flushed below, a --log line is closed after each question, and the kernel
    drops the index reader lock. A command that built the index exits normally.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (e.g. `| head`): nothing more to deliver
            pass
    os._exit(code)


def main() -> None:
    """Entry point: run the app and turn errors into one line and an exit code.

    Typer (standalone) prints usage errors itself and exits 2; MhqaError is ours.
    """
    try:
        app()
    except MhqaError as exc:
        from .clean import clean_line

        # Messages name files and quote servers: sanitised like PDF text, so no escape sequence reaches the terminal.
        print(f"mhqa: {clean_line(str(exc))}", file=sys.stderr)
        sys.exit(exc.exit_code)
