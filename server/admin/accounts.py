"""The staff's list of accounts, in the shape of Mastodon's admin API (`GET /api/v1/admin/accounts`
and its v2), and setting a local account's role (admins only; what `likeness admin set-role`
does; both write it to the audit log). The actions on an account are in server/admin/reports.py.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import store
from ..accounts import ROLES
from ..http import bool_param, current_staff, error, fed, int_param, paged, pool, read_params
from . import moderation
from .reports import account_detail, account_or_404, admin_account

# v2's `origin`, `status` and `permissions`, as v1's flags.
ORIGINS = ("local", "remote")
STATUSES = ("active", "suspended", "silenced", "disabled", "sensitized")


def _text(params: dict[str, Any], name: str) -> str | None:
    value = (params.get(name) or "").strip()
    return value or None


async def _list(request: Request, filters: set[str]) -> Response:
    params = dict(request.query_params)
    if {"local", "remote"} <= filters:
        filters -= {"local", "remote"}  # both: everyone
    rows = await store.admin_accounts(
        pool(request), filters=frozenset(filters), username=_text(params, "username"),
        domain=_text(params, "by_domain"),
        limit=int_param(params, "limit", default=100, low=1, high=200),
        max_id=int_param(params, "max_id", low=0),
        min_id=int_param(params, "min_id", low=0) or int_param(params, "since_id", low=0))
    async with pool(request).acquire() as conn:
        return paged(request, [await admin_account(fed(request), conn, row) for row in rows])


async def list_accounts(request: Request) -> Response:
    """Mastodon's v1 filters: `local`, `remote`, `active`, `suspended`, `silenced`, `disabled`,
    `sensitized`, `staff` (each true or false), `username` (a prefix), `by_domain`."""
    await current_staff(request)
    params = dict(request.query_params)
    return await _list(request, {name for name in store.ACCOUNT_FILTERS if bool_param(params, name)})


async def list_accounts_v2(request: Request) -> Response:
    """Mastodon's v2 filters: `origin` local|remote, `status` active|suspended|silenced|disabled
    (and `sensitized`), `permissions=staff`, `username`, `by_domain`."""
    await current_staff(request)
    params = dict(request.query_params)
    filters = set()
    for name, allowed in (("origin", ORIGINS), ("status", STATUSES), ("permissions", ("staff",))):
        value = _text(params, name)
        if value is None:
            continue
        if value not in allowed:
            return error(400, f"{name} must be one of {', '.join(allowed)}")
        filters.add(value)
    return await _list(request, filters)


async def set_role(request: Request) -> Response:
    """`{role: admin|moderator|user}` for a local account. An admin cannot change their own role,
    so that a server always keeps the admin who is using it."""
    admin = await current_staff(request, admin_only=True)
    actor = await account_or_404(request)
    if not actor["local"] or actor["user_id"] is None:
        return error(422, "only an account of this server has a role")
    if actor["id"] == admin["actor_id"]:
        return error(422, "you cannot change your own role")
    role = (await read_params(request)).get("role")
    if role not in ROLES:
        return error(422, f"role must be one of {', '.join(ROLES)}")
    user = await store.user_by_id(pool(request), actor["user_id"])
    await moderation.change_role(pool(request), moderator_id=admin["id"], username=user["username"],
                                 role=role)
    async with pool(request).acquire() as conn:
        return JSONResponse(await account_detail(fed(request), conn, actor))


# Before admin_reports.routes, whose /api/v1/admin/accounts/{id}/{undo} would take /role.
routes = [
    Route("/api/v1/admin/accounts", list_accounts),
    Route("/api/v2/admin/accounts", list_accounts_v2),
    Route("/api/v1/admin/accounts/{account_id}/role", set_role, methods=["POST"]),
]
