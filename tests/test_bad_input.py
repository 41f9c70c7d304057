"""Bad input is refused with a 4xx at the layer that parses it, never a 500: deep JSON, NaN and
Infinity, NUL bytes and lone surrogates, ids past int64, hosts and URLs that do not parse, and
remote servers that refuse the connection."""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from federation import inputs
from federation.handlers import announce
from server.http import ID_REGEX, parse_id
from tests.conftest import eventually
from tests.hostile import INT64_MAX, deep, server_tracebacks

HUGE = "99999999999999999999999"
JSON = {"Content-Type": "application/json"}


def _assert_refused(response, case) -> None:
    assert 400 <= response.status_code < 500, (case, response.status_code, response.text[:300])
    assert response.json()["error"], case


async def test_deep_json_is_refused_everywhere(make_instance, peer):
    a = await make_instance()
    await a.signup("alice")
    peer.add_actor("mallory")
    with server_tracebacks() as tracebacks:
        for body in (deep(20_000, "["), deep(20_000, "{"), deep(100, "{")):
            for user, path in ((None, "/api/v1/apps"), (None, "/oauth/authorize"), (None, "/oauth/token"),
                               ("alice", "/api/v1/statuses"), ("alice", "/api/v1/generations"),
                               (None, "/inbox")):
                response = await a.api(user, "POST", path, content=body, headers=JSON)
                _assert_refused(response, (path, body[:20]))
            signed = await peer.post("mallory", f"{a.base_url}/inbox", body.encode())
            assert signed.status_code == 400 and "nested" in signed.json()["error"], signed.text
    assert tracebacks == []


async def test_signed_activities_with_nan_infinity_nul_or_surrogates_get_a_400(make_instance, peer):
    a = await make_instance()
    await a.signup("alice")
    peer.add_actor("mallory")
    follow = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{peer.base}/follows/1",
              "type": "Follow", "actor": peer.actor_id("mallory"), "object": f"{a.base_url}/users/alice"}
    text = json.dumps(follow)[:-1]
    with server_tracebacks() as tracebacks:
        for raw, words in (("NaN", "finite"), ("Infinity", "finite"), ("-Infinity", "finite"),
                           ("1e999", "finite"), ('"a\\u0000b"', "NUL"), ('"\\ud800"', "UTF-8"),
                           ('{"\\udfff": 1}', "UTF-8"), ("1" + "0" * 400, "digits")):
            body = f'{text}, "extra": {raw}}}'.encode()
            response = await peer.post("mallory", f"{a.base_url}/users/alice/inbox", body)
            assert response.status_code == 400, (raw, response.text)
            assert words in response.json()["error"], (raw, response.text)
    assert tracebacks == []
    assert await a.pool.fetchval("SELECT count(*) FROM inbox_activities") == 0


async def test_activities_whose_types_are_lists_or_objects_are_not_errors(make_instance, peer):
    a = await make_instance()
    await a.signup("alice")
    actor = peer.add_actor("mallory")
    with server_tracebacks() as tracebacks:
        for n, kind in enumerate((["Person"], {"a": 1}, ["Note", "Video"])):
            update = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{peer.base}/updates/{n}",
                      "type": "Update", "actor": actor,
                      "object": {"id": actor, "type": kind, "attributedTo": actor}}
            response = await peer.post("mallory", f"{a.base_url}/inbox", update)
            assert response.status_code < 500, (kind, response.text)
    assert tracebacks == []


async def test_signature_times_of_thousands_of_digits_are_refused(make_instance, peer):
    a = await make_instance()
    actor = peer.add_actor("mallory")
    body = json.dumps({"id": f"{peer.base}/follows/1", "type": "Follow", "actor": actor,
                       "object": f"{a.base_url}/users/alice"}).encode()
    signature = f'keyId="{actor}#main-key",headers="(created)",created="{"9" * 5000}",signature="AA=="'
    with server_tracebacks() as tracebacks:
        response = await a.api(None, "POST", "/inbox", content=body,
                               headers={"Content-Type": "application/activity+json", "Signature": signature})
    assert response.status_code == 401 and "Unix time" in response.json()["error"], response.text
    assert tracebacks == []


async def test_an_activity_whose_context_redefines_id_is_ignored_not_failed(make_instance, peer):
    a = await make_instance()
    await a.signup("alice")
    actor = peer.add_actor("mallory")
    follow = {"@context": ["https://www.w3.org/ns/activitystreams", {"id": "ok"}],
              "id": f"{peer.base}/follows/1", "type": "Follow", "actor": actor,
              "object": f"{a.base_url}/users/alice"}
    with server_tracebacks() as tracebacks:
        response = await peer.post("mallory", f"{a.base_url}/inbox", follow)
        assert response.status_code == 202, response.text
        state = await eventually(lambda: a.pool.fetchval(
            "SELECT state FROM inbox_activities WHERE state <> 'pending'"))
    assert state == "ignored"
    assert tracebacks == []


async def test_the_same_boost_handled_twice_at_once_is_kept_once(make_instance, peer, monkeypatch):
    """Two deliveries of one boost (a retry, or a replay under another activity id) handled by
    two workers at once: one is kept, the other is a duplicate, not a unique violation."""
    a = await make_instance()
    await a.signup("alice")
    post = (await a.api("alice", "POST", "/api/v1/statuses", json={"status": "hi"})).json()
    actor = peer.add_actor("mallory")
    boosts = [{"id": f"{peer.base}/announces/{n}", "type": "Announce", "actor": actor, "object": post["uri"]}
              for n in (1, 2)]
    await announce.handle(a.instance.fed, boosts[0])

    async def not_yet_committed(*args):
        return None  # what the second worker saw while the first one's transaction was open

    monkeypatch.setattr(announce.store, "boost", not_yet_committed)
    await announce.handle(a.instance.fed, boosts[1])
    assert await a.pool.fetchval("SELECT count(*) FROM posts WHERE reblog_of_id IS NOT NULL") == 1


async def test_ids_past_int64_are_refused_or_not_found(make_instance):
    a = await make_instance()
    await a.signup("alice")
    cases = [
        ("GET", f"/api/v1/statuses/{HUGE}", {}), ("GET", f"/api/v1/statuses/{HUGE}/context", {}),
        ("POST", f"/api/v1/statuses/{HUGE}/favourite", {}), ("DELETE", f"/api/v1/statuses/{HUGE}", {}),
        ("GET", f"/api/v1/accounts/{HUGE}", {}), ("GET", f"/api/v1/accounts/{HUGE}/statuses", {}),
        ("POST", f"/api/v1/accounts/{HUGE}/follow", {}), ("GET", f"/api/v1/media/{HUGE}", {}),
        ("GET", f"/api/v1/timelines/public?max_id={HUGE}", {}),
        ("GET", f"/api/v1/timelines/home?since_id={HUGE}", {}),
        ("GET", f"/api/v1/notifications?min_id={HUGE}", {}),
        ("GET", f"/api/v1/timelines/home?limit={HUGE}", {}),
        ("POST", "/api/v1/statuses", {"json": {"status": "hi", "media_ids": [HUGE]}}),
        ("POST", "/api/v1/statuses", {"json": {"status": "hi", "media_ids": ["²"]}}),
        ("POST", "/api/v1/statuses", {"json": {"status": "hi", "media_ids": [1e300]}}),
        ("POST", "/api/v1/statuses", {"json": {"status": "hi", "in_reply_to_id": HUGE}}),
        ("POST", "/api/v1/statuses", {"content": '{"status": "hi", "media_ids": [1e999]}', "headers": JSON}),
        ("POST", "/api/v1/statuses", {"content": '{"status": "hi", "in_reply_to_id": 1e999}',
                                      "headers": JSON}),
        ("POST", "/api/v1/statuses", {"data": {"status": "hi", "media_ids[]": "1e999"}}),
        ("POST", "/api/v1/generations", {"json": {"prompt": "a cat", "cameo_ids": [HUGE]}}),
        ("POST", "/api/v1/generations", {"json": {"prompt": "a cat", "cameo_ids": ["²"]}}),
        ("GET", f"/api/v1/cameos/{HUGE}", {}), ("GET", f"/api/v1/remixes/{HUGE}", {}),
        ("GET", f"/api/v1/generations/{HUGE}", {}), ("POST", f"/api/v1/remix_requests/{HUGE}/approve", {}),
        ("POST", "/api/v1/reports", {"json": {"account_id": HUGE}}),
        ("POST", "/api/v1/reports", {"json": {"account_id": "1", "status_ids": [HUGE]}}),
        ("POST", "/api/v1/for_you/preferences", {"json": {"account_id": HUGE, "direction": "more"}}),
        ("DELETE", f"/api/v1/for_you/preferences/{HUGE}", {}),
        ("GET", "/users/alice/followers?page=" + "9" * 5000, {}),
        ("GET", f"/users/alice/outbox?page={HUGE}", {}),
        ("GET", f"/users/alice/statuses/{HUGE}", {}), ("GET", f"/users/alice/statuses/{HUGE}/activity", {}),
        ("GET", f"/users/alice/quote_authorizations/{HUGE}", {}), ("GET", f"/@alice/{HUGE}", {}),
        # As ActivityPub asks for it: a browser is answered with a page (test_cameos.py).
        ("GET", f"/users/alice/cameos/{HUGE}", {"headers": {"Accept": "application/activity+json"}}),
        ("GET", f"/users/alice/remix_authorizations/{HUGE}", {}),
    ]
    with server_tracebacks() as tracebacks:
        for method, path, kwargs in cases:
            response = await a.api("alice", method, path, **kwargs)
            _assert_refused(response, (method, path, kwargs))
        for raw in (HUGE, "²"):
            # Mastodon leaves out the ids it does not know.
            response = await a.api("alice", "GET", f"/api/v1/accounts/relationships?id[]={raw}")
            assert response.status_code == 200 and response.json() == [], response.text
    assert tracebacks == []


async def test_nul_bytes_and_lone_surrogates_are_refused(make_instance):
    a = await make_instance()
    await a.signup("alice")
    surrogate = '{"status": "a\\ud800b"}'
    cases = [
        ("POST", "/api/v1/statuses", {"json": {"status": "a\x00b"}}, "NUL"),
        ("POST", "/api/v1/statuses", {"content": surrogate, "headers": JSON}, "UTF-8"),
        ("POST", "/api/v1/statuses", {"data": {"status": "a\x00b"}}, "NUL"),
        ("PATCH", "/api/v1/accounts/update_credentials", {"data": {"display_name": "a\x00"}}, "NUL"),
        ("PATCH", "/api/v1/accounts/update_credentials", {"json": {"note": "a\x00"}}, "NUL"),
        ("POST", "/api/v2/media", {"files": {"file": ("a.mp4", b"x", "video/mp4")},
                                   "data": {"description": "a\x00"}}, "NUL"),
        ("GET", "/api/v1/accounts/lookup?acct=a%00", {}, "NUL"),
        ("GET", "/api/v2/search?q=%00&resolve=true", {}, "NUL"),
        ("GET", "/users/%00", {}, "NUL"), ("GET", "/media/%00", {}, "NUL"), ("GET", "/@a%00", {}, "NUL"),
        ("GET", "/oauth/authorize?client_id=%00&redirect_uri=x&response_type=code", {}, "NUL"),
        ("POST", "/oauth/token", {"data": {"grant_type": "password", "client_id": "\x00"}}, "NUL"),
        ("POST", "/oauth/token", {"content": '{"grant_type": "\\ud800"}', "headers": JSON}, "UTF-8"),
        ("POST", "/oauth/token", {"data": {"grant_type": "client_credentials"},
                                  "headers": {"Authorization": "Basic AA=="}}, "invalid_client"),
        ("POST", "/oauth/token", {"content": '{"\\ud800": 1}', "headers": JSON}, "UTF-8"),
        ("POST", "/api/v1/apps", {"content": '{"client_name": "x", "redirect_uris": "\\udfff"}',
                                  "headers": JSON}, "UTF-8"),
        ("POST", "/api/v1/statuses", {"content": b'{"status": "\xed\xa0\x80"}', "headers": JSON}, "UTF-8"),
        ("POST", "/api/v1/statuses", {
            "content": b'--b\r\nContent-Disposition: form-data; name="status"\r\n\r\n\\ud800\r\n--b--\r\n',
            "headers": {"Content-Type": "multipart/form-data; boundary=b; charset=unicode_escape"}},
         "UTF-8"),
    ]
    with server_tracebacks() as tracebacks:
        for method, path, kwargs, words in cases:
            response = await a.api("alice", method, path, **kwargs)
            _assert_refused(response, (method, path, kwargs))
            assert words in response.json()["error"], (path, kwargs, response.text)
    assert tracebacks == []
    assert await a.pool.fetchval("SELECT count(*) FROM posts") == 0


async def test_unreachable_and_unparsable_hosts_are_not_errors(make_instance):
    """A mention or a search naming a server that refuses the connection, or a host that is not
    a valid address or IDNA name, resolves to nobody; the post is still made."""
    a = await make_instance()
    await a.signup("alice")
    handles = ["a@127.0.0.1:1", "a@0177.0.0.1", "a@xn--a.com", "a@xn--", "a@1.2.3.4:99999",
               "a@[::1", "a@\u00ad.com"]
    with server_tracebacks() as tracebacks:
        for handle in handles:
            posted = await a.api("alice", "POST", "/api/v1/statuses", json={"status": f"hi @{handle}"})
            assert posted.status_code == 200, (handle, posted.text)
            assert posted.json()["mentions"] == []
            found = await a.api("alice", "GET", "/api/v2/search",
                                params={"q": f"@{handle}", "resolve": "true"})
            assert found.status_code == 200 and found.json()["accounts"] == [], (handle, found.text)
    assert tracebacks == []


async def test_malformed_urls_are_refused(make_instance):
    a = await make_instance()
    await a.signup("alice")
    await a.set_role("alice", "admin")
    cases = [
        ("POST", "/api/v1/admin/domain_blocks", {"json": {"domain": "http://[::1"}}),
        ("GET", "/api/v1/cameos/lookup", {"params": {"uri": "http://[::1"}}),
        ("GET", "/api/v1/cameos/lookup", {"params": {"uri": "http://[::1]:99999/x"}}),
        ("GET", "/api/v1/cameos/lookup", {"params": {"uri": "https://xn--a.com/cameos/1"}}),
        ("GET", "/api/v2/search", {"params": {"q": "http://[::1"}}),
        ("GET", "/api/v2/search", {"params": {"q": "https://xn--/users/a"}}),
        ("POST", "/api/v1/apps", {"json": {"client_name": "x", "redirect_uris": "http://[::1"}}),
        ("POST", "/api/v1/apps", {"json": {"client_name": "x", "redirect_uris": "urn:x",
                                           "website": "http://[::1"}}),
    ]
    with server_tracebacks() as tracebacks:
        for method, path, kwargs in cases:
            response = await a.api("alice", method, path, **kwargs)
            assert response.status_code < 500, (path, kwargs, response.text)
    assert tracebacks == []


def test_an_error_that_echoes_a_lone_surrogate_still_renders():
    from server.http import error

    assert error(422, "bad \ud800 value").status_code == 422


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=12)


@given(st.integers())
def test_id_paths_match_exactly_the_int64_ids(number):
    matches = re.fullmatch(ID_REGEX, str(number)) is not None
    assert matches == (0 <= number <= INT64_MAX)
    assert parse_id(str(number)) == (number if matches else None)


@given(JSON_VALUES.map(json.dumps) | st.text())
def test_json_input_parses_or_refuses(text):
    """Whatever the text (json.dumps writes NaN, Infinity, \\u0000 and lone surrogates), the
    parser gives a value that PostgreSQL's jsonb and a later json.dumps take, or InputError."""
    try:
        parsed = inputs.loads(text)
    except inputs.InputError:
        return
    assert "\\u0000" not in json.dumps(parsed)
    json.dumps(parsed, allow_nan=False, ensure_ascii=False).encode("utf-8")
