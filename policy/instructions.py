"""A cameo owner's instructions, read for what they forbid.

Owners write instructions in their own words, in any of six languages ("no political content",
"don't put me in ads", "never say 'moist'", "pas de politique", "keep it family friendly"). Each
sentence that refuses something (it has "no", "never", "don't", "without", "avoid", "keep", "pas",
"sin", "keine", "sem", "niente" ..., or asks for a family-friendly video) adds terms for prompts
using that cameo:
- the terms of every topic it names (`lexicon/topics/*.txt`: "political" names the politics
  topic, whose terms are election, president, campaign, protest ...);
- a topic's single term it names itself ("no beer" adds "beer", not every drink);
- any quoted word or phrase ("never say 'moist'").
Everything else in the instructions is still passed to the model with the prompt.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache, lru_cache

from .normalize import token, words
from .phrases import Phrase, PhraseIndex, builtin, phrase

# Words that make a sentence of the instructions refuse what it names.
REFUSING = frozenset({
    "no", "not", "never", "don", "dont", "doesn", "without", "avoid", "nothing", "none", "keep",
    "refuse", "forbid", "forbidden", "ban", "banned", "exclude", "stop", "nor", "hate", "zero",
    "neither", "cannot", "can", "won", "mustn", "shouldn",
    # French, Spanish, German, Portuguese, Italian ("pas de politique", "sin alcohol", "keine
    # Werbung", "sem palavrões", "niente violenza"), and wishes for a kind of video ("family
    # friendly", "tout public") that refuse what does not fit it.
    "pas", "jamais", "sans", "aucun", "aucune", "evite", "evitez", "interdit", "interdite",
    "nunca", "sin", "ningun", "ninguna", "evita", "evitar", "prohibido", "prohibida", "nada",
    "kein", "keine", "keinen", "keiner", "nicht", "nie", "niemals", "ohne", "vermeide", "verboten",
    "nao", "sem", "nenhum", "nenhuma", "proibido", "proibida",
    "non", "mai", "senza", "niente", "nessun", "nessuna", "vietato", "vietata",
    "familienfreundlich", "kinderfreundlich", "jugendfrei",
})
# Phrases that ask for a kind of video and so refuse what does not fit it.
REFUSING_PHRASES = tuple(tuple(words(p)) for p in (
    "family friendly", "kid friendly", "child friendly", "tout public", "adapté aux enfants",
    "pour toute la famille", "para toda la familia", "apto para niños", "para toda a família",
    "adequado para crianças", "adatto alle famiglie", "adatto ai bambini", "per tutta la famiglia",
))
# "can" and "won" only refuse as "can't" and "won't": the apostrophe splits off a "t".
NEEDS_T = frozenset({"can", "won", "don", "doesn", "mustn", "shouldn"})
SENTENCE = re.compile(r"[.;!?\n]+|\b(?:but|however|although|though|except)\b", re.IGNORECASE)
QUOTED = re.compile(r"[\"“”«»„]([^\"“”«»„]{1,60})[\"“”«»„]|(?<!\w)['‘’]([^'‘’]{1,60})['‘’](?!\w)")


@dataclass(frozen=True)
class Topic:
    name: str
    triggers: frozenset[str]  # single words or phrases, as normalized word tuples joined by " "
    terms: tuple[Phrase, ...]


@cache
def topics() -> tuple[Topic, ...]:
    lists = builtin()
    found: dict[str, dict[str, list[Phrase]]] = defaultdict(dict)
    for name, phrases in lists.items():
        parts = name.split(".")
        if parts[0] == "topics" and len(parts) == 3:
            found[parts[1]][parts[2]] = phrases
    return tuple(
        Topic(name, frozenset(" ".join(p.words) for p in sections.get("triggers", ())),
              tuple(sections.get("terms", ())))
        for name, sections in sorted(found.items()))


def _refuses(sentence_words: list[str]) -> bool:
    if any(_mentions(sentence_words, p) for p in REFUSING_PHRASES):
        return True
    for i, word in enumerate(sentence_words):
        if word in REFUSING:
            if word not in NEEDS_T:
                return True
            if i + 1 < len(sentence_words) and sentence_words[i + 1] == "t":
                return True
    return False


def _mentions(sentence_words: list[str], words_of: tuple[str, ...]) -> bool:
    tokens = [token(w) for w in sentence_words]
    n = len(words_of)
    return any(all(t.matches(w) for t, w in zip(tokens[i:i + n], words_of, strict=True))
               for i in range(len(tokens) - n + 1))


@dataclass(frozen=True)
class Restrictions:
    """What one cameo's instructions forbid: an index of terms, each tagged with the sentence of
    the instructions it comes from (what a refusal quotes)."""

    index: PhraseIndex
    sentences: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return self.index.size == 0


@lru_cache(maxsize=4096)
def restrictions(instructions: str) -> Restrictions:
    phrases: list[Phrase] = []
    sentences: list[str] = []
    for raw in SENTENCE.split(instructions):
        sentence = " ".join(raw.split())
        sentence_words = words(sentence)
        if not sentence_words or not _refuses(sentence_words):
            continue
        tag = str(len(sentences))
        found: list[Phrase] = []
        for topic in topics():
            if any(_mentions(sentence_words, tuple(t.split())) for t in topic.triggers):
                found += topic.terms
            else:
                found += [p for p in topic.terms if _mentions(sentence_words, p.words)]
        for match in QUOTED.finditer(raw):
            quoted = phrase(match.group(1) or match.group(2), "instructions")
            if quoted is not None:
                found.append(quoted)
        if found:
            sentences.append(sentence)
            phrases += [Phrase(p.words, p.text, "instructions", tag) for p in found]
    return Restrictions(PhraseIndex(phrases), tuple(sentences))
