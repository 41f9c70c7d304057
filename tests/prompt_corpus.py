"""The prompt policy corpora and their scores.

tests/data/prompt_corpus.tsv: the must-hold rows and the precision and recall floors that
tests/test_prompt_policy.py asserts. tests/data/prompt_corpus16.jsonl: issue 16's labelled corpus
of prompts written the way people get around filters (paraphrase, slang, six languages,
obfuscation, minors by grade, public figures by title, overrides, cameo instructions, benign
prompts full of trigger words), split by idea group into a part to tune on and a holdout never
tuned on; `python -m tests.bench.policy` prints its recall and benign pass rate per layer.
A row's split never changes once published (layers are tuned on it); a new row joins the group
of the idea it retells, in any language, and so that group's split.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from policy.prompts import CameoUse, InstanceRules, Person, Refusal, review_prompt

CORPUS = Path(__file__).parent / "data" / "prompt_corpus.tsv"
CASES = Path(__file__).parent / "data" / "prompt_corpus16.jsonl"

ALICE = Person("https://likeness.example/users/alice", ("Alice Example", "alice", "alice@likeness.example"))
NADIA = Person("https://likeness.example/users/nadiaveil",
               ("Nadia Veil", "nadiaveil", "nadiaveil@likeness.example"))
# The instance the corpus runs on: Nadia Veil is flagged as a public figure.
RULES = InstanceRules(public_figures=[NADIA])


def cameos(context: str) -> tuple[CameoUse, ...]:
    """The cameos a row's context names: "" none; "cameo" Alice's own cameo; "cameo: <text>" the
    same with those owner instructions; "nadia" the cameo of Nadia Veil, the flagged public
    figure; "impostor: <name>" a remote account that merely calls itself <name>, verified by
    no one (its display name must not exempt that public figure)."""
    kind, _, rest = context.partition(":")
    if context == "nadia":
        return (CameoUse(f"{NADIA.actor}/cameos/1", "Nadia", NADIA),)
    if kind == "cameo":
        return (CameoUse(f"{ALICE.actor}/cameos/1", "Alice", ALICE, rest.strip()),)
    if kind == "impostor":
        name = rest.strip()
        handle = "".join(name.lower().split())
        owner = Person(f"https://elsewhere.example/users/{handle}", (name, handle))
        return (CameoUse(f"{owner.actor}/cameos/1", name, owner),)
    return ()


@dataclass(frozen=True)
class Row:
    prompt: str
    refuse: bool
    category: str | None
    must: bool
    context: str
    note: str

    @property
    def cameos(self) -> tuple[CameoUse, ...]:
        return cameos(self.context)


def load(path: Path = CORPUS) -> list[Row]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 6:
            raise ValueError(f"{path.name}:{number}: expected 6 tab-separated fields")
        prompt, verdict, category, must, context, note = fields
        if verdict not in ("allow", "refuse") or must not in ("must", "hard"):
            raise ValueError(f"{path.name}:{number}: bad verdict or must column")
        rows.append(Row(prompt, verdict == "refuse", None if category == "-" else category,
                        must == "must", context, note))
    return rows


VERDICTS = ("allow", "refuse")
CATEGORIES = ("sexual", "minors", "violence", "self_harm", "hate", "harassment", "public_figure",
              "override", "instructions")
LANGUAGES = ("en", "fr", "es", "de", "pt", "it")
CLASSES = ("plain", "paraphrase", "slang", "obfuscated", "other_language", "minors_words",
           "public_figure_alias", "public_figure_exemption", "override_filler", "cameo_instruction",
           "benign_trigger")
SPLITS = ("tune", "holdout")


@dataclass(frozen=True)
class Case:
    """A prompt of the issue 16 corpus. `category` is, for a harmful prompt, the category it must
    be refused as; for a benign one, the category its trigger-looking words resemble (None for a
    plain benign prompt). `group` names the idea: its paraphrases share it, and so its split."""

    prompt: str
    refuse: bool
    category: str | None
    language: str
    kind: str
    split: str
    group: str
    context: str = ""

    @property
    def cameos(self) -> tuple[CameoUse, ...]:
        return cameos(self.context)


def load_cases(path: Path = CASES) -> list[Case]:
    """The corpus's cases, or ValueError naming the line of the first one that is malformed."""
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            item = json.loads(line)
            case = Case(item["prompt"], item["verdict"] == "refuse", item.get("category"),
                        item["language"], item["class"], item["split"], item["group"],
                        item.get("context", ""))
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path.name}:{number}: {error!r}") from None
        if (item["verdict"] not in VERDICTS or case.language not in LANGUAGES
                or case.kind not in CLASSES or case.split not in SPLITS
                or case.category not in (*CATEGORIES, None) or case.refuse and case.category is None
                or not isinstance(case.prompt, str) or not case.prompt.strip()):
            raise ValueError(f"{path.name}:{number}: a label is not one of the known values")
        cases.append(case)
    return cases


def judge(row: Row, abuse: Callable[[str], float] | None) -> Refusal | None:
    return review_prompt(row.prompt, row.cameos, RULES, abuse)


@dataclass(frozen=True)
class Score:
    name: str
    true_pos: int
    false_pos: int
    false_neg: int

    @property
    def precision(self) -> float:
        found = self.true_pos + self.false_pos
        return self.true_pos / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_pos + self.false_neg
        return self.true_pos / wanted if wanted else 1.0


def scores(results: Iterable[tuple[Row, Refusal | None]]) -> list[Score]:
    """Precision and recall per category (a refusal counts for the category it names) and
    overall (refused or not, whatever the category), "overall" last."""
    results = list(results)
    categories = sorted({r.category for r, _ in results if r.category})
    table = []
    for category in categories:
        tp = sum(1 for r, v in results if r.category == category and v and v.category == category)
        fp = sum(1 for r, v in results if v and v.category == category and r.category != category)
        fn = sum(1 for r, v in results if r.category == category and not (v and v.category == category))
        table.append(Score(category, tp, fp, fn))
    tp = sum(1 for r, v in results if r.refuse and v)
    fp = sum(1 for r, v in results if not r.refuse and v)
    fn = sum(1 for r, v in results if r.refuse and not v)
    table.append(Score("overall", tp, fp, fn))
    return table


def misses(results: Iterable[tuple[Row, Refusal | None]]) -> list[tuple[Row, Refusal | None]]:
    """Rows whose verdict (or refused category) is not the expected one."""
    return [(r, v) for r, v in results
            if bool(v) != r.refuse or (v is not None and r.category != v.category)]
