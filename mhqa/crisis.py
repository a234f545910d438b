"""Crisis first: a question that signals a personal crisis gets crisis resources before anything else.

A *personal* signal is what counts: someone saying they (or a person with them)
may be in danger now, directly ("I want to kill myself") or indirectly ("I don't
see the point of living anymore"), in any case and with common typos. A question
about suicide as a topic ("what are the warning signs of suicide?") is not a
crisis signal and is answered from the corpus like any other. When in doubt, the
resources are shown: a false alarm costs a few lines, a miss can cost a life.
"""

from __future__ import annotations

import re
import unicodedata

CRISIS_RESOURCES = (
    "If you are thinking about suicide or self-harm, or someone is in danger, help is available now.",
    "In the US: call or text 988 (Suicide & Crisis Lifeline), or chat at 988lifeline.org.",
    "If you or someone else is in immediate danger, call 911.",
    "Outside the US: call your local emergency number.",
)

# Word-level typo repair for the few words the patterns rely on.
_CANONICAL = {
    "suicide": ("suicide", "sucide", "suicde", "suiside", "suicid", "suecide", "siucide", "suacide", "sucidie"),
    "suicidal": ("suicidal", "sucidal", "suicidel", "suisidal", "suicdal", "suacidal", "sucicidal"),
    "kill": ("kill", "kil", "kll", "kiil"),
    "myself": ("myself", "myslef", "mysefl", "myelf", "meself", "myselfe", "my self"),
    "die": ("die", "dye", "dei"),
    "dead": ("dead", "ded"),
    "overdose": ("overdose", "overdoes", "overdos", "od"),
    "hurt": ("hurt", "hurting", "hurts"),
    "harm": ("harm", "harming"),
    "cut": ("cut", "cutting", "cuts"),
    "want": ("want", "wanna", "wnat", "whant", "wont"),
    "life": ("life", "lfe"),
}
_TYPO = {variant: word for word, variants in _CANONICAL.items() for variant in variants if " " not in variant}

_ME = r"(?:i|i'm|im|i am|i've|ive|i have|i'll|ill|i will|me|my|myself)"
_SELF = r"(?:myself|my life|my own life|me)"
_OTHER = r"(?:him|her|them|someone|somebody|people|my (?:wife|husband|partner|mom|mother|dad|father|kid|kids|child|children|son|daughter|boss|family|friend|brother|sister))"
_THIRD = r"(?:he|she|they|my (?:friend|son|daughter|child|kid|teen|partner|wife|husband|brother|sister|mom|mother|dad|father|student|patient))"

_PATTERNS = [
    # Direct statements about oneself.
    rf"\b(?:kill|killing|end|ending|take|taking|off) {_SELF}\b",
    r"\bend (?:it|it all|everything)\b",
    r"\b(?:i'm|im|i am|i feel|i've been|ive been|i have been|i keep|i get|i was|feeling)\b.{0,30}\bsuicidal\b",
    r"\b(?:i|i've|ive|i'm|im|i am|i keep|i have)\b.{0,25}\b(?:thinking|thoughts|thought) (?:about|of) (?:suicide|dying|killing|ending|death)\b",
    r"\bmy (?:suicide|suicidal)\b|\b(?:i|i've|ive)\b.{0,20}\b(?:attempted|tried|try|trying) (?:suicide|to kill)\b",
    rf"\b{_ME}\b.{{0,40}}\b(?:want|wish|going|plan|planning|ready|about) (?:to )?(?:die|be dead|disappear|not wake up|not exist)\b",
    r"\b(?:want|wish|wanna) (?:to )?(?:die|be dead|not (?:be )?(?:alive|here|exist|wake up))\b",
    r"\bbetter off (?:dead|without me)\b",
    r"\b(?:no|any|the) (?:reason|point) (?:to|in|of) (?:live|living|go on|going on|keep going|being alive|life)\b",
    r"\b(?:suicide|suicidal|die|dying|kill|end it)\b.*\bi (?:have|made|ve got|'ve got) a plan\b",
    r"\bi (?:have|made) a plan\b.*\b(?:suicide|die|kill|end it)\b",
    r"\b(?:suicide|dying|death|killing myself)\b.{0,20}\bon my mind\b",
    r"\b(?:don't|dont|do not|can't|cant|cannot) (?:want to |wanna )?(?:live|go on|keep going|be alive|do this|take (?:it|this)) (?:anymore|any more|any longer)\b",
    r"\b(?:don't|dont|do not) want to (?:live|be alive|wake up|be here)\b",
    rf"\b(?:hurt|harm|cut|cutting|burn|burning|starve|starving) {_SELF}\b",
    r"\b(?:i|i've|ive|i'm|im|i am|i keep|been)\b.{0,20}\bself[- ]?harm",
    r"\b(?:overdose|od) (?:on|tonight|today)\b|\b(?:took|swallowed|taken) (?:a (?:bunch|lot|handful)|all|too many) (?:of )?(?:my )?(?:pills|tablets|meds)\b",
    r"\b(?:gun|rope|pills|bridge|knife)\b.*\b(?:tonight|today|now|end it|kill)\b",
    r"\bgoodbye (?:note|letter)\b|\bsaying goodbye\b.*\b(?:forever|for good)\b",
    # Danger to others, or someone else in danger now.
    rf"\b(?:kill|hurt|harm|shoot|stab|attack) {_OTHER}\b",
    rf"\b{_THIRD}\b.{{0,60}}\b(?:kill|hurt|harm|cut|cutting|killing|hurting|harming) (?:himself|herself|themselves|themself)\b",
    rf"\b{_THIRD}\b.{{0,40}}\b(?:is|has been|keeps|started) (?:self[- ]?harming|cutting)\b",
    rf"\b{_THIRD}\b.{{0,60}}\b(?:wants|want|going|plans|planning|threatening|threatened|talks|talking|says|said) (?:to |about )?(?:die|suicide|kill|end (?:it|his life|her life|their life))\b",
    r"\b(?:is|are|am) in danger\b|\bnot safe (?:right now|tonight|at home)\b|\b(?:hit|hits|beat|beats|abus\w+) me\b",
]
_COMPILED = [re.compile(p) for p in _PATTERNS]


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'").replace("‘", "'")
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    text = re.sub(r"(.)\1{2,}", r"\1", text)  # "diiiie" -> "die"
    words = [_TYPO.get(word, word) for word in text.split()]
    return " ".join(words)


def signals_crisis(question: str) -> bool:
    """True when the question signals a personal crisis (see the module doc)."""
    text = _normalise(question)
    return any(pattern.search(text) for pattern in _COMPILED)
