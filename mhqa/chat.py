"""`mhqa chat`: question after question in one session, so only the first costs a start-up.

The session (index, encoder, BM25 arrays) stays open; each answer is rendered by
render.answer_view, exactly as `mhqa ask` shows it. Lines are read with the
standard library's readline where Python has it (line editing, up/down history).
The history stays in memory unless --history names a file: questions are written
nowhere unless the user asks.

`exit`, `quit` or Ctrl-D leave; Ctrl-C drops the line being typed, or stops the
answer being looked up, and the prompt comes back.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable

from rich.console import Console
from rich.text import Text

from .errors import UsageError
from .render import answer_view, safe
from .session import Session

PROMPT = "mhqa> "
LEAVE = frozenset({"exit", "quit"})
HISTORY_LINES = 1000


def welcome(session: Session) -> Text:
    manifest = session.manifest
    text = Text("mhqa chat", style="bold")
    text.append(
        f" — answers only from {len(manifest.documents)} vetted documents ({manifest.total_pages} pages), citing document and page.\n"
        "Type a question and press Enter. exit, quit or Ctrl-D leaves; Ctrl-C clears the line.\n",
        style="dim",
    )
    return text


def line_editing(history: Path | None) -> Callable[[], None]:
    """Turn on readline for input(); returns what saves the history when the chat ends."""
    try:
        import readline
    except ImportError:  # a Python built without it: plain input() still works
        return lambda: None
    readline.set_auto_history(True)
    if history is None:
        return lambda: None
    try:
        readline.read_history_file(history)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise UsageError(f"cannot read the history file {history}: {exc.strerror or exc}") from None
    readline.set_history_length(HISTORY_LINES)

    def save() -> None:
        try:
            # Private whatever the readline library does: created 0600 (a library that writes in
            # place keeps that), and 0600 after writing (one that writes a new file and renames it).
            os.close(os.open(history, os.O_WRONLY | os.O_CREAT, 0o600))
            readline.write_history_file(history)
            os.chmod(history, 0o600)
        except OSError:
            pass  # losing the history must not turn a finished chat into an error

    return save


def run_chat(
    session: Session,
    out: Console,
    err: Console,
    read: Callable[[str], str] = input,
    prompt: str | None = None,
    show_passages: bool = True,
) -> int:
    """Answer every line read until exit, quit or the end of input; returns how many were answered.

    The prompt is shown only to a terminal: questions piped in give just the answers.
    """
    if prompt is None:
        prompt = PROMPT if sys.stdin.isatty() else ""
    answered = 0
    while True:
        try:
            line = read(prompt)
        except EOFError:
            out.print()  # end the prompt's line, so the shell's prompt starts clean
            return answered
        except KeyboardInterrupt:
            out.print()
            continue
        question = line.strip()
        if not question:
            continue
        if question.lower() in LEAVE:
            return answered
        try:
            answer = session.ask(question)
        except KeyboardInterrupt:
            err.print(Text("(stopped)", style="dim"))
            continue
        except UsageError as exc:  # e.g. a line of control characters only
            err.print(Text("mhqa: ") + safe(str(exc)))
            continue
        out.print(answer_view(answer, show_passages=show_passages))
        out.print()
        answered += 1
