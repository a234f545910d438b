"""Questions from a file: what `mhqa ask --file` and `mhqa faq` read.

Plain text (one question per line, '#' lines skipped, '## Title' starts a section), CSV
with a `question` column and an optional `section` column, or JSON Lines with the same
keys; '-' reads standard input. Every question is cleaned like PDF text.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from .clean import clean_line
from .errors import UsageError

INPUT_FORMATS = ("txt", "csv", "jsonl")
_INPUT_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@dataclass(frozen=True)
class Question:
    text: str
    section: str | None
    line: int  # line of the input it came from (for the educator's report)


def read_questions(path: Path, input_format: str | None = None) -> list[Question]:
    """Questions from a .txt, .csv or .jsonl file, or standard input for '-' (text unless input_format says otherwise)."""
    stdin = str(path) == "-"
    kind = (input_format or ("txt" if stdin else _INPUT_SUFFIXES.get(path.suffix.lower(), "txt"))).lower()
    if kind not in INPUT_FORMATS:
        raise UsageError(f"unknown input format {input_format!r}: use txt, csv or jsonl")
    name = "standard input" if stdin else str(path)
    try:
        text = sys.stdin.read() if stdin else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read questions from {name}: {exc}") from None
    text = text.removeprefix("\ufeff")  # spreadsheet programs write a byte-order mark
    questions = {"txt": _from_text, "csv": _from_csv, "jsonl": _from_jsonl}[kind](text, name)
    if not questions:
        raise UsageError(f"no questions in {name}")
    return questions


def _from_text(text: str, name: str) -> list[Question]:
    """One question per line; '#' lines and blank lines skipped; '## Title' starts a section."""
    questions, section = [], None
    for number, raw in enumerate(text.splitlines(), 1):
        line = clean_line(raw)
        if line.startswith("## "):
            section = line[3:].strip() or None
        elif line and not line.startswith("#"):
            questions.append(Question(line, section, number))
    return questions


def _from_csv(text: str, name: str) -> list[Question]:
    """A `question` column and an optional `section` column (header names in any case)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = {column.strip().lower(): column for column in reader.fieldnames or [] if column}
    if "question" not in columns:
        raise UsageError(f"{name} has no 'question' column (columns: {', '.join(columns) or 'none'})")
    questions = []
    try:
        for row in reader:
            question = clean_line(row.get(columns["question"]) or "")
            if question:
                section = clean_line(row.get(columns.get("section", ""), "") or "") or None
                questions.append(Question(question, section, reader.line_num))
    except csv.Error as exc:
        raise UsageError(f"{name} line {reader.line_num}: {exc}") from None
    return questions


def json_lines(text: str, name: str, hint: str = ""):
    """(line number, value) of each non-blank line of JSON Lines; a line that is not JSON is a usage error."""
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                raise UsageError(f"{name} line {number}: not JSON ({exc.msg}){hint}") from None


def _from_jsonl(text: str, name: str) -> list[Question]:
    """One object per line with a string `question` and an optional string `section`."""
    questions = []
    for number, row in json_lines(text, name):
        if not isinstance(row, dict) or not isinstance(row.get("question"), str):
            raise UsageError(f"{name} line {number}: expected an object with a string 'question'")
        section = row.get("section")
        if section is not None and not isinstance(section, str):
            raise UsageError(f"{name} line {number}: 'section' must be a string")
        if question := clean_line(row["question"]):
            questions.append(Question(question, clean_line(section or "") or None, number))
    return questions
