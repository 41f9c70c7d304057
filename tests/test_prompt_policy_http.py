"""The prompt policy over real HTTP: refused generations and remixes (422, nothing queued, the
refusal logged and listed to admins), a RemixRequest refused by the owner's instance for its
cameo's instructions (the reason reaches the requester's instance), public figures, and the
admin API and CLI for terms, refusals and public figures."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from federation import consent, remix
from federation import store as fstore
from server.cli import main as cli
from tests.conftest import eventually
from tests.test_remix_consent import _cameo, _remix, _state

NUDE = "a nude woman on the beach"
STAB = "stab the man in the neck"


async def _account(instance, user):
    response = await instance.api(user, "GET", "/api/v1/accounts/verify_credentials")
    return response.json()["id"]


async def _generate(instance, user, prompt, **extra):
    return await instance.api(user, "POST", "/api/v1/generations", json={"prompt": prompt, **extra})


def _refused(response, rule):
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["rule"] == rule and body["error"].startswith("prompt refused ("), body
    return body


def _cli(a, monkeypatch, capsys, tmp_path) -> Callable[..., Awaitable[tuple[int, str, str]]]:
    """`likeness` commands run on the instance's database, as from another process: the exit
    code and what they printed."""
    settings = a.instance.settings
    for name, value in {"DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
                        "LIKENESS_DOMAIN": settings.domain, "LIKENESS_HTTPS": "0",
                        "LIKENESS_DATA_DIR": str(tmp_path / "cli")}.items():
        monkeypatch.setenv(name, value)

    async def run(*argv: str) -> tuple[int, str, str]:
        code = await asyncio.to_thread(cli.main, list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


async def test_refused_generation_and_remix_write_nothing_but_the_log(make_instance):
    a = await make_instance("a", run_workers=False)
    for user in ("ada", "bob", "mod"):
        await a.signup(user)
    await a.set_role("ada", "admin")
    await a.set_role("mod", "moderator")
    cameo = await _cameo(a, "bob", instructions="Always wear a red jacket")

    body = _refused(await _generate(a, "bob", NUDE, cameo_ids=[cameo["id"]]), "sexual.term")
    # The requester is told the rule and the words that fired, to act on them.
    assert body["category"] == "sexual" and body["words"] == ["nude"]
    assert "sexual.term" in body["error"] and "'nude'" in body["error"]
    _refused(await _generate(a, "bob", "a n.u.d.e woman"), "sexual.term")
    _refused(await _remix(a, "bob", [cameo["uri"]], STAB), "violence.against_person")
    for table in ("generation_jobs", "remixes", "remix_cameos", "remix_requests"):
        assert await a.pool.fetchval(f"SELECT count(*) FROM {table}") == 0, table

    # Prompts of the wrong shape are bad requests, not policy refusals: not logged.
    for prompt, words in (("x" * 2001, "longer"), ("a\x1bb", "control"), ("", "non-empty")):
        response = await _generate(a, "bob", prompt)
        assert response.status_code == 422 and words in response.json()["error"]
        assert "rule" not in response.json()
    response = await _remix(a, "bob", [cameo["uri"]], "a\x1bb")
    assert response.status_code == 422 and "control" in response.json()["error"]

    # The admin sees each refusal with its rule and the prompt's digest, never the prompt.
    listed = await a.api("ada", "GET", "/api/v1/admin/prompt_refusals")
    assert listed.status_code == 200
    log = listed.json()
    assert [(r["source"], r["rule"]) for r in log] == [
        ("remix", "violence.against_person"), ("generation", "sexual.term"),
        ("generation", "sexual.term")]
    bob = await _account(a, "bob")
    assert all(r["account_id"] == bob for r in log)
    assert log[0]["prompt_digest"] == consent.prompt_digest(STAB)
    assert log[2]["prompt_digest"] == consent.prompt_digest(NUDE)
    assert log[2]["cameos"] == [cameo["uri"]] and log[2]["prompt_chars"] == len(NUDE)
    assert not any(NUDE in str(v) or STAB in str(v) for r in log for v in r.values())
    page = await a.api("ada", "GET", "/api/v1/admin/prompt_refusals",
                       params={"limit": 1, "max_id": log[0]["id"], "category": "sexual"})
    assert [r["id"] for r in page.json()] == [log[1]["id"]]
    assert [r["id"] for r in (await a.api("ada", "GET", "/api/v1/admin/prompt_refusals",
                                          params={"account_id": "999999"})).json()] == []
    for params in ({"limit": "abc"}, {"limit": "0"}, {"category": "nope"}, {"max_id": "-1"}):
        response = await a.api("ada", "GET", "/api/v1/admin/prompt_refusals", params=params)
        assert response.status_code == 400, params
    assert (await a.api("bob", "GET", "/api/v1/admin/prompt_refusals")).status_code == 403
    assert (await a.api("mod", "GET", "/api/v1/admin/prompt_refusals")).status_code == 403
    assert (await a.api(None, "GET", "/api/v1/admin/prompt_refusals")).status_code == 401

    # An allowed prompt goes on, and the owner's instructions reach the model with it.
    response = await _generate(a, "bob", "bob dancing in the rain", cameo_ids=[cameo["id"]])
    assert response.status_code == 201, response.text
    render = await a.pool.fetchval("SELECT render_prompt FROM generation_jobs")
    assert render == "bob dancing in the rain. Always wear a red jacket."


async def test_owner_instance_rejects_a_remix_that_breaks_the_cameo_instructions(make_instance):
    a = await make_instance("a")
    b = await make_instance("b")
    await a.signup("alice")
    await a.signup("ada")
    await a.set_role("ada", "admin")
    await b.signup("bob")
    cameo = await _cameo(a, "alice", permission="everyone", approval="automatic",
                         instructions="No political content. Always wear a red jacket.")
    rally = "alice giving a speech at an election rally"

    # B reads the instructions on the Cameo and refuses at once.
    body = _refused(await _remix(b, "bob", [cameo["uri"]], rally), "instructions.owner")
    assert "No political content" in body["error"]
    assert await b.pool.fetchval("SELECT count(*) FROM remixes") == 0

    # A server that does not check (an older Likeness, another implementation) sends it anyway:
    # A applies its own policy and the cameo's instructions, and answers Reject with the reason.
    bob = await fstore.local_actor(b.pool, "bob")
    cameos = await remix.resolve_cameos(b.instance.fed, [cameo["uri"]], bob)
    remix_id = await remix.request_remix(b.instance.fed, bob, rally, cameos)

    async def rejected():
        state = await _state(b, "bob", remix_id)
        return state if state["state"] == "rejected" else None

    state = await eventually(rejected)
    reason = state["cameos"][0]["reason"]
    assert reason.startswith("prompt refused (cameo instructions)") and "No political" in reason
    row = await a.pool.fetchrow("SELECT state, reason FROM remix_requests")
    assert (row["state"], row["reason"]) == ("rejected", reason)
    log = (await a.api("ada", "GET", "/api/v1/admin/prompt_refusals")).json()
    assert [(r["source"], r["rule"], r["account_uri"]) for r in log] == [
        ("remix_request", "instructions.owner", bob["uri"])]
    assert await a.pool.fetchval("SELECT count(*) FROM notifications") == 0

    # An allowed remix: the owner's instructions, read from the Cameo, reach B's model.
    allowed = (await _remix(b, "bob", [cameo["uri"]], "alice dancing in the rain")).json()

    async def authorized():
        return (await _state(b, "bob", allowed["id"]))["state"] in ("authorized", "published")

    await eventually(authorized)
    render = await b.pool.fetchval("SELECT render_prompt FROM generation_jobs WHERE remix_id = $1",
                                   int(allowed["id"]))
    assert render == ("alice dancing in the rain. No political content. Always wear a red jacket.")

    # A remote account flagged on A: A's users may not name them without their cameo.
    bob_on_a = await a.pool.fetchval("SELECT id FROM actors WHERE uri = $1", bob["uri"])
    flagged = await a.api("ada", "POST", f"/api/v1/admin/accounts/{bob_on_a}/public_figure")
    assert flagged.status_code == 200 and flagged.json()["public_figure"] is True
    _refused(await _generate(a, "alice", f"@{b.handle('bob')} eating soup"), "public_figure.flagged")
    # Who a remote account is can only be verified by its own instance's staff, never here.
    response = await a.api("ada", "POST", f"/api/v1/admin/accounts/{bob_on_a}/verified_identity",
                           json={"identity": "Taylor Swift"})
    assert response.status_code == 422 and "local" in response.json()["error"]


async def test_public_figures_only_with_their_own_cameo(make_instance):
    a = await make_instance("a", run_workers=False)
    for user in ("ada", "nadia", "bob"):
        await a.signup(user)
    await a.set_role("ada", "admin")
    await a.api("nadia", "PATCH", "/api/v1/accounts/update_credentials",
                data={"display_name": "Nadia Veil"})
    nadia = await _account(a, "nadia")
    path = f"/api/v1/admin/accounts/{nadia}/public_figure"
    assert (await a.api("bob", "POST", path)).status_code == 403
    for bad in ("abc", "999999"):
        assert (await a.api("ada", "POST", f"/api/v1/admin/accounts/{bad}/public_figure")
                ).status_code == 404
    response = await a.api("ada", "POST", path)
    assert response.status_code == 200 and response.json()["public_figure"] is True
    figures = (await a.api("ada", "GET", "/api/v1/admin/public_figures")).json()
    assert [f["id"] for f in figures] == [nadia]

    cameo = await _cameo(a, "nadia", permission="everyone", approval="manual")
    for prompt in ("Nadia Veil eating soup", "n4dia v3il eating soup", "@nadia eating soup",
                   f"{a.handle('nadia')} eating soup"):
        _refused(await _generate(a, "bob", prompt), "public_figure.flagged")
    # With her cameo in the request (her consent is asked for), and in her own generation.
    response = await _remix(a, "bob", [cameo["uri"]], "Nadia Veil eating soup")
    assert response.status_code == 201 and response.json()["state"] == "pending"
    response = await _generate(a, "nadia", "Nadia Veil eating soup", cameo_ids=[cameo["id"]])
    assert response.status_code == 201, response.text
    _refused(await _generate(a, "nadia", "Nadia Veil eating soup"), "public_figure.flagged")

    # Unflagged, she is anyone: the cache is dropped at once.
    response = await a.api("ada", "DELETE", path)
    assert response.status_code == 200 and response.json()["public_figure"] is False
    assert (await _generate(a, "bob", "Nadia Veil eating soup")).status_code == 201


async def test_prompt_terms_api_and_cli(make_instance, monkeypatch, capsys, tmp_path):
    a = await make_instance("a", run_workers=False)
    for user in ("ada", "bob", "mod"):
        await a.signup(user)
    await a.set_role("ada", "admin")
    await a.set_role("mod", "moderator")
    terms = "/api/v1/admin/prompt_terms"
    chainsaw = {"category": "violence", "term": "Chainsaw"}
    assert (await a.api("bob", "POST", terms, json=chainsaw)).status_code == 403
    assert (await a.api("mod", "POST", terms, json=chainsaw)).status_code == 403
    assert (await a.api(None, "POST", terms, json=chainsaw)).status_code == 401
    assert (await a.api("bob", "GET", terms)).status_code == 403
    for body, words in [({"term": "x"}, "category"), ({"category": "spam", "term": "x"}, "category"),
                        ({"category": "hate"}, "term"), ({"category": "hate", "term": "  "}, "term"),
                        ({"category": "hate", "term": "x" * 101}, "term"),
                        ({"category": "hate", "term": "a\tb"}, "term"),
                        ({"category": "hate", "term": "ab*"}, "3 letters"),
                        ({"category": "hate", "term": ["x"]}, "term")]:
        response = await a.api("ada", "POST", terms, json=body)
        assert response.status_code == 422 and words in response.json()["error"], body
    assert (await a.api("ada", "POST", terms, content=b"[1]",
                        headers={"content-type": "application/json"})).status_code == 400

    assert (await _generate(a, "bob", "a man juggling a ch4insaw")).status_code == 201
    created = await a.api("ada", "POST", terms, json=chainsaw)
    assert created.status_code == 201
    term = created.json()
    assert (term["category"], term["term"]) == ("violence", "chainsaw")
    assert (await a.api("ada", "POST", terms, json=chainsaw)).status_code == 409
    _refused(await _generate(a, "bob", "a man juggling a ch4insaw"), "admin.violence")
    listed = (await a.api("ada", "GET", terms, params={"category": "violence"})).json()
    assert [t["term"] for t in listed] == ["chainsaw"]
    assert (await a.api("ada", "GET", terms, params={"category": "hate"})).json() == []
    assert (await a.api("ada", "GET", terms, params={"category": "x"})).status_code == 400
    for bad in ("abc", "999999"):
        assert (await a.api("ada", "DELETE", f"{terms}/{bad}")).status_code == 404
    assert (await a.api("bob", "DELETE", f"{terms}/{term['id']}")).status_code == 403
    assert (await a.api("ada", "DELETE", f"{terms}/{term['id']}")).status_code == 200
    assert (await _generate(a, "bob", "a man juggling a chainsaw")).status_code == 201

    # The CLI works on the same database, from another process as far as the server knows: it
    # announces its changes through Redis, and the server reads the rules again.
    run = _cli(a, monkeypatch, capsys, tmp_path)

    assert (await run("admin", "prompt-terms", "add", "hate", "grimbleflax"))[0] == 0
    assert await run("admin", "prompt-terms", "list") == (0, "hate\tgrimbleflax\n", "")

    async def refused():
        response = await _generate(a, "bob", "a grimbleflax parade")
        return response if response.status_code == 422 else None

    _refused(await eventually(refused), "admin.hate")
    code, _, err = await run("admin", "prompt-terms", "add", "hate", "grimbleflax")
    assert code == 1 and "has term" in err
    code, _, err = await run("admin", "prompt-terms", "add", "hate", "ab*")
    assert code == 1 and "3 letters" in err
    with pytest.raises(SystemExit):
        await run("admin", "prompt-terms", "add", "nonsense", "x")
    assert (await run("admin", "prompt-terms", "remove", "hate", "grimbleflax"))[0] == 0
    code, _, err = await run("admin", "prompt-terms", "remove", "hate", "grimbleflax")
    assert code == 1 and "has no term" in err

    code, out, _ = await run("admin", "prompt-refusals", "--category", "hate")
    assert code == 0 and "admin.hate" in out and consent.prompt_digest("a grimbleflax parade") in out
    code, out, _ = await run("admin", "public-figure", "bob", "on")
    assert code == 0 and "now a public figure" in out
    assert await a.pool.fetchval("SELECT public_figure FROM actors WHERE username = 'bob'")
    _refused(await eventually(lambda: _refused_named(a)), "public_figure.flagged")
    code, _, err = await run("admin", "public-figure", "nobody@nowhere.example", "on")
    assert code == 1 and "no account" in err


async def _refused_named(a):
    response = await _generate(a, "ada", "bob eating soup")
    return response if response.status_code == 422 else None


async def test_only_a_verified_identity_lets_a_cameo_carry_a_public_figure(make_instance, monkeypatch,
                                                                            capsys, tmp_path):
    a = await make_instance("a", run_workers=False)
    for user in ("ada", "tay", "bob"):
        await a.signup(user)
    await a.set_role("ada", "admin")
    # A refusal tells the requester the words that fired, and nothing stores them: the refusal log
    # keeps the list's term and the prompt's digest.
    body = _refused(await _generate(a, "bob", "a n4ked man on a bench"), "sexual.term")
    assert body["words"] == ["n4ked"] and "'n4ked'" in body["error"]
    rows = await a.pool.fetch("SELECT row_to_json(r)::text AS row FROM prompt_refusals r")
    assert rows and not any("n4ked" in r["row"] for r in rows)
    # Renaming yourself after a celebrity gets you nothing.
    await a.api("tay", "PATCH", "/api/v1/accounts/update_credentials", data={"display_name": "Taylor Swift"})
    cameo = await _cameo(a, "tay")
    singing = "Taylor Swift singing in the rain"
    _refused(await _generate(a, "tay", singing, cameo_ids=[cameo["id"]]), "public_figure.known")

    tay = await _account(a, "tay")
    path = f"/api/v1/admin/accounts/{tay}/verified_identity"
    swift = {"identity": "Taylor Swift"}
    assert (await a.api("bob", "POST", path, json=swift)).status_code == 403
    assert (await a.api(None, "POST", path, json=swift)).status_code == 401
    for bad in ("abc", "999999"):
        assert (await a.api("ada", "POST", f"/api/v1/admin/accounts/{bad}/verified_identity",
                            json=swift)).status_code == 404
    for body in ({}, {"identity": ""}, {"identity": "x" * 101}, {"identity": ["Taylor Swift"]},
                 {"identity": "a\tb"}):
        response = await a.api("ada", "POST", path, json=body)
        assert response.status_code == 422 and "identity" in response.json()["error"], body
    assert await a.pool.fetchval("SELECT verified_identity FROM actors WHERE id = $1", int(tay)) is None

    response = await a.api("ada", "POST", path, json=swift)
    assert response.status_code == 200 and response.json()["verified_identity"] == "Taylor Swift"
    assert (await _generate(a, "tay", singing, cameo_ids=[cameo["id"]])).status_code == 201
    # Her name still needs her cameo in the request.
    _refused(await _generate(a, "tay", singing), "public_figure.known")
    _refused(await _generate(a, "bob", singing), "public_figure.known")
    response = await a.api("ada", "DELETE", path)
    assert response.status_code == 200 and response.json()["verified_identity"] is None
    _refused(await _generate(a, "tay", singing, cameo_ids=[cameo["id"]]), "public_figure.known")

    run = _cli(a, monkeypatch, capsys, tmp_path)

    code, out, _ = await run("admin", "verified-identity", "tay", "--set", "Taylor Swift")
    assert code == 0 and "verified as 'Taylor Swift'" in out
    assert await a.pool.fetchval("SELECT verified_identity FROM actors WHERE id = $1", int(tay)) \
        == "Taylor Swift"

    async def allowed():
        response = await _generate(a, "tay", singing, cameo_ids=[cameo["id"]])
        return response if response.status_code == 201 else None

    await eventually(allowed)
    code, _, err = await run("admin", "verified-identity", "tay", "--set", "x")
    assert code == 1 and "identity" in err
    code, _, err = await run("admin", "verified-identity", "nobody", "--set", "Taylor Swift")
    assert code == 1 and "no local account" in err
    with pytest.raises(SystemExit):
        await run("admin", "verified-identity", "tay")
    assert (await run("admin", "verified-identity", "tay", "--clear"))[0] == 0
    assert await a.pool.fetchval("SELECT verified_identity FROM actors WHERE id = $1", int(tay)) is None
