"""Stage 7, hits -> evidence: choose the sentences that answer, and score how well they do.

Selection: the candidate sentences of the retrieved passages are ranked by their
cosine similarity to the question plus a bonus for sharing its terms, and picked
by maximal marginal relevance (so the answer does not repeat itself), stopping
when the next sentence is much weaker than the best.

Evidence score (0..1): a logistic combination of signals that separate questions
the corpus answers from those it does not (weights fitted on the calibration
half of tests/data/questions.jsonl by bench/fit_evidence.py):
  best      cosine similarity of the best sentence to the question
  passage   cosine similarity of the best passage (chunk)
  coverage  share of the question's content terms found in the chosen sentences
  unknown   share of the question's content words the corpus never uses
  type_gap  1 when the question asks for a number, dose, percentage, duration,
            age or a name and no chosen sentence contains one
  agreement overlap of the dense and lexical top-5 passages
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
RELATIVE_FLOOR = 0.12  # a sentence this much weaker than the best is not added
ABSOLUTE_FLOOR = 0.30
WORD_BUDGET = 90

# Fitted weights (intercept first); see the module doc.
WEIGHTS = {"bias": -9.0, "best": 9.0, "passage": 4.0, "coverage": 3.0, "unknown": -4.0, "type_gap": -2.5, "agreement": 0.5}


@dataclass
class Evidence:
    sentences: list[Sentence]  # chosen, in answer order
    score: float
    signals: dict[str, float] = field(default_factory=dict)
    expected: str | None = None  # the kind of fact the question asks for, if any


# --- what kind of fact a question asks for ---------------------------------------------------

_EXPECTS = [
    ("dose", r"\b(dose|dosage|doses|mg|milligrams?|how much .{0,30}(take|give|prescribe))\b"),
    ("percentage", r"\b(percent|percentage|%|what share|what proportion|how many (people|adults|children|kids|women|men|teens|americans|patients)|how common|prevalence|rate)\b"),
    ("number", r"\b(how many|number of|how much)\b"),
    ("age", r"\b(what age|which age|how old|at what age|age of onset|youngest age|minimum age)\b"),
    ("duration", r"\b(how long|how many (weeks|months|years|days|hours|sessions)|how soon|how quickly|when will|duration)\b"),
    ("name", r"\b(which (drug|medication|medicine|ssri|antidepressant|brand|pill|app|test)|what (brand|drug|medication) name|best (ssri|antidepressant|medication|drug|pill)|name (of|the))\b"),
]
_SUPPORTS = {
    "dose": r"\b\d+(\.\d+)?\s?(mg|milligrams?|micrograms?|mcg)\b",
    "percentage": r"(\d+(\.\d+)?\s?(%|percent)|\b(one|two|three|four|five) in (two|three|four|five|ten|\d+)\b|\b\d+ (out of|in) \d+\b|\bmillion\b|\bmost\b)",
    "number": r"(\b\d+\b|\b(one|two|three|four|five|six|seven|eight|nine|ten|twelve|dozen|several|few|many)\b)",
    "age": r"(\bage[sd]?\b|\b\d+\s?(years?|-year)[- ]old\b|\bteens?\b|\bchildhood\b|\badolescen|\bearly adulthood\b|\bbefore (the )?age\b|\bby age\b|\bunder \d+\b)",
    "duration": r"(\b\d+\s?(-|–|−|to)?\s?\d*\s?(minutes?|hours?|days?|weeks?|months?|years?)\b|\b(several|few|many) (minutes|hours|days|weeks|months|years)\b|\b(weeks|months|years)\b)",
    "name": r"\b[A-Z][a-z]+(?:ine|am|ate|one|ol|ide|pam|lam|ium)\b|\b(lithium|esketamine|clozapine|brexanolone|zuranolone|fluoxetine|ssris?|snris?|stimulants?|antipsychotics?)\b",
}


def expected_fact(question: str) -> str | None:
    lowered = question.lower()
    for kind, pattern in _EXPECTS:
        if re.search(pattern, lowered):
            return kind
    return None


def _supports(kind: str, text: str) -> bool:
    return bool(re.search(_SUPPORTS[kind], text, re.IGNORECASE if kind != "name" else 0)) or (
        kind == "name" and bool(re.search(_SUPPORTS[kind], text.lower()))
    )


# --- selection -----------------------------------------------------------------------------


def _normalised(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _term_share(terms: set[str], text: str) -> float:
    return len(terms & set(tokenize(text))) / len(terms) if terms else 0.0


def select_sentences(hits: Hits, max_sentences: int, word_budget: int = WORD_BUDGET) -> list[Sentence]:
    """The few sentences that best answer, best first then in document order, without repeats."""
    terms = set(hits.terms)
    seen: set[str] = set()
    candidates: list[tuple[float, Sentence]] = []
    for sentence in sorted(hits.sentences, key=lambda s: -s.similarity):
        key = _normalised(sentence.text)
        if key in seen or (len(key.split()) < 4 and sentence.kind != LIST):
            continue
        seen.add(key)
        candidates.append((sentence.similarity + TERM_BONUS * _term_share(terms, sentence.text), sentence))
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
        if float((vectors @ pick[1].vector).max()) > 0.92:
            continue  # says the same thing in other words
        if words + len(pick[1].text.split()) > word_budget:
            continue
        chosen.append(pick)
        words += len(pick[1].text.split())
    first, rest = chosen[0][1], [s for _, s in chosen[1:]]
    rest.sort(key=lambda s: (s.passage.file, s.unit))
    return [first, *rest]


# --- score ---------------------------------------------------------------------------------


def assess(hits: Hits, max_sentences: int) -> Evidence:
    """Choose the answer sentences and compute the evidence score with its signals."""
    sentences = select_sentences(hits, max_sentences)
    expected = expected_fact(hits.question)
    content = len(hits.terms) + len(hits.unknown)
    chosen_text = " ".join(s.text for s in sentences)
    signals = {
        "best": max((s.similarity for s in hits.sentences), default=0.0),
        "passage": max((p.dense for p in hits.passages if p.dense is not None), default=0.0),
        "coverage": _term_share(set(hits.terms), chosen_text) * (len(hits.terms) / content if content else 0.0),
        "unknown": len(hits.unknown) / content if content else 1.0,
        "type_gap": 1.0 if expected and not _supports(expected, chosen_text) else 0.0,
        "agreement": hits.agreement,
    }
    z = WEIGHTS["bias"] + sum(WEIGHTS[name] * value for name, value in signals.items())
    score = 1.0 / (1.0 + math.exp(-z)) if sentences else 0.0
    return Evidence(sentences, score, signals, expected)
