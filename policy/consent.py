"""Who may remix a cameo: plain functions over plain data, so the rules read in one place.

An owner picks, per cameo, a permission level (who may use it at all) and an approval mode
(automatic, or "ask me" for each use). The owner may always use their own cameo. Public-figure
accounts default to asking, and may not let everyone in automatically.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Permission(StrEnum):
    ONLY_ME = "only_me"
    APPROVED = "approved"  # people on a list the owner edits
    MUTUALS = "mutuals"
    FOLLOWERS = "followers"
    EVERYONE = "everyone"


class Approval(StrEnum):
    AUTOMATIC = "automatic"
    MANUAL = "manual"


class Decision(StrEnum):
    APPROVE = "approve"  # answer with a signed authorization at once
    ASK = "ask"  # notify the owner, who accepts or rejects
    REFUSE = "refuse"


class ConsentRuleError(ValueError):
    """Settings a cameo may not have."""


@dataclass(frozen=True)
class CameoRules:
    permission: Permission
    approval: Approval
    approved: frozenset[str] = frozenset()  # actor ids, for Permission.APPROVED
    owner_is_public_figure: bool = False
    active: bool = True  # False when paused or deleted


@dataclass(frozen=True)
class Requester:
    actor: str
    is_owner: bool = False
    follows_owner: bool = False
    followed_by_owner: bool = False
    blocked: bool = False  # a block either way
    suspended: bool = False


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    reason: str


def default_rules(*, public_figure: bool) -> CameoRules:
    """What a new cameo starts with: only its owner; public figures are asked about every use."""
    return CameoRules(Permission.ONLY_ME,
                      Approval.MANUAL if public_figure else Approval.AUTOMATIC,
                      owner_is_public_figure=public_figure)


def check_rules(rules: CameoRules) -> None:
    if rules.owner_is_public_figure and rules.permission is Permission.EVERYONE \
            and rules.approval is Approval.AUTOMATIC:
        raise ConsentRuleError("a public figure's cameo cannot be open to everyone without approval")
    if rules.permission is not Permission.APPROVED and rules.approved:
        raise ConsentRuleError("an approved list only applies to the 'people I approve' level")


def _eligible(rules: CameoRules, requester: Requester) -> bool:
    level = rules.permission
    if level is Permission.EVERYONE:
        return True
    if level is Permission.FOLLOWERS:
        return requester.follows_owner
    if level is Permission.MUTUALS:
        return requester.follows_owner and requester.followed_by_owner
    if level is Permission.APPROVED:
        return requester.actor in rules.approved
    return False


def decide_remix(rules: CameoRules, requester: Requester) -> Verdict:
    """What the owner's instance answers to a remix request for this cameo."""
    if not rules.active:
        return Verdict(Decision.REFUSE, "this cameo is paused or deleted")
    if requester.is_owner:
        return Verdict(Decision.APPROVE, "owners may always use their own cameo")
    if requester.blocked or requester.suspended:
        return Verdict(Decision.REFUSE, "you may not use this cameo")
    if not _eligible(rules, requester):
        return Verdict(Decision.REFUSE, f"this cameo is limited to {_audience(rules.permission)}")
    if rules.approval is Approval.MANUAL or (
            rules.owner_is_public_figure and rules.permission is Permission.EVERYONE):
        return Verdict(Decision.ASK, "the owner approves each use")
    return Verdict(Decision.APPROVE, "approved by the owner's settings")


def _audience(permission: Permission) -> str:
    return {
        Permission.ONLY_ME: "its owner",
        Permission.APPROVED: "people its owner approved",
        Permission.MUTUALS: "its owner's mutuals",
        Permission.FOLLOWERS: "its owner's followers",
        Permission.EVERYONE: "everyone",
    }[permission]


def interaction_policy(rules: CameoRules, *, owner: str, followers: str, mutuals: str,
                       public: str) -> dict[str, dict[str, list[str]]]:
    """The advisory `interactionPolicy.canRemix` published on the Cameo (never the proof)."""
    audience = {
        Permission.ONLY_ME: [],
        Permission.APPROVED: sorted(rules.approved),
        Permission.MUTUALS: [mutuals],
        Permission.FOLLOWERS: [followers],
        Permission.EVERYONE: [public],
    }[rules.permission]
    automatic = [owner]
    manual: list[str] = []
    if rules.approval is Approval.AUTOMATIC and not (
            rules.owner_is_public_figure and rules.permission is Permission.EVERYONE):
        automatic += audience
    else:
        manual = audience
    return {"canRemix": {"automaticApproval": automatic, "manualApproval": manual}}
