"""Moving an account, as Mastodon's settings pages do it (Mastodon has no REST API for these, so
these routes are Likeness's): the aliases of the account one moves here from ("Moving from a
different account"), and the move of this account to another ("Moving to a different account"),
confirmed with the password and at most once in 30 days.

    GET    /api/v1/account/aliases             the aliases: [{acct, uri, account}]
    POST   /api/v1/account/aliases   {acct}    add one (a handle or an actor's address)
    DELETE /api/v1/account/aliases   {acct}    take one away (a handle or an address)
    GET    /api/v1/account/migration           {moved_to, moved_to_uri, moved_at, cooldown_until,
                                                cooldown_days}
    POST   /api/v1/account/migration {acct, password}   move this account to `acct`
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation import actors, moves
from federation import store as fstore
from federation.objects import iso

from .. import accounts
from ..http import current_user, error, fed, pool, read_params
from . import entities


async def _me(request: Request) -> tuple[asyncpg.Record, asyncpg.Record]:
    user = await current_user(request)
    assert user is not None
    return user, await fstore.actor_by_id(pool(request), user["actor_id"])


async def _answer(request: Request, change: Callable[[asyncpg.Record, asyncpg.Record, dict[str, Any]],
                                                     Awaitable[Any]]) -> Response:
    """Run `change` for the signed-in account (user, actor, params): its JSON, or the refusal."""
    user, me = await _me(request)
    params = await read_params(request)
    try:
        return JSONResponse(await change(user, me, params))
    except moves.MoveError as exc:
        return error(exc.status, str(exc))


async def _alias_json(request: Request, uri: str) -> dict[str, Any]:
    """One alias: its address, and its handle and Account where the account is known here."""
    known = await fstore.actor_by_uri(pool(request), uri)
    return {"acct": actors.handle_of(known) if known else None, "uri": uri,
            "account": entities.account(fed(request), known) if known else None}


async def _aliases_json(request: Request, actor: asyncpg.Record) -> list[dict[str, Any]]:
    return [await _alias_json(request, uri) for uri in actor["also_known_as"]]


async def list_aliases(request: Request) -> Response:
    _, me = await _me(request)
    return JSONResponse(await _aliases_json(request, me))


async def add_alias(request: Request) -> Response:
    async def add(user: asyncpg.Record, me: asyncpg.Record, params: dict[str, Any]) -> Any:
        _, target = await moves.add_alias(fed(request), me, params.get("acct"))
        return await _alias_json(request, target["uri"])

    return await _answer(request, add)


async def remove_alias(request: Request) -> Response:
    async def remove(user: asyncpg.Record, me: asyncpg.Record, params: dict[str, Any]) -> Any:
        return await _aliases_json(request, await moves.remove_alias(fed(request), me, params.get("acct")))

    return await _answer(request, remove)


async def _migration_json(request: Request, actor: asyncpg.Record) -> dict[str, Any]:
    target = await fstore.actor_by_uri(pool(request), actor["moved_to_uri"]) \
        if actor["moved_to_uri"] else None
    until = await moves.cooldown_until(fed(request), actor)
    return {"moved_to": entities.account(fed(request), target) if target else None,
            "moved_to_uri": actor["moved_to_uri"],
            "moved_at": iso(actor["moved_at"]) if actor["moved_at"] else None,
            "cooldown_until": iso(until) if until else None,
            "cooldown_days": moves.COOLDOWN.days}


async def migration(request: Request) -> Response:
    _, me = await _me(request)
    return JSONResponse(await _migration_json(request, me))


async def move_account(request: Request) -> Response:
    """Move this account to `acct`, which must list it among its aliases; the password confirms."""
    async def move(user: asyncpg.Record, me: asyncpg.Record, params: dict[str, Any]) -> Any:
        password = params.get("password")
        if not isinstance(password, str) or not password:
            raise moves.MoveError("send your password to confirm")
        if not await accounts.check_password(user["password_hash"], password):
            raise moves.MoveError("wrong password", 403)
        await moves.move_out(fed(request), me, params.get("acct"))
        return await _migration_json(request, await fstore.actor_by_id(pool(request), me["id"]))

    return await _answer(request, move)


routes = [
    Route("/api/v1/account/aliases", list_aliases),
    Route("/api/v1/account/aliases", add_alias, methods=["POST"]),
    Route("/api/v1/account/aliases", remove_alias, methods=["DELETE"]),
    Route("/api/v1/account/migration", migration),
    Route("/api/v1/account/migration", move_account, methods=["POST"]),
]
