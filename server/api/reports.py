"""Reports by people: `POST /api/v1/reports` in Mastodon's shape, plus Likeness's `cameo_id`, and
the JSON of reports and moderation warnings that notifications carry.

A report names an account, and may name its posts (videos or comments) or one of its cameos;
with only posts or a cameo, the account is theirs. Everything is checked before anything is
written; `federation.outbox.report` opens (or merges) it and forwards it as a `Flag` when asked.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation import outbox
from federation import store as fstore
from federation.cameos import hidden_from
from federation.context import Federation
from federation.objects import iso
from policy.moderation import MAX_POSTS, ModerationError, check_report, warning

from .. import moderation_store as mstore
from .. import store
from ..http import bool_param, current_user, error, fed, parse_id, pool, read_params
from . import entities

Record = asyncpg.Record


def _id(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    found = parse_id(value)
    if found is None:
        raise HTTPException(422, f"{name} must be an id")
    return found


def _ids(params: dict[str, Any], name: str) -> list[int]:
    raw = params.get(name) or []
    if not isinstance(raw, list):
        raw = [raw]
    if len(raw) > MAX_POSTS:
        raise HTTPException(422, f"at most {MAX_POSTS} {name}")
    return [i for i in dict.fromkeys(_id(v, name) for v in raw) if i is not None]


async def create_report(request: Request) -> Response:
    user = await current_user(request)
    params = await read_params(request)
    account_id = _id(params.get("account_id"), "account_id")
    cameo_id = _id(params.get("cameo_id"), "cameo_id")
    posts = []
    for post_id in _ids(params, "status_ids"):
        post = await store.visible_post(pool(request), post_id, user["actor_id"])
        if post is None:
            return error(404, f"there is no post {post_id}")
        posts.append(post)
    cameo = await fstore.cameo_by_id(pool(request), cameo_id) if cameo_id is not None else None
    if cameo_id is not None and (cameo is None or cameo["deleted_at"] is not None
                                 or hidden_from(cameo, user["actor_id"])):
        return error(404, f"there is no cameo {cameo_id}")
    if account_id is None:
        owners = {p["actor_id"] for p in posts} | ({cameo["actor_id"]} if cameo else set())
        if not owners:
            return error(422, "nothing to report: give account_id, status_ids or cameo_id")
        if len(owners) > 1:
            return error(422, "the posts and the cameo of one report must be one account's")
        account_id = owners.pop()
    target = await fstore.actor_by_id(pool(request), account_id)
    if target is None or target["type"] == "Application" and target["local"]:
        return error(404, f"there is no account {account_id}")
    for post in posts:
        if post["actor_id"] != target["id"]:
            return error(422, f"post {post['id']} is not by the reported account")
    if cameo is not None and cameo["actor_id"] != target["id"]:
        return error(422, f"cameo {cameo['id']} is not the reported account's")
    try:
        category, comment = check_report(reporter_id=user["actor_id"], target_id=target["id"],
                                         category=params.get("category"), comment=params.get("comment"),
                                         post_count=len(posts))
    except ModerationError as exc:
        return error(422, str(exc))
    report_id, _ = await outbox.report(
        fed(request), reporter_id=user["actor_id"], target=target, posts=posts,
        cameo_ids=[cameo["id"]] if cameo else [], category=category, comment=comment,
        forward=bool_param(params, "forward"))
    async with pool(request).acquire() as conn:
        rendered = await reports_json(fed(request), conn, [report_id])
    return JSONResponse(rendered[report_id])


async def reports_json(fed: Federation, conn: asyncpg.Connection, report_ids: list[int]
                       ) -> dict[int, dict[str, Any]]:
    """Mastodon's Report entities as the reporter sees them (and `admin.report` carries), plus
    `cameo_ids`; by report id."""
    reports = await mstore.reports_by_ids(conn, report_ids)
    posts = await mstore.report_posts(conn, report_ids)
    cameos = await mstore.report_cameos(conn, report_ids)
    targets = await store.actors_by_ids(conn, [r["target_id"] for r in reports.values()])
    return {report_id: {
        "id": str(report_id),
        "action_taken": report["resolved_at"] is not None,
        "action_taken_at": iso(report["resolved_at"]) if report["resolved_at"] else None,
        "category": report["category"],
        "comment": report["comment"],
        "forwarded": report["forwarded"],
        "created_at": iso(report["created_at"]),
        "status_ids": [str(p) for p in posts.get(report_id, [])] or None,
        "rule_ids": None,
        "cameo_ids": [str(c["id"]) for c in cameos.get(report_id, [])] or None,
        "target_account": entities.account(fed, targets[report["target_id"]]),
    } for report_id, report in reports.items()}


async def warnings_json(fed: Federation, conn: asyncpg.Connection, action_ids: list[int]
                        ) -> dict[int, dict[str, Any]]:
    """Mastodon's AccountWarning entities for audit entries, by entry id: what was done to the
    person's account, post or cameo, with the moderator's text but not their name."""
    actions = await mstore.actions_by_ids(conn, action_ids)
    targets = await store.actors_by_ids(conn, [a["account_id"] for a in actions.values() if a["account_id"]])
    return {action_id: {
        "id": str(action_id),
        "action": warning(action["target_kind"], action["action"]),
        "text": action["text"],
        "status_ids": [str(action["post_id"])] if action["post_id"] else None,
        "cameo_ids": [str(action["cameo_id"])] if action["cameo_id"] else None,
        "target_account": entities.account(fed, targets[action["account_id"]])
        if action["account_id"] in targets else None,
        "appeal": None,
        "created_at": iso(action["created_at"]),
    } for action_id, action in actions.items()}


async def notification_fields(fed: Federation, conn: asyncpg.Connection, rows: list[Record]
                              ) -> dict[int, dict[str, Any]]:
    """What moderation notifications add to Mastodon's Notification entity, by notification id:
    `report` (admin.report, report_resolved) or `moderation_warning`."""
    if not any(r["report_id"] or r["moderation_action_id"] for r in rows):
        return {}
    reports = await reports_json(fed, conn, [r["report_id"] for r in rows if r["report_id"]])
    warnings = await warnings_json(fed, conn, [r["moderation_action_id"] for r in rows
                                               if r["moderation_action_id"]])
    fields: dict[int, dict[str, Any]] = {}
    for row in rows:
        if row["report_id"] in reports:
            fields[row["id"]] = {"report": reports[row["report_id"]]}
        elif row["moderation_action_id"] in warnings:
            fields[row["id"]] = {"moderation_warning": warnings[row["moderation_action_id"]]}
    return fields


routes = [
    Route("/api/v1/reports", create_report, methods=["POST"]),
]
