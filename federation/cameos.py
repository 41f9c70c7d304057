"""The public `Cameo` object (PROTOCOL.md "Cameos and consent").

Its `interactionPolicy.canRemix` is a hint for clients; consent itself is the owner's signed
RemixAuthorization. The reference images a model needs are never part of it: it lists their
addresses (`references`), which answer only a signed fetch by a live authorization's grantee.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from policy.consent import Approval, CameoRules, Permission, interaction_policy

from .context import Federation
from .jsonld import as_list
from .objects import iso
from .vocab import OBJECT_CONTEXT, PUBLIC

# What a cameo may carry, here and when another instance's cameo is read.
MAX_REFERENCES = 5
MAX_IMAGE_BYTES = 10 * 1024 * 1024


def rules_of(cameo: asyncpg.Record, approved: list[str], *, public_figure: bool) -> CameoRules:
    return CameoRules(Permission(cameo["permission"]), Approval(cameo["approval"]),
                      approved=frozenset(approved), owner_is_public_figure=public_figure,
                      active=not cameo["paused"] and cameo["deleted_at"] is None)


def only_me(cameo: asyncpg.Record) -> bool:
    """Whether nobody but its owner may use the cameo."""
    return cameo["permission"] == Permission.ONLY_ME


def hidden_from(cameo: asyncpg.Record, actor_id: int | None) -> bool:
    """Whether the cameo is not to be known to `actor_id` (None: someone not signed in, or another
    server): one only its owner may use is, to anyone else, no cameo at all."""
    return only_me(cameo) and cameo["actor_id"] != actor_id


def remote_rules(doc: dict[str, Any], owner: asyncpg.Record) -> CameoRules | None:
    """The rules another server's Cameo advertises in its `interactionPolicy.canRemix` (a hint:
    its owner's server decides), read back into the levels `interaction_policy` writes; None when
    nobody but its owner may use it. A `mutuals` audience is the owner's `/mutuals` collection,
    as Likeness publishes it."""
    policy = doc.get("interactionPolicy")
    can_remix = policy.get("canRemix") if isinstance(policy, dict) else None
    if not isinstance(can_remix, dict):
        return None
    automatic = {e for e in as_list(can_remix.get("automaticApproval")) if isinstance(e, str)}
    manual = {e for e in as_list(can_remix.get("manualApproval")) if isinstance(e, str)}
    audience = (automatic | manual) - {owner["uri"]}
    approval = Approval.MANUAL if audience and not audience & automatic else Approval.AUTOMATIC
    approved: frozenset[str] = frozenset()
    if audience & {PUBLIC, "as:Public", "Public"}:
        permission = Permission.EVERYONE
    elif owner["followers_url"] in audience:
        permission = Permission.FOLLOWERS
    elif f"{owner['uri']}/mutuals" in audience:
        permission = Permission.MUTUALS
    elif audience:
        permission, approved = Permission.APPROVED, frozenset(audience)
    else:
        return None
    return CameoRules(permission, approval, approved=approved)


def reference_url(cameo_uri: str, position: int) -> str:
    return f"{cameo_uri}/references/{position}"


def cameo_document(fed: Federation, cameo: asyncpg.Record, owner: asyncpg.Record,
                   approved: list[str], references: int) -> dict[str, Any]:
    rules = rules_of(cameo, approved, public_figure=owner["public_figure"])
    doc: dict[str, Any] = {
        "@context": OBJECT_CONTEXT,
        "id": cameo["uri"],
        "type": "Cameo",
        "attributedTo": owner["uri"],
        "name": cameo["name"],
        "summary": cameo["instructions"],
        "published": iso(cameo["created_at"]),
        "updated": iso(cameo["updated_at"]),
        "interactionPolicy": interaction_policy(
            rules, owner=owner["uri"], followers=owner["followers_url"],
            mutuals=f"{owner['uri']}/mutuals", public=PUBLIC),
        "references": [reference_url(cameo["uri"], n) for n in range(references)],
    }
    if cameo["imported_from"]:
        # Brought over from its owner's former server: it answers for that id from now on.
        doc["alsoKnownAs"] = [cameo["imported_from"]]
    if cameo["preview_key"]:
        doc["icon"] = {"type": "Image", "mediaType": cameo["preview_media_type"],
                       "url": f"{fed.base_url}/media/{cameo['preview_key']}" if only_me(cameo)
                       else fed.media_address(cameo["preview_key"])}
    return doc
