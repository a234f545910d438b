"""The errors a user can meet, and the exit code each maps to.

The CLI catches `MhqaError` in one place (cli.main) and prints its message on
one line of stderr; nothing below cli.py prints or exits.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_REFUSED = 1  # not an error: the corpus does not answer the question
EXIT_STALE = 1  # `mhqa status`: the index does not match the corpus (run `mhqa index`)
EXIT_UNVETTED = 1  # `mhqa sources check`: the register and the corpus folder disagree, or a review is due
EXIT_CHANGED = 1  # `mhqa faq --recheck`: an answer of the old sheet changed
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3  # the index, corpus, model or server cannot be used


class MhqaError(Exception):
    """Base of every error shown to a user; `exit_code` is what the process returns."""

    exit_code = EXIT_UNAVAILABLE


class UsageError(MhqaError):
    """Bad flags, bad settings, an unreadable question file."""

    exit_code = EXIT_USAGE


class SettingsError(UsageError):
    """The config file or an environment variable holds a bad value."""


class CorpusError(MhqaError):
    """The corpus folder is missing or holds no usable file."""


class IndexUnavailable(MhqaError):
    """No index, or an index that cannot be read."""


class IndexBusy(MhqaError):
    """Another process holds the writer lock of this index."""


class ModelMismatch(MhqaError):
    """The index was built with another embedding model than the one configured."""


class ModelUnavailable(MhqaError):
    """The embedding model (or its ONNX export) cannot be loaded."""


class ServerUnavailable(MhqaError):
    """The Chroma server is down, unreachable, or refuses the token."""


class FilesFailed(MhqaError):
    """Indexing finished, but some files could not be indexed (each was reported)."""


class UnreadablePdf(Exception):
    """One corpus file cannot be indexed; `reason` is shown to the maintainer.

    Not an MhqaError: the indexer reports it per file and carries on.
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
