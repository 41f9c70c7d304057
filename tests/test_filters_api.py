"""Mastodon's filters (v2) over real HTTP: creating, changing and deleting filters, their
keywords and posts, every bad input refused with nothing written, and the home and public
timelines marking the posts each filter matches (`filtered`)."""

from __future__ import annotations

from typing import Any

from policy.content_filters import matching_keywords
from tests.test_reports import _post


def test_keywords_match_as_mastodons_do():
    text = "I like #cats and Dogfood.\n\nA photo of a catalogue"
    assert matching_keywords(text, [("cat", True), ("dog", False), ("#cats", True), ("DOGFOOD", True),
                                    ("catalogue", True), ("atalog", True)]) == [
        "dog", "#cats", "DOGFOOD", "catalogue"]


async def test_filters_crud_and_bad_input(make_instance):
    a = await make_instance()
    for name in ("alice", "bob"):
        await a.signup(name)
    created = await a.api("alice", "POST", "/api/v2/filters", json={
        "title": "spoilers", "context": ["home", "public"], "filter_action": "warn", "expires_in": 3600,
        "keywords_attributes": [{"keyword": "finale"}, {"keyword": "ending", "whole_word": False}]})
    assert created.status_code == 200, created.text
    spoilers = created.json()
    assert spoilers["title"] == "spoilers" and spoilers["context"] == ["home", "public"]
    assert spoilers["expires_at"] and spoilers["filter_action"] == "warn" and spoilers["statuses"] == []
    assert [(k["keyword"], k["whole_word"]) for k in spoilers["keywords"]] == [
        ("finale", True), ("ending", False)]
    # A form, as some clients send it, with the keywords by index.
    form = await a.api("alice", "POST", "/api/v2/filters", data={
        "title": "noise", "context[]": ["notifications"], "filter_action": "hide",
        "keywords_attributes[0][keyword]": "giveaway", "keywords_attributes[1][keyword]": "promo"})
    assert form.status_code == 200, form.text
    assert [k["keyword"] for k in form.json()["keywords"]] == ["giveaway", "promo"]
    assert form.json()["expires_at"] is None

    listed = (await a.api("alice", "GET", "/api/v2/filters")).json()
    assert [f["title"] for f in listed] == ["spoilers", "noise"]
    assert (await a.api("bob", "GET", "/api/v2/filters")).json() == []
    assert (await a.api("alice", "GET", f"/api/v2/filters/{spoilers['id']}")).json() == spoilers
    assert (await a.api("bob", "GET", f"/api/v2/filters/{spoilers['id']}")).status_code == 404

    finale, ending = spoilers["keywords"]
    changed = await a.api("alice", "PUT", f"/api/v2/filters/{spoilers['id']}", json={
        "title": "TV", "expires_in": "", "keywords_attributes": [
            {"id": finale["id"], "keyword": "season finale"}, {"id": ending["id"], "_destroy": True},
            {"keyword": "cliffhanger"}]})
    assert changed.status_code == 200, changed.text
    assert changed.json()["title"] == "TV" and changed.json()["expires_at"] is None
    assert changed.json()["context"] == ["home", "public"]
    assert [k["keyword"] for k in changed.json()["keywords"]] == ["season finale", "cliffhanger"]

    keyword = await a.api("alice", "POST", f"/api/v2/filters/{spoilers['id']}/keywords",
                          json={"keyword": "plot twist", "whole_word": False})
    assert keyword.status_code == 200 and keyword.json()["whole_word"] is False
    path = f"/api/v2/filters/keywords/{keyword.json()['id']}"
    assert (await a.api("alice", "GET", path)).json() == keyword.json()
    assert (await a.api("alice", "PUT", path, json={"keyword": "twist"})).json()["keyword"] == "twist"
    assert (await a.api("bob", "GET", path)).status_code == 404
    assert (await a.api("bob", "DELETE", path)).status_code == 404
    assert (await a.api("alice", "DELETE", path)).json() == {}
    assert len((await a.api("alice", "GET", f"/api/v2/filters/{spoilers['id']}/keywords")).json()) == 2

    bobs = await _post(a, "bob", "a post")
    statuses_path = f"/api/v2/filters/{spoilers['id']}/statuses"
    entry = await a.api("alice", "POST", statuses_path, json={"status_id": bobs["id"]})
    assert entry.status_code == 200 and entry.json()["status_id"] == bobs["id"]
    again = await a.api("alice", "POST", statuses_path, json={"status_id": bobs["id"]})
    assert again.status_code == 422
    entry_path = f"/api/v2/filters/statuses/{entry.json()['id']}"
    assert (await a.api("alice", "GET", entry_path)).json() == entry.json()
    assert (await a.api("bob", "GET", entry_path)).status_code == 404
    assert [e["id"] for e in (await a.api("alice", "GET", statuses_path)).json()] == [entry.json()["id"]]
    assert (await a.api("alice", "DELETE", entry_path)).json() == {}

    before = await a.pool.fetchval("SELECT count(*) FROM filters")
    keywords_before = await a.pool.fetchval("SELECT count(*) FROM filter_keywords")
    secret = await _post(a, "bob", "followers only", visibility="private")
    refused = [
        await a.api("alice", "POST", "/api/v2/filters", json={"context": ["home"]}),
        await a.api("alice", "POST", "/api/v2/filters", json={"title": "x", "context": []}),
        await a.api("alice", "POST", "/api/v2/filters", json={"title": "x", "context": ["everywhere"]}),
        await a.api("alice", "POST", "/api/v2/filters", json={"title": "x", "context": ["home"],
                                                               "filter_action": "delete"}),
        await a.api("alice", "POST", "/api/v2/filters", json={"title": "x", "context": ["home"],
                                                               "expires_in": "soon"}),
        await a.api("alice", "POST", "/api/v2/filters", json={"title": "x" * 300, "context": ["home"]}),
        await a.api("alice", "POST", "/api/v2/filters", json={
            "title": "x", "context": ["home"], "keywords_attributes": [{"keyword": "ok"}, {"keyword": ""}]}),
        await a.api("alice", "POST", "/api/v2/filters", json={
            "title": "x", "context": ["home"], "keywords_attributes": "word"}),
        await a.api("alice", "PUT", f"/api/v2/filters/{spoilers['id']}", json={
            "title": "changed?", "keywords_attributes": [{"id": "999999", "keyword": "x"}]}),
        await a.api("alice", "POST", f"/api/v2/filters/{spoilers['id']}/keywords", json={"whole_word": True}),
        await a.api("alice", "POST", statuses_path, json={"status_id": secret["id"]}),
        await a.api("alice", "POST", statuses_path, json={"status_id": "x"}),
    ]
    for response in refused:
        assert response.status_code == 422 and response.json()["error"], response.text
    assert (await a.api("alice", "GET", f"/api/v2/filters/{spoilers['id']}")).json()["title"] == "TV"
    assert await a.pool.fetchval("SELECT count(*) FROM filters") == before
    assert await a.pool.fetchval("SELECT count(*) FROM filter_keywords") == keywords_before
    taken = await a.api("bob", "PUT", f"/api/v2/filters/{spoilers['id']}", json={"title": "mine"})
    assert taken.status_code == 404
    assert (await a.api(None, "GET", "/api/v2/filters")).status_code == 401

    assert (await a.api("alice", "DELETE", f"/api/v2/filters/{spoilers['id']}")).json() == {}
    assert (await a.api("alice", "DELETE", f"/api/v2/filters/{spoilers['id']}")).status_code == 404
    assert await a.pool.fetchval("SELECT count(*) FROM filter_keywords WHERE filter_id = $1",
                                 int(spoilers["id"])) == 0


async def test_timelines_mark_what_filters_match(make_instance):
    a = await make_instance()
    for name in ("alice", "bob"):
        await a.signup(name)
    bob = (await a.api("bob", "GET", "/api/v1/accounts/verify_credentials")).json()
    await a.api("alice", "POST", f"/api/v1/accounts/{bob['id']}/follow")
    spoiler = await _post(a, "bob", "The FINALE was great")
    warned = await _post(a, "bob", "nothing to see", spoiler_text="about the finale")
    plain = await _post(a, "bob", "finalement, rien")
    named = await _post(a, "bob", "just this one")
    boost = (await a.api("alice", "POST", f"/api/v1/statuses/{spoiler['id']}/reblog")).json()

    async def make(title: str, context: list[str], action: str, keyword: str) -> dict[str, Any]:
        response = await a.api("alice", "POST", "/api/v2/filters", json={
            "title": title, "context": context, "filter_action": action,
            "keywords_attributes": [{"keyword": keyword}]})
        return response.json()

    tv = await make("TV", ["home"], "warn", "finale")
    hidden = await make("elsewhere", ["public"], "hide", "great")
    entry = (await a.api("alice", "POST", f"/api/v2/filters/{tv['id']}/statuses",
                         json={"status_id": named["id"]})).json()
    # An expired filter matches nothing.
    expired = await make("old", ["home"], "warn", "nothing")
    await a.pool.execute("UPDATE filters SET expires_at = now() - interval '1 minute' WHERE id = $1",
                         int(expired["id"]))

    home = {s["id"]: s for s in (await a.api("alice", "GET", "/api/v1/timelines/home")).json()}
    [match] = home[spoiler["id"]]["filtered"]
    assert match["filter"]["id"] == tv["id"] and match["filter"]["filter_action"] == "warn"
    assert match["keyword_matches"] == ["finale"] and match["status_matches"] is None
    assert [m["keyword_matches"] for m in home[warned["id"]]["filtered"]] == [["finale"]]
    assert home[plain["id"]]["filtered"] == []
    [by_post] = home[named["id"]]["filtered"]
    assert by_post["keyword_matches"] is None and by_post["status_matches"] == [entry["id"]]
    # A boost carries its original's matches, outside and in.
    assert home[boost["id"]]["filtered"] == home[boost["id"]]["reblog"]["filtered"] == [match]

    public = {s["id"]: s for s in (await a.api("alice", "GET", "/api/v1/timelines/public")).json()}
    assert [m["filter"]["filter_action"] for m in public[spoiler["id"]]["filtered"]] == ["hide"]
    assert public[warned["id"]]["filtered"] == []
    tagged = await _post(a, "bob", "#tv great")
    by_tag = (await a.api("alice", "GET", "/api/v1/timelines/tag/tv")).json()
    assert [s["id"] for s in by_tag] == [tagged["id"]]
    assert by_tag[0]["filtered"][0]["filter"]["id"] == hidden["id"]
    # Bob has no filters; a visitor has none either.
    assert all(s["filtered"] == [] for s in (await a.api("bob", "GET", "/api/v1/timelines/public")).json())
    assert all("filtered" not in s for s in (await a.api(None, "GET", "/api/v1/timelines/public")).json())
