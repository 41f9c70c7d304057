"""Web Push: the instance's VAPID key (RFC 8292), what a subscription lets through, and the
encrypted pushes (RFC 8291) sent to the push services of people's browsers and phones.

Pushes never run in a request: a sweeper takes up new notifications and queues one job per
subscription that wants it; the job encrypts Mastodon's payload and posts it with the one
outbound client, under its limits and address checks. A push service answering 404 or 410 has
forgotten the subscription, which is deleted then, as Mastodon does; other failures retry.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
from typing import Any
from urllib.parse import urlsplit

import http_ece
import httpx
from arq import Retry
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from . import store
from .context import Federation
from .fetch import BlockedAddressError, DomainRefusedError, FetchError
from .html import html_to_text

log = logging.getLogger(__name__)

FUNCTION = "push_notification"
# The alerts a subscription may ask for, Mastodon's notification types.
ALERTS = ("mention", "status", "reblog", "follow", "follow_request", "favourite", "poll", "update",
          "admin.sign_up", "admin.report")
POLICIES = ("all", "followed", "follower", "none")
# A reply is a mention in Mastodon; Likeness keeps the two apart, and pushes both as mentions ask.
ALERT_OF_TYPE = {**{alert: alert for alert in ALERTS}, "reply": "mention"}
# Mastodon's titles (its notification_mailer subjects in English).
TITLES = {
    "mention": "You were mentioned by {name}", "reply": "You were mentioned by {name}",
    "status": "{name} just posted", "reblog": "{name} boosted your post",
    "follow": "{name} is now following you", "follow_request": "Pending follower: {name}",
    "favourite": "{name} favorited your post", "poll": "A poll you voted in has ended",
    "update": "{name} edited a post", "admin.sign_up": "New sign-up: {name}",
    "admin.report": "New report from {name}",
}
BODY_CHARS = 140
# How long a push service keeps a push for a device that is offline: Mastodon's 48 hours.
TTL_S = 48 * 3600
# A VAPID token's lifetime; RFC 8292 allows at most a day.
VAPID_LIFETIME_S = 12 * 3600
MAX_TRIES = 5
TAKE_AT_ONCE = 500


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64decode_any(text: str) -> bytes:
    """Base64 in either alphabet, padded or not, as browsers and Mastodon.py send keys; ValueError
    when it is not."""
    if not isinstance(text, str) or not text.isascii():
        raise ValueError("not base64")
    text = text.strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def new_vapid_key() -> str:
    """A new VAPID private key, as kept in the instance settings (the P-256 scalar, base64url)."""
    scalar = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
    return b64url(scalar.to_bytes(32, "big"))


def load_vapid_key(text: str) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(b64decode_any(text), "big"), ec.SECP256R1())


def public_point(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.X962,
                                         serialization.PublicFormat.UncompressedPoint)


def vapid_public_key(key: ec.EllipticCurvePrivateKey) -> str:
    """The key apps pass to the browser as `applicationServerKey` (Mastodon's `server_key`)."""
    return b64url(public_point(key))


def vapid_token(key: ec.EllipticCurvePrivateKey, endpoint: str, subject: str, now: float) -> str:
    """RFC 8292's JWT (ES256) for the push service of `endpoint`."""
    parts = urlsplit(endpoint)
    header = b64url(json.dumps({"typ": "JWT", "alg": "ES256"}).encode())
    claims = b64url(json.dumps({"aud": f"{parts.scheme}://{parts.netloc}",
                                "exp": int(now) + VAPID_LIFETIME_S, "sub": subject}).encode())
    r, s = decode_dss_signature(key.sign(f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256())))
    return f"{header}.{claims}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def wants(alerts: dict[str, Any], policy: str, notification_type: str, *, recipient_follows_sender: bool,
          sender_follows_recipient: bool) -> bool:
    """Whether a subscription with these alerts and policy asks for this notification."""
    alert = ALERT_OF_TYPE.get(notification_type)
    if alert is None or not alerts.get(alert):
        return False
    return (policy == "all" or policy == "followed" and recipient_follows_sender
            or policy == "follower" and sender_follows_recipient)


def payload(row: Any, base_url: str) -> dict[str, Any]:
    """Mastodon's push payload for the notification and subscription of `row`."""
    name = row["sender_display_name"] or row["sender_username"] or ""
    text = html_to_text(row["post_summary"] or row["post_content"] or row["sender_summary"] or "")
    return {
        "access_token": row["access_token"], "preferred_locale": "en",
        "notification_id": row["notification_id"], "notification_type": row["type"],
        "icon": row["sender_icon_url"] or f"{base_url}/static/avatar.png",
        "title": TITLES.get(row["type"], "{name}").format(name=name),
        "body": text if len(text) <= BODY_CHARS else text[:BODY_CHARS - 1] + "…",
    }


def encrypted_request(row: Any, body: bytes, vapid: ec.EllipticCurvePrivateKey, subject: str,
                      now: float) -> tuple[bytes, dict[str, str]]:
    """`body` encrypted for the subscription of `row`, and the headers the push service needs:
    RFC 8291's aes128gcm, or the draft aesgcm for a subscription that is not `standard`."""
    sender = ec.generate_private_key(ec.SECP256R1())
    token = vapid_token(vapid, row["endpoint"], subject, now)
    headers = {"TTL": str(TTL_S), "Urgency": "normal"}
    if row["standard"]:
        content = http_ece.encrypt(body, private_key=sender, dh=bytes(row["p256dh"]),
                                   auth_secret=bytes(row["auth"]), version="aes128gcm")
        return content, {**headers, "Content-Encoding": "aes128gcm",
                         "Authorization": f"vapid t={token}, k={vapid_public_key(vapid)}"}
    salt = os.urandom(16)
    content = http_ece.encrypt(body, salt=salt, private_key=sender, dh=bytes(row["p256dh"]),
                               auth_secret=bytes(row["auth"]), version="aesgcm")
    return content, {**headers, "Content-Encoding": "aesgcm", "Encryption": f"salt={b64url(salt)}",
                     "Crypto-Key": f"dh={b64url(public_point(sender))};p256ecdsa={vapid_public_key(vapid)}",
                     "Authorization": f"WebPush {token}"}


async def queue_pending(fed: Federation) -> int:
    """Take up new notifications and queue a push for each subscription that wants one; the
    number queued."""
    queued = 0
    while True:
        async with fed.pool.acquire() as conn, conn.transaction():
            rows = await store.take_pending_pushes(conn, TAKE_AT_ONCE)
        for row in rows:
            if wants(row["alerts"], row["policy"], row["type"],
                     recipient_follows_sender=row["recipient_follows_sender"],
                     sender_follows_recipient=row["sender_follows_recipient"]):
                await fed.enqueue(FUNCTION, row["notification_id"], row["subscription_id"],
                                  job_id=f"push:{row['notification_id']}:{row['subscription_id']}")
                queued += 1
        if len(rows) < TAKE_AT_ONCE:
            return queued


async def push(fed: Federation, notification_id: int, subscription_id: int, job_try: int) -> str:
    """Send one push; what became of it. Raises arq's Retry while a failing push has tries left."""
    row = await store.push_to_send(fed.pool, notification_id, subscription_id)
    if row is None:
        return "gone"
    if fed.vapid_key is None:
        return "no VAPID key"
    body = json.dumps(payload(row, fed.base_url), ensure_ascii=False).encode()
    content, headers = encrypted_request(row, body, fed.vapid_key, fed.base_url, time.time())
    try:
        response = await fed.client.post(row["endpoint"], content=content, headers=headers)
    except (BlockedAddressError, DomainRefusedError) as exc:
        log.info("push to subscription %s refused: %s", subscription_id, exc)
        return "refused"
    except (FetchError, httpx.HTTPError) as exc:
        return _retry(subscription_id, job_try, str(exc))
    if response.status_code in (404, 410):
        await store.delete_push_subscription(fed.pool, subscription_id)
        return "unsubscribed"
    if response.is_success:
        return "sent"
    return _retry(subscription_id, job_try, f"HTTP {response.status_code}")


def _retry(subscription_id: int, job_try: int, why: str) -> str:
    if job_try >= MAX_TRIES:
        log.info("push to subscription %s failed %d times, the last: %s", subscription_id, job_try, why)
        return "failed"
    raise Retry(defer=5 * 4 ** (job_try - 1))
