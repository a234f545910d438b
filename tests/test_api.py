"""The Python API (issue 14): open_index on the real index gives the records `ask --json` prints,
with the CLI's settings layers, errors and start-up; the README's examples run as doctests."""

from __future__ import annotations

import doctest
import inspect
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import fields

import pytest

import mhqa
from conftest import ROOT, imported_modules
from mhqa import Answer, IndexUnavailable, MhqaError, ServerUnavailable, SettingsError, UsageError, open_index
from mhqa.settings import Settings
from servers import chroma_server, nginx_proxy
from test_server import require_nginx

QUESTIONS = ["How long do antidepressants take to work?", "How do I make sourdough bread?", "I want to kill myself"]


def importtime(code: str, env: dict) -> set[str]:
    run = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    return imported_modules(run.stderr)


@pytest.fixture(scope="module")
def qa(corpus_index, cache_dir):
    with open_index(index=corpus_index, cache=cache_dir) as opened:
        yield opened


def test_importing_mhqa_loads_no_heavy_library(base_env):
    heavy = {"chromadb", "onnxruntime", "llama_index", "torch", "typer", "rich", "numpy"}
    assert not importtime("import mhqa; mhqa.MhqaError, mhqa.__version__", base_env) & heavy
    # the API's name costs numpy (the answer records), still neither chromadb nor onnxruntime
    assert not importtime("from mhqa import open_index, Answer, Citation, OpenIndex, Settings", base_env) & (heavy - {"numpy"})


def test_public_names_and_typing_marker():
    for name in mhqa.__all__:
        assert getattr(mhqa, name) is not None and name in dir(mhqa)
    public = [getattr(mhqa, name) for name in mhqa.__all__]
    errors = [value for value in public if isinstance(value, type) and issubclass(value, Exception)]
    assert len(errors) == 9 and all(issubclass(error, MhqaError) for error in errors)
    with pytest.raises(AttributeError):
        mhqa.no_such_name  # noqa: B018
    assert (ROOT / "mhqa" / "py.typed").is_file()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "py.typed" in pyproject["tool"]["setuptools"]["package-data"]["mhqa"]


def test_open_index_takes_every_setting_as_a_keyword():
    parameters = inspect.signature(open_index).parameters
    settings = {f.name for f in fields(Settings)} - {"config_file"}
    assert set(parameters) == settings | {"config", "build"}
    assert all(parameters[name].default is None for name in settings | {"config"})


def test_answers_are_the_ask_json_objects(qa, mhqa, corpus_index, cache_dir, tmp_path):
    questions = tmp_path / "q.txt"
    questions.write_text("\n".join(QUESTIONS) + "\n", encoding="utf-8")
    run = mhqa("ask", "--file", questions, "--json", "--index", corpus_index)
    assert run.code == 0, run.stderr
    answers = [qa.ask(question) for question in QUESTIONS]
    assert [answer.to_json() for answer in answers] == run.json_lines()
    assert [answer.status for answer in answers[:2]] == ["answered", "refused"] and answers[2].crisis
    assert isinstance(answers[0], Answer) and answers[0].citations[0].page >= 1


def test_per_question_overrides(qa):
    longer = qa.ask("What are the treatments for depression?", max_sentences=1)
    assert len(longer.sentences) == 1
    lenient = qa.ask("How do I make sourdough bread?", min_evidence=0.0)
    assert lenient.threshold == 0.0 and lenient.status == "answered"


def test_settings_layers_like_the_cli(corpus_index, cache_dir, tmp_path, monkeypatch):
    """defaults < ./mhqa.toml < MHQA_* environment < keyword arguments."""
    (tmp_path / "mhqa.toml").write_text("top_k = 2\nmax_sentences = 2\nmin_evidence = 0.5\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MHQA_TOP_K", "3")
    monkeypatch.setenv("MHQA_MAX_SENTENCES", "1")
    monkeypatch.setenv("MHQA_CACHE", str(cache_dir))
    with open_index(index=corpus_index, top_k=4) as opened:
        s = opened.settings
        assert (s.top_k, s.max_sentences, s.min_evidence, s.chunk_tokens) == (4, 1, 0.5, 200)
        assert s.config_file == tmp_path / "mhqa.toml" and s.cache == cache_dir
        answer = opened.ask("What are the treatments for depression?")
    assert answer.threshold == 0.5 and len(answer.sentences) == 1


def test_errors_are_mhqa_errors(qa, corpus_index, cache_dir, tmp_path):
    with pytest.raises(SettingsError, match="top_k"):
        open_index(index=corpus_index, cache=cache_dir, top_k=0)
    with pytest.raises(SettingsError, match="config file not found"):
        open_index(index=corpus_index, config=tmp_path / "missing.toml")
    with pytest.raises(UsageError, match="empty"):
        qa.ask(" \t")
    with pytest.raises(UsageError, match="must be a str"):
        qa.ask(None)  # type: ignore[arg-type]
    closed = open_index(index=corpus_index, cache=cache_dir)
    closed.close()
    closed.close()
    with pytest.raises(UsageError, match="closed"):
        closed.ask("What is DMDD?")


def test_missing_index_is_an_error_unless_build(small_corpus, cache_dir, tmp_path):
    index = tmp_path / "index"
    with pytest.raises(IndexUnavailable, match="run `mhqa index` first"):
        open_index(index=index, corpus=small_corpus, cache=cache_dir)
    assert not (index / "CURRENT").exists()
    with open_index(index=index, corpus=small_corpus, cache=cache_dir, build=True) as built:
        answer = built.ask("What is DMDD?")
    assert answer.status == "answered" and answer.citations[0].source == "nimh-dmdd.pdf"
    assert (index / "CURRENT").is_file()


@pytest.mark.server
def test_server_mode_by_keyword_arguments(mhqa, small_corpus, cache_dir, tmp_path, monkeypatch):
    """A real Chroma server behind a real nginx checking a token over TLS, reached with keyword arguments only."""
    require_nginx()
    for key in [key for key in os.environ if key.startswith("MHQA_")]:
        monkeypatch.delenv(key)
    token, question = "tok_api_" + os.urandom(8).hex(), "What is DMDD?"
    with chroma_server(tmp_path / "chroma") as chroma, nginx_proxy(chroma.port, token, tmp_path / "nginx", tls=True) as proxy:
        direct = ["--chroma-url", chroma.url, "--collection", "api-test"]
        assert mhqa("index", "--corpus", small_corpus, *direct).code == 0
        [expected] = mhqa("ask", "--json", question, *direct).json_lines()
        where = {"chroma_url": proxy.url, "chroma_ca": proxy.ca_path, "collection": "api-test", "cache": cache_dir}
        with open_index(chroma_token=token, **where) as qa:
            assert qa.settings.uses_server and qa.ask(question).to_json() == expected
        assert expected["status"] == "answered" and expected["citations"][0]["source"] == "nimh-dmdd.pdf"
        with pytest.raises(ServerUnavailable, match="token"):
            open_index(**where)
        with pytest.raises(IndexUnavailable, match="run `mhqa index` first"):  # build=True never builds on a server
            open_index(chroma_url=chroma.url, collection="never-indexed", cache=cache_dir, build=True)


# --- the README's examples ----------------------------------------------------------------------


def readme_doctests() -> list[tuple[int, str]]:
    """Every ```pycon block of the README, with its line number."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [(text[: m.start()].count("\n") + 1, m.group(1)) for m in re.finditer(r"^```pycon\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)]


def test_readme_has_the_python_examples():
    blocks = [block for _, block in readme_doctests()]
    assert len(blocks) >= 2
    assert any("from mhqa import open_index" in block for block in blocks)
    assert any("MhqaRetriever" in block and "MhqaQueryEngine" in block for block in blocks)


@pytest.mark.parametrize("number", range(len(readme_doctests())))
def test_readme_example_runs(number, corpus_index, cache_dir, tmp_path, monkeypatch):
    """Run as a reader would, from a folder whose ./index is the indexed shipped corpus."""
    from llama_index.core import Settings as LlamaSettings

    line, block = readme_doctests()[number]
    (tmp_path / "index").symlink_to(corpus_index)
    monkeypatch.chdir(tmp_path)
    for key in [key for key in os.environ if key.startswith("MHQA_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("MHQA_CACHE", str(cache_dir))
    monkeypatch.setenv("HOME", str(tmp_path))  # no config file of the developer's
    test = doctest.DocTestParser().get_doctest(block, {}, f"README.md, the block after line {line}", "README.md", line)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    llm = LlamaSettings._llm
    try:
        runner.run(test, out=report.append)
    finally:
        LlamaSettings._llm = llm
    assert runner.failures == 0 and runner.tries > 0, "".join(report)
