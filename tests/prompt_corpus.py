"""The prompt policy corpus (tests/data/prompt_corpus.tsv) and its scores: read by
tests/test_prompt_policy.py, which asserts them, and by `python -m tests.bench.policy`, which
prints them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from policy.prompts import CameoUse, InstanceRules, Person, Refusal, review_prompt

CORPUS = Path(__file__).parent / "data" / "prompt_corpus.tsv"

ALICE = Person("https://likeness.example/users/alice", ("Alice Example", "alice", "alice@likeness.example"))
NADIA = Person("https://likeness.example/users/nadiaveil",
               ("Nadia Veil", "nadiaveil", "nadiaveil@likeness.example"))
# The instance the corpus runs on: Nadia Veil is flagged as a public figure.
RULES = InstanceRules(public_figures=[NADIA])


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
        if self.context == "nadia":
            return (CameoUse(f"{NADIA.actor}/cameos/1", "Nadia", NADIA),)
        if self.context.startswith("cameo"):
            instructions = self.context.partition(":")[2].strip()
            return (CameoUse(f"{ALICE.actor}/cameos/1", "Alice", ALICE, instructions),)
        return ()


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
