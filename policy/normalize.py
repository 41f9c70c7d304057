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
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
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
    # Small capitals and other letters NFKC leaves as they are (`ɴᴀᴋᴇᴅ`).
    "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ꜰ": "f", "ɢ": "g", "ʜ": "h", "ɪ": "i",
    "ᴊ": "j", "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ǫ": "q", "ʀ": "r",
    "ꜱ": "s", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z", "ɛ": "e", "ɔ": "o",
    "ø": "o", "ł": "l", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe", "þ": "th",
    # Negative squared and regional-indicator letters (🅽, 🇳): no compatibility form either.
    **{chr(0x1F170 + i): chr(97 + i) for i in range(26)},
    **{chr(0x1F1E6 + i): chr(97 + i) for i in range(26)},
})

# Leetspeak: each symbol with the letters it can stand for.
LEET = {"0": "o", "1": "il", "2": "z", "3": "e", "4": "a", "5": "s", "6": "g", "7": "t", "8": "b",
        "9": "g", "@": "a", "$": "s", "!": "i", "|": "il", "+": "t", "€": "e"}
# A word is a run of letters, digits and the symbols leetspeak uses.
WORD = re.compile(r"[^\W_]+(?:[@$!|+€][^\W_]*)*|[@$!|+€]+[^\W_]+(?:[@$!|+€][^\W_]*)*")
CHUNK_JOINERS = re.compile(r"[^\w@$!|+€]|_")
# An @mention or a user@host handle: the user name is the word, the host is dropped.
HANDLE = re.compile(r"(?<![\w@])@?([^\W_][\w.-]*)@[\w-]+(?:\.[\w-]+)+(?::\d+)?|(?<![\w@])@([^\W_]\w*)")
WIDE_GAP = re.compile(r"\S\s{2,}\S")
# An elision ("l'enfant", "dell'uomo", "qu'il") parts two words.
APOSTROPHE = re.compile(r"['’`]")
STRETCH = re.compile(r"(.)\1{2,}")
RUN = re.compile(r"(.)\1+")
# Most leetspeak readings kept for one word (each 1 or | doubles them).
MAX_READINGS = 8
# Single letters that are words of their own, left out when spaced letters are joined ("a s e x").
SINGLE_LETTER_WORDS = ("a", "i")
# A letter hidden behind a star or a dot inside a word ("n*ked", "n.ked", "p**n").
MASKED = re.compile(r"[^\W\d_]+(?:[*.]{1,2}[^\W\d_]+)+|[^\W\d_]+\*{1,2}(?![\w*])|(?<![\w*])\*{1,2}[^\W\d_]+")
# Short words of the six languages: a word split in two ("na ked") is joined only when one of
# its halves is a short fragment that is no word, so "pen is" and "be head" stay apart.
SHORT_WORDS = frozenset("""
a i o y e u an as at be by do go he if in is it me my no of on or so to up us we am ad ah ok
oh ox hi ha the and are but can did for get got had has her him his how its let may new not now
off old one our out own put say see she sir six ten too two use was way who why yes yet you all
any ask bad big boy day end eye far few fun guy hot let lot man men mom dad pen pet red run sad
sat set sit sun top try war win won art bed bit box bus car cat cup cut dog ear eat egg fan fit
fly gun hat ice job key kid lab law leg lie lip map mix mud net nut oil pay pie pig pop raw rat
rid row sea sky son spa tan tea tie toe toy van web wet wig zoo ace act add age ago aid aim air
la le les de des du un une et en au aux ce ces il elle on ne pas par sur sous dans qui que quoi
mon ton son ma ta sa mes tes ses nos vos leur se si ou oui non bon bas nu nue ni est ai as va
el los las lo del al con sin por mi tu su yo es muy mas hay ya ser ir ha he da di sus una uno
der die das dem den ein eine und ist im am um zu vom zum zur bei mit aus auf ich du er sie wir
ihr es nie wo wie was so da ja nein man kann
il lo gli uno una di da con su per tra fra che chi non ma se ho ha mio tuo suo al del dal nel
sul col io tu lui lei noi voi loro sei sono era
os um uma com sem por na no nos nas do da dos das ao aos eu ele ela meu teu seu sua ja mas
""".split())  # noqa: SIM905 - a block of words reads better than a list


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a prompt and every form it may stand for."""

    forms: frozenset[str]
    # The forms with each run of a letter cut to one, only for a stretched word ("seeexxx").
    skeletons: frozenset[str] = frozenset()
    # The word as the prompt wrote it (folded): what a refusal quotes back to its writer.
    word: str = ""

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


@lru_cache(maxsize=65536)
def skeleton(word: str) -> str:
    """The word with each run of a letter cut to one (cached: every word of a prompt asks)."""
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


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The words of the term lists, for the readings that need to know them: a word split in
    two is joined only into one of them, and a hidden letter is only ever restored to one."""

    words: frozenset[str] = frozenset()
    # "n?ked" (one or two letters hidden) -> "naked".
    masked: Mapping[str, str] = field(default_factory=dict)


def vocabulary(term_words: Iterable[str]) -> Vocabulary:
    """The vocabulary of these words (those of four letters or more: shorter ones collide)."""
    known = frozenset(w for w in term_words if len(w) >= 4 and w.isalpha())
    masked: dict[str, str] = {}
    for word in known:
        for i in range(len(word)):
            masked.setdefault(f"{word[:i]}?{word[i + 1:]}", word)
            for j in range(i + 1, min(i + 3, len(word))):
                masked.setdefault(f"{word[:i]}?{word[i + 1:j]}?{word[j + 1:]}", word)
    return Vocabulary(known, masked)


NO_VOCABULARY = Vocabulary()


def _unmask(folded: str, vocab: Vocabulary) -> str:
    """The text with each word whose hidden letters stand for a term's word restored to it."""
    def restore(match: re.Match[str]) -> str:
        key = re.sub(r"[*.]", "?", match.group())
        return vocab.masked.get(key, match.group())
    return MASKED.sub(restore, folded)


def _mend(plain: list[str], vocab: Vocabulary) -> list[str]:
    """The words with a term's word split in two joined ("na ked"), where a half is no word."""
    mended: list[str] = []
    i = 0
    while i < len(plain):
        if i + 1 < len(plain):
            a, b = plain[i], plain[i + 1]
            if a + b in vocab.words and any(len(h) <= 3 and h not in SHORT_WORDS for h in (a, b)):
                mended.append(a + b)
                i += 2
                continue
        mended.append(plain[i])
        i += 1
    return mended


def token(word: str) -> Token:
    forms: set[str] = set()
    for reading in _readings(word):
        forms.add(reading)
        if len(reading) > 3 and reading.endswith("s") and not reading.endswith("ss"):
            forms.add(reading[:-1])
    stretched = {skeleton(f) for f in forms if STRETCH.search(f)}
    return Token(frozenset(forms), frozenset(stretched), word)


def _words(text: str) -> list[str]:
    return [w.strip("!|+") or w for w in WORD.findall(text)]


def _unhandle(text: str) -> str:
    return HANDLE.sub(lambda m: m.group(1) or m.group(2), text)


def words(text: str) -> list[str]:
    """The plain words of folded text: how term lists and names are split."""
    return _words(_unhandle(fold(text)))


def readings(text: str, vocab: Vocabulary = NO_VOCABULARY) -> Iterator[list[Token]]:
    """The ways to read a prompt, each a list of tokens: word by word; then, where different,
    with hidden letters restored and split words joined (by `vocab`); with the letters of spaced
    or dotted words joined (two spaces or more parting words, then not); and the same with a
    leading "a" or "i" kept apart ("a s e x" is "a sex", "i g n o r e" is "ignore")."""
    folded = _unhandle(fold(text))
    plain = _words(folded)
    yield [token(w) for w in plain]
    seen = [plain]
    candidates = []
    if vocab.words:
        candidates.append(_mend(_words(_unmask(folded, vocab)), vocab))
    if any(len(c) == 1 for c in CHUNK_JOINERS.sub(" ", folded).split()):
        # Joined across wide gaps too only where the prompt has one ("n  a  k  e  d").
        widths = (False, True) if WIDE_GAP.search(folded) else (False,)
        candidates += [_joined(folded, split_off, wide) for wide in widths for split_off in (False, True)]
    for words_of in candidates:
        if words_of not in seen:
            seen.append(words_of)
            yield [token(w) for w in words_of]


def _joined(folded: str, split_off: bool, wide: bool = False) -> list[str]:
    """The words with spaced or dotted letters joined (two spaces or more still part words,
    unless `wide`: "n  a  k  e  d"); with `split_off`, a leading "a" or "i" of a run of letters
    stays a word of its own."""
    merged: list[str] = []
    for segment in [folded] if wide else re.split(r"\s{2,}", folded):
        run: list[str] = []
        chunks = [CHUNK_JOINERS.sub("", c).strip("!|+") for c in APOSTROPHE.sub(" ", segment).split()]
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
