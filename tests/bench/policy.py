"""Safety policy speed and quality: prompt verdicts per second and their latency on one core,
with and without the offline classifier, the prompt corpus's precision and recall, and the NSFW
frame check's seconds per 10 s video on CPU.

    python -m tests.bench.policy [--seconds S]

Each section is a function that returns a table; another check (such as the NSFW frame check's
seconds per video) joins with one line in SECTIONS. Prints markdown tables.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from policy.classifier import AbuseScorer, abuse_scorer
from tests import prompt_corpus


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


def _latencies(rows: list[prompt_corpus.Row], abuse: AbuseScorer | None, seconds: float) -> list[float]:
    """Seconds per verdict, over the corpus again and again for about `seconds`."""
    timings: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or not timings:
        for row in rows:
            start = time.perf_counter()
            prompt_corpus.judge(row, abuse)
            timings.append(time.perf_counter() - start)
    return timings


def verdict_speed(args: argparse.Namespace) -> Table:
    rows = prompt_corpus.load()
    scorer = abuse_scorer()
    with one_core() as pinned:
        _latencies(rows, scorer, 0.2)  # warm the caches (lists, instructions) first
        measured = [("lexicon only", _latencies(rows, None, args.seconds)),
                    ("lexicon + classifier", _latencies(rows, scorer, args.seconds))]
        classifier = []
        for row in rows:
            start = time.perf_counter()
            scorer(row.prompt)
            classifier.append(time.perf_counter() - start)
    table = []
    for name, timings in [*measured, ("classifier call alone", classifier)]:
        ordered = sorted(timings)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        table.append((name, f"{len(timings) / sum(timings):,.0f}",
                      f"{statistics.median(timings) * 1e3:.3f} ms", f"{p99 * 1e3:.3f} ms",
                      str(len(timings))))
    return Table(f"Prompt verdicts on one core ({pinned}), over the {len(rows)}-prompt corpus",
                 ("path", "verdicts per second", "p50", "p99", "verdicts"), table)


def corpus_quality(args: argparse.Namespace) -> Table:
    rows = prompt_corpus.load()
    scorer = abuse_scorer()
    results = [(row, prompt_corpus.judge(row, scorer)) for row in rows]
    lexicon_only = {s.name: s for s in prompt_corpus.scores(
        (row, prompt_corpus.judge(row, None)) for row in rows)}
    table = [(s.name, str(s.true_pos + s.false_neg), f"{s.precision:.3f}", f"{s.recall:.3f}",
              f"{lexicon_only[s.name].recall:.3f}") for s in prompt_corpus.scores(results)]
    wrong = len(prompt_corpus.misses(results))
    return Table(f"Prompt corpus: precision and recall by category ({len(rows)} prompts,"
                 f" {sum(not r.refuse for r in rows)} allowed; {wrong} verdicts differ from the"
                 " expected one)",
                 ("category", "refused in corpus", "precision", "recall", "recall, lexicon only"),
                 table)


def output_check(args: argparse.Namespace) -> Table:
    from tests.bench import output_safety

    return Table("NSFW frame check on CPU (10 s of 480x832 at 16 fps, sampled)", ("measure", "value"),
                 output_safety.rows())


# The benchmark's sections, in order: add a check here and it is measured and printed.
SECTIONS: list[Callable[[argparse.Namespace], Table]] = [
    verdict_speed,
    corpus_quality,
    output_check,
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0,
                        help="how long each verdict timing runs (default 3)")
    args = parser.parse_args(argv)
    print(f"\nsafety policy benchmark, {os.cpu_count()} cores\n")
    for section in SECTIONS:
        print(section(args).markdown(), end="\n\n", flush=True)


if __name__ == "__main__":
    main()
