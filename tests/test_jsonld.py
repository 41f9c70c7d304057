"""The canonical shape handlers read, whatever aliases a sender used; no network, ever."""

from __future__ import annotations

import socket

import pytest

from federation.jsonld import PUBLIC, JSONLDError, canonical

MASTODON_CONTEXT = ["https://www.w3.org/ns/activitystreams", {
    "ostatus": "http://ostatus.org#", "sensitive": "as:sensitive", "toot": "http://joinmastodon.org/ns#",
    "blurhash": "toot:blurhash", "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
    "Hashtag": "as:Hashtag"}]


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("JSON-LD processing tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.mark.parametrize("alias", ["as:Public", "Public", PUBLIC])
def test_public_aliases(alias):
    doc = canonical({"@context": "https://www.w3.org/ns/activitystreams", "id": "https://a.example/1",
                     "type": "Note", "to": alias, "cc": [alias, "https://a.example/followers"]})
    assert doc["to"] == [PUBLIC]
    assert doc["cc"] == [PUBLIC, "https://a.example/followers"]


def test_mastodon_create_with_video():
    doc = canonical({
        "@context": MASTODON_CONTEXT, "id": "https://m.example/s/1/activity", "type": "Create",
        "actor": "https://m.example/u/a", "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {
            "id": "https://m.example/s/1", "type": "Note", "attributedTo": "https://m.example/u/a",
            "content": "<p>hi</p>", "contentMap": {"en": "<p>hi</p>"}, "sensitive": True,
            "attachment": [{"type": "Document", "mediaType": "video/mp4", "url": "https://m.example/v.mp4",
                            "blurhash": "UABC", "focalPoint": [0.1, -0.2], "width": 360, "height": 640}],
            "tag": [{"type": "Hashtag", "href": "https://m.example/tags/x", "name": "#x"}],
        }})
    note = doc["object"]
    assert (doc["type"], doc["actor"], note["type"]) == ("Create", "https://m.example/u/a", "Note")
    assert note["content"] == "<p>hi</p>" and note["sensitive"] is True
    video = note["attachment"][0]
    assert video["blurhash"] == "UABC" and video["focalPoint"] == [0.1, -0.2]
    assert (video["width"], video["height"]) == (360, 640)
    assert note["tag"] == [{"type": "Hashtag", "href": "https://m.example/tags/x", "name": "#x"}]


def test_peertube_video_with_its_own_context_and_unknown_remote_context():
    doc = canonical({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1",
                     {"pt": "https://joinpeertube.org/ns#", "uuid": "sc:identifier",
                      "sc": "http://schema.org/"}, "https://peertube.example/contexts/video.jsonld"],
        "id": "https://peertube.example/videos/watch/1", "type": "Video", "name": "Title",
        "duration": "PT65S", "uuid": "abc", "attributedTo": ["https://peertube.example/accounts/a"],
        "url": [{"type": "Link", "mediaType": "video/mp4", "href": "https://peertube.example/v.mp4",
                 "height": 720}]})
    assert doc["type"] == "Video" and doc["duration"] == "PT65S"
    # A term only the sender defines keeps its full IRI rather than a name we would guess.
    assert doc["http://schema.org/identifier"] == "abc"
    assert doc["url"][0]["href"] == "https://peertube.example/v.mp4"


def test_content_map_only_and_no_context():
    doc = canonical({"id": "https://g.example/1", "type": "Note",
                     "contentMap": {"fr": "<p>salut</p>"}})
    assert doc["content"] == "<p>salut</p>"


@pytest.mark.parametrize("trap", [
    {"@graph": [{"id": "https://x/1", "type": "Announce"}]},
    {"object": {"@included": [{"id": "https://x/2"}]}},
    {"@reverse": {"as:actor": {"id": "https://x/3"}}},
])
def test_features_that_hide_data_are_refused(trap):
    with pytest.raises(JSONLDError):
        canonical({"@context": "https://www.w3.org/ns/activitystreams", "id": "https://x/0",
                   "type": "Undo", **trap})


def test_malformed_documents():
    for bad in ([1], {"@context": 5, "id": "x"}, {"@context": {"@version": 2}, "id": "x"}):
        with pytest.raises(JSONLDError):
            canonical(bad)
