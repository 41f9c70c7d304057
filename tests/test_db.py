"""Migrations: ordered, recorded, each in one transaction, idempotent."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import pytest

from server import db


async def _tables(conn) -> set[str]:
    rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {r["tablename"] for r in rows}


async def test_migrations_apply_once(database):
    conn = await asyncpg.connect(database)
    try:
        first = await db.migrate(conn)
        assert first == [p.name for p in db.migration_files()]
        assert await db.migrate(conn) == []
        recorded = [r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations ORDER BY name")]
        assert recorded == first
        assert {"users", "actors", "posts", "deliveries", "inbox_activities"} <= await _tables(conn)
    finally:
        await conn.close()


async def test_a_failing_migration_leaves_nothing(database, tmp_path):
    (tmp_path / "0001_good.sql").write_text("CREATE TABLE good (id int);")
    (tmp_path / "0002_bad.sql").write_text("CREATE TABLE half (id int); SELECT no_such_function();")
    conn = await asyncpg.connect(database)
    try:
        with pytest.raises(asyncpg.PostgresError):
            await db.migrate(conn, tmp_path)
        assert {"good"} <= await _tables(conn) and "half" not in await _tables(conn)
        assert [r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")] == [
            "0001_good.sql"]
        (tmp_path / "0002_bad.sql").write_text("CREATE TABLE half (id int);")
        assert await db.migrate(conn, tmp_path) == ["0002_bad.sql"]
    finally:
        await conn.close()


def test_duplicate_numbers_are_refused(tmp_path):
    (tmp_path / "0001_a.sql").write_text("")
    (tmp_path / "0001_b.sql").write_text("")
    with pytest.raises(RuntimeError, match="share a number"):
        db.migration_files(tmp_path)


async def test_processes_starting_together_make_one_instance_actor(database, redis_url, tmp_path):
    """A web server and its workers started at once on a new database (docker compose up) all
    start, and one instance actor is made."""
    import asyncio

    from server.config import Settings
    from server.runtime import Instance

    instances = [Instance(Settings(domain="127.0.0.1:9", https=False, data_dir=tmp_path / str(n),
                                   database_url=database, redis_url=redis_url, run_workers=False))
                 for n in range(4)]
    try:
        await asyncio.gather(*(instance.start() for instance in instances))
    finally:
        for instance in instances:
            await instance.stop()
    conn = await asyncpg.connect(database)
    try:
        assert await conn.fetchval("SELECT count(*) FROM actors WHERE type = 'Application'") == 1
    finally:
        await conn.close()


async def test_a_released_connection_has_no_transaction_left_open(database):
    """The pool releases connections without asyncpg's reset query, but still ends a transaction
    that its user left open: the next user does not see its uncommitted rows."""
    pool = await db.create_pool(database, min_size=1, max_size=1)
    try:
        conn = await pool.acquire()
        await conn.execute("CREATE TABLE scratch (id int)")
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute("INSERT INTO scratch VALUES (1)")
        await pool.release(conn)
        async with pool.acquire() as again:
            assert again.is_in_transaction() is False
            assert await again.fetchval("SELECT count(*) FROM scratch") == 0
    finally:
        await pool.close()


# What asyncpg's reset query would undo, and so what no SQL of ours may do on a pool connection:
# a session advisory lock, a session setting (SET of a setting, not of a column; SET LOCAL and
# set_config(..., true) end with the transaction), LISTEN, a cursor WITH HOLD.
_SESSION_STATE = re.compile(
    r"pg_(?:try_)?advisory_lock\s*\(|set_config\s*\([^)]*\bfalse\s*\)"
    r"|\bSET\s+(?:SESSION\s+)?(?:statement_timeout|lock_timeout|idle_in_transaction_session_timeout"
    r"|search_path|time\s+zone|session\s+authorization|application_name|work_mem|enable_\w+|jit"
    r"|default_transaction_\w+|synchronous_commit)\b|(?-i:\bLISTEN\s+\w)|\bWITH\s+HOLD\b", re.IGNORECASE)


def test_no_code_changes_a_pool_connections_session():
    """Pool connections are released without a reset (server/db.py `_keep_session`): a session
    setting or lock taken on one would leak to the next request. Migrations take their lock on a
    connection of their own (server/runtime.py)."""
    root = Path(db.__file__).resolve().parent.parent
    found = [f"{path.relative_to(root)}: {match.group(0)}"
             for package in ("server", "federation", "generation")
             for path in sorted((root / package).rglob("*.py")) if path.name != "db.py"
             for match in _SESSION_STATE.finditer(path.read_text())]
    assert found == []
    assert _SESSION_STATE.search("SELECT pg_advisory_lock($1)")
    assert _SESSION_STATE.search("SET statement_timeout = 0")
    assert not _SESSION_STATE.search("SET LOCAL statement_timeout = 0")
    assert _SESSION_STATE.search("LISTEN likeness")
    assert not _SESSION_STATE.search("UPDATE posts SET deleted = true")
    assert not _SESSION_STATE.search("SELECT set_config('app.actor', $1, true)")


async def test_json_inside_a_row_type_decodes(database):
    """json and jsonb travel in binary, so a row type with a json column decodes as a record
    (server/store/posts.py post_details reads actors rows so), and values round-trip."""
    pool = await db.create_pool(database, min_size=1, max_size=1)
    try:
        await pool.execute("CREATE TABLE docs (id int, body jsonb, raw json)")
        await pool.execute("INSERT INTO docs VALUES (1, $1, $2)", {"a": ["é", 1]}, [None, True])
        row = await pool.fetchval("SELECT d FROM docs d")
        assert (row["body"], row["raw"]) == ({"a": ["é", 1]}, [None, True])
        assert await pool.fetchval("SELECT body FROM docs") == {"a": ["é", 1]}
    finally:
        await pool.close()
