"""`mhqa eval`: measure retrieval, citations and refusals on a labelled set, and calibrate the threshold.

Dataset: JSON Lines with `question`; answerable rows give `source` (file name) and
`pages` (1-based), optionally `alt` (other acceptable {source, pages}); unanswerable
rows give `source: null` and a `kind`. An optional `split` selects rows.
A row may carry `crisis: true|false` (and, for crisis rows, the expected `crisis_kind`):
eval then reports crisis recall, the false-alarm rate and recall per kind. A row with
`crisis` and no `source` key is a crisis row only (its text in `question` or `text`,
its kind in `kind`, as in tests/data/crisis/), not counted in the answer metrics.

Ranked list for recall and MRR: the answer's citations, then the other retrieved
passages in fused rank order (each at the page of its best sentence).
Calibration rule: the lowest threshold that refuses every unanswerable row
(every row with evidence below it is refused): the highest answer rate at
which no unanswerable calibration question is answered.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from .answer import Answer
from .errors import UsageError
from .policy import fitted

REQUIRED_REFUSAL = 1.0


@dataclass(frozen=True)
class Labelled:
    question: str
    source: str | None
    gold: frozenset[tuple[str, int]]  # acceptable (file, page) pairs
    kind: str
    split: str | None
    id: str
    crisis: bool | None = None  # labelled crisis (True), labelled harmless (False), or not labelled
    crisis_kind: str | None = None
    category: str | None = None
    scored: bool = True  # counts in the answer metrics (not a crisis-only row)

    @property
    def answerable(self) -> bool:
        return self.source is not None

    @property
    def gold_documents(self) -> frozenset[str]:
        return frozenset(source for source, _ in self.gold)


def load_dataset(path: Path, split: str | None = None) -> list[Labelled]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the dataset {path}: {exc}") from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            crisis_only = "crisis" in row and "source" not in row
            gold = {(row["source"], int(page)) for page in row.get("pages", [])} if row.get("source") else set()
            for other in row.get("alt") or []:
                gold |= {(other["source"], int(page)) for page in other["pages"]}
            item = Labelled(
                question=row["text"] if crisis_only and "question" not in row else row["question"],
                source=row.get("source"),
                gold=frozenset(gold),
                kind="crisis_row" if crisis_only else row.get("kind") or ("answerable" if row.get("source") else "unanswerable"),
                split=row.get("split"),
                id=str(row.get("id", number)),
                crisis=None if row.get("crisis") is None else bool(row["crisis"]),
                crisis_kind=row.get("kind") if crisis_only else row.get("crisis_kind"),
                category=row.get("category"),
                scored=not crisis_only,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"{path}:{number}: not a dataset row ({exc})") from None
        if split in (None, "all") or item.split == split:
            rows.append(item)
    if not rows:
        raise UsageError(f"no rows in {path}" + (f" for split {split!r}" if split else ""))
    return rows


@dataclass
class Outcome:
    item: Labelled
    answer: Answer

    @property
    def ranked(self) -> list[tuple[str, int]]:
        return self.answer.ranked


@dataclass
class EvalReport:
    rows: int
    answerable: int
    unanswerable: int
    threshold: float
    metrics: dict[str, float]
    refused_by_kind: dict[str, float]
    counts_by_kind: dict[str, int]
    failures: list[dict] = field(default_factory=list)
    calibrated: float | None = None
    crisis: dict | None = None  # crisis_metrics, when rows carry `crisis`

    def to_json(self) -> dict:
        return {
            "rows": self.rows,
            "answerable": self.answerable,
            "unanswerable": self.unanswerable,
            "threshold": round(self.threshold, 4),
            "metrics": {k: round(v, 4) for k, v in self.metrics.items()},
            "refused_by_kind": {k: round(v, 4) for k, v in self.refused_by_kind.items()},
            "counts_by_kind": self.counts_by_kind,
            "calibrated_threshold": None if self.calibrated is None else round(self.calibrated, 4),
            "crisis": self.crisis,
            "failures": self.failures,
        }


def run_questions(session, items: list[Labelled], progress=None) -> list[Outcome]:
    """Ask every question with no threshold, so `score` can apply any threshold afterwards."""
    outcomes = []
    for item in items:
        outcomes.append(Outcome(item, session.ask(item.question, min_evidence=0.0)))
        if progress:
            progress()
    return outcomes


def _share(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else float("nan")


def auroc(positives: list[float], negatives: list[float]) -> float:
    """Probability that an answerable question scores above an unanswerable one (ties count half)."""
    if not positives or not negatives:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def crisis_metrics(outcomes: list[Outcome]) -> dict | None:
    """Recall and false alarms of the crisis check on the rows labelled `crisis`, with recall per kind and category."""
    labelled = [o for o in outcomes if o.item.crisis is not None]
    if not labelled:
        return None
    crises = [o for o in labelled if o.item.crisis]
    harmless = [o for o in labelled if not o.item.crisis]

    def by(key, rows):
        groups: dict[str, list[bool]] = {}
        for o in rows:
            groups.setdefault(str(key(o.item)), []).append(o.answer.crisis)
        return {name: {"rows": len(flags), "flagged": round(_share(flags), 4)} for name, flags in sorted(groups.items())}

    return {
        "crisis_rows": len(crises),
        "harmless_rows": len(harmless),
        "recall": round(_share([o.answer.crisis for o in crises]), 4) if crises else None,
        "false_alarm_rate": round(_share([o.answer.crisis for o in harmless]), 4) if harmless else None,
        "kind_agreement": round(_share([o.answer.crisis_kind == o.item.crisis_kind for o in crises if o.answer.crisis and o.item.crisis_kind]), 4)
        if any(o.item.crisis_kind for o in crises) else None,
        "recall_by_kind": by(lambda item: item.crisis_kind, crises),
        "recall_by_category": by(lambda item: item.category, [o for o in crises if o.item.category]),
        "flagged_by_category": by(lambda item: item.category, [o for o in harmless if o.item.category]),
        "missed": [{"id": o.item.id, "question": o.item.question} for o in crises if not o.answer.crisis],
        "false_alarms": [{"id": o.item.id, "question": o.item.question} for o in harmless if o.answer.crisis],
    }


def score(outcomes: list[Outcome], threshold: float) -> EvalReport:
    """Metrics of `outcomes` as if refusing below `threshold` (so a calibrated threshold can be re-applied)."""
    crisis = crisis_metrics(outcomes)
    outcomes = [o for o in outcomes if o.item.scored]
    answerable = [o for o in outcomes if o.item.answerable]
    unanswerable = [o for o in outcomes if not o.item.answerable]
    answered = lambda o: o.answer.status == "answered" and o.answer.evidence >= threshold  # noqa: E731
    doc_at = lambda o, k: any(source in o.item.gold_documents for source, _ in o.ranked[:k])  # noqa: E731
    page_at = lambda o, k: any(pair in o.item.gold for pair in o.ranked[:k])  # noqa: E731

    def reciprocal_rank(o: Outcome) -> float:
        for rank, (source, _) in enumerate(o.ranked, 1):
            if source in o.item.gold_documents:
                return 1.0 / rank
        return 0.0

    cited = [(c.source, c.page) in o.item.gold for o in answerable if answered(o) for c in o.answer.citations]
    metrics = {
        "doc_recall@1": _share([doc_at(o, 1) for o in answerable]),
        "doc_recall@5": _share([doc_at(o, 5) for o in answerable]),
        "page_recall@5": _share([page_at(o, 5) for o in answerable]),
        "first_citation_on_gold_page": _share([page_at(o, 1) for o in answerable]),
        "any_citation_on_gold_page": _share([answered(o) and any((c.source, c.page) in o.item.gold for c in o.answer.citations) for o in answerable]),
        "mrr": sum(reciprocal_rank(o) for o in answerable) / len(answerable) if answerable else float("nan"),
        "answered_answerable": _share([answered(o) for o in answerable]),
        "refused_unanswerable": _share([not answered(o) for o in unanswerable]),
        "citation_precision": _share(cited),
        "evidence_auroc": auroc([o.answer.evidence for o in answerable], [o.answer.evidence for o in unanswerable]),
    }
    kinds = sorted({o.item.kind for o in unanswerable})
    refused_by_kind = {kind: _share([not answered(o) for o in unanswerable if o.item.kind == kind]) for kind in kinds}
    failures = [
        {"id": o.item.id, "kind": o.item.kind, "question": o.item.question, "evidence": round(o.answer.evidence, 4),
         "got": o.ranked[0] if o.ranked else None, "answered": answered(o)}
        for o in outcomes
        if (o.item.answerable and (not answered(o) or not page_at(o, 1))) or (not o.item.answerable and answered(o))
    ]
    counts = {kind: sum(o.item.kind == kind for o in outcomes) for kind in sorted({o.item.kind for o in outcomes})}
    return EvalReport(len(outcomes), len(answerable), len(unanswerable), threshold, metrics, refused_by_kind, counts, failures, crisis=crisis)


def choose_threshold(unanswerable_scores: list[float], required_refusal: float = REQUIRED_REFUSAL) -> float:
    """The lowest threshold refusing at least `required_refusal` of the unanswerable rows (module doc)."""
    scores = sorted(unanswerable_scores)
    if not scores:
        raise UsageError("calibration needs unanswerable rows (source: null)")
    allowed = math.floor(len(scores) * (1 - required_refusal))  # how many may slip through
    cut = scores[len(scores) - allowed - 1]  # every score up to this one must be refused
    above = [s for s in scores if s > cut]
    threshold = (cut + above[0]) / 2 if above else cut + 1e-4
    return min(1.0, max(threshold, cut + 1e-4))


def calibrate_and_score(settings, dataset: Path, split: str | None, calibrate: bool, progress=None) -> EvalReport:
    """Run the labelled questions; with `calibrate`, choose the threshold and write it to the config file."""
    from .session import open_session
    from .settings import check_writable, write_setting

    items = load_dataset(dataset, split)
    config = settings.config_file or Path("mhqa.toml")
    if calibrate:  # found out now, not after every question was asked
        check_writable(config, "the calibrated threshold to the config file")
    with open_session(settings, progress) as session:
        outcomes = run_questions(session, items)
    threshold = fitted().threshold if settings.min_evidence is None else settings.min_evidence
    calibrated = None
    if calibrate:
        calibrated = threshold = choose_threshold([o.answer.evidence for o in outcomes if o.item.scored and not o.item.answerable])
        write_setting(config, "min_evidence", round(calibrated, 4))
    report = score(outcomes, threshold)
    report.calibrated = calibrated
    return report
