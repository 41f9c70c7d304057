"""Names and JSON-LD contexts that Likeness writes on the wire.

Outgoing documents name only W3C contexts by URL and inline every other term (as Mastodon does
with `toot:`), so a JSON-LD peer never has to fetch a context of ours to read them.
"""

from __future__ import annotations

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_V1 = "https://w3id.org/security/v1"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
# Namespaces of the terms below. Likeness's own is fixed: signed objects name it.
LIKENESS_NS = "https://likeness.social/ns#"
LIKENESS_CONTEXT = "https://likeness.social/ns"
SECURITY_NS = "https://w3id.org/security#"
TOOT_NS = "http://joinmastodon.org/ns#"
GOTOSOCIAL_NS = "https://gotosocial.org/ns#"
FEP_044F_NS = "https://w3id.org/fep/044f#"


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
        if isinstance(item, str):  # the usual case, asked several times for every inbox POST
            return frozenset.__contains__(self, item)
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

# Every term Likeness writes that the ActivityStreams and security contexts leave undefined, one
# line each, inlined in every document we serve: a JSON-LD peer expands them without fetching
# anything but W3C contexts, and adding a term is adding its line here. Read back too: the loader
# serves them as the Likeness context (`jsonld.LIKENESS_CONTEXT`).
EXTENSION_TERMS = {
    "toot": TOOT_NS,
    "sec": SECURITY_NS,
    "lk": LIKENESS_NS,
    "gts": GOTOSOCIAL_NS,
    "fep044f": FEP_044F_NS,
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "sensitive": "as:sensitive",
    "Hashtag": "as:Hashtag",
    "assertionMethod": {"@id": "sec:assertionMethod", "@type": "@id", "@container": "@set"},
    "discoverable": "toot:discoverable",
    "indexable": "toot:indexable",
    "suspended": "toot:suspended",
    "featured": {"@id": "toot:featured", "@type": "@id"},
    # Where an account moved (Mastodon's term; `alsoKnownAs` is in the ActivityStreams context).
    "movedTo": {"@id": "as:movedTo", "@type": "@id"},
    "blurhash": "toot:blurhash",
    "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
    "Label": "lk:Label",
    "aiGenerated": "lk:aiGenerated",
    "Cameo": "lk:Cameo",
    "canRemix": {"@id": "lk:canRemix", "@type": "@id"},
    "references": {"@id": "lk:references", "@type": "@id", "@container": "@list"},
    "cameos": "lk:cameos",
    "cameoCollection": {"@id": "lk:cameoCollection", "@type": "@id"},
    "cameo": {"@id": "lk:cameo", "@type": "@id"},
    "RemixRequest": "lk:RemixRequest",
    "RemixAuthorization": "lk:RemixAuthorization",
    "remixAuthorization": {"@id": "lk:remixAuthorization", "@type": "@id"},
    "grantee": {"@id": "lk:grantee", "@type": "@id"},
    "prompt": "lk:prompt",
    "promptDigest": "lk:promptDigest",
    "remixOf": {"@id": "lk:remixOf", "@type": "@id"},
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
    "succession": "lk:succession",
    "takenOver": {"@id": "lk:takenOver", "@type": "@id"},
    "TakenOver": "lk:TakenOver",
}

# Actors: Mastodon's `publicKey` (security/v1) and FEP-521a's Multikey (multikey/v1); neither
# defines `assertionMethod`, which EXTENSION_TERMS does.
ACTOR_CONTEXT = [AS_CONTEXT, SECURITY_V1, MULTIKEY_V1, EXTENSION_TERMS]
# Posts, activities, cameos, collections.
OBJECT_CONTEXT = [AS_CONTEXT, EXTENSION_TERMS]
# What a FEP-8b32 proof signs (a RemixAuthorization and the Delete that revokes it): the
# @context is part of the signed bytes and verifiers pin it, so it is frozen, never EXTENSION_TERMS.
SIGNED_CONTEXT = [AS_CONTEXT, DATA_INTEGRITY_V2, {
    "lk": LIKENESS_NS,
    "gts": GOTOSOCIAL_NS,
    "RemixAuthorization": "lk:RemixAuthorization",
    "grantee": {"@id": "lk:grantee", "@type": "@id"},
    "promptDigest": "lk:promptDigest",
    "interactingObject": {"@id": "gts:interactingObject", "@type": "@id"},
    "interactionTarget": {"@id": "gts:interactionTarget", "@type": "@id"},
}]
# The signed @context before SIGNED_CONTEXT, naming the Likeness context by URL; authorizations
# signed with it are still served and still verify.
SIGNED_CONTEXT_2026_11 = [AS_CONTEXT, DATA_INTEGRITY_V2, LIKENESS_CONTEXT]
# What the signed `Move` of a succession carries (W3C contexts only, pinned like SIGNED_CONTEXT):
# its `instrument` is the old actor's Multikey, which only the Multikey context defines.
MOVE_CONTEXT = [AS_CONTEXT, DATA_INTEGRITY_V2, MULTIKEY_V1]
