"""mhqa inside LlamaIndex (issue 14), with the real llama-index-core: the retriever's nodes are
`ask --json`'s citations, the query engine's text is `ask`'s answer, refusals give no nodes and
a reason, crisis questions get the resources first, and the `mhqa` command never imports it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from llama_index.core import Settings
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import MetadataMode

from conftest import DATA, ROOT, imported_modules
from mhqa import UsageError, open_index
from mhqa.answer import REFUSAL
from mhqa.crisis import resources_for

CRISIS_RESOURCES = resources_for("us").text()  # the default region's lines
from mhqa.integrations.llama_index import MhqaQueryEngine, MhqaRetriever

CORE = [row["question"] for row in map(json.loads, (DATA / "questions.jsonl").read_text(encoding="utf-8").splitlines()) if row["core"]]
REFUSED, CRISIS = "How do I make sourdough bread?", "I want to kill myself"


@pytest.fixture(scope="module", autouse=True)
def no_llm():
    """Everything here runs with LlamaIndex's LLM explicitly disabled (a MockLLM)."""
    before = Settings._llm
    Settings.llm = None
    yield
    Settings._llm = before


@pytest.fixture(scope="module")
def qa(corpus_index, cache_dir):
    with open_index(index=corpus_index, cache=cache_dir) as opened:
        yield opened


@pytest.fixture(scope="module")
def retriever(qa):
    return MhqaRetriever(qa)


@pytest.fixture(scope="module")
def engine(qa):
    return MhqaQueryEngine(qa)


@pytest.fixture(scope="module")
def asked(mhqa, corpus_index, tmp_path_factory) -> dict[str, dict]:
    """`mhqa ask --json` for the core questions and the two special ones, by question."""
    questions = tmp_path_factory.mktemp("questions") / "q.txt"
    questions.write_text("\n".join(CORE + [REFUSED, CRISIS]) + "\n", encoding="utf-8")
    run = mhqa("ask", "--file", questions, "--json", "--index", corpus_index)
    assert run.code == 0, run.stderr
    return {obj["question"]: obj for obj in run.json_lines()}


def as_citations(nodes) -> list[dict]:
    """Nodes in the shape of `ask --json` citations."""
    return [
        {"id": n.metadata["id"], "source": n.metadata["source"], "title": n.metadata["title"], "page": n.metadata["page"], "quote": n.text,
         "score": round(n.score, 4), **{key: n.metadata[key] for key in ("publisher", "year", "url", "sha256", "review_overdue")}}
        for n in nodes
    ]


def test_core_questions_answer_and_refuse(asked):
    statuses = [asked[q]["status"] for q in CORE]
    assert len(CORE) >= 15 and statuses.count("answered") >= 8 and statuses.count("refused") >= 4


@pytest.mark.parametrize("question", CORE)
def test_retriever_and_engine_match_ask_json(retriever, engine, asked, question):
    expected = asked[question]
    nodes = retriever.retrieve(question)
    response = engine.query(question)
    assert retriever.last_answer is not None and retriever.last_answer.to_json() == expected
    if expected["status"] == "answered":
        assert as_citations(nodes) == expected["citations"]  # in order
        for node in nodes:
            assert node.score == node.metadata["score"] and 0 < node.score <= 1
            assert round(node.metadata["evidence"], 4) == expected["evidence"] and node.metadata["crisis"] is expected["crisis"]
            assert node.metadata["publisher"] == "National Institute of Mental Health"  # from the register
        assert str(response) == expected["answer"]
    else:
        assert nodes == [] and retriever.last_answer.reason == expected["reason"]
        assert str(response) == REFUSAL
    assert as_citations(response.source_nodes) == as_citations(nodes)
    metadata = response.metadata
    assert (metadata["status"], metadata["reason"], metadata["crisis"]) == (expected["status"], expected["reason"], expected["crisis"])
    assert (round(metadata["evidence"], 4), round(metadata["threshold"], 4)) == (expected["evidence"], expected["threshold"])


def test_refusal_gives_no_nodes_and_the_reason(retriever, engine, asked):
    assert retriever.retrieve(REFUSED) == []
    answer = retriever.last_answer
    assert answer.status == "refused" and answer.reason == asked[REFUSED]["reason"] and "below the threshold" in answer.reason
    assert answer.citations  # the closest passages stay readable there, never as nodes
    response = engine.query(REFUSED)
    assert str(response) == REFUSAL and response.source_nodes == [] and response.metadata["reason"] == answer.reason


def test_crisis_question_gets_the_resources_first(retriever, engine, asked):
    expected = asked[CRISIS]
    assert expected["crisis"] is True
    text = str(engine.query(CRISIS))
    resources, rest = text.split("\n\n", 1)
    assert resources.splitlines() == list(CRISIS_RESOURCES) and "988" in resources
    assert rest == (expected["answer"] or REFUSAL)
    nodes = retriever.retrieve(CRISIS)
    assert retriever.last_answer.crisis is True and all(n.metadata["crisis"] is True for n in nodes)


def test_answered_crisis_question_gets_the_resources_then_the_answer(retriever, engine):
    question = "i have been thinking about suicide. what treatments help depression?"
    nodes = retriever.retrieve(question)
    answer = retriever.last_answer
    assert answer.crisis and answer.status == "answered" and nodes
    response = engine.query(question)
    assert str(response) == "\n".join(CRISIS_RESOURCES) + "\n\n" + answer.answer
    assert as_citations(response.source_nodes) == as_citations(nodes) and all(n.metadata["crisis"] for n in nodes)


def test_stock_retriever_query_engine_without_an_llm(retriever, asked):
    """mhqa's retriever and refusal inside LlamaIndex's own RetrieverQueryEngine, response mode no_text."""
    engine = RetrieverQueryEngine.from_args(retriever, response_mode="no_text")
    question = "What are the warning signs of suicide?"
    response = engine.query(question)
    assert as_citations(response.source_nodes) == as_citations(retriever.retrieve(question))
    assert response.source_nodes[0].metadata["source"] == "nimh-warning-signs-of-suicide.pdf"
    refused = engine.query(REFUSED)
    assert refused.source_nodes == [] and retriever.last_answer.reason == asked[REFUSED]["reason"]


def test_node_text_shown_to_an_llm_is_the_quote_with_its_source(retriever):
    [node, *_] = retriever.retrieve("How is social anxiety disorder treated?")
    shown = node.node.get_content(metadata_mode=MetadataMode.LLM)
    assert shown.endswith(node.text) and "source: nimh-social-anxiety-disorder.pdf" in shown and "page: 2" in shown
    assert "score" not in shown and "crisis" not in shown and "sha256" not in shown
    assert "publisher: National Institute of Mental Health" in shown and "url: https://www.nimh.nih.gov/" in shown  # the register's facts
    assert node.node.ref_doc_id == "nimh-social-anxiety-disorder.pdf"


def test_built_from_a_path_like_open_index(corpus_index, cache_dir, retriever, qa):
    question = "What is DMDD?"
    with MhqaRetriever(index=str(corpus_index), cache=cache_dir, top_k=1) as own:
        nodes = own.retrieve(question)
        assert own._index.settings.top_k == 1
    assert as_citations(nodes) == as_citations(retriever.retrieve(question))[:1]
    with pytest.raises(UsageError, match="closed"):
        own.retrieve(question)
    with pytest.raises(UsageError, match="already open"):
        MhqaQueryEngine(qa, top_k=2)
    assert qa.ask(question).status == "answered"  # a shared index is not closed by its users


def test_the_mhqa_command_never_imports_llama_index(base_env, corpus_index):
    assert "llama_index" in sys.modules  # installed and importable here, so its absence below means something
    for args in (["ask", "What is DMDD?", "--json"], ["chat"]):
        run = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "mhqa", *args, "--index", str(corpus_index)],
            capture_output=True, text=True, env=base_env, cwd=ROOT, input="What is DMDD?\nquit\n", timeout=300,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        modules = imported_modules(run.stderr)
        assert {"mhqa", "chromadb", "onnxruntime"} <= modules  # the question path really ran
        assert not any(module.startswith("llama") for module in modules)
        assert "nimh-dmdd.pdf" in run.stdout
