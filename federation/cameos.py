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
    if cameo["preview_key"]:
        doc["icon"] = {"type": "Image", "mediaType": cameo["preview_media_type"],
                       "url": f"{fed.base_url}/media/{cameo['preview_key']}"}
    return doc
