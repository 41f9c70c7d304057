"""Uploads that were never posted are deleted after a day, as Mastodon's media cleanup does: a
client that uploads and then gives up (or a video the safety check refused) would otherwise keep
its file on the instance's disk for ever. Generation drafts are not uploads: they stay until
their requester publishes or deletes them.
"""

from __future__ import annotations

import asyncpg

from . import store
from .media import LocalMediaStore, file_keys

UNPOSTED_UPLOAD_TTL_S = 24 * 3600.0


async def remove_unposted_uploads(pool: asyncpg.Pool, media: LocalMediaStore,
                                  older_than_s: float = UNPOSTED_UPLOAD_TTL_S) -> int:
    """Delete the rows, then the files (a crash in between leaves files, never a post whose file
    is gone: the row's delete re-checks that it is still unposted); how many uploads went."""
    removed = 0
    while rows := await store.delete_unposted_uploads(pool, older_than_s):
        for key in file_keys(rows):
            await media.delete(key)
        removed += len(rows)
    return removed
