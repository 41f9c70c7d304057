"""What the federation layer needs from the running instance, passed in by the server.

The server owns configuration; federation code sees only this object, so the layers keep
pointing one way (server -> federation).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import asyncpg
import httpx
from cachetools import LRUCache
from cryptography.hazmat.primitives.asymmetric import ec
from redis.exceptions import RedisError

from . import background
from .batching import Batches
from .domain_rules import DomainRules
from .leases import LEASE_S, Leases
from .moderation_endpoint import Moderation
from .queue import enqueue_job
from .shared_cache import SharedCache

log = logging.getLogger(__name__)

# How long a process trusts its own note that a peer is marked reachable.
PEERS_SEEN_RELOAD_S = 60.0
# Rendered status entities kept per process: a few thousand of the most shown posts, some MB.
RENDERED_STATUSES = 5_000


async def _no_peers() -> set[str]:
    return set()


@dataclass
class Federation:
    base_url: str
    pool: asyncpg.Pool
    client: httpx.AsyncClient
    # The client that fetches the keys of inbound signatures: a pool of its own, so that inbound
    # federation keeps working while lookups are stuck on slow servers. None: `client`.
    key_client: httpx.AsyncClient = None  # type: ignore[assignment]
    # The arq pool used to enqueue delivery and inbox jobs; None in code paths that only read.
    queue: Any = None
    queue_name: str = "arq:queue"
    max_document_bytes: int = 1_000_000
    # How long a verified cameo consent holds before the next view checks it again.
    consent_ttl: float = 60.0
    # Private keys of local actors, loaded once (the future of each parse, shared by everyone
    # who asks meanwhile): signing is on every delivery's hot path.
    key_cache: dict[int, Any] = field(default_factory=dict)
    # Remote public keys by key id, (owner, key, loaded at): verifying is on every inbox POST.
    public_key_cache: dict[str, tuple[str, Any, float]] = field(default_factory=dict)
    # The inbox's inserts, batched (federation/batching.py): concurrent POSTs share one statement
    # and one commit. Made at first use (federation/inbox.py).
    inbox_inserts: Batches[Any, Any] | None = None
    # Work done after the answer it belongs to (`in_background`), while it runs.
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    # Peers this process has marked reachable lately, so that the inbox writes that once per host,
    # not per request; emptied every minute, and in every process when one marks a peer
    # unreachable (a peer that talks to any machine must not stay marked).
    peers_seen: SharedCache[set[str]] = None  # type: ignore[assignment]
    # This instance's prompt rules (admin terms, public figures): every prompt is checked against
    # them, and they change rarely (`federation.prompts`). Made at first use.
    prompt_rules: SharedCache[Any] | None = None
    # Domain blocks and allow-list mode, cached; `Instance` shares it with the HTTP client.
    rules: DomainRules = None  # type: ignore[assignment]
    # The deliveries and inbox activities this process works on, whose leases it renews; the
    # lease's length is how soon another worker takes up the work of one that died.
    leases: Leases = None  # type: ignore[assignment]
    # The instance's VAPID key, which signs its Web Push requests (`federation.push`); made at
    # the first start and kept in the instance settings. None where nothing pushes.
    vapid_key: ec.EllipticCurvePrivateKey | None = None
    # Where public media files are served from when not by this server: a CDN in front of the
    # media bucket (LIKENESS_MEDIA_BASE_URL). None: this server's /media/.
    media_base_url: str | None = None
    # Status entities as rendered for any viewer, by post id, each with the stamp of the rows it
    # was rendered from (server/store/posts.py STAMP): a timeline page shows one only while
    # PostgreSQL gives the same stamp, so an edit, a delete or a new count is seen at once.
    rendered_statuses: LRUCache = field(default_factory=lambda: LRUCache(maxsize=RENDERED_STATUSES))
    # The prompt policy's moderation endpoint layer (federation/moderation_endpoint.py); None
    # where the operator configured none.
    moderation: Moderation | None = None

    def __post_init__(self) -> None:
        if self.key_client is None:
            self.key_client = self.client
        if self.rules is None:
            self.rules = DomainRules(self.pool, self.domain)
        if self.leases is None:
            self.leases = Leases(self.pool, LEASE_S)
        if self.peers_seen is None:
            self.peers_seen = SharedCache(_no_peers, reload_s=PEERS_SEEN_RELOAD_S, redis=self.queue,
                                          version_key=f"{self.queue_name}:peers-unreachable-version")

    @property
    def domain(self) -> str:
        return urlsplit(self.base_url).netloc

    def actor_uri(self, username: str) -> str:
        return f"{self.base_url}/users/{username}"

    def media_address(self, key: str) -> str:
        """The address published for a public media file (a posted video, a poster, an avatar):
        the CDN's when there is one, so that viewers and peers fetch it from there."""
        if self.media_base_url:
            return f"{self.media_base_url}/{key}"
        return f"{self.base_url}/media/{key}"

    @property
    def instance_actor_uri(self) -> str:
        return f"{self.base_url}/actor"

    @property
    def shared_inbox(self) -> str:
        return f"{self.base_url}/inbox"

    def is_local(self, uri: str | None) -> bool:
        if not uri:
            return False
        try:
            parts = urlsplit(uri)
        except ValueError:  # `http://[::1` names no server, this one least of all
            return False
        return f"{parts.scheme}://{parts.netloc}".lower() == self.base_url.lower()

    def in_background(self, work: Coroutine[Any, Any, Any]) -> None:
        """Do `work` after the answer that it would otherwise hold up."""
        background.start(self.background, work, "background work")

    async def enqueue(self, function: str, *args: Any, job_id: str | None = None,
                      defer_by: float | None = None) -> None:
        """Queue an arq job, waking the workers (`federation.queue`). A lost job is found again
        by the sweepers, so failures only log."""
        if self.queue is None:
            return
        # arq's job ids are global to a Redis: qualified by the queue, they never collide.
        job_id = f"{self.queue_name}:{job_id if job_id is not None else uuid4().hex}"
        try:
            await enqueue_job(self.queue, self.queue_name, function, args, job_id, defer_by=defer_by)
        except (OSError, RedisError) as exc:
            log.warning("could not queue %s%r, the sweeper will: %s", function, args, exc)
