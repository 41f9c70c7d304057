"""Term lists and the index that finds their phrases in a prompt's tokens.

The lists are text files in `policy/lexicon/`, one term or phrase per line, `#` for comments.
A file is one list named after it, or several: a `[name]` line starts the list `file.name`.
A word ending in `*` matches any word it begins ("masturbat*"). A line of several terms parted
by `|` names one thing in several ways ("joe biden | biden | potus"): each term is tagged with
the first. Terms are written plainly; the obfuscations are undone on the prompt's side
(`policy.normalize`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from .normalize import Token, fold, skeleton, words

LEXICON = resources.files("policy") / "lexicon"


@dataclass(frozen=True, slots=True)
class Phrase:
    words: tuple[str, ...]
    # The term as its list writes it: what a refusal log records.
    text: str
    list: str
    # Whatever the caller ties to it: a person's id, a topic, an admin term's category.
    tag: str = ""


@dataclass(frozen=True, slots=True)
class Hit:
    phrase: Phrase
    start: int
    end: int  # one past the last token
    # The prompt's own words that matched, as read (folded, disguises undone).
    words: str = ""


def phrase(text: str, list_name: str, tag: str = "") -> Phrase | None:
    """A term as a phrase of normalized words, or None if it has none."""
    prefix = text.rstrip().endswith("*")
    parts = words(text.rstrip().rstrip("*"))
    if not parts:
        return None
    if prefix:
        parts[-1] += "*"
    return Phrase(tuple(parts), text.strip(), list_name, tag)


def parse(text: str, name: str) -> dict[str, list[Phrase]]:
    """The lists of one file's text: `name`, or `name.section` under `[section]` lines."""
    lists: dict[str, list[Phrase]] = defaultdict(list)
    current = name
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            current = f"{name}.{line[1:-1].strip()}"
            continue
        alternatives = [a.strip() for a in line.split("|")]
        tag = alternatives[0] if len(alternatives) > 1 else ""
        for alternative in alternatives:
            entry = phrase(alternative, current, tag)
            if entry is not None:
                lists[current].append(entry)
    return dict(lists)


@cache
def builtin(directory: str = "") -> dict[str, list[Phrase]]:
    """Every list shipped in the package (or in `directory`), by name; topics under `topics.`."""
    root = Path(directory) if directory else LEXICON
    lists: dict[str, list[Phrase]] = {}
    for path in sorted(root.iterdir(), key=lambda p: p.name):
        if path.name.endswith(".txt"):
            lists.update(parse(path.read_text(encoding="utf-8"), path.name[:-4]))
        elif path.is_dir():
            for sub in sorted(path.iterdir(), key=lambda p: p.name):
                if sub.name.endswith(".txt"):
                    lists.update(parse(sub.read_text(encoding="utf-8"), f"{path.name}.{sub.name[:-4]}"))
    return lists


class PhraseIndex:
    """Phrases by their first word (and by its skeleton, for stretched words), so a prompt is
    read once whatever the number of terms."""

    def __init__(self, phrases: Iterable[Phrase]) -> None:
        self._first: dict[str, list[Phrase]] = defaultdict(list)
        self._first_skeleton: dict[str, list[Phrase]] = defaultdict(list)
        self._prefixed: dict[str, list[Phrase]] = defaultdict(list)
        self.size = 0
        for entry in phrases:
            self.size += 1
            first = entry.words[0]
            if first.endswith("*"):
                self._prefixed[skeleton(first[:3])].append(entry)
            else:
                self._first[first].append(entry)
                self._first_skeleton[skeleton(first)].append(entry)

    def find(self, tokens: Sequence[Token]) -> list[Hit]:
        hits: list[Hit] = []
        for start, tok in enumerate(tokens):
            candidates: dict[int, Phrase] = {}
            for form in tok.forms:
                for entry in self._first.get(form, ()):
                    candidates[id(entry)] = entry
                for entry in self._prefixed.get(skeleton(form[:3]), ()):
                    candidates[id(entry)] = entry
            for form in tok.skeletons:
                for entry in self._first_skeleton.get(form, ()):
                    candidates[id(entry)] = entry
                for entry in self._prefixed.get(form[:3], ()):
                    candidates[id(entry)] = entry
            for entry in candidates.values():
                end = start + len(entry.words)
                if end <= len(tokens) and all(
                        t.matches(w) for t, w in zip(tokens[start:end], entry.words, strict=True)):
                    hits.append(Hit(entry, start, end, " ".join(t.word for t in tokens[start:end])))
        return hits


def same_words(a: str, b: str) -> bool:
    """Whether two names are the same once folded (for the names of people)."""
    return words(a) == words(b) and bool(fold(a).strip())
