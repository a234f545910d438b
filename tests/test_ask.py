"""`mhqa ask` on the real corpus: cited pages, refusals, crisis first, JSON schema and exit codes."""

from __future__ import annotations

import hashlib
import json
import re
import stat
import tomllib

import pytest

from conftest import CORPUS, DATA
from mhqa.answer import NOTICE, REFUSAL
from pdf_fixtures import text_pdf

JSON_KEYS = ["question", "status", "answer", "reason", "evidence", "threshold", "crisis", "crisis_kind", "language", "citations", "generation"]
CITATION_KEYS = ["id", "source", "title", "page", "quote", "score", "publisher", "year", "url", "sha256", "review_overdue"]


def core(labelled, answerable: bool):
    """The core questions: held-out rows only (the policy is fitted on the calibration half)."""
    return [row for row in labelled if row["core"] and (row["source"] is not None) == answerable]


LABELLED = [json.loads(line) for line in (DATA / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
CORE_ANSWERABLE, CORE_UNANSWERABLE = len(core(LABELLED, True)), len(core(LABELLED, False))


def gold_pairs(row) -> set[tuple[str, int]]:
    pairs = {(row["source"], page) for page in row["pages"]}
    for other in row.get("alt") or []:
        pairs |= {(other["source"], page) for page in other["pages"]}
    return pairs


def test_core_set_is_big_enough_and_held_out(labelled):
    assert len(core(labelled, True)) >= 12 and len(core(labelled, False)) >= 6
    assert {row["kind"] for row in core(labelled, False)} == {"off_topic", "uncovered_topic", "missing_fact"}
    assert all(row["split"] == "test" for row in labelled if row["core"])  # nothing the weights were fitted on


def test_answerable_core_questions_are_answered(session, labelled):
    """The policy is fitted on other questions, and a held-out question can fall short of the
    threshold. With the fourth session's reader and policy one of the twelve does ("What medication
    is usually used for performance anxiety, like stage fright?": 0.48 against 0.59; the reader gives
    the beta-blocker sentence that answers it 0.15, and "fright" is never in the sources); the third
    session's refused two, within 0.08 of its threshold. At most two may be refused. Each answered
    one is checked below, and a refused one must still have found the page that answers."""
    refused = [(row["question"], answer.reason) for row in core(labelled, True) if (answer := session.ask(row["question"])).status != "answered"]
    assert len(refused) <= 2, refused


@pytest.mark.parametrize("index", range(CORE_ANSWERABLE))
def test_answerable_question_cites_the_right_page(session, labelled, index):
    row = core(labelled, True)[index]
    answer = session.ask(row["question"])
    if answer.status != "answered":  # counted above; the policy refused what retrieval found
        closest = answer.citations[0]
        assert (closest.source, closest.page) in gold_pairs(row), (row["question"], answer.reason, closest.source, closest.page)
        return
    first = answer.citations[0]
    assert (first.source, first.page) in gold_pairs(row), (row["question"], first.source, first.page)
    # every sentence of the answer is verbatim in its cited quote, and followed by its marker
    for sentence, marker in answer.sentences:
        assert f"{sentence} [{marker}]" in answer.answer
        assert sentence in next(c.quote for c in answer.citations if c.id == marker)


@pytest.mark.parametrize("index", range(CORE_UNANSWERABLE))
def test_unanswerable_question_is_refused(session, labelled, index):
    row = core(labelled, False)[index]
    answer = session.ask(row["question"])
    assert answer.status == "refused", (row["question"], answer.evidence, answer.answer)
    assert answer.answer is None and answer.evidence < answer.threshold
    assert f"{answer.evidence:.2f}" in answer.reason and f"{answer.threshold:.2f}" in answer.reason


@pytest.mark.parametrize("question", ["What are the treatments for depression?", "How can I help someone thinking about suicide?"])
def test_answer_has_no_duplicate_sentences_and_stays_short(session, question):
    answer = session.ask(question)
    sentences = [text for text, _ in answer.sentences]
    assert len(sentences) == len(set(sentences)) <= 6
    assert len(answer.answer.split()) <= 180


@pytest.mark.parametrize(
    "question, phrase",
    [
        ("how long do antidepresants take to wrok", "4−8 weeks"),  # typos
        ("dmdd age", "ages of 6 and 10"),  # keywords only, lower case
        ("sad light therapy", "light therapy has been a mainstay"),
        ("ERP for ocd", "exposure and response prevention"),  # acronyms
    ],
)
def test_typos_lowercase_and_keywords_still_answer(session, question, phrase):
    answer = session.ask(question)
    assert answer.status == "answered", (question, answer.reason)
    assert phrase.lower() in answer.answer.lower() + " ".join(c.quote.lower() for c in answer.citations), answer.answer


# --- through the real CLI -------------------------------------------------------------------


def test_json_schema_and_exit_code_answered(mhqa, corpus_index):
    run = mhqa("ask", "What are the warning signs of suicide?", "--index", corpus_index, "--json")
    assert run.code == 0, run.stderr
    [obj] = run.json_lines()
    assert list(obj) == JSON_KEYS
    assert obj["status"] == "answered" and obj["reason"] is None and obj["crisis"] is False
    assert 0 <= obj["evidence"] <= 1 and 0 <= obj["threshold"] <= 1
    assert obj["citations"] and all(list(c) == CITATION_KEYS for c in obj["citations"])
    assert {c["id"] for c in obj["citations"]} == {int(n) for n in re.findall(r"\[(\d+)\]", obj["answer"])}
    assert obj["citations"][0]["source"] == "nimh-warning-signs-of-suicide.pdf" and obj["citations"][0]["page"] == 1


def test_refusal_exit_code_and_text(mhqa, corpus_index):
    run = mhqa("ask", "How do I make sourdough bread?", "--index", corpus_index)
    assert run.code == 1
    assert REFUSAL in run.stdout and "Why:" in run.stdout and "insufficient evidence" in run.stdout
    assert NOTICE.split(",")[0] in run.stdout
    as_json = mhqa("ask", "How do I make sourdough bread?", "--index", corpus_index, "--json")
    [obj] = as_json.json_lines()
    assert as_json.code == 1 and obj["status"] == "refused" and obj["answer"] is None and obj["reason"]


def test_every_answer_ends_with_the_notice(mhqa, corpus_index):
    run = mhqa("ask", "What is DMDD?", "--index", corpus_index)
    assert run.code == 0
    assert run.stdout.rstrip().replace("\n", " ").endswith(NOTICE)


@pytest.mark.parametrize(
    "question",
    [
        "I want to kill myself",
        "i dont want to live anymore, what can i do",
        "i keep thinking about ending my life. is that depression?",
        "my son says he wants to kill himself",
        "I've been cutting myself and I feel like I'm a burden to others",
    ],
)
def test_crisis_resources_come_first(mhqa, corpus_index, question):
    run = mhqa("ask", question, "--index", corpus_index)
    assert run.code in (0, 1)
    assert run.stdout.index("988") < run.stdout.index("Q:"), run.stdout[:300]
    assert "911" in run.stdout and "988lifeline.org" in run.stdout
    [obj] = mhqa("ask", question, "--index", corpus_index, "--json").json_lines()
    assert obj["crisis"] is True and obj["crisis_kind"] in ("self", "other_person", "harm_to_others", "medical", "unclear")
    assert obj["language"] == "en"


def test_a_message_about_the_writers_own_danger_that_asks_nothing_gets_the_resources_alone(session):
    """Written for this test. The brochures' warning signs are close to such a message; quoting them back is no answer."""
    from mhqa.policy import CRISIS_STATEMENT

    for message in ("I want to kill myself", "i can't stop thinking about ending it all tonight"):
        answer = session.ask(message)
        assert answer.crisis and answer.crisis_kind == "self" and answer.resources
        assert answer.status == "refused" and answer.reason == CRISIS_STATEMENT and answer.answer is None
    asked = session.ask("i keep thinking about ending my life. is that depression?")
    assert asked.crisis and asked.reason != CRISIS_STATEMENT  # it asks: the policy decides as for any question
    other = session.ask("my son says he wants to kill himself")
    assert other.crisis and other.reason != CRISIS_STATEMENT  # another person at risk: the steps to help are for the parent


@pytest.mark.parametrize(
    "question, kind",
    [
        ("i'm going to kill myself tonight", "self"),
        ("my daughter just texted me that she swallowed all her pills and now she won't answer her phone", "other_person"),
    ],
)
def test_crisis_kind_in_json(mhqa, corpus_index, question, kind):
    [obj] = mhqa("ask", question, "--index", corpus_index, "--json").json_lines()
    assert (obj["crisis"], obj["crisis_kind"]) == (True, kind)


def test_spanish_crisis_gets_resources_and_the_english_only_line(mhqa, corpus_index):
    question = "ya no quiero vivir, esta noche me voy a matar"
    run = mhqa("ask", question, "--index", corpus_index)
    assert run.stdout.index("988") < run.stdout.index("mhqa answers in English, from English sources.") < run.stdout.index("Q:")
    [obj] = mhqa("ask", question, "--index", corpus_index, "--json").json_lines()
    assert (obj["crisis"], obj["language"]) == (True, "es")
    [harmless] = mhqa("ask", "¿qué es el trastorno de pánico?", "--index", corpus_index, "--json").json_lines()
    assert harmless["crisis"] is False and harmless["language"] != "en"  # Spanish and Portuguese share most of these words


def test_region_preset_and_own_lines_change_the_printed_numbers(mhqa, corpus_index, tmp_path):
    question = "I want to kill myself"
    uk = mhqa("ask", question, "--index", corpus_index, env={"MHQA_CRISIS_REGION": "uk"})
    panel = uk.stdout[: uk.stdout.index("Q:")]  # the cited passages may name 988 themselves
    assert "116 123" in panel and "999" in panel and "988" not in panel
    config = tmp_path / "mhqa.toml"
    config.write_text('[crisis]\nregion = "au"\nlines = ["Call the school counsellor on 5550 1234."]\nemergency = "000"\n')
    own = mhqa("ask", question, "--index", corpus_index, "--config", config)
    panel = own.stdout[: own.stdout.index("Q:")]
    assert "Call the school counsellor on 5550 1234." in panel and "call 000" in panel and "13 11 14" not in panel
    bad = mhqa("ask", question, "--index", corpus_index, env={"MHQA_CRISIS_REGION": "mars"})
    assert bad.code == 2 and "crisis_region must be one of" in bad.stderr and "Traceback" not in bad.stderr


def test_suicide_as_a_topic_is_answered_without_alarm(mhqa, corpus_index):
    [obj] = mhqa("ask", "What are the warning signs of suicide?", "--index", corpus_index, "--json").json_lines()
    assert obj["crisis"] is False and obj["status"] == "answered" and obj["crisis_kind"] is None
    [obj] = mhqa("ask", "how can I help someone who is having thoughts of suicide", "--index", corpus_index, "--json").json_lines()
    assert obj["status"] == "answered" and obj["citations"][0]["source"] == "nimh-5-action-steps-suicide.pdf"


def test_file_of_questions_gives_json_lines_in_order(mhqa, corpus_index, tmp_path):
    questions = tmp_path / "q.txt"
    questions.write_text("# a comment\nWhat is DMDD?\n\nHow do I make sourdough bread?\nWhat causes panic disorder?\n")
    run = mhqa("ask", "--file", questions, "--index", corpus_index, "--json")
    assert run.code == 0, run.stderr
    objs = run.json_lines()
    assert [o["question"] for o in objs] == ["What is DMDD?", "How do I make sourdough bread?", "What causes panic disorder?"]
    assert [o["status"] for o in objs] == ["answered", "refused", "answered"]
    from_stdin = mhqa("ask", "--file", "-", "--index", corpus_index, "--json", input="What is DMDD?\n")
    assert [o["question"] for o in from_stdin.json_lines()] == ["What is DMDD?"]


@pytest.mark.parametrize(
    "args",
    [
        ["ask"],
        ["ask", "q", "--file", "x.txt"],
        ["ask", "q", "--top-k", "0"],
        ["ask", "q", "--min-evidence", "2"],
        ["ask", "q", "--no-such-flag"],
    ],
)
def test_usage_errors_exit_2_without_traceback(mhqa, corpus_index, args):
    run = mhqa(*args, "--index", corpus_index)
    assert run.code == 2, (run.stdout, run.stderr)
    assert "Traceback" not in run.stderr


def test_unreadable_index_or_corpus_exits_3(mhqa, tmp_path):
    run = mhqa("ask", "What is DMDD?", "--index", tmp_path / "new" / "index", "--corpus", tmp_path / "missing")
    assert run.code == 3 and "Traceback" not in run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("mhqa: ") and "corpus folder not found" in last
    assert list(tmp_path.iterdir()) == []  # a failed command creates nothing: no NEW index folder
    empty = tmp_path / "empty"
    empty.mkdir()
    run = mhqa("ask", "What is DMDD?", "--index", tmp_path / "index", "--corpus", empty)
    assert run.code == 3 and "no PDF files in" in run.stderr and not (tmp_path / "index").exists()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "CURRENT").write_text("{not json")
    run = mhqa("ask", "What is DMDD?", "--index", broken)
    assert run.code == 3 and "Traceback" not in run.stderr


def test_ask_builds_the_index_first_when_there_is_none(mhqa, small_corpus, tmp_path):
    index = tmp_path / "fresh-index"
    run = mhqa("ask", "What is DMDD?", "--index", index, "--corpus", small_corpus, "--json")
    assert run.code == 0, run.stderr
    assert "indexing" in run.stderr.lower()
    [obj] = run.json_lines()
    assert obj["citations"][0]["source"] == "nimh-dmdd.pdf"
    assert (index / "CURRENT").is_file()


def test_the_question_log_is_private_and_only_written_when_asked(mhqa, corpus_index, tmp_path):
    log = tmp_path / "questions.log"
    run = mhqa("ask", "What is DMDD?", "--index", corpus_index, "--log", log)
    assert run.code == 0, run.stderr
    assert stat.S_IMODE(log.stat().st_mode) == 0o600  # these are mental-health questions
    assert json.loads(log.read_text(encoding="utf-8"))["question"] == "What is DMDD?"
    run = mhqa("ask", "What is SAD?", "--index", corpus_index, "--log", log)
    assert len(log.read_text(encoding="utf-8").splitlines()) == 2 and stat.S_IMODE(log.stat().st_mode) == 0o600


@pytest.mark.parametrize("command", ["ask", "chat"])
def test_an_unwritable_log_is_one_line_before_any_work(mhqa, corpus_index, tmp_path, command):
    (tmp_path / "a-folder").mkdir()
    for log, reason in ((tmp_path / "no-such-folder" / "q.log", "no writable folder"), (tmp_path / "a-folder", "not a writable file")):
        args = ["ask", "What is DMDD?"] if command == "ask" else ["chat"]
        run = mhqa(*args, "--index", corpus_index, "--log", log, input="What is DMDD?\n")
        assert run.code == 2 and run.stdout == "", (run.stdout, run.stderr)
        [line] = run.stderr.strip().splitlines()
        assert line.startswith(f"mhqa: cannot write the question log {log}: {reason}"), line
    assert not (tmp_path / "no-such-folder").exists()


def test_markup_and_escapes_are_printed_not_interpreted(mhqa, tmp_path):
    """A PDF and a question carrying rich markup, ANSI escapes and control characters."""
    corpus = tmp_path / "corpus"
    hostile = "[bold red]Panic attacks[/bold red] \x1b[2J\x1b[31mcan feel like a heart attack\x1b[0m and often last minutes."
    text_pdf(corpus / "hostile.pdf", [hostile + "\n" + "Panic attacks [link=http://x]are treatable[/link] with therapy.\x07"], title="Hostile [i]title[/i]")
    run = mhqa("ask", "Can panic attacks feel like a heart attack? [blink]\x1b[2J", "--index", tmp_path / "index", "--corpus", corpus, "--min-evidence", "0")
    assert run.code == 0, run.stderr
    assert "\x1b" not in run.stdout and "\x07" not in run.stdout
    assert "[bold red]Panic attacks[/bold red]" in run.stdout  # the markup is shown as the characters it is
    assert "[blink]" in run.stdout and "Hostile [i]title[/i]" in run.stdout
    as_json = mhqa("ask", "Can panic attacks feel like a heart attack?", "--index", tmp_path / "index", "--json", "--min-evidence", "0")
    [obj] = as_json.json_lines()
    assert "\x1b" not in obj["answer"] and "[bold red]" in obj["answer"]


def test_shipped_corpus_is_the_vetted_one():
    """Every shipped PDF is in the register with the SHA-256 of its bytes, and nothing else is."""
    register = tomllib.loads((CORPUS / "sources.toml").read_text(encoding="utf-8"))["source"]
    vetted = {entry["file"]: entry["sha256"] for entry in register}
    shipped = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in CORPUS.glob("*.pdf")}
    assert shipped == vetted and len(shipped) == 22
    assert all(entry["reviewed_by"] and entry["review_by"] for entry in register)
