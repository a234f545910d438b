"""Stage 7, hits -> evidence: choose the sentences that answer, and score how well they do.

Selection: the candidate sentences of the retrieved passages are ranked by their
cosine similarity to the question, plus their passage's similarity (context), a
bonus for sharing the question's terms and one for stating the kind of fact it
asks for; they are picked by maximal marginal relevance (the answer does not
repeat itself), from the best sentence's page, stopping when the next sentence
is much weaker than the best. Sentences that only point elsewhere ("Learn more
about ...", web addresses) are never chosen.

Evidence score (0..1): a logistic combination of signals that separate the
questions the corpus answers from those it does not (weights fitted on the
calibration half of tests/data/questions.jsonl by bench/fit_evidence.py):
  best          cosine similarity of the best sentence to the question
  weak          how far that similarity is below 0.6 (0 above): a low one is damning
  passage       cosine similarity of the best passage (chunk)
  agreement     overlap of the dense and lexical top-5 passages
  unknown       share of the question's content words the corpus never uses
  rare_unknown  1 when one of those is not a common English word either (a topic
                the corpus lacks: "dyslexia", "psilocybin"), not a stray "grandpa"
  uncovered     1 when the chosen sentences share none of the question's terms
  type_gap      1 when the question asks for a dose, percentage, number, duration,
                age, frequency, cost, name, person or ranking and no chosen
                sentence states one
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from .chunk import LIST
from .lexical import tokenize
from .retrieve import Hits, Sentence

MMR_LAMBDA = 0.75
TERM_BONUS = 0.15
TYPE_BONUS = 0.1  # for a sentence stating the kind of fact the question asks for
PASSAGE_WEIGHT = 0.7  # weight of the sentence's passage similarity (its context) in its rank
RELATIVE_FLOOR = 0.10  # a sentence this much weaker than the best is not added
OTHER_PAGE_FLOOR = 0.0  # ... and from another page than the best, only if as strong (so answers cite one page)
ABSOLUTE_FLOOR = 0.30
WORD_BUDGET = 90
WEAK_BELOW = 0.6

# Fitted weights (intercept first); see the module doc.
WEIGHTS = {"bias": -4.505, "best": 4.94, "passage": 5.517, "unknown": -3.784, "type_gap": -5.443, "agreement": 4.107, "weak": -4.081, "uncovered": -1.437, "rare_unknown": -2.143}


@dataclass
class Evidence:
    sentences: list[Sentence]  # chosen, in answer order
    score: float
    signals: dict[str, float] = field(default_factory=dict)
    expected: str | None = None  # the kind of fact the question asks for, if any


# --- what kind of fact a question asks for ---------------------------------------------------

# (kind, question pattern, pattern a supporting sentence must match), tried in this order.
_NUMBER_WORDS = r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|hundred|dozen|half)"
_FACT_TYPES = [
    ("cost", r"\b(cost|costs|price|how much .{0,40}\b(pay|charge|spend)|covered by insurance|insurance cover)", r"\$\s?\d|\bdollars?\b|\b(cost|price|insurance)\b"),
    ("dose", r"\b(dose|dosage|doses|mg|milligrams?|iu|units|how much .{0,30}\b(take|give|prescribe))\b", r"\b\d+(\.\d+)?\s?(mg|milligrams?|micrograms?|mcg|iu|units)\b"),
    ("percentage", r"\b(percent|percentage|%|what share|what proportion|what fraction|how many (people|adults|children|kids|women|men|teens|americans|patients|moms|mothers)|how common|prevalence|success rate|recovery rate|rate of)\b", rf"\d+(\.\d+)?\s?(%|percent)|\b{_NUMBER_WORDS}[\d,]*\s+(\w+\s+){{0,2}}(in|out of|of|per)\s+(every\s+)?{_NUMBER_WORDS}[\d,]*\b|\b(million|billion|majority|minority|half of|third of|quarter of)\b"),
    ("frequency", r"\b(how often|how frequently|how many times)\b", rf"\b(daily|weekly|monthly|yearly|annually|every (day|week|month|year|\d+)|{_NUMBER_WORDS} times? (a|per|each)|once (a|per)|twice)\b"),
    ("age", r"\b(what age|which age|how old|at what age|age of onset|youngest age|minimum age|ages? (does|do|can|is)|by what age)\b", r"\b(ages?|aged)\b|\b\d+\s?(years?|-year)[- ]old\b|\b(teens?|childhood|adolescen\w*|early adulthood|infancy|preschool)\b"),
    ("duration", r"\b(how long|how many (weeks|months|years|days|hours|minutes|sessions)|how soon|how quickly|how fast|duration)\b", rf"\b({_NUMBER_WORDS}|a|an|a couple of|a few|several|few|many)\s?(-|–|−|to)?\s?{_NUMBER_WORDS}?\s?(minutes?|hours?|days?|weeks?|months?|years?|sessions?)\b"),
    ("number", r"\b(how many|number of|how much)\b", rf"\b{_NUMBER_WORDS}\b"),
    ("person", r"\b(who (developed|invented|created|discovered|founded|wrote|first)|whose|named after)\b", r"\b(Dr\.|[A-Z][a-z]+ [A-Z][a-z]+ (developed|created|invented|founded))"),
    ("comparison", r"\b(best|most effective|safest|first choice|least \w+)\b|\b(better|worse|safer|stronger) than\b|\bwhich .{0,40}\b(or|versus|vs)\b|\b(or|versus|vs\.?) \w+ (better|safer|best)\b", r"\b(best|better|most effective|more effective|less effective|gold standard|first[- ]line|first choice|preferred|superior|least|fewer|compared (to|with)|than)\b"),
    ("name", r"\b(which (drug|medication|medicine|ssri|snri|antidepressant|antipsychotic|brand|pill|app|test|one)|what (brand|drug|medication|medicine) name|names? of)\b", r"\b[a-z]{3,}(?:xetine|traline|pine|pion|olone|pram|zepam|zolam|thium|proate|idone|azole|amine|apine|etine|ipramine|ine)\b"),
]


FACT_WORDS = {
    "cost": "a cost", "dose": "a dose", "percentage": "a percentage or rate", "frequency": "how often",
    "age": "an age", "duration": "a duration", "number": "a number", "person": "a person's name",
    "comparison": "a ranking or comparison", "name": "a specific name",
}


def expected_fact(question: str) -> str | None:
    """The kind of fact the question asks for (a dose, a percentage, a name...), if any."""
    lowered = question.lower()
    yes_no = re.match(r"\W*(why|is it true|should|can|could|does|do|is|are)\b", lowered)
    for kind, asks, _ in _FACT_TYPES:
        if re.search(asks, lowered) and (not yes_no or kind == "comparison"):
            return kind  # a reason or a yes/no asks for no figure, but "is X or Y better" asks for a ranking
    return None


def _supports(kind: str, text: str, question: str) -> bool:
    """Whether `text` states a fact of that kind (a name must be one the question did not give)."""
    pattern = next(supports for name, _, supports in _FACT_TYPES if name == kind)
    flags = 0 if kind == "person" else re.IGNORECASE
    if kind == "name":
        asked = set(re.findall(r"[a-z]+", question.lower()))
        return any(word not in asked for word in re.findall(pattern, text.lower()))
    return bool(re.search(pattern, text, flags))


# Sentences that point elsewhere ("Learn more about...", "visit www...") say nothing themselves.
_NAVIGATION = re.compile(
    r"^(learn more|read more|to learn more|for more information|for additional|more information|you can (also )?(learn|find|read)|"
    r"visit|find (tips|more|out|additional)|download|order|call 1-|contact us|see (the|our|www))|www\.|https?://|\.gov\b|\.org\b",
    re.IGNORECASE,
)


def is_navigation(text: str) -> bool:
    return bool(_NAVIGATION.search(text)) and len(text.split()) < 40


# --- selection -----------------------------------------------------------------------------


def _normalised(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _term_share(terms: set[str], text: str) -> float:
    return len(terms & set(tokenize(text))) / len(terms) if terms else 0.0


def select_sentences(hits: Hits, max_sentences: int, expected: str | None, word_budget: int = WORD_BUDGET) -> list[Sentence]:
    """The few sentences that best answer, best first then in document order, without repeats.

    When the question asks for a kind of fact (a duration, a dose...), sentences that
    state one rank higher.
    """
    terms = set(hits.terms)
    seen: set[str] = set()
    candidates: list[tuple[float, Sentence]] = []
    for sentence in sorted(hits.sentences, key=lambda s: -s.similarity):
        key = _normalised(sentence.text)
        if key in seen or (len(key.split()) < 4 and sentence.kind != LIST) or is_navigation(sentence.text):
            continue
        seen.add(key)
        context = sentence.passage.dense if sentence.passage.dense is not None else 0.0
        relevance = sentence.similarity + TERM_BONUS * _term_share(terms, sentence.text) + PASSAGE_WEIGHT * context
        if expected and _supports(expected, sentence.text, hits.question):
            relevance += TYPE_BONUS
        candidates.append((relevance, sentence))
    if not candidates:
        return []
    candidates.sort(key=lambda pair: -pair[0])
    best_score = candidates[0][0]
    chosen: list[tuple[float, Sentence]] = [candidates[0]]
    words = len(candidates[0][1].text.split())
    remaining = candidates[1:]
    while remaining and len(chosen) < max_sentences:
        vectors = np.stack([s.vector for _, s in chosen])

        def marginal(pair: tuple[float, Sentence]) -> float:
            return MMR_LAMBDA * pair[0] - (1 - MMR_LAMBDA) * float((vectors @ pair[1].vector).max())

        pick = max(remaining, key=marginal)
        remaining.remove(pick)
        if pick[0] < max(best_score - RELATIVE_FLOOR, ABSOLUTE_FLOOR):
            break
        same_page = (pick[1].passage.file, pick[1].page) == (chosen[0][1].passage.file, chosen[0][1].page)
        if not same_page and pick[0] < best_score - OTHER_PAGE_FLOOR:
            continue
        if float((vectors @ pick[1].vector).max()) > 0.92:
            continue  # says the same thing in other words
        if words + len(pick[1].text.split()) > word_budget:
            continue
        chosen.append(pick)
        words += len(pick[1].text.split())
    first, rest = chosen[0][1], [s for _, s in chosen[1:]]
    rest.sort(key=lambda s: (s.passage.file, s.unit))
    return _complete_introductions([first, *rest], hits, word_budget)


_INTRODUCES = re.compile(r":$|\b(listed below|the following|as follows)\b", re.IGNORECASE)


def _complete_introductions(chosen: list[Sentence], hits: Hits, word_budget: int) -> list[Sentence]:
    """A sentence that introduces what follows ("Here are 5 steps...:") brings what follows on its page."""
    units = {(s.passage.id, s.unit): s for s in hits.sentences}
    taken = {s.text for s in chosen}
    out: list[Sentence] = []
    words = sum(len(s.text.split()) for s in chosen)
    for sentence in chosen:
        out.append(sentence)
        if not _INTRODUCES.search(sentence.text.rstrip()):
            continue
        following = [span[0] for span in sentence.passage.spans if span[0] > sentence.unit and span[3] == sentence.page]
        for unit in following[:3]:
            nxt = units.get((sentence.passage.id, unit))
            if nxt is None or nxt.text in taken or words + len(nxt.text.split()) > word_budget * 2:
                break
            out.append(nxt)
            taken.add(nxt.text)
            words += len(nxt.text.split())
    return out


# --- score ---------------------------------------------------------------------------------


def assess(hits: Hits, max_sentences: int) -> Evidence:
    """Choose the answer sentences and compute the evidence score with its signals."""
    expected = expected_fact(hits.question)
    sentences = select_sentences(hits, max_sentences, expected)
    content = len(hits.terms) + len(hits.unknown)
    chosen_text = " ".join(s.text for s in sentences)
    signals = {
        "best": max((s.similarity for s in hits.sentences), default=0.0),
        "passage": max((p.dense for p in hits.passages if p.dense is not None), default=0.0),
        "coverage": _term_share(set(hits.terms), chosen_text) * (len(hits.terms) / content if content else 0.0),
        "unknown": len(hits.unknown) / content if content else 1.0,
        "type_gap": 1.0 if expected and not _supports(expected, chosen_text, hits.question) else 0.0,
        "agreement": hits.agreement,
    }
    signals["weak"] = max(0.0, WEAK_BELOW - signals["best"])  # similarity below this is damning, not just low
    signals["uncovered"] = 1.0 if signals["coverage"] == 0.0 else 0.0
    signals["rare_unknown"] = 1.0 if hits.unknown_rare else 0.0  # a technical word the corpus never uses
    z = WEIGHTS["bias"] + sum(weight * signals[name] for name, weight in WEIGHTS.items() if name != "bias")
    score = 1.0 / (1.0 + math.exp(-z)) if sentences else 0.0
    return Evidence(sentences, score, signals, expected)
