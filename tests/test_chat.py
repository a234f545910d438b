"""`mhqa chat` driven through a real pseudo-terminal, as a person at a keyboard would.

The child runs the real CLI on the session index with the pty as its controlling
terminal, so readline edits the line, Ctrl-C is a real SIGINT from the terminal
and Ctrl-D a real end of input.
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import stat
import sys
import termios
import time

import pytest

from conftest import ROOT
from mhqa.answer import FRAGMENT_PROMPT, FRAGMENT_REASON, REFUSAL

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")
PROMPT = "mhqa> "
UP = "\x1b[A"
ASK_KEYS = {"question", "status", "answer", "reason", "evidence", "threshold", "crisis", "crisis_kind", "language", "citations", "generation"}
CTRL_C, CTRL_D = "\x03", "\x04"


class Terminal:
    """A child process on a pseudo-terminal: send keys, wait for text on the screen."""

    def __init__(self, args: list[str], env: dict[str, str]):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: become `mhqa` at once
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # a suite run in the background ignores SIGINT; Ctrl-C must reach mhqa
            os.chdir(ROOT)
            os.execve(sys.executable, [sys.executable, "-m", "mhqa", *args], env)
        self.screen = ""  # everything printed so far, escape sequences removed
        self._seen = 0

    def _read(self, deadline: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not data:
            return False
        self.screen += ANSI.sub("", data.decode("utf-8", "replace"))
        return True

    def expect(self, text: str, timeout: float = 120) -> str:
        """Wait until `text` appears after what earlier calls consumed; returns the output up to it."""
        deadline = time.monotonic() + timeout
        while (found := self.screen.find(text, self._seen)) < 0:
            if time.monotonic() > deadline or not self._read(deadline):
                raise AssertionError(f"{text!r} not shown; the screen ends with:\n{self.screen[-2000:]}")
        chunk = self.screen[self._seen : found]
        self._seen = found + len(text)
        return chunk

    def send(self, keys: str) -> None:
        """Type `keys` once the chat waits for them: readline has the terminal (echo off) and is
        blocked in select. CPython's readline misses a Ctrl-C that lands while it is still
        drawing the line (until the next key), so a key sent earlier could be lost."""
        deadline = time.monotonic() + 30
        while not self._waiting() and time.monotonic() < deadline:
            self._read(time.monotonic() + 0.02)
        os.write(self.fd, keys.encode())

    def _waiting(self) -> bool:
        try:
            with open(f"/proc/{self.pid}/wchan", encoding="ascii") as handle:
                blocked = handle.read()
            echo = termios.tcgetattr(self.fd)[3] & termios.ECHO
        except (OSError, termios.error):  # no /proc, or the chat has ended: send at once
            return True
        return not echo and ("poll" in blocked or "select" in blocked)

    def wait(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._read(min(deadline, time.monotonic() + 0.2))  # drain, so the child never blocks on output
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, 9)
        raise AssertionError(f"chat did not end; the screen ends with:\n{self.screen[-2000:]}")


@pytest.fixture
def chat(corpus_index, base_env, tmp_path):
    """Start `mhqa chat` on the session index, with an empty home folder, and wait for its prompt."""
    home = tmp_path / "home"
    home.mkdir()
    started: list[Terminal] = []

    def start(*args: str) -> Terminal:
        env = {**base_env, "HOME": str(home), "TERM": "xterm"}
        terminal = Terminal(["chat", "--index", str(corpus_index), *args], env)
        started.append(terminal)
        terminal.expect(PROMPT)
        return terminal

    start.home = home
    yield start
    for terminal in started:
        try:
            os.kill(terminal.pid, 9)
            os.waitpid(terminal.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def answer_block(text: str) -> str:
    """The rendered answer, from its `Q:` line to the closing notice, lines stripped of trailing blanks."""
    start = text.index("Q: ")
    end = text.index("professional care.", start) + len("professional care.")
    return "\n".join(line.rstrip() for line in text[start:end].splitlines())


def test_answer_is_rendered_as_ask_renders_it(chat, mhqa, corpus_index):
    question = "What are the signs of depression?"
    terminal = chat()
    terminal.send(question + "\r")
    shown = terminal.expect(PROMPT)
    asked = mhqa("ask", question, "--index", corpus_index)
    assert asked.code == 0, asked.stderr
    assert answer_block(shown) == answer_block(asked.stdout)
    assert "nimh-depression.pdf" in answer_block(shown)
    terminal.send("exit\r")
    assert terminal.wait() == 0


def test_one_session_answers_many_questions_and_refuses_like_ask(chat):
    terminal = chat("--no-passages")
    terminal.send("How is seasonal affective disorder treated?\r")
    assert "nimh-seasonal-affective-disorder.pdf" in terminal.expect(PROMPT)
    terminal.send("What is the best pizza topping?\r")
    shown = terminal.expect(PROMPT)
    assert REFUSAL in shown
    terminal.send("quit\r")
    assert terminal.wait() == 0


def test_ctrl_c_clears_the_line_and_the_chat_goes_on(chat):
    terminal = chat()
    terminal.send("What are the symptoms of panic disorder")
    terminal.expect("panic disorder")
    terminal.send(CTRL_C)
    terminal.expect(PROMPT)
    terminal.send("What is DMDD?\r")
    shown = terminal.expect(PROMPT)
    assert "Q: What is DMDD?" in shown
    assert "Q: What are the symptoms of panic disorder" not in terminal.screen
    assert "nimh-dmdd.pdf" in shown
    terminal.send(CTRL_D)
    assert terminal.wait() == 0


def test_up_arrow_recalls_the_last_question(chat):
    terminal = chat("--no-passages")
    terminal.send("What are the warning signs of suicide?\r")
    terminal.expect(PROMPT)
    terminal.send(UP + "\r")
    shown = terminal.expect(PROMPT)
    assert "Q: What are the warning signs of suicide?" in shown
    assert "nimh-warning-signs-of-suicide.pdf" in shown
    terminal.send(CTRL_D)
    assert terminal.wait() == 0


def test_crisis_resources_come_first_in_chat(chat):
    terminal = chat("--no-passages")
    terminal.send("i want to kill myself\r")
    shown = terminal.expect(PROMPT)
    assert "988" in shown
    assert shown.index("988") < shown.index("Q: i want to kill myself")
    terminal.send(CTRL_D)
    assert terminal.wait() == 0


def test_history_is_kept_in_memory_unless_a_file_is_named(chat, tmp_path):
    terminal = chat("--no-passages")
    terminal.send("How common is OCD?\r")
    terminal.expect(PROMPT)
    terminal.send("exit\r")
    assert terminal.wait() == 0
    assert list(chat.home.rglob("*")) == []  # no history, no log: questions are written nowhere

    history = tmp_path / "chat-history"
    terminal = chat("--no-passages", "--history", str(history))
    terminal.send("How common is OCD?\r")
    terminal.expect(PROMPT)
    terminal.send(CTRL_D)
    assert terminal.wait() == 0
    assert "How common is OCD?" in history.read_text()
    assert stat.S_IMODE(history.stat().st_mode) == 0o600  # readable by its owner only
    terminal = chat("--no-passages", "--history", str(history))  # and a later chat recalls it
    terminal.send(UP + "\r")
    assert "Q: How common is OCD?" in terminal.expect(PROMPT)
    terminal.send(CTRL_D)
    assert terminal.wait() == 0


@pytest.mark.parametrize("replaces_the_file", [False, True])
def test_the_history_file_is_private_whatever_readline_does(tmp_path, monkeypatch, replaces_the_file):
    """A readline library that writes the history with the default mode (libedit does, in place; others
    write a new file and rename it): the file still ends up 0600, even under a permissive umask."""
    import readline

    from mhqa.chat import line_editing

    def careless_write(path) -> None:
        if replaces_the_file:
            os.unlink(path)
        with open(path, "a", encoding="utf-8") as handle:  # mode 0666 & ~umask
            handle.write("How common is OCD?\n")

    monkeypatch.setattr(readline, "write_history_file", careless_write)
    monkeypatch.setattr(readline, "read_history_file", lambda path: None)
    history = tmp_path / "history"
    previous = os.umask(0o002)
    try:
        line_editing(history)()
    finally:
        os.umask(previous)
    assert history.read_text() == "How common is OCD?\n" and stat.S_IMODE(history.stat().st_mode) == 0o600


def test_questions_piped_in_are_answered_without_prompts(mhqa, corpus_index):
    result = mhqa("chat", "--index", corpus_index, "--no-passages", input="What is DMDD?\n\nexit\nWhat is SAD?\n")
    assert result.code == 0, result.stderr
    assert PROMPT not in result.stdout
    assert "Q: What is DMDD?" in result.stdout
    assert "What is SAD?" not in result.stdout  # nothing after `exit` is read


# --- conversations (issue 15) -------------------------------------------------------------------


def chat_json(mhqa, corpus_index, *lines: str):
    """`chat --json` with these lines piped in: one JSON object per line (blank lines excepted)."""
    result = mhqa("chat", "--json", "--index", corpus_index, input="\n".join(lines) + "\n")
    assert result.code == 0, result.stderr
    return result.json_lines()


def test_chat_json_follows_a_conversation(mhqa, corpus_index):
    replies = chat_json(
        mhqa, corpus_index,
        "what is obsessive compulsive disorder",
        "how is it treated?",
        "what about in children?",
        "/page 1",
        "what are the symptoms of panic disorder?",  # a new topic
        "and how is it treated?",
        "/new",
        "what about side effects?",  # nothing to lean on now
        "",
        "/sources",
        "/help",
        "/frobnicate",
        "\x01\x02",  # nothing to ask: still one object
    )
    assert len(replies) == 12
    first, treated, children, page, panic, panic_treated, new, fragment, sources, help_, unknown, empty = replies
    assert empty == {"error": "the question is empty"}
    assert set(first) == {*ASK_KEYS, "read_as"} and first["read_as"] is None
    assert treated["read_as"] == "how is obsessive compulsive disorder treated?"
    assert children["read_as"] == "how is obsessive compulsive disorder treated in children?"
    assert panic["read_as"] is None
    assert panic_treated["read_as"] == "how is panic disorder treated?"
    for reply, source in ((first, "nimh-ocd.pdf"), (treated, "nimh-ocd.pdf"), (children, "nimh-ocd.pdf"), (panic, "nimh-panic-disorder.pdf"), (panic_treated, "nimh-panic-disorder.pdf")):
        assert reply["status"] == "answered" and reply["citations"][0]["source"] == source, reply
    assert treated["question"] == "how is it treated?"  # what was typed; the rewrite is `read_as`
    cited = children["citations"][0]
    assert (page["command"], page["citation"], page["source"], page["page"], page["title"]) == ("page", 1, cited["source"], cited["page"], cited["title"])
    quoted = [sentence for sentence, n in re.findall(r"\s*(.+?)\s*\[(\d+)\]", children["answer"], re.S) if n == "1"]  # cited [1]
    assert quoted and all(sentence in page["text"] for sentence in quoted) and len(page["text"]) > 3 * len(cited["quote"])
    assert new == {"command": "new"}
    assert (fragment["status"], fragment["answer"], fragment["reason"], fragment["citations"], fragment["read_as"]) == ("refused", None, FRAGMENT_REASON, [], None)
    assert sources["command"] == "sources" and len(sources["documents"]) == 22
    ocd = next(d for d in sources["documents"] if d["source"] == "nimh-ocd.pdf")
    assert ocd["publisher"] == "National Institute of Mental Health" and ocd["year"] == 2023 and ocd["title"].startswith("Obsessive-Compulsive Disorder")
    assert help_["command"] == "help" and set(help_["commands"]) == {"/new", "/sources", "/page N", "/help", "/quit"}
    assert unknown == {"command": "/frobnicate", "error": "unknown command /frobnicate: /help lists the commands"}


def test_chat_json_crisis_mid_conversation_is_checked_on_what_was_typed(mhqa, corpus_index):
    replies = chat_json(mhqa, corpus_index, "what is depression", "i want to end it tonight", "how is it treated?", "/quit", "never read")
    assert len(replies) == 3
    before, crisis, after = replies
    assert not before["crisis"] and not after["crisis"]
    assert crisis["crisis"] and crisis["crisis_kind"] and crisis["read_as"] is None  # never "i want to end depression tonight"
    assert after["read_as"] == "how is depression treated?" and after["status"] == "answered"
    assert after["citations"][0]["source"].startswith("nimh-depression")


def test_a_fragment_is_refused_alike_in_ask_and_chat(mhqa, corpus_index):
    asked = mhqa("ask", "is it genetic?", "--json", "--index", corpus_index)
    assert asked.code == 1  # refused
    (in_ask,) = asked.json_lines()
    (in_chat,) = chat_json(mhqa, corpus_index, "is it genetic?")
    assert in_ask["reason"] == in_chat["reason"] == FRAGMENT_REASON and in_ask["status"] == in_chat["status"] == "refused"
    assert "read_as" not in in_ask
    shown = mhqa("ask", "is it genetic?", "--index", corpus_index)
    assert FRAGMENT_PROMPT in shown.stdout and REFUSAL not in shown.stdout
    later = chat_json(mhqa, corpus_index, "is it genetic?", "i mean schizophrenia")[1]  # the name completes it
    assert later["read_as"] == "is schizophrenia genetic?" and later["citations"][0]["source"] == "nimh-schizophrenia.pdf"


def test_a_conversation_at_the_terminal(chat):
    terminal = chat("--no-passages")
    terminal.send("what is obsessive compulsive disorder\r")
    terminal.expect(PROMPT)
    terminal.send("how is it treated?\r")
    shown = terminal.expect(PROMPT)
    assert shown.index("Q: how is it treated?") < shown.index("Read as: how is obsessive compulsive disorder treated?") < shown.index("nimh-ocd.pdf")
    terminal.send("/page 1\r")
    page = terminal.expect(PROMPT)
    assert "nimh-ocd.pdf, page " in page and "Obsessive-Compulsive Disorder" in page
    terminal.send("/sources\r")
    listed = terminal.expect(PROMPT)
    assert "22 documents in the index" in listed and "National Institute of Mental Health" in listed
    terminal.send("/new\r")
    terminal.expect(PROMPT)
    terminal.send("what about side effects?\r")
    refused = terminal.expect(PROMPT)
    assert FRAGMENT_PROMPT in refused and "Read as" not in refused
    terminal.send("/wat\r")
    assert "unknown command /wat: /help lists the commands" in terminal.expect(PROMPT)
    terminal.send("/quit\r")
    assert terminal.wait() == 0


def test_the_crisis_reminder_stays_above_the_prompt(chat):
    terminal = chat("--no-passages")
    terminal.send("what is DMDD?\r")
    assert "Crisis help" not in terminal.expect(PROMPT)
    terminal.send("i want to kill myself\r")
    shown = terminal.expect(PROMPT)
    assert shown.index("988") < shown.index("Q: i want to kill myself")  # the resources first
    reminder = shown[shown.rindex("professional care.") :]  # after the answer: the line above the prompt
    assert "Crisis help:" in reminder and "988" in reminder and "911" in reminder
    for question in ("How is seasonal affective disorder treated?", "/help"):
        terminal.send(question + "\r")
        after = terminal.expect(PROMPT)
        assert "Crisis help:" in after[after.rindex("\n", 0, len(after) - 300) :], after[-300:]
    terminal.send("/new\r")  # a new conversation, the same session: the reminder stays
    assert "Crisis help:" in terminal.expect(PROMPT)[-300:]
    terminal.send(CTRL_D)
    assert terminal.wait() == 0
