"""The register of vetted sources (issue 13), through the real CLI on real PDFs and a real Chroma store:
`mhqa sources add` and `sources check`, `vetted_only` when indexing, the register's facts and the
provenance in every citation, "(review overdue)", and `mhqa faq --recheck`.

One small vetted index (three shipped PDFs and their entries of the shipped register) is built
once for the module; each test that changes it works on its own copy.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tomllib
from pathlib import Path

import pytest
import tomlkit

from conftest import CORPUS
from index_checks import MODEL_MODULES, SMALL, copy_small_corpus, first_pages, imported_modules, read_manifest

PANIC, WARNING, DMDD = SMALL
Q_PANIC_P3 = "Are beta blockers used for panic disorder?"  # nimh-panic-disorder.pdf page 3
Q_DMDD = "When was DMDD added to the DSM?"  # nimh-dmdd.pdf page 1
Q_WARNING = "What are warning signs that someone may be suicidal?"
Q_DEPRESSION = "What is esketamine used for?"  # only nimh-depression.pdf, not in the small corpus, says
Q_BREAD = "How do I make sourdough bread?"
CITATION_KEYS = ["id", "source", "title", "page", "quote", "score", "publisher", "year", "url", "sha256", "review_overdue"]
WIDE = {"COLUMNS": "250"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def shipped_entries() -> dict[str, dict]:
    return {entry["file"]: entry for entry in tomllib.loads((CORPUS / "sources.toml").read_text(encoding="utf-8"))["source"]}


def write_register(corpus: Path, entries: list[dict]) -> Path:
    document = tomlkit.document()
    tables = tomlkit.aot()
    for entry in entries:
        tables.append(tomlkit.item(entry))
    document.add("source", tables)
    path = corpus / "sources.toml"
    path.write_text(tomlkit.dumps(document), encoding="utf-8")
    return path


def edit_register(corpus: Path, file: str, **changes) -> None:
    """What a maintainer does by hand: change keys of one entry, keeping the rest of the file as it is."""
    path = corpus / "sources.toml"
    document = tomlkit.parse(path.read_text(encoding="utf-8"))
    entry = next(e for e in document["source"] if e["file"] == file)
    for key, value in changes.items():
        entry[key] = value
    path.write_text(tomlkit.dumps(document), encoding="utf-8")


def where(corpus: Path, index: Path) -> tuple:
    return ("--corpus", corpus, "--index", index)


def rows(stdout: str, name: str) -> list[str]:
    return [line for line in stdout.splitlines() if name in (cell.strip() for cell in line.split("│"))]


@pytest.fixture(scope="module")
def vetted(tmp_path_factory, mhqa) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("vetted")
    corpus = copy_small_corpus(base / "corpus")
    entries = shipped_entries()
    write_register(corpus, [entries[name] for name in SMALL])
    index = base / "index"
    run = mhqa("index", *where(corpus, index))
    assert run.code == 0, run.stdout + run.stderr
    return corpus, index


@pytest.fixture
def workspace(vetted, tmp_path) -> tuple[Path, Path]:
    corpus, index = vetted
    return Path(shutil.copytree(corpus, tmp_path / "corpus")), Path(shutil.copytree(index, tmp_path / "index"))


# --- the shipped register --------------------------------------------------------------------


def test_the_shipped_register_vets_the_shipped_corpus(mhqa):
    run = mhqa("sources", "check", "--corpus", CORPUS, "--json")
    assert run.code == 0, run.stdout + run.stderr
    (report,) = run.json_lines()
    assert report["ok"] is True and report["findings"] == [] and report["entries"] == report["files"] == 22
    for name, entry in shipped_entries().items():
        assert entry["publisher"] == "National Institute of Mental Health" and entry["reviewed_by"]
        assert entry["review_by"] > entry["reviewed_on"], name


# --- sources add ---------------------------------------------------------------------------------


def test_sources_add_drafts_an_entry_from_the_pdf_and_a_draft_vets_nothing(mhqa, tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    shutil.copy(CORPUS / DMDD, corpus / DMDD)
    run = mhqa("sources", "add", corpus / DMDD, "--corpus", corpus, env=WIDE)
    assert run.code == 0, run.stderr
    assert " added " in rows(run.stdout, DMDD)[0] and "reviewed_by" in rows(run.stdout, DMDD)[0]
    text = (corpus / "sources.toml").read_text(encoding="utf-8")
    (entry,) = tomllib.loads(text)["source"]
    # what the PDF states is filled in; the review is left to a person
    assert entry["file"] == DMDD and entry["sha256"] == sha256(corpus / DMDD)
    assert entry["title"] == "Disruptive Mood Dysregulation Disorder: The Basics"
    assert (entry["publisher"], entry["publication_no"], entry["year"]) == ("National Institute of Mental Health", "NIH Publication No. 23-MH-8119", 2023)
    assert entry["licence"] == "Public domain"
    assert entry["reviewed_by"] == entry["reviewed_on"] == entry["review_by"] == entry["url"] == ""
    assert re.search(r'^reviewed_by = "" # TO COMPLETE$', text, re.MULTILINE)
    assert re.search(r'^title = ".*" # as the PDF states it: check$', text, re.MULTILINE)
    # a draft vets nothing: the file is reported and skipped, with exit code 3
    indexed = mhqa("index", *where(corpus, index), env=WIDE)
    assert indexed.code == 3 and "mhqa: no PDF in the corpus could be indexed" in indexed.stderr
    assert f"{DMDD}: not vetted: its entry in sources.toml is a draft (to complete: reviewed_by, reviewed_on, review_by)" in indexed.stderr
    check = mhqa("sources", "check", "--corpus", corpus, "--json")
    assert check.code == 1 and [(f["file"], f["problem"]) for f in check.json_lines()[0]["findings"]] == [(DMDD, "draft")]
    # the maintainer completes it by hand, with a comment of their own; then it is indexed
    text = text.replace('reviewed_by = "" # TO COMPLETE', 'reviewed_by = "Dr. Example" # read in full on 2026-11-20')
    text = re.sub(r'reviewed_on = "".*', "reviewed_on = 2026-11-20", text)
    text = re.sub(r'review_by = "".*', "review_by = 2027-11-20", text)
    (corpus / "sources.toml").write_text(text, encoding="utf-8")
    assert mhqa("sources", "check", "--corpus", corpus).code == 0
    assert mhqa("index", *where(corpus, index)).code == 0
    # adding it again changes nothing; adding another file keeps the maintainer's comments
    again = mhqa("sources", "add", corpus / DMDD, "--corpus", corpus, env=WIDE)
    assert again.code == 0 and " already registered " in rows(again.stdout, DMDD)[0]
    assert (corpus / "sources.toml").read_text(encoding="utf-8") == text
    shutil.copy(CORPUS / PANIC, corpus / PANIC)
    assert mhqa("sources", "add", corpus / PANIC, "--corpus", corpus).code == 0
    after = (corpus / "sources.toml").read_text(encoding="utf-8")
    assert after.startswith(text) and "# read in full on 2026-11-20" in after
    panic = tomllib.loads(after)["source"][1]
    assert panic["url"] == "https://www.nimh.nih.gov/health/publications/panic-disorder-when-fear-overwhelms"  # printed by the browser
    assert panic["publication_no"] == "" and panic["year"] == 2025


def test_sources_add_redrafts_a_changed_file_for_a_new_review(workspace, mhqa):
    corpus, _ = workspace
    edit_register(corpus, PANIC, title="Panic Disorder (as the maintainer titled it)")
    first_pages(CORPUS / PANIC, corpus / PANIC, 2)  # a new edition
    run = mhqa("sources", "add", corpus / PANIC, "--corpus", corpus, env=WIDE)
    assert run.code == 0 and " redrafted " in rows(run.stdout, PANIC)[0]
    entry = next(e for e in tomllib.loads((corpus / "sources.toml").read_text())["source"] if e["file"] == PANIC)
    assert entry["sha256"] == sha256(corpus / PANIC)
    assert entry["reviewed_by"] == entry["reviewed_on"] == entry["review_by"] == ""  # reviewed again before it is cited
    assert entry["publisher"] == "National Institute of Mental Health" and entry["licence"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["sources", "add", "{elsewhere}"], "is not in the corpus folder"),
        (["sources", "add", "{corpus}/missing.pdf"], "no such file"),
        (["sources", "add", "{corpus}/sources.toml"], "is not a PDF"),
        (["sources", "add"], "Missing argument"),
    ],
)
def test_sources_add_usage_errors(workspace, mhqa, tmp_path, args, message):
    corpus, _ = workspace
    elsewhere = tmp_path / "elsewhere.pdf"
    shutil.copy(CORPUS / DMDD, elsewhere)
    run = mhqa(*[a.format(corpus=corpus, elsewhere=elsewhere) for a in args], "--corpus", corpus)
    assert run.code == 2 and message in run.stderr and "Traceback" not in run.stderr


# --- sources check and vetted_only -----------------------------------------------------------------


def test_sources_check_names_every_problem(workspace, mhqa):
    corpus, _ = workspace
    first_pages(CORPUS / PANIC, corpus / PANIC, 2)  # changed since it was vetted
    (corpus / WARNING).unlink()  # registered, gone
    shutil.copy(CORPUS / "nimh-ocd.pdf", corpus / "nimh-ocd.pdf")  # not registered
    edit_register(corpus, DMDD, review_by=tomlkit.date("2020-01-01"))  # review overdue
    run = mhqa("sources", "check", "--corpus", corpus, "--json")
    assert run.code == 1, run.stderr
    (report,) = run.json_lines()
    assert report["ok"] is False and report["entries"] == 3 and report["files"] == 3
    found = {(f["file"], f["problem"]) for f in report["findings"]}
    assert found == {(PANIC, "changed"), (WARNING, "missing"), ("nimh-ocd.pdf", "unregistered"), (DMDD, "review overdue")}
    changed = next(f for f in report["findings"] if f["problem"] == "changed")
    assert sha256(corpus / PANIC) in changed["detail"]
    shown = mhqa("sources", "check", "--corpus", corpus, env=WIDE)
    assert shown.code == 1 and "4 problem(s)" in shown.stdout and "2020-01-01" in shown.stdout


def test_sources_check_without_a_register_or_with_a_broken_one(mhqa, tmp_path, small_corpus):
    run = mhqa("sources", "check", "--corpus", small_corpus)
    assert run.code == 3 and "has no register sources.toml" in run.stderr
    (small_corpus / "sources.toml").write_text('[[source]]\nfile = "x.pdf"\nsha256 = "abc"\n', encoding="utf-8")
    run = mhqa("sources", "check", "--corpus", small_corpus)
    assert run.code == 3 and "sha256 must be 64 hexadecimal digits" in run.stderr and "Traceback" not in run.stderr
    (small_corpus / "sources.toml").write_text('[[source]]\nfile = "x.pdf"\nreviewd_by = "typo"\n', encoding="utf-8")
    run = mhqa("sources", "check", "--corpus", small_corpus)
    assert run.code == 3 and "unknown key(s) reviewd_by" in run.stderr


def test_index_indexes_only_vetted_files_and_names_the_others(workspace, mhqa):
    corpus, index = workspace
    shutil.copy(CORPUS / "nimh-ocd.pdf", corpus / "nimh-ocd.pdf")  # not in the register
    first_pages(CORPUS / PANIC, corpus / PANIC, 2)  # its bytes are not the vetted ones
    status = mhqa("status", *where(corpus, index), "--json")
    assert status.code == 1
    run = mhqa("index", *where(corpus, index), env=WIDE)
    assert run.code == 3, run.stdout + run.stderr
    assert " failed " in rows(run.stdout, "nimh-ocd.pdf")[0] and "not in the register sources.toml" in rows(run.stdout, "nimh-ocd.pdf")[0]
    panic = " ".join(" ".join(rows(run.stdout, PANIC)).split())
    assert " failed " in panic and "the file changed since it was vetted" in panic and "previous version is dropped" in panic
    assert " unchanged " in rows(run.stdout, DMDD)[0] and " unchanged " in rows(run.stdout, WARNING)[0]
    manifest = read_manifest(index)
    assert {name for doc in manifest["documents"].values() for name in doc["names"]} == {DMDD, WARNING}
    assert {f["name"] for f in manifest["failed"].values()} == {PANIC, "nimh-ocd.pdf"}
    # no answer cites what is not vetted
    [answer] = mhqa("ask", Q_PANIC_P3, *where(corpus, index), "--json").json_lines()
    assert PANIC not in {c["source"] for c in answer["citations"]}
    status = mhqa("status", *where(corpus, index), "--json")
    assert status.code == 1 and {f["file"] for f in status.json_lines()[0]["failed"]} == {PANIC, "nimh-ocd.pdf"}
    # vetted_only off: everything is indexed again
    everything = mhqa("index", *where(corpus, index), env={"MHQA_VETTED_ONLY": "false"})
    assert everything.code == 0, everything.stderr
    assert len(read_manifest(index)["documents"]) == 4


def test_vetted_only_on_without_a_register_and_bad_values(mhqa, small_corpus, tmp_path):
    run = mhqa("index", *where(small_corpus, tmp_path / "index"), env={"MHQA_VETTED_ONLY": "true"})
    assert run.code == 3 and "vetted_only is on, but" in run.stderr and not (tmp_path / "index" / "CURRENT").exists()
    run = mhqa("index", *where(small_corpus, tmp_path / "index"), env={"MHQA_VETTED_ONLY": "maybe"})
    assert run.code == 2 and "setting 'vetted_only' has a bad value" in run.stderr
    config = tmp_path / "mhqa.toml"
    config.write_text("vetted_only = true\n")
    run = mhqa("index", *where(small_corpus, tmp_path / "index"), "--config", config)
    assert run.code == 3 and "vetted_only is on" in run.stderr


# --- what citations say --------------------------------------------------------------------------


def test_citations_take_the_register_facts_and_carry_provenance(workspace, mhqa):
    corpus, index = workspace
    edit_register(corpus, DMDD, title="DMDD: The Basics (register title)", url="https://example.org/dmdd")
    assert mhqa("index", *where(corpus, index)).code == 0
    run = mhqa("ask", Q_DMDD, *where(corpus, index), "--json")
    assert run.code == 0, run.stderr
    [answer] = run.json_lines()
    generation = json.loads((index / "CURRENT").read_text())["generation"]
    assert list(answer)[-1] == "generation" and answer["generation"] == generation
    [citation] = [c for c in answer["citations"] if c["source"] == DMDD][:1]
    assert list(citation) == CITATION_KEYS
    assert citation["title"] == "DMDD: The Basics (register title)" and citation["url"] == "https://example.org/dmdd"
    assert (citation["publisher"], citation["year"], citation["review_overdue"]) == ("National Institute of Mental Health", 2023, False)
    assert citation["sha256"] == sha256(corpus / DMDD)  # the exact bytes quoted
    shown = mhqa("ask", Q_DMDD, *where(corpus, index), env=WIDE)
    assert "DMDD: The Basics (register title) (National Institute of Mental Health, 2023) — nimh-dmdd.pdf, page 1" in shown.stdout
    assert "https://example.org/dmdd" in shown.stdout and "(review overdue)" not in shown.stdout


def test_a_source_past_its_review_date_is_marked_wherever_it_is_cited(workspace, mhqa):
    corpus, index = workspace
    edit_register(corpus, DMDD, review_by=tomlkit.date("2020-01-01"))
    assert mhqa("index", *where(corpus, index)).code == 0
    [answer] = mhqa("ask", Q_DMDD, *where(corpus, index), "--json").json_lines()
    assert answer["citations"][0]["source"] == DMDD and answer["citations"][0]["review_overdue"] is True
    shown = mhqa("ask", Q_DMDD, *where(corpus, index), env=WIDE)
    assert re.search(r"nimh-dmdd\.pdf, page 1 \(review overdue\)", shown.stdout)
    sheet = mhqa("faq", "-", "--date", "2026-11-28", *where(corpus, index), input=Q_DMDD + "\n")
    assert sheet.code == 0 and "**Disruptive Mood Dysregulation Disorder: The Basics (review overdue).**" in sheet.stdout
    html = mhqa("faq", "-", "--format", "html", "--date", "2026-11-28", *where(corpus, index), input=Q_DMDD + "\n")
    assert '<span class="ref-title">Disruptive Mood Dysregulation Disorder: The Basics (review overdue).</span>' in html.stdout
    status = mhqa("status", *where(corpus, index), "--json")
    assert status.code == 0  # the index matches the corpus; the due review is listed, not an error
    assert status.json_lines()[0]["overdue"] == [{"file": DMDD, "title": "Disruptive Mood Dysregulation Disorder: The Basics", "review_by": "2020-01-01"}]
    assert "Review overdue" in mhqa("status", *where(corpus, index), env=WIDE).stdout


def test_a_register_edit_shows_up_after_a_reindex_that_embeds_nothing(workspace, mhqa, base_env):
    corpus, index = workspace
    edit_register(corpus, WARNING, title="Warning Signs of Suicide (new title)")
    status = mhqa("status", *where(corpus, index), "--json", env=WIDE)
    assert status.code == 1
    (stale,) = status.json_lines()[0]["stale"]
    assert (stale["file"], stale["state"]) == (WARNING, "updated") and "register entry changed (title)" in stale["detail"]
    # until the index is brought up to date, answers cite the facts it was built with
    [answer] = mhqa("ask", Q_WARNING, *where(corpus, index), "--json").json_lines()
    assert answer["citations"][0]["title"] == "Warning Signs of Suicide"
    before = answer["generation"]
    proc, modules = imported_modules({**base_env, **WIDE}, "index", *where(corpus, index))
    assert proc.returncode == 0, proc.stderr
    assert " updated " in rows(proc.stdout, WARNING)[0] and " unchanged " in rows(proc.stdout, DMDD)[0]
    assert not modules & set(MODEL_MODULES) and "pypdf" not in modules  # nothing read again, nothing embedded
    [answer] = mhqa("ask", Q_WARNING, *where(corpus, index), "--json").json_lines()
    assert answer["citations"][0]["title"] == "Warning Signs of Suicide (new title)" and answer["generation"] != before


# --- faq --recheck -------------------------------------------------------------------------------


def test_recheck_reports_unchanged_changed_refused_and_gone(workspace, mhqa):
    corpus, index = workspace
    questions = "\n".join([Q_PANIC_P3, Q_DMDD, Q_DEPRESSION, Q_BREAD, Q_WARNING]) + "\n"
    old = corpus.parent / "old.jsonl"
    assert mhqa("faq", "-", "-o", old, *where(corpus, index), input=questions).code == 0
    sheet = [json.loads(line) for line in old.read_text().splitlines()]
    assert [row["status"] for row in sheet] == ["answered", "answered", "refused", "refused", "answered"]
    same = mhqa("faq", "--recheck", old, *where(corpus, index), env=WIDE)
    assert same.code == 0, same.stdout + same.stderr
    assert "5 unchanged, 0 changed, 0 now refused, 0 quote gone" in same.stdout
    # a new edition of the panic brochure without its pages 3 and 4, and a depression brochure added
    first_pages(CORPUS / PANIC, corpus / PANIC, 2)
    shutil.copy(CORPUS / "nimh-depression.pdf", corpus / "nimh-depression.pdf")
    entries = shipped_entries()
    edit_register(corpus, PANIC, sha256=sha256(corpus / PANIC))
    document = tomlkit.parse((corpus / "sources.toml").read_text())
    document["source"].append(tomlkit.item(entries["nimh-depression.pdf"]))
    (corpus / "sources.toml").write_text(tomlkit.dumps(document))
    assert mhqa("index", *where(corpus, index)).code == 0
    run = mhqa("faq", "--recheck", old, *where(corpus, index), env=WIDE)
    assert run.code == 1, run.stdout + run.stderr
    verdicts = {line: cells for line, cells in _verdict_rows(run.stdout)}
    assert verdicts[1][0] == "quote gone" and "nimh-panic-disorder.pdf p. 3" in verdicts[1][1]
    assert verdicts[2][0] == "unchanged" and verdicts[4][0] == "unchanged" and verdicts[5][0] == "unchanged"
    assert verdicts[3][0] == "changed" and "now answered from nimh-depression.pdf" in verdicts[3][1]
    # a stricter threshold: what is still quotable but no longer answered is "now refused"
    strict = mhqa("faq", "--recheck", old, *where(corpus, index), env={**WIDE, "MHQA_MIN_EVIDENCE": "1"})
    verdicts = dict(_verdict_rows(strict.stdout))
    assert strict.code == 1 and verdicts[2][0] == "now refused" and "below the threshold 1.00" in verdicts[2][1]


def _verdict_rows(stdout: str) -> list[tuple[int, tuple[str, str]]]:
    """(line, (verdict, detail)) from the recheck table; a detail may wrap onto continuation rows."""
    found: list[tuple[int, tuple[str, str]]] = []
    for row in stdout.splitlines():
        cells = [cell.strip() for cell in row.split("│")[1:-1]]
        if len(cells) != 4:
            continue
        if cells[0].isdigit():
            found.append((int(cells[0]), (cells[2], cells[3])))
        elif found and not cells[0]:
            line, (verdict, detail) = found[-1]
            found[-1] = (line, (verdict + cells[2], f"{detail} {cells[3]}".strip()))
    return found


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json\n", "line 1: not JSON"),
        ('{"question": "x"}\n', "line 1: not an answer of `mhqa faq -o SHEET.jsonl`"),
        ("\n", "no answers in"),
    ],
)
def test_recheck_usage_errors(workspace, mhqa, content, message):
    corpus, index = workspace
    old = corpus.parent / "old.jsonl"
    old.write_text(content)
    run = mhqa("faq", "--recheck", old, *where(corpus, index))
    assert run.code == 2 and message in run.stderr and "Traceback" not in run.stderr
    both = mhqa("faq", "questions.txt", "--recheck", old, *where(corpus, index))
    assert both.code == 2 and "--recheck OLD.jsonl takes no QUESTIONS" in both.stderr
    neither = mhqa("faq", *where(corpus, index))
    assert neither.code == 2 and "give QUESTIONS" in neither.stderr
