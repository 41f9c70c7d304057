"""Prometheus metrics and health checks: `GET /metrics`, `/livez` and `/readyz`.

The counters of the web server are here (requests by route template and status, with their
latency); federation/metrics.py and generation/metrics.py count what those layers do. Queue
depths, generation jobs by state and the deliveries queued per peer host are read from Redis
and PostgreSQL at each scrape.

Several processes (`serve --processes N`, workers on the same machine) share their counts through
prometheus_client's multiprocess mode: the `likeness` command points PROMETHEUS_MULTIPROC_DIR at
a directory under the data directory before anything imports prometheus_client
(server/cli/main.py `prepare_metrics`), and a scrape of any of them sums every process's files.

/metrics is never public by default: it answers on LIKENESS_METRICS_PORT (a socket of its own,
on LIKENESS_METRICS_HOST), or on the main port to a `Bearer LIKENESS_METRICS_TOKEN`, or not at all.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import os
import time
from collections.abc import Iterator

import asyncpg
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from federation import store as federation_store
from generation import store as generation_store

from . import store
from .http import error
from .runtime import Instance

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"  # see prometheus_client.multiprocess
# How long /readyz waits for each of PostgreSQL, Redis and the bucket.
READY_TIMEOUT_S = 2.0
# Peer hosts whose delivery backlog gets a series of its own: the ones with the most queued, so
# that a thousand peers make twenty series, not a thousand.
BACKLOG_HOSTS = 20

REQUESTS = Counter("likeness_http_requests_total", "HTTP requests answered, by method, route template"
                   " and status", ["method", "route", "status"])
LATENCY = Histogram("likeness_http_request_duration_seconds", "Seconds from a request's start to its"
                    " response's end, by method and route template", ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))


class RequestMetrics:
    """Counts and times every HTTP request by its route's template (never the raw path, which
    would make a series per URL)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            counted, timed = _series(scope["method"], route, status)
            counted.inc()
            timed.observe(time.perf_counter() - started)


@functools.lru_cache(maxsize=4096)
def _series(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    """The counter and histogram children of one method, route template and status, looked up
    once: `labels()` takes a lock and builds a key on every call, a cost on every request. The
    routes are templates, so there are few keys; the bound keeps a flood of odd methods small."""
    return REQUESTS.labels(method, route, str(status)), LATENCY.labels(method, route)


class _Snapshot:
    """Gauges read just before a scrape, handed to a registry as they are."""

    def __init__(self, metrics: list[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        yield from self.metrics


async def _read_at_scrape(instance: Instance) -> list[Metric]:
    assert instance.redis is not None and instance.fed is not None and instance.jobs is not None
    queues = GaugeMetricFamily("likeness_queue_depth", "Jobs waiting in a Redis queue (due or deferred)",
                               labels=["queue"])
    for label, name in (("federation", instance.fed.queue_name), ("generation", instance.jobs.name)):
        queues.add_metric([label], await instance.redis.zcard(name))
    jobs = GaugeMetricFamily("likeness_generation_jobs", "Generation jobs by state", labels=["state"])
    for state, count in sorted((await generation_store.jobs_by_state(instance.pool)).items()):
        jobs.add_metric([state], count)
    hosts, total = await federation_store.backlog_by_host(instance.pool, BACKLOG_HOSTS)
    backlog = GaugeMetricFamily("likeness_peer_backlog", f"Deliveries queued for a peer host, for the"
                                f" {BACKLOG_HOSTS} hosts with the most", labels=["host"])
    for host, count in hosts:
        backlog.add_metric([host], count)
    queued = GaugeMetricFamily("likeness_deliveries_queued", "Deliveries queued for every peer host together",
                               value=total)
    return [queues, jobs, backlog, queued, *await _replica_lag(instance)]


async def _replica_lag(instance: Instance) -> list[Metric]:
    """How many bytes of the primary's log the replica has yet to apply: what its readers do not
    see yet. In bytes, not seconds: the time since the last replayed commit grows on an idle
    primary too. Nothing where there is no replica, it is a writable server, or it does not
    answer (which /readyz reports), so that the rest of the scrape still comes."""
    assert instance.pool is not None and instance.read_pool is not None
    if instance.read_pool is instance.pool:
        return []
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            behind = await store.replay_behind(instance.read_pool, await store.wal_position(instance.pool))
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return []
    if behind is None:
        return []
    return [GaugeMetricFamily("likeness_replica_replay_lag_bytes", "Bytes of the primary's write-ahead"
                              " log that DATABASE_REPLICA_URL has not applied yet", value=behind)]


async def exposition(instance: Instance) -> bytes:
    """Every process's counters and the gauges read now, in Prometheus's text format."""
    counted = REGISTRY
    if os.environ.get(MULTIPROCESS_VARIABLE):
        counted = CollectorRegistry()
        MultiProcessCollector(counted)
    now = CollectorRegistry()
    now.register(_Snapshot(await _read_at_scrape(instance)))
    return generate_latest(counted) + generate_latest(now)


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def _serve_metrics(request: Request, *, on_metrics_port: bool) -> Response:
    instance: Instance = request.app.state.instance
    settings = instance.settings
    if not on_metrics_port and (settings.metrics_token is None or settings.metrics_port is not None):
        return error(404, "not found")
    if settings.metrics_token is not None and not hmac.compare_digest(
            _bearer(request).encode(), settings.metrics_token.encode()):
        return error(401, "the metrics token is missing or wrong", headers={"WWW-Authenticate": "Bearer"})
    return Response(await exposition(instance), media_type=CONTENT_TYPE_LATEST)


async def metrics(request: Request) -> Response:
    """/metrics on the main port: only with LIKENESS_METRICS_TOKEN set and no metrics port."""
    return await _serve_metrics(request, on_metrics_port=False)


async def port_metrics(request: Request) -> Response:
    return await _serve_metrics(request, on_metrics_port=True)


async def livez(request: Request) -> Response:
    """The process is up and answers."""
    return PlainTextResponse("ok")


async def _media_answers(instance: Instance) -> bool:
    assert instance.media is not None
    await instance.media.check()  # MediaStoreUnavailable (an OSError) when it does not
    return True


async def readyz(request: Request) -> Response:
    """PostgreSQL (and its replica, where DATABASE_REPLICA_URL is set), Redis and the media bucket
    (where there is one) answer; otherwise 503, naming which did not."""
    instance: Instance = request.app.state.instance
    assert instance.pool is not None and instance.read_pool is not None and instance.redis is not None
    assert instance.media is not None
    checks = {"postgresql": store.database_answers(instance.pool), "redis": instance.redis.ping()}
    if instance.read_pool is not instance.pool:
        checks["postgresql_replica"] = store.database_answers(instance.read_pool)
    if instance.settings.object_storage is not None:
        checks["bucket"] = _media_answers(instance)
    failed = []
    for name, check in checks.items():
        try:
            async with asyncio.timeout(READY_TIMEOUT_S):
                if not await check:
                    failed.append(name)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, RedisError):
            failed.append(name)
    if failed:
        return JSONResponse({"status": "unavailable", "failed": failed}, status_code=503)
    return JSONResponse({"status": "ok"})


routes = [Route("/metrics", metrics), Route("/livez", livez), Route("/readyz", readyz)]


def metrics_app(instance: Instance) -> Starlette:
    """What the metrics port serves: /metrics and the health checks, nothing else."""
    app = Starlette(routes=[Route("/metrics", port_metrics), Route("/livez", livez),
                            Route("/readyz", readyz)])
    app.state.instance = instance
    return app


class ByPort:
    """The main app, except on the metrics port's socket, which gets `metrics_app`. Lifespan
    events go to the main app alone, which owns the instance."""

    def __init__(self, main: Starlette, metrics_port: int) -> None:
        self.main = main
        self.metrics = metrics_app(main.state.instance)
        self.metrics_port = metrics_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server")
        if scope["type"] != "lifespan" and server is not None and server[1] == self.metrics_port:
            await self.metrics(scope, receive, send)
        else:
            await self.main(scope, receive, send)
