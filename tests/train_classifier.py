"""Train the prompt policy's semantic classifier and write policy/models/prompt_classifier.npz.

    python -m tests.train_classifier [--check]

It reads the tune split of issue 16's corpus (never the holdout), the must-hold corpus, and
the training prompts and instructions written for it (tests/data/semantic_prompts.tsv and
semantic_instructions.tsv). Each
label is a logistic regression (scikit-learn, liblinear: deterministic) over policy.semantic's
features; the threshold of each policy category is chosen on scores from 5-fold
cross-validation over the same rows, never on the rows a model was fitted on. The same inputs
give the same file: `--check` retrains and fails if the shipped file scores differently.
"""

from __future__ import annotations

import argparse
import sys
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from policy import semantic
from tests import prompt_corpus

DATA = Path(__file__).parent / "data"
PROMPTS = DATA / "semantic_prompts.tsv"
INSTRUCTIONS = DATA / "semantic_instructions.tsv"
# Corpus categories judged by name, not by meaning: the lexicon and the instance's lists decide.
NOT_LEARNED = ("public_figure", "instructions")
C = 10.0
FOLDS = 5
# A false refusal costs this many missed refusals when thresholds are chosen: most prompts a
# live instance sees are benign, so the layer must refuse few of them.
FALSE_REFUSAL_COST = 10.0
GRID = np.round(np.arange(0.15, 0.96, 0.05), 2)


def corpus_rows() -> list[tuple[str, bool, str | None]]:
    """The corpus prompts training may read: issue 16's tune split (never its holdout) and the
    must-hold corpus, as (prompt, refuse, category)."""
    rows = [(c.prompt, c.refuse, c.category) for c in prompt_corpus.load_cases() if c.split == "tune"]
    return rows + [(r.prompt, r.refuse, r.category) for r in prompt_corpus.load()]


def owner_cases() -> list[tuple[str, str]]:
    """(prompt, instructions) of the tune split's prompts refused for a cameo's instructions."""
    return [(c.prompt, c.context.partition(":")[2].strip()) for c in prompt_corpus.load_cases()
            if c.split == "tune" and c.refuse and c.category == "instructions"
            and c.context.startswith("cameo:")]


def read_tsv(path: Path) -> list[tuple[str, frozenset[str]]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        text, sep, labels = line.partition("\t")
        if not sep or not text.strip():
            raise ValueError(f"{path.name}:{number}: expected text<TAB>labels")
        rows.append((text, frozenset(labels.split(",")) - {"none"}))
    return rows


def prompt_examples() -> list[tuple[str, frozenset[str]]]:
    examples = read_tsv(PROMPTS)
    for prompt, refuse, category in corpus_rows():
        if refuse and category in NOT_LEARNED:
            continue
        examples.append((prompt, frozenset({category} if refuse else ())))
    # "benign": no policy category, whatever its topics.
    return [(text, labels - {"benign"} if labels & set(semantic.CATEGORIES) else labels | {"benign"})
            for text, labels in examples]


class Features:
    """The vocabulary and IDF of the training texts, as policy.semantic will read them."""

    def __init__(self, texts: Iterable[str]) -> None:
        counted = [semantic.ngrams(t) for t in texts]
        self.vocabulary = sorted({term for c in counted for term in c})
        index = {term: i for i, term in enumerate(self.vocabulary)}
        df = np.zeros(len(self.vocabulary))
        for c in counted:
            df[[index[t] for t in c]] += 1
        self.idf = (np.log((1 + len(counted)) / (1 + df)) + 1).astype(np.float32)

    def matrix(self, model: semantic.Classifier, texts: Sequence[str]) -> Any:
        """The texts' features as a sparse matrix (liblinear is fast on it, slow on dense)."""
        from scipy.sparse import csr_matrix

        data, columns, starts = [], [], [0]
        for text in texts:
            found, values = model.features(text)
            columns += found
            data += list(values)
            starts.append(len(columns))
        return csr_matrix((data, columns, starts), shape=(len(texts), len(self.vocabulary)))


def fit(x: Any, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    weights, bias = np.zeros((x.shape[1], y.shape[1])), np.zeros(y.shape[1])
    for j in range(y.shape[1]):
        if y[:, j].any():
            model = LogisticRegression(C=C, class_weight="balanced", solver="liblinear",
                                       random_state=0).fit(x, y[:, j])
            weights[:, j], bias[j] = model.coef_[0], model.intercept_[0]
        else:
            bias[j] = -10.0
    return weights, bias


def folds(texts: Sequence[str]) -> np.ndarray:
    """A fold for each text, by its corpus idea group: a paraphrase is never scored by a model
    fitted on another paraphrase of the same idea (that would make thresholds look safe)."""
    group = {c.prompt: c.group for c in prompt_corpus.load_cases()}
    return np.array([zlib.crc32(group.get(t, t).encode()) % FOLDS for t in texts])


def thresholds(x: Any, y: np.ndarray, labels: Sequence[str], folds: np.ndarray) -> np.ndarray:
    """Per label, the threshold that best trades refusals for false refusals on out-of-fold
    scores; topics keep 0.5 (too few examples to tune on)."""
    scores = np.zeros(y.shape)
    for k in range(FOLDS):
        weights, bias = fit(x[folds != k], y[folds != k])
        scores[folds == k] = 1 / (1 + np.exp(-(x[folds == k] @ weights + bias)))
    chosen = np.full(len(labels), 0.5)
    benign = list(labels).index("benign")
    harmless = y[:, benign]
    for j, label in enumerate(labels):
        if label not in semantic.CATEGORIES:
            continue
        # As policy.semantic decides: at the threshold and more likely than benign.
        likelier = scores[:, j] >= scores[:, benign]
        gains = [(fired := (scores[:, j] >= t) & likelier)[y[:, j]].sum()
                 - FALSE_REFUSAL_COST * fired[harmless].sum() for t in GRID]
        chosen[j] = GRID[int(np.argmax(gains))]
    return chosen


def train() -> dict[str, np.ndarray]:
    """The model's arrays. The instruction head is fitted first: it reads the instructions of
    the corpus's prompts refused for a cameo's instructions, and where they exclude one topic
    alone, the prompt is a training example of that topic for the prompt head."""
    prompts = prompt_examples()
    instructions = read_tsv(INSTRUCTIONS)
    owners = owner_cases()
    features = Features([t for t, _ in prompts] + [p for p, _ in owners] + [t for t, _ in instructions])
    arrays: dict[str, np.ndarray] = {"vocabulary": np.array(features.vocabulary),
                                     "idf": features.idf}
    size = len(features.vocabulary)
    reader = semantic.Classifier({**arrays, **_empty("prompt", size), **_empty("instruction", size)})
    arrays.update(_head("instruction", instructions, features, reader, tuned=False))
    reader = semantic.Classifier({**arrays, **_empty("prompt", size)})
    for prompt, owner_rules in owners:
        topics = {label for label in reader.excluded(owner_rules) if label.startswith("topic.")}
        if len(topics) == 1:
            prompts.append((prompt, frozenset({*topics, "benign"})))
    arrays.update(_head("prompt", prompts, features, reader, tuned=True))
    return arrays


def _head(head: str, examples: list[tuple[str, frozenset[str]]], features: Features,
          reader: semantic.Classifier, tuned: bool) -> dict[str, np.ndarray]:
    labels = sorted({label for _, found in examples for label in found})
    texts = [t for t, _ in examples]
    x = features.matrix(reader, texts)
    y = np.array([[label in found for label in labels] for _, found in examples])
    weights, bias = fit(x, y)
    chosen = thresholds(x, y, labels, folds(texts)) if tuned else np.full(len(labels), 0.5)
    return {f"{head}_labels": np.array(labels), f"{head}_weights": weights.astype(np.float16),
            f"{head}_bias": bias.astype(np.float32), f"{head}_thresholds": chosen.astype(np.float32)}


def _empty(head: str, size: int) -> dict[str, np.ndarray]:
    return {f"{head}_labels": np.array([], dtype=str), f"{head}_weights": np.zeros((size, 0)),
            f"{head}_bias": np.zeros(0), f"{head}_thresholds": np.zeros(0)}


def probes() -> list[str]:
    return [t for t, _ in read_tsv(PROMPTS)][::7]


def same_scores(a: semantic.Classifier, b: semantic.Classifier, texts: Iterable[str]) -> bool:
    return all(np.allclose(list(a.scores(t, h).values()), list(b.scores(t, h).values()), atol=1e-6)
               and a.heads[h].labels == b.heads[h].labels
               for t in texts for h in ("prompt", "instruction"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="retrain and compare with the shipped model instead of writing it")
    args = parser.parse_args(argv)
    arrays = train()
    trained = semantic.Classifier(arrays)
    if args.check:
        shipped = semantic.Classifier.load()
        ok = same_scores(trained, shipped, probes())
        print("the shipped model is what training gives" if ok else "the shipped model differs")
        return 0 if ok else 1
    semantic.MODEL.parent.mkdir(exist_ok=True)
    np.savez_compressed(semantic.MODEL, **arrays)
    print(f"wrote {semantic.MODEL} ({semantic.MODEL.stat().st_size // 1024} KiB,"
          f" {len(arrays['vocabulary'])} features)")
    for label, threshold in zip(arrays["prompt_labels"], arrays["prompt_thresholds"], strict=True):
        print(f"  {label:<16} threshold {threshold:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
