"""Files nothing shows any more are deleted, as Mastodon's media cleanup does: uploads never
posted, a day after upload (a client that uploads and then gives up, or a video the safety check
refused, would otherwise keep its file on the instance's disk for ever), and the media of deleted
posts. Generation drafts are not uploads: generation.jobs deletes them when they are discarded,
their consent is withdrawn or their retention period ends.
"""

from __future__ import annotations

import asyncpg

from . import store
from .media import file_keys
from .media_store import MediaStore

UNPOSTED_UPLOAD_TTL_S = 24 * 3600.0


async def remove_unposted_uploads(pool: asyncpg.Pool, media: MediaStore,
                                  older_than_s: float = UNPOSTED_UPLOAD_TTL_S) -> int:
    """Delete the rows, then the files (a crash in between leaves files, never a post whose file
    is gone: the row's delete re-checks that it is still unposted); how many uploads went."""
    removed = 0
    while rows := await store.delete_unposted_uploads(pool, older_than_s):
        for key in file_keys(rows):
            await media.delete(key)
        removed += len(rows)
    return removed


async def remove_deleted_posts_media(pool: asyncpg.Pool, media: MediaStore) -> int:
    """Delete the media of deleted local posts, rows first, then files: a revoked remix's at once
    (its owner withdrew consent to that video), others once no open report names the post. How
    many posts were done."""
    done = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            posts, rows = await store.remove_deleted_posts_media(conn)
        for key in file_keys(rows):
            await media.delete(key)
        done += posts
        if not posts:
            return done
