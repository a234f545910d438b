"""Write the word lists mhqa ships in mhqa/resources/, from wordfreq's bundled frequency data.

    python bench/build_wordlists.py

wordfreq is a build-time dependency only (the `bench` extra): loading its English list takes
about 0.2 s, too much for a one-second answer, so the question path reads these plain files.

- english-zipf.tsv: English words (letters and apostrophes) with Zipf frequency >= 2.0, most
  frequent first, as `word<TAB>zipf`. Zipf 3 is about once per million words.
- languages.tsv: for Spanish, French, German, Portuguese and Italian, the 4000 most frequent words
  of each, accent-folded, as `lang<TAB>word`. Used to tell a message that is mostly not English
  (mhqa.language.detect_language: a word common in English, such as "no" or "me", votes for nobody).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from wordfreq import iter_wordlist, top_n_list, zipf_frequency

RESOURCES = Path(__file__).resolve().parent.parent / "mhqa" / "resources"
OTHER_LANGUAGES = ("es", "fr", "de", "pt", "it")
WORD = re.compile(r"[a-z][a-z']*")


def fold(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(c))


def main() -> None:
    with (RESOURCES / "english-zipf.tsv").open("w", encoding="utf-8") as out:
        for word in iter_wordlist("en"):
            zipf = zipf_frequency(word, "en")
            if zipf < 2.0:
                break
            if WORD.fullmatch(word):
                out.write(f"{word}\t{zipf:.2f}\n")
    with (RESOURCES / "languages.tsv").open("w", encoding="utf-8") as out:
        for lang in OTHER_LANGUAGES:
            seen: set[str] = set()
            for word in top_n_list(lang, 4000):
                folded = fold(word)
                if WORD.fullmatch(folded) and folded not in seen:
                    seen.add(folded)
                    out.write(f"{lang}\t{folded}\n")


if __name__ == "__main__":
    main()
