"""Fine-tune the crisis classifier (mhqa/resources/crisis-classifier.onnx) on the bank, with cross-validated figures.

    python bench/fit_crisis.py [--tune-share 0.2] [--epochs 4] [--recall 0.98] [--report-only]

Model: the bundled all-MiniLM-L6-v2, mean-pooled, with a linear head of 1 + 4 outputs:
the crisis logit, and the kind logits (self, other_person, harm_to_others, medical).
Frozen MiniLM embeddings with a logistic regression flagged about 30% of harmless
look-alikes at 98% recall on this bank (idioms, recovered pasts, mild distress):
mean-pooled topic words do not carry tense, person or idiom. Fine-tuning the whole
encoder on the bank's contrastive pairs is what separates them.

Training rows: every bank message, plus the questions of tests/data/questions.jsonl as
harmless psychoeducation questions. The frozen test set (tests/data/crisis/test.jsonl)
is never read here. A message is read as crisis.sentences(crisis.normalise(text)), the
units the detector scores; a crisis message trains as one positive (its whole text), a
harmless one as one negative per unit (none of its sentences signals a crisis).

The bank is split once (by a fixed seed, within each category) into a fit part and a tune
part (--tune-share). The model is trained on the fit part only; the threshold is chosen
on the tune part's message scores (the highest of a message's units, as at question
time): the highest threshold keeping --recall of its crisis messages. One training run,
and a threshold chosen on messages the model never saw. The model is exported to ONNX,
quantised to int8 (dynamic) and checked against the float model; the figures on the
tune part and the provenance go to crisis-classifier.json.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import hashlib
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from mhqa import crisis
from mhqa.model import describe_model, load_tokenizer
from mhqa.settings import bundled_model_path

ROOT = Path(__file__).resolve().parent.parent
KIND_HEADS = crisis.KINDS[:-1]  # "unclear" is what no head claims
MAX_TOKENS = 128


def load_rows(bank: Path) -> list[dict]:
    rows = [json.loads(line) for line in bank.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = ROOT / "tests" / "data" / "questions.jsonl"
    for line in questions.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rows.append({"text": json.loads(line)["question"], "crisis": False, "kind": None, "category": "psychoeducation", "lang": "en"})
    return rows


class Head(torch.nn.Module):
    def __init__(self, transformer):
        super().__init__()
        self.transformer = transformer
        self.out = torch.nn.Linear(transformer.config.hidden_size, 1 + len(KIND_HEADS))

    def forward(self, input_ids, attention_mask, token_type_ids):
        hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return self.out(pooled)


class Encoding:
    def __init__(self):
        self.tokenizer = load_tokenizer(describe_model(bundled_model_path()), truncate=True)
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def __call__(self, texts: list[str]):
        encoded = self.tokenizer.encode_batch(texts)
        ids = torch.tensor([e.ids for e in encoded])
        return ids, torch.tensor([e.attention_mask for e in encoded]), torch.zeros_like(ids)


def new_model() -> Head:
    from transformers import AutoModel

    torch.manual_seed(20261128)
    return Head(AutoModel.from_pretrained(str(bundled_model_path())))


def samples(rows: list[dict], units: list[list[str]], index) -> list[tuple[str, int, int]]:
    """(text, crisis, kind head or -1) for the rows in `index`."""
    out = []
    for i in index:
        row = rows[i]
        if row["crisis"]:
            out.append((units[i][-1], 1, KIND_HEADS.index(row["kind"]) if row["kind"] in KIND_HEADS else -1))
        else:
            out.extend((unit, 0, -1) for unit in units[i])
    return out


def batches(data: list, batch: int, rng) -> list[list]:
    """Shuffled batches of similar lengths (sorted within windows of 50 batches), so short texts are not padded to long ones."""
    order = list(rng.permutation(len(data)))
    window = 50 * batch
    groups = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: len(data[i][0]))
        groups += [[data[i] for i in chunk[k : k + batch]] for k in range(0, len(chunk), batch)]
    return [groups[i] for i in rng.permutation(len(groups))]


def train(data: list[tuple[str, int, int]], encode: Encoding, epochs: int, rate: float, batch: int = 16) -> Head:
    model = new_model().train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=rate, weight_decay=0.01)
    steps = epochs * ((len(data) + batch - 1) // batch)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: min(1.0, (step + 1) / (0.1 * steps)) * max(0.0, 1 - step / steps))
    positives = sum(label for _, label, _ in data)
    weight = torch.tensor((len(data) - positives) / max(1, positives))
    rng = np.random.default_rng(20261128)
    started = time.perf_counter()
    for epoch in range(epochs):
        for chosen in batches(data, batch, rng):
            logits = model(*encode([text for text, _, _ in chosen]))
            labels = torch.tensor([float(label) for _, label, _ in chosen])
            kinds = torch.tensor([kind for _, _, kind in chosen])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 0], labels, pos_weight=weight)
            if (kinds >= 0).any():
                loss = loss + 0.5 * torch.nn.functional.cross_entropy(logits[kinds >= 0, 1:], kinds[kinds >= 0])
            learn(optimiser, schedule, loss)
        print(f"epoch {epoch + 1}/{epochs} done at {time.perf_counter() - started:.0f} s", flush=True)
    return model.eval()


def learn(optimiser, schedule, loss) -> None:
    """One step: the gradient of `loss`, the optimiser's step, the learning rate's next value."""
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
    schedule.step()


@torch.no_grad()
def message_scores(model: Head, encode: Encoding, units: list[list[str]], index) -> dict[int, float]:
    scores = {}
    for i in index:
        scores[i] = float(torch.sigmoid(model(*encode(units[i]))[:, 0]).max())
    return scores


def threshold_for(scores: np.ndarray, labels: np.ndarray, recall: float) -> float:
    positives = np.sort(scores[labels == 1])
    return float(positives[int(np.floor(len(positives) * (1 - recall)))]) - 1e-6


def report(rows, labels, scores, threshold) -> dict:
    flagged = scores >= threshold
    table = collections.defaultdict(lambda: [0, 0])
    for row, flag in zip(rows, flagged):
        table[(row["crisis"], row["category"])][0] += int(flag)
        table[(row["crisis"], row["category"])][1] += 1
    figures = {"threshold": threshold, "recall": float(flagged[labels == 1].mean()), "harmless_not_flagged": float(1 - flagged[labels == 0].mean()),
               "by_category": {}}
    print(f"threshold {threshold:.3f}: recall {figures['recall']:.3f}, harmless not flagged {figures['harmless_not_flagged']:.3f}")
    for (is_crisis, category), (hit, total) in sorted(table.items()):
        name = ("crisis " if is_crisis else "harmless ") + category
        figures["by_category"][name] = round(hit / total, 3)
        print(f"  {name:32s} {'recall' if is_crisis else 'flagged'} {hit / total:.2f} ({hit}/{total})")
    return figures


def export(model: Head, encode: Encoding, target: Path, probes: list[str]) -> float:
    """ONNX export, int8 dynamic quantisation, and the worst probability gap between them."""
    import onnx
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    names = ["input_ids", "attention_mask", "token_type_ids"]
    with tempfile.TemporaryDirectory() as scratch:
        fp32 = Path(scratch) / "fp32.onnx"
        torch.onnx.export(
            model, encode(probes[:2]), str(fp32), input_names=names, output_names=["logits"],
            dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in names}, "logits": {0: "batch"}}, opset_version=17, dynamo=False,
        )
        # Per-channel int8 weights; the head (the `out` layer) stays in float: its few weights decide the
        # logit. (Matching "out" anywhere in a node's inputs also kept every "..._output_0" MatMul in float.)
        head = [node.name for node in onnx.load(str(fp32)).graph.node if node.op_type in ("Gemm", "MatMul") and any(i.startswith("out.") for i in node.input)]
        quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=head)
    session = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    ids, mask, types = encode(probes)
    quantised = session.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy(), "token_type_ids": types.numpy()})[0]
    with torch.no_grad():
        reference = model(ids, mask, types).numpy()
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    return float(np.abs(sigmoid(quantised[:, 0]) - sigmoid(reference[:, 0])).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bank", type=Path, default=ROOT / "tests" / "data" / "crisis" / "bank.jsonl")
    parser.add_argument("--tune-share", type=float, default=0.2, help="share of each category kept for choosing the threshold")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rate", type=float, default=5e-5)
    parser.add_argument("--recall", type=float, default=0.98, help="recall on the tune part that the threshold keeps")
    parser.add_argument("--report-only", action="store_true", help="print the tune part's figures, write nothing")
    parser.add_argument("--dump", type=Path, help="also write the tune part's scores here (JSON) and the float weights beside it (.pt)")
    args = parser.parse_args()
    torch.set_num_threads(2)

    rows = load_rows(args.bank)
    labels = np.array([row["crisis"] for row in rows], dtype=int)
    units = [crisis.sentences(crisis.normalise(row["text"])) for row in rows]
    encode = Encoding()
    rng = np.random.default_rng(20261128)
    by_category = collections.defaultdict(list)
    for i, row in enumerate(rows):
        by_category[(row["crisis"], row["category"])].append(i)
    tune = sorted(i for members in by_category.values() for i in rng.permutation(members)[: round(len(members) * args.tune_share)])
    fit_part = sorted(set(range(len(rows))) - set(tune))
    model = train(samples(rows, units, fit_part), encode, args.epochs, args.rate)
    scored = message_scores(model, encode, units, tune)
    tune_rows = [rows[i] for i in tune]
    tune_labels, tune_scores = labels[tune], np.array([scored[i] for i in tune])
    threshold = threshold_for(tune_scores, tune_labels, args.recall)
    if args.dump:
        torch.save(model.state_dict(), args.dump.with_suffix(".pt"))
        args.dump.write_text(json.dumps([{**row, "score": float(score)} for row, score in zip(tune_rows, tune_scores)]))
    print(f"trained on {len(fit_part)} messages; tune part {len(tune)} messages ({tune_labels.sum()} crisis):")
    figures = report(tune_rows, tune_labels, tune_scores, threshold)
    if args.report_only:
        return
    probes = [unit for message in units[:: max(1, len(units) // 64)] for unit in message]
    gap = export(model, encode, crisis.CLASSIFIER_FILE, probes)
    print(f"int8 export: worst probability gap to the float model on {len(probes)} probes: {gap:.4f}")
    meta = {
        "threshold": round(threshold, 4),
        "kinds": list(KIND_HEADS),
        "max_tokens": MAX_TOKENS,
        "base_model": describe_model(bundled_model_path()).fingerprint,
        "bank_sha256": hashlib.sha256(args.bank.read_bytes()).hexdigest(),
        "fitted_on": datetime.date.today().isoformat(),
        "epochs": args.epochs,
        "rate": args.rate,
        "recall_target": args.recall,
        "int8_probability_gap": round(gap, 4),
        "tune_part": figures,
    }
    crisis.CLASSIFIER_META.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {crisis.CLASSIFIER_FILE.relative_to(ROOT)} and {crisis.CLASSIFIER_META.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
