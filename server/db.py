"""PostgreSQL: the embedded server, the connection pool and the migration runner.

The schema changes only through the ordered SQL files in `migrations/`; each file runs in one
transaction and is recorded in `schema_migrations`, so running them again is a no-op.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import asyncpg

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Two processes that migrate at once (web and worker starting together) take turns.
_MIGRATION_LOCK = 7_341_205_118


def start_embedded_postgres(data_dir: Path) -> Any:
    """Start the embedded PostgreSQL in `data_dir/postgres`, or join the one already running there
    (`likeness serve`'s, when an admin command runs beside it); `.get_uri()` gives its URL.
    pgserver counts the processes using it: `.cleanup()` stops it only when no other process of
    ours still does, so a command never stops the server of a running instance, and the last
    process out leaves none behind."""
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset, where pgserver keeps its lock file.
        warnings.simplefilter("ignore")
        import pgserver

    pgdata = data_dir / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    return pgserver.get_server(pgdata, cleanup_mode="stop")


# The session settings of the For You pool's connections (Instance.feed_pool): the For You
# statement runs on its generic plan (server/store/feed.py), set once per connection rather than
# by SET LOCAL in a transaction, two more round trips on every page.
GENERIC_PLANS = {"plan_cache_mode": "force_generic_plan"}


async def create_pool(url: str, *, min_size: int = 2, max_size: int = 10,
                      server_settings: dict[str, str] | None = None) -> asyncpg.Pool:
    return await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, init=_init_connection,
                                     reset=_keep_session, server_settings=server_settings)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release a connection without asyncpg's reset query (a round trip on every release, a third
    of an inbox POST's): asyncpg still rolls back a transaction left open and drops listeners
    before calling this. The rest of that query undoes session state that no code of ours sets
    on a pool connection: no SET (only SET LOCAL), no session advisory lock (migrations take
    theirs on a connection of their own), no LISTEN, no cursor outside a transaction;
    tests/test_db.py holds the code to that."""


def _jsonb_encode(value: Any) -> bytes:
    return b"\x01" + json.dumps(value).encode()


def _jsonb_decode(data: bytes) -> Any:
    return json.loads(data[1:])


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Binary, as asyncpg's own codecs are: a row type with a json column (an actors row inside a
    # query's result, server/store/posts.py) can then be decoded at all.
    await conn.set_type_codec("jsonb", encoder=_jsonb_encode, decoder=_jsonb_decode, schema="pg_catalog",
                              format="binary")
    await conn.set_type_codec("json", encoder=lambda value: json.dumps(value).encode(), decoder=json.loads,
                              schema="pg_catalog", format="binary")


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[Path]:
    files = sorted(directory.glob("*.sql"))
    names = [f.name.split("_", 1)[0] for f in files]
    if len(set(names)) != len(names):
        raise RuntimeError(f"two migrations share a number in {directory}")
    return files


async def migrate(conn: asyncpg.Connection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every migration not yet recorded; return the names applied now."""
    applied: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
        for path in migration_files(directory):
            if path.name in done:
                continue
            async with conn.transaction():
                await conn.execute(path.read_text())
                await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", path.name)
            log.info("applied migration %s", path.name)
            applied.append(path.name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
    return applied
