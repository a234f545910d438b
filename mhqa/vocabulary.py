"""The corpus's own words and names: what a question's words are checked against.

Built with the BM25 arrays (retrieve.lexical_index) and saved beside them:
  words     every word the corpus uses, with its count: a question's typo is corrected towards
            these (symspellpy), and a compound is split when both halves are words
  names     what the corpus calls things: document titles, section headings, the long forms of
            its abbreviations, and noun phrases ending in a category noun ("... disorder",
            "... therapy", "... stimulation")
  synonyms  what the corpus itself says is the same thing: "Long form (ABBR)" (the
            Schwartz-Hearst rule for abbreviation definitions) and "X (also called Y or Z)"

Nothing here is written for a question: every entry comes from the corpus text.

Built in two steps: each document's `VocabularyPart` (what its own text gives: word counts,
headings, candidate names, definitions, verbs, "also called" lists) is extracted once, when the
document is indexed, and kept; `combine_vocabulary` then puts the parts together, which is where
the corpus-wide rules apply (a name is said twice, is not a verb's object, is not the tail of a
longer name; an "also called" subject is found among all the names). A re-index extracts only
the documents it reads: extracting every chunk of a 10,000-page corpus took 11 s.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from .language import zipf
from .lexical import STOP_WORDS, tokenize

# Nouns that end the name of a condition, a treatment, a drug class or a test.
CATEGORY_NOUNS = frozenset(
    """disorder disorders syndrome syndromes disease diseases illness illnesses depression psychosis
    therapy therapies psychotherapy treatment treatments stimulation medication medications inhibitors
    inhibitor antidepressants antidepressant antipsychotics antipsychotic stabilizers stabilizer
    test tests scale questionnaire screening""".split()
)
# The nouns that end a condition's name, which people often leave out ("social anxiety").
CONDITION_NOUNS = frozenset("disorder disorders syndrome syndromes disease diseases illness illnesses depression psychosis".split())
CLIPPED_ZIPF = 4.0  # a one-word shortened name is rarer in English than this ("bipolar" 3.6; "panic" 4.3)
_NAME_WORD = r"[A-Za-z][A-Za-z'’/-]*"
_CATEGORY_PHRASE = re.compile(rf"((?:{_NAME_WORD}\s+){{1,3}})({'|'.join(sorted(CATEGORY_NOUNS))})\b", re.IGNORECASE)
_NOUN = re.compile(rf"\b(?:{'|'.join(sorted(CATEGORY_NOUNS))})\b", re.IGNORECASE)
_NAME_CHAR = re.compile(r"[A-Za-z'’/-]")
_REACH = 400
_CALLED = re.compile(r"(?:also|sometimes)\s+(?:called|known as)")  # what _ALSO_CALLED needs somewhere in a text
_DEFINED = re.compile(rf"((?:{_NAME_WORD}[ ,]+){{1,8}})\(([A-Za-z][A-Za-z-]{{1,9}})\)")
_PARENTHESIS = re.compile(r"\([A-Za-z][A-Za-z-]{1,9}\)")  # what _DEFINED needs somewhere in a text
_OR_DEFINED = re.compile(rf"((?:{_NAME_WORD}\s+){{1,6}}{_NAME_WORD}), or ([A-Z]{{2,8}}s?)\b")
_ALSO_CALLED = re.compile(
    rf"((?:{_NAME_WORD}\s+){{0,4}}{_NAME_WORD})(?:,\s+|\s+\()(?:also|sometimes)\s+(?:called|known as)\s+([^).;:]+)"
)
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
MAX_EDIT = 2


def name_words(phrase: str) -> list[str]:
    """The words of a name, split at hyphens and slashes too ("attention-deficit/hyperactivity")."""
    return re.findall(r"[a-z0-9]+", phrase.lower())


def abbreviates(short: str, long: str, strict: bool) -> bool:
    """Whether `short` abbreviates `long`.

    strict: its letters are the initials of `long`'s words, in order ("ocd" for
    "obsessive-compulsive disorder"). Otherwise the Schwartz-Hearst rule (2003): every
    letter of `short` occurs in `long` in order, the first at the start of `long`, and
    every word of `long` gives a letter ("pmdd" for "premenstrual dysphoric disorder").
    """
    short = re.sub(r"[^a-z0-9]", "", short.lower())
    words = [w for w in name_words(long) if w not in STOP_WORDS]
    if not short or len(words) < 2:
        return False
    if strict:
        return "".join(w[0] for w in words) == short
    if len(words) > len(short) or words[0][0] != short[0]:
        return False
    # Each word contributes its initial and then, optionally, more of its letters in order.
    def match(i: int, w: int) -> bool:
        if w == len(words):
            return i == len(short)
        word = words[w]
        if i >= len(short) or short[i] != word[0]:
            return False
        j, k = i + 1, 1
        options = [j]
        while j < len(short) and k < len(word):
            if word[k] == short[j]:
                j += 1
                options.append(j)
            k += 1
        return any(match(n, w + 1) for n in options)

    return match(0, 0)


@dataclass
class Vocabulary:
    words: dict[str, int]  # word -> count in the corpus
    names: list[str]  # lower-case names (see the module doc)
    synonyms: list[list[str]]  # groups of names the corpus says are the same
    spread: dict[str, int]  # word -> how many documents use it
    documents: int
    titles: list[str]  # the documents' names (lower case)
    initialisms: dict[str, str] = field(default_factory=dict)  # initials -> the phrase they most likely stand for
    _speller: object = field(default=None, repr=False, compare=False)

    @cached_property
    def stems(self) -> frozenset[str]:
        return frozenset(tokenize(" ".join(self.words)))

    # Read on every question and chat turn (focus.py, conversation.py): built once per session.
    @cached_property
    def every_name(self) -> frozenset[str]:
        """The names and every synonym the corpus gives for one."""
        return frozenset(self.names).union(*map(set, self.synonyms))

    @cached_property
    def name_words(self) -> frozenset[str]:
        """The words of the names ("panic", "attacks")."""
        return frozenset(word for name in self.names for word in name.split())

    @cached_property
    def topic_words(self) -> frozenset[str]:
        """The words of the names that pick out a topic (specific): "psychosis", not "5"."""
        return frozenset(word for name in self.names if self.specific(name) for word in name.split())

    @cached_property
    def clipped(self) -> dict[str, str]:
        """A condition's name as people shorten it, without its last noun, and the name it stands for:
        "social anxiety" -> "social anxiety disorder", "bipolar" -> "bipolar disorder". A one-word
        rest must be rare in English ("bipolar", not "panic", "eating" or "major", which say other
        things too), and it must stand for one name only ("postpartum" is depression or psychosis)."""
        found: dict[str, set[str]] = {}
        for name in self.every_name:
            words = name.split()
            if len(words) < 2 or words[-1] not in CONDITION_NOUNS or not self.specific(name):
                continue
            rest = " ".join(words[:-1])
            if rest in self.every_name or any(w in STOP_WORDS for w in (words[0], words[-2])):
                continue
            if len(words) == 2 and (zipf(rest) >= CLIPPED_ZIPF or not self.specific(rest)):
                continue
            found.setdefault(rest, set()).add(name)
        # "anxiety disorder" and "anxiety disorders" are one name; longest first, as focus.find_focus tries them
        ordered = sorted(found.items(), key=lambda item: (-len(item[0]), item[0]))
        return {rest: min(names) for rest, names in ordered if len({n.rstrip("s") for n in names}) == 1}

    @cached_property
    def shortened(self) -> dict[str, tuple[str, ...]]:
        """Each name's shortened forms (`clipped` the other way round): "bipolar disorder" -> ("bipolar",)."""
        out: dict[str, tuple[str, ...]] = {}
        for rest, name in self.clipped.items():
            out[name] = (*out.get(name, ()), rest)
        return out

    def specific(self, name: str) -> bool:
        """Whether a name picks out a topic: a document's name, or a word most documents do not use
        (a number is not one: "5" of "5 action steps" names nothing)."""
        if name in self.titles:
            return True
        return any(
            word not in STOP_WORDS and word not in CATEGORY_NOUNS and self.spread.get(word, 0) <= self.documents / 2 and not word.isdigit()
            for word in name.split()
        )

    def knows(self, word: str) -> bool:
        """Whether the corpus uses `word` (or a word with its stem)."""
        if word in self.words:
            return True
        stems = tokenize(word)
        return bool(stems) and all(stem in self.stems for stem in stems)

    def correct(self, word: str) -> str | None:
        """The corpus word `word` is a typo of (symspellpy, edit distance 1, or 2 from 8 letters), or None."""
        if len(word) < 5 or word.isdigit():
            return None
        from symspellpy import Verbosity

        found = self.speller.lookup(word, Verbosity.TOP, max_edit_distance=2 if len(word) >= 8 else 1)
        return found[0].term if found else None

    @property
    def speller(self):
        if self._speller is None:  # built on first use: most questions need no correction
            from symspellpy import SymSpell

            speller = SymSpell(max_dictionary_edit_distance=MAX_EDIT, prefix_length=7)
            for word, count in self.words.items():
                if len(word) >= 4 and not word.isdigit():
                    speller.create_dictionary_entry(word, count)
            self._speller = speller
        return self._speller

    def unclip(self, word: str) -> str | None:
        """The corpus word a clipped word stands for ("benzos" -> "benzodiazepines"): every corpus word it
        begins shares one stem."""
        clipped = word[:-1] if word.endswith("s") else word
        if len(clipped) < 4:
            return None
        longer = [w for w in self.words if w.startswith(clipped) and len(w) > len(clipped)]
        stems = {stem for w in longer for stem in tokenize(w)}
        if len(stems) != 1:
            return None
        return max(longer, key=lambda w: self.words[w])

    def split(self, word: str) -> tuple[str, str] | None:
        """A compound as its two words ("sleepwalking" -> "sleep", "walking"), when both are words."""
        best, best_score = None, 0.0
        for cut in range(3, len(word) - 2):
            left, right = word[:cut], word[cut:]
            score = min(self._word_score(left), self._word_score(right))
            if score > best_score:
                best, best_score = (left, right), score
        return best

    def _word_score(self, word: str) -> float:
        """How surely `word` is a word: its English Zipf frequency, or 3 for a corpus word English lacks."""
        known = zipf(word)
        if word in self.words:
            known = max(known, 3.0)
        return known if known >= 3.0 else 0.0

    def expand(self, short: str, strict_only: bool = False) -> str | None:
        """The corpus name an abbreviation the corpus never uses stands for ("mdd" -> "major depressive disorder").

        Initials first; then (unless `strict_only`) the looser Schwartz-Hearst rule. When several
        names fit, the one the corpus uses most, if it is used at least twice as much as the next.
        """
        for strict in (True,) if strict_only else (True, False):
            found = sorted((self._uses(name), name) for name in self.names if abbreviates(short, name, strict))
            if len(found) == 1 or (found and found[-1][0] >= 2 * found[-2][0]):
                return found[-1][1]
            if found:
                return None
        # no name fits: a phrase of the text with those initials ("dup": "duration of untreated psychosis")
        return self.initialisms.get(short)

    def _uses(self, name: str) -> int:
        """About how often the corpus uses a name: the count of its least used word."""
        return min((self.words.get(word, 0) for word in name.split() if word not in STOP_WORDS), default=0)

    def synonyms_of(self, phrase: str) -> set[str]:
        """Every name the corpus says `phrase` is the same as (with `phrase` itself)."""
        key = " ".join(name_words(phrase))
        out = {key}
        for group in self.synonyms:
            if key in group:
                out.update(group)
        return out

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        data = {"words": self.words, "names": self.names, "synonyms": self.synonyms, "spread": self.spread, "documents": self.documents, "titles": self.titles, "initialisms": self.initialisms}
        (folder / "vocabulary.json").write_text(json.dumps(data, ensure_ascii=False))

    @classmethod
    def load(cls, folder: Path) -> "Vocabulary":
        data = json.loads((folder / "vocabulary.json").read_text(encoding="utf-8"))
        return cls(data["words"], data["names"], data["synonyms"], data["spread"], data["documents"], data["titles"], data["initialisms"])


@dataclass
class VocabularyPart:
    """What one document's chunks give the vocabulary, before the corpus-wide rules (`combine_vocabulary`)."""

    words: dict[str, int]  # word -> count, over the chunks' titles, sections and texts
    titles: list[str]
    sections: list[str]
    phrases: dict[str, int]  # category phrase -> count (a name when the corpus says it twice, ...)
    definitions: list[list[str]]  # [long form, abbreviation] of each definition, in text order
    verbs: list[str]  # words after "to" or a modal
    called: list[list[list[str]]]  # "X (also called Y or Z)": [X's words, [Y, Z]], in text order
    spans: dict[str, int]  # runs of 2-4 words without a stop word between ("duration of untreated psychosis") -> count

    def as_json(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_json(cls, data: dict) -> "VocabularyPart":
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


def vocabulary_part(chunks: Iterable[tuple[str, str, str]]) -> VocabularyPart:
    """The part of one document, from its chunks: (title, section, text) each, in position order."""
    counts: dict[str, int] = {}
    titles: set[str] = set()
    sections: set[str] = set()
    phrases: dict[str, int] = {}
    definitions: list[list[str]] = []
    verbs: set[str] = set()
    called: list[list[list[str]]] = []
    spans: dict[str, int] = {}
    for title, section, text in chunks:
        titles.add(title)
        if section:
            sections.add(section)
        for word in _WORD.findall(f"{title} {section} {text}".lower().replace("’", "'")):
            word = word.split("'")[0]
            if word and word not in STOP_WORDS:
                counts[word] = counts.get(word, 0) + 1
        for match in _category_phrases(text):
            run: list[str] = []  # the words before the category noun, back to a stop word
            for word in reversed(name_words(match.group(1))):
                if word in STOP_WORDS or word.isdigit():
                    break
                run.insert(0, word)
            for size in range(1, len(run) + 1):  # "causes bipolar disorder" counts "bipolar disorder" too
                phrase = " ".join([*run[-size:], *name_words(match.group(2))])
                phrases[phrase] = phrases.get(phrase, 0) + 1
        definitions += [[long, short] for long, short in _definitions(text)]
        _count_spans(text, spans)
        verbs.update(re.findall(r"\b(?:to|can|may|might|will|should|could|would|must|cannot|often|usually)\s+([a-z]+)", text.lower()))
        for match in _ALSO_CALLED.finditer(text) if _CALLED.search(text) else ():
            listed = match.group(2) if match.group(0).count("(") else match.group(2).split(",")[0]
            others = [" ".join(name_words(part)) for part in re.split(r",\s*(?:or\s+)?|\s+or\s+", listed)]
            others = [o for o in others if o and len(o.split()) <= 4 and o.split()[0] not in STOP_WORDS]
            if others:  # the subject is named once every part is in (`combine_vocabulary`)
                called.append([name_words(match.group(1)), others])
    return VocabularyPart(counts, sorted(titles), sorted(sections), phrases, definitions, sorted(verbs), called, spans)


_SPAN_TOKEN = re.compile(r"[a-z]+|[^a-z\s'’/-]+", re.IGNORECASE)  # words, and what ends a run (numbers, punctuation)
_SPAN_LINKS = frozenset({"of", "and"})  # inside a run, not an initial: "duration of untreated psychosis"
MAX_SPAN_WORDS = 4


def _count_spans(text: str, spans: dict[str, int]) -> None:
    """Count every run of 2 to MAX_SPAN_WORDS words (with "of"/"and" between them) that no other stop word, number,
    punctuation or abbreviation breaks: what an abbreviation the corpus never defines may stand for (Vocabulary.expand)."""
    run: list[str] = []
    for typed in [*_SPAN_TOKEN.findall(text), "."]:
        # an abbreviation in the text ends a run too: "ADHD effectively" stands for no "AE"
        token = "." if typed.isupper() and len(typed) > 1 else typed.lower()
        if token.isalpha() and len(token) > 1 and (token not in STOP_WORDS or token in _SPAN_LINKS):
            run.append(token)
            continue
        for start, first in enumerate(run):
            if first in _SPAN_LINKS:
                continue
            size = 0
            for end in range(start, len(run)):
                if run[end] in _SPAN_LINKS:
                    continue
                size += 1
                if size >= 2:
                    span = " ".join(run[start : end + 1])
                    spans[span] = spans.get(span, 0) + 1
                if size == MAX_SPAN_WORDS:
                    break
        run = []


def _initialisms(spans: dict[str, int]) -> dict[str, str]:
    """initials -> the phrase with them that the corpus uses most, when it uses it at least twice as
    often as the next ("bd": "bipolar disorder", 126 to 4); a phrase's plural and singular are one
    ("eating disorders", "eating disorder")."""
    merged: dict[str, list] = {}  # singular key -> [most used form, its count, total]
    for span, count in spans.items():
        key = span[:-1] if span.endswith("s") else span
        entry = merged.setdefault(key, [span, 0, 0])
        if count > entry[1]:
            entry[0], entry[1] = span, count
        entry[2] += count
    grouped: dict[str, list[list]] = {}
    for form, _, total in merged.values():
        initials = "".join(word[0] for word in form.split() if word not in _SPAN_LINKS)
        grouped.setdefault(initials, []).append([form, total])
    out: dict[str, str] = {}
    for initials, found in sorted(grouped.items()):
        found.sort(key=lambda p: (-p[1], p[0]))
        if len(found) == 1 or found[0][1] >= 2 * found[1][1]:
            out[initials] = found[0][0]
    return out


def combine_vocabulary(parts: Sequence[VocabularyPart]) -> Vocabulary:
    """The vocabulary of a corpus from its documents' parts.

    Only the "also called" subjects depend on the parts' order (a subject is looked up among
    the names found so far, and each list adds names): the documents come in the order of
    their file names, each one's chunks in position order, as a new index stores them.
    """
    counts: dict[str, int] = {}
    spread: dict[str, int] = {}
    phrases: dict[str, int] = {}
    spans: dict[str, int] = {}
    titles_found: set[str] = set()
    sections_found: set[str] = set()
    found_verbs: set[str] = set()
    documents = 0
    for part in parts:
        if not part.titles:  # a document without chunks is not in the corpus
            continue
        documents += 1
        titles_found.update(part.titles)
        sections_found.update(part.sections)
        found_verbs.update(part.verbs)
        for word, count in part.words.items():
            counts[word] = counts.get(word, 0) + count
            spread[word] = spread.get(word, 0) + 1
        for phrase, count in part.phrases.items():
            phrases[phrase] = phrases.get(phrase, 0) + count
        for span, count in part.spans.items():
            spans[span] = spans.get(span, 0) + count
    titles, sections = sorted(titles_found), sorted(sections_found)
    names: set[str] = set()
    for heading in [*titles, *sections]:
        main = re.split(r"[:!?]|\s[-–]\s", heading)[0].strip()
        if heading.rstrip().endswith("?") or not 1 <= len(main.split()) <= 6:
            continue  # a question heading ("How is OCD treated?") names nothing new
        names.add(" ".join(name_words(main)))
    groups: list[set[str]] = []
    for part in parts:
        for long, short in part.definitions:
            names.add(long)
            groups.append({long, short})
    verbs = _verb_forms(found_verbs)
    tail_counts: dict[str, set[int]] = {}  # a phrase's word tails -> the counts of the phrases they end
    for phrase, count in phrases.items():
        words = phrase.split()
        for start in range(1, len(words)):
            tail_counts.setdefault(" ".join(words[start:]), set()).add(count)
    for phrase, count in phrases.items():
        words = phrase.split()
        # a name: said twice, neither a verb's object ("treat panic disorder") nor a piece of a longer
        # name (a longer phrase ending with it, said as often)
        if count >= 2 and words[0] not in verbs and count not in tail_counts.get(phrase, ()):
            names.add(phrase)
    for part in parts:  # with the names known: "X (also called Y or Z)" names X by its longest known tail
        for words, others in part.called:
            tails = [" ".join(words[-size:]) for size in range(min(4, len(words)), 0, -1)]
            subject = next((tail for tail in tails if tail in names), None)
            if subject is None and words and words[-1] not in CATEGORY_NOUNS:
                subject = words[-1]
            if subject:
                groups.append({subject, *others})
                names.update(others)
    title_names = sorted({" ".join(name_words(re.split(r"[:!?]", t)[0])) for t in titles})
    return Vocabulary(
        dict(sorted(counts.items())), sorted(n for n in names if n), _merge(groups),
        dict(sorted(spread.items())), documents, title_names, _initialisms(spans),
    )


def _verb_forms(found: set[str]) -> frozenset[str]:
    """Words the corpus uses as verbs ("to treat", "can cause": see `vocabulary_part`), and their -s/-ing/-ed forms."""
    found = found - STOP_WORDS
    return frozenset(found | {f + ending for f in found for ending in ("s", "es", "ing", "ed", "d")} | {f[:-1] + "ing" for f in found if f.endswith("e")})


def _category_phrases(text: str) -> Iterator[re.Match]:
    """_CATEGORY_PHRASE.finditer(text), searched only near a category noun.

    The pattern tries 1-3 words at every position of a text before it looks for the noun:
    over a large corpus, most of the vocabulary's time. Searching from a word start shortly
    before each noun finds the same matches (three words never span _REACH characters).
    """
    position = 0
    while (noun := _NOUN.search(text, position)) is not None:
        start = max(position, noun.start() - _REACH)
        while start > position and _NAME_CHAR.match(text, start - 1):
            start -= 1
        match = _CATEGORY_PHRASE.search(text, start)
        if match is None:
            return
        yield match
        position = match.end()


def _definitions(text: str) -> list[tuple[str, str]]:
    """(long form, abbreviation) pairs defined in `text`: "Obsessive-compulsive disorder (OCD)", "PMS" after ", or"."""
    found = []
    # Each pattern needs a cheap landmark ("(ABBR)", ", or "); most chunks have none, and the
    # patterns try every word of a text without one (a third of the vocabulary's time at scale).
    patterns = [p for p, landmark in ((_DEFINED, _PARENTHESIS.search(text)), (_OR_DEFINED, ", or " in text)) if landmark]
    for pattern in patterns:
        for match in pattern.finditer(text):
            before, short = match.group(1), match.group(2)
            short_key = re.sub(r"s$", "", short) if short.endswith("s") and short[:-1].isupper() else short
            words = before.strip(" ,").split()
            for size in range(2, min(len(words), 8) + 1):  # the shortest tail that the abbreviation fits
                long = " ".join(words[-size:])
                if abbreviates(short_key, long, strict=False):
                    found.append((" ".join(name_words(long)), short_key.lower()))
                    break
    return found


def _merge(groups: list[set[str]]) -> list[list[str]]:
    merged: list[set[str]] = []
    for group in groups:
        touching = [m for m in merged if m & group]
        for m in touching:
            merged.remove(m)
            group = group | m
        merged.append(group)
    return sorted(sorted(g) for g in merged if len(g) > 1)
