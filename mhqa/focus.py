"""What a question is about and what it asks: read once, before the search, and kept with the hits.

    reading = read_question("how long do antidepresants take to work for ppd?", vocabulary)
    reading.focus.names     # ("antidepressants",): the corpus names the question is about
    reading.focus.missing   # (): focus words the corpus never names ("tourette", "schema therapy")
    reading.asks            # "duration": the kind of fact it asks for (asks_for), or None
    reading.yes_no          # False
    states_focus(reading.focus, text)  # whether a text names the focus (or a synonym the corpus gives)

Each word of the question is read against the corpus vocabulary (vocabulary.py), in this order:
shorthand spelled out (resources/shorthand.toml: "dx", "w/", "ur"); a word the corpus uses;
a clinician's word the corpus never uses, read as the plain one it does (resources/plain-words.toml:
"comorbid" as "co-occurring");
an abbreviation the corpus never uses, expanded to the one corpus name it fits ("mdd");
a typo of a corpus word (symspellpy); a compound of two words ("sleepwalking"); a typo of an
everyday English word (one edit from a common word: "wrok"). A word still unknown to the corpus
carries its *rarity*: 0 for an everyday word ("mother", "70") whose absence says little, up to
1 for a word rare in general English (a drug, a therapy, a test) whose absence says a lot.

The focus is the condition, drug, therapy or test the question is about: the longest corpus
names in it (titles, headings, defined terms, "... disorder" phrases), then a condition's name
as people shorten it ("social anxiety", "bipolar": Vocabulary.clipped), else its rarest known
word if that is rare in English too (a drug: "esketamine"). A focus word the corpus never names is *missing*: an unknown word naming a kind of thing
("schema therapy", "narcissistic personality disorder": a word before a category noun), or an
unknown word that is rare in English. The chat (follow-up questions) reuses this module.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from functools import lru_cache

from .language import RESOURCES, english_zipf, zipf
from .lexical import STOP_WORDS, tokenize
from .vocabulary import CATEGORY_NOUNS, Vocabulary, abbreviates, name_words

SHORTHAND_FILE = RESOURCES / "shorthand.toml"
PLAIN_WORDS_FILE = RESOURCES / "plain-words.toml"
EVERYDAY_ZIPF = 4.5  # about once in 30,000 words: a word whose absence from the corpus says nothing
RARE_ZIPF = 2.0  # the floor of the English list: rarer (or not a word at all) is rarity 1
TYPO_ZIPF = 3.0  # below this a word may be a compound ("sleepwalking"); at or above it, it is a word in its own right
ACRONYM_ZIPF = 3.5  # a lower-case word rarer than this may be an abbreviation ("mdd"); typed in capitals, any is
WORD_LIKE_ZIPF = 4.0  # a corpus abbreviation this common in English is a word when typed in lower case ("sad", "act"; not "ptsd", 3.5)
RARE_FOCUS_ZIPF = 3.0  # an unknown word this rare names a thing the corpus lacks
_TOKEN = re.compile(r"[a-z0-9]+(?:/[a-z0-9]*|['’][a-z]+|-[a-z]+)*|[a-z0-9]*/[a-z0-9]+")


def rarity(word: str) -> float:
    """0 for an everyday English word, rising to 1 for a word rare in English (or not in it at all)."""
    if word.isdigit():
        return 0.0
    return min(1.0, max(0.0, (EVERYDAY_ZIPF - zipf(word)) / (EVERYDAY_ZIPF - RARE_ZIPF)))


@lru_cache(maxsize=1)
def shorthand() -> dict[str, str]:
    with SHORTHAND_FILE.open("rb") as handle:
        tables = tomllib.load(handle)
    return {key: value for table in tables.values() for key, value in table.items()}


@lru_cache(maxsize=1)
def plain_words() -> dict[str, str]:
    """Clinicians' words -> the plain words patient brochures use instead ("comorbid": "co-occurring")."""
    with PLAIN_WORDS_FILE.open("rb") as handle:
        return tomllib.load(handle)["plain"]


@dataclass(frozen=True)
class Word:
    typed: str  # as written, lower case
    reads: tuple[str, ...]  # what it stands for: itself, its correction, expansion or halves
    known: bool  # the corpus uses it (or what it stands for)
    rarity: float  # of what it reads as, when unknown (0 when known)
    how: str = "word"  # word, number, shorthand, plain, abbreviation, typo, clipping, compound, english-typo, unknown
    capitals: bool = False  # typed in capitals ("SAD", not "sad")


@dataclass(frozen=True)
class Focus:
    names: tuple[str, ...] = ()  # corpus names the question is about, most specific first
    missing: tuple[str, ...] = ()  # focus words the corpus never names
    missing_rarity: float = 0.0  # the rarity of the rarest missing word
    synonyms: frozenset[str] = frozenset()  # the names and what the corpus says they are the same as

    def __bool__(self) -> bool:
        return bool(self.names or self.missing)


@dataclass(frozen=True)
class Reading:
    question: str
    search: str  # the question for the encoder: shorthand spelled out, typos corrected, abbreviations expanded
    words: tuple[Word, ...]
    focus: Focus
    asks: str | None  # the kind of fact asked for (asks_for), if any
    yes_no: bool  # a yes/no question ("Can X cause Y?")
    predicate: tuple[str, ...] = field(default=())  # stems of the known words that are not the focus

    @property
    def terms(self) -> list[str]:
        """Stems for BM25: the known words' readings."""
        return list(dict.fromkeys(stem for w in self.words if w.known for r in w.reads for stem in tokenize(r)))

    @property
    def unknown(self) -> list[str]:
        return [w.typed for w in self.words if not w.known]

    @property
    def content(self) -> int:
        return len(self.words)

    def search_without(self, typed: str) -> str:
        """The search text less one typed word: what the question says without it."""
        return " ".join(_replace_words(self.search, {typed: ""}).split())


def read_question(question: str, vocabulary: Vocabulary) -> Reading:
    text = question.replace("’", "'")
    words: list[Word] = []
    replacements: dict[str, str] = {}
    expansions: list[str] = []
    for token in dict.fromkeys(_TOKEN.findall(text.lower())):
        typed_upper = bool(re.search(rf"\b{re.escape(token.upper())}\b", text))
        read_as = token
        plural = token.endswith("s") and token not in shorthand() and not vocabulary.knows(token)
        if not typed_upper and plural and re.search(rf"\b{re.escape(token[:-1].upper())}s\b", text):
            read_as, typed_upper = token[:-1], True  # a plural abbreviation: "EDs", "SEs"
        for word in _read(read_as, vocabulary, typed_upper):
            word = replace(word, typed=token) if read_as != token else word
            if word.how in ("shorthand", "plain", "typo", "english-typo", "compound", "clipping"):
                replacements[token] = " ".join(word.reads)
            if word.how == "abbreviation":
                expansions.append(word.reads[0])
            if not _is_stop(word):
                words.append(word)
    search = _replace_words(question, replacements)
    if expansions:
        search = f"{search} ({'; '.join(dict.fromkeys(expansions))})"
    reading_text = " ".join(r for w in words for r in w.reads)
    focus = find_focus(_read_sequence(text, vocabulary), vocabulary)
    focus_stems = {stem for name in focus.synonyms for stem in tokenize(name)}
    predicate = tuple(stem for stem in tokenize(reading_text) if stem not in focus_stems and stem in vocabulary.stems)
    asks = asks_for(search)  # shorthand spelled out: "how many hrs" asks for hours
    return Reading(question, search, tuple(words), focus, asks, is_yes_no(question), tuple(dict.fromkeys(predicate)))


def _is_stop(word: Word) -> bool:
    return all(part in STOP_WORDS for r in word.reads for part in r.split()) or not any(tokenize(r) for r in word.reads)


def _replace_words(text: str, replacements: dict[str, str]) -> str:
    if not replacements:
        return text
    pattern = re.compile(r"(?<![\w/])(" + "|".join(re.escape(k) for k in sorted(replacements, key=len, reverse=True)) + r")(?![\w/])", re.IGNORECASE)
    return pattern.sub(lambda m: replacements[m.group(0).lower()], text)


def _read(token: str, vocabulary: Vocabulary, typed_upper: bool = False) -> list[Word]:
    """How one typed token reads (a shorthand may read as several words)."""
    table = shorthand()
    if token in table:
        return [Word(token, (table[token],), True, 0.0, "shorthand")] if _known_phrase(table[token], vocabulary) else [
            w for part in table[token].split() for w in _read(part, vocabulary)
        ]
    if token.endswith("n't") or token.endswith("n'"):
        return []  # "weren't", "shouldn't": a verb and a negation, both function words
    token = token.split("'")[0].strip("/-")
    if not token:
        return []
    if "-" in token and any(c.isdigit() for c in token):  # "70-year-old"
        return [w for p in token.split("-") if p for w in _read(p, vocabulary)]
    if any(c.isdigit() for c in token):  # "52", "4th", "10mg": a number, however the corpus writes it
        return [Word(token, (token,), vocabulary.knows(token), 0.0, "number")]
    if "/" in token or "-" in token:  # "attention-deficit/hyperactivity", "anti-anxiety"
        parts = [p for p in re.split(r"[/-]", token) if p]
        if all(vocabulary.knows(p) or p in STOP_WORDS for p in parts):
            return [Word(token, (" ".join(parts),), True, 0.0)]
        return [w for p in parts for w in _read(p, vocabulary)]
    if token in STOP_WORDS or vocabulary.knows(token):
        return [Word(token, (token,), True, 0.0)]
    plain = plain_words().get(token)
    if plain is not None and _known_phrase(plain, vocabulary):  # the corpus says it plainly
        return [Word(token, (plain,), True, 0.0, "plain")]
    common = zipf(token)
    if token.isalpha() and (2 < len(token) or typed_upper) and len(token) <= 6 and (common < ACRONYM_ZIPF or typed_upper):
        long = vocabulary.expand(token, strict_only=not typed_upper and common > 0.0)
        if long:
            return [Word(token, (long,), True, 0.0, "abbreviation")]
    if typed_upper:
        return [Word(token, (token,), False, rarity(token), "unknown")]  # an acronym, not a typo
    if common == 0.0 and not token.isdigit():  # not an English word: a typo of a corpus word?
        fixed = vocabulary.correct(token)
        if fixed:
            return [Word(token, (fixed,), True, 0.0, "typo")]
        whole = vocabulary.unclip(token)
        if whole:
            return [Word(token, (whole,), True, 0.0, "clipping")]
    if common < TYPO_ZIPF and not token.isdigit():
        halves = vocabulary.split(token)
        if halves and all(vocabulary.knows(h) for h in halves):
            return [Word(token, halves, True, 0.0, "compound")]
        if halves:
            return [Word(token, halves, False, max(rarity(h) for h in halves), "compound")]
    if common == 0.0 and token.isalpha() and len(token) >= 4:
        guess = english_typo(token)
        if guess:
            known = vocabulary.knows(guess)
            return [Word(token, (guess,), known, 0.0 if known else rarity(guess), "english-typo")]
    return [Word(token, (token,), False, rarity(token), "unknown")]


def _known_phrase(phrase: str, vocabulary: Vocabulary) -> bool:
    return all(part in STOP_WORDS or vocabulary.knows(part) for part in phrase.split())


def english_typo(word: str) -> str | None:
    """The common English word one edit away from `word` ("wrok" -> "work"), the most frequent if several."""
    table = english_zipf()
    letters = "abcdefghijklmnopqrstuvwxyz"
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    candidates = {a + b[1:] for a, b in splits if b}
    candidates |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    candidates |= {a + c + b[1:] for a, b in splits if b for c in letters}
    candidates |= {a + c + b for a, b in splits for c in letters}
    scored = [(table.get(c, 0.0), c) for c in candidates if len(c) > 2]
    best = max(scored, default=(0.0, ""))
    return best[1] if best[0] >= 3.5 else None


def _read_sequence(text: str, vocabulary: Vocabulary) -> list[Word]:
    """The question's words in order, stop words included (names span them: "children and teens")."""
    out: list[Word] = []
    for token in _TOKEN.findall(text.lower()):
        capitals = bool(re.search(rf"\b{re.escape(token.upper())}\b", text))
        out.extend(replace(word, capitals=capitals) for word in _read(token, vocabulary, capitals))
    return out


def find_focus(sequence: list[Word], vocabulary: Vocabulary) -> Focus:
    """The corpus names in the question (longest first), and the focus words the corpus never names."""
    readings = [part for w in sequence for r in w.reads for part in name_words(r)]
    joined = " " + " ".join(readings) + " "
    candidates = sorted({*vocabulary.names, *(n for g in vocabulary.synonyms for n in g)}, key=lambda n: -len(n))
    # an abbreviation that is also an everyday word ("SAD", "ACT") names something only in capitals
    lowered = {w.typed for w in sequence if not w.capitals and zipf(w.typed) >= WORD_LIKE_ZIPF}
    abbreviations = {n for group in vocabulary.synonyms for n in group if any(abbreviates(n, other, strict=False) for other in group if other != n)}
    found: list[str] = []
    covered = joined
    for name in candidates:
        if name in abbreviations and name in lowered:
            continue
        if f" {name} " in covered and vocabulary.specific(name):
            found.append(name)
            covered = covered.replace(f" {name} ", " | ")
    for rest, name in vocabulary.clipped.items():  # "social anxiety", longest first
        if f" {rest} " in covered and name not in found:
            found.append(name)
            covered = covered.replace(f" {rest} ", " | ")
    missing: list[str] = []
    weight = 0.0
    for position, word in enumerate(sequence):
        if word.known or word.how == "number":
            continue
        if _before_category(sequence, position) or zipf(word.reads[0]) < RARE_FOCUS_ZIPF:
            missing.append(word.typed)
            weight = max(weight, word.rarity)
    if not found:  # no corpus name: the rarest known words stand for the focus
        known = [
            r for w in sequence if w.known and w.typed not in STOP_WORDS and not w.typed.isdigit()
            for r in w.reads if not _generic(r, vocabulary) and all(vocabulary.spread.get(p, 0) <= vocabulary.documents / 4 for p in r.split())
        ]
        rare = sorted(known, key=lambda r: min((zipf(p) for p in r.split()), default=9.0))
        found = [r for r in rare[:1] if min(zipf(p) for p in r.split()) < RARE_FOCUS_ZIPF]
    synonyms = {s for name in found for s in vocabulary.synonyms_of(name)}
    synonyms.update(rest for name in list(synonyms) for rest in vocabulary.shortened.get(name, ()))  # a text may say "bipolar" too
    return Focus(tuple(found), tuple(missing), weight, frozenset(synonyms))


def _before_category(sequence: list[Word], position: int) -> bool:
    """Whether the word at `position` is in a name: before a category noun, with only names between ("schema therapy")."""
    for word in sequence[position + 1 : position + 4]:
        reads = " ".join(word.reads).split()
        if any(r in CATEGORY_NOUNS for r in reads):
            return True
        if word.typed in STOP_WORDS or word.how == "shorthand" or word.typed.isdigit():
            return False
    return False


def _generic(reading: str, vocabulary: Vocabulary) -> bool:
    return all(part in CATEGORY_NOUNS or not vocabulary.specific(part) for part in reading.split())


def mention(question: str, vocabulary: Vocabulary) -> str | None:
    """What a question without a focus talks about, for a follow-up to point back to (conversation.py).

    Of the words at most a quarter of the documents use, the rarest in English that is a word
    of a corpus name or rare in English itself, with such narrow words right after it:
    "what is psychosis" -> "psychosis", "i keep getting panic attacks" -> "panic attacks".
    None when the question has no such word.
    """
    sequence = [w for w in _read_sequence(question.replace("’", "'"), vocabulary) if not w.typed.isdigit()]
    named = vocabulary.name_words
    parts = [[p for r in w.reads for p in r.split()] for w in sequence]
    narrow = [
        w.known and not _is_stop(w) and all(vocabulary.spread.get(p, vocabulary.documents) <= vocabulary.documents / 4 for p in ps)
        for w, ps in zip(sequence, parts)
    ]
    candidates = [i for i, ps in enumerate(parts) if narrow[i] and any(p in named or zipf(p) < RARE_FOCUS_ZIPF + 1 for p in ps)]
    if not candidates:
        return None
    rarest = min(candidates, key=lambda i: min(zipf(p) for p in parts[i]))
    end = rarest + 1
    while end < len(sequence) and narrow[end]:  # the words after it, as in "panic attacks"
        end += 1
    return " ".join(dict.fromkeys(w.typed for w in sequence[rarest:end]))


def states_focus(focus: Focus, text: str) -> bool:
    """Whether `text` names the focus or a synonym the corpus gives (True when there is no known focus)."""
    if not focus.names:
        return True
    words = " " + " ".join(name_words(text)) + " "
    stems = " " + " ".join(tokenize(text)) + " "
    for name in focus.synonyms:
        if f" {name} " in words or f" {' '.join(tokenize(name))} " in stems:
            return True
    return False


# --- what a question asks ----------------------------------------------------------------------

# (kind, question pattern, pattern a supporting sentence must match), tried in this order.
_NUMBER_WORDS = r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|hundred|dozen|half)"
FACT_TYPES = [
    ("cost", r"\b(cost|costs|price|how much .{0,40}\b(pay|charge|spend)|covered by insurance|insurance cover)", r"\$\s?\d|\bdollars?\b|\b(cost|price|insurance)\b"),
    ("dose", r"\b(dos(e|es|ing|age|ages)|mg|milligrams?|iu|units|how much .{0,30}\b(take|give|prescribe)|target (level|range)|blood levels?|serum levels?)\b", r"\b\d+(\.\d+)?\s?(mg|milligrams?|micrograms?|mcg|iu|units|mmol|meq)\b"),
    ("percentage", r"(\b(percent|percentage|what share|what proportion|what fraction|how many (people|adults|children|kids|women|men|teens|americans|patients|moms|mothers)|how common|prevalence|success rate|recovery rate|rate of)\b|%)", rf"\d+(\.\d+)?\s?(%|percent)|\b{_NUMBER_WORDS}[\d,]*\s+(\w+\s+){{0,2}}(in|out of|of|per)\s+(every\s+)?{_NUMBER_WORDS}[\d,]*\b|\b(million|billion|majority|minority|half of|third of|quarter of)\b"),
    ("frequency", r"\b(how often|how frequently|how many times)\b", rf"\b(daily|weekly|monthly|yearly|annually|every (day|week|month|year|\d+)|{_NUMBER_WORDS} times? (a|per|each)|once (a|per)|twice)\b"),
    ("age", r"\b(what age|which age|how old|at what age|age of onset|youngest age|minimum age|ages? (does|do|can|is)|by what age)\b", r"\b(ages?|aged)\b|\b\d+\s?(years?|-year)[- ]old\b|\b(teens?|childhood|adolescen\w*|adulthood|infancy|preschool)\b"),
    ("duration", r"\b(how long|how many (weeks|months|years|days|hours|minutes|sessions)|how soon|how quickly|how fast|duration)\b", rf"\b({_NUMBER_WORDS}|a|an|a couple of|a few|several|few|many)\s?(-|–|−|to)?\s?{_NUMBER_WORDS}?\s?(minutes?|hours?|days?|weeks?|months?|years?|sessions?)\b"),
    ("number", r"\b(how many|number of|how much)\b|#", rf"\b{_NUMBER_WORDS}\b"),
    ("person", r"\b(who (developed|invented|created|discovered|founded|wrote|first)|whose|named after)\b", r"\b(Dr\.|[A-Z][a-z]+ [A-Z][a-z]+ (developed|created|invented|founded))"),
    ("comparison", r"\b(best|most effective|safest|first choice|least \w+)\b|\b(better|worse|safer|stronger|more \w+|less \w+) than\b|\b(or|versus|vs\.?)\b.{0,40}\b(better|worse|safer|best|more|less|faster)\b|\bwhich (one|is|works)\b.{0,30}\b(better|more|less|best|first)\b", r"\b(best|better|most effective|more effective|less effective|gold standard|first[- ]line|first choice|preferred|superior|least|fewer|compared (to|with)|than)\b"),
    ("name", r"\b(which (\w+ ){0,2}(drugs?|medications?|medicines?|ssris?|snris?|antidepressants?|antipsychotics?|brands?|pills?|apps?|tests?|ones?)|what (brand|drug|medication|medicine) names?|brand names?|names? of)\b", r"\b[a-z]{3,}(?:xetine|traline|pine|pion|olone|pram|zepam|zolam|thium|proate|idone|azole|amine|apine|etine|ipramine|ine)\b"),
]

FACT_WORDS = {
    "cost": "a cost", "dose": "a dose", "percentage": "a percentage or rate", "frequency": "how often",
    "age": "an age", "duration": "a duration", "number": "a number", "person": "a person's name",
    "comparison": "a ranking or comparison", "name": "a specific name",
}
_YES_NO = re.compile(r"\W*(is it true|should|can|could|does|do|did|is|are|was|were|will|would|has|have|may|might)\b", re.IGNORECASE)


_MODALS = frozenset("can could may might must should will would".split())
_PARTICIPLES = re.compile(r"\w+ed|known|thought|given|shown|seen|made")  # "It is used to treat ...": what the "it" before did
EXTRAPOSED_TAIL = frozenset("to that if whether when how".split())


def extraposed_it(words: list[str], i: int) -> bool:
    """Whether the "it" at `words[i]` stands for what follows rather than for something said before:
    "is it safe to ...", "it's normal that ...", "is it true ...", "It can be difficult to know ...".

    `words`: lower case, apostrophes kept ("it's", "isn't"). A form of "be" joins the "it" (after
    it, or before it in a question); then at most two words, no article ("It is an illness that ..."
    refers back) and no participle before "to" ("It is used to treat ..."), then the clause it
    stands for: to, that, if, whether, when or how, or "for ... to"; or "worth" and a gerund ("is it
    worth getting him evaluated").
    """
    after = words[i + 1 :]
    if words[i] == "it's":
        rest = after
    elif after[:1] in (["is"], ["was"], ["isn't"]):
        rest = after[2:] if after[1:2] == ["not"] else after[1:]
    elif after[:1] and after[0] in _MODALS and after[1:2] == ["be"]:
        rest = after[2:]
    elif i > 0 and words[i - 1] in ("is", "was", "isn't", "be"):
        rest = after
    else:
        return False
    if rest[:1] == ["true"] or (rest[:1] == ["worth"] and rest[1:2] and rest[1].endswith("ing")):  # "is it worth trying ..."
        return True
    for size in (1, 2):
        between, tail = rest[:size], rest[size : size + 1]
        if tail == ["for"] and "to" in rest[size + 1 : size + 8]:
            tail = ["to"]  # "It is common for people with OCD to ...": a for-to clause; not "is it safe for the baby?"
        if len(between) < size or not tail or tail[0] not in EXTRAPOSED_TAIL:
            continue
        if any(word in ("a", "an", "the") for word in between):
            return False
        return tail[0] != "to" or not _PARTICIPLES.fullmatch(between[-1])
    return False


def is_yes_no(question: str) -> bool:
    """A question that asks whether, not what: "Can stress cause panic attacks?", "is it normal to ..."."""
    last = re.split(r"(?<=[.!?])\s+", question.strip())
    return any(_YES_NO.match(part) for part in last if part.rstrip().endswith("?")) or bool(_YES_NO.match(question))


def asks_for(question: str) -> str | None:
    """The kind of fact the question asks for (a dose, a percentage, a name...), if any."""
    lowered = question.lower()
    yes_no = re.match(r"\W*(why|is it true|should|can|could|does|do|is|are)\b", lowered)
    for kind, asks, _ in FACT_TYPES:
        if re.search(asks, lowered) and (not yes_no or kind == "comparison"):
            return kind  # a reason or a yes/no asks for no figure, but "is X or Y better" asks for a ranking
    return None


_TIME_UNITS = r"(minute|hour|day|week|month|year|session)s?"
# A dose question asks for an amount when it names a unit, a level or a point on the scale;
# otherwise ("dosing", "the dose relative to ...") a statement about the dose answers it.
_AMOUNT = re.compile(r"\b(mg|milligrams?|mcg|iu|units|how much|what dose|which dose|starting|start|target|max(imum)?|min(imum)?|daily|levels?|range|per day|a day)\b", re.IGNORECASE)
_DOSE_STATED = re.compile(r"\b(higher|lower|highest|lowest|larger|smaller|high|low|small|large|increased?|reduced?|adjusted|same|different)\s+(\w+\s+)?dos(e|es|ing|age)\b", re.IGNORECASE)
_COUNTED = re.compile(r"\b(?:how many|number of|#\s*of)\s+([a-z]{3,})(?:\s+([a-z]{3,}))?", re.IGNORECASE)
_DIMENSION = re.compile(r"\b(?:more|less|most|least)\s+([a-z]{3,})", re.IGNORECASE)


def supports(kind: str, text: str, question: str) -> bool:
    """Whether `text` states a fact of that kind about what is asked.

    A name must be one the question did not give; "how many sessions" needs a number of
    sessions, not any number; "more common" needs a comparison of how common.
    """
    pattern = next(supported for name, _, supported in FACT_TYPES if name == kind)
    flags = 0 if kind == "person" else re.IGNORECASE
    if kind == "name":
        asked = set(re.findall(r"[a-z]+", question.lower()))
        return any(word not in asked for word in re.findall(pattern, text.lower()))
    if kind == "dose" and not _AMOUNT.search(question) and _DOSE_STATED.search(text):
        return True  # "dosing relative to MDD?" is answered by "higher doses", not only by an amount
    if not re.search(pattern, text, flags):
        return False
    counted = _COUNTED.search(question) if kind in ("number", "duration") else None
    if counted and kind == "duration" and not re.fullmatch(_TIME_UNITS, counted.group(1).lower()):
        counted = None  # "the duration and number of symptoms": the count is another question
    if counted:  # a number at most three words before the counted noun ("two weekly group sessions")
        nouns = {stem for word in counted.groups() if word for stem in tokenize(word)}
        words = re.findall(r"[a-z0-9]+", text.lower())
        stems = [tokenize(w)[:1] for w in words]
        return any(
            stem and stem[0] in nouns and any(re.fullmatch(_NUMBER_WORDS, w) for w in words[max(0, i - 3) : i])
            for i, stem in enumerate(stems)
        )
    dimension = _DIMENSION.search(question) if kind == "comparison" else None
    if dimension and dimension.group(1).lower() not in STOP_WORDS:
        return bool(set(tokenize(dimension.group(1))) & set(tokenize(text)))
    return True
