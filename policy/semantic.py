"""The semantic layer of the prompt policy: a small trained classifier that judges what the
lexicon let through by its meaning, in the six languages, paraphrase and slang included.

Why this model: character n-grams inside word boundaries (2 to 5 letters) with word unigrams
and bigrams, TF-IDF weighted, and one logistic regression per label. Character n-grams carry
a word's stem across languages and spellings ("desnuda", "nue", "nackt"; "unaliving",
"s3ggs") where a word list needs every form; a linear model over them is trained on our own
labelled prompts in seconds, is read in a few hundred kilobytes, and scores a prompt in a
fraction of a millisecond on one CPU core, offline. A safety LLM (Llama Guard, ShieldGemma) would
judge better but needs a GPU per prompt, which the web process does not have; an operator who
runs one can add it as the moderation endpoint layer (`policy.moderation_endpoint`).

The model file (`models/prompt_classifier.npz`, written by `python -m tests.train_classifier`)
holds only arrays: the n-gram vocabulary, its IDF weights, each label's coefficients, bias and
threshold. It is read with numpy (no pickle) and scored here, so the web process never imports
scikit-learn. Two heads share the vocabulary: `prompt` (the policy's categories, "benign" and
the topics a cameo owner may exclude) and `instruction` (which of those an owner's instructions
exclude: "Keep it family friendly", "Pas de politique", "Keine Waffen").
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

MODEL = Path(__file__).parent / "models" / "prompt_classifier.npz"
# The policy categories the prompt head refuses on its own (the rest are topics for instructions).
CATEGORIES = ("minors", "sexual", "self_harm", "hate", "violence", "harassment", "override")
WORD = re.compile(r"\w+")
NGRAMS = range(2, 6)
# The least evidence the prompt head judges on: fewer words than this, or fewer of the prompt's
# n-grams in the vocabulary than this share, and the layer says nothing (the lexicon's verdict
# stands). A linear model scores a two-word caption or a URL by whichever few n-grams it knows,
# and refused "two", "x" and "no video here" as sexual content that way.
MIN_WORDS = 3
MIN_KNOWN_SHARE = 0.6
# Small capitals, which NFKC leaves alone: "ɴᴀᴋᴇᴅ" reads "naked".
SMALL_CAPITALS = str.maketrans("ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘǫʀꜱᴛᴜᴠᴡʏᴢ", "abcdefghijklmnopqrstuvwyz")


def fold(text: str) -> str:
    """The text as the model reads it: NFKC, casefolded, small capitals as letters, without
    combining marks but ñ's. Kept here, not
    shared with the lexicon's normaliser, so that a change there cannot move the model's scores
    away from those it was trained and tuned with."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(SMALL_CAPITALS)
    kept: list[str] = []
    for c in unicodedata.normalize("NFKD", text):
        # The tilde of ñ stays: "niña" is a girl, "Nina" a name.
        if not unicodedata.combining(c) or c == "\u0303" and kept and kept[-1] == "n":
            kept.append(c)
    return unicodedata.normalize("NFC", "".join(kept))


def ngrams(text: str) -> Counter[str]:
    """The features of a text: character n-grams of each word padded with spaces (as
    scikit-learn's char_wb) and word unigrams and bigrams (marked apart with a leading "_")."""
    words = WORD.findall(fold(text))
    found: Counter[str] = Counter()
    for word in words:
        padded = f" {word} "
        for n in NGRAMS:
            if n > len(padded):
                break
            found.update(padded[i:i + n] for i in range(len(padded) - n + 1))
    found.update(f"_{w}" for w in words)
    found.update(f"_{a} {b}" for a, b in zip(words, words[1:], strict=False))
    return found


class LayerUnavailable(RuntimeError):
    """A configured layer that could not answer: the prompt is held, never passed."""


@dataclass(frozen=True)
class Head:
    labels: tuple[str, ...]
    weights: Any  # numpy array, vocabulary x labels
    bias: Any
    thresholds: Any


class Classifier:
    """The model file, loaded: scores a text for each label of a head, between 0 and 1."""

    def __init__(self, arrays: Mapping[str, Any]) -> None:
        import numpy as np

        self._np = np
        vocabulary = [str(v) for v in arrays["vocabulary"]]
        self.index = {term: i for i, term in enumerate(vocabulary)}
        self.idf = np.asarray(arrays["idf"], dtype=np.float64)
        self.heads = {name: Head(tuple(str(label) for label in arrays[f"{name}_labels"]),
                                 np.asarray(arrays[f"{name}_weights"], dtype=np.float64),
                                 np.asarray(arrays[f"{name}_bias"], dtype=np.float64),
                                 np.asarray(arrays[f"{name}_thresholds"], dtype=np.float64))
                      for name in ("prompt", "instruction")}
        for head in self.heads.values():
            if head.weights.shape != (len(vocabulary), len(head.labels)):
                raise ValueError("model file: weights do not match the vocabulary and labels")

    @classmethod
    def load(cls, path: Path | None = None) -> Classifier:
        import numpy as np

        with np.load(path or MODEL, allow_pickle=False) as arrays:
            return cls({name: arrays[name] for name in arrays.files})

    def features(self, text: str) -> tuple[list[int], Any]:
        """Vocabulary rows and their L2-normalised sublinear TF-IDF values."""
        rows, values = [], []
        for term, count in ngrams(text).items():
            if (row := self.index.get(term)) is not None:
                rows.append(row)
                values.append((1.0 + math.log(count)) * self.idf[row])
        vector = self._np.asarray(values, dtype=self._np.float64)
        norm = math.sqrt(float(vector @ vector)) if rows else 0.0
        return rows, vector / norm if norm else vector

    def enough_evidence(self, text: str) -> bool:
        """Whether the text has words enough, and enough of its n-grams known to the model, for
        the prompt head to judge it (see MIN_WORDS)."""
        if len(WORD.findall(fold(text))) < MIN_WORDS:
            return False
        found = ngrams(text)
        return sum(term in self.index for term in found) >= MIN_KNOWN_SHARE * len(found)

    def scores(self, text: str, head: str = "prompt") -> dict[str, float]:
        """P(label) for every label of the head."""
        model = self.heads[head]
        rows, values = self.features(text)
        logits = values @ model.weights[rows] + model.bias if rows else model.bias
        probabilities = 1.0 / (1.0 + self._np.exp(-logits))
        return dict(zip(model.labels, map(float, probabilities), strict=True))

    def above(self, text: str, head: str = "prompt", scores: dict[str, float] | None = None
              ) -> dict[str, float]:
        """The labels whose score (given, or computed) reaches the threshold chosen for them on
        the tune split."""
        model = self.heads[head]
        return {label: score for (label, score), threshold
                in zip((scores or self.scores(text, head)).items(), model.thresholds, strict=True)
                if score >= threshold}

    def excluded(self, instructions: str) -> frozenset[str]:
        """The labels an owner's instructions exclude, sentence by sentence."""
        return frozenset(label for sentence in re.split(r"[.;!?\n]+", instructions)
                         if sentence.strip() for label in self.above(sentence, "instruction"))


@dataclass(frozen=True)
class Finding:
    """What the semantic layer found: a category (or "instructions" with the topic and the
    cameo whose instructions exclude it), its score."""

    category: str
    label: str
    score: float
    cameo: int = -1


_classifier: Classifier | None = None
_lock = threading.Lock()


def classifier() -> Classifier:
    """The process's classifier, loaded on first use (about 50 ms; numpy is imported then, never
    at start). A model file that cannot be read raises LayerUnavailable: the prompt is held."""
    global _classifier
    with _lock:
        if _classifier is None:
            try:
                _classifier = Classifier.load()
            except (OSError, ValueError, KeyError) as exc:
                raise LayerUnavailable(f"the prompt classifier cannot be loaded: {exc}") from exc
        return _classifier


def loaded() -> Classifier | None:
    return _classifier


@lru_cache(maxsize=4096)
def excluded_topics(instructions: str) -> frozenset[str]:
    """The labels a cameo owner's instructions exclude, by meaning, in any of the six languages."""
    return classifier().excluded(instructions) if instructions.strip() else frozenset()


def judge(text: str, instructions: tuple[str, ...] = ()) -> Finding | None:
    """The policy category the prompt most probably means (at its threshold and more likely than
    "benign"), else the first topic one of the cameos' instructions exclude that it means; None
    when it means neither, or when the prompt is too short or too unlike anything the model was
    trained on to judge."""
    model = classifier()
    if not model.enough_evidence(text):
        return None
    scores = model.scores(text)
    above = model.above(text, scores=scores)
    benign = scores.get("benign", 0.0)
    harmful = sorted((score, label) for label, score in above.items()
                     if label in CATEGORIES and score >= benign)
    if harmful:
        score, label = harmful[-1]
        return Finding(label, label, score)
    for cameo, owner_rules in enumerate(instructions):
        for label in sorted(excluded_topics(owner_rules)):
            if label.startswith("topic.") and label in above:
                return Finding("instructions", label, above[label], cameo)
    return None
