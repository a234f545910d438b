"""Follow-up questions read against the conversation (mhqa/conversation.py), on the real corpus
vocabulary of the session index, and through the real question path (Session.follow, Session.ask).

The conversations here are written for these tests; the labelled sets in tests/data/chat/ are
scored by bench/chat_quality.py instead.
"""

from __future__ import annotations

import pytest

from mhqa.answer import FRAGMENT_REASON
from mhqa.conversation import Context, Turn, resolve
from mhqa.focus import read_question


def converse(session, *typed: str, crisis: tuple[str, ...] = ()) -> list[Turn]:
    """Each turn as resolved after the ones before it; "/new" starts afresh, as in chat."""
    vocabulary = session.searcher.vocabulary
    context, turns = Context(), []
    for question in typed:
        if question == "/new":
            context = Context()
            continue
        turn = resolve(question, read_question(question, vocabulary), context, vocabulary, crisis=question in crisis)
        context = turn.context
        turns.append(turn)
    return turns


@pytest.mark.parametrize(
    "before, follow_up, read_as",
    [
        ("tell me about panic disorder", "how is it diagnosed?", "how is panic disorder diagnosed?"),  # a pronoun
        ("what is PMDD", "what are its symptoms?", "what are premenstrual dysphoric disorder's symptoms?"),  # the corpus name for PMDD
        ("what are the symptoms of depression", "and in teens?", "what are the symptoms of depression in teens?"),  # a phrase added
        ("is PTSD more common in women?", "why is that?", "why is PTSD more common in women?"),
        ("what medications treat schizophrenia", "side effects?", "schizophrenia: side effects?"),  # a bare ellipsis
        ("my daughter takes stimulants for her ADHD", "are they addictive?", "are stimulants addictive?"),  # "they" agrees with stimulants
        ("what is psychosis", "how common is it?", "how common is psychosis?"),  # no focus, but a narrow word
        ("how long does social anxiety disorder last", "and panic disorder?", "how long does panic disorder last"),
        ("what is seasonal affective disorder", "ok and how is it treated?", "how is seasonal affective disorder treated?"),
    ],
)
def test_a_follow_up_is_rewritten_with_the_topic(session, before, follow_up, read_as):
    first, second = converse(session, before, follow_up)
    assert first.read_as is None and not first.fragment
    assert second.read_as == read_as and second.text == read_as and not second.fragment


def test_the_topic_is_the_latest_turn_that_had_one(session):
    turns = converse(session, "what is seasonal affective disorder", "what causes it", "and how is it treated?", "what about in children?")
    assert [t.read_as for t in turns[1:]] == [
        "what causes seasonal affective disorder",
        "how is seasonal affective disorder treated?",
        "how is seasonal affective disorder treated in children?",
    ]


def test_a_statement_adds_to_the_story_and_a_question_starts_afresh(session):
    """Told "my uncle has schizophrenia" then "his doctor put him on clozapine", a bare follow-up
    leans on both; asked "what is clozapine?" instead, it leans on clozapine alone."""
    told = converse(session, "my uncle has schizophrenia", "his doctor put him on clozapine", "what else could help")
    assert told[2].read_as == "clozapine, schizophrenia: what else could help"
    asked = converse(session, "my uncle has schizophrenia", "what is clozapine?", "what else could help")
    assert asked[2].read_as == "clozapine: what else could help"


@pytest.mark.parametrize(
    "follow_up, read_as",
    [
        ("does it work fast?", "does clozapine work fast?"),  # a treatment works
        ("can you get hooked on it?", "can you get hooked on clozapine?"),
        ("is it genetic?", "is schizophrenia genetic?"),  # a condition is genetic
        ("are there other meds for it?", "are there other meds for schizophrenia?"),  # a drug is for a condition
    ],
)
def test_a_pronoun_means_what_its_clause_fits(session, follow_up, read_as):
    """After a story that named a condition and then a drug, "it" is whichever the clause fits."""
    turns = converse(session, "my uncle has schizophrenia", "his doctor put him on clozapine", follow_up)
    assert turns[2].read_as == read_as


def test_the_it_of_is_it_worth_is_no_pronoun(session):
    """ "it" stands for the getting, not for psychosis: the topic leads instead."""
    turns = converse(session, "what is psychosis", "when is it worth getting an evaluation")
    assert turns[1].read_as == "psychosis: when is it worth getting an evaluation"


def test_on_its_own_is_not_a_pronoun_to_replace(session):
    turns = converse(session, "what is lithium used for", "is that enough on its own?")
    assert turns[1].read_as == "what is lithium used for — is that enough on its own?"


@pytest.mark.parametrize(
    "before, switch",
    [
        ("how is ocd treated", "what are the symptoms of anorexia?"),
        ("what is seasonal affective disorder", "how is borderline personality disorder treated?"),
        ("how is seasonal affective disorder treated?", "what about light therapy?"),  # a treatment is not asked how it is treated
    ],
)
def test_a_question_with_its_own_focus_starts_a_new_topic(session, before, switch):
    turns = converse(session, before, switch, "how is it diagnosed?")
    assert turns[1].read_as is None
    assert turns[1].context.topic.subject.lower() in switch.lower()
    assert turns[2].read_as is not None and turns[1].context.topic.subject in turns[2].read_as


@pytest.mark.parametrize(
    "before, switch",
    [
        ("what is bipolar disorder", "different question - where can i find help paying for care"),
        ("how is ocd treated?", "unrelated but how do i find a therapist"),
        ("what is seasonal affective disorder", "on another note, how do clinical trials work?"),
    ],
)
def test_a_turn_that_says_it_changes_the_subject_does_not_inherit(session, before, switch):
    assert converse(session, before, switch)[1].read_as is None
    (fragment,) = converse(session, before, "new question: what about in adults?")[1:]
    assert fragment.fragment  # the person dropped the topic, and the turn names nothing


def test_a_follow_up_that_names_a_condition_makes_it_the_topic(session):
    turns = converse(session, "my grandmother sees things that aren't there", "is that psychosis?", "what causes it?")
    assert turns[1].read_as is not None
    assert turns[2].read_as == "what causes psychosis?"


@pytest.mark.parametrize(
    "before, follow_up, read_as",
    [
        ("how is bulimia treated?", "how about for anorexia?", "how is anorexia treated?"),  # a narrow word, not a focus
        ("what are the symptoms of panic disorder", "what about for agoraphobia", "what are the symptoms of agoraphobia"),
    ],
)
def test_a_lead_and_a_new_name_ask_the_same_question_of_it(session, before, follow_up, read_as):
    assert converse(session, before, follow_up)[1].read_as == read_as


def test_a_number_is_not_a_topic(session):
    """A corpus title may start with a number ("5 Action Steps ..."); a number in a question names nothing."""
    question = "we adopted our son 5 months ago and he won't talk to anyone"
    assert read_question(question, session.searcher.vocabulary).focus.names == ()
    (first, follow_up) = converse(session, question, "what should we do")
    assert first.context.topic.subject != "5" and not follow_up.read_as.startswith("5")


@pytest.mark.parametrize("fragment", ["how is it treated?", "what about side effects?", "and for kids?", "is it genetic", "side effects?", "why is that?", "what are the side effects of them", "which one is safer", "how can i support her with it"])
def test_a_fragment_with_nothing_to_lean_on_is_refused(session, fragment):
    (turn,) = converse(session, fragment)
    assert turn.fragment and turn.read_as is None
    (after_new,) = converse(session, "what is bipolar disorder", "/new", fragment)[1:]
    assert after_new.fragment


@pytest.mark.parametrize(
    "question",
    [
        "What is adjustment disorder and how long does it usually last?",  # "it" after its antecedent
        "Will asking someone if they are suicidal put the idea in their head?",  # "they" is the someone
        "Is it true that antidepressants can increase suicidal thoughts in teens?",
        "Why do children need their own clinical trials?",
        "My mom has schizophrenia. Is it inherited?",
        "is it normal to feel sad after having a baby?",
        "At what age does psychosis usually start?",
        "What is the best pizza topping?",
        "my sister keeps washing her hands til they bleed, what should we do",  # "they" are her hands
        "my son keeps lying and stealing, is it a phase?",  # "it" is what he does
        "antidepresants how long till they work",  # "they" are the antidepressants
        "is one of my kids more at risk of depression if I have it?",  # "one of", not "which one"
        "does grief fade by itself or does it stay for years?",  # "it" after "or" is the grief
    ],
)
def test_a_question_that_stands_on_its_own_is_not_a_fragment(session, question):
    (turn,) = converse(session, question)
    assert not turn.fragment and turn.read_as is None


def test_a_name_given_after_a_fragment_completes_it(session):
    turns = converse(session, "is it hereditary?", "i mean bipolar disorder")
    assert turns[0].fragment
    assert turns[1].read_as == "is bipolar disorder hereditary?"
    turns = converse(session, "side effects?", "of clozapine")
    assert turns[1].read_as == "side effects of clozapine?"


def test_a_crisis_message_is_read_as_typed_and_the_topic_survives_it(session):
    turns = converse(session, "what is depression", "i want to end it tonight", "how is it treated?", crisis=("i want to end it tonight",))
    assert turns[1].read_as is None and not turns[1].fragment  # never "i want to end depression tonight"
    assert turns[2].read_as == "how is depression treated?"


@pytest.mark.parametrize(
    "message, asks",
    [
        ("i want to end it all", False),
        ("i dont know what to do anymore", False),
        ("i dont know what is wrong with me", False),  # told, not asked
        ("is it normal to feel this way", True),
        ("i feel awful, what can i do", True),
        ("so if its ptsd how long does therapy take", True),  # a question word, a noun and a verb mid-clause
        ("wat are the signs of depression", True),  # shorthand spelled out first
    ],
)
def test_whether_a_message_asks_something(message, asks):
    from mhqa.conversation import asks_something

    assert asks_something(message) is asks


def test_a_flagged_message_that_asks_something_still_leans_on_the_conversation(session):
    """The crisis classifier flags some everyday follow-ups; the resources come first, and the question
    is still read with the conversation."""
    turns = converse(session, "what is ocd", "can it get worse? im so scared", crisis=("can it get worse? im so scared",))
    assert turns[1].read_as == "can ocd get worse? im so scared"


def test_a_narrow_word_joined_to_the_name_stays_in_the_subject(session):
    turns = converse(session, "my aunt takes clozapine for schizophrenia", "how fast does it work?")
    assert turns[1].read_as == "how fast does clozapine for schizophrenia work?"


# --- through the question path --------------------------------------------------------------------


def test_follow_ups_are_answered_from_the_right_document(session):
    context = Context()
    answers = []
    for question in ("what is obsessive compulsive disorder", "how is it treated?", "what are the symptoms of panic disorder?", "and how is it treated?"):
        answer, context = session.follow(question, context)
        answers.append(answer)
    assert [a.read_as for a in answers] == [None, "how is obsessive compulsive disorder treated?", None, "how is panic disorder treated?"]
    assert [a.status for a in answers] == ["answered"] * 4
    assert [a.citations[0].source for a in answers] == ["nimh-ocd.pdf", "nimh-ocd.pdf", "nimh-panic-disorder.pdf", "nimh-panic-disorder.pdf"]
    assert answers[1].question == "how is it treated?"  # the answer keeps what was typed
    assert "treat" in answers[1].answer.lower()


def test_ask_refuses_a_fragment_without_looking_anything_up(session):
    answer = session.ask("how is it treated?")
    assert (answer.status, answer.answer, answer.reason, answer.citations, answer.evidence) == ("refused", None, FRAGMENT_REASON, [], 0.0)
    assert answer.fragment and answer.read_as is None
    assert session.ask("How is obsessive-compulsive disorder treated?").status == "answered"


def test_a_page_is_read_back_from_the_index(session):
    answer = session.ask("How is obsessive-compulsive disorder treated?")
    citation = answer.citations[0]
    quoted = [sentence for sentence, n in answer.sentences if n == citation.id]
    page = session.page(citation.source, citation.page)
    assert quoted and all(sentence in page for sentence in quoted)
    assert len(page) > 3 * len(citation.quote)  # the whole page, not the quote
    other = session.page(citation.source, citation.page + 1)
    assert other and quoted[0] not in other
    with pytest.raises(Exception, match="no page 99"):
        session.page(citation.source, 99)


def test_the_documents_come_with_their_register_facts(session):
    from conftest import CORPUS
    from mhqa.register import load_register

    documents = session.documents()
    assert len(documents) == len(session.manifest.documents) == 22
    register = load_register(CORPUS).by_file()
    assert [(facts.title, facts.publisher, facts.year) for name, facts in documents] == [
        (register[name].title, register[name].publisher, register[name].year) for name, _ in documents
    ]
    assert [facts.title.lower() for _, facts in documents] == sorted(facts.title.lower() for _, facts in documents)
