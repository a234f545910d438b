"""The `mhqa` command: parse flags, build the settings, call one function, render its result.

Every error a user can cause is an MhqaError, mapped to its exit code and a
one-line message in `main`; nothing here prints a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .errors import EXIT_OK, EXIT_REFUSED, EXIT_UNAVAILABLE, EXIT_USAGE, MhqaError, UsageError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Answers mental-health psychoeducation questions only from vetted guideline PDFs, with page citations.",
)

# Options shared by the commands: where the index and corpus are, and how to reach a server.
IndexOpt = Annotated[Optional[Path], typer.Option("--index", help="Index folder [default: ./index, $MHQA_INDEX].", show_default=False)]
CorpusOpt = Annotated[Optional[Path], typer.Option("--corpus", help="Corpus folder [default: ./corpus, $MHQA_CORPUS].", show_default=False)]
ConfigOpt = Annotated[Optional[Path], typer.Option("--config", help="Config file [default: ./mhqa.toml, $MHQA_CONFIG].", show_default=False)]
UrlOpt = Annotated[Optional[str], typer.Option("--chroma-url", help="Use a Chroma server (http:// or https://) instead of the index folder [$MHQA_CHROMA_URL].", show_default=False)]
TokenOpt = Annotated[Optional[str], typer.Option("--chroma-token", help="Token for the server's proxy [$MHQA_CHROMA_TOKEN]; never printed or stored.", show_default=False)]
CollectionOpt = Annotated[Optional[str], typer.Option("--collection", help="Collection name on the server [default: mhqa].", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object per line instead of the rich view.")]


def _settings(config: Path | None = None, **flags):
    from .settings import load_settings

    return load_settings(flags, config=config)


@app.command()
def index(
    corpus: CorpusOpt = None,
    index: IndexOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan (added, changed, removed, renamed, unchanged) and change nothing.")] = False,
    wait: Annotated[Optional[float], typer.Option("--wait", help="Seconds to wait for another index run to finish [default: 10].", show_default=False)] = None,
    config: ConfigOpt = None,
    chroma_url: UrlOpt = None,
    chroma_token: TokenOpt = None,
    collection: CollectionOpt = None,
) -> None:
    """Index the corpus PDFs, redoing only what changed since the last run."""
    from .indexer import run_index
    from .render import IndexProgress, console, index_report_view

    settings = _settings(config, corpus=corpus, index=index, lock_wait=wait, chroma_url=chroma_url, chroma_token=chroma_token, collection=collection)
    err = console(stderr=True)
    with IndexProgress(err) as progress:
        report = run_index(settings, progress, dry_run=dry_run)
    console().print(index_report_view(report))
    if report.failed:
        raise typer.Exit(EXIT_UNAVAILABLE)


@app.command()
def ask(
    question: Annotated[Optional[str], typer.Argument(help="The question, in quotes.", show_default=False)] = None,
    file: Annotated[Optional[Path], typer.Option("--file", "-f", help="Answer one question per line of FILE ('-' for standard input); '#' lines and blank lines are skipped.", show_default=False)] = None,
    top_k: Annotated[Optional[int], typer.Option("--top-k", help="Passages to cite or show at most [default: 5].", show_default=False)] = None,
    max_sentences: Annotated[Optional[int], typer.Option("--max-sentences", "-n", help="Longest answer, in sentences [default: 3].", show_default=False)] = None,
    min_evidence: Annotated[Optional[float], typer.Option("--min-evidence", help="Refuse below this evidence score (0..1) [default: the calibrated threshold].", show_default=False)] = None,
    json_output: JsonOpt = False,
    no_passages: Annotated[bool, typer.Option("--no-passages", help="List the sources without quoting the passages.")] = False,
    log: Annotated[Optional[Path], typer.Option("--log", help="Append each question and its outcome to this file (nothing is logged otherwise).", show_default=False)] = None,
    corpus: CorpusOpt = None,
    index: IndexOpt = None,
    config: ConfigOpt = None,
    chroma_url: UrlOpt = None,
    chroma_token: TokenOpt = None,
    collection: CollectionOpt = None,
) -> None:
    """Answer a question from the vetted corpus, citing document and page, or refuse."""
    from .render import IndexProgress, answer_view, console, print_answers_json
    from .session import open_session

    if (question is None) == (file is None):
        raise UsageError("give either a QUESTION or --file FILE")
    questions = [question] if question is not None else read_questions(file)
    settings = _settings(
        config, corpus=corpus, index=index, top_k=top_k, max_sentences=max_sentences, min_evidence=min_evidence,
        log_file=log, chroma_url=chroma_url, chroma_token=chroma_token, collection=collection,
    )
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
    if file is None and refused:
        raise typer.Exit(EXIT_REFUSED)


def read_questions(path: Path) -> list[str]:
    """Questions from a text file (or '-' for standard input), one per line."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read questions from {path}: {exc}") from None
    questions = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not questions:
        raise UsageError(f"no questions in {path}")
    return questions


def main() -> None:
    """Entry point: run the app and turn errors into one line and an exit code."""
    try:
        code = app(standalone_mode=False)
    except MhqaError as exc:
        print(f"mhqa: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("mhqa: interrupted", file=sys.stderr)
        sys.exit(130)
    except KeyboardInterrupt:
        print("mhqa: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # click's usage errors come here in non-standalone mode
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(EXIT_USAGE)
        raise
    sys.exit(code if isinstance(code, int) else EXIT_OK)
