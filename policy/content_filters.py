"""How a person's filter words match a post, as Mastodon's CustomFilter matches them: any case,
and a whole-word keyword only where it stands alone at each end that is a word character."""

from __future__ import annotations

import re
from collections.abc import Iterable

CONTEXTS = ("home", "notifications", "public", "thread", "account")
ACTIONS = ("warn", "hide", "blur")


def keyword_pattern(keyword: str, whole_word: bool) -> re.Pattern[str]:
    """The pattern that finds `keyword` in a text."""
    pattern = re.escape(keyword)
    if whole_word:
        # A boundary only beside a word character: "#cats" still matches in "I like #cats".
        if re.match(r"\w", keyword):
            pattern = r"\b" + pattern
        if re.search(r"\w$", keyword):
            pattern += r"\b"
    return re.compile(pattern, re.IGNORECASE)


def matching_keywords(text: str, keywords: Iterable[tuple[str, bool]]) -> list[str]:
    """The keywords, each (keyword, whole_word), found in `text`, in the order given."""
    return [keyword for keyword, whole_word in keywords if keyword_pattern(keyword, whole_word).search(text)]
