"""The Python API: open an index once, ask it many questions, get the records `mhqa ask --json` prints.

    from mhqa import open_index

    with open_index(index="index/") as qa:
        answer = qa.ask("How long do antidepressants take to work?")
    print(answer.status, answer.answer, answer.to_json()["citations"])

Settings are built exactly as for a CLI command (settings.load_settings): defaults <
config file < environment (MHQA_*) < the keyword arguments of open_index. Every
question goes through session.Session.ask, so the crisis check, the evidence and
the refusal are the CLI's. Errors are the MhqaError hierarchy of errors.py.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from .answer import Answer
from .errors import UsageError
from .session import Session, open_session
from .settings import Settings, load_settings

PathArg = str | os.PathLike[str]


class OpenIndex:
    """An mhqa index opened for questions (made by `open_index`).

    The encoder, the BM25 arrays and the Chroma handles stay loaded until `close()`
    (or the end of a `with` block), so only the first question pays for them. It may
    be shared between threads: questions are answered one at a time.
    """

    def __init__(self, session: Session) -> None:
        self._session: Session | None = session
        self._settings = session.settings
        self._lock = threading.Lock()

    @property
    def settings(self) -> Settings:
        """The settings in effect (after config file, environment and keyword arguments)."""
        return self._settings

    def ask(self, question: str, *, max_sentences: int | None = None, min_evidence: float | None = None) -> Answer:
        """Answer `question` from the vetted sources, or refuse; `Answer.to_json()` is the `ask --json` object.

        `max_sentences` and `min_evidence` override the settings for this question only.
        Raises UsageError for an empty question or after `close()`.
        """
        if not isinstance(question, str):
            raise UsageError(f"the question must be a str, not {type(question).__name__}")
        with self._lock:
            if self._session is None:
                raise UsageError("this index is closed: open it again with open_index")
            return self._session.ask(question, max_sentences=max_sentences, min_evidence=min_evidence)

    def close(self) -> None:
        """Release the index; closing twice is harmless."""
        with self._lock:
            if self._session is not None:
                self._session.close()
                self._session = None

    def __enter__(self) -> OpenIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_index(
    index: PathArg | None = None,
    *,
    corpus: PathArg | None = None,
    config: PathArg | None = None,
    cache: PathArg | None = None,
    model: PathArg | None = None,
    chroma_url: str | None = None,
    chroma_token: str | None = None,
    chroma_ca: PathArg | None = None,
    collection: str | None = None,
    server_timeout: float | None = None,
    top_k: int | None = None,
    max_sentences: int | None = None,
    min_evidence: float | None = None,
    log_file: PathArg | None = None,
    chunk_tokens: int | None = None,
    chunk_overlap: int | None = None,
    index_encoder: str | None = None,
    query_encoder: str | None = None,
    workers: int | None = None,
    lock_wait: float | None = None,
    crisis_region: str | None = None,
    crisis_lines: Sequence[str] | None = None,
    crisis_emergency: str | None = None,
    vetted_only: bool | None = None,
    build: bool = False,
) -> OpenIndex:
    """Open an mhqa index for questions: a folder (`index`), or a Chroma server (`chroma_url`).

    Each keyword argument is the setting of the same name in the README's Configuration
    table; None leaves it to the environment, the config file (`config`, else
    $MHQA_CONFIG, ./mhqa.toml, ~/.config/mhqa/config.toml) or the default, as for the CLI.

    A missing index folder is an IndexUnavailable error, unless `build=True`: then the
    corpus is indexed first, silently, as `mhqa ask` does (minutes for a large corpus).
    A server index is never built here: `mhqa index` does that.
    """
    flags = dict(locals())  # the keyword arguments as given, before any other local exists
    config_file, build = flags.pop("config"), flags.pop("build")
    settings = load_settings(flags, config=Path(config_file) if config_file is not None else None)
    return OpenIndex(open_session(settings, build=build))
