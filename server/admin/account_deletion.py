"""Deleting a local account: by its owner (who confirms with their password), or by an admin once
a moderator has suspended it (as Mastodon's admin API asks).

A person who leaves takes their likeness with them, everywhere a copy went. So every cameo is
withdrawn first, as deleting it one by one would (each consent granted with it is revoked with
its signed Delete to every holder, each waiting request refused). Then, in one transaction,
everything the account made or held here is erased (server.store.erase_account) and the actor's
`Delete` is queued to its followers' servers and every server it sent anything to. Files go last.

That `Delete` is left to the delivery sweeper, which sends it a minute or two later, not at once:
a server that drops the actor on it could no longer verify the revocations, which must land
first. The actor row stays, with its keys (the Delete is signed as it goes out), and answers 410;
its username is never given to anyone else, as Mastodon keeps it.
"""

from __future__ import annotations

import asyncpg
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation import outbox
from federation import store as fstore

from .. import accounts, store
from ..api.cameos import forget_deleted_cameo
from ..http import current_staff, current_user, error, fed, pool, read_params
from ..media import file_keys
from ..runtime import Instance
from .reports import account_detail, account_or_404


async def delete_account(instance: Instance, user_id: int) -> None:
    """Delete the local account of `user_id` (the caller has checked who may)."""
    assert instance.pool is not None and instance.media is not None
    pool, media = instance.pool, instance.media
    actor = await fstore.actor_of_user(pool, user_id)
    for cameo in await fstore.cameos_of(pool, actor["id"]):
        async with pool.acquire() as conn, conn.transaction():
            keys = await fstore.delete_cameo(conn, cameo["id"])
        await forget_deleted_cameo(instance, cameo, keys)
    async with pool.acquire() as conn, conn.transaction():
        await outbox.queue_actor_delete(conn, actor)
        erased = await store.erase_account(conn, user_id, actor["id"])
    for key in file_keys(erased):
        await media.delete(key)


async def delete_own_account(request: Request) -> Response:
    """`POST /api/v1/account/delete` `{password}`: the signed-in person deletes their account.
    Only from Likeness's own app (a third-party app's token cannot, whatever its scopes), with
    the password; an admin hands the role on first, so that a server keeps its admins."""
    user = await current_user(request)
    assert user is not None
    if user["app_id"] is not None:
        return error(403, "an account can only be deleted from this server's own app")
    password = (await read_params(request)).get("password")
    if not isinstance(password, str) or not password:
        return error(422, "send your password to confirm")
    # The signed-in user's record is the users row (server.store.user_by_token).
    if not await accounts.check_password(user["password_hash"], password):
        return error(403, "wrong password")
    if user["role"] == "admin":
        return error(422, "an admin's account cannot be deleted: give the admin role to someone else first")
    await delete_account(request.app.state.instance, user["id"])
    return JSONResponse({})


def suspended_deletion_refusal(actor: asyncpg.Record) -> tuple[int, str] | None:
    """Why staff may not delete this account (an HTTP status and the reason), or None: only a
    local account a moderator suspended first, so that the audit log says why it went."""
    if not actor["local"] or actor["user_id"] is None:
        return 404, "no such account here"
    if actor["deleted_at"] is not None:
        return 409, "this account was deleted already"
    if not actor["suspended"]:
        return 422, "suspend the account first: only a suspended account can be deleted"
    return None


async def delete_suspended_account(request: Request) -> Response:
    """Mastodon's `DELETE /api/v1/admin/accounts/:id`, admins only: a local account a moderator
    suspended is deleted for good. Returns the Admin::Account as it is left."""
    await current_staff(request, admin_only=True)
    actor = await account_or_404(request)
    refusal = suspended_deletion_refusal(actor)
    if refusal is not None:
        return error(*refusal)
    await delete_account(request.app.state.instance, actor["user_id"])
    async with pool(request).acquire() as conn:
        deleted = await fstore.actor_by_id(conn, actor["id"])
        return JSONResponse(await account_detail(fed(request), conn, deleted))


routes = [
    Route("/api/v1/account/delete", delete_own_account, methods=["POST"]),
    Route("/api/v1/admin/accounts/{account_id}", delete_suspended_account, methods=["DELETE"]),
]
