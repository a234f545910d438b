"""Crisis detection: personal crisis signals, direct or indirect, any case, common typos; topics are not crises."""

from __future__ import annotations

import pytest

from mhqa.crisis import signals_crisis

CRISIS = [
    "I want to kill myself",
    "i want to die",
    "i dont want to live anymore",
    "I'm suicidal",
    "im feeling suicidal tonight",
    "i want to kil myslef",  # typos
    "I WANT TO END MY LIFE",
    "thinking about ending my life",
    "there's no reason to live",
    "everyone would be better off without me",
    "i dont see the point of living anymore",
    "i cut myself last night",
    "I've been self harming again",
    "I took a bunch of pills",
    "i wanna diiie",
    "i keep thinking about suicide",
    "suicide is on my mind, i have a plan",
    "I can't do this anymore",
    "my son says he wants to kill himself",
    "my friend is talking about killing herself tonight",
    "i want to hurt someone",
    "my husband hits me and I'm scared",
]

NOT_CRISIS = [
    "What are the warning signs of suicide?",
    "how can I help a friend who talks about suicide",
    "I'm a teacher: what are warning signs of suicide in students?",
    "what is self-harm",
    "Does talking about suicide increase risk?",
    "can antidepressants increase suicidal thoughts in teens",
    "Is suicide risk higher in bipolar disorder?",
    "How long do antidepressants take to work?",
    "how do I kill time while waiting for therapy",
    "What is the 988 lifeline?",
]


@pytest.mark.parametrize("question", CRISIS)
def test_personal_crisis_is_detected(question):
    assert signals_crisis(question)


@pytest.mark.parametrize("question", NOT_CRISIS)
def test_topic_questions_are_not_crises(question):
    assert not signals_crisis(question)
