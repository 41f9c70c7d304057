"""For You: the order in which a person sees public videos, and how they steer it.

Every public video has a *hot* score, kept by PostgreSQL as its engagement changes
(migrations/0010_for_you.sql):

    hot = log10(1 + likes + 2 * boosts + replies) + age_bonus
    age_bonus = seconds since 2024-01-01 (of when this server first saw it) / 45,000

so ten times the engagement is worth 12.5 hours of recency, a post never needs re-scoring as it
ages, and one B-tree index orders the whole table. A remote post counts from when it arrived, so a
server that backdates or postdates its posts gains nothing.

A person's score for a post adds bounded, documented boosts to `hot`: following its author, and
the "more of" / "less of" they asked for a creator or a topic (hashtag). The same inputs always
give the same order (ties go to the newer post). The feed ranks the `CANDIDATES` hottest videos
below the page's cursor plus the `FOLLOWED_CANDIDATES` hottest from the accounts the person
follows or asked more of, so a page costs the same on a table of a million posts as on a hundred.
"""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass
from enum import StrEnum

# Boosts in units of `hot`: 1.0 is ten times the engagement, or 12.5 hours newer.
FOLLOWED = 0.5
MORE = 1.0
LESS = -1.5
# Several "more" topics on one post count once; several "less" add up.
MORE_TOPICS_CAP = MORE
CANDIDATES = 400
FOLLOWED_CANDIDATES = 200
# Steering is a list of a person's choices, not a profile: keep it short enough to read back.
MAX_PREFERENCES = 500


class Direction(StrEnum):
    MORE = "more"
    LESS = "less"


@dataclass(frozen=True)
class Weights:
    """The boosts as the feed query takes them."""

    followed: float = FOLLOWED
    more: float = MORE
    less: float = LESS
    more_topics_cap: float = MORE_TOPICS_CAP

    @property
    def most(self) -> float:
        """The largest boost a post can get: how far above a cursor a candidate may lie."""
        return self.followed + self.more + self.more_topics_cap


def next_cursor(score: float, post_id: int) -> str:
    """An opaque, URL-safe cursor for the page after a post with this score."""
    return base64.urlsafe_b64encode(struct.pack(">dq", score, post_id)).decode().rstrip("=")


def read_cursor(cursor: str) -> tuple[float, int]:
    """The (score, post id) a cursor stands for; ValueError if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        score, post_id = struct.unpack(">dq", raw)
    except (ValueError, struct.error):
        raise ValueError("cursor is not one this server gave out") from None
    if score != score or post_id < 0:
        raise ValueError("cursor is not one this server gave out")
    return score, post_id
