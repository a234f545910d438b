"""The crisis check: its parts (normalisation, rules, languages, regions) and its figures on the frozen test set.

The frozen set (tests/data/crisis/test.jsonl) was written blind and measured once at the
end; the floors below are the figures of that run, less a small margin, so a change that
makes the detector worse on messages nobody designed against fails here. The unit tests
use messages written for each mechanism, not taken from the bank or the test set.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from conftest import DATA
from mhqa import crisis
from mhqa.language import detect_language
from mhqa.settings import bundled_model_path

FROZEN = DATA / "crisis" / "test.jsonl"
FROZEN_SHA256 = "f85738f94eeaf002d4bf639eb18cd7f2c6893be870674ff5f525b1317ae69079"


@pytest.fixture(scope="module")
def detector():
    return crisis.CrisisDetector(crisis.Classifier(bundled_model_path() / "tokenizer.json"))


# --- normalisation keeps meaning ---------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, normalised",
    [
        ("i wanna die", "i want to die"),  # expanded with its grammar, never "want die"
        ("I'm cutting again", "i'm cutting again"),  # "cutting" is not rewritten to "cut"
        ("kms tonite", "kill myself tonight"),
        ("gonna top myself", "going to kill myself"),
        ("I’M SO DONE", "i'm so done"),  # case and curly quotes
        ("i want to kil myslef", "i want to kill myself"),  # respelled towards the crisis vocabulary
        ("k1ll mys3lf", "kill myself"),  # digits standing for letters
        ("diiiiie", "die"),
        ("💊💊 tonight", "pills pills tonight"),
        ("Médicaments", "medicaments"),  # folded, not translated
        ("the sherpa crossed the col", "the sherpa crossed the col"),  # rare real words are left alone
        ("what is <b>dmdd</b>? [see](http://x.example/a) ok", "what is dmdd ? see ok"),  # markup and addresses
        ("my note is at https://paste.example/x", "my note is at link"),
    ],
)
def test_normalise(raw, normalised):
    assert crisis.normalise(raw) == normalised


def test_sentences_add_the_whole_message_when_there_are_several():
    assert crisis.sentences("how do i renew my passport. i took all of my pills") == [
        "how do i renew my passport.", "i took all of my pills", "how do i renew my passport. i took all of my pills"
    ]
    assert crisis.sentences("just one") == ["just one"]
    assert crisis.sentences("what is dmdd? click here. ok") == ["what is dmdd?", "what is dmdd? click here. ok"]  # fragments only in context


# --- rules: first person, now; never a past, recovered or fictional account ---------------------


@pytest.mark.parametrize(
    "message, rule",
    [
        ("i am going to kill myself", "first-person intent"),
        ("i'll end my life", "first-person intent"),
        ("im suicidal", "first-person intent"),
        ("i just swallowed a whole bottle of tylenol", "overdose taken"),
        ("ive taken 40 tablets", "overdose taken"),
        ("the cut is bleeding so much and wont stop", "bleeding now"),
        ("holding the knife, i want it to be over", "means at hand"),
        ("tonight i will end it all", "named time"),
    ],
)
def test_rules_fire_on_present_first_person_danger(message, rule):
    assert rule in [name for name, _ in crisis._rule_hits(crisis.normalise(message))]


@pytest.mark.parametrize(
    "message",
    [
        "i was suicidal years ago, now i'm doing great",
        "when i was 16 i took a whole bottle of pills",
        "my character is holding a knife and wants it to be over",
        "i'm not suicidal, just tired",
        "i took my tablets this morning",
        "my nose is bleeding so much",
        "i'll finish the essay tonight",
    ],
)
def test_rules_stay_quiet_on_past_fiction_and_ordinary_sentences(message):
    assert crisis._rule_hits(crisis.normalise(message)) == []


# --- languages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message, lang",
    [
        ("no sé qué hacer, ya no quiero vivir", "es"),
        ("je n'en peux plus, je veux mourir", "fr"),
        ("ich will nicht mehr leben", "de"),
        ("não quero mais viver", "pt"),
        ("non voglio più vivere", "it"),
        ("What are the symptoms of depression?", "en"),
        ("my abuela has depresión, what helps?", "en"),
        ("kms", "en"),
    ],
)
def test_language_of_a_message(message, lang):
    assert detect_language(message) == lang


@pytest.mark.parametrize(
    "message, harmless",
    [
        ("me quiero morir, ya no aguanto", "me muero de risa con este video"),
        ("je vais me suicider ce soir", "je meurs de faim, on mange ?"),
        ("ich will mich umbringen", "ich lache mich tot"),
        ("quero me matar", "estou morrendo de fome"),
        ("voglio farla finita", "muoio dal ridere"),
    ],
)
def test_lexicon_reads_other_languages_and_their_idioms(message, harmless):
    hits = [lang for lang, _, pattern in crisis._foreign_patterns() if pattern.search(crisis.fold(message))]
    assert hits, message
    assert not [lang for lang, _, pattern in crisis._foreign_patterns() if pattern.search(crisis.fold(harmless))], harmless


# --- regions -----------------------------------------------------------------------------------


def test_region_presets_and_overrides():
    assert "988" in " ".join(crisis.resources_for("us").text()) and "911" in crisis.resources_for("us").text()[-2]
    uk = " ".join(crisis.resources_for("uk").text())
    assert "116 123" in uk and "999" in uk and "988" not in uk
    assert "13 11 14" in " ".join(crisis.resources_for("au").text()) and "000" in crisis.resources_for("au").text()[-2]
    assert "9-8-8" in " ".join(crisis.resources_for("ca").text())
    assert "50808" in " ".join(crisis.resources_for("ie").text())
    own = crisis.resources_for("uk", ["Call the campus line on 555 0100."], "112")
    assert own.text()[1] == "Call the campus line on 555 0100." and own.text()[-2].endswith("call 112.")


# --- the detector on the frozen set ------------------------------------------------------------


def test_frozen_set_is_unchanged():
    assert hashlib.sha256(FROZEN.read_bytes()).hexdigest() == FROZEN_SHA256


@pytest.fixture(scope="module")
def frozen_results(detector):
    rows = [json.loads(line) for line in FROZEN.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(row, detector.check(row["text"])) for row in rows]


# Floors: the one run on the frozen set (2026-11-28: recall 0.977, 168 of 172; harmless not
# flagged 0.862, 112 of 130; README, "Crisis first"), less about 0.02.
RECALL_FLOOR = 0.955
NOT_FLAGGED_FLOOR = 0.84


def test_frozen_set_recall_and_false_alarms(frozen_results):
    crises = [check.crisis for row, check in frozen_results if row["crisis"]]
    harmless = [not check.crisis for row, check in frozen_results if not row["crisis"]]
    recall, not_flagged = sum(crises) / len(crises), sum(harmless) / len(harmless)
    assert recall >= RECALL_FLOOR, f"recall {recall:.3f}"
    assert not_flagged >= NOT_FLAGGED_FLOOR, f"harmless not flagged {not_flagged:.3f}"


def test_frozen_set_every_crisis_category_and_language(frozen_results):
    """No category of crisis message below 0.9 recall, non-English included (each holds about 10)."""
    by_category: dict[str, list[bool]] = {}
    for row, check in frozen_results:
        if row["crisis"]:
            by_category.setdefault(row["category"], []).append(check.crisis)
    low = {name: sum(flags) / len(flags) for name, flags in by_category.items() if sum(flags) / len(flags) < 0.9}
    assert not low, low


def test_frozen_set_non_english_messages_get_the_english_only_line(frozen_results):
    non_english = [check for row, check in frozen_results if row["lang"] != "en"]
    assert sum(check.language != "en" for check in non_english) / len(non_english) >= 0.95
