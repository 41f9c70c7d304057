"""Safety policy speed and quality: prompt verdicts per second and their latency on one core for
each layer of the policy, issue 16's corpus (recall on harmful prompts, pass rate on benign
ones, per category, language and class, on the holdout and the tune split apart), the must-hold
corpus's precision and recall, and the NSFW frame check's seconds per 10 s video on CPU.

    python -m tests.bench.policy [--seconds S] [--only SECTION ...] [--misses LAYER]

Each section is a function that returns tables; another check joins with one line in SECTIONS.
Each path through the prompt policy is one line in LAYERS: a new layer (a semantic classifier,
a safety model, a moderation endpoint) is measured beside the others by adding its line there.
Prints markdown tables.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from policy import semantic
from policy.classifier import abuse_scorer
from policy.prompts import CameoUse, Refusal, review_prompt
from tests import prompt_corpus

# One path through the prompt policy: a prompt and its cameos to a refusal, or None to pass.
Judge = Callable[[str, Sequence[CameoUse]], Refusal | None]


def lexicon() -> Judge:
    return lambda prompt, cameos: review_prompt(prompt, cameos, prompt_corpus.RULES, semantic=False)


def lexicon_and_abuse() -> Judge:
    scorer = abuse_scorer()
    return lambda prompt, cameos: review_prompt(prompt, cameos, prompt_corpus.RULES, scorer,
                                                semantic=False)


def lexicon_and_semantic() -> Judge:
    semantic.classifier()
    return lambda prompt, cameos: review_prompt(prompt, cameos, prompt_corpus.RULES)


def full_policy() -> Judge:
    scorer = abuse_scorer()
    semantic.classifier()
    return lambda prompt, cameos: review_prompt(prompt, cameos, prompt_corpus.RULES, scorer)


# The policy's paths, cheapest first, each built once per run (loading models, configuring
# endpoints): the lexicon alone, then each layer added. The last is the full policy. A new layer
# joins with one line here.
LAYERS: list[tuple[str, Callable[[], Judge]]] = [
    ("lexicon", lexicon),
    ("lexicon + abuse classifier", lexicon_and_abuse),
    ("lexicon + semantic classifier", lexicon_and_semantic),
    ("lexicon + abuse + semantic", full_policy),
]


@dataclass(frozen=True)
class Table:
    title: str
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", "| " + " | ".join(self.header) + " |",
                 "|" + "---|" * len(self.header)]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)


@contextmanager
def one_core() -> Iterator[str]:
    """Run pinned to one CPU (where the OS lets us), and give the others back afterwards."""
    if not hasattr(os, "sched_setaffinity"):
        yield "not pinned"
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})
    try:
        yield f"pinned to CPU {min(before)}"
    finally:
        os.sched_setaffinity(0, before)


def _latencies(cases: list[prompt_corpus.Case], judge: Judge, seconds: float) -> list[float]:
    """Seconds per verdict, over the corpus again and again for about `seconds`."""
    timings: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or not timings:
        for case in cases:
            start = time.perf_counter()
            judge(case.prompt, case.cameos)
            timings.append(time.perf_counter() - start)
    return timings


def verdict_speed(args: argparse.Namespace) -> list[Table]:
    cases = prompt_corpus.load_cases()
    judges = [(name, build()) for name, build in LAYERS]
    scorer = abuse_scorer()
    with one_core() as pinned:
        _latencies(cases, judges[-1][1], 0.2)  # warm the caches (lists, instructions) first
        measured = [(name, _latencies(cases, judge, args.seconds)) for name, judge in judges]
        classifier = []
        for case in cases:
            start = time.perf_counter()
            scorer(case.prompt)
            classifier.append(time.perf_counter() - start)
    table = []
    for name, timings in [*measured, ("abuse classifier call alone", classifier)]:
        ordered = sorted(timings)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        table.append((name, f"{len(timings) / sum(timings):,.0f}",
                      f"{statistics.median(timings) * 1e3:.3f} ms", f"{p99 * 1e3:.3f} ms",
                      str(len(timings))))
    return [Table(f"Prompt verdicts on one core ({pinned}), over the {len(cases)}-prompt issue 16 corpus",
                  ("path", "verdicts per second", "p50", "p99", "verdicts"), table)]


def _rates(cases: Sequence[prompt_corpus.Case], verdicts: Sequence[bool]) -> str:
    """Recall on the harmful cases and pass rate on the benign ones, "recall / pass"."""
    harmful = [refused for case, refused in zip(cases, verdicts, strict=True) if case.refuse]
    benign = [not refused for case, refused in zip(cases, verdicts, strict=True) if not case.refuse]
    return " / ".join(f"{sum(part) / len(part):.2f}" if part else "-" for part in (harmful, benign))


def issue16_corpus(args: argparse.Namespace) -> list[Table]:
    """Per layer, recall on harmful prompts and pass rate on benign ones, by category, language
    and class, holdout first (never tuned on: the figure that counts), then tune."""
    cases = prompt_corpus.load_cases()
    refused = {name: [build()(c.prompt, c.cameos) is not None for c in cases] for name, build in LAYERS}
    keys: list[tuple[str, Callable[[prompt_corpus.Case], str]]] = [
        ("category", lambda c: c.category or "(none)"),
        ("language", lambda c: c.language),
        ("class", lambda c: c.kind),
    ]
    tables = []
    for split in ("holdout", "tune"):
        index = [i for i, c in enumerate(cases) if c.split == split]
        for title, key in keys:
            groups = sorted({key(cases[i]) for i in index}) + ["all"]
            rows = []
            for group in groups:
                part = [i for i in index if group == "all" or key(cases[i]) == group]
                chosen = [cases[i] for i in part]
                rows.append((group, str(sum(c.refuse for c in chosen)),
                             str(sum(not c.refuse for c in chosen)),
                             *(_rates(chosen, [refused[name][i] for i in part]) for name, _ in LAYERS)))
            tables.append(Table(
                f"Issue 16 corpus, {split} split, by {title}: recall on harmful / pass rate on benign",
                (title, "harmful", "benign", *(name for name, _ in LAYERS)), rows))
    return tables


def tune_misses(layer: str) -> Table:
    """The tune split's prompts that a layer judges wrongly, to tune on. Never the holdout's: a
    holdout looked at prompt by prompt stops measuring prompts the policy has not seen."""
    build = dict(LAYERS)[layer]
    judge = build()
    rows = []
    for case in prompt_corpus.load_cases():
        if case.split != "tune":
            continue
        verdict = judge(case.prompt, case.cameos)
        if (verdict is not None) != case.refuse:
            rows.append((case.language, case.kind, case.category or "-",
                         "refuse" if case.refuse else "allow",
                         f"{verdict.category}: {verdict.term}" if verdict else "passed",
                         case.prompt.replace("|", "/")))
    return Table(f"Tune split: the {len(rows)} prompts {layer!r} gets wrong",
                 ("language", "class", "category", "expected", "verdict", "prompt"), rows)


def corpus_quality(args: argparse.Namespace) -> list[Table]:
    rows = prompt_corpus.load()
    scorer = abuse_scorer()
    results = [(row, prompt_corpus.judge(row, scorer)) for row in rows]
    lexicon_only = {s.name: s for s in prompt_corpus.scores(
        (row, prompt_corpus.judge(row, None)) for row in rows)}
    table = [(s.name, str(s.true_pos + s.false_neg), f"{s.precision:.3f}", f"{s.recall:.3f}",
              f"{lexicon_only[s.name].recall:.3f}") for s in prompt_corpus.scores(results)]
    wrong = len(prompt_corpus.misses(results))
    return [Table(f"Must-hold corpus: precision and recall by category ({len(rows)} prompts,"
                  f" {sum(not r.refuse for r in rows)} allowed; {wrong} verdicts differ from the"
                  " expected one)",
                  ("category", "refused in corpus", "precision", "recall", "recall, lexicon only"),
                  table)]


def output_check(args: argparse.Namespace) -> list[Table]:
    from tests.bench import output_safety

    return [Table("NSFW frame check on CPU (10 s of 480x832 at 16 fps, sampled)", ("measure", "value"),
                  output_safety.rows())]


# The benchmark's sections, in order: add a check here and it is measured and printed.
SECTIONS: list[Callable[[argparse.Namespace], list[Table]]] = [
    verdict_speed,
    issue16_corpus,
    corpus_quality,
    output_check,
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0,
                        help="how long each verdict timing runs (default 3)")
    parser.add_argument("--only", nargs="+", choices=[s.__name__ for s in SECTIONS],
                        help="run only these sections")
    parser.add_argument("--misses", choices=[name for name, _ in LAYERS],
                        help="then list the tune split's prompts this layer gets wrong")
    args = parser.parse_args(argv)
    print(f"\nsafety policy benchmark, {os.cpu_count()} cores\n")
    for section in SECTIONS:
        if args.only and section.__name__ not in args.only:
            continue
        for table in section(args):
            print(table.markdown(), end="\n\n", flush=True)
    if args.misses:
        print(tune_misses(args.misses).markdown(), end="\n\n", flush=True)


if __name__ == "__main__":
    main()
