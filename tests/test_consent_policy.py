"""The remix permission table: every level, both approval modes, and the refusals."""

from __future__ import annotations

import pytest

from policy.consent import (
    Approval,
    CameoRules,
    ConsentRuleError,
    Decision,
    Permission,
    Requester,
    check_rules,
    decide_remix,
    default_rules,
    interaction_policy,
)

BOB = "https://b.example/users/bob"
STRANGER = Requester(BOB)
FOLLOWER = Requester(BOB, follows_owner=True)
MUTUAL = Requester(BOB, follows_owner=True, followed_by_owner=True)


@pytest.mark.parametrize("permission,requester,eligible", [
    (Permission.ONLY_ME, MUTUAL, False),
    (Permission.APPROVED, MUTUAL, False),
    (Permission.MUTUALS, FOLLOWER, False),
    (Permission.MUTUALS, MUTUAL, True),
    (Permission.FOLLOWERS, STRANGER, False),
    (Permission.FOLLOWERS, FOLLOWER, True),
    (Permission.EVERYONE, STRANGER, True),
])
@pytest.mark.parametrize("approval", list(Approval))
def test_levels_and_modes(permission, requester, eligible, approval):
    verdict = decide_remix(CameoRules(permission, approval), requester)
    if not eligible:
        assert verdict.decision is Decision.REFUSE and "limited to" in verdict.reason
    elif approval is Approval.AUTOMATIC:
        assert verdict.decision is Decision.APPROVE
    else:
        assert verdict.decision is Decision.ASK


def test_approved_list():
    rules = CameoRules(Permission.APPROVED, Approval.AUTOMATIC, approved=frozenset({BOB}))
    assert decide_remix(rules, STRANGER).decision is Decision.APPROVE
    assert decide_remix(rules, Requester("https://c.example/users/eve")).decision is Decision.REFUSE


def test_owner_blocked_suspended_and_paused():
    rules = CameoRules(Permission.EVERYONE, Approval.AUTOMATIC)
    assert decide_remix(CameoRules(Permission.ONLY_ME, Approval.MANUAL),
                        Requester(BOB, is_owner=True)).decision is Decision.APPROVE
    assert decide_remix(rules, Requester(BOB, blocked=True)).decision is Decision.REFUSE
    assert decide_remix(rules, Requester(BOB, suspended=True)).decision is Decision.REFUSE
    paused = CameoRules(Permission.EVERYONE, Approval.AUTOMATIC, active=False)
    assert decide_remix(paused, Requester(BOB, is_owner=True)).decision is Decision.REFUSE


def test_public_figures():
    assert default_rules(public_figure=True).approval is Approval.MANUAL
    assert default_rules(public_figure=False).approval is Approval.AUTOMATIC
    with pytest.raises(ConsentRuleError):
        check_rules(CameoRules(Permission.EVERYONE, Approval.AUTOMATIC, owner_is_public_figure=True))
    check_rules(CameoRules(Permission.EVERYONE, Approval.MANUAL, owner_is_public_figure=True))
    # Even if stored before the account was flagged, everyone-automatic asks for a public figure.
    legacy = CameoRules(Permission.EVERYONE, Approval.AUTOMATIC, owner_is_public_figure=True)
    assert decide_remix(legacy, STRANGER).decision is Decision.ASK
    with pytest.raises(ConsentRuleError):
        check_rules(CameoRules(Permission.FOLLOWERS, Approval.AUTOMATIC, approved=frozenset({BOB})))


def test_interaction_policy():
    names = {"owner": "O", "followers": "F", "mutuals": "M", "public": "P"}
    assert interaction_policy(CameoRules(Permission.ONLY_ME, Approval.AUTOMATIC), **names) == {
        "canRemix": {"automaticApproval": ["O"], "manualApproval": []}}
    assert interaction_policy(CameoRules(Permission.FOLLOWERS, Approval.MANUAL), **names) == {
        "canRemix": {"automaticApproval": ["O"], "manualApproval": ["F"]}}
    assert interaction_policy(CameoRules(Permission.EVERYONE, Approval.AUTOMATIC), **names) == {
        "canRemix": {"automaticApproval": ["O", "P"], "manualApproval": []}}
