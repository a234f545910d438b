"""The reader (mhqa/reader.py): MiniLM reading the question with each chosen sentence, a signal of the
refusal policy. Real model (resources/reader.onnx), real index, real question path."""

from __future__ import annotations

import json

import pytest

from conftest import DATA
from mhqa.policy import FITTED_FILE
from mhqa.reader import READER_META, Reader, pair_text
from mhqa.settings import bundled_model_path

LABELLED = [json.loads(line) for line in (DATA / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def reader():
    return Reader(bundled_model_path() / "tokenizer.json")


def test_the_reader_tells_an_answer_from_a_sentence_on_the_same_topic(reader):
    """Written for this test: three sentences of one section, only one of which says when."""
    question = "when does OCD usually start?"
    sentences = [
        "Symptoms typically begin in childhood, the teen years, or young adulthood.",
        "OCD is a common, chronic, and long-lasting disorder.",
        "Treatment for OCD usually involves psychotherapy, medication, or both.",
    ]
    probabilities = reader.probabilities(question, [pair_text("Obsessive-Compulsive Disorder", "What is OCD?", s) for s in sentences])
    assert probabilities.shape == (3,) and float(probabilities[0]) > 0.1 + max(float(probabilities[1]), float(probabilities[2]))
    assert reader.probabilities(question, []).shape == (0,)


def test_the_reader_is_a_signal_of_every_answer(session):
    """A question the OCD brochure answers, and one about the same treatment whose fact (a price) no brochure states."""
    answered = session.ask("How is OCD treated?")
    refused = session.ask("How much does OCD treatment cost per session?")
    assert answered.status == "answered" and refused.status == "refused"
    assert 0.0 <= refused.signals["reader"] < 0.1 < 0.3 < answered.signals["reader"] <= 1.0, (answered.signals, refused.signals)


def test_the_reader_is_surer_of_answerable_questions_than_of_unanswerable_ones(session):
    """On the questions.jsonl test half: the reader never trained on it, the policy never fitted on it."""
    held_out = [row for row in LABELLED if row["split"] == "test"]
    best = {True: [], False: []}
    for row in held_out:
        best[row["source"] is not None].append(session.ask(row["question"], min_evidence=0.0).signals.get("reader", 0.0))
    answerable, unanswerable = best[True], best[False]
    wins = sum(a > u for a in answerable for u in unanswerable) / (len(answerable) * len(unanswerable))
    assert len(answerable) > 100 and len(unanswerable) > 30 and wins > 0.85, wins


def test_reader_and_policy_were_fitted_on_different_questions():
    """The policy's weights must see the reader's probabilities on questions it never trained on, and
    neither may have seen the tune rows (the threshold), the check half or a frozen set."""
    info = json.loads(READER_META.read_text(encoding="utf-8"))
    policy = json.loads(FITTED_FILE.read_text(encoding="utf-8"))["provenance"]
    trained = {(source["file"], source["split"]) for source in info["trained_on"]}
    weighted = {(source["file"], source["split"]) for source in policy["weights_fitted_on"]}
    assert trained and weighted and not trained & weighted
    assert all(len(source["sha256"]) == 64 and source["rows"] > 0 for source in info["trained_on"])
    forbidden = ("quality/tune.jsonl", "quality/dev5.jsonl", "test.jsonl", "holdout")  # chat/dev5.jsonl is another set
    assert not any(any(word in name for word in forbidden) for name, _ in trained)
    assert ("tests/data/questions.jsonl", "test") not in trained | weighted
    assert info["int8_probability_gap"] < 0.15 and info["check"]["auroc"] > 0.9  # the check: the shipped int8 model
