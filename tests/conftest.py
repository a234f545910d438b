"""Shared fixtures: the real corpus indexed once per session, and a way to run the real CLI.

Nothing here stands in for the parts that matter: the PDFs are the shipped ones,
the model is the bundled all-MiniLM-L6-v2 (through its checked ONNX export), and
the index is a real Chroma store in a temporary folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """The encoder cache. Fresh per session (so the ONNX export is tested from nothing),
    unless MHQA_TEST_CACHE names a warm one."""
    shared = os.environ.get("MHQA_TEST_CACHE")
    return Path(shared) if shared else tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def base_env(cache_dir) -> dict[str, str]:
    """Environment for CLI runs: no config file or index from the developer's machine leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MHQA_")}
    env.update({"MHQA_CACHE": str(cache_dir), "HF_HUB_OFFLINE": "1", "NO_COLOR": "1", "COLUMNS": "120"})
    # The mhqa of this checkout, whatever folder a run starts in (another checkout may be the one installed).
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def imported_modules(importtime_stderr: str) -> set[str]:
    """The top-level packages named in `python -X importtime` output."""
    lines = re.finditer(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)", importtime_stderr, re.MULTILINE)
    return {line.group(1).split(".")[0] for line in lines}


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


@pytest.fixture(scope="session")
def mhqa(base_env):
    """Run the real `mhqa` command in a subprocess: mhqa("ask", "...", "--index", path)."""

    def run(*args: str, env: dict | None = None, input: str | None = None, cwd: Path | None = None, timeout: float = 600) -> Run:
        proc = subprocess.run(
            [sys.executable, "-m", "mhqa", *map(str, args)],
            capture_output=True,
            text=True,
            env={**base_env, **(env or {})},
            input=input,
            cwd=cwd or ROOT,
            timeout=timeout,
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory, mhqa) -> Path:
    """The shipped corpus indexed once, through the real CLI, into a temporary folder."""
    index = tmp_path_factory.mktemp("index") / "index"
    result = mhqa("index", "--corpus", CORPUS, "--index", index)
    assert result.code == 0, result.stderr
    return index


@pytest.fixture(scope="session")
def settings_for(corpus_index, cache_dir):
    from mhqa.settings import load_settings

    def make(**flags):
        flags = {"index": corpus_index, "corpus": CORPUS, "cache": cache_dir, **flags}
        return load_settings(flags, env={}, cwd=ROOT)

    return make


@pytest.fixture(scope="session")
def session(settings_for):
    """An open question session on the session index (in-process, for many questions)."""
    from mhqa.session import open_session

    with open_session(settings_for()) as opened:
        yield opened


@pytest.fixture(scope="session")
def labelled() -> list[dict]:
    return [json.loads(line) for line in (DATA / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture
def small_corpus(tmp_path) -> Path:
    """A copy of three real PDFs, for tests that change a corpus."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in ("nimh-panic-disorder.pdf", "nimh-warning-signs-of-suicide.pdf", "nimh-dmdd.pdf"):
        shutil.copy(CORPUS / name, folder / name)
    return folder
