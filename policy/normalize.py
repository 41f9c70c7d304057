"""Text as the prompt policy reads it, with the tricks that slip words past a filter undone.

NFKC folds full-width and mathematical letters into plain ones; casefolding, the removal of
zero-width characters and combining marks, and a map of Cyrillic and Greek look-alikes leave
Latin letters. Each word then carries every form it could stand for: its leetspeak readings
(`s3x`, `k1ll`), its singular, and, when a letter is stretched (`seeexxx`), its skeleton with
every run of a letter cut to one. A second reading joins letters split by spaces or punctuation
(`s e x`, `s.e.x`). Matching compares whole words, so "Essex" and "cocktail" hold no term.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import product

# Characters that render as nothing: zero-width spaces and joiners, direction marks, the soft
# hyphen, the combining grapheme joiner, the BOM.
INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u034f\u061c\u180e\u200b\u200c\u200d\u200e\u200f"
                                   "\u2060\u2061\u2062\u2063\u2064\ufeff"))

# Cyrillic and Greek letters (after casefolding) that look like Latin ones.
HOMOGLYPHS = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "з": "3", "і": "i", "ї": "i", "ј": "j", "к": "k",
    "м": "m", "н": "h", "о": "o", "п": "n", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x",
    "ѕ": "s", "ԁ": "d", "һ": "h", "ӏ": "l", "ԛ": "q", "ԝ": "w", "ь": "b", "г": "r",
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "μ": "u", "ν": "v",
    "ο": "o", "ρ": "p", "σ": "o", "ς": "s", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c",
    "ɑ": "a", "ɡ": "g", "ı": "i", "ȷ": "j", "ℓ": "l",
})

# Leetspeak: each symbol with the letters it can stand for.
LEET = {"0": "o", "1": "il", "2": "z", "3": "e", "4": "a", "5": "s", "6": "g", "7": "t", "8": "b",
        "9": "g", "@": "a", "$": "s", "!": "i", "|": "il", "+": "t", "€": "e"}
# A word is a run of letters, digits and the symbols leetspeak uses.
WORD = re.compile(r"[^\W_]+(?:[@$!|+€][^\W_]*)*|[@$!|+€]+[^\W_]+(?:[@$!|+€][^\W_]*)*")
CHUNK_JOINERS = re.compile(r"[^\w@$!|+€]|_")
# An @mention or a user@host handle: the user name is the word, the host is dropped.
HANDLE = re.compile(r"(?<![\w@])@?([^\W_][\w.-]*)@[\w-]+(?:\.[\w-]+)+(?::\d+)?|(?<![\w@])@([^\W_]\w*)")
STRETCH = re.compile(r"(.)\1{2,}")
RUN = re.compile(r"(.)\1+")
# Most leetspeak readings kept for one word (each 1 or | doubles them).
MAX_READINGS = 8
# Single letters that are words of their own, left out when spaced letters are joined ("a s e x").
SINGLE_LETTER_WORDS = ("a", "i")


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a prompt and every form it may stand for."""

    forms: frozenset[str]
    # The forms with each run of a letter cut to one, only for a stretched word ("seeexxx").
    skeletons: frozenset[str] = frozenset()

    def matches(self, word: str) -> bool:
        """Whether this token may be `word` of a term list (one ending in * is a prefix)."""
        if word.endswith("*"):
            stem = word[:-1]
            return any(f.startswith(stem) for f in self.forms) or any(
                s.startswith(skeleton(stem)) for s in self.skeletons)
        return word in self.forms or bool(self.skeletons) and skeleton(word) in self.skeletons


def fold(text: str) -> str:
    """NFKC, casefolded, without invisible characters or combining marks, look-alikes mapped."""
    text = unicodedata.normalize("NFKC", text).translate(INVISIBLE).casefold()
    decomposed = unicodedata.normalize("NFD", text)
    text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", text).translate(HOMOGLYPHS)


def skeleton(word: str) -> str:
    return RUN.sub(r"\1", word)


def _readings(word: str) -> set[str]:
    """The word and its leetspeak readings. Numbers stay numbers ("1080p" aside)."""
    readings = {word}
    if word.isdigit() or not any(c in LEET for c in word):
        return readings
    choices = [LEET.get(c, c) for c in word]
    for letters in product(*choices):
        readings.add("".join(letters))
        if len(readings) > MAX_READINGS:
            break
    return readings


def token(word: str) -> Token:
    forms: set[str] = set()
    for reading in _readings(word):
        forms.add(reading)
        if len(reading) > 3 and reading.endswith("s") and not reading.endswith("ss"):
            forms.add(reading[:-1])
    stretched = {skeleton(f) for f in forms if STRETCH.search(f)}
    return Token(frozenset(forms), frozenset(stretched))


def _words(text: str) -> list[str]:
    return [w.strip("!|+") or w for w in WORD.findall(text)]


def _unhandle(text: str) -> str:
    return HANDLE.sub(lambda m: m.group(1) or m.group(2), text)


def words(text: str) -> list[str]:
    """The plain words of folded text: how term lists and names are split."""
    return _words(_unhandle(fold(text)))


def readings(text: str) -> Iterator[list[Token]]:
    """The ways to read a prompt, each a list of tokens: word by word, then (where different)
    with the letters of spaced or dotted words joined, then the same with a leading "a" or "i"
    kept apart ("a s e x" is "a sex", "i g n o r e" is "ignore")."""
    folded = _unhandle(fold(text))
    plain = _words(folded)
    yield [token(w) for w in plain]
    seen = [plain]
    for split_off in (False, True):
        joined = _joined(folded, split_off)
        if joined not in seen:
            seen.append(joined)
            yield [token(w) for w in joined]


def _joined(folded: str, split_off: bool) -> list[str]:
    """The words with spaced or dotted letters joined (two spaces or more still part words);
    with `split_off`, a leading "a" or "i" of a run of letters stays a word of its own."""
    merged: list[str] = []
    for segment in re.split(r"\s{2,}", folded):
        run: list[str] = []
        chunks = [CHUNK_JOINERS.sub("", c).strip("!|+") for c in segment.split()]
        for word in [*filter(None, chunks), ""]:
            if len(word) == 1:
                run.append(word)
                continue
            if split_off and len(run) > 2 and run[0] in SINGLE_LETTER_WORDS:
                merged += [run[0], "".join(run[1:])]
            elif len(run) > 1:
                merged.append("".join(run))
            else:
                merged += run
            run = []
            if word:
                merged.append(word)
    return merged


def plain_text(text: str) -> str:
    """One readable line of the prompt for a classifier: folded, handles reduced to names, and
    each word in its first leetspeak reading (1 read as i)."""
    out = []
    for word in _words(_unhandle(fold(text))):
        out.append("".join(LEET.get(c, c)[0] for c in word) if not word.isdigit() else word)
    return " ".join(out)
