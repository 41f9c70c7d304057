"""Issue 16's labelled prompt corpus (tests/data/prompt_corpus16.jsonl) checked as data: big
enough, every language and class on both sides of the split, no prompt twice, no idea split
across tune and holdout (or the holdout would not measure generalisation), labels valid."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import pytest

from tests import prompt_corpus

CASES = prompt_corpus.load_cases()


def test_the_corpus_is_big_and_roughly_balanced():
    assert len(CASES) >= 1000
    harmful = sum(c.refuse for c in CASES)
    assert 0.4 <= harmful / len(CASES) <= 0.65, harmful


def test_every_language_and_class_is_in_both_splits():
    for split in prompt_corpus.SPLITS:
        part = [c for c in CASES if c.split == split]
        assert {c.language for c in part} == set(prompt_corpus.LANGUAGES), split
        assert {c.kind for c in part} == set(prompt_corpus.CLASSES), split
        # Harmful and benign prompts of every language on both sides.
        assert {(c.language, c.refuse) for c in part} == {
            (lang, refuse) for lang in prompt_corpus.LANGUAGES for refuse in (True, False)}, split


def test_the_split_is_about_sixty_forty():
    holdout = sum(c.split == "holdout" for c in CASES) / len(CASES)
    assert 0.3 <= holdout <= 0.45, holdout


def test_every_harmful_category_is_measured_in_both_splits():
    for split in prompt_corpus.SPLITS:
        assert {c.category for c in CASES if c.split == split and c.refuse} == set(
            prompt_corpus.CATEGORIES), split


def test_no_prompt_twice():
    seen = Counter(" ".join(c.prompt.lower().split()) for c in CASES)
    assert [p for p, n in seen.items() if n > 1] == []


def test_no_idea_group_is_split_across_tune_and_holdout():
    splits = defaultdict(set)
    for case in CASES:
        splits[case.group].add(case.split)
    assert {g: s for g, s in splits.items() if len(s) > 1} == {}


def test_labels_agree_with_each_other():
    for case in CASES:
        assert case.cameos or not case.context, case
        if case.kind == "cameo_instruction":
            assert case.context.startswith("cameo:") and case.category == "instructions", case
        if case.kind == "benign_trigger" or case.kind == "plain" and not case.refuse:
            assert not case.refuse, case


@pytest.mark.parametrize("line, message", [
    ('{"prompt": "x", "verdict": "maybe", "category": null, "language": "en", "class": "plain",'
     ' "split": "tune", "group": "g"}', "known values"),
    ('{"prompt": "x", "verdict": "refuse", "category": null, "language": "en", "class": "plain",'
     ' "split": "tune", "group": "g"}', "known values"),
    ('{"prompt": "x", "verdict": "allow", "category": null, "language": "xx", "class": "plain",'
     ' "split": "tune", "group": "g"}', "known values"),
    ('{"prompt": "x", "verdict": "allow", "language": "en", "class": "plain", "split": "tune"}',
     "group"),
    ("not json", "Expecting value"),
])
def test_a_malformed_line_names_itself(tmp_path, line, message):
    path = tmp_path / "corpus.jsonl"
    good = json.dumps({"prompt": "y", "verdict": "allow", "category": None, "language": "en",
                       "class": "plain", "split": "tune", "group": "h"})
    path.write_text(good + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"corpus.jsonl:2: .*{message}"):
        prompt_corpus.load_cases(path)


def test_the_bench_counts_recall_on_harmful_and_pass_rate_on_benign():
    from tests.bench.policy import _rates

    harmful = prompt_corpus.Case("h", True, "sexual", "en", "plain", "tune", "g1")
    benign = prompt_corpus.Case("b", False, None, "en", "plain", "tune", "g2")
    assert _rates([harmful, harmful, benign, benign], [True, False, False, True]) == "0.50 / 0.50"
    assert _rates([harmful, benign, benign], [True, False, False]) == "1.00 / 1.00"
    assert _rates([benign], [True]) == "- / 0.00"


def test_every_bench_layer_judges_a_corpus_case():
    from tests.bench.policy import LAYERS

    case = next(c for c in CASES if c.context.startswith("cameo:"))
    for name, build in LAYERS:
        verdict = build()(case.prompt, case.cameos)
        assert verdict is None or verdict.category in prompt_corpus.CATEGORIES, name


def test_the_bench_lists_misses_from_the_tune_split_only():
    from tests.bench.policy import LAYERS, tune_misses

    table = tune_misses(LAYERS[0][0])
    holdout = {c.prompt for c in CASES if c.split == "holdout"}
    assert table.rows and not holdout & {row[-1] for row in table.rows}
    for _, _, _, expected, verdict, _ in table.rows:
        assert (expected == "refuse") == (verdict == "passed")
