"""Cleaning and chunking, on real pages of the shipped PDFs (and a generated one where the corpus lacks a case)."""

from __future__ import annotations

import logging

import pytest

from conftest import CORPUS
from mhqa.chunk import HEADING, LIST, chunk_document, embedding_text, split_sentences
from mhqa.clean import clean_chars, clean_pages, describe_document, join_lines, words_in_lines
from mhqa.model import describe_model, dictionary_words, load_tokenizer
from mhqa.pdf import read_pdf
from mhqa.settings import bundled_model_path
from pdf_fixtures import text_pdf


@pytest.fixture(scope="module")
def model():
    return describe_model(bundled_model_path())


@pytest.fixture(scope="module")
def count(model):
    tokenizer = load_tokenizer(model)
    return lambda texts: [len(e.ids) for e in tokenizer.encode_batch(texts, add_special_tokens=False)]


@pytest.fixture(scope="module")
def cleaned(model):
    """name -> (document, blocks) for a few real PDFs."""
    words = dictionary_words(model)
    out = {}
    for name in ("nimh-warning-signs-of-suicide.pdf", "nimh-panic-disorder.pdf", "nimh-stress-vs-anxiety-fact-sheet.pdf",
                 "nimh-depression.pdf", "nimh-eating-disorders.pdf", "nimh-perinatal-depression.pdf"):
        document = read_pdf(CORPUS / name)
        out[name] = (document, clean_pages(document.pages, words | words_in_lines(document.pages)))
    return out


def text_of(blocks) -> str:
    return "\n".join(block.text for block in blocks)


def test_words_split_across_lines_are_rejoined(cleaned):
    document, blocks = cleaned["nimh-warning-signs-of-suicide.pdf"]
    assert "no r\neason" in document.pages[0].text and "to\n others" in document.pages[0].text  # what pypdf gives
    text = text_of(blocks)
    assert "having no reason to live" in text
    assert "Being a burden to others" in text
    assert "behavior is new or has increased recently" in text  # "or ha\ns increased"


def test_split_words_elsewhere_in_the_corpus(cleaned):
    assert "Additional types of depression" in text_of(cleaned["nimh-depression.pdf"][1])  # "Ad\nditional"
    assert "Anorexia nervosa" in text_of(cleaned["nimh-eating-disorders.pdf"][1])  # "● A\nnorexia"
    perinatal = text_of(cleaned["nimh-perinatal-depression.pdf"][1])
    assert "The risk of birth" in perinatal  # "The r\nisk"


def test_hyphenation_is_undone_only_where_the_word_is_whole(model):
    words = dictionary_words(model)
    assert join_lines("it was some-", "thing else", words) == "it was something else"
    assert join_lines("in life-", "threatening situations", words) == "in life-threatening situations"
    assert join_lines("walked to", "others", words) == "walked to others"


def test_web_printout_header_and_navigation_are_removed(cleaned):
    document, blocks = cleaned["nimh-panic-disorder.pdf"]
    assert "https://www.nimh.nih.gov/health/publications/panic-disorder" in document.pages[0].text
    text = text_of(blocks)
    assert "https://" not in text and "The National Institute of Mental Health:" not in text
    assert blocks[0].text == "Panic Disorder: What You Need to Know"
    stress = text_of(cleaned["nimh-stress-vs-anxiety-fact-sheet.pdf"][1])
    for chrome in ("Menu", "Download PDF", "Order a free hardcopy", "En español", "An official website", "FOIA", "USA.gov"):
        assert chrome not in stress.splitlines(), chrome
    assert "Everyone feels stress from time to time." in stress


def test_running_headers_footers_and_page_numbers_are_removed(tmp_path, model):
    bodies = [
        "Panic attacks can be treated with therapy.\nMany people feel better within months.\nTalk to a provider about options.",
        "Worry that lasts for months may be an anxiety disorder.\nSleep problems are common with anxiety.\nExercise can help some people.",
        "Children can have anxiety too.\nParents can ask a pediatrician for advice.\nSchools can help as well.",
        "Medication and therapy are often combined.\nSide effects are usually mild.\nNever stop a medication suddenly.",
    ]
    pages = [f"Anxiety Guide - Clinic Edition\n{body}\nRevised 2024 | Clinic handout\n{n}" for n, body in enumerate(bodies, 1)]
    document = read_pdf(text_pdf(tmp_path / "running.pdf", pages).path)
    text = text_of(clean_pages(document.pages, dictionary_words(model)))
    assert "Clinic Edition" not in text and "Clinic handout" not in text
    assert not any(line.strip() in {"1", "2", "3", "4"} for line in text.splitlines())
    for body in bodies:
        assert body.splitlines()[0] in text


def test_control_characters_and_escapes_are_stripped():
    assert clean_chars("a\x1b[2Jb\x1b[31mc\x07d\u202ee\x00") == "abcde"
    assert clean_chars("ﬁne\u00a0day") == "fine day"


def test_pypdf_warnings_never_reach_the_screen(capsys, caplog):
    caplog.set_level(logging.WARNING)
    read_pdf(CORPUS / "nimh-ptsd.pdf")  # pypdf warns about image remnants on two pages
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert not [r for r in caplog.records if r.name.startswith("pypdf")]


def test_headings_are_found_by_style(cleaned):
    headings = [b.text for b in cleaned["nimh-panic-disorder.pdf"][1] if b.kind == HEADING]
    assert "What causes panic disorder?" in headings and "Medication" in headings
    assert not any(h.startswith("People with panic disorder") for h in headings)


def test_sentence_splitting_keeps_abbreviations():
    text = "It is approved by the U.S. Food and Drug Administration (FDA). Some drugs, e.g. SSRIs, help. Dr. Smith agrees. Next one."
    assert split_sentences(text) == [
        "It is approved by the U.S. Food and Drug Administration (FDA).",
        "Some drugs, e.g. SSRIs, help.",
        "Dr. Smith agrees.",
        "Next one.",
    ]


def test_chunks_fit_the_model_and_keep_pages_and_sections(cleaned, count, model):
    shared = 0
    for name, (document, blocks) in cleaned.items():
        title = describe_document(blocks, document.metadata_title, name).title
        units, chunks = chunk_document(blocks, title, "x", count, budget=200, overlap=1, hard_limit=model.max_tokens)
        assert chunks, name
        for chunk in chunks:
            assert count([embedding_text(title, chunk.section, chunk.text)])[0] + 2 <= 256
            for unit_index, start, end in chunk.spans:
                assert chunk.text[start:end] == units[unit_index].text  # each sentence is recoverable, with its page
        positions = [c.position for c in chunks]
        assert positions == sorted(positions) == list(range(len(chunks)))
        # small overlap: consecutive chunks of one section share their boundary sentence
        shared += sum(bool(set(a.unit_indexes) & set(b.unit_indexes)) for a, b in zip(chunks, chunks[1:]))
    assert shared >= 10


def test_a_paragraph_over_a_page_break_keeps_each_sentence_page(cleaned, count, model):
    document, blocks = cleaned["nimh-panic-disorder.pdf"]
    units, chunks = chunk_document(blocks, "Panic", "x", count, budget=200, overlap=1, hard_limit=model.max_tokens)
    spanning = [c for c in chunks if len({units[u].page for u in c.unit_indexes}) > 1]
    assert spanning, "the panic brochure has a chunk that runs from page 3 to page 4"
    pages = {units[u].page for u in spanning[0].unit_indexes}
    assert pages == {3, 4}
    assert any("988" in units[u].text and units[u].page == 4 for u in spanning[0].unit_indexes)


def test_lists_keep_their_introduction(cleaned, count, model):
    document, blocks = cleaned["nimh-depression.pdf"]
    units, _ = chunk_document(blocks, "Depression", "x", count, budget=200, overlap=1, hard_limit=model.max_tokens)
    lists = [u for u in units if u.kind == LIST]
    symptoms = next(u for u in lists if u.text.startswith("Common signs and symptoms of depression include:"))
    assert "• Persistent sad, anxious, or “empty” mood" in symptoms.text and symptoms.page == 3


def test_document_description_from_the_pdf(cleaned):
    document, blocks = cleaned["nimh-depression.pdf"]
    info = describe_document(blocks, document.metadata_title, "nimh-depression.pdf")
    assert (info.title, info.publication_no, info.year) == ("Depression", "NIH Publication No. 24-MH-8079", "2024")
    assert info.publisher == "National Institute of Mental Health"
