"""Migrations: ordered, recorded, each in one transaction, idempotent."""

from __future__ import annotations

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


async def test_a_pooled_connection_comes_back_clean_without_a_reset_query(database):
    """The pool skips asyncpg's reset query (server/db.py): a connection given back inside a
    transaction is still rolled back, and the next one to take it starts outside one."""
    pool = await db.create_pool(database, min_size=1, max_size=1)
    try:
        await pool.execute("CREATE TABLE kept (n int)")
        conn = await pool.acquire()
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute("INSERT INTO kept VALUES (1)")
        await pool.release(conn)
        async with pool.acquire() as again:
            assert again.is_in_transaction() is False
            assert await again.fetchval("SELECT count(*) FROM kept") == 0
    finally:
        await pool.close()


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
