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
import time

import pytest

from conftest import ROOT
from mhqa.answer import REFUSAL

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")
PROMPT = "mhqa> "
UP = "\x1b[A"
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
        os.write(self.fd, keys.encode())

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
