"""Stage 8, evidence -> answer: an extractive, cited answer, or a refusal that says why.

Every sentence of an answer is quoted verbatim from a passage and followed by the
marker of its citation (one citation per document page). Nothing else is added.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .crisis import CrisisCheck
from .policy import CRISIS_STATEMENT, Evidence, answers, crisis_statement, refusal_reason
from .retrieve import Hits, Passage, Sentence

REFUSAL = "The vetted sources do not answer this question."
# A question that leans on an earlier one, with none to lean on (conversation.py): in `ask` and `chat` alike.
FRAGMENT_PROMPT = "Which condition or treatment do you mean?"
FRAGMENT_REASON = "the question does not say which condition, drug or therapy it is about, and no earlier question does"
NOTICE = "Educational information from the listed sources, not a diagnosis or a substitute for professional care."
ANSWERED, REFUSED = "answered", "refused"


@dataclass
class Citation:
    id: int
    source: str  # the PDF's file name
    title: str
    page: int  # 1-based physical page
    quote: str  # the cited text, verbatim
    score: float  # cosine similarity of the cited text to the question
    context: str = ""  # the passage around the quote on that page (terminal only)
    # What the register (or else the PDF) states about the source, and the SHA-256 of the quoted bytes.
    publisher: str | None = None
    year: int | None = None
    url: str | None = None
    sha256: str | None = None
    review_overdue: bool = False  # the source is past its review-by date


@dataclass
class Answer:
    question: str
    status: str
    answer: str | None
    reason: str | None
    evidence: float
    threshold: float
    crisis: bool
    citations: list[Citation]
    crisis_kind: str | None = None  # crisis.KINDS, when `crisis`
    language: str = "en"  # the language most of the question is in (crisis.detect_language)
    resources: tuple[str, ...] = ()  # the crisis lines shown first, when `crisis` (settings' region)
    signals: dict[str, float] = field(default_factory=dict)
    ranked: list[tuple[str, int]] = field(default_factory=list)  # citations, then other passages (for eval)
    sentences: list[tuple[str, int]] = field(default_factory=list)  # (quoted sentence, citation id): `answer` is joined from these
    generation: str | None = None  # the index generation that answered
    read_as: str | None = None  # the question as rewritten from the conversation, when it was (chat)

    @property
    def fragment(self) -> bool:
        return self.status == REFUSED and self.reason == FRAGMENT_REASON

    def to_json(self) -> dict:
        """The `--json` object: exactly these keys, in this order."""
        return {
            "question": self.question,
            "status": self.status,
            "answer": self.answer,
            "reason": self.reason,
            "evidence": round(self.evidence, 4),
            "threshold": round(self.threshold, 4),
            "crisis": self.crisis,
            "crisis_kind": self.crisis_kind,
            "language": self.language,
            "citations": [
                {"id": c.id, "source": c.source, "title": c.title, "page": c.page, "quote": c.quote, "score": round(c.score, 4),
                 "publisher": c.publisher, "year": c.year, "url": c.url, "sha256": c.sha256, "review_overdue": c.review_overdue}
                for c in self.citations
            ],
            "generation": self.generation,
        }


def _context(passage: Passage, page: int, quoted: list[Sentence]) -> str:
    """The quoted sentences with one sentence either side on the same page: what a reader checks them against."""
    units = [span[0] for span in passage.spans]
    positions = [units.index(s.unit) for s in quoted if s.unit in units]
    if not positions:
        return " ".join(s.text for s in quoted)
    first, last = max(0, min(positions) - 1), min(len(units) - 1, max(positions) + 1)
    spans = [span for span in passage.spans[first : last + 1] if span[3] == page] or passage.spans[min(positions) : max(positions) + 1]
    return passage.text[spans[0][1] : spans[-1][2]]


def compose(
    question: str, evidence: Evidence, hits: Hits, threshold: float, crisis: CrisisCheck,
    resources: tuple[str, ...] = (), max_citations: int = 5,
) -> Answer:
    """The answer for `question` if the evidence reaches `threshold`, else the refusal.

    At most `max_citations` sources: a sentence that would need another is left out.
    `resources` are the crisis lines, kept on the answer when `crisis` says so.
    """
    answer = _with_crisis(_compose(question, evidence, hits, threshold, crisis, max_citations), crisis, resources)
    answer.ranked = list(dict.fromkeys([(c.source, c.page) for c in answer.citations] + _passage_pages(hits)))
    return answer


def fragment_refusal(question: str, threshold: float, crisis: CrisisCheck, resources: tuple[str, ...] = ()) -> Answer:
    """The refusal of a question that leans on an earlier one when there is none: nothing is looked up.
    A message about the writer's own danger is not asked what it means (policy.crisis_statement)."""
    reason = CRISIS_STATEMENT if crisis_statement(crisis.kind, question) else FRAGMENT_REASON
    return _with_crisis(Answer(question, REFUSED, None, reason, 0.0, threshold, crisis.crisis, []), crisis, resources)


def _with_crisis(answer: Answer, crisis: CrisisCheck, resources: tuple[str, ...]) -> Answer:
    answer.crisis_kind, answer.language = crisis.kind, crisis.language
    answer.resources = resources if crisis.crisis else ()
    return answer


def _best_sentences(hits: Hits) -> dict[str, Sentence]:
    """The sentence most similar to the question, per passage id."""
    best: dict[str, Sentence] = {}
    for sentence in hits.sentences:
        if sentence.passage.id not in best or sentence.closeness > best[sentence.passage.id].closeness:
            best[sentence.passage.id] = sentence
    return best


def _passage_pages(hits: Hits) -> list[tuple[str, int]]:
    """Each retrieved passage, in rank order, at the page of its best sentence."""
    best = _best_sentences(hits)
    return [(p.file, best[p.id].page if p.id in best else p.page) for p in hits.passages]


def _compose(question: str, evidence: Evidence, hits: Hits, threshold: float, crisis: CrisisCheck, max_citations: int) -> Answer:
    if answers(evidence, threshold, crisis.kind, question):
        citations: dict[tuple[str, int], Citation] = {}
        quoted: dict[tuple[str, int], list[Sentence]] = {}
        sentences: list[tuple[str, int]] = []
        for sentence in evidence.sentences:
            key = (sentence.passage.file, sentence.page)
            if key not in citations and len(citations) == max_citations:
                continue
            if key not in citations:
                citations[key] = Citation(len(citations) + 1, key[0], sentence.passage.title, key[1], "", sentence.closeness)
                quoted[key] = []
            quoted[key].append(sentence)
            citations[key].score = max(citations[key].score, sentence.closeness)
            sentences.append((sentence.text, citations[key].id))
        for key, citation in citations.items():
            citation.quote = _join(s.text for s in quoted[key])
            citation.context = _context(quoted[key][0].passage, citation.page, quoted[key])
        text = _join(f"{quoted_text} [{n}]" for quoted_text, n in sentences)
        return Answer(question, ANSWERED, text, None, evidence.score, threshold, crisis.crisis, list(citations.values()), signals=evidence.signals, sentences=sentences)
    return Answer(
        question, REFUSED, None, refusal_reason(evidence, hits, threshold, crisis.kind), evidence.score, threshold, crisis.crisis,
        closest(hits, min(3, max_citations)), signals=evidence.signals,
    )


def _join(parts) -> str:
    """Sentences run on; a list (a unit with line breaks) stands on lines of its own."""
    text, previous = "", ""
    for part in parts:
        if text:
            text += "\n" if "\n" in part or "\n" in previous else " "
        text += part
        previous = part
    return text


def closest(hits: Hits, count: int = 3) -> list[Citation]:
    """The best sentence of each of the nearest passages, shown as insufficient evidence."""
    ranked = sorted(_best_sentences(hits).values(), key=lambda s: -s.closeness)[:count]
    return [
        Citation(n, s.passage.file, s.passage.title, s.page, s.text, s.closeness, _context(s.passage, s.page, [s]))
        for n, s in enumerate(ranked, 1)
    ]
