"""Crisis first: a message that signals someone is in danger now gets crisis resources before anything else.

What counts is a person in danger now or soon: the writer's wish or intent to
die, plans, an overdose taken, self-harm happening, goodbye acts, someone else at
risk now, urges or commanded voices to harm others, a medical emergency, violence
happening now; directly or indirectly, in any register, with slang and typos, or
in Spanish, French, German, Portuguese or Italian. A question about suicide as a
topic, how to help someone in general, an idiom, fiction, a recovered past or
mild everyday distress is not a crisis, and is answered like any other.

Independent signals, so that one miss is caught by another:
1. normalisation that keeps meaning: Unicode and accent folding, emoji for means,
   the slang lexicon expanded in place (resources/crisis-lexicon.toml: "kms" ->
   "kill myself", "wanna" -> "want to"), and spelling restored towards the crisis
   vocabulary with symspellpy for words that are not common English;
2. a classifier on every sentence (and on the whole message), taking the highest:
   a crisis sentence buried in a long message still counts. It is MiniLM itself,
   fine-tuned as a classifier by bench/fit_crisis.py on the bank in
   tests/data/crisis/bank.jsonl and shipped as int8 ONNX (resources/crisis-classifier.onnx);
3. high-precision rules for what must never be missed: explicit first-person
   intent, an overdose taken, bleeding now, a weapon at hand with intent, a named
   time;
4. the multilingual lexicon, for messages the English model cannot read.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from .language import RESOURCES, detect_language, english_zipf, fold, is_common_english
from .model import small_session

KINDS = ("self", "other_person", "harm_to_others", "medical", "unclear")
CLASSIFIER_FILE = RESOURCES / "crisis-classifier.onnx"
CLASSIFIER_META = RESOURCES / "crisis-classifier.json"
LEXICON_FILE = RESOURCES / "crisis-lexicon.toml"
ENGLISH_ONLY = "mhqa answers in English, from English sources."


# --- resources by region -----------------------------------------------------------------------


@dataclass(frozen=True)
class Resources:
    """What to show first: the region's crisis lines and its emergency number."""

    region: str
    place: str  # "the US": where these lines answer
    lines: tuple[str, ...]
    emergency: str

    def text(self) -> tuple[str, ...]:
        return (
            "If you are thinking about suicide or self-harm, or someone is in danger, help is available now.",
            *self.lines,
            f"If you or someone else is in immediate danger, call {self.emergency}.",
            f"Outside {self.place}: call your local emergency number.",
        )


# Each number as its service publishes it (checked 2026-11):
# us: 988lifeline.org (call or text 988, chat); 911 (911.gov).
# uk: samaritans.org/how-we-can-help/contact-samaritan (116 123, free, 24/7); giveusashout.org
#     (text SHOUT to 85258); nhs.uk "Where to get urgent help for mental health" (111, 999).
# ie: samaritans.org/ireland (116 123); 50808.ie (text HELLO to 50808); hse.ie "In a crisis"
#     (112 or 999).
# ca: 988.ca (call or text 9-8-8, Suicide Crisis Helpline); 911.
# au: lifeline.org.au (13 11 14, text 0477 13 11 14); kidshelpline.com.au (1800 55 1800); 000.
REGIONS: dict[str, Resources] = {
    "us": Resources("us", "the US", ("In the US: call or text 988 (Suicide & Crisis Lifeline), or chat at 988lifeline.org.",), "911"),
    "uk": Resources(
        "uk", "the UK",
        ("In the UK: call Samaritans on 116 123 (free, day or night), or text SHOUT to 85258.",
         "For urgent mental health help, call NHS 111."),
        "999",
    ),
    "ie": Resources(
        "ie", "Ireland",
        ("In Ireland: call Samaritans on 116 123 (free, day or night), or text HELLO to 50808.",),
        "112 or 999",
    ),
    "ca": Resources("ca", "Canada", ("In Canada: call or text 9-8-8 (Suicide Crisis Helpline), day or night.",), "911"),
    "au": Resources(
        "au", "Australia",
        ("In Australia: call Lifeline on 13 11 14 or text 0477 13 11 14, day or night.",
         "Kids Helpline (ages 5 to 25): 1800 55 1800."),
        "000",
    ),
}


def resources_for(region: str, lines: Sequence[str] | None = None, emergency: str | None = None) -> Resources:
    """A preset (`crisis_region`), with the config's own lines or emergency number in its place if given."""
    preset = REGIONS[region]
    return Resources(region, preset.place, tuple(lines) if lines else preset.lines, emergency or preset.emergency)


# --- the check --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CrisisCheck:
    crisis: bool
    kind: str | None  # one of KINDS when crisis
    language: str  # "en", or the code of the language most of the message is in
    score: float  # the classifier's highest sentence probability
    signals: tuple[str, ...] = field(default=())  # what fired, for eval and debugging


@lru_cache(maxsize=1)
def _lexicon() -> dict:
    with LEXICON_FILE.open("rb") as handle:
        return tomllib.load(handle)


@lru_cache(maxsize=1)
def _expansions() -> tuple[re.Pattern[str], dict[str, str]]:
    table = {fold(key): value for key, value in _lexicon()["expand"].items()}
    alternatives = "|".join(re.escape(key) for key in sorted(table, key=len, reverse=True))
    return re.compile(rf"(?<![\w'/.])(?:{alternatives})(?![\w'/])"), table


@lru_cache(maxsize=1)
def _vocabulary() -> frozenset[str]:
    return frozenset(_lexicon()["vocabulary"]["words"])


@lru_cache(maxsize=1)
def _speller():
    from symspellpy import SymSpell

    speller = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
    for word in _vocabulary():
        speller.create_dictionary_entry(word, 1)
    return speller


@lru_cache(maxsize=1)
def _foreign_patterns() -> tuple[tuple[str, str, re.Pattern[str]], ...]:
    kinds = {"self": "self", "other_person": "other_person", "harm_to_others": "harm_to_others", "self_violence": "self"}
    return tuple(
        (lang, kinds[group], re.compile(pattern))
        for lang, groups in _lexicon()["languages"].items()
        for group, patterns in groups.items()
        for pattern in patterns
    )


@lru_cache(maxsize=1)
def _idioms() -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{pattern})" for pattern in _lexicon()["idioms"]["patterns"]))


@lru_cache(maxsize=1)
def _foreign_fiction() -> frozenset[str]:
    return frozenset(_lexicon()["fiction"]["words"])


_MARKUP = re.compile(r"!?\[([^\]]{0,200})\]\([^)]{0,500}\)|<[^<>]{1,80}>")  # [text](url), ![alt](src), <b>
_URL = re.compile(r"\b(?:https?://|www\.)\S+")
_LEET = str.maketrans("013457@$", "oieastas")
_LEET_WORD = re.compile(r"\b[a-z]*[a-z][0-9@$]+[a-z][a-z0-9@$]*\b")
_TOKEN = re.compile(r"[a-z][a-z']*")


def _respell(token: str) -> str:
    """`token` itself if it is common English or crisis vocabulary, else its closest crisis word, if close."""
    if len(token) < 3 or token in _vocabulary() or is_common_english(token):
        return token
    single = re.sub(r"(.)\1+", r"\1", token)  # "killl" and "diiie" were squeezed to doubles; try singles too
    if single != token and (single in _vocabulary() or is_common_english(single)):
        return single
    from symspellpy import Verbosity

    distance = 2 if len(token) >= 6 else 1
    found = _speller().lookup(token, Verbosity.TOP, max_edit_distance=distance)
    return found[0].term if found else token


def normalise(text: str) -> str:
    """The message as the rules and the classifier read it: folded, markup and addresses reduced to
    their words, slang expanded, spelling restored."""
    for emoji, word in _lexicon()["emoji"].items():
        text = text.replace(emoji, f" {word} ")
    text = fold(text)
    text = _MARKUP.sub(lambda m: f" {m.group(1) or ''} ", text)  # links and tags carry no crisis meaning; their words may
    text = _URL.sub(" link ", text)
    text = _LEET_WORD.sub(lambda m: m.group(0).translate(_LEET), text)
    text = re.sub(r"([a-z])\1{2,}", r"\1\1", text)  # "diiiie" -> "diie"; _respell tries "die"
    pattern, table = _expansions()
    text = pattern.sub(lambda m: table[m.group(0)], text)
    text = _TOKEN.sub(lambda m: _respell(m.group(0)), text)
    text = pattern.sub(lambda m: table[m.group(0)], text)  # a respelled word may be slang ("kil myslef" -> ...)
    return re.sub(r"[ \t]+", " ", text).strip()


def sentences(normalised: str) -> list[str]:
    """The message's sentences, and the whole message when it has several (a plan may span two).

    A piece of one or two words ("click x", "ok.") is read only within the whole message: alone,
    out of its context, the classifier's reading of it is noise. A message that is itself that
    short ("help pills", "kms") is read as it is.
    """
    parts = [p.strip() for p in re.split(r"(?<=[.!?])\s+|\s*\n+\s*|\s*;\s*", normalised) if len(p.strip()) > 1]
    if len(parts) <= 1:
        return parts or [normalised]
    return [p for p in parts if len(p.split()) >= 3] + [normalised]


# Rules: what a classifier must never miss. Each needs the first person (or a named means) and
# none of them fires on a past, recovered or fictional account.
_PAST = re.compile(
    r"\b(?:used to|years ago|months ago|when i was (?:a |an |\d+|younger|little|in |at )|back (?:in|when|then)|in the past|"
    r"in (?:high school|college|my teens|my twenties)|as a (?:teen|teenager|kid|child)|recovered|in recovery|"
    r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten) (?:years?|months?) (?:clean|free|sober|ago|since))\b"
)
_FICTION = re.compile(
    r"\b(?:character|characters|novel|story|fiction|movie|film|episode|series|game|lyrics|song|book|scene|"
    r"roleplay|fanfic|npc|my players?|villain|protagonist|screenplay|poem)\b"
)
_INTENT = (
    r"(?:kill myself|end my life|end it all|take my (?:own )?life|commit suicide|hang myself|shoot myself|"
    r"overdose|jump off|jump in front)"
)
_RULES: tuple[tuple[str, str, tuple[re.Pattern[str], ...]], ...] = (
    ("first-person intent", "self", (re.compile(
        r"\bi(?:'m| am)?(?: really| just| seriously| definitely| actually| finally)? (?:going to|want to|need to|plan to|"
        rf"planning to|planning on|about to|ready to|decided to|have decided to|intend to) {_INTENT}\b"
        rf"|\bi(?:'ll| will| shall)(?: just| finally)? {_INTENT}\b"
        r"|\bi(?:'m| am)(?: feeling| so| really| very| actively| kind of| seriously)? suicidal\b(?! thoughts? (?:in|about) )"
    ),)),
    ("overdose taken", "medical", (re.compile(
        r"\bi(?:'ve| have)?(?: just| already)? (?:took|taken|swallowed|downed|had|overdosed on)\b[^.!?]{0,40}?"
        r"\b(?:whole|entire|bunch|handful|too many|box|bottle|packet|pack|strip|all of|\d{2,}|twenty|thirty|forty|fifty|hundred)\b"
        r"[^.!?]{0,30}?\b(?:pills|tablets|meds|medication|medications|paracetamol|acetaminophen|tylenol|ibuprofen|advil|"
        r"aspirin|antidepressants|insulin|capsules|benzos|xanax|painkillers|sleeping pills|lithium)\b"
        r"|\bi(?:'ve| have)?(?: just| already)? (?:overdosed|taken an overdose|took an overdose)\b"
    ),)),
    ("bleeding now", "self", (
        re.compile(r"\b(?:bleeding|blood)\b[^.!?]{0,30}\b(?:won't stop|will not stop|isn't stopping|not stopping|can't stop|"
                   r"cannot stop|everywhere|so much|too much|pouring|soaking|through the)\b"),
        re.compile(r"\b(?:cut|cutting|slit|razor|blade|wrists?|self harm|too deep)\b"),
    )),
    ("means at hand", "self", (
        re.compile(r"\b(?:gun|pistol|rifle|shotgun|knife|blade|razor|rope|noose|pills)\b"),
        re.compile(r"\b(?:in my hands?|holding|loaded|to my head|around my neck|tied|lined up|counted out|next to me|in front of me)\b"),
        re.compile(r"\b(?:end it|end this|kill myself|die|dying|pull the trigger|goodbye|suicide|it all|be over|over with)\b"),
    )),
    ("named time", "self", (
        re.compile(r"\b(?:tonight|tomorrow|this weekend|after (?:my|the) shift|after work|after school|when everyone(?:'s| is) asleep|"
                   r"at midnight|in an hour|in a few hours|before morning|by morning|before sunrise|on (?:monday|tuesday|wednesday|"
                   r"thursday|friday|saturday|sunday)|my birthday)\b"),
        re.compile(r"\b(?:kill myself|end it|end it all|end my life|take my life|hang myself|take the pills|overdose|"
                   r"commit suicide|not be here|not be alive|won't be here|won't be alive)\b"),
        re.compile(r"\b(?:i|i'm|i'll|i've|me|my)\b"),
    )),
)


def _rule_hits(text: str) -> list[tuple[str, str]]:
    if _PAST.search(text) or _FICTION.search(text):
        return []
    return [(name, kind) for name, kind, patterns in _RULES if all(p.search(text) for p in patterns)]


class Classifier:
    """The fine-tuned MiniLM (int8 ONNX): the crisis probability and the kind of each text.

    bench/fit_crisis.py fits it; crisis-classifier.json holds its threshold, the kinds its
    heads stand for, and the bank and figures it came from.
    """

    def __init__(self, tokenizer_file: Path, path: Path = CLASSIFIER_FILE, meta: Path = CLASSIFIER_META):
        from tokenizers import Tokenizer

        info = json.loads(meta.read_text(encoding="utf-8"))
        self.threshold = float(info["threshold"])
        self.kinds = tuple(info["kinds"])
        self._session = small_session(path, "the crisis classifier")
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))  # the base model's: the classifier is MiniLM
        self._tokenizer.enable_truncation(max_length=int(info["max_tokens"]))
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        encoded = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        return self._session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]


class CrisisDetector:
    """The crisis check of every question, before retrieval."""

    def __init__(self, classifier: Classifier):
        self.classifier = classifier
        # Everything the first check needs, loaded now (open_session runs this on a thread).
        english_zipf()
        _expansions()
        _speller()
        _foreign_patterns()
        _foreign_fiction()
        _idioms()
        detect_language("")

    def check(self, message: str) -> CrisisCheck:
        language = detect_language(message)
        text = normalise(message)
        signals: list[str] = []
        kind: str | None = None
        for name, rule_kind in _rule_hits(text):
            signals.append(f"rule: {name}")
            kind = kind or rule_kind
        folded = _idioms().sub(" ", fold(message))
        fiction = _foreign_fiction().intersection(re.findall(r"[a-z]+", folded))
        for lang, lexicon_kind, pattern in () if fiction else _foreign_patterns():
            if pattern.search(folded):
                signals.append(f"lexicon: {lang}")
                kind = kind or lexicon_kind
                break
        logits = self.classifier.logits(sentences(text))
        probabilities = 1.0 / (1.0 + np.exp(-logits[:, 0]))
        best = int(np.argmax(probabilities))
        score = float(probabilities[best])
        if score >= self.classifier.threshold:
            signals.append(f"classifier {score:.2f}")
            kind = kind or self.classifier.kinds[int(np.argmax(logits[best, 1:]))]
        return CrisisCheck(bool(signals), (kind or "unclear") if signals else None, language, score, tuple(signals))
