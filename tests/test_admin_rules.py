"""The admin API and CLI for instance rules: who may use them, what bad input gets, CSV export
and import between instances, the public list, and a CLI change reaching a running server."""

from __future__ import annotations

import asyncio

import pytest

from server.cli.main import main
from tests.conftest import eventually
from tests.test_domain_rules import _admin

BLOCKS = "/api/v1/admin/domain_blocks"
ALLOWS = "/api/v1/admin/domain_allows"
MODE = "/api/v1/admin/federation_mode"
ADMIN = "root_admin"


async def _instance(make_instance, name="a"):
    instance = await make_instance(name)
    await _admin(instance, ADMIN)
    return instance


async def test_only_admins(make_instance):
    a = await _instance(make_instance)
    await a.signup("user")
    await a.signup("mod")
    await a.set_role("mod", "moderator")
    calls = [("GET", BLOCKS), ("POST", BLOCKS), ("GET", f"{BLOCKS}/1"), ("PUT", f"{BLOCKS}/1"),
             ("DELETE", f"{BLOCKS}/1"), ("GET", f"{BLOCKS}/export"), ("POST", f"{BLOCKS}/import"),
             ("GET", ALLOWS), ("POST", ALLOWS), ("GET", f"{ALLOWS}/1"), ("DELETE", f"{ALLOWS}/1"),
             ("GET", MODE), ("PUT", MODE)]
    for method, path in calls:
        anonymous = await a.api(None, method, path, json={"domain": "x.example"})
        assert anonymous.status_code == 401, (method, path)
        for user in ("user", "mod"):
            refused = await a.api(user, method, path, json={"domain": "x.example"})
            assert refused.status_code == 403 and "admin" in refused.json()["error"], (method, path)
    assert await a.pool.fetchval("SELECT count(*) FROM domain_blocks") == 0
    # The public list needs no account.
    assert (await a.api(None, "GET", "/api/v1/instance/domain_blocks")).json() == []


async def test_blocks_crud_and_bad_input(make_instance):
    a = await _instance(make_instance)
    for body, status, words in [
        ({}, 422, "domain is required"),
        ({"domain": "not a domain"}, 422, "not a valid domain"),
        ({"domain": "x.example", "severity": "obliterate"}, 422, "severity must be"),
        ({"domain": "x.example", "reject_media": "sometimes"}, 400, "reject_media must be true or false"),
        ({"domain": "x.example", "public_comment": "x" * 1001}, 422, "public_comment is longer"),
        ({"domain": "x.example", "public_comment": 7}, 422, "public_comment must be text"),
        ({"domain": a.domain}, 422, "own domain"),
        ({"domain": "127.0.0.1"}, 422, "own domain"),  # would cover this instance's own port
    ]:
        response = await a.api(ADMIN, "POST", BLOCKS, json=body)
        assert response.status_code == status, (body, response.text)
        assert words in response.json()["error"], (body, response.text)
    assert await a.pool.fetchval("SELECT count(*) FROM domain_blocks") == 0

    # Mastodon clients send forms as often as JSON.
    response = await a.api(ADMIN, "POST", BLOCKS, data={
        "domain": "https://Example.com/@someone", "severity": "suspend", "reject_reports": "true",
        "public_comment": "spam", "private_comment": "see ticket 12"})
    assert response.status_code == 200, response.text
    block = response.json()
    assert {k: block[k] for k in ("domain", "severity", "reject_media", "reject_reports",
                                  "reject_remix_requests", "public_comment", "private_comment",
                                  "obfuscate")} == {
        "domain": "example.com", "severity": "suspend", "reject_media": False, "reject_reports": True,
        "reject_remix_requests": False, "public_comment": "spam", "private_comment": "see ticket 12",
        "obfuscate": False}
    assert len(block["digest"]) == 64 and block["created_at"].endswith("Z")

    # A block on example.com covers its subdomains: another one there must restrict more.
    again = await a.api(ADMIN, "POST", BLOCKS, json={"domain": "example.com", "severity": "silence"})
    assert again.status_code == 422 and again.json()["existing_domain_block"]["id"] == block["id"]
    laxer = await a.api(ADMIN, "POST", BLOCKS, json={"domain": "video.example.com", "severity": "silence"})
    assert laxer.status_code == 422 and "example.com is already blocked" in laxer.json()["error"]
    assert (await a.instance.fed.rules.policy("deep.video.example.com:8443")).suspended
    assert not (await a.instance.fed.rules.policy("notexample.com")).suspended
    quiet = await a.api(ADMIN, "POST", BLOCKS, json={"domain": "quiet.example", "severity": "silence"})
    stricter = await a.api(ADMIN, "POST", BLOCKS, json={"domain": "loud.quiet.example",
                                                         "severity": "silence", "reject_media": True})
    assert stricter.status_code == 200, stricter.text
    assert (await a.instance.fed.rules.policy("x.loud.quiet.example")).reject_media
    assert not (await a.instance.fed.rules.policy("x.quiet.example")).reject_media

    listed = (await a.api(ADMIN, "GET", BLOCKS)).json()
    assert [b["domain"] for b in listed] == ["loud.quiet.example", "quiet.example", "example.com"]
    first_page = await a.api(ADMIN, "GET", BLOCKS, params={"limit": 2})
    assert len(first_page.json()) == 2 and 'rel="next"' in first_page.headers["link"]
    assert (await a.api(ADMIN, "GET", BLOCKS, params={"limit": 0})).status_code == 400

    quiet_id = quiet.json()["id"]
    assert (await a.api(ADMIN, "GET", f"{BLOCKS}/{quiet_id}")).json()["domain"] == "quiet.example"
    updated = await a.api(ADMIN, "PUT", f"{BLOCKS}/{quiet_id}", json={"severity": "noop",
                                                                      "obfuscate": True})
    assert updated.status_code == 200
    assert (updated.json()["severity"], updated.json()["obfuscate"]) == ("noop", True)
    for body, words in [({"severity": "gone"}, "severity"), ({"domain": "other.example"}, "cannot change")]:
        response = await a.api(ADMIN, "PUT", f"{BLOCKS}/{quiet_id}", json=body)
        assert response.status_code == 422 and words in response.json()["error"]
    assert (await a.api(ADMIN, "GET", f"{BLOCKS}/{quiet_id}")).json()["severity"] == "noop"
    assert (await a.api(ADMIN, "DELETE", f"{BLOCKS}/{quiet_id}")).json() == {}
    for method in ("GET", "PUT", "DELETE"):
        assert (await a.api(ADMIN, method, f"{BLOCKS}/{quiet_id}", json={})).status_code == 404
    assert (await a.api(ADMIN, "GET", f"{BLOCKS}/nope")).status_code == 404


async def test_public_list_obfuscates_where_asked(make_instance):
    a = await _instance(make_instance)
    for body in ({"domain": "bad-instance.example.com", "severity": "suspend", "obfuscate": True,
                  "public_comment": "harassment"},
                 {"domain": "pics.example", "severity": "noop", "reject_media": True},
                 {"domain": "nothing.example", "severity": "noop", "private_comment": "watch"}):
        assert (await a.api(ADMIN, "POST", BLOCKS, json=body)).status_code == 200
    listed = (await a.api(None, "GET", "/api/v1/instance/domain_blocks")).json()
    assert [(b["domain"], b["severity"], b["comment"]) for b in listed] == [
        ("bad-ins*****.*****le.com", "suspend", "harassment"), ("pics.example", "noop", "")]
    import hashlib

    assert listed[0]["digest"] == hashlib.sha256(b"bad-instance.example.com").hexdigest()
    assert "watch" not in str(listed)


async def test_csv_round_trip_and_refused_files(make_instance):
    a = await _instance(make_instance, "a")
    for body in ({"domain": "b.example", "severity": "silence", "reject_media": True,
                  "public_comment": 'says "hi", loudly', "obfuscate": True},
                 {"domain": "c.example:8443", "severity": "noop", "reject_remix_requests": True},
                 {"domain": "d.example", "severity": "suspend", "reject_reports": True}):
        assert (await a.api(ADMIN, "POST", BLOCKS, json=body)).status_code == 200
    export = await a.api(ADMIN, "GET", f"{BLOCKS}/export")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert export.text.startswith("#domain,#severity,#reject_media,#reject_reports,#public_comment,"
                                  "#obfuscate")

    fresh = await _instance(make_instance, "fresh")
    imported = await fresh.api(ADMIN, "POST", f"{BLOCKS}/import", content=export.text,
                               headers={"Content-Type": "text/csv"})
    assert imported.json() == {"created": 3, "updated": 0, "total": 3}
    assert (await fresh.api(ADMIN, "GET", f"{BLOCKS}/export")).text == export.text

    def public(blocks):
        return sorted(({k: v for k, v in b.items() if k not in ("id", "created_at")} for b in blocks),
                      key=lambda b: b["domain"])

    assert public((await fresh.api(ADMIN, "GET", BLOCKS)).json()) == \
        public((await a.api(ADMIN, "GET", BLOCKS)).json())

    # Bad files are refused whole, naming each bad row; nothing changes.
    for text, words in [
        ("#domain,#severity\nnew.example,suspend\nb.example,obliterate\n", "line 3: b.example: severity"),
        ("#domain,#severity\nnew.example,suspend\n,silence\n", "line 3: the domain is missing"),
        ("#domain,#reject_media\nnew.example,perhaps\n", "reject_media must be true or false"),
        ("#domain\nnew.example\nNEW.example\n", "listed twice"),
        (f"#domain\nnew.example\n{fresh.domain}\n", "own domain"),
    ]:
        response = await fresh.api(ADMIN, "POST", f"{BLOCKS}/import", content=text,
                                   headers={"Content-Type": "text/csv"})
        assert response.status_code == 422 and words in response.json()["error"], response.text
        assert response.json()["error"].startswith("nothing was imported")
    assert (await fresh.api(ADMIN, "GET", f"{BLOCKS}/export")).text == export.text
    bad = await fresh.api(ADMIN, "POST", f"{BLOCKS}/import", content=b"\xff\xfe\x00",
                          headers={"Content-Type": "text/csv"})
    assert bad.status_code == 400 and "UTF-8" in bad.json()["error"]
    wrong = await fresh.api(ADMIN, "POST", f"{BLOCKS}/import", json={"domain": "x.example"})
    assert wrong.status_code == 415

    # Re-importing updates what exists; the multipart upload of Mastodon's form works too.
    update = "#domain,#severity\nb.example,suspend\nnew.example,silence\n"
    response = await fresh.api(ADMIN, "POST", f"{BLOCKS}/import",
                               files={"data": ("blocks.csv", update.encode(), "text/csv")})
    assert response.json() == {"created": 1, "updated": 1, "total": 2}
    severities = {b["domain"]: (b["severity"], b["reject_media"], b["public_comment"])
                  for b in (await fresh.api(ADMIN, "GET", BLOCKS)).json()}
    assert severities["b.example"] == ("suspend", False, None)
    assert severities["new.example"] == ("silence", False, None)


async def test_allows_and_mode(make_instance):
    a = await _instance(make_instance)
    assert (await a.api(ADMIN, "GET", MODE)).json() == {"mode": "open"}
    for body, status in (({"mode": "closed"}, 422), ({}, 422)):
        assert (await a.api(ADMIN, "PUT", MODE, json=body)).status_code == status
    assert (await a.api(ADMIN, "POST", ALLOWS, json={"domain": "bad domain"})).status_code == 422
    assert (await a.api(ADMIN, "POST", ALLOWS, json={})).status_code == 422
    first = (await a.api(ADMIN, "POST", ALLOWS, json={"domain": "Friends.Example"})).json()
    assert first["domain"] == "friends.example"
    again = (await a.api(ADMIN, "POST", ALLOWS, json={"domain": "friends.example"})).json()
    assert again["id"] == first["id"]
    assert [x["domain"] for x in (await a.api(ADMIN, "GET", ALLOWS)).json()] == ["friends.example"]
    assert (await a.api(ADMIN, "GET", f"{ALLOWS}/{first['id']}")).json() == first
    assert (await a.api(ADMIN, "PUT", MODE, json={"mode": "allowlist"})).json() == {"mode": "allowlist"}
    rules = a.instance.fed.rules
    assert not (await rules.policy("video.friends.example")).suspended
    assert (await rules.policy("strangers.example")).suspended
    assert (await a.api(ADMIN, "DELETE", f"{ALLOWS}/{first['id']}")).json() == {}
    assert (await a.api(ADMIN, "DELETE", f"{ALLOWS}/{first['id']}")).status_code == 404
    assert (await rules.policy("friends.example")).suspended


@pytest.fixture
def cli_env(monkeypatch, tmp_path):
    """Point the CLI at a running instance's database and Redis, as an operator's shell would."""

    def point(instance) -> None:
        settings = instance.instance.settings
        monkeypatch.setenv("DATABASE_URL", settings.database_url)
        monkeypatch.setenv("REDIS_URL", settings.redis_url)
        monkeypatch.setenv("LIKENESS_DOMAIN", settings.domain)
        monkeypatch.setenv("LIKENESS_HTTPS", "0")
        monkeypatch.setenv("LIKENESS_DATA_DIR", str(tmp_path / "cli"))

    return point


async def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def test_cli_commands_reach_a_running_server(make_instance, cli_env, capsys, peer, tmp_path):
    a = await _instance(make_instance)
    await a.signup("alice")
    cli_env(a)
    peer.add_actor("mallory")
    follow = {"id": f"{peer.base}/follows/1", "type": "Follow", "actor": peer.actor_id("mallory"),
              "object": f"{a.base_url}/users/alice"}
    assert (await peer.post("mallory", f"{a.base_url}/inbox", follow)).status_code == 202

    async def followed() -> bool:
        return await a.pool.fetchval("SELECT count(*) FROM follows") == 1

    await eventually(followed)
    code, out, _ = await _cli(capsys, "admin", "domain-block", "add", peer.domain, "--severity",
                              "suspend", "--reject-remix-requests", "--public-comment", "spam")
    assert code == 0 and out.strip() == f"blocked {peer.domain}: suspend, reject remix requests"
    assert await a.pool.fetchval("SELECT count(*) FROM follows") == 0  # severed by the CLI

    # The running server hears of it through Redis within a second, and refuses the peer.
    async def heard() -> bool:
        return (await a.instance.fed.rules.policy(peer.domain)).suspended

    await eventually(heard, timeout=3)
    second = {**follow, "id": f"{peer.base}/follows/2"}
    assert (await peer.post("mallory", f"{a.base_url}/inbox", second)).status_code == 403

    code, out, _ = await _cli(capsys, "admin", "domain-block", "add", "quiet.example")
    assert code == 0 and out.strip() == "blocked quiet.example: silence"
    code, out, _ = await _cli(capsys, "admin", "domain-block", "add", "quiet.example", "--severity",
                              "noop", "--reject-media")
    assert code == 0 and out.strip() == "updated the block of quiet.example: noop, reject media"
    with pytest.raises(SystemExit) as refused:
        await _cli(capsys, "admin", "domain-block", "add", "a.example", "--severity", "bogus")
    assert refused.value.code == 2 and "invalid choice: 'bogus'" in capsys.readouterr().err
    code, _, err = await _cli(capsys, "admin", "domain-block", "add", "not a domain")
    assert code == 1 and "not a valid domain" in err
    code, out, _ = await _cli(capsys, "admin", "domain-block", "list")
    assert out.splitlines() == [f"{peer.domain}\tsuspend, reject remix requests  # spam",
                                "quiet.example\tnoop, reject media"]

    exported = tmp_path / "blocks.csv"
    code, _, _ = await _cli(capsys, "admin", "domain-block", "export", str(exported))
    assert code == 0 and exported.read_text().startswith("#domain,#severity")
    code, out, _ = await _cli(capsys, "admin", "domain-block", "export")
    assert out == exported.read_text()
    bad = tmp_path / "bad.csv"
    bad.write_text("#domain,#severity\nfine.example,suspend\nworse.example,extinct\n")
    code, _, err = await _cli(capsys, "admin", "domain-block", "import", str(bad))
    assert code == 1 and "line 3: worse.example: severity" in err and "nothing was imported" in err
    code, _, err = await _cli(capsys, "admin", "domain-block", "import", str(tmp_path / "missing.csv"))
    assert code == 1 and "cannot read" in err
    good = tmp_path / "good.csv"
    good.write_text("#domain,#severity,#reject_media\nquiet.example,silence,false\nnew.example,,\n")
    code, out, _ = await _cli(capsys, "admin", "domain-block", "import", str(good))
    assert code == 0 and out.strip() == "imported 2 domain blocks: 1 new, 1 updated"
    code, out, _ = await _cli(capsys, "admin", "domain-block", "remove", "new.example")
    assert code == 0 and out.strip() == "unblocked new.example"
    code, _, err = await _cli(capsys, "admin", "domain-block", "remove", "new.example")
    assert code == 1 and "not blocked" in err
    code, _, _ = await _cli(capsys, "admin", "domain-block", "remove", peer.domain)
    assert code == 0

    code, out, _ = await _cli(capsys, "admin", "domain-allow", "add", peer.domain)
    assert code == 0 and out.strip() == f"allowed {peer.domain}"
    code, out, _ = await _cli(capsys, "admin", "domain-allow", "list")
    assert out.splitlines() == [peer.domain]
    code, out, _ = await _cli(capsys, "admin", "federation-mode")
    assert code == 0 and "open" in out
    code, out, _ = await _cli(capsys, "admin", "federation-mode", "allowlist")
    assert code == 0 and "allowlist" in out

    async def allowed() -> bool:
        return not (await a.instance.fed.rules.policy(peer.domain)).suspended

    await eventually(allowed, timeout=3)  # allowed, and no longer blocked
    third = {**follow, "id": f"{peer.base}/follows/3"}
    assert (await peer.post("mallory", f"{a.base_url}/inbox", third)).status_code == 202
    await eventually(followed)
    code, out, _ = await _cli(capsys, "admin", "domain-allow", "remove", peer.domain)
    assert code == 0
    code, _, err = await _cli(capsys, "admin", "domain-allow", "remove", peer.domain)
    assert code == 1 and "not on the allow list" in err
    assert await a.pool.fetchval("SELECT count(*) FROM follows") == 0
    code, out, _ = await _cli(capsys, "admin", "federation-mode", "open")
    assert code == 0 and "open" in out
