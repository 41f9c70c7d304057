"""The canonical shape handlers read, whatever spelling a sender used; no network, ever."""

from __future__ import annotations

import copy
import json
import socket
from pathlib import Path

import pytest
from pyld import jsonld as pyld

from federation import jsonld
from federation.jsonld import PUBLIC, JSONLDError, as_list, canonical, document_loader, ref

AS = "https://www.w3.org/ns/activitystreams"
MASTODON_CONTEXT = [AS, {
    "ostatus": "http://ostatus.org#", "atomUri": "ostatus:atomUri",
    "inReplyToAtomUri": "ostatus:inReplyToAtomUri", "conversation": "ostatus:conversation",
    "sensitive": "as:sensitive", "toot": "http://joinmastodon.org/ns#",
    "votersCount": "toot:votersCount", "blurhash": "toot:blurhash",
    "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"}, "Hashtag": "as:Hashtag"}]


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("JSON-LD processing tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def mastodon_create() -> dict:
    return {
        "@context": MASTODON_CONTEXT,
        "id": "https://m.example/users/alice/statuses/1/activity", "type": "Create",
        "actor": "https://m.example/users/alice", "published": "2026-11-25T10:00:00Z",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": ["https://m.example/users/alice/followers", "https://l.example/users/bob"],
        "object": {
            "id": "https://m.example/users/alice/statuses/1", "type": "Note", "summary": None,
            "inReplyTo": None, "published": "2026-11-25T10:00:00Z", "url": "https://m.example/@alice/1",
            "attributedTo": "https://m.example/users/alice",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "cc": ["https://m.example/users/alice/followers", "https://l.example/users/bob"],
            "sensitive": True, "atomUri": "https://m.example/users/alice/statuses/1",
            "conversation": "tag:m.example,2026-11-25:objectId=1:objectType=Conversation",
            "content": '<p>hi <span class="h-card"><a href="https://l.example/@bob" '
                       'class="u-url mention">@<span>bob</span></a></span></p>',
            "contentMap": {"en": '<p>hi <span class="h-card">…</span></p>'},
            "attachment": [{
                "type": "Video", "mediaType": "video/mp4", "url": "https://m.example/v.mp4",
                "name": "a cat", "blurhash": "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
                "focalPoint": [0.1, -0.2], "width": 720, "height": 1280}],
            "tag": [{"type": "Mention", "href": "https://l.example/users/bob", "name": "@bob@l.example"},
                    {"type": "Hashtag", "href": "https://m.example/tags/cats", "name": "#cats"}],
            "replies": {"id": "https://m.example/users/alice/statuses/1/replies", "type": "Collection",
                        "first": {"type": "CollectionPage", "items": [],
                                  "partOf": "https://m.example/users/alice/statuses/1/replies"}},
        },
    }


# --- the public collection and list/scalar shapes ---------------------------------------------

@pytest.mark.parametrize("alias", ["as:Public", "Public", PUBLIC])
def test_every_spelling_of_public_gives_the_same_document(alias):
    doc = canonical({"@context": AS, "id": "https://a.example/1", "type": "Note",
                     "to": alias, "cc": [alias, "https://a.example/followers"]})
    assert doc == {"id": "https://a.example/1", "type": "Note", "to": [PUBLIC],
                   "cc": [PUBLIC, "https://a.example/followers"]}


def test_public_as_a_plain_string_under_a_policy_the_sender_did_not_define():
    doc = canonical({"@context": AS, "id": "https://g.example/1", "type": "Note",
                     "interactionPolicy": {"canLike": {"automaticApproval": "as:Public"}}})
    assert doc["interactionPolicy"] == {"canLike": {"automaticApproval": [PUBLIC]}}


def test_mastodon_create_note_with_toot_terms_and_a_video():
    doc = canonical(mastodon_create())
    assert (doc["id"], doc["type"], doc["actor"]) == (
        "https://m.example/users/alice/statuses/1/activity", "Create", "https://m.example/users/alice")
    assert doc["to"] == [PUBLIC] and len(doc["cc"]) == 2
    note = doc["object"]
    assert isinstance(note, dict) and note["type"] == "Note"
    assert note["attributedTo"] == "https://m.example/users/alice"
    assert note["content"].startswith("<p>hi <span") and note["contentMap"]["en"]
    assert note["sensitive"] is True and note["published"] == "2026-11-25T10:00:00Z"
    assert note["url"] == ["https://m.example/@alice/1"]
    assert "summary" not in note and "inReplyTo" not in note  # JSON null is no value
    assert note["atomUri"] == "https://m.example/users/alice/statuses/1"
    assert note["tag"] == [
        {"type": "Mention", "href": "https://l.example/users/bob", "name": "@bob@l.example"},
        {"type": "Hashtag", "href": "https://m.example/tags/cats", "name": "#cats"}]
    assert note["attachment"] == [{
        "type": "Video", "mediaType": "video/mp4", "url": ["https://m.example/v.mp4"],
        "name": "a cat", "blurhash": "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
        "focalPoint": [0.1, -0.2], "width": 720, "height": 1280}]
    assert note["replies"]["first"]["items"] == []


def test_single_values_are_scalars_and_list_keys_are_lists():
    doc = canonical({"@context": AS, "id": ["https://a.example/1"][0], "type": ["Note"],
                     "attributedTo": ["https://a.example/u"], "content": ["one"], "to": "https://a.example/f",
                     "tag": {"type": "Mention", "href": "https://b.example/u"}, "url": "https://a.example/@u/1",
                     "attachment": {"type": "Image", "url": "https://a.example/i.png"}})
    assert doc["type"] == "Note" and doc["attributedTo"] == "https://a.example/u" and doc["content"] == "one"
    assert doc["to"] == ["https://a.example/f"] and doc["url"] == ["https://a.example/@u/1"]
    assert doc["tag"] == [{"type": "Mention", "href": "https://b.example/u"}]
    assert doc["attachment"] == [{"type": "Image", "url": ["https://a.example/i.png"]}]


def test_at_keywords_and_compact_iris_come_out_as_plain_keys():
    doc = canonical({"@context": AS, "@id": "https://a.example/1", "@type": "as:Note",
                     "as:content": "hi", "https://www.w3.org/ns/activitystreams#to": {"@id": "as:Public"}})
    assert doc == {"id": "https://a.example/1", "type": "Note", "content": "hi", "to": [PUBLIC]}


# --- peers ------------------------------------------------------------------------------------

PEERTUBE_CONTEXT = [AS, "https://w3id.org/security/v1",
                    {"RsaSignature2017": "https://w3id.org/security#RsaSignature2017"}, {
    "pt": "https://joinpeertube.org/ns#", "sc": "http://schema.org/", "Hashtag": "as:Hashtag",
    "category": "sc:category", "licence": "sc:license", "sensitive": "as:sensitive",
    "language": "sc:inLanguage", "identifier": "sc:identifier", "uuid": "sc:identifier",
    "views": {"@type": "sc:Number", "@id": "pt:views"}, "size": {"@type": "sc:Number", "@id": "pt:size"},
    "fps": {"@type": "sc:Number", "@id": "pt:fps"},
    "commentsEnabled": {"@type": "sc:Boolean", "@id": "pt:commentsEnabled"},
    "originallyPublishedAt": "sc:datePublished",
    "likes": {"@id": "as:likes", "@type": "@id"}, "dislikes": {"@id": "as:dislikes", "@type": "@id"},
    "comments": {"@id": "as:comments", "@type": "@id"}}, "https://peertube.example/contexts/v1.jsonld"]


def test_peertube_video_with_its_own_inline_context():
    doc = canonical({
        "@context": PEERTUBE_CONTEXT, "type": "Video", "id": "https://peertube.example/videos/watch/9c9d",
        "name": "Cats", "duration": "PT65S", "uuid": "9c9d", "views": 12, "sensitive": False,
        "commentsEnabled": True, "mediaType": "text/markdown", "content": "A **cat**",
        "category": {"identifier": "15", "name": "Science & Technology"},
        "published": "2026-11-25T10:00:00.000Z",
        "attributedTo": [{"type": "Person", "id": "https://peertube.example/accounts/alice"},
                         {"type": "Group", "id": "https://peertube.example/video-channels/cats"}],
        "icon": [{"type": "Image", "url": "https://peertube.example/thumb.jpg", "mediaType": "image/jpeg",
                  "width": 280, "height": 157}],
        "url": [{"type": "Link", "mediaType": "text/html", "href": "https://peertube.example/w/9c9d"},
                {"type": "Link", "mediaType": "video/mp4", "href": "https://peertube.example/v-720.mp4",
                 "height": 720, "size": 123456, "fps": 30}],
        "likes": "https://peertube.example/videos/watch/9c9d/likes",
        "to": [PUBLIC], "cc": ["https://peertube.example/accounts/alice/followers"]})
    assert (doc["type"], doc["name"], doc["duration"], doc["sensitive"]) == ("Video", "Cats", "PT65S", False)
    assert doc["content"] == "A **cat**" and doc["mediaType"] == "text/markdown"
    assert [a["type"] for a in doc["attributedTo"]] == ["Person", "Group"]
    assert doc["icon"]["url"] == ["https://peertube.example/thumb.jpg"]
    mp4 = doc["url"][1]
    assert (mp4["href"], mp4["height"], mp4["mediaType"]) == (
        "https://peertube.example/v-720.mp4", 720, "video/mp4")
    # Terms only PeerTube defines keep their full IRIs (never a name we would guess), typed
    # literals come out as plain JSON values.
    assert mp4["https://joinpeertube.org/ns#size"] == 123456
    assert doc["http://schema.org/identifier"] == "9c9d"
    assert doc["https://joinpeertube.org/ns#views"] == 12
    assert doc["likes"] == "https://peertube.example/videos/watch/9c9d/likes"


def test_gotosocial_note_and_interaction_request():
    context = ["https://gotosocial.org/ns", AS, {"sensitive": "as:sensitive"}]
    note = canonical({
        "@context": context, "id": "https://g.example/users/zork/statuses/01", "type": "Note",
        "attributedTo": "https://g.example/users/zork", "content": "hello", "sensitive": False,
        "interactionPolicy": {
            "canLike": {"automaticApproval": PUBLIC},
            "canReply": {"automaticApproval": ["https://g.example/users/zork"],
                         "manualApproval": "as:Public"},
            "canAnnounce": {"always": "https://g.example/users/zork/followers"}}})
    policy = note["interactionPolicy"]
    assert policy["canLike"] == {"automaticApproval": [PUBLIC]}
    assert policy["canReply"] == {"automaticApproval": ["https://g.example/users/zork"],
                                  "manualApproval": [PUBLIC]}
    assert policy["canAnnounce"] == {"always": ["https://g.example/users/zork/followers"]}
    request = canonical({
        "@context": [AS, "https://gotosocial.org/ns"], "type": "LikeRequest",
        "id": "https://g.example/users/bob/interaction_requests/likes/1", "actor": "https://g.example/users/bob",
        "object": "https://l.example/users/alice/statuses/1", "to": "https://l.example/users/alice",
        "instrument": {"type": "Like", "id": "https://g.example/users/bob/likes/1",
                       "actor": "https://g.example/users/bob", "object": "https://l.example/users/alice/statuses/1"}})
    assert (request["type"], request["instrument"]["type"]) == ("LikeRequest", "Like")
    assert request["to"] == ["https://l.example/users/alice"]


def test_mastodon_quote_authorization_with_string_valued_terms():
    # Mastodon defines interactingObject without "@type": "@id": the value is a string, not an
    # IRI, yet handlers still find it under our name.
    doc = canonical({
        "@context": [AS, {"QuoteAuthorization": "https://w3id.org/fep/044f#QuoteAuthorization",
                          "gts": "https://gotosocial.org/ns#",
                          "interactingObject": {"@id": "gts:interactingObject"},
                          "interactionTarget": {"@id": "gts:interactionTarget"}}],
        "id": "https://m.example/users/alice/quote_authorizations/1", "type": "QuoteAuthorization",
        "attributedTo": "https://m.example/users/alice",
        "interactingObject": "https://l.example/users/bob/statuses/2",
        "interactionTarget": "https://m.example/users/alice/statuses/1"})
    assert doc["type"] == "QuoteAuthorization"
    assert doc["interactingObject"] == "https://l.example/users/bob/statuses/2"
    assert doc["interactionTarget"] == "https://m.example/users/alice/statuses/1"


def test_default_language_and_language_maps():
    # Akkoma and Misskey set a default @language, which tags every string they send.
    doc = canonical({
        "@context": [AS, "https://akkoma.example/schemas/litepub-0.1.jsonld", {"@language": "und"}],
        "id": "https://k.example/objects/1", "type": "Note", "content": "hi", "name": "title",
        "summary": "cw", "mediaType": "text/html", "preferredUsername": "kay"})
    assert (doc["content"], doc["name"], doc["summary"]) == ("hi", "title", "cw")
    assert doc["contentMap"] == {"und": "hi"}
    assert (doc["mediaType"], doc["preferredUsername"]) == ("text/html", "kay")
    only_map = canonical({"id": "https://g.example/1", "type": "Note",
                          "contentMap": {"fr": "<p>salut</p>", "en": "<p>hi</p>"}})
    assert only_map["content"] == "<p>hi</p>"  # the first by language tag: "en" < "fr"
    assert only_map["contentMap"] == {"fr": "<p>salut</p>", "en": "<p>hi</p>"}
    both = canonical({"@context": AS, "id": "https://m.example/1", "type": "Note",
                      "content": "<p>plain</p>", "contentMap": {"en": "<p>english</p>"}})
    assert both["content"] == "<p>plain</p>"


def test_terms_the_sender_left_undefined_keep_their_json_names():
    # WordPress now points at the Miscellaneous Terms context instead of inlining them;
    # unknown to us, that context is read as empty and the plain names stay.
    doc = canonical({
        "@context": [AS, "https://purl.archive.org/miscellany"], "id": "https://w.example/?p=1",
        "type": "Article", "sensitive": True, "movedTo": "https://x.example/u",
        "custom": {"nested": "value"}, "tag": [{"type": "Hashtag", "name": "#wp"}]})
    assert doc["sensitive"] is True and doc["movedTo"] == "https://x.example/u"
    assert doc["custom"] == {"nested": "value"}
    assert doc["tag"] == [{"type": "Hashtag", "name": "#wp"}]


def test_an_undefined_term_never_takes_the_place_of_a_defined_one():
    doc = canonical({"@context": [AS, {"sensitive": "as:sensitive", "spicy": "_:sensitive"}],
                     "id": "https://a.example/1", "type": "Note", "sensitive": True, "spicy": "no"})
    assert doc["sensitive"] is True and doc["_:sensitive"] == "no"


def test_a_second_spelling_of_a_property_merges_into_a_list():
    # An inline alias of `actor` does not replace the actor: both values show, and `ref` of a
    # list is None, so an origin check fails closed.
    doc = canonical({"@context": [AS, {"a": "as:actor"}], "id": "https://evil.example/1",
                     "type": "Like", "actor": "https://evil.example/u", "a": "https://victim.example/u",
                     "object": "https://l.example/1"})
    assert sorted(doc["actor"]) == ["https://evil.example/u", "https://victim.example/u"]
    assert ref(doc["actor"]) is None


# --- our own documents ------------------------------------------------------------------------

@pytest.mark.parametrize("signed_context", ["SIGNED_CONTEXT", "SIGNED_CONTEXT_2026_11"])
def test_likeness_documents_come_back_unchanged(signed_context):
    from federation import vocab
    from federation.vocab import OBJECT_CONTEXT

    owner, cameo = "https://a.example/users/alice", "https://a.example/users/alice/cameos/1"
    authorization = {
        "@context": getattr(vocab, signed_context),
        "id": "https://a.example/users/alice/remix_authorizations/1",
        "type": "RemixAuthorization", "attributedTo": owner,
        "interactingObject": "https://b.example/users/bob/statuses/7", "interactionTarget": cameo,
        "grantee": "https://b.example/users/bob", "promptDigest": "sha256-abc=",
        "published": "2026-11-25T10:00:00Z", "endTime": "2026-12-25T10:00:00Z",
        "proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022",
                  "verificationMethod": f"{owner}#ed25519-key", "proofPurpose": "assertionMethod",
                  "created": "2026-11-25T10:00:00Z", "proofValue": "z3abc"}}
    note = {
        "@context": OBJECT_CONTEXT, "id": "https://b.example/users/bob/statuses/7", "type": "Note",
        "attributedTo": "https://b.example/users/bob", "to": [PUBLIC], "cc": ["https://b.example/users/bob/followers"],
        "content": "<p>remix</p>", "sensitive": False, "aiGenerated": True,
        "generator": {"type": "Application", "name": "Wan2.1-VACE-1.3B"},
        "promptDigest": "sha256-abc=", "remixOf": "https://a.example/users/alice/statuses/3",
        "tag": [{"type": "Label", "name": "AI-generated"}],
        "cameos": [{"cameo": cameo, "remixAuthorization": {k: v for k, v in authorization.items()
                                                           if k != "@context"}}]}
    policy = {"@context": OBJECT_CONTEXT, "id": cameo, "type": "Cameo", "attributedTo": owner,
              "name": "Alice", "interactionPolicy": {"canRemix": {
                  "automaticApproval": [owner], "manualApproval": [PUBLIC]}}}
    for document in (authorization, note, policy):
        assert canonical(document) == {k: v for k, v in document.items() if k != "@context"}


def test_generator_is_an_object_and_names_the_model():
    from federation.objects import generator_name
    from federation.vocab import OBJECT_CONTEXT

    [expanded] = pyld.expand({"@context": OBJECT_CONTEXT, "id": "https://b.example/n/1", "type": "Note",
                              "generator": {"type": "Application", "name": "Wan2.1-VACE-1.3B"}},
                             {"documentLoader": document_loader})
    [generator] = expanded["https://www.w3.org/ns/activitystreams#generator"]
    assert generator["https://www.w3.org/ns/activitystreams#name"] == [{"@value": "Wan2.1-VACE-1.3B"}]
    for value, name in [({"type": "Application", "name": " Wan "}, "Wan"),
                        ({"id": "https://models.example/wan"}, "https://models.example/wan"),
                        ("wan-2.1", "wan-2.1"), ({"type": "Application"}, None), (["wan"], None),
                        ("  ", None), (7, None), ({"name": "x" * 500}, "x" * 200)]:
        assert generator_name(value) == name, value


def test_an_accept_carrying_a_signed_authorization():
    from federation.vocab import SIGNED_CONTEXT

    result = {"@context": SIGNED_CONTEXT, "id": "https://a.example/auth/1",
              "type": "RemixAuthorization",
              "proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022",
                        "proofPurpose": "assertionMethod", "verificationMethod": "https://a.example/u#k",
                        "created": "2026-11-25T10:00:00Z", "proofValue": "z3abc"}}
    doc = canonical({"@context": AS, "id": "https://a.example/accept/1", "type": "Accept",
                     "actor": "https://a.example/u", "object": "https://b.example/requests/1",
                     "result": result})
    assert doc["result"]["proof"]["proofPurpose"] == "assertionMethod"
    assert doc["result"]["proof"]["cryptosuite"] == "eddsa-jcs-2022"


def test_an_actor_with_both_kinds_of_key():
    doc = canonical({
        "@context": [AS, "https://w3id.org/security/v1", "https://w3id.org/security/multikey/v1"],
        "id": "https://a.example/users/alice", "type": "Person", "preferredUsername": "alice",
        "inbox": "https://a.example/users/alice/inbox",
        "publicKey": {"id": "https://a.example/users/alice#main-key", "owner": "https://a.example/users/alice",
                      "publicKeyPem": "-----BEGIN PUBLIC KEY-----\n..."},
        "assertionMethod": [{"id": "https://a.example/users/alice#ed25519-key", "type": "Multikey",
                             "controller": "https://a.example/users/alice", "publicKeyMultibase": "z6Mk"}]})
    assert doc["publicKey"]["owner"] == "https://a.example/users/alice"
    assert doc["assertionMethod"] == [{"id": "https://a.example/users/alice#ed25519-key", "type": "Multikey",
                                       "controller": "https://a.example/users/alice",
                                       "publicKeyMultibase": "z6Mk"}]


def test_a_suspended_actor_says_so_in_mastodons_term():
    from federation.vocab import ACTOR_CONTEXT

    actor = {"@context": ACTOR_CONTEXT, "id": "https://a.example/users/alice", "type": "Person",
             "suspended": True}
    [expanded] = pyld.expand(actor, {"documentLoader": document_loader})
    assert expanded["http://joinmastodon.org/ns#suspended"] == [{"@value": True}]
    assert canonical(actor)["suspended"] is True


# --- contexts and the loader ------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    AS, "http://www.w3.org/ns/activitystreams", "https://www.w3.org/ns/activitystreams/",
    "https://www.w3.org/ns/activitystreams.jsonld", "https://www.w3.org/ns/activitystreams#",
    "HTTPS://WWW.W3.ORG/ns/activitystreams"])
def test_the_loader_knows_the_spellings_of_a_bundled_context(url):
    assert "Note" in document_loader(url)["document"]["@context"]


@pytest.mark.parametrize("url, term", [
    ("https://w3id.org/security/v1.jsonld", "publicKeyPem"),
    ("http://w3id.org/security/data-integrity/v2", "DataIntegrityProof"),
    ("https://w3id.org/security/multikey/v1/", "Multikey"),
    ("https://likeness.social/ns", "RemixAuthorization"),
    ("https://gotosocial.org/ns", "interactionPolicy")])
def test_the_loader_serves_every_bundled_context(url, term):
    assert term in document_loader(url)["document"]["@context"]


def test_every_bundled_file_is_a_context_pyld_accepts():
    for path in Path(jsonld.__file__).with_name("contexts").glob("*.jsonld"):
        context = json.loads(path.read_text())["@context"]
        assert isinstance(context, dict)
        expanded = pyld.expand({"@context": [AS, context], "@id": "https://a.example/1", "name": "x"},
                               {"documentLoader": document_loader})
        assert expanded[0]["@id"] == "https://a.example/1"


def test_the_likeness_context_defines_the_protocol_terms():
    context = document_loader("https://likeness.social/ns")["document"]["@context"]
    assert context["lk"] == "https://likeness.social/ns#"
    for term in ("Cameo", "RemixRequest", "RemixAuthorization", "Label", "cameos", "cameo",
                 "remixAuthorization", "remixOf", "aiGenerated", "grantee", "promptDigest", "canRemix",
                 "interactionPolicy", "automaticApproval", "manualApproval", "interactingObject",
                 "interactionTarget", "blurhash", "focalPoint", "sensitive", "Hashtag", "Emoji",
                 "PropertyValue", "value", "featured", "discoverable", "indexable", "memorial",
                 "suspended", "votersCount", "attributionDomains", "quote", "quoteUri", "_misskey_quote",
                 "manuallyApprovesFollowers"):
        assert term in context, term


def test_an_unknown_context_is_empty_and_never_fetched(monkeypatch):
    asked = []

    def spy(url, options=None):
        asked.append(url)
        return document_loader(url, options)

    monkeypatch.setattr(jsonld, "document_loader", spy)
    doc = canonical({"@context": [AS, "https://never-seen.example/ns/v7"], "id": "https://a.example/1",
                     "type": "Note", "custom": 1})
    assert asked == ["https://never-seen.example/ns/v7"]
    assert doc["custom"] == 1
    assert document_loader("https://never-seen.example/ns/v7")["document"] == {"@context": {}}


def test_our_reading_of_unknown_contexts_stays_ours():
    url = "https://other-library.example/context"
    canonical({"@context": [AS, url], "id": "https://a.example/1", "type": "Note"})

    def their_loader(requested, options=None):
        return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": requested,
                "document": {"@context": {"title": "https://other-library.example/title"}}}

    expanded = pyld.expand({"@context": url, "title": "t"}, {"documentLoader": their_loader})
    assert expanded == [{"https://other-library.example/title": [{"@value": "t"}]}]


def test_no_context_means_activitystreams():
    doc = canonical({"id": "https://a.example/1", "type": "Note", "to": "as:Public",
                     "attributedTo": "https://a.example/u"})
    assert doc == {"id": "https://a.example/1", "type": "Note", "to": [PUBLIC],
                   "attributedTo": "https://a.example/u"}
    only_theirs = canonical({"@context": "https://own.example/ctx", "id": "https://a.example/1",
                             "type": "Note"})
    assert only_theirs == {"id": "https://a.example/1", "type": "Note"}


def test_the_input_is_not_changed():
    document = mastodon_create()
    before = copy.deepcopy(document)
    canonical(document)
    assert document == before


# --- refused ----------------------------------------------------------------------------------

@pytest.mark.parametrize("trap", [
    {"@graph": [{"id": "https://x.example/1", "type": "Announce"}]},
    {"object": {"id": "https://x.example/2", "@included": [{"id": "https://x.example/3"}]}},
    {"@reverse": {"as:actor": {"id": "https://x.example/3"}}},
    {"object": {"@id": "https://x.example/2", "@nest": {"content": "hidden"}}},
])
def test_features_that_hide_data_are_refused(trap):
    with pytest.raises(JSONLDError):
        canonical({"@context": AS, "id": "https://x.example/0", "type": "Undo", **trap})


@pytest.mark.parametrize("inline, extra", [
    ({"g": "@graph"}, {"g": [{"id": "https://x.example/1", "type": "Announce"}]}),
    ({"inc": "@included"}, {"inc": [{"id": "https://x.example/1"}]}),
    ({"inc": {"@id": "@included"}}, {"inc": [{"id": "https://x.example/1"}]}),
    ({"by": {"@reverse": "as:actor"}}, {"by": {"id": "https://x.example/1", "type": "Announce"}}),
    ({"Note": {"@id": "as:Note", "@context": {"r": "@reverse"}}}, {}),
    ({"object": {"@id": "as:object", "@container": "@graph"}}, {"object": {"id": "https://x.example/1"}}),
])
def test_aliases_of_those_features_are_refused(inline, extra):
    with pytest.raises(JSONLDError):
        canonical({"@context": [AS, inline], "id": "https://x.example/0", "type": "Undo", **extra})


@pytest.mark.parametrize("bad", [
    [1], "a string", None,
    {"@context": 5, "id": "https://x.example/1"},
    {"@context": {"@version": 2}, "id": "https://x.example/1"},
    {"@context": AS, "id": 5},
    {"@context": AS, "type": 5},
    {"@context": AS, "type": ["Note", {"a": 1}]},
    {"@context": AS, "id": "https://x.example/1", "@id": "https://x.example/2"},
    {"@context": AS, "content": {"@value": {"x": 1}}},
    {"@context": [AS, {"a": {"@id": "as:actor", "@type": "@bogus"}}], "a": "x"},
    {"@context": {"@base": 5}},
])
def test_malformed_documents_are_refused_with_a_reason(bad):
    with pytest.raises(JSONLDError) as raised:
        canonical(bad)
    assert str(raised.value)


def test_deep_nesting_is_refused():
    doc: dict = {"id": "https://x.example/0", "type": "Note"}
    for _ in range(60):
        doc = {"type": "Note", "object": doc}
    with pytest.raises(JSONLDError, match="nested"):
        canonical(doc)


# --- accessors --------------------------------------------------------------------------------

def test_as_list_and_ref():
    assert as_list(None) == [] and as_list("a") == ["a"] and as_list(["a", "b"]) == ["a", "b"]
    assert ref("https://a.example/1") == "https://a.example/1"
    assert ref({"id": "https://a.example/1", "type": "Note"}) == "https://a.example/1"
    assert ref({"type": "Note"}) is None and ref(["https://a.example/1"]) is None and ref(5) is None
