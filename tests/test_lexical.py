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
