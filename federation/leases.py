"""Leases on the rows a worker is handling: deliveries and inbox activities.

Claiming a row leases it for `lease_s` (45 s by default); while the work runs, the worker
process renews the leases of every row it holds, every third of that, in one statement per table,
so a delivery to a slow host keeps its lease as long as its worker lives. A worker that dies
(`kill -9`, a lost machine) stops renewing: its rows' leases run out within `lease_s`, and
`delivery.resume_abandoned` queues them again, so work in flight at a crash resumes within about
a minute (the lease and the 5 s sweep) and only it is done twice. The generation jobs' heartbeat
is the same idea, for one long job per worker (generation/worker.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg

from . import background, store

log = logging.getLogger(__name__)

# The default lease (LIKENESS_FEDERATION_LEASE_S): renewed every 15 s, so a worker is taken for
# dead after three renewals missed, and its work resumes within a minute of its death (a row is
# mostly claimed just before a kill, so with 60 s it took 60-65 s).
LEASE_S = 45.0
# How much leased work a process runs outside the queue's jobs at once (`Leases.run`), as arq's
# `max_jobs` bounds a worker's jobs: beyond it, work goes to the queue.
MAX_RUNNING = 20


class Leases:
    """The rows this process is working on, and the task that renews their leases."""

    def __init__(self, pool: asyncpg.Pool, lease_s: float) -> None:
        self.pool = pool
        self.lease_s = lease_s
        self._held: dict[str, set[int]] = {table: set() for table in store.LEASED}
        self._renewing = 0
        self._running: set[asyncio.Task[Any]] = set()

    def can_run(self) -> bool:
        """Whether `run` may take more work: only in a process that renews its leases (it runs
        a worker), and within `MAX_RUNNING`."""
        return self._renewing > 0 and len(self._running) < MAX_RUNNING

    @property
    def renew_every_s(self) -> float:
        """Two renewals may fail (a busy database) before the lease runs out."""
        return self.lease_s / 3

    @contextmanager
    def holding(self, table: str, *row_ids: int) -> Iterator[None]:
        """Renew the leases of `row_ids` (claimed just before) for as long as the block runs."""
        self._held[table].update(row_ids)
        try:
            yield
        finally:
            self._held[table].difference_update(row_ids)

    async def renew(self) -> None:
        for table, row_ids in self._held.items():
            if row_ids:
                await store.renew_leases(self.pool, table, sorted(row_ids), self.lease_s)

    async def keep_renewing(self) -> None:
        """Renew until cancelled; runs beside the worker's jobs (server/worker.py). Cancelled,
        it cancels the work `run` started: the rows' leases run out and another worker takes
        them up, as after a crash."""
        self._renewing += 1
        try:
            while True:
                await asyncio.sleep(self.renew_every_s)
                try:
                    await self.renew()
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    # The next renewal may go through before the leases run out; if not, the rows
                    # are handled again, which is what a lost lease means.
                    log.warning("could not renew the leases of the rows in flight: %s", exc)
        finally:
            self._renewing -= 1
            if not self._renewing:
                for task in list(self._running):
                    task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.gather(*self._running, return_exceptions=True)

    def run(self, work: Coroutine[Any, Any, Any]) -> None:
        """Do `work`, on rows it has claimed, in the background of this process rather than in
        a queued job: what waits for it then waits for no worker's poll. Its rows' leases stand
        for it as a job's would, so a crash loses nothing (they run out, the work resumes)."""
        background.start(self._running, work, "leased work")
