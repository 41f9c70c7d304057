"""Names and JSON-LD contexts that Likeness writes on the wire.

Outgoing documents inline our extension terms (as Mastodon does with `toot:`), so a peer never
has to fetch a context to read them.
"""

from __future__ import annotations

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_V1 = "https://w3id.org/security/v1"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
LIKENESS_NS = "https://likeness.social/ns#"


class TypeNames(frozenset[str]):
    """A set of `type` names that a remote document's `type` can be tested against whatever it
    holds: a list or an object (unhashable) is simply not one of them."""

    def __contains__(self, item: object) -> bool:
        return isinstance(item, str) and super().__contains__(item)


ACTIVITY_TYPES = TypeNames({
    "Follow", "Accept", "Reject", "Undo", "Create", "Update", "Delete", "Like", "Announce",
    "Block", "Flag", "Move", "Add", "Remove", "RemixRequest", "QuoteRequest",
})
ACTOR_TYPES = TypeNames({"Person", "Service", "Application", "Group", "Organization"})
POST_TYPES = TypeNames({"Note", "Video", "Article", "Page"})

ACTIVITYPUB_MEDIA_TYPE = "application/activity+json"

EXTENSION_TERMS = {
    "toot": "http://joinmastodon.org/ns#",
    "schema": "http://schema.org#",
    "lk": LIKENESS_NS,
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "sensitive": "as:sensitive",
    "Hashtag": "as:Hashtag",
    "discoverable": "toot:discoverable",
    "indexable": "toot:indexable",
    "suspended": "toot:suspended",
    "featured": {"@id": "toot:featured", "@type": "@id"},
    "blurhash": "toot:blurhash",
    "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
    "Label": "lk:Label",
    "aiGenerated": "lk:aiGenerated",
    "cameos": "lk:cameos",
    "RemixRequest": "lk:RemixRequest",
    "RemixAuthorization": "lk:RemixAuthorization",
    "prompt": "lk:prompt",
    "promptDigest": "lk:promptDigest",
    "remixOf": {"@id": "lk:remixOf", "@type": "@id"},
    "cameo": {"@id": "lk:cameo", "@type": "@id"},
    "remixAuthorization": {"@id": "lk:remixAuthorization", "@type": "@id"},
    "gts": "https://gotosocial.org/ns#",
    "fep044f": "https://w3id.org/fep/044f#",
    "interactionPolicy": {"@id": "gts:interactionPolicy", "@type": "@id"},
    "canQuote": {"@id": "gts:canQuote", "@type": "@id"},
    "automaticApproval": {"@id": "gts:automaticApproval", "@type": "@id"},
    "manualApproval": {"@id": "gts:manualApproval", "@type": "@id"},
    "interactingObject": {"@id": "gts:interactingObject", "@type": "@id"},
    "interactionTarget": {"@id": "gts:interactionTarget", "@type": "@id"},
    "QuoteRequest": "fep044f:QuoteRequest",
    "QuoteAuthorization": "fep044f:QuoteAuthorization",
    "quote": {"@id": "fep044f:quote", "@type": "@id"},
    "quoteAuthorization": {"@id": "fep044f:quoteAuthorization", "@type": "@id"},
}

ACTOR_CONTEXT = [AS_CONTEXT, SECURITY_V1, MULTIKEY_V1, EXTENSION_TERMS]
OBJECT_CONTEXT = [AS_CONTEXT, EXTENSION_TERMS]
