"""`mhqa faq --recheck OLD.jsonl`: re-ask the questions of a sheet made earlier and say which answers changed.

OLD.jsonl is a sheet written with `mhqa faq ... -o OLD.jsonl` (or `mhqa ask --json`): one
answer object per line. Each question is asked again against the current index, and
gets one verdict:
  unchanged    the same quotes from the same sources (or refused then and now);
  changed      another quote or source, or answered now where it was refused;
  now refused  answered then, refused now;
  quote gone   a sentence the old answer quoted no longer exists in its source
               (checked against every sentence of that source in the current index).
An educator reruns it after each re-index and reprints only what changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .answer import ANSWERED, Answer
from .chroma import CHUNKS
from .chunk import HEADING
from .errors import UsageError
from .faq import FaqProgress
from .session import open_session
from .retrieve import sentences_of
from .settings import Settings
from .questions import json_lines
from .store import Generation

UNCHANGED, CHANGED, NOW_REFUSED, QUOTE_GONE = "unchanged", "changed", "now refused", "quote gone"


@dataclass(frozen=True)
class OldAnswer:
    line: int  # of OLD.jsonl
    question: str
    status: str
    citations: list[dict]  # each with source, page, quote (and sha256 when the sheet has it)


@dataclass(frozen=True)
class Verdict:
    line: int
    question: str
    verdict: str
    detail: str


@dataclass
class RecheckReport:
    sheet: str
    generation: str  # the index generation the questions were asked against
    verdicts: list[Verdict]

    @property
    def changed(self) -> bool:
        return any(v.verdict != UNCHANGED for v in self.verdicts)

    def count(self, verdict: str) -> int:
        return sum(v.verdict == verdict for v in self.verdicts)


def read_sheet(path: Path) -> list[OldAnswer]:
    """The answers of a JSON Lines sheet; anything else is a usage error naming the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the sheet {path}: {exc}") from None
    answers = []
    for number, row in json_lines(text, str(path), "; --recheck reads a sheet written with -o SHEET.jsonl"):
        citations = row.get("citations") if isinstance(row, dict) else None
        if (
            not isinstance(row, dict) or not isinstance(row.get("question"), str) or row.get("status") not in ("answered", "refused")
            or not isinstance(citations, list) or not all(isinstance(c, dict) and isinstance(c.get("source"), str) and isinstance(c.get("quote"), str) for c in citations)
        ):
            raise UsageError(f"{path} line {number}: not an answer of `mhqa faq -o SHEET.jsonl` (question, status, citations)")
        answers.append(OldAnswer(number, row["question"], row["status"], citations))
    if not answers:
        raise UsageError(f"no answers in {path}")
    return answers


def recheck_sheet(settings: Settings, path: Path, progress: FaqProgress) -> RecheckReport:
    old = read_sheet(path)
    with open_session(settings, progress) as session:
        sentences = _sentences_by_source(session.generation)
        progress.start_questions(len(old))
        verdicts = []
        for answer in old:
            verdicts.append(compare(answer, session.ask(answer.question), sentences))
            progress.question_done()
        return RecheckReport(str(path), session.generation.name, verdicts)


def _sentences_by_source(generation: Generation) -> dict[str, set[str]]:
    """Every quotable sentence (unit) of the index, under its file name and under its SHA-256."""
    found: dict[str, set[str]] = {}
    for record in generation.scan(CHUNKS):
        texts = {text for _, text, _, kind in sentences_of(record.document, record.metadata) if kind != HEADING}
        for key in (record.metadata["file"], record.metadata["sha"]):
            found.setdefault(key, set()).update(texts)
    return found


def quote_still_there(quote: str, sentences: set[str]) -> bool:
    """Whether `quote` is still made of sentences of its source: a citation's quote joins one or more, by a space or a line break."""
    pending, tried = [quote], set()
    while pending:
        rest = pending.pop()
        if not rest:
            return True
        if rest in tried:
            continue
        tried.add(rest)
        for sentence in sentences:
            if rest.startswith(sentence) and rest[len(sentence) : len(sentence) + 1] in ("", " ", "\n"):
                pending.append(rest[len(sentence) + 1 :])
    return False


def _cited(citations) -> set[tuple[str, str]]:
    return {(c["source"], c["quote"]) if isinstance(c, dict) else (c.source, c.quote) for c in citations}


def _pages(citations) -> str:
    pairs = dict.fromkeys((c["source"], c["page"]) if isinstance(c, dict) else (c.source, c.page) for c in citations)
    return ", ".join(f"{source} p. {page}" for source, page in pairs) or "nothing"


def compare(old: OldAnswer, new: Answer, sentences: dict[str, set[str]]) -> Verdict:
    """The verdict on one question: quote gone, now refused, changed or unchanged (in that order)."""
    def verdict(kind: str, detail: str) -> Verdict:
        return Verdict(old.line, old.question, kind, detail)

    answered_before = old.status == ANSWERED
    if answered_before:
        gone = [c for c in old.citations if not quote_still_there(c["quote"], sentences.get(c["source"]) or sentences.get(c.get("sha256") or "", set()))]
        if gone:
            refused = "; the question is now refused" if new.status != ANSWERED else ""
            return verdict(QUOTE_GONE, f"no longer in {_pages(gone)}: “{gone[0]['quote'][:80]}”{refused}")
        if new.status != ANSWERED:
            return verdict(NOW_REFUSED, new.reason or "")
    if new.crisis:
        return verdict(CHANGED, "now signals a personal crisis: a new sheet leaves it out")
    if not answered_before:
        return verdict(UNCHANGED, "refused then and now") if new.status != ANSWERED else verdict(CHANGED, f"now answered from {_pages(new.citations)}")
    if _cited(old.citations) == _cited(new.citations):
        return verdict(UNCHANGED, f"same quotes from {_pages(new.citations)}")
    return verdict(CHANGED, f"now cites {_pages(new.citations)} (was {_pages(old.citations)})")
