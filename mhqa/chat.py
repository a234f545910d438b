"""`mhqa chat`: question after question in one session, so only the first costs a start-up.

The session (index, encoder, BM25 arrays) stays open; each answer is rendered by
render.answer_view, exactly as `mhqa ask` shows it. A follow-up is read against the
conversation (conversation.py) and shown as "Read as: ..." before its answer. Lines are
read with the standard library's readline where Python has it (line editing, up/down
history). The history stays in memory unless --history names a file: questions are
written nowhere unless the user asks.

Slash commands (COMMANDS) are answered here, from the session; with --json every line
read gets one JSON object: an answer (`ask --json` plus `read_as`), or a command's.
Once a turn raised the crisis resources, a one-line reminder of them stands above every
prompt for the rest of the chat.

`exit`, `quit`, `/quit` or Ctrl-D leave; Ctrl-C drops the line being typed, or stops the
answer being looked up, and the prompt comes back.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from rich.console import Console
from rich.text import Text

from .answer import Answer
from .clean import clean_line
from .conversation import Context
from .errors import UsageError
from .render import answer_view, documents_view, page_view, safe
from .session import Session

PROMPT = "mhqa> "
LEAVE = frozenset({"exit", "quit"})
HISTORY_LINES = 1000
COMMANDS = {
    "/new": "forget the conversation: the next question starts afresh",
    "/sources": "the documents in the index, with publisher and year",
    "/page N": "the full text of the page behind citation N of the last answer",
    "/help": "these commands",
    "/quit": "leave (so do exit, quit and Ctrl-D)",
}


def welcome(session: Session) -> Text:
    manifest = session.manifest
    text = Text("mhqa chat", style="bold")
    text.append(
        f" — answers only from {len(manifest.documents)} vetted documents ({manifest.total_pages} pages), citing document and page.\n"
        "Type a question and press Enter; a follow-up may lean on the one before. /help lists the commands;\n"
        "exit, quit or Ctrl-D leaves; Ctrl-C clears the line.\n",
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


@dataclass
class Conversation:
    """What the chat remembers between lines."""

    context: Context = field(default_factory=Context)
    last: Answer | None = None  # for /page N
    crisis: bool = False  # a turn raised the crisis resources: the reminder stays


def crisis_reminder(resources: tuple[str, ...]) -> Text:
    """The session's crisis resources in one line: the ones with a number to call or text."""
    lines = [line for line in resources if any(ch.isdigit() for ch in line)] or list(resources)
    return Text("Crisis help: " + " ".join(lines), style="bold red")


def run_chat(
    session: Session,
    out: Console,
    err: Console,
    read: Callable[[str], str] = input,
    prompt: str | None = None,
    show_passages: bool = True,
    json_output: bool = False,
) -> int:
    """Answer every line read until exit, quit, /quit or the end of input; returns how many were answered.

    The prompt (and the crisis reminder above it) is shown only to a terminal, and never with
    --json: questions piped in give just the answers.
    """
    if prompt is None:
        prompt = PROMPT if sys.stdin.isatty() and not json_output else ""
    conversation = Conversation()
    answered = 0
    while True:
        if prompt and conversation.crisis:
            out.print(crisis_reminder(session.resources))
        try:
            line = read(prompt)
        except EOFError:
            if prompt:
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
        if question.startswith("/"):
            reply = run_command(question, session, conversation)
            if reply is None:
                return answered
            data, view = reply
            _show(out, json_output, data, view)
            continue
        try:
            answer, conversation.context = session.follow(question, conversation.context)
        except KeyboardInterrupt:
            err.print(Text("(stopped)", style="dim"))
            continue
        except UsageError as exc:  # e.g. a line of control characters only
            if json_output:  # still one object per line read
                _show(out, True, {"error": clean_line(str(exc))}, None)
            else:
                err.print(Text("mhqa: ") + safe(str(exc)))
            continue
        conversation.last = answer
        conversation.crisis = conversation.crisis or answer.crisis
        _show(out, json_output, {**answer.to_json(), "read_as": answer.read_as}, answer_view(answer, show_passages=show_passages))
        answered += 1


def _show(out: Console, json_output: bool, data: dict, view) -> None:
    if json_output:
        out.file.write(json.dumps(data, ensure_ascii=False) + "\n")
        out.file.flush()
    else:
        out.print(view)
        out.print()


def run_command(line: str, session: Session, conversation: Conversation):
    """A slash command: (its JSON object, its rich view), or None for /quit."""
    name, _, argument = line.partition(" ")
    name, argument = name.lower(), argument.strip()
    if name == "/quit":
        return None
    if name == "/new":
        conversation.context = Context()
        return {"command": "new"}, Text("(new conversation: follow-ups no longer lean on earlier questions)", style="dim")
    if name == "/help":
        view = Text("\n").join(Text(f"{usage:10}", style="bold") + Text(f" {what}") for usage, what in COMMANDS.items())
        return {"command": "help", "commands": COMMANDS}, view
    if name == "/sources":
        documents = session.documents()
        data = [{"source": name, "title": facts.title, "publisher": facts.publisher, "year": facts.year} for name, facts in documents]
        return {"command": "sources", "documents": data}, documents_view(documents)
    if name == "/page":
        return _page(argument, session, conversation.last)
    hint = f"unknown command {line.split()[0]}: /help lists the commands"
    return {"command": name, "error": hint}, Text(hint, style="yellow")


def _page(argument: str, session: Session, last: Answer | None):
    citations = {citation.id: citation for citation in (last.citations if last else [])}
    citation = citations.get(int(argument)) if argument.isdigit() else None
    if citation is None:
        problem = f"give a citation number of the last answer, 1 to {len(citations)}: /page N" if citations else "the last answer has no citations"
        return {"command": "page", "error": problem}, Text(problem, style="yellow")
    text = session.page(citation.source, citation.page)
    data = {"command": "page", "citation": citation.id, "source": citation.source, "title": citation.title, "page": citation.page, "text": text}
    return data, page_view(citation, text)
