"""Fine-tune the reader (mhqa/resources/reader.onnx): MiniLM as a cross-encoder, "does this sentence answer the question?"

    python bench/fit_reader.py --index DIR [--epochs 2] [--report-only]

Model: the bundled all-MiniLM-L6-v2 reading "question [SEP] reader.pair_text(title, section,
sentence)", the question as searched (focus.read_question: shorthand spelled out, abbreviations
expanded), as evidence.assess gives it, its [CLS] vector through one linear logit; binary cross-entropy, AdamW, 10% warm-up
then linear decay, batches of 16.

Questions and labels. Candidates are what the evidence stage ranks best for the question
(evidence.rank_candidates, the first CANDIDATES), as retrieval finds them in the index:
- tests/data/reader/pairs.jsonl (written blind: a question and the verbatim sentences of one
  page that answer it, or a near miss whose fact no brochure states): a candidate that matches
  an answer sentence is positive, every other candidate negative;
- tests/data/quality/fit.jsonl, questions.jsonl:calibration, dev6.jsonl and dev7.jsonl (gold pages, not
  sentences): a candidate on a gold page is positive (lenient: a gold page also holds sentences that
  do not answer), the others negative; every candidate of an unanswerable question is negative;
- tests/data/chat/dev5.jsonl and dev6.jsonl: the last turn as the chat reads it (a follow-up's
  rewrite), labelled by its gold pages the same way; a turn the corpus does not answer gives
  negatives, a fragment nothing.
Trained on the page-labelled questions alone (3 epochs, 16 candidates each), the reader
separated the questions.jsonl test half less well (AUROC 0.901 against 0.941) and refused its
unanswerable questions less often under the refitted policy (0.921 against 0.974, answering 0.956
against 0.930); on dev5.jsonl the two were alike (policy AUROC 0.898, five-fold).
Never read here: quality/tune.jsonl (the policy's threshold), quality/dev5.jsonl (the policy's weights,
bench/fit_evidence.py: they must be fitted on the reader's output for questions it never saw),
the questions.jsonl test half (the check below), and any test or holdout file.

Export and check: the model is exported to ONNX and quantised to int8 (fit_crisis.export, with
the worst probability gap to the float model on probe pairs); then the exported model, loaded as
the session loads it, reads the questions.jsonl test half: its highest probability over the
sentences evidence.py chooses (what the policy reads), answerable against unanswerable, as an
AUROC. The figures and the provenance go to reader.json.
"""

from __future__ import annotations

import argparse
import datetime
import difflib
import hashlib
import json
import re
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from fit_crisis import batches, export, learn

from mhqa import reader as reading
from mhqa.conversation import Context
from mhqa.evaluate import load_dataset
from mhqa.evidence import rank_candidates, select_sentences
from mhqa.model import describe_model, load_tokenizer
from mhqa.session import open_session
from mhqa.settings import bundled_model_path, load_settings

ROOT = Path(__file__).resolve().parent.parent
PAIRS = ROOT / "tests/data/reader/pairs.jsonl"
PAGE_LABELLED = [
    ROOT / "tests/data/quality/fit.jsonl",
    Path(f"{ROOT / 'tests/data/questions.jsonl'}:calibration"),
    ROOT / "tests/data/quality/dev6.jsonl",
    ROOT / "tests/data/quality/dev7.jsonl",
]
# Conversations whose last turn is read as `mhqa chat` reads it (a follow-up's rewrite): short,
# casual questions ("how is brexanolone given?") that the quality sets hold few of.
CHAT_LABELLED = [ROOT / "tests/data/chat/dev5.jsonl", ROOT / "tests/data/chat/dev6.jsonl"]
CHECK = Path(f"{ROOT / 'tests/data/questions.jsonl'}:test")
CANDIDATES = 10
MAX_TOKENS = 160
SEED = 20261128


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _answers(sentence: str, answer: list[str]) -> bool:
    """Whether a candidate is one of the marked answer sentences (allowing for how the index cut it)."""
    text = _words(sentence)
    return any(text in a or a in text or difflib.SequenceMatcher(None, text, a).ratio() > 0.8 for a in map(_words, answer))


def _pair(sentence) -> str:
    return reading.pair_text(sentence.passage.title, sentence.passage.section, sentence.text)


def training_rows(session, limit: int | None = None) -> tuple[list[tuple[str, str, int]], list[dict]]:
    """(question, pair text, label) for every candidate of every training question, and the files' provenance."""
    rows: list[tuple[str, str, int]] = []
    provenance = []
    pairs = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines() if line.strip()][:limit]
    for pair in pairs:
        hits = session.searcher.search(pair["question"], passages=6)
        for _, sentence in rank_candidates(hits)[:CANDIDATES]:
            positive = pair["kind"] == "answerable" and sentence.passage.file == pair["source"] and _answers(sentence.text, pair["answer"])
            rows.append((hits.reading.search, _pair(sentence), int(positive)))
    provenance.append(_source(PAIRS, None, len(pairs)))
    for spec in PAGE_LABELLED:
        path, _, split = str(spec).partition(":")
        items = load_dataset(Path(path), split or None)[:limit]
        for item in items:
            hits = session.searcher.search(item.question, passages=6)
            for _, sentence in rank_candidates(hits)[:CANDIDATES]:
                rows.append((hits.reading.search, _pair(sentence), int((sentence.passage.file, sentence.page) in item.gold)))
        provenance.append(_source(Path(path), split or None, len(items)))
    for path in CHAT_LABELLED:
        conversations = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()][:limit]
        used = 0
        for conversation in conversations:
            expect = conversation["expect"]
            if expect.get("why") == "fragment":
                continue
            question = _last_turn(session, conversation["turns"])
            gold = {(expect["source"], page) for page in expect.get("pages", [])} | {
                (alt["source"], page) for alt in expect.get("alt", []) for page in alt.get("pages", [])
            } if expect["status"] == "answered" else set()
            hits = session.searcher.search(question, passages=6)
            for _, sentence in rank_candidates(hits)[:CANDIDATES]:
                rows.append((hits.reading.search, _pair(sentence), int((sentence.passage.file, sentence.page) in gold)))
            used += 1
        provenance.append(_source(path, None, used))
    return rows, provenance


def _last_turn(session, turns: list[str]) -> str:
    """The conversation's last turn as the chat reads it (Session.read_turn): the rewrite of a follow-up, else as typed."""
    context, text = Context(), turns[-1]
    for turn in turns:
        if turn.strip().lower() == "/new":
            context = Context()
            continue
        read = session.read_turn(turn, context)[2]
        context, text = read.context, read.text
    return text


def _source(path: Path, split: str | None, rows: int) -> dict:
    name = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    return {"file": name, "split": split, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "rows": rows}


class Head(torch.nn.Module):
    def __init__(self, transformer):
        super().__init__()
        self.transformer = transformer
        self.out = torch.nn.Linear(transformer.config.hidden_size, 1)

    def forward(self, input_ids, attention_mask, token_type_ids):
        hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
        return self.out(hidden[:, 0])


class PairEncoding:
    """As reader.Reader tokenises: the base model's tokenizer, pairs cut at MAX_TOKENS."""

    def __init__(self):
        self.tokenizer = load_tokenizer(describe_model(bundled_model_path()), truncate=True)
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def __call__(self, pairs: list[tuple[str, str]]):
        encoded = self.tokenizer.encode_batch(pairs)
        ids = torch.tensor([e.ids for e in encoded])
        return ids, torch.tensor([e.attention_mask for e in encoded]), torch.tensor([e.type_ids for e in encoded])


def train(rows: list[tuple[str, str, int]], encode: PairEncoding, epochs: int, rate: float, batch: int = 16) -> Head:
    from transformers import AutoModel

    torch.manual_seed(SEED)
    model = Head(AutoModel.from_pretrained(str(bundled_model_path()))).train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=rate, weight_decay=0.01)
    steps = epochs * ((len(rows) + batch - 1) // batch)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: min(1.0, (step + 1) / (0.1 * steps)) * max(0.0, 1 - step / steps))
    rng = np.random.default_rng(SEED)
    started = time.perf_counter()
    data = [(question + " " + text, (question, text), label) for question, text, label in rows]  # batches() sorts by the first
    for epoch in range(epochs):
        for chosen in batches(data, batch, rng):
            logits = model(*encode([pair for _, pair, _ in chosen]))[:, 0]
            learn(optimiser, schedule, torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.tensor([float(label) for _, _, label in chosen])))
        print(f"epoch {epoch + 1}/{epochs} done at {time.perf_counter() - started:.0f} s", flush=True)
    return model.eval()


def auroc(scores: list[float], labels: list[bool]) -> float:
    s, y = np.array(scores), np.array(labels)
    positive, negative = s[y], s[~y]
    return float((positive[:, None] > negative[None, :]).mean() + 0.5 * (positive[:, None] == negative[None, :]).mean())


def _meta_file(folder: str) -> Path:
    """The token limit, for loading the exported model as the session does before reader.json is written."""
    path = Path(folder) / "reader.json"
    path.write_text(json.dumps({"max_tokens": MAX_TOKENS}), encoding="utf-8")
    return path


def check(session, shipped: reading.Reader, limit: int | None = None) -> dict:
    """The shipped (int8) reader's best probability over the chosen sentences of each check question:
    AUROC, answerable vs not."""
    path, _, split = str(CHECK).partition(":")
    items = load_dataset(Path(path), split)[:limit]
    best, labels = [], []
    for item in items:
        hits = session.searcher.search(item.question, passages=6)
        chosen = select_sentences(hits, session.settings.max_sentences)
        best.append(float(shipped.probabilities(hits.reading.search, [_pair(s) for s in chosen]).max()) if chosen else 0.0)
        labels.append(item.answerable)
    figures = {"file": _source(Path(path), split, len(items)), "auroc": round(auroc(best, labels), 4)}
    print(f"check ({path}:{split}, {len(items)} questions): AUROC of the best chosen-sentence probability {figures['auroc']:.3f}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=ROOT / "index")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rate", type=float, default=4e-5)
    parser.add_argument("--report-only", action="store_true", help="print the check figures, write nothing")
    parser.add_argument("--limit", type=int, help="only the first N questions of each file: a quick run of the whole script")
    parser.add_argument("--keep", type=Path, help="also save the float model's weights here (.pt), before the check and export")
    parser.add_argument("--weights", type=Path, help="check and export weights kept by --keep instead of training (same data and options)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    settings = load_settings({"index": args.index, "corpus": ROOT / "corpus"})
    encode = PairEncoding()
    with open_session(settings, read=False) as session:
        rows, provenance = training_rows(session, args.limit)
        print(f"{len(rows)} pairs ({sum(label for _, _, label in rows)} positive) from {sum(p['rows'] for p in provenance)} questions", flush=True)
        if args.weights:
            from transformers import AutoModel

            model = Head(AutoModel.from_pretrained(str(bundled_model_path())))
            model.load_state_dict(torch.load(args.weights))
            model.eval()
        else:
            model = train(rows, encode, args.epochs, args.rate)
        if args.keep:
            torch.save(model.state_dict(), args.keep)
        probes = [(question, text) for question, text, _ in rows[:: max(1, len(rows) // 64)]]
        with tempfile.TemporaryDirectory() as scratch:
            target = reading.READER_FILE if not args.report_only else Path(scratch) / "reader.onnx"
            gap = export(model, encode, target, probes)
            print(f"int8 export: worst probability gap to the float model on {len(probes)} probes: {gap:.4f}")
            shipped = reading.Reader(bundled_model_path() / "tokenizer.json", target, _meta_file(scratch))
            figures = check(session, shipped, args.limit)
    if args.report_only:
        return
    meta = {
        "max_tokens": MAX_TOKENS,
        "base_model": describe_model(bundled_model_path()).fingerprint,
        "trained_on": provenance,
        "candidates_per_question": CANDIDATES,
        "fitted_on": datetime.date.today().isoformat(),
        "epochs": args.epochs,
        "rate": args.rate,
        "int8_probability_gap": round(gap, 4),
        "check": figures,
        "script": "bench/fit_reader.py",
    }
    reading.READER_META.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {reading.READER_FILE.relative_to(ROOT)} and {reading.READER_META.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
