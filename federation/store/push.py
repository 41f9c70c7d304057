"""SQL of Web Push: the subscriptions (one per access token) and the notifications waiting to be
pushed."""

from __future__ import annotations

from typing import Any

from .common import Conn, Record


async def save_push_subscription(conn: Conn, fields: dict[str, Any]) -> Record:
    """Subscribe the token `fields["token_hash"]`, replacing its subscription if it has one (as
    Mastodon's POST does)."""
    return await conn.fetchrow(
        "INSERT INTO web_push_subscriptions (token_hash, user_id, access_token, endpoint, p256dh, auth,"
        " standard, alerts, policy) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (token_hash) DO UPDATE SET endpoint = EXCLUDED.endpoint, p256dh = EXCLUDED.p256dh,"
        " auth = EXCLUDED.auth, standard = EXCLUDED.standard, alerts = EXCLUDED.alerts,"
        " policy = EXCLUDED.policy, created_at = now() RETURNING *",
        fields["token_hash"], fields["user_id"], fields["access_token"], fields["endpoint"],
        fields["p256dh"], fields["auth"], fields["standard"], fields["alerts"],
        fields["policy"])


async def push_subscription_of_token(conn: Conn, token_hash: bytes) -> Record | None:
    return await conn.fetchrow("SELECT * FROM web_push_subscriptions WHERE token_hash = $1", token_hash)


async def update_push_subscription(conn: Conn, token_hash: bytes, alerts: dict[str, bool],
                                   policy: str) -> Record | None:
    return await conn.fetchrow(
        "UPDATE web_push_subscriptions SET alerts = $2, policy = $3 WHERE token_hash = $1 RETURNING *",
        token_hash, alerts, policy)


async def delete_push_subscription_of_token(conn: Conn, token_hash: bytes) -> None:
    await conn.execute("DELETE FROM web_push_subscriptions WHERE token_hash = $1", token_hash)


async def delete_push_subscription(conn: Conn, subscription_id: int) -> None:
    await conn.execute("DELETE FROM web_push_subscriptions WHERE id = $1", subscription_id)


async def take_pending_pushes(conn: Conn, limit: int) -> list[Record]:
    """Mark up to `limit` new notifications taken, and return each one's subscriptions: the
    notification's type, the subscription's alerts and policy, and whether its recipient and
    sender follow each other (what the policy asks); none for a notification the user muted."""
    return await conn.fetch(
        "WITH taken AS (UPDATE notifications SET push_queued = true WHERE id IN"
        "  (SELECT id FROM notifications WHERE NOT push_queued ORDER BY id LIMIT $1"
        "   FOR UPDATE SKIP LOCKED) RETURNING id, user_id, type, from_actor_id)"
        " SELECT t.id AS notification_id, t.type, s.id AS subscription_id, s.alerts, s.policy,"
        "  EXISTS (SELECT FROM follows f WHERE f.follower_id = me.id AND f.followed_id = t.from_actor_id"
        "          AND f.accepted) AS recipient_follows_sender,"
        "  EXISTS (SELECT FROM follows f WHERE f.follower_id = t.from_actor_id AND f.followed_id = me.id"
        "          AND f.accepted) AS sender_follows_recipient"
        " FROM taken t JOIN web_push_subscriptions s ON s.user_id = t.user_id"
        " JOIN actors me ON me.user_id = t.user_id"
        # None from an account the user mutes with its notifications (server/store/mutes.py).
        " WHERE NOT EXISTS (SELECT FROM mutes mu WHERE mu.actor_id = me.id AND mu.target_id = t.from_actor_id"
        "  AND mu.hide_notifications AND (mu.expires_at IS NULL OR mu.expires_at > now()))"
        " ORDER BY t.id", limit)


async def push_to_send(conn: Conn, notification_id: int, subscription_id: int) -> Record | None:
    """What one push says and where it goes: the subscription, the notification, its sender and
    its post; None when either is gone."""
    return await conn.fetchrow(
        "SELECT s.*, n.type, n.id AS notification_id, a.username AS sender_username,"
        " a.domain AS sender_domain, a.local AS sender_local, a.display_name AS sender_display_name,"
        " a.icon_url AS sender_icon_url, a.summary AS sender_summary,"
        " p.content AS post_content, p.summary AS post_summary"
        " FROM web_push_subscriptions s JOIN notifications n ON n.user_id = s.user_id AND n.id = $1"
        " LEFT JOIN actors a ON a.id = n.from_actor_id"
        " LEFT JOIN posts p ON p.id = n.post_id AND p.deleted_at IS NULL"
        " WHERE s.id = $2", notification_id, subscription_id)
