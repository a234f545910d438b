"""mhqa inside LlamaIndex applications: a retriever and a query engine over an mhqa index.

Install with the extra: `pip install "mhqa[llama-index]"` (llama-index-core only; no LLM
is needed, and both work with `Settings.llm = None`).

- `MhqaRetriever(index="index/")` is a LlamaIndex BaseRetriever. Its nodes are mhqa's
  citations, in order: the cited text (the `quote` of `ask --json`) with metadata
  source, title, page, publisher, year, url, review_overdue, sha256 (the register's facts
  and provenance), id (the n of [n]), score, and the question's evidence and crisis flag; `NodeWithScore.score` is the cosine similarity.
  When mhqa refuses, it returns no nodes; `retriever.last_answer` is then the refused
  mhqa Answer (`.reason` says why, `.crisis` whether to show crisis resources).
- `MhqaQueryEngine(index="index/")` is a LlamaIndex query engine. Its Response text is
  mhqa's extractive answer or refusal sentence, after the crisis resources when the
  question signals a crisis; `source_nodes` are the citations (none when refused) and
  `metadata` holds status, reason, evidence, threshold, crisis and crisis_kind.

Both take the keyword arguments of mhqa.open_index (settings, `build`), or an already
open mhqa.OpenIndex as `index` (then they share it and do not close it). Every
question goes through mhqa's one question path (session.Session.ask).
"""

from __future__ import annotations

import os
from typing import Any, Self

try:
    from llama_index.core.base.base_query_engine import BaseQueryEngine
    from llama_index.core.base.base_retriever import BaseRetriever
    from llama_index.core.base.response.schema import Response
    from llama_index.core.callbacks import CallbackManager
    from llama_index.core.prompts.mixin import PromptMixinType
    from llama_index.core.schema import NodeRelationship, NodeWithScore, QueryBundle, RelatedNodeInfo, TextNode
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
    raise ImportError('mhqa.integrations.llama_index needs llama-index-core: pip install "mhqa[llama-index]"') from exc

from ..answer import ANSWERED, REFUSAL, Answer, Citation
from ..api import OpenIndex, open_index
from ..errors import UsageError

__all__ = ["MhqaRetriever", "MhqaQueryEngine"]

# Not shown to an LLM or an embedding model (nor unknown values): they do not help read the text.
_SCORING_KEYS = ["id", "score", "evidence", "crisis", "sha256", "review_overdue"]


def _node(citation: Citation, answer: Answer) -> NodeWithScore:
    metadata = {
        "source": citation.source,
        "title": citation.title,
        "page": citation.page,
        "publisher": citation.publisher,
        "year": citation.year,
        "url": citation.url,
        "review_overdue": citation.review_overdue,
        "sha256": citation.sha256,
        "id": citation.id,
        "score": citation.score,
        "evidence": answer.evidence,
        "crisis": answer.crisis,
    }
    hidden = _SCORING_KEYS + [key for key, value in metadata.items() if value is None]
    node = TextNode(
        text=citation.quote,
        metadata=metadata,
        excluded_llm_metadata_keys=hidden,
        excluded_embed_metadata_keys=hidden,
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=citation.source)},
    )
    return NodeWithScore(node=node, score=citation.score)


def _citation_nodes(answer: Answer) -> list[NodeWithScore]:
    """An answer's citations as LlamaIndex nodes, in order; none for a refusal (its citations are only the closest passages)."""
    return [_node(citation, answer) for citation in answer.citations] if answer.status == ANSWERED else []


def _response_text(answer: Answer) -> str:
    """The answer (or the refusal sentence), after the crisis resources when the question signals a crisis."""
    text = answer.answer if answer.status == ANSWERED and answer.answer else REFUSAL
    return "\n".join(answer.resources) + "\n\n" + text if answer.crisis else text


class _OverAnIndex:
    """Built like open_index (a path and settings), or over an open index that it then shares and never closes."""

    def __init__(
        self,
        index: str | os.PathLike[str] | OpenIndex | None = None,
        *,
        callback_manager: CallbackManager | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(callback_manager=callback_manager)  # the LlamaIndex base class
        if isinstance(index, OpenIndex):
            if settings:
                raise UsageError(f"settings ({', '.join(sorted(settings))}) cannot change an index that is already open")
            self._index, self._owned = index, False
        else:
            self._index, self._owned = open_index(index, **settings), True

    def close(self) -> None:
        """Close the index if it was opened for this object."""
        if self._owned:
            self._index.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class MhqaRetriever(_OverAnIndex, BaseRetriever):
    """mhqa's citations as LlamaIndex nodes; no nodes when mhqa refuses (see `last_answer`)."""

    # The mhqa Answer of the last question (status, reason, crisis, closest passages): how a
    # caller learns why there are no nodes. Per retriever, so not for concurrent questions.
    last_answer: Answer | None = None

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        answer = self._index.ask(query_bundle.query_str)
        self.last_answer = answer
        return _citation_nodes(answer)


class MhqaQueryEngine(_OverAnIndex, BaseQueryEngine):
    """mhqa's answer as a LlamaIndex Response, crisis resources first; needs no LLM."""

    def _get_prompt_modules(self) -> PromptMixinType:
        return {}

    def _query(self, query_bundle: QueryBundle) -> Response:
        answer = self._index.ask(query_bundle.query_str)
        metadata = {
            "status": answer.status,
            "reason": answer.reason,
            "evidence": answer.evidence,
            "threshold": answer.threshold,
            "crisis": answer.crisis,
            "crisis_kind": answer.crisis_kind,
        }
        return Response(_response_text(answer), source_nodes=_citation_nodes(answer), metadata=metadata)

    async def _aquery(self, query_bundle: QueryBundle) -> Response:
        return self._query(query_bundle)
