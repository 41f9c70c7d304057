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


def type_names(value: object) -> list[str]:
    """The names a document's `type` holds: AS2 allows one name or a list of them
    (`["Note", "Article"]`); anything else holds none."""
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, str)]


def is_type(document: object, name: str) -> bool:
    """Whether `document` is an object whose `type` is `name` or a list naming it."""
    return isinstance(document, dict) and name in type_names(document.get("type"))


class TypeNames(frozenset[str]):
    """A set of `type` names that a remote document's `type` can be tested against whatever it
    holds: a string or a list is one of them when any of its names is; an object never is."""

    def __contains__(self, item: object) -> bool:
        return any(frozenset.__contains__(self, name) for name in type_names(item))

    def pick(self, value: object, preference: tuple[str, ...] = ()) -> str | None:
        """The name that decides what a many-typed document is: the first of `preference`
        that it holds, else its first name in this set, else its first name at all."""
        names = type_names(value)
        known = [name for name in names if frozenset.__contains__(self, name)]
        return next((name for name in preference if name in known),
                    known[0] if known else names[0] if names else None)


ACTIVITY_TYPES = TypeNames({
    "Follow", "Accept", "Reject", "Undo", "Create", "Update", "Delete", "Like", "Announce",
    "Block", "Flag", "Move", "Add", "Remove", "RemixRequest", "QuoteRequest",
})
ACTOR_TYPES = TypeNames({"Person", "Service", "Application", "Group", "Organization"})
# What a Create may bring as a status: Mastodon's "supported" Note and Question, and the types it
# "converts" (shows as title, summary and link); the earlier ones win for a many-typed object.
POST_TYPES = TypeNames({"Note", "Question", "Video", "Article", "Page", "Image", "Audio", "Event"})
POST_TYPE_PREFERENCE = ("Note", "Question", "Video", "Article", "Page", "Image", "Audio", "Event")

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
