"""A running instance: its databases, queues, HTTP client and in-process workers.

`Instance.start` brings up whatever the settings ask for: embedded PostgreSQL and Redis when no
URLs are set, migrations, the instance actor, and (on the embedded default) the workers, so
that `likeness serve` alone is a whole working server.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.worker import Worker

from federation import actors, push
from federation.context import Federation
from federation.domain_rules import DomainRules
from federation.fetch import make_client, system_trust
from federation.leases import Leases
from federation.moderation_endpoint import Moderation
from generation import provenance
from generation.jobs import JobQueue

from . import db, store
from .config import ConfigError, Settings
from .embedded import EmbeddedRedis, log_embedded_servers, start_embedded_redis
from .media import PrivateLinks
from .media_store import MediaStore, MediaStoreUnavailable, open_media_store
from .rate_limits import RateLimiter
from .stream_hub import StreamHub

log = logging.getLogger(__name__)

VERSION = "0.1.0"
# Connections kept for fetching the keys of inbound signatures, apart from the shared pool: a
# peer's Follow must verify while every other connection waits on slow servers.
KEY_FETCH_CONNECTIONS = 20


def user_agent(settings: Settings) -> str:
    return f"Likeness/{VERSION} (+{settings.base_url}/)"


def redis_settings(settings: Settings, embedded_socket: str | None = None) -> RedisSettings:
    if embedded_socket is not None:
        return RedisSettings(unix_socket_path=embedded_socket)
    assert settings.redis_url is not None
    return RedisSettings.from_dsn(settings.redis_url)


async def close_worker(worker: Worker) -> None:
    """Close an arq worker. Closing cancels its jobs, and one cancelled while arq stores its
    result re-raises that from close(): only our own cancellation is passed on."""
    try:
        await worker.close()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise


@dataclass
class Instance:
    settings: Settings
    pool: asyncpg.Pool | None = None
    # Where the reads that may lag the primary go (timelines, For You, profiles, public
    # collections): the DATABASE_REPLICA_URL pool, else `pool` itself. A write, a transaction, or
    # a read of what the same request or its client has just written uses `pool`.
    read_pool: asyncpg.Pool | None = None
    # Connections to where `read_pool` reads, for the For You statement alone: they run every
    # statement on its generic plan (db.GENERIC_PLANS). Opened as they are first needed.
    feed_pool: asyncpg.Pool | None = None
    redis: ArqRedis | None = None
    # Each arq worker makes its own pool from these: closing a worker closes its pool, which must
    # not cut the connections of another worker's jobs still recording their end.
    redis_settings: RedisSettings | None = None
    fed: Federation | None = None
    media: MediaStore | None = None
    links: PrivateLinks | None = None
    jobs: JobQueue | None = None
    limiter: RateLimiter | None = None
    # This process's subscriber to the streaming API's channels (federation/streams.py).
    streams: StreamHub | None = None
    _embedded_postgres: Any = None
    _embedded_redis: EmbeddedRedis | None = None
    _worker_tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    _workers: list[Any] = field(default_factory=list)

    def _database_url(self) -> str:
        if self.settings.database_url:
            return self.settings.database_url
        if self._embedded_postgres is None:
            self._embedded_postgres = db.start_embedded_postgres(self.settings.data_dir)
        return self._embedded_postgres.get_uri()

    def _redis_settings(self) -> RedisSettings:
        if self.settings.redis_url:
            return redis_settings(self.settings)
        if self._embedded_redis is None:
            self._embedded_redis = start_embedded_redis(self.settings.data_dir)
        return redis_settings(self.settings, self._embedded_redis.socket_file)

    async def _open_read_pool(self) -> asyncpg.Pool:
        """The replica's pool, or the primary's where no replica is set. An unreachable replica
        stops the start, naming it, rather than failing every timeline later."""
        assert self.pool is not None
        url = self.settings.database_replica_url
        if url is None:
            return self.pool
        try:
            return await db.create_pool(url)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            parts = urlsplit(url)
            raise ConfigError(f"DATABASE_REPLICA_URL: cannot connect to the replica at {parts.hostname}:"
                              f"{parts.port or 5432}: {exc}") from None

    async def _fixed_origin(self) -> Settings:
        """The settings at the instance's origin, fixed at its first start: ids and signatures
        are made from it, so it cannot change (as Mastodon's LOCAL_DOMAIN cannot)."""
        assert self.pool is not None
        origin = await store.first_setting(self.pool, "origin", self.settings.base_url)
        fixed = self.settings.with_origin(origin)
        # The parts not asked for are the instance's.
        asked = fixed.with_(**{part: getattr(self.settings, part) for part in self.settings.origin_asked})
        if asked.base_url != origin:
            raise ConfigError(f"this instance is {origin}, fixed at its first start; this start asks for"
                              f" {asked.base_url} (LIKENESS_DOMAIN, LIKENESS_HTTPS, serve --port): an"
                              " instance's origin cannot change")
        return fixed

    async def _share_c2pa_root(self) -> None:
        """The instance's own C2PA root CA, kept in the database (the first start's, or the one an
        instance made on its disk before): every machine's workers sign renders under it, and
        the upload check of any machine recognises a render of any other."""
        assert self.pool is not None
        generation, directory = self.settings.generation, self.settings.data_dir / "c2pa"
        if not generation.provenance or generation.c2pa_cert_chain is not None:
            return
        root = await store.setting(self.pool, "c2pa_root")
        if root is None:
            found = await asyncio.to_thread(provenance.local_root, directory)
            root = await store.first_setting(self.pool, "c2pa_root",
                                             found or provenance.new_root(self.settings.instance_name))
        await asyncio.to_thread(provenance.install_root, directory, root)

    async def start(self, *, workers: bool | None = None) -> None:
        settings = self.settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.media = open_media_store(settings.media_dir, settings.tmp_dir, settings.object_storage)
        try:
            # A bucket that cannot be used stops the start with its reason, before anything else
            # is opened, rather than every upload and render failing later.
            await self.media.check()
        except MediaStoreUnavailable as exc:
            raise ConfigError(str(exc)) from None
        if not (settings.database_url and settings.redis_url):
            log_embedded_servers(settings.data_dir)
        url = await asyncio.to_thread(self._database_url)
        conn = await asyncpg.connect(url)
        try:
            await db.migrate(conn)
        finally:
            await conn.close()
        self.pool = await db.create_pool(url)
        try:
            self.read_pool = await self._open_read_pool()
            self.feed_pool = await db.create_pool(self.settings.database_replica_url or url, min_size=0,
                                                  server_settings=db.GENERIC_PLANS)
            self.settings = settings = await self._fixed_origin()
        except ConfigError:
            await self.stop()
            raise
        instance_id = await store.setting(self.pool, "instance_id")
        self.redis_settings = self._redis_settings()
        self.redis = await create_pool(self.redis_settings)
        # Made at the first start and kept in the database, so that every process of the instance
        # signs alike and a restart does not break the links it handed out.
        secret = await store.first_setting(self.pool, "media_link_secret", secrets.token_hex(32))
        self.links = PrivateLinks(bytes.fromhex(secret))
        vapid_key = push.load_vapid_key(await store.first_setting(self.pool, "vapid_private_key",
                                                                  push.new_vapid_key()))
        await self._share_c2pa_root()
        queue_name = f"likeness:{instance_id}"
        # One trust store for both clients: loading the system's CA certificates takes a fifth
        # of a second and a few MiB each time.
        trust = system_trust()
        # One rule set for the inbox, the handlers and the HTTP client, which asks it before
        # every request it sends.
        rules = DomainRules(self.pool, settings.domain, redis=self.redis,
                            version_key=f"{queue_name}:domain-rules-version")
        self.fed = Federation(
            base_url=settings.base_url,
            pool=self.pool,
            media_base_url=settings.object_storage.public_base_url if settings.object_storage else None,
            client=make_client(allow_private=settings.allow_private_fetch, verify=trust,
                               user_agent=user_agent(settings), refuse=rules.refusal,
                               limits=settings.outbound),
            key_client=make_client(allow_private=settings.allow_private_fetch, verify=trust,
                                   user_agent=user_agent(settings), refuse=rules.refusal,
                                   limits=replace(settings.outbound, connections=KEY_FETCH_CONNECTIONS)),
            queue=self.redis,
            queue_name=queue_name,
            rules=rules,
            leases=Leases(self.pool, settings.federation_lease_s),
            vapid_key=vapid_key,
            moderation=(Moderation(settings.moderation, user_agent(settings)) if settings.moderation
                        else None),
        )
        self.streams = StreamHub(self.redis, queue_name)
        self.limiter = RateLimiter(self.redis, f"{queue_name}:rate-limit", settings.rate_limits)
        self.jobs = JobQueue(self.pool, self.redis, f"{self.fed.queue_name}:generation",
                             settings.generation)
        await actors.ensure_instance_actor(self.fed)
        if settings.workers_in_process if workers is None else workers:
            from .worker import in_process_generation_worker, in_process_worker

            # Generation on the CPU beside the web server: the embedded default renders the tiny
            # model; GPU machines run `likeness worker --generation --device cuda:0` instead.
            for worker in (in_process_worker(self), in_process_generation_worker(self)):
                self._workers.append(worker)
                self._worker_tasks.append(asyncio.create_task(worker.async_run()))

    async def stop(self) -> None:
        # Every poll loop stops before any worker closes, so that none takes a new job meanwhile.
        for task in self._worker_tasks:
            task.cancel()
        for task in self._worker_tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        for worker in self._workers:
            await close_worker(worker)
        if self.fed is not None:
            await self.fed.client.aclose()
            await self.fed.key_client.aclose()
            if self.fed.moderation is not None:
                await self.fed.moderation.aclose()
        if self.streams is not None:
            await self.streams.stop()
        if self.redis is not None:
            await self.redis.aclose()
        if self.read_pool is not None and self.read_pool is not self.pool:
            await self.read_pool.close()
        if self.feed_pool is not None:
            await self.feed_pool.close()
        if self.pool is not None:
            await self.pool.close()
        if self._embedded_redis is not None:
            self._embedded_redis.stop()
            self._embedded_redis = None
        # Explicitly: uvicorn re-raises SIGTERM after its shutdown, so atexit hooks never run. Neither
        # stops a server that a running instance beside this process uses.
        if self._embedded_postgres is not None:
            await asyncio.to_thread(self._embedded_postgres.cleanup)
            self._embedded_postgres = None
