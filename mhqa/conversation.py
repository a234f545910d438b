"""Follow-up questions: what a question leans on in the conversation, and how it is read.

    context = Context()                                   # a new conversation (and after /new)
    turn = resolve("what is OCD?", reading, context, vocabulary)
    turn.read_as, turn.fragment                           # None, False: it has a focus of its own
    turn = resolve("how is it treated?", reading, turn.context, vocabulary)
    turn.read_as                                          # "how is OCD treated?": retrieved, and shown

A question with a focus of its own (focus.py: the condition, drug or therapy it is about;
where focus.py finds none, the narrow words it names, focus.mention: "psychosis", "panic
attacks") starts a new topic and never inherits one; words that stand in for a focus do so
only when no pronoun in the question points back ("can I get accommodations at work for it?").
Any other question leans on the conversation's *topic*, the latest turn that
had one, and is rewritten; the rewrite is what is retrieved:
  - "why is that?" asks why of the topic's question: "why is depression more common in women?"
  - a phrase that adds to the topic's question is added to it: "and in kids?" ->
    "how is bipolar disorder treated in kids?"
  - a pronoun that agrees in number with the topic is replaced by it: "how is OCD treated?"
    (or with another thing its question named: "stimulants for his ADHD" + "how do they work?");
    when the story named a condition and something else, the one the pronoun's clause fits comes
    first (a treatment "works", is taken, is "on"; a condition is "genetic", has meds "for it")
  - a pronoun that agrees with neither means something else the last question said: that
    question leads ("what meds are used for schizophrenia — what if those don't help?")
  - otherwise the topic leads: "panic disorder: side effects?"
Two short forms with a focus keep the topic's question: "and schizophrenia?" after "when
does OCD start?" asks the same of schizophrenia (when both are conditions, or both
treatments), and a bare name after a refused fragment ("of clozapine" after "side
effects?") completes that fragment.

A statement with a focus of its own adds to the story rather than starting afresh: "my partner
has bpd", "she just started dbt", then "should i see her therapist too?" is read "dbt, borderline
personality disorder: ...", and a pronoun may mean either (Topic.thread; a question with a focus of its own starts afresh).

A lead with a new name asks the topic's question of it even when the name is only a narrow
word, not a focus ("how about for anorexia?" after "how is bulimia treated?"). A follow-up
that points back and names a corpus word of its own makes that the topic ("is that
psychosis?": a later "it" means psychosis). A turn that says it changes the subject
("different question: ...", "unrelated, but ...", "on another note, ...") is read as if the
conversation had just begun.

With no topic yet, a first question that names nothing is itself what a follow-up leans on.
A question that *points back* with no topic and nothing named is a *fragment*: a pronoun in its first clause ("it", "them", "those"; not the "it" of
"is it safe to ...", nor a "they" that stands for "my friend" or "antidepressants" named before it,
nor one after the person's own account, "my son keeps lying, is it a phase?") or an
ellipsis ("and in kids?", "what about side effects?", "side effects?"). It is refused with
a prompt for what is meant (answer.FRAGMENT_PROMPT), in `ask` as in `chat`. A message that
raised the crisis resources and asks nothing is read as typed (never rewritten: it is not a
question about the topic), and is a fragment only on the same terms; one that asks something is
read like any other turn, after the resources.

Plain functions over small records: nothing is read from the index or the corpus per turn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .focus import Reading, extraposed_it, mention, read_question, shorthand
from .lexical import tokenize
from .vocabulary import CONDITION_NOUNS, Vocabulary, name_words

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# Words that start a question or a request: such a turn asks something of its own.
QUESTION_WORDS = frozenset(
    """what whats what's how hows how's why when where who which whose is are was were do does did can could
    should would will has have had may might must tell explain describe define list give show""".split()
)
AUXILIARIES = frozenset("is are was were do does did can could should would will has have had may might must".split())
PREPOSITIONS = frozenset("in for with without during among after before at on of while under over from about to".split())
# Discourse words before the question proper ("ok so ...", "sorry - ..."), and ellipsis leads.
_FILLER = re.compile(r"^(?:\W*\b(?:ok|okay|so|well|alright|right|hmm+|um+|sorry|thanks|thank you|great|cool|yes|yeah|no|now|oh)\b)+\W*")
_CONJUNCTION = re.compile(r"^(?:and|but|or|also|plus|then)\b\W*")
_LEAD = re.compile(r"^(?:and|but|or|also|plus|then|what about|how about)\b\W*")
_CLARIFYING = re.compile(
    r"^(?:i mean|i meant|i'm talking about|im talking about|i was asking about|talking about|asking about|regarding|about)\b\W*|\W*\b(?:i mean|i meant)\W*$",
    re.IGNORECASE,
)
# Words that say the conversation so far does not apply: "different question", "unrelated, but", "on another note".
_NEW_TOPIC = re.compile(
    r"^(?:(?:a|one|my)\s+)?(?:(?:totally|completely|slightly|kind of|kinda|somewhat|more)\s+)?"
    r"(?:different|other|another|new|separate|unrelated|general|random|quick|diff)\s+(?:q|qn|qs|question|questions|thing|topic|subject|issue|note)\b\W*"
    r"|^(?:unrelated|off topic|off-topic|switching gears|switching topics?|changing (?:the )?(?:subject|topic)|change of (?:subject|topic)|new topic)\b(?:\s+but)?\W*"
    r"|^on (?:a|an)?\s*(?:different|other|another|unrelated|separate|related) (?:note|topic|subject)\W*"
)
_WHY = re.compile(r"^(?:why|how come)(?: is that| is it| so| that is)?\W*$")
# Words that frame a question without saying what it asks ("tell me about OCD").
FRAME = frozenset(tokenize("tell explain describe define know learn talk mean specifically exactly though tho really actually basically please"))
PLURAL_PRONOUNS = {"they": "", "them": "", "their": "'"}
SINGULAR_PRONOUNS = {"it": "", "its": "'s"}
TREATMENT_NOUNS = frozenset(
    """therapy therapies psychotherapy treatment treatments stimulation medication medications medicine medicines
    inhibitor inhibitors antidepressant antidepressants antipsychotic antipsychotics stabilizer stabilizers""".split()
)
_QUESTION_WORD = "|".join(sorted(QUESTION_WORDS - {"list", "give", "show"}))
# Where a question's first clause ends: a sentence's end, or a comma, dash, "and", "but" or "or" before
# another question ("does stress go away ... or does it stick around").
_CLAUSE = re.compile(rf"[.?!;]+\s*|\s*(?:,|\s[-–—]+|\s+and|\s+but|\s+or)\s+(?=(?:and\s+|but\s+|or\s+)?(?:{_QUESTION_WORD})\b)", re.IGNORECASE)
# People a "they" or "their" may stand for within the question itself.
PEOPLE = frozenset(
    """someone somebody anyone anybody everyone everybody people person friend friends child children kid kids teen
    teens teenager teenagers student students parent parents son sons daughter daughters partner husband wife
    patient patients family adults women men doctor doctors provider providers clinicians users individuals""".split()
)


POSSESSIVES = frozenset("my his her our your their".split())
MAX_THREAD = 2  # earlier subjects a statement keeps in the story (Topic.thread)


@dataclass(frozen=True)
class Topic:
    subject: str | None  # what a rewrite calls it: the person's words, else the corpus name (None: it names nothing)
    question: str  # the latest question about it, as read
    asks: bool  # that question asks something of the subject besides naming it
    others: tuple[str, ...] = ()  # other things that question named, which a pronoun may mean ("stimulants")
    thread: tuple[str, ...] = ()  # what the story so far was about, when a statement added to it ("ocd")

    @property
    def subjects(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(subject for subject in (self.subject, *self.others, *self.thread) if subject))


@dataclass(frozen=True)
class Context:
    topic: Topic | None = None
    pending: str | None = None  # the last question, refused as a fragment: a name given next completes it


@dataclass(frozen=True)
class Turn:
    text: str  # what is retrieved: the rewrite, or the question as typed
    read_as: str | None  # the rewrite, when there is one
    fragment: bool  # points back at nothing: refused with a prompt for what is meant
    context: Context  # the conversation after this turn


def resolve(question: str, reading: Reading, context: Context, vocabulary: Vocabulary, crisis: bool = False) -> Turn:
    """How `question` (its reading by focus.read_question) is read after `context`.

    `crisis`: the message raised the crisis resources. If it also asks nothing, it is read as typed,
    never rewritten (it is not a question about the topic), and refused as a fragment only on the same
    terms as others. One that asks something is read like any other turn, the resources still first:
    the classifier's threshold is set for recall, so it also flags everyday follow-ups ("what meds
    help", "is it genetic? kinda scared"), and those lean on the conversation like the rest.
    """
    crisis = crisis and not asks_something(question)
    rest = _after_changed_topic(question)
    if rest is not None and not _points_back(rest):
        # "different question: ...": the person says the conversation so far does not apply
        if not rest:
            return Turn(question, None, False, Context())
        turn = resolve(rest, read_question(rest, vocabulary), Context(), vocabulary, crisis)
        return Turn(question, None, turn.fragment, turn.context)
    core = _core(question)
    if reading.focus and context.pending and not _asks_itself(core) and not crisis:
        return _clarify(question, core, reading, context.pending, vocabulary)
    own_focus = _own_focus(question, reading, vocabulary)
    subject = _subject(question, reading, vocabulary)  # without a focus, the narrow words it names
    topic = context.topic
    asks_more = _predicate(reading) - set(tokenize(subject or ""))  # besides naming its subject
    if (own_focus or subject) and topic is not None and topic.subject and topic.asks and _led(question) and not asks_more and not crisis:
        if _treatment(topic.subject, vocabulary) == _treatment(subject or "", vocabulary):  # "how about for anorexia?"
            return _same_question(question, reading, topic, vocabulary)
    if own_focus:
        return Turn(question, None, False, Context(_told(_topic(question, reading, vocabulary), question, topic)))
    if crisis or context.topic is None or (subject and not _points_back(question)):
        if context.topic is None and subject is None and ((_points_back(question) and not _tells_its_own(question, reading, vocabulary)) or _elliptic(question, core)):
            return Turn(question, None, True, Context(pending=question))
        topic = context.topic
        if subject or (topic is None and not crisis):  # a first question that names nothing: a follow-up leans on all of it
            topic = _told(Topic(subject, question, bool(_predicate(reading))), question, context.topic)
        return Turn(question, None, False, Context(topic))
    text, about = rewrite(question, core, topic, vocabulary)
    asks = topic.asks or bool(_predicate(reading))
    if subject and _named(subject, vocabulary) and subject.lower() not in (s.lower() for s in topic.subjects):
        # "could that be psychosis?": what it names is what a later pronoun means
        return Turn(text, text, False, Context(Topic(subject, about, asks, topic.subjects)))
    return Turn(text, text, False, Context(Topic(topic.subject, about, asks, topic.others, topic.thread)))


def _told(topic: Topic, message: str, before: Topic | None) -> Topic:
    """A statement adds to the story so far ("my partner has bpd" + "she just started dbt"): the
    new topic keeps what the earlier one was about, for a follow-up that leans on both ("should i
    go to her therapist too?" reads "dbt, borderline personality disorder: ..."). A question with a
    focus of its own starts afresh. At most MAX_THREAD earlier subjects are kept."""
    if before is None or asks_something(message):
        return topic
    kept = [s for s in before.subjects if s.lower() not in (t.lower() for t in topic.subjects) and s.lower() not in message.lower()]
    return Topic(topic.subject, topic.question, topic.asks, topic.others, tuple(kept[:MAX_THREAD]))


def rewrite(question: str, core: str, topic: Topic, vocabulary: Vocabulary) -> tuple[str, str]:
    """`question`, which has no focus of its own, read with `topic` (the module doc's readings, in order);
    and what the topic's question becomes."""
    base = topic.question.rstrip(" ?.!")
    if _WHY.match(core.lower()) and _words(base)[:1] and _words(base)[0] in AUXILIARIES:
        text = f"why {base[0].lower()}{base[1:]}?"
        return text, text
    if _added_phrase(core):
        text = f"{base} {core.rstrip(' ?.!')}?"
        return text, text
    question = _plain(question)
    substituted = _substitute(question, _ordered(question, topic, vocabulary))
    if substituted is not None:
        return substituted, substituted
    together = f"{base} — {question}"
    if topic.subject is None:
        return together, together
    own = f"{', '.join((topic.subject, *topic.thread))}: {question}"
    if _points_back(question):  # "those", "they": something the last question named, not its subject
        return together, own
    return own, own


# --- reading the turn ------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return _TOKEN.findall(text.lower().replace("’", "'"))


def _after_filler(question: str) -> str:
    text = question.strip().replace("’", "'")
    found = _FILLER.match(text.lower())
    return text[found.end() :] if found else text


def _led(question: str) -> bool:
    """Whether the question opens with an ellipsis lead: "and ...", "what about ..."."""
    return bool(_LEAD.match(_after_filler(question).lower()))


def _plain(question: str) -> str:
    """The question without its discourse words and a leading conjunction: "ok and how is it treated?" -> "how is it treated?"."""
    text = _after_filler(question)
    found = _CONJUNCTION.match(text.lower())
    return text[found.end() :] if found and text[found.end() :] else text


def _core(question: str) -> str:
    """The question without its discourse words and ellipsis lead: "ok and in kids?" -> "in kids?"."""
    text = _after_filler(question)
    found = _LEAD.match(text.lower())
    return text[found.end() :] if found else text


def _asks_itself(core: str) -> bool:
    """Whether a turn is a question or request of its own, not just a name ("of clozapine", "ocd?")."""
    words = _words(core)
    return bool(words) and words[0] in QUESTION_WORDS


def asks_something(message: str) -> bool:
    """A question mark, a clause that opens with a question word ("..., what can i do"), or a
    question word, a noun and a verb inside a clause ("ok if its dmdd what meds would they try"; not
    the told "i don't know what is wrong" or "what i should do"): the message asks, rather than only
    tells (policy.crisis_statement)."""
    table = shorthand()  # "wat are the signs", "hows it treated"
    text = re.sub(r"[a-z0-9/']+", lambda word: table.get(word.group(0), word.group(0)), message.lower())
    clauses = re.split(r"[.,;:!\n]+|\s[-–—]+\s|\b(?:and|but|so)\b", text)
    return "?" in message or bool(_ASKED_INSIDE.search(text)) or any(_words(clause)[:1] and _words(clause)[0] in QUESTION_WORDS for clause in clauses)


# A question word, a word that is no pronoun, and a verb, inside a clause: "... what meds would they try".
_ASKED_INSIDE = re.compile(r"\b(?:what|how|why|when|where|which|who)\s+(?!(?:to|i|you|he|she|we|they|it|that|this)\b)[a-z']+\s+(?:is|are|do|does|did|can|could|should|would|will|might)\b")


def _own_focus(question: str, reading: Reading, vocabulary: Vocabulary) -> bool:
    """A focus the corpus names, or a name it lacks; a rare word standing in for a focus
    ("accommodations") is one only when no pronoun points back ("... for it?")."""
    focus = reading.focus
    if focus.missing:
        return True
    return any(name in vocabulary.every_name for name in focus.names) or (bool(focus.names) and not _points_back(question))


def _predicate(reading: Reading) -> set[str]:
    return set(reading.predicate) - FRAME


def _points_back(question: str) -> bool:
    """A pronoun or demonstrative in the question's first clause that refers to something said before."""
    words = _first_clause(question)
    return any(_refers(words, i) for i in range(len(words)))


def _first_clause(question: str) -> list[str]:
    """The words up to the question's first sentence or clause break: a pronoun after one
    ("what is OCD, and how is it treated?") refers to what came before it in the question."""
    return _words(_CLAUSE.split(_after_filler(question), maxsplit=1)[0])


def _refers(words: list[str], i: int) -> bool:
    word = words[i]
    if word in ("its", "their") and words[i + 1 : i + 2] == ["own"]:  # "on its own", "on their own": an idiom, no name fits in it
        return False
    if word in ("they", "them", "their", "theirs", "themselves"):  # not when they are the people just named
        return not PEOPLE.intersection(words[:i])
    if word in ("these", "those", "this", "ones"):  # not "this year", "these days"
        return words[i + 1 : i + 2] not in (["year"], ["week"], ["month"], ["morning"], ["time"], ["days"], ["weekend"])
    if word in ("it", "its", "it's"):  # not "is it safe to ...", "how do I know if it's ..."
        return not extraposed_it(words, i) and words[max(0, i - 2) : i] not in (["know", "if"], ["tell", "if"], ["know", "whether"], ["tell", "whether"])
    if word == "one":  # "which one works best", "is that one safer"; not "one of my kids", "no one"
        return i > 0 and words[i - 1] in ("which", "that", "this")
    if word == "that":  # "why is that", "does that help"; not "true that", "medicines that help"
        return i == len(words) - 1 or i == 0 or words[i - 1] in AUXILIARIES or words[i - 1] in PREPOSITIONS
    return False


def _tells_its_own(question: str, reading: Reading, vocabulary: Vocabulary) -> bool:
    """Whether the question says, before the first pronoun that would point back, what it means: a
    person's own account ("my sister keeps washing her hands til they bleed", "my son keeps lying, is
    it a phase?") or, for "they", treatments or a corpus name's plural word named before it
    ("antidepresants how long till they work"; not "the side effects of them"). A first question
    like it is no fragment."""
    words = _first_clause(question)
    first = next((i for i in range(len(words)) if _refers(words, i)), len(words))
    # "my son", "her therapist"; not the object "her" of "help her with that"
    if any(word in POSSESSIVES and i + 1 < first and words[i + 1] not in PREPOSITIONS for i, word in enumerate(words[:first])):
        return True
    if first == len(words) or words[first] not in PLURAL_PRONOUNS:
        return False
    named = TREATMENT_NOUNS | vocabulary.name_words
    reads = {w.typed: [part for r in w.reads for part in r.split()] for w in reading.words}
    return any(_plural(part) and part in named for word in words[:first] for part in reads.get(word, ()))


def _elliptic(question: str, core: str) -> bool:
    """ "and in kids?", "what about adults", "for teens?", "side effects?": a piece of a question."""
    words = _words(core)
    if not words:
        return False
    if words[0] in PREPOSITIONS:  # "in kids?", but not "at what age ...?"
        return len(words) < 2 or words[1] not in QUESTION_WORDS
    return _led(question) or (len(words) <= 3 and words[0] not in QUESTION_WORDS)


def _added_phrase(core: str) -> bool:
    """A short phrase led by a preposition, with no pronoun in it: "in kids?", "for teenagers specifically?"."""
    words = _words(core)
    return bool(words) and words[0] in PREPOSITIONS and len(words) <= 5 and not _points_back(core)


def _after_changed_topic(question: str) -> str | None:
    """What follows "different question: ...", "unrelated, but ...", "new q - ...", where the person
    starts over; None without such words."""
    text = _after_filler(question)
    found = _NEW_TOPIC.match(text.lower())
    return text[found.end() :] if found else None


def _named(subject: str, vocabulary: Vocabulary) -> bool:
    """Whether every word of a subject is a word of a corpus name ("psychosis"; not "families")."""
    return all(word in vocabulary.topic_words for word in _words(subject))


def _plural(subject: str) -> bool:
    """Whether a name is plural, by its head word: "panic attacks", not "ADHD in adults"."""
    head = re.split(r"\s+(?:in|for|of|with|on|at|during|among|and|or)\s+", subject.lower())[0].split()[-1]
    return len(head) > 3 and head.endswith("s") and not head.endswith(("ss", "is", "us"))


# What a pronoun's own clause says it stands for: a treatment is taken, works, is safe or addictive
# ("does it work?", "on it"); a condition runs in families, is diagnosed, treated or outgrown ("is
# it genetic?", "meds for it"). Everyday English, not the corpus's words, and none of the words
# only a labelled conversation used ("kick in", "hooked", "given", "covered").
_TREATMENT_CUES = frozenset(
    """work works working worked help helps helped effective addictive addicting dose dosage doses prescribe
    prescribed take taking took stop stopping quit wean safe safer start starting started interact interacts
    interaction interactions""".split()
)
_CONDITION_CUES = frozenset(
    """genetic hereditary inherited families family cause causes caused diagnose diagnosed diagnosis treat treated
    treatable cure cured curable symptoms symptom signs common contagious outgrow permanent lifelong chronic prevent
    prevented""".split()
)


def _ordered(question: str, topic: Topic, vocabulary: Vocabulary) -> Topic:
    """The topic with the subjects a pronoun's clause fits put first: "how fast does it work?"
    after "my mom has depression" + "her psych mentioned esketamine" means the drug, "is there one
    approved for it?" the condition. Unchanged when the clause says neither, or names both kinds."""
    words = _first_clause(question)
    at = next((i for i, word in enumerate(words) if word in {**PLURAL_PRONOUNS, **SINGULAR_PRONOUNS} and _refers(words, i)), None)
    if at is None or len(topic.subjects) < 2:
        return topic
    before = words[at - 1] if at else ""
    cues = set(words) - {words[at]}
    wants_condition = before in ("for", "with") or bool(cues & _CONDITION_CUES)
    wants_treatment = before in ("on", "off") or bool(cues & _TREATMENT_CUES)
    if wants_condition == wants_treatment:
        return topic
    fits = [subject for subject in topic.subjects if _condition(subject, vocabulary) == wants_condition]
    rest = [subject for subject in topic.subjects if subject not in fits]
    if not fits:
        return topic
    return Topic(fits[0], topic.question, topic.asks, tuple(fits[1:] + rest))


def _condition(subject: str, vocabulary: Vocabulary) -> bool:
    """Whether a subject names a condition, by what the corpus calls it: a document's title or a
    name ending in a condition noun ("ocd": obsessive compulsive disorder; "bipolar": bipolar disorder)."""
    names = {name for phrase in vocabulary.synonyms_of(subject) for name in (phrase, vocabulary.clipped.get(phrase, ""))}
    return any(name and (name in vocabulary.titles or name.split()[-1] in CONDITION_NOUNS) for name in names)


def _substitute(question: str, topic: Topic, agree: bool = True) -> str | None:
    """The first pronoun that agrees in number with the topic's subject, or else with another
    thing its question named, replaced by that name (`agree=False`: the first pronoun)."""
    words = _first_clause(question)
    for subject in topic.subjects:
        pronouns = PLURAL_PRONOUNS if _plural(subject) else SINGULAR_PRONOUNS
        pronouns = pronouns if agree else {**PLURAL_PRONOUNS, **SINGULAR_PRONOUNS}
        for i, word in enumerate(words):
            if word not in pronouns or not _refers(words, i):
                continue
            possessive = pronouns[word] if pronouns[word] != "'" or subject.endswith("s") else "'s"
            spot = list(re.finditer(rf"\b{word}\b(?!')", question, re.IGNORECASE))[words[:i].count(word)]
            return question[: spot.start()] + subject + possessive + question[spot.end() :]
    return None


# --- topics ----------------------------------------------------------------------------------


def _topic(question: str, reading: Reading, vocabulary: Vocabulary) -> Topic:
    """The topic a question with a focus starts: its focus, and what else it names (focus.mention)."""
    subject = _subject(question, reading, vocabulary) or question
    other = mention(question, vocabulary)
    others = (other,) if other and other.lower() not in subject.lower() and subject.lower() not in other.lower() else ()
    return Topic(subject, question, bool(_predicate(reading)), others)


def _subject(question: str, reading: Reading, vocabulary: Vocabulary) -> str | None:
    """How the question names its focus, in the person's words when they are there ("OCD"), else
    the corpus name; for a question without a focus, the words it is about (focus.mention)."""
    names = reading.focus.names or reading.focus.missing
    if not names:
        return mention(question, vocabulary)
    spans = sorted(span for name in names if (span := next(filter(None, (_find(n, question) for n in [name, *vocabulary.shortened.get(name, ())])), None)))
    if not spans:
        return names[0]
    first_name = spans[0]
    other = mention(question, vocabulary)  # a narrow word joined to the name: "lithium" of "lithium for bipolar"
    found = _find(other, question) if other else None
    if found and not any(s <= found[0] < e for s, e in spans):
        spans = sorted([*spans, found])
    first = spans.index(first_name)
    start, end = first_name
    for next_start, next_end in reversed(spans[:first]):
        if not _joined(question[next_end:start]):
            break
        start = next_start
    for next_start, next_end in spans[first + 1 :]:  # names joined by a preposition are one subject: "light therapy for SAD"
        if not _joined(question[end:next_start]):
            break
        end = max(end, next_end)
    return question[start:end]


def _joined(between: str) -> bool:
    words = _words(between)
    return len(words) <= 1 and set(words) <= PREPOSITIONS | {"and", "or"}


def _treatment(subject: str, vocabulary: Vocabulary) -> bool:
    """Whether a subject names a treatment ("light therapy", "SSRIs") by what the corpus calls it:
    "what about light therapy?" after "how is SAD treated?" does not ask how light therapy is treated."""
    return any(name.split()[-1] in TREATMENT_NOUNS for name in vocabulary.synonyms_of(subject) if name)


def _find(name: str, text: str) -> tuple[int, int] | None:
    pattern = r"[^a-z0-9]+".join(re.escape(word) for word in name_words(name))
    found = re.search(rf"\b{pattern}\b", text, re.IGNORECASE) if pattern else None
    return found.span() if found else None


def _same_question(question: str, reading: Reading, topic: Topic, vocabulary: Vocabulary) -> Turn:
    """ "and schizophrenia?" after "when does OCD start?": the topic's question, asked of the new focus."""
    subject = _subject(question, reading, vocabulary) or question
    place = _find(topic.subject, topic.question)
    if place is None:
        return Turn(question, None, False, Context(Topic(subject, question, False)))
    text = topic.question[: place[0]] + subject + topic.question[place[1] :]
    return Turn(text, text, False, Context(Topic(subject, text, True)))


def _clarify(question: str, core: str, reading: Reading, pending: str, vocabulary: Vocabulary) -> Turn:
    """A name given after a fragment was refused completes it: "side effects?" + "of clozapine"."""
    phrase = _CLARIFYING.sub("", core.strip(" .!?")).strip(" .!?") or core
    if _added_phrase(phrase):
        text = f"{pending.rstrip(' ?.!')} {phrase}?"
        return Turn(text, text, False, Context(Topic(_subject(question, reading, vocabulary) or phrase, text, True)))
    pending_core = _core(pending)
    if _added_phrase(pending_core):  # "in kids?" + "adhd"
        text = f"{phrase} {pending_core.rstrip(' ?.!')}?"
    else:  # the person said what the pronoun means: it need not agree
        text = _substitute(pending, Topic(phrase, pending, True), agree=False) or f"{phrase}: {pending}"
    return Turn(text, text, False, Context(Topic(phrase, text, True)))
