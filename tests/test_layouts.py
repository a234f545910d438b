"""Ingest that is not tuned to one publisher (issue 13): PDFs in other layouts, written with fpdf2
(tests/layout_pdfs.py), indexed and asked through the real CLI.

Each sentence (table row, recommendation) must come out whole, as one quotable unit of the
index, on the page where pypdf finds it starts; running heads, footers and footnote markers
must not come out at all; questions must cite the right page. Stored units are read with
chromadb itself, not through mhqa.
"""

from __future__ import annotations

import ast
import json
import re
import tomllib
from pathlib import Path

import pytest

from conftest import ROOT
from index_checks import stored
from layout_pdfs import PUBLISHER, build_all


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    return build_all(tmp_path_factory.mktemp("layouts") / "corpus")


@pytest.fixture(scope="module")
def layout_index(layouts, tmp_path_factory, mhqa) -> tuple[Path, Path]:
    corpus = next(iter(layouts.values())).path.parent
    index = tmp_path_factory.mktemp("layout-index") / "index"
    run = mhqa("index", "--corpus", corpus, "--index", index)
    assert run.code == 0, run.stdout + run.stderr
    return corpus, index


def stored_units(index: Path) -> dict[str, list[tuple[str, int]]]:
    """file -> [(sentence, page)] in document order, as the index holds them."""
    units: dict[str, list[tuple[int, str, int]]] = {}
    for _, metadata in stored(index)["units"]:
        units.setdefault(metadata["file"], []).append((metadata["unit"], metadata["document"], metadata["page"]))
    return {file: [(text, page) for _, text, page in sorted(found)] for file, found in units.items()}


def sentences(paragraph: str) -> list[str]:
    return re.split(r"(?<=[.!?])\s+(?=[A-Z])", paragraph)


def page_where_pypdf_finds(path: Path, sentence: str) -> int:
    """The page on which the sentence starts, by pypdf's own text of each page."""
    from pypdf import PdfReader

    opening = " ".join(sentence.split()[:6])
    pages = [n for n, page in enumerate(PdfReader(path).pages, 1) if opening in " ".join(page.extract_text().split())]
    assert len(pages) == 1, (sentence, pages)
    return pages[0]


@pytest.mark.parametrize("name", ["two-columns.pdf", "footnotes.pdf", "table.pdf", "running-headers.pdf", "numbered-guideline.pdf"])
def test_every_sentence_comes_out_whole_on_its_page(layouts, layout_index, name):
    _, index = layout_index
    layout, units = layouts[name], stored_units(index)[name]
    where = dict(units)
    for paragraph in layout.paragraphs:
        for sentence in sentences(paragraph):
            assert sentence in where, (sentence, [text for text, _ in units])
            assert where[sentence] == page_where_pypdf_finds(layout.path, sentence), sentence
    text = "\n".join(sentence for sentence, _ in units)
    for unwanted in layout.absent:
        assert unwanted not in text, unwanted


def test_a_paragraph_over_a_page_break_and_its_footnotes(layouts, layout_index):
    """The paragraph runs from page 1 past the footnotes at its foot onto page 2: its sentences keep
    their own pages, and the notes are units of their own, without their markers in the text."""
    units = stored_units(layout_index[1])["footnotes.pdf"]
    pages = {text: page for text, page in units}
    assert pages["Some of these factors are present before the trauma; others play a role during and after a traumatic event."] == 1
    assert pages["Children and teens can have extreme reactions to traumatic events, but their symptoms may not be the same as those seen in adults."] == 2
    assert pages["1 The fight-or-flight response is described in the Example Health Service booklet on stress."] == 1
    assert pages["3 See the chapter on assessment."] == 2
    assert "Fear is a part of the body's fight-or-flight response, which helps us avoid or respond to potential danger." in pages


def test_table_rows_are_units_of_their_own(layout_index):
    units = [text for text, _ in stored_units(layout_index[1])["table.pdf"]]
    rows = [u for u in units if u.startswith(("SSRI", "Benzodiazepines", "Buspirone"))]
    assert rows == [
        "SSRI and SNRI antidepressants Commonly used to treat depression, they also can help treat the symptoms of GAD Several weeks to start working",
        "Benzodiazepines Anti-anxiety sedative medications for severe forms of GAD Rapidly decrease anxiety",
        "Buspirone An anti-anxiety medication that is not a sedative 3 to 4 weeks to be fully effective",
    ]


@pytest.mark.parametrize(
    "question, source, page, phrase",
    [
        ("Why is SAD more common in Alaska than in Florida?", "two-columns.pdf", 1, "Alaska or New England"),
        ("Can children and teens have extreme reactions to traumatic events?", "footnotes.pdf", 2, "Children and teens can have extreme reactions"),
        ("How long does buspirone take to be fully effective?", "table.pdf", 1, "Buspirone An anti-anxiety medication"),
        ("What is treatment-resistant depression?", "running-headers.pdf", 5, "at least two antidepressants"),
        ("At what age does generalized anxiety disorder usually start?", "numbered-guideline.pdf", 1, "1.1.1 Be aware that GAD develops gradually"),
    ],
)
def test_answers_cite_the_right_page(layout_index, mhqa, question, source, page, phrase):
    corpus, index = layout_index
    # The threshold is fitted on the shipped corpus; these five small files test pages, not refusals.
    run = mhqa("ask", question, "--corpus", corpus, "--index", index, "--json", "--min-evidence", "0.5")
    [answer] = run.json_lines()
    assert answer["status"] == "answered", answer["reason"]
    first = answer["citations"][0]
    assert (first["source"], first["page"]) == (source, page), first
    assert phrase in first["quote"]
    assert "Chapter" not in first["quote"] and "EHS guideline" not in first["quote"]


def test_sources_add_reads_what_other_publishers_print(layouts, mhqa, tmp_path):
    copy = tmp_path / "corpus"
    copy.mkdir()
    for layout in layouts.values():
        (copy / layout.path.name).write_bytes(layout.path.read_bytes())
    run = mhqa("sources", "add", *sorted(copy.glob("*.pdf")), "--corpus", copy)
    assert run.code == 0, run.stderr
    drafted = {entry["file"]: entry for entry in tomllib.loads((copy / "sources.toml").read_text(encoding="utf-8"))["source"]}
    leaflet = drafted["two-columns.pdf"]
    assert (leaflet["title"], leaflet["publisher"], leaflet["publication_no"], leaflet["year"], leaflet["licence"]) == (
        "Seasonal Affective Disorder: A Leaflet in Two Columns", PUBLISHER, "Publication No. EHS-2023-07", 2023, "Public domain",
    )
    assert drafted["footnotes.pdf"]["publisher"] == PUBLISHER  # from the PDF's metadata (/Author)
    assert drafted["running-headers.pdf"]["publisher"] == ""  # stated nowhere: left to complete
    assert "National Institute of Mental Health" not in (copy / "sources.toml").read_text(encoding="utf-8")


def test_no_rule_names_a_publisher():
    """Cleaning and description know no publisher: no string in mhqa's code names NIMH or its site."""
    named = re.compile(r"NIMH|National Institute of Mental Health|nimh\.nih|restructuring|official website of the united states", re.IGNORECASE)
    found = []
    for path in sorted((ROOT / "mhqa").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree) if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body and isinstance(node.body[0], ast.Expr)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings and named.search(node.value):
                found.append(f"{path.name}:{node.lineno}: {node.value[:60]}")
    assert not found, found
