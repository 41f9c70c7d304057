"""Train the prompt policy's semantic classifier and write policy/models/prompt_classifier.npz.

    python -m tests.train_classifier [--check | --app-texts]

It reads the tune split of issue 16's corpus (never the holdout), the must-hold corpus, and
the training prompts and instructions written for it (tests/data/semantic_prompts.tsv and
semantic_instructions.tsv), everyday scenes composed in the six languages and the app's own
text (messages, docstrings, SQL of server/, federation/, generation/, frozen in
tests/data/semantic_app_texts.txt) as benign background. Each
label is a logistic regression (scikit-learn, liblinear: deterministic) over policy.semantic's
features; the threshold of each policy category is chosen on scores from 5-fold
cross-validation over the same rows, never on the rows a model was fitted on. The same inputs
give the same file: `--check` retrains and fails if the shipped file scores differently.
"""

from __future__ import annotations

import argparse
import ast
import re
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
FALSE_REFUSAL_COST = 20.0
# A prompt means a topic a cameo's owner excluded from this score: a topic refuses only where the
# owner asked, so a doubtful match ("alice drinking tea" under "no alcohol") must not refuse.
TOPIC_THRESHOLD = 0.75
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


# Everyday scenes in the six languages, composed subject + action + place: the background of
# plain benign prompts that the corpus (which is full of trigger words) lacks. Without them the
# model took any word it had only seen in harmful prompts ("cameo", "video", "nothing") for harm.
SCENES = {
    "en": (("a dog", "my grandmother", "two friends", "a chef", "the kids", "a cyclist", "me",
            "a robot", "an old man", "my cameo"),
           ("dancing", "eating ice cream", "reading a book", "playing guitar", "laughing",
            "walking slowly", "painting a wall", "waving at the camera", "building a sandcastle",
            "cooking pasta"),
           ("at the beach", "in a small kitchen", "on a rooftop at night", "in the park",
            "under the rain", "at a train station", "in a busy market", "in the snow", "", "on stage")),
    "fr": (("un chien", "ma grand-mère", "deux amis", "un cuisinier", "les enfants", "un cycliste",
            "moi", "un robot", "un vieil homme", "mon caméo"),
           ("qui danse", "qui mange une glace", "qui lit un livre", "qui joue de la guitare",
            "qui rit", "qui marche lentement", "qui peint un mur", "qui salue la caméra",
            "qui construit un château de sable", "qui cuisine des pâtes"),
           ("à la plage", "dans une petite cuisine", "sur un toit la nuit", "au parc", "sous la pluie",
            "à la gare", "au marché", "dans la neige", "", "sur scène")),
    "es": (("un perro", "mi abuela", "dos amigos", "un cocinero", "los niños", "un ciclista", "yo",
            "un robot", "un anciano", "mi cameo"),
           ("bailando", "comiendo helado", "leyendo un libro", "tocando la guitarra", "riendo",
            "caminando despacio", "pintando una pared", "saludando a la cámara",
            "haciendo un castillo de arena", "cocinando pasta"),
           ("en la playa", "en una cocina pequeña", "en una azotea de noche", "en el parque",
            "bajo la lluvia", "en la estación", "en el mercado", "en la nieve", "", "en el escenario")),
    "de": (("ein Hund", "meine Oma", "zwei Freunde", "ein Koch", "die Kinder", "ein Radfahrer", "ich",
            "ein Roboter", "ein alter Mann", "mein Cameo"),
           ("tanzt", "isst ein Eis", "liest ein Buch", "spielt Gitarre", "lacht", "geht langsam",
            "streicht eine Wand", "winkt in die Kamera", "baut eine Sandburg", "kocht Nudeln"),
           ("am Strand", "in einer kleinen Küche", "nachts auf einem Dach", "im Park", "im Regen",
            "am Bahnhof", "auf dem Markt", "im Schnee", "", "auf der Bühne")),
    "pt": (("um cachorro", "minha avó", "dois amigos", "um cozinheiro", "as crianças", "um ciclista",
            "eu", "um robô", "um velho", "meu cameo"),
           ("dançando", "tomando sorvete", "lendo um livro", "tocando violão", "rindo",
            "andando devagar", "pintando uma parede", "acenando para a câmera",
            "fazendo um castelo de areia", "cozinhando macarrão"),
           ("na praia", "numa cozinha pequena", "num telhado à noite", "no parque", "na chuva",
            "na estação", "no mercado", "na neve", "", "no palco")),
    "it": (("un cane", "mia nonna", "due amici", "un cuoco", "i bambini", "un ciclista", "io",
            "un robot", "un vecchio", "il mio cameo"),
           ("che balla", "che mangia un gelato", "che legge un libro", "che suona la chitarra",
            "che ride", "che cammina piano", "che dipinge un muro", "che saluta la telecamera",
            "che costruisce un castello di sabbia", "che cucina la pasta"),
           ("in spiaggia", "in una piccola cucina", "su un tetto di notte", "al parco",
            "sotto la pioggia", "in stazione", "al mercato", "nella neve", "", "sul palco")),
}
# One scene in this many of all the combinations: enough background, not so much that the
# corpus's benign prompts full of trigger words weigh nothing beside it.
SCENE_STEP = 3


def scenes() -> list[str]:
    """Plain everyday prompts, deterministic, a share of every subject, action and place."""
    found = []
    for subjects, actions, places in SCENES.values():
        combos = [" ".join(part for part in (s, a, p) if part)
                  for s in subjects for a in actions for p in places]
        found += combos[::SCENE_STEP]
    return found


# The app's own text: its messages, docstrings and SQL, sentence by sentence, as they stood when
# the shipped model was trained. Much of what reaches the policy is no scene at all (a caption,
# "no video here", a cameo's name), and the model must know the app's words ("video", "cameo",
# "owner's instructions") for harmless. Kept in a file, not read from the live source, so that
# editing a docstring does not change what training gives; `--app-texts` writes it again from
# the source (then retrain). Not the policy's own package, and no sentence naming what the
# policy refuses.
APP_TEXTS = DATA / "semantic_app_texts.txt"
APP_PACKAGES = ("server", "federation", "generation")
POLICY_WORDS = re.compile(r"sexual|nud|porn|violen|gore|self-harm|suicid|\bhate|harass|minor"
                          r"|child|refus|held|abuse|weapon|kill|dead|death", re.IGNORECASE)
APP_STEP = 2


def app_texts() -> list[str]:
    return APP_TEXTS.read_text(encoding="utf-8").splitlines()


def app_texts_from_source() -> list[str]:
    root = Path(__file__).parent.parent
    found: set[str] = set()
    for package in APP_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    found.update(" ".join(part.split()) for part in
                                 re.split(r"(?<=[.;:!?])\s+|\n\s*\n", node.value)
                                 if len(semantic.WORD.findall(part)) >= semantic.MIN_WORDS
                                 and not POLICY_WORDS.search(part))
    return sorted(found)[::APP_STEP]


def prompt_examples() -> list[tuple[str, frozenset[str]]]:
    examples = read_tsv(PROMPTS) + [(text, frozenset({"benign"})) for text in scenes() + app_texts()]
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


def thresholds(x: Any, y: np.ndarray, labels: Sequence[str], folds: np.ndarray,
               judged: np.ndarray) -> np.ndarray:
    """Per label, the threshold that best trades refusals for false refusals on out-of-fold
    scores, over the prompts the layer judges (`judged`: enough evidence); topics keep
    TOPIC_THRESHOLD (too few examples to tune on)."""
    # Out-of-fold scores of the policy categories and "benign" only: topics are not tuned.
    tuned = [j for j, label in enumerate(labels) if label in (*semantic.CATEGORIES, "benign")]
    scores = np.zeros(y.shape)
    for k in range(FOLDS):
        weights, bias = fit(x[folds != k], y[folds != k][:, tuned])
        scores[np.ix_(folds == k, tuned)] = 1 / (1 + np.exp(-(x[folds == k] @ weights + bias)))
    chosen = np.array([TOPIC_THRESHOLD if label.startswith("topic.") else 0.5 for label in labels])
    benign = list(labels).index("benign")
    harmless = y[:, benign]
    for j, label in enumerate(labels):
        if label not in semantic.CATEGORIES:
            continue
        # As policy.semantic decides: at the threshold and more likely than benign.
        likelier = (scores[:, j] >= scores[:, benign]) & judged
        gains = [(fired := (scores[:, j] >= t) & likelier)[y[:, j]].sum()
                 - FALSE_REFUSAL_COST * fired[harmless].sum() for t in GRID]
        chosen[j] = GRID[int(np.argmax(gains))]
    policy = [j for j, label in enumerate(labels) if label in semantic.CATEGORIES]
    fired = np.zeros(len(y), dtype=bool)
    for j in policy:
        fired |= (scores[:, j] >= chosen[j]) & (scores[:, j] >= scores[:, benign]) & judged
    harmful = y[:, policy].any(axis=1)
    print(f"out-of-fold: recall {fired[harmful].mean():.3f} on {harmful.sum()} harmful,"
          f" benign pass {1 - fired[harmless.astype(bool)].mean():.3f} on {int(harmless.sum())}",
          file=sys.stderr)
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
    if tuned:
        judged = np.array([reader.enough_evidence(t) for t in texts])
        chosen = thresholds(x, y, labels, folds(texts), judged)
    else:
        chosen = np.full(len(labels), 0.5)
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
    parser.add_argument("--app-texts", action="store_true",
                        help=f"write {APP_TEXTS.name} again from the source, and train nothing")
    args = parser.parse_args(argv)
    if args.app_texts:
        texts = app_texts_from_source()
        APP_TEXTS.write_text("".join(f"{text}\n" for text in texts), encoding="utf-8")
        print(f"wrote {APP_TEXTS} ({len(texts)} sentences): retrain now")
        return 0
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
