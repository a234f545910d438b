"""The refusal policy, in one place: the signals, their weights, the threshold and the rule.

Signals (each 0..1 unless said), from the hits and the chosen sentences:
  best            cosine similarity to the question of the best sentence encoded on its own
                  (retrieve.READ_ALONE: its own words, not its passage's topic)
  weak            how far that similarity is below 0.6 (0 above): a low one is damning
  passage         cosine similarity of the best passage (chunk)
  agreement       overlap of the dense and lexical top-5 passages
  unknown         share of the question's words the corpus never uses, each weighted by its
                  rarity in general English (focus.rarity): "mother" counts 0, "psilocybin" 1
  missing_focus   the rarity of the rarest focus word the corpus never names ("schema therapy")
  focus_unstated  1 when the question has a focus the corpus names and no chosen sentence
                  (with its document's title and section) names it
  uncovered       1 when the chosen sentences share none of the question's terms
  type_gap        1 when the question asks for a dose, percentage, number, duration, age,
                  frequency, cost, name, person or ranking and no chosen sentence states one
  reader          the reader's (reader.py) highest probability that a chosen sentence answers
                  the question: MiniLM reading the question and the sentence together
  unaccounted     for the rare words the corpus never uses ("schema" in "schema therapy"): how
                  much closer the chosen sentences come to the question once the word is dropped
                  (over 0.1 counts 1), times the word's rarity; the largest. The embedding places a
                  neighbouring condition close to an uncovered one, so this only adds to the other
                  signals: gating "unknown" on it answered neighbours (questions.jsonl test half).

Score: a logistic combination, weights fitted by bench/fit_evidence.py (on the fit rows)
and the threshold chosen there (on the tune rows), both written with the data's hash and
the date to resources/evidence.json. Rule: answer when there is a sentence to quote and the
score reaches the threshold; otherwise refuse, saying why.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from .conversation import asks_something
from .focus import FACT_WORDS, states_focus, supports
from .language import RESOURCES
from .lexical import term_share
from .retrieve import in_context

if TYPE_CHECKING:
    from .retrieve import Hits, Sentence

FITTED_FILE = RESOURCES / "evidence.json"


@dataclass
class Evidence:
    """The sentences chosen to answer (evidence.py) and the policy's judgment of them."""

    sentences: "list[Sentence]"  # chosen, in answer order
    score: float = 0.0
    signals: dict[str, float] = field(default_factory=dict)
    expected: str | None = None  # the kind of fact the question asks for, if any
SIGNALS = ("best", "weak", "passage", "agreement", "unknown", "missing_focus", "focus_unstated", "uncovered", "type_gap", "unaccounted", "reader")
# Signals that can only count against an answer (bench/fit_evidence.py keeps their weights at or
# below zero, the others at or above): fitted freely on one set, "unknown" came out positive, which
# would make a word the corpus never uses a reason to answer.
PENALTIES = frozenset({"weak", "unknown", "missing_focus", "focus_unstated", "uncovered", "type_gap", "unaccounted"})
WEAK_BELOW = 0.6
UNACCOUNTED_FULL = 0.1  # a similarity gain this large from dropping a word counts fully
MENTION_RARITY = 0.3  # unknown words at least this rare are named in a refusal's reason


@dataclass(frozen=True)
class Fitted:
    weights: dict[str, float]  # "bias" and one per signal
    threshold: float
    provenance: dict  # what they were fitted and chosen on (files, sha256, rows, date)


@lru_cache(maxsize=1)
def fitted() -> Fitted:
    data = json.loads(FITTED_FILE.read_text(encoding="utf-8"))
    return Fitted(data["weights"], float(data["threshold"]), data.get("provenance", {}))


def signals(hits: "Hits", sentences: "list[Sentence]", reader: float = 0.0) -> dict[str, float]:
    reading = hits.reading
    content = len(reading.words)
    chosen_text = " ".join(s.text for s in sentences)
    terms = set(reading.terms)
    coverage = term_share(terms, chosen_text) * (len(terms) / content if content else 0.0)
    best = max((s.alone for s in hits.sentences if s.alone is not None), default=0.0)
    return {
        "best": best,
        "weak": max(0.0, WEAK_BELOW - best),
        "passage": max((p.dense for p in hits.passages if p.dense is not None), default=0.0),
        "agreement": hits.agreement,
        "unknown": sum(w.rarity for w in reading.words if not w.known) / content if content else 1.0,
        "missing_focus": reading.focus.missing_rarity,
        "focus_unstated": 1.0 if reading.focus.names and not any(states_focus(reading.focus, in_context(s)) for s in sentences) else 0.0,
        "uncovered": 1.0 if coverage == 0.0 else 0.0,
        "type_gap": 1.0 if reading.asks and not supports(reading.asks, chosen_text, reading.search) else 0.0,
        "unaccounted": max(unaccounted(hits, sentences).values(), default=0.0),
        "reader": reader,
    }


def unaccounted(hits: "Hits", sentences: "list[Sentence]") -> dict[str, float]:
    """Each rare unknown word -> its rarity times how much the chosen sentences (those read alone)
    gain on the question without it, 0..1: they answer a question without that word."""
    vectors = [s.alone_vector for s in sentences if s.alone_vector is not None]
    if not vectors or not hits.without or hits.vector is None:
        return {}
    matrix = np.stack(vectors)
    with_word = float(np.max(matrix @ hits.vector))
    rarity = {w.typed: w.rarity for w in hits.reading.words}
    return {
        word: rarity[word] * min(1.0, max(0.0, float(np.max(matrix @ vector)) - with_word) / UNACCOUNTED_FULL)
        for word, vector in hits.without.items()
    }


def score(values: dict[str, float], weights: dict[str, float] | None = None) -> float:
    weights = fitted().weights if weights is None else weights
    z = weights["bias"] + sum(weight * values.get(name, 0.0) for name, weight in weights.items() if name != "bias")
    return 1.0 / (1.0 + math.exp(-z))


def judge(hits: "Hits", sentences: "list[Sentence]", reader: float = 0.0) -> tuple[float, dict[str, float]]:
    """The evidence score of the chosen sentences (0 when there are none) and its signals;
    `reader`: the reader's highest probability for them (reader.py)."""
    values = signals(hits, sentences, reader)
    return (score(values) if sentences else 0.0), values


def answers(evidence: "Evidence", threshold: float, crisis_kind: str | None = None, question: str = "") -> bool:
    """The rule: answer when there is a sentence to quote and the evidence reaches the threshold; but
    not a person's message about their own danger that asks nothing (`crisis_kind` "self",
    crisis.py). "I want to kill myself" is no question for the brochures: quoting the warning signs
    of suicide back (the reader finds them close) would answer the person with a checklist, so the
    crisis resources stand alone. "My son says he wants to kill himself" is answered: the steps to
    help someone are for the parent."""
    if crisis_statement(crisis_kind, question):
        return False
    return bool(evidence.sentences) and evidence.score >= threshold


def crisis_statement(crisis_kind: str | None, question: str) -> bool:
    return crisis_kind == "self" and not asks_something(question)


CRISIS_STATEMENT = "the message speaks of the writer's own danger and asks nothing the sources could answer: the crisis lines above are the answer"


def refusal_reason(evidence: "Evidence", hits: "Hits", threshold: float, crisis_kind: str | None = None) -> str:
    if crisis_statement(crisis_kind, hits.question):
        return CRISIS_STATEMENT
    reasons = [f"evidence {evidence.score:.2f} is below the threshold {threshold:.2f}"]
    reading = hits.reading
    focus = reading.focus
    if focus.missing:
        reasons.append("the sources never name " + ", ".join(f"'{word}'" for word in focus.missing[:3]))
    rare = [w.typed for w in reading.words if not w.known and w.rarity >= MENTION_RARITY and w.typed not in focus.missing]
    if rare:
        reasons.append("the sources never mention " + ", ".join(f"'{word}'" for word in rare[:4]))
    if evidence.signals.get("focus_unstated") and focus.names:
        reasons.append(f"no close passage is about '{focus.names[0]}'")
    if evidence.signals.get("type_gap"):
        reasons.append(f"the question asks for {FACT_WORDS[evidence.expected or 'number']} and no close passage states one")
    if evidence.signals.get("best", 0.0) < 0.45 and len(reasons) == 1:
        reasons.append(f"the closest passage is only loosely related (similarity {evidence.signals.get('best', 0.0):.2f})")
    return "; ".join(reasons)
