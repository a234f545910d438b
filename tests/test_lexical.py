"""BM25: the question path's numpy lookup gives exactly bm25s's own scores, on the real index."""

from __future__ import annotations

import bm25s
import numpy as np

from mhqa.lexical import lexical_text, tokenize
from mhqa.retrieve import lexical_index
from mhqa.chroma import CHUNKS


def test_scores_equal_bm25s(session, labelled):
    index, _ = lexical_index(session.generation)
    records = list(session.generation.scan(CHUNKS))
    by_id = {r.id: r for r in records}
    corpus = [tokenize(lexical_text(by_id[i].metadata["title"], by_id[i].metadata.get("section", ""), by_id[i].document)) for i in index.ids]
    reference = bm25s.BM25()
    reference.index(corpus, show_progress=False)
    for row in labelled[:60]:
        terms = tokenize(row["question"])
        assert np.allclose(index.scores(terms), reference.get_scores(terms), atol=1e-5), row["question"]


def test_acronyms_are_found(session):
    index, _ = lexical_index(session.generation)
    for acronym, source in [("DMDD", "nimh-dmdd.pdf"), ("ERP", "nimh-ocd.pdf"), ("ARFID", "nimh-eating-disorders.pdf")]:
        top = index.search(tokenize(acronym), 3)
        records = session.generation.get(CHUNKS, [chunk_id for chunk_id, _ in top])
        assert any(r.metadata["file"] == source for r in records.values()), acronym


def test_a_part_is_read_back_only_whole_of_its_version_and_of_its_chunks(tmp_path, monkeypatch):
    from mhqa import parts

    chunks = [
        ("abc-0000", "Panic Disorder", "Treatment", "Cognitive behavioral therapy (CBT) can help. SSRIs may reduce panic attacks."),
        ("abc-0001", "Panic Disorder", "", "Panic disorder (also called PD) can be treated with psychotherapy."),
    ]
    ids = [id_ for id_, _, _, _ in chunks]
    part = parts.document_part(chunks)
    parts.save(tmp_path, "abc", part)
    back = parts.load(tmp_path, "abc", ids)
    assert back is not None and back.ids == ids and back.vocabulary == part.vocabulary
    assert back.lexical.terms == part.lexical.terms
    for name in ("starts", "term_ids", "counts"):
        assert np.array_equal(getattr(back.lexical, name), getattr(part.lexical, name)), name
    assert parts.load(tmp_path, "abc", ids[:1]) is None  # not the chunks the manifest lists
    assert parts.load(tmp_path, "abd", ids) is None  # none saved
    monkeypatch.setattr(parts, "FORMAT", parts.FORMAT + 1)
    assert parts.load(tmp_path, "abc", ids) is None  # another format: never read
    monkeypatch.setattr(parts, "FORMAT", parts.FORMAT - 1)
    path = parts.folder(tmp_path) / "abc.npz"
    path.write_bytes(path.read_bytes()[:-40])
    assert parts.load(tmp_path, "abc", ids) is None  # cut short
