"""Mastodon's Web Push API: the push subscription of the signed-in access token (one per token,
gone with it), which notifications it wants, and the instance's VAPID key to check pushes by.

Sending the pushes is federation/push.py's work, on the worker."""

from __future__ import annotations

from typing import Any

import asyncpg
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation import push
from federation import store as fstore

from ..http import bearer_token, current_user, error, fed, parsed_url, pool, read_params

MAX_ENDPOINT_CHARS = 2048
TRUE_WORDS, FALSE_WORDS = ("1", "true", "on", "yes"), ("0", "false", "off", "no", "")


class SubscriptionError(ValueError):
    """Input that makes no subscription; the message says what was wrong (a 422)."""


def nested(params: dict[str, Any]) -> dict[str, Any]:
    """Form keys such as `subscription[keys][auth]` as the nested objects a JSON body sends."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        path = key.replace("]", "").split("[")
        here = out
        for part in path[:-1]:
            if not isinstance(here.get(part), dict):
                here[part] = {}
            here = here[part]
        if isinstance(value, dict) and isinstance(here.get(path[-1]), dict):
            here[path[-1]].update(value)
        else:
            here[path[-1]] = value
    return out


def server_key(request: Request) -> str:
    key = fed(request).vapid_key
    return push.vapid_public_key(key) if key is not None else ""


def subscription_json(request: Request, row: asyncpg.Record) -> dict[str, Any]:
    """Mastodon's WebPushSubscription entity."""
    return {"id": str(row["id"]), "endpoint": row["endpoint"], "standard": row["standard"],
            "alerts": {alert: bool(row["alerts"].get(alert)) for alert in push.ALERTS},
            "policy": row["policy"], "server_key": server_key(request)}


def flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str | int) and str(value).lower() in TRUE_WORDS + FALSE_WORDS:
        return str(value).lower() in TRUE_WORDS
    raise SubscriptionError(f"{name} must be true or false")


def data_fields(params: dict[str, Any]) -> tuple[dict[str, bool], str]:
    """The alerts and policy of `data` (Mastodon's), all alerts off unless asked for; a
    top-level `policy` counts too, as Mastodon.py sends it there."""
    data = params.get("data") or {}
    if not isinstance(data, dict):
        raise SubscriptionError("data must be an object of alerts and a policy")
    alerts = data.get("alerts") or {}
    if not isinstance(alerts, dict):
        raise SubscriptionError("data[alerts] must be an object of notification types")
    chosen = {alert: flag(f"data[alerts][{alert}]", alerts[alert])
              for alert in push.ALERTS if alert in alerts}
    policy = data.get("policy", params.get("policy")) or "all"
    if policy not in push.POLICIES:
        raise SubscriptionError(f"data[policy] must be one of {', '.join(push.POLICIES)}")
    return chosen, policy


def key_bytes(name: str, value: Any, length: int) -> bytes:
    try:
        raw = push.b64decode_any(value)
    except ValueError:
        raise SubscriptionError(f"{name} must be base64") from None
    if len(raw) != length:
        raise SubscriptionError(f"{name} must be {length} bytes, not {len(raw)}")
    return raw


def subscription_fields(params: dict[str, Any], allow_http: bool) -> dict[str, Any]:
    """The endpoint, the browser's keys and `standard` of `subscription`, checked."""
    subscription = params.get("subscription")
    if not isinstance(subscription, dict):
        raise SubscriptionError("subscription[endpoint] and subscription[keys] are required")
    endpoint = subscription.get("endpoint")
    fits = isinstance(endpoint, str) and len(endpoint) <= MAX_ENDPOINT_CHARS
    parts = parsed_url(endpoint) if fits else None
    schemes = ("https", "http") if allow_http else ("https",)
    if parts is None or parts.scheme not in schemes or not parts.hostname:
        raise SubscriptionError("subscription[endpoint] must be an https URL")
    keys = subscription.get("keys")
    if not isinstance(keys, dict):
        raise SubscriptionError("subscription[keys][p256dh] and subscription[keys][auth] are required")
    p256dh = key_bytes("subscription[keys][p256dh]", keys.get("p256dh"), 65)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), p256dh)
    except ValueError:
        raise SubscriptionError("subscription[keys][p256dh] is not a P-256 public key") from None
    return {"endpoint": endpoint, "p256dh": p256dh,
            "auth": key_bytes("subscription[keys][auth]", keys.get("auth"), 16),
            "standard": flag("subscription[standard]", subscription.get("standard", False))}


async def subscribe(request: Request) -> Response:
    """Mastodon's POST: a new subscription for this token, replacing the one it had."""
    user = await current_user(request)
    params = nested(await read_params(request))
    try:
        fields = subscription_fields(params, request.app.state.instance.settings.allow_private_fetch)
        alerts, policy = data_fields(params)
    except SubscriptionError as exc:
        return error(422, str(exc))
    row = await fstore.save_push_subscription(pool(request), {
        **fields, "token_hash": user["token_hash"], "user_id": user["id"],
        "access_token": bearer_token(request), "alerts": alerts, "policy": policy})
    return JSONResponse(subscription_json(request, row))


async def show(request: Request) -> Response:
    user = await current_user(request)
    row = await fstore.push_subscription_of_token(pool(request), user["token_hash"])
    if row is None:
        return error(404, "Record not found")
    return JSONResponse(subscription_json(request, row))


async def change(request: Request) -> Response:
    """Mastodon's PUT: the subscription's `data` replaced by what is sent."""
    user = await current_user(request)
    try:
        alerts, policy = data_fields(nested(await read_params(request)))
    except SubscriptionError as exc:
        return error(422, str(exc))
    row = await fstore.update_push_subscription(pool(request), user["token_hash"], alerts, policy)
    if row is None:
        return error(404, "Record not found")
    return JSONResponse(subscription_json(request, row))


async def unsubscribe(request: Request) -> Response:
    user = await current_user(request)
    await fstore.delete_push_subscription_of_token(pool(request), user["token_hash"])
    return JSONResponse({})


routes = [
    Route("/api/v1/push/subscription", subscribe, methods=["POST"]),
    Route("/api/v1/push/subscription", show),
    Route("/api/v1/push/subscription", change, methods=["PUT"]),
    Route("/api/v1/push/subscription", unsubscribe, methods=["DELETE"]),
]
