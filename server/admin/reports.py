"""The moderators' queue and their actions, in the shapes of Mastodon's admin API: reports
(`/api/v1/admin/reports`), account actions (`/api/v1/admin/accounts/:id/action` and the undoing
endpoints), and Likeness's post and cameo actions. Moderators and admins alike (`current_staff`).
"""

from __future__ import annotations

from typing import Any

import asyncpg
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation import store as fstore
from federation.context import Federation
from federation.objects import iso
from policy.moderation import MAX_TEXT, REPORT_MOVES, UNDO, ModerationError, check_rank, check_text

from .. import moderation_store as mstore
from .. import store
from ..api import entities
from ..api.reports import reports_json
from ..api.statuses import render_statuses
from ..http import bool_param, current_staff, error, fed, int_param, parse_id, pool, read_params
from . import moderation

Record = asyncpg.Record

# How many audit entries the view of one account shows.
ACCOUNT_LOG = 100


async def admin_account(fed: Federation, conn: asyncpg.Connection, actor: Record) -> dict[str, Any]:
    """Mastodon's Admin::Account: the account with its moderation state (and login, if local)."""
    user = await store.user_by_id(conn, actor["user_id"]) if actor["user_id"] else None
    return {
        "id": str(actor["id"]), "username": actor["username"],
        "domain": None if actor["local"] else actor["domain"],
        "created_at": iso(actor["created_at"]), "email": user["email"] if user else None,
        "ip": None, "ips": [], "locale": None, "invite_request": None,
        "role": {"name": user["role"]} if user else None,
        "confirmed": True, "approved": True, "disabled": bool(user and user["disabled"]),
        "silenced": actor["silenced"], "suspended": actor["suspended"], "sensitized": actor["sensitized"],
        "account": entities.account(fed, actor),
    }


def action_json(row: Record) -> dict[str, Any]:
    """One audit entry: who (None for the command line), what, on what, under which report."""
    return {
        "id": str(row["id"]), "action": row["action"], "target_type": row["target_kind"],
        "account_id": str(row["account_id"]) if row["account_id"] else None,
        "status_id": str(row["post_id"]) if row["post_id"] else None,
        "cameo_id": str(row["cameo_id"]) if row["cameo_id"] else None,
        "report_id": str(row["report_id"]) if row["report_id"] else None,
        "moderator": row["moderator"],
        "text": row["text"], "created_at": iso(row["created_at"]),
        "old_role": row["old_role"], "new_role": row["new_role"],
    }


async def account_detail(fed: Federation, conn: asyncpg.Connection, actor: Record) -> dict[str, Any]:
    """One account for staff: Admin::Account and, newest first, the audit entries on it (the
    actions, the role changes and the moves of reports on it), which no report view shows whole."""
    entries = await mstore.account_actions(conn, actor["id"], ACCOUNT_LOG)
    return {**await admin_account(fed, conn, actor), "actions": [action_json(e) for e in entries]}


async def report_json(request: Request, report: Record) -> dict[str, Any]:
    """Mastodon's Admin::Report, plus the reported cameos, the held generation of a system
    report, the reporting domain of a `Flag`, and the report's audit log (`actions`)."""
    async with pool(request).acquire() as conn:
        base = (await reports_json(fed(request), conn, [report["id"]]))[report["id"]]
        actors = await store.actors_by_ids(conn, [a for a in (report["reporter_id"], report["target_id"])
                                                  if a is not None])
        post_ids = (await mstore.report_posts(conn, [report["id"]])).get(report["id"], [])
        posts = await store.posts_by_ids(conn, post_ids)
        cameos = (await mstore.report_cameos(conn, [report["id"]])).get(report["id"], [])
        actions = (await mstore.report_actions(conn, [report["id"]])).get(report["id"], [])
        reporter = actors.get(report["reporter_id"])
        staff = {u: await fstore.actor_of_user(conn, u)
                 for u in (report["assigned_to"], report["resolved_by"]) if u is not None}
        body = {
            **base,
            "updated_at": iso(report["updated_at"]),
            "account": await admin_account(fed(request), conn, reporter) if reporter else None,
            "target_account": await admin_account(fed(request), conn, actors[report["target_id"]]),
            "assigned_account": await admin_account(fed(request), conn, staff[report["assigned_to"]])
            if staff.get(report["assigned_to"]) else None,
            "action_taken_by_account": await admin_account(fed(request), conn, staff[report["resolved_by"]])
            if staff.get(report["resolved_by"]) else None,
            "rules": [],
            "cameos": [{"id": str(c["id"]), "uri": c["uri"], "name": c["name"], "paused": c["paused"],
                        "deleted": c["deleted_at"] is not None} for c in cameos],
            "generation_id": str(report["generation_id"]) if report["generation_id"] else None,
            "origin_domain": report["origin_domain"],
            "actions": [action_json(a) for a in actions],
        }
    # Staff see reported posts whatever moderation did to them since.
    body["statuses"] = await render_statuses(request, [posts[p] for p in post_ids if p in posts], None,
                                             staff_review=True)
    return body


async def _report(request: Request) -> Record:
    report_id = parse_id(request.path_params["report_id"])
    report = await mstore.report(pool(request), report_id) if report_id is not None else None
    if report is None:
        raise HTTPException(404, "no such report")
    return report


async def list_reports(request: Request) -> Response:
    """Open reports (`resolved=true`: resolved ones), newest first, optionally on one account."""
    await current_staff(request)
    params = dict(request.query_params)
    rows = await mstore.reports(pool(request), resolved=bool_param(params, "resolved"),
                                account_id=int_param(params, "account_id", low=0),
                                limit=int_param(params, "limit", default=20, low=1, high=80),
                                max_id=int_param(params, "max_id", low=0))
    return JSONResponse([await report_json(request, r) for r in rows])


async def get_report(request: Request) -> Response:
    await current_staff(request)
    return JSONResponse(await report_json(request, await _report(request)))


async def move_report(request: Request) -> Response:
    """assign_to_self, unassign, resolve or reopen (policy.moderation.REPORT_MOVES)."""
    staff = await current_staff(request)
    move = request.path_params["move"]
    if not any(move in moves for moves in REPORT_MOVES.values()):
        return error(404, "unknown report action")
    report = await _report(request)
    try:
        report = await moderation.move_report(pool(request), moderator_id=staff["id"],
                                              report_id=report["id"], move=move)
    except ModerationError as exc:
        return error(409, str(exc))
    return JSONResponse(await report_json(request, report))


async def _action_params(request: Request) -> tuple[dict[str, Any], int | None, str]:
    params = await read_params(request)
    try:
        text = check_text(params.get("text"), "text", MAX_TEXT)
    except ModerationError as exc:
        raise HTTPException(422, str(exc)) from None
    report_id = params.get("report_id")
    if report_id in (None, ""):
        return params, None, text
    found = parse_id(report_id)
    if found is None:
        raise HTTPException(422, "report_id must be an id")
    return params, found, text


async def account_or_404(request: Request) -> Record:
    """The account named by the path's `account_id` (not this server's own actor), else 404."""
    account_id = parse_id(request.path_params["account_id"])
    actor = await fstore.actor_by_id(pool(request), account_id) if account_id is not None else None
    if actor is None or actor["type"] == "Application" and actor["local"]:
        raise HTTPException(404, "no such account")
    return actor


async def _account(request: Request, staff: Record) -> Record:
    actor = await account_or_404(request)
    target_user = await store.user_by_id(pool(request), actor["user_id"]) if actor["user_id"] else None
    try:
        check_rank(staff["role"], target_user["role"] if target_user else None,
                   itself=actor["id"] == staff["actor_id"])
    except ModerationError as exc:
        raise HTTPException(403, str(exc)) from None
    return actor


async def account_action(request: Request) -> Response:
    """Mastodon's `POST /api/v1/admin/accounts/:id/action` (`type`, `report_id`, `text`), and
    with the action in the path, its unsuspend, unsilence, unsensitive and enable."""
    staff = await current_staff(request)
    target = await _account(request, staff)
    params, report_id, text = await _action_params(request)
    action = request.path_params.get("undo") or str(params.get("type") or "")
    if "undo" in request.path_params and action not in UNDO:
        return error(404, "unknown account action")
    try:
        await moderation.act_on_account(fed(request), moderator_id=staff["id"], target=target,
                                        action=action, report_id=report_id, text=text)
    except ModerationError as exc:
        return error(422, str(exc))
    async with pool(request).acquire() as conn:
        target = await fstore.actor_by_id(conn, target["id"])
        return JSONResponse(await account_detail(fed(request), conn, target))


async def get_account(request: Request) -> Response:
    await current_staff(request)
    actor = await account_or_404(request)
    async with pool(request).acquire() as conn:
        return JSONResponse(await account_detail(fed(request), conn, actor))


async def status_action(request: Request) -> Response:
    """`type` = hide, unhide, delete or sensitive, on one post; returns the audit entry."""
    staff = await current_staff(request)
    status_id = parse_id(request.path_params["status_id"])
    post = await fstore.post_by_id(pool(request), status_id) if status_id is not None else None
    if post is None or post["deleted_at"] is not None:
        return error(404, "no such post")
    params, report_id, text = await _action_params(request)
    try:
        action_id = await moderation.act_on_status(fed(request), moderator_id=staff["id"], post=post,
                                                   action=str(params.get("type") or ""),
                                                   report_id=report_id, text=text)
    except ModerationError as exc:
        return error(422, str(exc))
    return JSONResponse(action_json((await mstore.actions_by_ids(pool(request), [action_id]))[action_id]))


async def cameo_action(request: Request) -> Response:
    """`type` = pause or delete, on one cameo; returns the audit entry."""
    staff = await current_staff(request)
    cameo_id = parse_id(request.path_params["cameo_id"])
    cameo = await fstore.cameo_by_id(pool(request), cameo_id) if cameo_id is not None else None
    if cameo is None or cameo["deleted_at"] is not None:
        return error(404, "no such cameo")
    params, report_id, text = await _action_params(request)
    try:
        action_id = await moderation.act_on_cameo(
            request.app.state.instance, moderator_id=staff["id"], cameo=cameo,
            action=str(params.get("type") or ""), report_id=report_id, text=text)
    except ModerationError as exc:
        return error(422, str(exc))
    return JSONResponse(action_json((await mstore.actions_by_ids(pool(request), [action_id]))[action_id]))


routes = [
    Route("/api/v1/admin/reports", list_reports),
    Route("/api/v1/admin/reports/{report_id}", get_report),
    Route("/api/v1/admin/reports/{report_id}/{move}", move_report, methods=["POST"]),
    Route("/api/v1/admin/accounts/{account_id}", get_account),
    Route("/api/v1/admin/accounts/{account_id}/action", account_action, methods=["POST"]),
    Route("/api/v1/admin/accounts/{account_id}/{undo}", account_action, methods=["POST"]),
    Route("/api/v1/admin/statuses/{status_id}/action", status_action, methods=["POST"]),
    Route("/api/v1/admin/cameos/{cameo_id}/action", cameo_action, methods=["POST"]),
]
