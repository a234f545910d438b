"""Words of a question: English word frequencies, and whether a message is mostly not English.

Both read plain word lists built from wordfreq's data by bench/build_wordlists.py
(mhqa/resources/english-zipf.tsv and languages.tsv), so nothing here imports
wordfreq on the question path. Lists load once per process, in about 40 ms, on the
thread that opens the crisis check while the index and encoder open.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

RESOURCES = Path(__file__).resolve().parent / "resources"
ENGLISH = "en"
COMMON_ZIPF = 3.0  # about once per million words: a word everyone writes
VERY_COMMON_ZIPF = 4.0
_WORD = re.compile(r"[a-z][a-z']*")


def fold(text: str) -> str:
    """Lower case without accents or compatibility forms: 'Médicaments' -> 'medicaments'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("’", "'").replace("‘", "'")


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


@lru_cache(maxsize=1)
def english_zipf() -> dict[str, float]:
    """Word -> Zipf frequency in general English (>= 2.0; a word not listed is rarer than that)."""
    table: dict[str, float] = {}
    with (RESOURCES / "english-zipf.tsv").open(encoding="utf-8") as handle:
        for line in handle:
            word, _, zipf = line.rstrip("\n").partition("\t")
            table[word] = float(zipf)
    return table


def zipf(word: str) -> float:
    """How common `word` is in English (Zipf scale: 7 for 'the', 3 once per million, 0 unknown)."""
    return english_zipf().get(word.lower(), 0.0)


def is_common_english(word: str) -> bool:
    return zipf(word) >= COMMON_ZIPF


@lru_cache(maxsize=1)
def _foreign_words() -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {}
    with (RESOURCES / "languages.tsv").open(encoding="utf-8") as handle:
        for line in handle:
            lang, _, word = line.rstrip("\n").partition("\t")
            table.setdefault(lang, set()).add(word)
    return {lang: frozenset(found) for lang, found in table.items()}


def detect_language(text: str) -> str:
    """'en', or the code of the other language most of the message's words belong to.

    A vote of words: a word common in English (Zipf >= 3) and in no other list
    votes English; a word (or an elided piece: "j'ai" -> "ai") among a language's
    4000 most frequent that is not very common in English (Zipf < 4) votes for that
    language; "no" or "me" vote for nobody. A message is non-English when one
    language out-votes English and holds at least a quarter of the words.
    """
    tokens = words(text)
    if not tokens:
        return ENGLISH
    foreign = _foreign_words()
    english = english_zipf()
    votes = dict.fromkeys(foreign, 0)
    english_votes = 0
    for token in tokens:
        pieces = [token, *token.split("'")]
        languages = {lang for lang, listed in foreign.items() if any(piece in listed for piece in pieces)}
        if english.get(token, 0.0) >= COMMON_ZIPF and not languages:
            english_votes += 1
        elif english.get(token, 0.0) < VERY_COMMON_ZIPF:
            for lang in languages:
                votes[lang] += 1
    lang, best = max(votes.items(), key=lambda item: item[1])
    if best > english_votes and best >= max(1, len(tokens) / 4):
        return lang
    return ENGLISH
