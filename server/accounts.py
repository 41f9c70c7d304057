"""Local accounts: sign-up, passwords (argon2) and bearer tokens.

A sign-up writes the user, its actor and the actor's keys in one transaction: a failure leaves
nothing behind.
"""

from __future__ import annotations

import hashlib
import re
import secrets

import asyncpg

from federation import actors
from federation.context import Federation

from . import store
from .passwords import DUMMY_HASH, check_password, hash_password

USERNAME = re.compile(r"[A-Za-z0-9_]{1,30}")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}")
RESERVED = frozenset({"admin", "actor", "api", "inbox", "instance", "likeness", "media",
                      "nodeinfo", "oauth", "root", "settings", "static", "support", "users",
                      "well-known", "webfinger"})
ROLES = ("admin", "moderator", "user")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024



class AccountError(ValueError):
    """A sign-up or login that cannot go through; `status` is the HTTP answer."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def validate_signup(username: str, email: str, password: str) -> None:
    if not isinstance(username, str) or not USERNAME.fullmatch(username):
        raise AccountError("username must be 1-30 letters, digits or underscores")
    if username.lower() in RESERVED:
        raise AccountError(f"the username {username!r} is reserved")
    if not isinstance(email, str) or len(email) > 254 or not EMAIL.fullmatch(email):
        raise AccountError("email is not a valid address")
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")


async def create_user(fed: Federation, username: str, email: str, password: str,
                      role: str = "user") -> int:
    """Create a user and its actor; raises AccountError for bad or taken input."""
    validate_signup(username, email, password)
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    password_hash = await hash_password(password)
    async with fed.pool.acquire() as conn:
        try:
            async with conn.transaction():
                if await store.username_taken(conn, username):
                    raise AccountError("that username is taken", 409)
                if await store.email_taken(conn, email):
                    raise AccountError("that email is already registered", 409)
                user_id = await store.insert_user(conn, username, email, password_hash, role)
                await actors.create_local_actor(conn, fed, user_id=user_id, username=username,
                                                display_name=username)
        except asyncpg.UniqueViolationError:
            # Two sign-ups for one name at the same moment: the loser gets the same answer.
            raise AccountError("that username or email is taken", 409) from None
    return user_id


async def login(pool: asyncpg.Pool, login_name: str, password: str) -> asyncpg.Record:
    user = await store.user_by_login(pool, login_name or "")
    ok = await check_password(user["password_hash"] if user else DUMMY_HASH, password or "")
    if user is None or not ok:
        raise AccountError("wrong username or password", 401)
    if user["suspended"]:
        raise AccountError("this account is suspended", 403)
    if user["disabled"]:
        raise AccountError("this account is disabled", 403)
    return user


def secret_hash(secret: str) -> bytes:
    """What is stored of a bearer token, an app's client secret or an authorization code: they
    are long random strings, so a plain SHA-256 suffices (no password stretching)."""
    return hashlib.sha256(secret.encode()).digest()


async def issue_token(pool: asyncpg.Pool, user_id: int | None, scopes: str = "read write follow push",
                      app_id: int | None = None) -> str:
    """A new bearer token for a person (and the app they signed into), or for an app alone;
    only its hash is stored."""
    token = secrets.token_urlsafe(32)
    await store.insert_token(pool, secret_hash(token), user_id, scopes, app_id)
    return token


async def user_for_token(pool: asyncpg.Pool, token: str) -> asyncpg.Record | None:
    return await store.user_by_token(pool, secret_hash(token))


async def revoke_token(pool: asyncpg.Pool, token: str, app_id: int | None) -> None:
    """Revoke a token on behalf of the app `app_id` (None: no app authenticated). Raises
    AccountError (403) for a token issued to another app; an unknown token is no error."""
    if not await store.delete_token(pool, secret_hash(token), app_id):
        raise AccountError("the token was issued to another app", 403)


async def registrations_open(pool: asyncpg.Pool, default: bool) -> bool:
    value = await store.setting(pool, "registrations_open")
    return default if value is None else bool(value)
