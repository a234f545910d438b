"""Bad input cannot break `mhqa index` (issue 3): each broken or odd file in a corpus is reported
by name with a reason, every other file is indexed, the run exits 3 after finishing the good
ones; and a PDF of over 1,000 pages is indexed with progress and bounded memory.

The fixtures are built from real bytes (shipped PDFs, truncated, re-encrypted, byte-edited,
or written by tests/pdf_fixtures.py), never mocked.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import pdf_fixtures as fx
from conftest import CORPUS, ROOT
from index_checks import MODEL_MODULES, answers, check_consistent, imported_modules, pages_holding, read_manifest, stored

WIDE = {"COLUMNS": "250"}
SLEEP_PAGES = [
    "Sleep hygiene basics. Keep a regular bedtime and wake time every day of the week.",
    "This page is damaged.",
    "Bright light in the morning helps set the body clock. Avoid screens late at night.",
]

# file name -> what the report must say about it
FAILS = {
    "zero.pdf": "empty file (0 bytes)",
    "notes-renamed.pdf": "not a PDF (it looks like plain text)",
    "picture.pdf": "not a PDF (it looks like a PNG image)",
    "download.pdf": "not a PDF (it looks like an HTML page)",
    "truncated.pdf": "truncated PDF: the end of the file is missing",
    "xref-garbage.pdf": "damaged PDF (",
    "enc-password.pdf": "encrypted: a password is required to open it",
    "scanned.pdf": "no extractable text (scanned images? OCR is not supported)",
    "dangling.pdf": "broken symbolic link (its target is missing)",
}
INDEXED = {  # file name -> pages, and a note the report must give ("" for none)
    "good.pdf": (1, ""),
    "good copy.pdf": (1, ""),
    "generated.pdf": (2, ""),
    fx.UNICODE_NAME: (1, ""),
    "linked.pdf": (3, ""),
    "xref-offsets.pdf": (1, "its cross-reference table was damaged; pypdf rebuilt it"),
    "enc-empty.pdf": (2, ""),
    "enc-aes.pdf": (4, ""),
    "bad-page.pdf": (3, "page 2 could not be read (Unsupported filter /MhqaBogusDecode); skipped"),
}
IGNORED = ("guide.docx", "guide.md", "guide.txt")


def build_bad_corpus(corpus: Path, outside: Path) -> None:
    corpus.mkdir()
    shutil.copy(CORPUS / "nimh-warning-signs-of-suicide.pdf", corpus / "good.pdf")
    fx.duplicate(corpus / "good.pdf", corpus / "good copy.pdf")
    fx.text_pdf(corpus / "generated.pdf", [
        "Zebra therapy guidance. The quokka method helps people who cannot fall asleep.",
        "The quokka method is practised for ten minutes before bed, with the lights dimmed.",
    ], title="Quokka method guide")
    fx.unicode_named(corpus)
    fx.zero_byte(corpus / "zero.pdf")
    fx.renamed_text(corpus / "notes-renamed.pdf")
    fx.renamed_png(corpus / "picture.pdf")
    fx.renamed_html(corpus / "download.pdf")
    fx.truncated(corpus / "truncated.pdf", CORPUS / "nimh-depression.pdf")
    fx.corrupted_xref(corpus / "xref-offsets.pdf", CORPUS / "nimh-5-action-steps-suicide.pdf", mode="offsets")
    fx.corrupted_xref(corpus / "xref-garbage.pdf", CORPUS / "nimh-ocd.pdf", mode="garbage")
    fx.encrypted(corpus / "enc-empty.pdf", CORPUS / "nimh-depression-in-women.pdf")  # RC4, opens without a password
    fx.encrypted(corpus / "enc-aes.pdf", CORPUS / "nimh-dmdd.pdf", algorithm="AES-256")
    fx.encrypted(corpus / "enc-password.pdf", CORPUS / "nimh-adhd.pdf", user_password="s3cret")
    fx.image_only(corpus / "scanned.pdf")
    fx.page_raises(corpus / "bad-page.pdf", texts=SLEEP_PAGES)
    outside.mkdir()
    shutil.copy(CORPUS / "nimh-stress-vs-anxiety-fact-sheet.pdf", outside / "stress.pdf")
    fx.symlink(corpus / "linked.pdf", outside / "stress.pdf")
    fx.symlink(corpus / "dangling.pdf", outside / "missing.pdf")
    fx.docx_like(corpus / "guide.docx")
    fx.markdown(corpus / "guide.md")
    fx.plain_text(corpus / "guide.txt")
    fx.ds_store(corpus / ".DS_Store")


def report_rows(stdout: str) -> dict[str, list[str]]:
    """File name -> the cells of its row in the report table."""
    out = {}
    for line in stdout.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if len(cells) == 5:
            out[cells[0]] = cells
    return out


@pytest.mark.slow
def test_bad_files_are_reported_and_everything_else_is_indexed(tmp_path, mhqa, base_env):
    pytest.importorskip("cryptography")  # a declared dependency: AES-encrypted PDFs need it
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    build_bad_corpus(corpus, tmp_path / "outside")

    run = mhqa("index", "--corpus", corpus, "--index", index, env=WIDE)
    assert run.code == 3, run.stderr
    assert "Traceback" not in run.stderr
    rows = report_rows(run.stdout)
    for name, reason in FAILS.items():
        assert rows[name][1] == "failed" and reason in rows[name][4], (name, rows[name])
    for name, (pages, note) in INDEXED.items():
        assert rows[name][1] == "added" and rows[name][2] == str(pages), (name, rows[name])
        assert note in rows[name][4], (name, rows[name])
    assert "duplicate of good copy.pdf (same content, indexed once)" in rows["good.pdf"][4]
    for name in IGNORED:
        assert rows[name][1:] == ["ignored", "", "", "not a PDF"]
    assert ".DS_Store" not in run.stdout
    assert f"{len(FAILS)} file(s) could not be indexed; the others were." in run.stdout

    manifest = check_consistent(index)
    names = {name for doc in manifest["documents"].values() for name in doc["names"]}
    assert names == set(INDEXED)
    assert set(manifest["failed"]) == set(FAILS)
    duplicate = next(doc for doc in manifest["documents"].values() if "good.pdf" in doc["names"])
    assert duplicate["names"] == ["good copy.pdf", "good.pdf"]
    assert {m["file"] for _, m in stored(index)["chunks"]} == set(INDEXED) - {"good.pdf"}

    outcomes = answers(mhqa, index, corpus, [
        "how does morning light help the body clock",
        "how long is the quokka method practised before bed",
        "Guide sur la dépression café über",
    ])
    assert outcomes[0][2][0][:2] == ("bad-page.pdf", 3)
    assert outcomes[1][2][0][:2] == ("generated.pdf", 2)
    assert fx.UNICODE_NAME in {source for source, _, _ in outcomes[2][2]}

    # Unchanged bad files: reported again (exit 3), read again cheaply, nothing rewritten, no model loaded.
    generation = read_manifest(index)["generation"]
    proc, modules = imported_modules({**base_env, **WIDE}, "index", "--corpus", corpus, "--index", index)
    assert proc.returncode == 3
    again = report_rows(proc.stdout)
    assert {name for name, cells in again.items() if cells[1] == "failed"} == set(FAILS)
    assert not modules & set(MODEL_MODULES) and read_manifest(index)["generation"] == generation
    status = mhqa("status", "--corpus", corpus, "--index", index, "--json")
    assert status.code == 1
    (state,) = status.json_lines()
    assert state["stale"] == [] and {f["file"] for f in state["failed"]} == set(FAILS)

    # Fixed: the bad files are removed, and the index and the corpus agree again.
    for name in FAILS:
        (corpus / name).unlink()
    assert mhqa("index", "--corpus", corpus, "--index", index).code == 0
    status = mhqa("status", "--corpus", corpus, "--index", index, "--json")
    assert status.code == 0 and status.json_lines()[0]["failed"] == []


HOSTILE_NAME = "\x1b]0;owned\x07\x1b[2J\x1b[31mred\x9b1m\u202eevil.pdf"  # retitle, clear, colour, C1 CSI, bidi


def test_a_corpus_of_only_bad_files_is_a_clear_error(tmp_path, mhqa):
    corpus, index = tmp_path / "corpus", tmp_path / "new" / "index"
    corpus.mkdir()
    fx.zero_byte(corpus / "zero.pdf")
    fx.image_only(corpus / "scanned.pdf")
    fx.zero_byte(corpus / HOSTILE_NAME)
    run = mhqa("index", "--corpus", corpus, "--index", index)
    assert run.code == 3 and "Traceback" not in run.stderr
    message = run.stderr.strip().splitlines()[-1]
    assert message.startswith("mhqa: no PDF in the corpus could be indexed")
    assert "zero.pdf: empty file" in message and "scanned.pdf: no extractable text" in message
    # The file name is in the message, sanitised like PDF text: no escape sequence reaches the terminal.
    assert "red1mevil.pdf: empty file" in message  # the C1 CSI character is gone, its harmless "1m" stays
    assert not any(ch in run.stderr + run.stdout for ch in "\x1b\x07\x9b\u202e")
    assert not (tmp_path / "new").exists()  # a failed first run leaves no index folder behind


def test_error_messages_naming_files_are_sanitised(tmp_path, mhqa):
    for args, fragment in (
        (["index", "--corpus", tmp_path / HOSTILE_NAME, "--index", tmp_path / "index"], "corpus folder not found"),
        (["ask", "--file", tmp_path / f"{HOSTILE_NAME}.txt", "--index", tmp_path / "index"], "cannot read questions from"),
        (["faq", tmp_path / f"{HOSTILE_NAME}.txt", "--index", tmp_path / "index"], "cannot read questions from"),
    ):
        run = mhqa(*args)
        assert run.code in (2, 3) and fragment in run.stderr and "red1mevil.pdf" in run.stderr, run.stderr
        assert len(run.stderr.strip().splitlines()) == 1
        assert not any(ch in run.stderr for ch in "\x1b\x07\x9b\u202e"), run.stderr
    assert not (tmp_path / "index").exists()


LARGE_PAGES = 1050
RSS_LIMIT_MB = 1500  # generous: indexing the 3-PDF corpus peaks near 600 MB on the development machine


def large_corpus(folder: Path) -> Path:
    """One generated PDF of LARGE_PAGES pages, a short distinct passage on each."""
    rng = random.Random(11)
    words = "sleep mood energy routine support family school work therapy plan recovery habit walk light meal".split()
    pages = [
        f"{fx.large_page_marker(n)} " + " ".join(rng.sample(words, 8)) + "."  # one sentence: little to embed
        for n in range(1, LARGE_PAGES + 1)
    ]
    fx.text_pdf(folder / "large.pdf", pages, title="Large guideline")
    return folder


@pytest.mark.slow
def test_a_pdf_of_over_a_thousand_pages_is_indexed_with_bounded_memory(tmp_path, base_env):
    corpus = large_corpus(tmp_path / "corpus")
    index = tmp_path / "index"
    # A small parent measures the peak resident memory of the real `mhqa index` process.
    measure = (
        "import resource, subprocess, sys; "
        "code = subprocess.run(sys.argv[1:]).returncode; "
        "print('peak-rss-kb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
        "sys.exit(code)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", measure, sys.executable, "-m", "mhqa", "index", "--corpus", corpus, "--index", index],
        capture_output=True, text=True, env={**base_env, **WIDE}, cwd=ROOT, timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr
    peak_mb = int(proc.stderr.rsplit("peak-rss-kb", 1)[1].split()[0]) / 1024
    print(f"peak RSS of `mhqa index` on a {LARGE_PAGES}-page PDF: {peak_mb:.0f} MB")
    assert peak_mb < RSS_LIMIT_MB
    assert f"large.pdf p. {LARGE_PAGES}/{LARGE_PAGES}" in proc.stderr  # the progress bar followed the pages
    assert report_rows(proc.stdout)["large.pdf"][1:3] == ["added", str(LARGE_PAGES)]

    manifest = check_consistent(index)
    (doc,) = manifest["documents"].values()
    assert doc["pages"] == LARGE_PAGES
    for n in (1, 500, 1000, LARGE_PAGES):  # far pages keep their own page number
        assert pages_holding(index, fx.large_page_marker(n)) == {n}
