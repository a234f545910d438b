"""Stage 7, hits -> evidence: choose the sentences that answer; policy.py scores how well they do.

Candidates: the sentences of the retrieved passages, except those that cannot answer:
a question ("Does your child ...?"), a heading or a reference line (no sentence
punctuation, mostly capitalised words), a navigation line ("Learn more about ...",
web addresses).

Rank: cosine similarity to the question (Sentence.closeness: of the sentence's own words
where it was read alone), plus the passage's similarity (context),
a bonus for sharing the question's terms, one for stating the kind of fact it asks
for (a definition, for "what is X"), one for stating its predicate (what it asks about its focus), and a penalty
for not naming its focus (focus.py; a sentence names it when it, or its
document's title or section, does; an answer that never names it is refused by
policy.py). Near ties go to the easier sentence (lower reading grade).

Choice: by maximal marginal relevance (the answer does not repeat itself), from
the best sentence's page, stopping when the next sentence is much weaker than the
best. When no chosen sentence states the asked-for fact, a sentence that does is added:
from the same page if within twice that margin, from a second page if within it. A
sentence that leans on the one before it ("However, ...",
"This ...", "They ...") is quoted with that sentence or not at all.

Reading (assess): the reader (reader.py) reads the chosen sentences and the next candidates
on their pages; one it finds likelier to answer than every chosen sentence joins the answer
after the first.
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

import numpy as np

from .chunk import LIST
from .focus import extraposed_it, states_focus, supports
from .lexical import term_share, tokenize
from .policy import Evidence, judge
from .reader import pair_text
from .retrieve import Hits, Sentence, in_context

Read = Callable[[str, list[str]], Sequence[float]]  # (question, pair texts) -> P(answers) of each

MMR_LAMBDA = 0.75
TERM_BONUS = 0.15
TYPE_BONUS = 0.1  # for a sentence stating the kind of fact the question asks for
DEFINITION_BONUS = 0.2  # per level, for the sentence defining what "what is X" asks about (_defines)
PREDICATE_BONUS = 0.2  # for a sentence stating what the question asks about its focus (its predicate)
FOCUS_PENALTY = 0.15  # for a sentence that does not name the question's focus
PASSAGE_WEIGHT = 0.7  # weight of the sentence's passage similarity (its context) in its rank
READING_TIE = 0.002  # per reading grade: decides near ties only
RELATIVE_FLOOR = 0.10  # a sentence this much weaker than the best is not added
ABSOLUTE_FLOOR = 0.30
WORD_BUDGET = 90
MAX_PAGES = 2


# Sentences that point elsewhere ("Learn more about...", "visit www...") say nothing themselves.
_NAVIGATION = re.compile(
    r"^(learn more|read more|to learn more|for more information|for additional|more information|you can (also )?(learn|find|read)|"
    r"visit|find (tips|more|out|additional)|download|order|call 1-|contact us|see (the|our|www))|www\.|https?://|\.gov\b|\.org\b",
    re.IGNORECASE,
)
# A sentence that starts by pointing back ("However, ...", "This ...", "They ...") needs the one before it.
_LEANS_BACK = re.compile(
    r"^(however|but|also|in addition|additionally|moreover|furthermore|therefore|thus|instead|still|otherwise|"
    r"for (example|instance)|as a result|because of this|in (some|these|such|those) cases|"
    r"(this|that|these|those|such|it|its|they|their|them|he|she|his|her)\b)",
    re.IGNORECASE,
)


def is_navigation(text: str) -> bool:
    return bool(_NAVIGATION.search(text)) and len(text.split()) < 40


def is_statement(text: str) -> bool:
    """Whether a unit can answer: not a question, a heading or a reference line."""
    body = text.rstrip("\"”’') ")
    if body.endswith("?"):
        return False
    if "\n" in text:  # a list with its introduction
        return True
    words = re.findall(r"[A-Za-z][A-Za-z'’-]*", text)
    if not words:
        return False
    capitals = sum(w[0].isupper() for w in words) / len(words)
    return body.endswith((".", "!", ":", ";")) or (capitals < 0.5 and len(words) >= 6)


_OPENING_WORDS = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def leans_back(text: str) -> bool:
    """Whether a sentence only makes sense after the one before ("However, ...", "This ...", "They
    ..."); not one whose "it" stands for what follows ("It can be difficult to know how ...")."""
    opening = text.lstrip("\"“‘(• ")
    if not _LEANS_BACK.match(opening):
        return False
    words = _OPENING_WORDS.findall(opening[:120].lower().replace("’", "'"))
    return not (words[:1] in (["it"], ["it's"]) and extraposed_it(words, 0))


def reading_grade(text: str) -> float:
    """Flesch-Kincaid grade, syllables counted as vowel groups: enough to break a tie."""
    words = re.findall(r"[A-Za-z]+", text)
    if not words:
        return 0.0
    syllables = sum(max(1, len(re.findall(r"[aeiouy]+", w.lower())) - (w.lower().endswith("e") and len(w) > 3)) for w in words)
    sentences = max(1, len(re.findall(r"[.!?](\s|$)", text)) + text.count("\n"))
    return 0.39 * len(words) / sentences + 11.8 * syllables / len(words) - 15.59


# --- selection -----------------------------------------------------------------------------


def _normalised(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def rank_candidates(hits: Hits) -> list[tuple[float, Sentence]]:
    """The sentences that can answer, with their relevance, best first (module doc: Candidates, Rank)."""
    reading = hits.reading
    expected = reading.asks
    terms, predicate = set(reading.terms), set(reading.predicate)
    defining = bool(_ASKS_WHAT.match(hits.question)) and bool(reading.focus.names)
    seen: set[str] = set()
    candidates: list[tuple[float, Sentence]] = []
    for sentence in sorted(hits.sentences, key=lambda s: -s.similarity):
        key = _normalised(sentence.text)
        if key in seen or (len(key.split()) < 4 and sentence.kind != LIST) or is_navigation(sentence.text) or not is_statement(sentence.text):
            continue
        seen.add(key)
        context = sentence.passage.dense if sentence.passage.dense is not None else 0.0
        relevance = sentence.closeness + TERM_BONUS * term_share(terms, in_context(sentence), hits.weights) + PASSAGE_WEIGHT * context
        if expected and supports(expected, sentence.text, hits.reading.search):
            relevance += TYPE_BONUS
        if defining:
            relevance += DEFINITION_BONUS * _defines(reading.focus.synonyms, sentence.text)
        if predicate:
            relevance += PREDICATE_BONUS * term_share(predicate, f"{sentence.passage.section} {sentence.text}", hits.weights)
        if not states_focus(reading.focus, in_context(sentence)):
            relevance -= FOCUS_PENALTY
        relevance -= READING_TIE * reading_grade(sentence.text)
        candidates.append((relevance, sentence))
    candidates.sort(key=lambda pair: -pair[0])
    return candidates


def select_sentences(
    hits: Hits, max_sentences: int, word_budget: int = WORD_BUDGET, candidates: list[tuple[float, Sentence]] | None = None
) -> list[Sentence]:
    """The few sentences that best answer, best first then in document order, without repeats (module
    doc). `candidates`: rank_candidates(hits), when the caller has them already."""
    candidates = list(candidates) if candidates is not None else rank_candidates(hits)
    expected = hits.reading.asks
    if not candidates:
        return []
    best_score = candidates[0][0]
    first_page = _page(candidates[0][1])
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
        pages = {_page(s) for _, s in chosen}
        if _page(pick[1]) not in pages and not _adds_fact(pick[1], chosen, hits, len(pages)):
            continue
        if float((vectors @ pick[1].vector).max()) > 0.92:
            continue  # says the same thing in other words
        if words + len(pick[1].text.split()) > word_budget:
            continue
        chosen.append(pick)
        words += len(pick[1].text.split())
    if expected and not any(supports(expected, s.text, hits.reading.search) for _, s in chosen):
        extra = _asked_fact(candidates, chosen, hits, best_score, first_page)
        if extra is not None:
            chosen.append(extra)
    first, rest = chosen[0][1], [s for _, s in chosen[1:]]
    rest.sort(key=lambda s: (s.passage.file, s.unit))
    return _complete_introductions(_with_antecedents([first, *rest], hits), hits, word_budget)


_ASKS_WHAT = re.compile(r"\W*(what\s+(is|are)|what's|whats|define|definition of|meaning of)\b", re.IGNORECASE)


def _defines(names: frozenset[str], text: str) -> float:
    """1 when the sentence defines one of `names` (it opens with the name, then "is", "are" or "refers
    to"), 2 when it also introduces the name's abbreviation ("Long form (ABBR) is ..."), else 0."""
    opening = " ".join(re.findall(r"[a-z0-9]+", re.sub(r"\([^)]*\)", " ", text.lower()))[:12])
    if not any(re.match(rf"(an? |the )?{re.escape(name)} (is|are|refers to|means)\b", opening) for name in names):
        return 0.0
    return 2.0 if re.match(r"[^()]{3,80}\([A-Z][A-Za-z]{1,8}\) (is|are|refers to)\b", text) else 1.0


def _page(sentence: Sentence) -> tuple[str, int]:
    return sentence.passage.file, sentence.page


def _adds_fact(sentence: Sentence, chosen: list[tuple[float, Sentence]], hits: Hits, pages: int) -> bool:
    """A sentence from another page joins only if it states the asked-for fact the chosen ones lack."""
    expected = hits.reading.asks
    if pages >= MAX_PAGES or not expected or not supports(expected, sentence.text, hits.reading.search):
        return False
    return not any(supports(expected, s.text, hits.reading.search) for _, s in chosen)


def _asked_fact(candidates, chosen, hits: Hits, best_score: float, first_page) -> tuple[float, Sentence] | None:
    """The best sentence that states the asked-for fact and names the focus when the chosen ones do not: on
    the best sentence's page if within twice the usual floor of the best ("how long do mood swings last?"
    is answered by the page's "episodes lasting from a few hours to a few days"), on another page if
    within the floor."""
    taken = {id(s) for _, s in chosen}
    for relevance, sentence in candidates:
        if relevance < best_score - 2 * RELATIVE_FLOOR:
            return None
        if id(sentence) in taken or (_page(sentence) != first_page and relevance < best_score - RELATIVE_FLOOR):
            continue
        if supports(hits.reading.asks, sentence.text, hits.reading.search) and states_focus(hits.reading.focus, in_context(sentence)):
            return relevance, sentence
    return None


def _with_antecedents(chosen: list[Sentence], hits: Hits) -> list[Sentence]:
    """A sentence that leans on the one before it comes with it (the unit before, on its page), or not at all."""
    by_unit = {(s.passage.file, s.unit): s for s in hits.sentences}
    out: list[Sentence] = []
    for sentence in chosen:
        if leans_back(sentence.text):
            previous = by_unit.get((sentence.passage.file, sentence.unit - 1))
            if previous is None or previous.page != sentence.page or not is_statement(previous.text):
                continue
            if previous not in out:
                out.append(previous)
        if sentence not in out:
            out.append(sentence)
    return out


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


READ_CANDIDATES = 4  # candidates the reader reads besides the chosen sentences


def read_beside(candidates: list[tuple[float, Sentence]], chosen: list[Sentence]) -> list[Sentence]:
    """The best candidates that selection left out, on the pages it chose (a citation's page stays
    the page that answers), within its relevance floor."""
    taken = {(s.passage.id, s.unit) for s in chosen}
    pages = {_page(s) for s in chosen}
    floor = max(candidates[0][0] - RELATIVE_FLOOR, ABSOLUTE_FLOOR) if candidates else 0.0
    return [s for score, s in candidates if score >= floor and _page(s) in pages and (s.passage.id, s.unit) not in taken][:READ_CANDIDATES]


def _with_pick(chosen: list[Sentence], pick: Sentence, hits: Hits, max_sentences: int) -> list[Sentence]:
    """The answer with the reader's pick after its first sentence (in document order with the rest),
    dropping the last of the rest when it is full."""
    first, rest = chosen[0], chosen[1:]
    if len(chosen) >= max_sentences:
        rest = rest[:-1]
    rest = sorted([*rest, pick], key=lambda s: (s.passage.file, s.unit))
    return _with_antecedents([first, *rest], hits)


def assess(hits: Hits, max_sentences: int, read: Read | None = None) -> Evidence:
    """Choose the answer sentences and score them (policy.py). `read` is the reader (reader.py):
    its highest probability that a chosen sentence answers is one of the policy's signals
    (without it, as in tests of sentence choice, the score is not the policy's)."""
    candidates = rank_candidates(hits)
    sentences = select_sentences(hits, max_sentences, candidates=candidates)
    reading = 0.0
    if read and sentences:
        # The reader reads the chosen sentences and the next best candidates, with the question as
        # searched (shorthand spelled out, abbreviations expanded). A candidate it finds likelier to
        # answer than every chosen one joins the answer after the first: the sentence that says how
        # OCD is treated, beside "Treatment helps many people".
        pool = [*sentences, *read_beside(candidates, sentences)]
        probabilities = read(hits.reading.search, [pair_text(s.passage.title, s.passage.section, s.text) for s in pool])
        best = int(np.argmax(probabilities))
        reading = float(np.max(probabilities[: len(sentences)]))
        if best >= len(sentences):
            picked = _with_pick(sentences, pool[best], hits, max_sentences)
            if any(s is pool[best] for s in picked):  # not when it leans on a sentence that cannot be quoted
                sentences, reading = picked, float(probabilities[best])
    score, signals = judge(hits, sentences, reading)
    return Evidence(sentences, score, signals, hits.reading.asks)
