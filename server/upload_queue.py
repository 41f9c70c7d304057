"""Queueing an uploaded video's safety check: the web process's half of server/upload_checks.py,
which decodes and scores on the worker (PyAV, Pillow, NumPy: none of it loaded by the web)."""

from __future__ import annotations

from federation.context import Federation

FUNCTION = "check_upload"


async def queue_check(fed: Federation, media_id: int) -> None:
    await fed.enqueue(FUNCTION, media_id, job_id=f"upload-check:{media_id}")
