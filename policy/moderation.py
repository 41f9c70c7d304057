"""Moderation decisions: what a report may say, which action applies to which target, how a report
moves between open and resolved, and which actions the owner is told about.

Plain data and functions, so that the rules read in one place; the server validates requests
against them and writes, the CLI and the API alike.
"""

from __future__ import annotations

from typing import Any

CATEGORIES = ("spam", "legal", "violation", "other", "likeness")
MAX_COMMENT = 1000
MAX_TEXT = 2000
MAX_POSTS = 40


class ModerationError(ValueError):
    """A report or an action that is not allowed as asked; the message is safe to show (422)."""


# The actions a moderator can take on each kind of target (Mastodon's admin API names them).
ACTIONS: dict[str, tuple[str, ...]] = {
    "account": ("none", "sensitive", "disable", "silence", "suspend"),
    "status": ("hide", "unhide", "delete", "sensitive"),
    "cameo": ("pause", "delete"),
}
# What takes an account action back: Mastodon's `unsuspend`, `unsilence`, `unsensitive`, `enable`.
UNDO: dict[str, str] = {"unsuspend": "suspend", "unsilence": "silence", "unsensitive": "sensitive",
                        "enable": "disable"}
# Disabling is of a login, which only a local account has.
LOCAL_ONLY = frozenset({"disable", "enable"})

# The actions the target's owner is told about, as Mastodon's AccountWarning `action`; the
# ones Mastodon lacks (hiding a post, a cameo's) get names in its style.
WARNINGS: dict[tuple[str, str], str] = {
    ("account", "sensitive"): "sensitive",
    ("account", "disable"): "disable",
    ("account", "silence"): "silence",
    ("account", "suspend"): "suspend",
    ("status", "hide"): "hide_statuses",
    ("status", "delete"): "delete_statuses",
    ("status", "sensitive"): "mark_statuses_as_sensitive",
    ("cameo", "pause"): "pause_cameo",
    ("cameo", "delete"): "delete_cameo",
}

# A report is open or resolved; these are the moves each state allows and where they lead.
REPORT_MOVES: dict[str, dict[str, str]] = {
    "open": {"assign_to_self": "open", "unassign": "open", "resolve": "resolved"},
    "resolved": {"reopen": "open"},
}
MOVE_NAMES = {"assign_to_self": "assigned", "unassign": "unassigned", "resolve": "resolved",
              "reopen": "reopened"}


def check_action(kind: str, action: str, *, local: bool) -> None:
    """Refuse an action that does not apply to this kind of target, or to a remote one."""
    allowed = ACTIONS.get(kind, ())
    if kind == "account":
        allowed = (*allowed, *UNDO)
    if action not in allowed:
        raise ModerationError(f"type must be one of {', '.join(ACTIONS.get(kind, ()))}"
                              if action not in UNDO else f"{action} does not apply to a {kind}")
    if action in LOCAL_ONLY and not local:
        raise ModerationError(f"only a local account can be {action}d: suspend a remote one")


def check_rank(moderator_role: str | None, target_role: str | None, *, itself: bool) -> None:
    """No one moderates their own account; a moderator acts on people's accounts, not on
    staff's. (`None` for the moderator is the admin command line, for the target a remote account.)"""
    if itself:
        raise ModerationError("you cannot take moderation actions on your own account")
    if moderator_role == "moderator" and target_role in ("admin", "moderator"):
        raise ModerationError("only an admin can take moderation actions on a staff account")


def warning(kind: str, action: str) -> str | None:
    """The moderation warning the owner gets for this action, or None (for `none`, undoing)."""
    return WARNINGS.get((kind, action))


def report_state(resolved: bool) -> str:
    return "resolved" if resolved else "open"


def report_move(state: str, move: str) -> str:
    """The state a report goes to on `move`, or ModerationError when it cannot make it."""
    moves = REPORT_MOVES[state]
    if move not in moves:
        raise ModerationError(f"this report is {state}: it cannot be {MOVE_NAMES.get(move, move)}")
    return moves[move]


def check_text(value: Any, name: str, limit: int) -> str:
    """Free text from a reporter or a moderator: at most `limit` characters, no control
    characters but line breaks and tabs."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ModerationError(f"{name} must be text")
    if len(value) > limit:
        raise ModerationError(f"{name} is longer than {limit} characters")
    if any(ord(c) < 32 and c not in "\n\t" or ord(c) == 127 for c in value):
        raise ModerationError(f"{name} contains control characters")
    return value.strip()


def check_report(*, reporter_id: int | None, target_id: int, category: Any, comment: Any,
                 post_count: int) -> tuple[str, str]:
    """The category and comment of a new report, checked: `category` defaults to `other`; no one
    reports themselves; at most MAX_POSTS posts at once."""
    category = category or "other"
    if category not in CATEGORIES:
        raise ModerationError(f"category must be one of {', '.join(CATEGORIES)}")
    if reporter_id is not None and reporter_id == target_id:
        raise ModerationError("you cannot report yourself")
    if post_count > MAX_POSTS:
        raise ModerationError(f"at most {MAX_POSTS} posts in one report")
    return category, check_text(comment, "comment", MAX_COMMENT)

