"""The prompt policy: what a prompt must be, and what it may not ask for, before any generation.

One entry point, `review_prompt`, serves every path a prompt enters: a plain or self-cameo
generation, a remix request, and a RemixRequest that arrives at the cameo owner's instance.
It reads plain data: the prompt, the cameos of the request (with their owners and the owners'
instructions), and this instance's own rules (admin terms, flagged public figures).

Refused, each with a reason naming its category, and an explanation for the requester that
adds the prompt's own words that fired (`Refusal.explanation`; the refusal log keeps only the
list's term, never the prompt's words):
sexual content; sexualised minors (a rule of its own, stricter: any word for a minor with any
sexual or suggestive word); graphic violence and gore; self-harm; hate; harassment of a real
person; public figures named without their own cameo; attempts to override the cameo owner's
instructions; whatever a cameo's instructions forbid; and the terms admins add.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from . import normalize, semantic
from .instructions import restrictions
from .phrases import Hit, Phrase, PhraseIndex, builtin, phrase

MAX_PROMPT_CHARS = 2000
# Cameos in one video: every one needs its owner's consent, and the model its references.
MAX_CAMEOS = 4
# At or above this abuse score (alt-profanity-check), words aimed at a real person are harassment.
ABUSE_THRESHOLD = 0.8

REASONS = {
    "sexual": ("sexual content", "sexual content is not allowed"),
    "minors": ("sexualised minors", "sexual or suggestive content involving minors is never allowed"),
    "violence": ("graphic violence", "graphic violence and gore are not allowed"),
    "self_harm": ("self-harm", "content that depicts or encourages self-harm is not allowed"),
    "hate": ("hate", "hateful content is not allowed"),
    "harassment": ("harassment", "abuse aimed at a real person is not allowed"),
    "public_figure": ("public figure", "it names a public figure, who may only appear through"
                                       " their own cameo, with their consent"),
    "override": ("instruction override", "a prompt cannot override the cameo owner's instructions"
                                         " or this instance's rules"),
    "instructions": ("cameo instructions", "its owner does not allow this"),
}
# A layer that could not answer: the prompt is held, neither passed nor refused. Nothing is
# generated and nothing is logged against the person; they may send it again later.
HELD = "held"
HELD_REASON = ("prompt held: it could not be checked right now ({why}), so nothing was generated;"
               " this says nothing about the prompt itself, try again later")
# The categories admins may add terms to.
TERM_CATEGORIES = ("sexual", "minors", "violence", "self_harm", "hate", "harassment",
                   "public_figure", "override")
MAX_TERM_CHARS = 100

AbuseScore = Callable[[str], float]


class PromptError(ValueError):
    """A prompt that cannot be used as given; the text says why."""


@dataclass(frozen=True)
class Person:
    """A real person: their actor id and the names a prompt may call them by. `verified` is who
    they are in the world as this instance's staff verified it ("Taylor Swift"): the only thing
    that lets their cameo carry a public figure's name. Never a display name, never a remote
    server's claim (the caller leaves it empty for remote accounts)."""

    actor: str
    names: tuple[str, ...]
    verified: str = ""


@dataclass(frozen=True)
class CameoUse:
    """A cameo named in the request, with its owner and the owner's instructions."""

    cameo: str
    name: str
    owner: Person
    instructions: str = ""


@dataclass(frozen=True)
class Refusal:
    category: str
    rule: str
    # What fired, for the refusal log (a term of a list, or a score); never shown to the requester.
    term: str
    reason: str
    # The prompt's own words that fired, as read: shown to the requester, never stored.
    words: tuple[str, ...] = ()

    @property
    def explanation(self) -> str:
        """The reason with the words of the prompt that fired: what a person can act on."""
        if not self.words:
            return self.reason
        quoted = ", ".join(f"{w!r}" for w in dict.fromkeys(self.words) if w)
        return f"{self.reason} (rule {self.rule}, because of {quoted})" if quoted else self.reason


class InstanceRules:
    """This instance's additions to the built-in lists, compiled once for many prompts."""

    def __init__(self, terms: Mapping[str, Iterable[str]] | None = None,
                 public_figures: Iterable[Person] = ()) -> None:
        self.terms = PhraseIndex(
            p for category, items in (terms or {}).items() for text in items
            if (p := phrase(text, f"admin.{category}", category)) is not None)
        self.public_figures = PhraseIndex(
            p for person in public_figures for name in person.names
            if _long_enough(name) and (p := phrase(name, "public_figure.flagged", person.actor)))


NO_RULES = InstanceRules()


def check_prompt(prompt: Any) -> str:
    """The prompt, stripped of surrounding blanks, or PromptError: its shape only."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise PromptError("prompt must be non-empty text")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise PromptError(f"prompt is longer than {MAX_PROMPT_CHARS} characters")
    if any(ord(c) < 32 and c not in "\n\t" or 0x7F <= ord(c) < 0xA0 for c in prompt):
        raise PromptError("prompt contains control characters")
    return prompt.strip()


def check_identity(text: Any) -> str:
    """Who a local account is, as staff verify it ("Taylor Swift"), or PromptError."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TERM_CHARS \
            or any(ord(c) < 32 for c in text) or not _long_enough(text):
        raise PromptError(f"identity must be a name of 3 to {MAX_TERM_CHARS} printable characters")
    return " ".join(text.split())


def check_term(category: Any, text: Any) -> tuple[str, str]:
    """An admin term and its category as they will be stored, or PromptError."""
    if category not in TERM_CATEGORIES:
        raise PromptError(f"category must be one of {', '.join(TERM_CATEGORIES)}")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TERM_CHARS \
            or any(ord(c) < 32 for c in text):
        raise PromptError(f"term must be printable text of 1 to {MAX_TERM_CHARS} characters")
    text = " ".join(text.split()).lower()
    stem = text.rstrip("*")
    if not normalize.words(stem) or text.endswith("*") and len(stem) < 3:
        raise PromptError("term must have a word in it (and at least 3 letters before a *)")
    return category, text


# --- the rules --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Term:
    """Refused when a phrase of one of `lists` appears."""

    category: str
    rule: str
    lists: tuple[str, ...]


@dataclass(frozen=True)
class Pair:
    """Refused when a phrase of `left` is followed, at most `window` words on (anywhere when
    None), by a phrase of `right`; with `both_ways` also when it follows one; with `via`, only
    when a phrase of that list lies between them; with `filler`, only when every word between
    them is a phrase of that list ("ignore all of the owner's rules")."""

    category: str
    rule: str
    left: tuple[str, ...]
    right: tuple[str, ...]
    window: int | None = None
    both_ways: bool = False
    via: str | None = None
    filler: str | None = None


# Who a violent act can be done to: generic people, real people, the request's cameo people,
# and public figures.
TARGETS = ("people.generic", "people.real", "request.person", "public_figure.flagged",
           "public_figures.names")
SEXUAL = ("sexual.terms", "sexual.suggestive")

# In order: the first that fires names the refusal.
RULES: tuple[Term | Pair, ...] = (
    Term("override", "override.term", ("override.terms",)),
    Pair("override", "override.imperative", ("override.verbs",), ("override.objects",), window=3),
    Pair("override", "override.imperative", ("override.verbs",), ("override.objects",), window=8,
         filler="override.filler"),
    Term("minors", "minors.term", ("minors.always",)),
    Pair("minors", "minors.sexualised", ("minors.minors", "minors.age"), SEXUAL),
    Pair("minors", "minors.sexualised", ("minors.ambiguous",), ("sexual.terms",)),
    Term("sexual", "sexual.term", ("sexual.terms",)),
    Term("self_harm", "self_harm.term", ("self_harm.terms",)),
    Pair("self_harm", "self_harm.act", ("self_harm.acts",), ("self_harm.reflexive",), window=0),
    Term("hate", "hate.term", ("hate.terms",)),
    Pair("hate", "hate.dehumanizing", ("hate.groups",), ("hate.dehumanizing",), window=4,
         via="hate.links"),
    Pair("hate", "hate.call", ("hate.calls",), ("hate.groups",), window=1),
    Term("violence", "violence.graphic", ("violence.graphic",)),
    Pair("violence", "violence.against_person", ("violence.acts",), TARGETS, window=3),
    Pair("violence", "violence.against_person", ("violence.passive",), TARGETS, window=3,
         both_ways=True),
    Term("public_figure", "public_figure.impersonation", ("public_figures.impersonation",)),
)

# An age under 18, in digits or in words of the six languages (folded: no accents), with what
# says it is an age: "12 year old", "a 15yo", "aged 12", "just turned twelve", "douze ans",
# "tiene doce años", "zwölfjährige", "dodici anni", "doze anos".
AGE_NUMBER = (r"(?:[1-9]|1[0-7]|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
              r"|thirteen|fourteen|fifteen|sixteen|seventeen)")
AGE_WORDS = (
    r"(?:[1-9]|1[0-7]"
    r"|un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|treize|quatorze|quinze"
    r"|seize|dix[ -]sept"
    r"|uno|una|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce|trece|catorce|quince"
    r"|dieciseis|diecisiete"
    r"|um|uma|dois|duas|sete|oito|nove|dez|doze|treze|catorze|dezasseis|dezesseis|dezassete"
    r"|dezessete"
    r"|ein|eine|einen|zwei|drei|vier|funf|sechs|sieben|acht|neun|zehn|elf|zwolf|dreizehn"
    r"|vierzehn|funfzehn|sechzehn|siebzehn"
    r"|due|tre|cinque|sei|sette|otto|dieci|undici|dodici|tredici|quattordici|quindici"
    r"|sedici|diciassette)")
MINOR_AGE = re.compile(
    rf"(?<![\w.,]){AGE_NUMBER}\s*-?\s*(?:yo|y/o|y\.o\.?|(?:yrs?|years?|year)\s*-?\s*old)\b"
    rf"|\baged?\s+{AGE_NUMBER}\b(?![.,]\d)"
    rf"|\bturn(?:ed|s|ing)?\s+{AGE_NUMBER}\b(?![.,]\d)"
    rf"|(?<![\w.,]){AGE_WORDS}\s*-?\s*(?:ans|anos|anni|jahre?\s+alt|jahrig\w*|jahr\w*\s+alt)\b"
    rf"|\bage(?:e|es)?\s+de\s+{AGE_WORDS}\b(?![.,]\d)"
    rf"|(?:(?<![\w.,])\d|\b(?:zwolf|elf|zehn|neun|acht|sieben|sechs|funf|vier|drei|zwei)\w*)jahrig\w*")
# Words for a child whose accent tells them from a name once folded ("niña" is not "Nina").
ACCENTED_MINOR = re.compile(r"\bniñ(?:a|as|o|os|ita|itas|ito|itos)\b")
# A capitalised word inside a sentence: most likely someone's name.
PROPER_NAME = re.compile(r"[A-Z][a-z]+(?:'s)?")


@cache
def _vocabulary() -> normalize.Vocabulary:
    """The words of the lists a disguised word may be hiding (not the harmless or topic ones)."""
    return normalize.vocabulary(
        w.rstrip("*") for name, phrases in builtin().items()
        if not name.startswith(("topics.", "benign", "people.")) for p in phrases for w in p.words)


@cache
def _builtin_index() -> PhraseIndex:
    return PhraseIndex(p for name, phrases in builtin().items() if not name.startswith("topics.")
                       for p in phrases)


def _long_enough(name: str) -> bool:
    return len("".join(normalize.words(name))) >= 3


def _request_people(cameos: Sequence[CameoUse]) -> PhraseIndex:
    return PhraseIndex(
        p for use in cameos for name in (use.name, *use.owner.names)
        if _long_enough(name) and (p := phrase(name, "request.person", use.owner.actor)))


def _hits(tokens: list[normalize.Token], indexes: Iterable[PhraseIndex]) -> dict[str, list[Hit]]:
    """Every phrase found, by list, less those that overlap a harmless phrase."""
    found = [hit for index in indexes for hit in index.find(tokens)]
    masked = {i for hit in found if hit.phrase.list == "benign" for i in range(hit.start, hit.end)}
    by_list: dict[str, list[Hit]] = defaultdict(list)
    for hit in found:
        if hit.phrase.list != "benign" and masked.isdisjoint(range(hit.start, hit.end)):
            by_list[hit.phrase.list].append(hit)
    return by_list


def _covered(span: range, fillers: Iterable[Hit]) -> bool:
    """Whether every word of `span` is one of these phrases."""
    covered = {i for hit in fillers for i in range(hit.start, hit.end)}
    return all(i in covered for i in span)


def _pair(rule: Pair, hits: Mapping[str, list[Hit]]) -> tuple[Hit, Hit] | None:
    lefts = [h for name in rule.left for h in hits.get(name, ())]
    rights = [h for name in rule.right for h in hits.get(name, ())]
    for a in lefts:
        for b in rights:
            if rule.window is None and (a.end <= b.start or b.end <= a.start):
                return a, b
            if rule.window is None:
                continue
            if 0 <= b.start - a.end <= rule.window and (rule.via is None or any(
                    a.end <= v.start and v.end <= b.start for v in hits.get(rule.via, ()))) and (
                    rule.filler is None or _covered(range(a.end, b.start), hits.get(rule.filler, ()))):
                return a, b
            if rule.both_ways and 0 <= a.start - b.end <= rule.window:
                return a, b
    return None


def _fire(rule: Term | Pair, hits: Mapping[str, list[Hit]]) -> Refusal | None:
    if isinstance(rule, Term):
        found = next((h for name in rule.lists for h in hits.get(name, ())), None)
        fired = (found,) if found else ()
    else:
        fired = _pair(rule, hits) or ()
    if not fired:
        return None
    return Refusal(rule.category, rule.rule, " + ".join(h.phrase.text for h in fired),
                   _reason(rule.category), tuple(h.words for h in fired))


def held(rule: str, term: str, why: str) -> Refusal:
    """The verdict of a layer that could not judge the prompt: held (see HELD_REASON)."""
    return Refusal(HELD, rule, term, HELD_REASON.format(why=why))


def _reason(category: str, detail: str = "") -> str:
    label, sentence = REASONS[category]
    return f"prompt refused ({label}): {sentence}{detail}"


@cache
def _figure_names() -> dict[str, frozenset[tuple[str, ...]]]:
    """Every way the built-in list names each public figure, by the figure's first name."""
    names: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for entry in builtin().get("public_figures.names", ()):
        names[entry.tag or entry.text].add(entry.words)
    return {tag: frozenset(found) for tag, found in names.items()}


def _public_figure(hits: Mapping[str, list[Hit]], cameos: Sequence[CameoUse]) -> Refusal | None:
    """A public figure named without their own cameo in the request: a flagged account's cameo,
    or a cameo whose owner staff verified as that person (a display name counts for nothing)."""
    depicted = {use.owner.actor for use in cameos}
    verified = {tuple(normalize.words(use.owner.verified)) for use in cameos if use.owner.verified}
    for hit in hits.get("public_figure.flagged", ()):
        if hit.phrase.tag not in depicted:
            return Refusal("public_figure", "public_figure.flagged", hit.phrase.text,
                           _reason("public_figure"), (hit.words,))
    for hit in hits.get("public_figures.names", ()):
        if verified.isdisjoint(_figure_names().get(hit.phrase.tag or hit.phrase.text, ())):
            return Refusal("public_figure", "public_figure.known", hit.phrase.text,
                           _reason("public_figure"), (hit.words,))
    return None


def _instructions(tokens: list[normalize.Token], cameos: Sequence[CameoUse]) -> Refusal | None:
    for use in cameos:
        rules = restrictions(use.instructions)
        if rules.empty:
            continue
        hits = _hits(tokens, (rules.index, _benign_index()))
        for hit in hits.get("instructions", ()):
            sentence = rules.sentences[int(hit.phrase.tag)]
            label, sentence_of_rule = REASONS["instructions"]
            return Refusal("instructions", "instructions.owner", hit.phrase.text,
                           f"prompt refused ({label}): {sentence_of_rule}: the owner of the cameo"
                           f" {use.name!r} says {sentence!r}", (hit.words,))
    return None


def _admin_term(hits: Mapping[str, list[Hit]]) -> Refusal | None:
    for name, found in hits.items():
        if name.startswith("admin.") and found:
            category = found[0].phrase.tag
            return Refusal(category, name, found[0].phrase.text, _reason(category), (found[0].words,))
    return None


@cache
def _benign_index() -> PhraseIndex:
    return PhraseIndex(builtin().get("benign", ()))


def _has_real_target(text: str, hits: Mapping[str, list[Hit]], cameos: Sequence[CameoUse]) -> bool:
    """Whether the prompt is about a real person: a cameo, a name, "my boss", an @handle."""
    if cameos or any(hits.get(name) for name in ("people.real", "request.person",
                                                  "public_figure.flagged", "public_figures.names")):
        return True
    if "@" in text:
        return True
    for sentence in re.split(r"[.!?\n]+", text):
        if any(PROPER_NAME.fullmatch(w.strip(",;:\"'()")) for w in sentence.split()[1:]):
            return True
    return False


def review_lexicon(prompt: Any, cameos: Sequence[CameoUse] = (), rules: InstanceRules = NO_RULES,
                   abuse: AbuseScore | None = None) -> Refusal | None:
    """The lexicon layer: why this prompt may not be generated with these cameos, or None.

    Raises PromptError for a prompt of the wrong shape. `abuse`, the offline classifier, is the
    abuse signal of the harassment rule; without it the lexicon alone decides.
    """
    text = check_prompt(prompt)
    people = _request_people(cameos)
    indexes = (_builtin_index(), rules.terms, rules.public_figures, people)
    age = MINOR_AGE.search(normalize.fold(text))
    readings = [(tokens, _hits(tokens, indexes)) for tokens in normalize.readings(text, _vocabulary())]
    if age:
        for _, hits in readings:
            hits["minors.age"] = [Hit(Phrase(("age",), "an age under 18", "minors.age"), 0, 0,
                                      age.group().strip())]
    if child := ACCENTED_MINOR.search(unicodedata.normalize("NFC", text).casefold()):
        for _, hits in readings:
            hits["minors.age"] = [*hits.get("minors.age", ()),
                                  Hit(Phrase(("child",), "niña", "minors.age"), 0, 0, child.group())]
    # Rule by rule, each over every reading: "k i d" joined is a minor before it is anything else.
    for rule in RULES:
        for _, hits in readings:
            if (refusal := _fire(rule, hits)) is not None:
                return refusal
    for tokens, hits in readings:
        if (refusal := _public_figure(hits, cameos) or _instructions(tokens, cameos)
                or _admin_term(hits)) is not None:
            return refusal
    all_hits: dict[str, list[Hit]] = defaultdict(list)
    for _, hits in readings:
        for name, found in hits.items():
            all_hits[name] += found
    if not _has_real_target(text, all_hits, cameos):
        return None
    if all_hits.get("harassment.terms"):
        first = all_hits["harassment.terms"][0]
        return Refusal("harassment", "harassment.term", first.phrase.text, _reason("harassment"),
                       (first.words,))
    if abuse is not None and (score := abuse(normalize.plain_text(text))) >= ABUSE_THRESHOLD:
        return Refusal("harassment", "harassment.classifier", f"abuse score {score:.2f}",
                       _reason("harassment"))
    return None


def review_prompt(prompt: Any, cameos: Sequence[CameoUse] = (), rules: InstanceRules = NO_RULES,
                  abuse: AbuseScore | None = None, semantic: bool = True) -> Refusal | None:
    """Why this prompt may not be generated with these cameos, or None if it may: the lexicon
    first, then (for what it lets through, unless `semantic` is False) the semantic classifier.

    Raises PromptError for a prompt of the wrong shape. `abuse`, the offline classifier, is the
    abuse signal of the harassment rule. A layer that cannot answer holds the prompt (a refusal
    of category "held"): it is never passed unjudged.
    """
    refusal = review_lexicon(prompt, cameos, rules, abuse)
    if refusal is not None or not semantic:
        return refusal
    return _semantic(check_prompt(prompt), cameos)


def _builtin_hits(text: str) -> dict[str, list[Hit]]:
    hits: dict[str, list[Hit]] = defaultdict(list)
    for tokens in normalize.readings(text):
        for name, found in _hits(tokens, (_builtin_index(),)).items():
            hits[name] += found
    return hits


def _semantic(text: str, cameos: Sequence[CameoUse]) -> Refusal | None:
    try:
        found = semantic.judge(text, tuple(use.instructions for use in cameos))
    except semantic.LayerUnavailable as exc:
        return held("semantic.unavailable", str(exc), "the prompt classifier cannot be loaded")
    if found is None:
        return None
    if found.category == "harassment" and not _has_real_target(text, _builtin_hits(text), cameos):
        # As the lexicon's rule: abuse is harassment only when aimed at a real person.
        return None
    term = f"{found.label} score {found.score:.2f}"
    if found.category != "instructions":
        return Refusal(found.category, f"semantic.{found.category}", term, _reason(found.category))
    use = cameos[found.cameo]
    label, sentence = REASONS["instructions"]
    return Refusal("instructions", "semantic.instructions", term,
                   f"prompt refused ({label}): {sentence}: the owner of the cameo {use.name!r} says"
                   f" {use.instructions!r}")
