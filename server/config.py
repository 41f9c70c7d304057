"""The one settings object, read from the environment.

Every knob an operator can turn is here and in the README's table; nothing else in the code
reads `os.environ`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from federation.cameos import MAX_REFERENCES
from federation.fetch import OutboundLimits
from federation.leases import LEASE_S
from federation.moderation_endpoint import ModerationEndpoint
from generation.config import GenerationConfig, defaults_for
from policy.prompts import MAX_CAMEOS
from policy.rate_limits import DEFAULT_LIMITS, RateLimit, RateLimitError, env_name, parse_limit

# Where the project offers its source code (LIKENESS_SOURCE_URL overrides it).
SOURCE_URL = "https://likeness.social/source"


class ConfigError(ValueError):
    """An environment variable holds a value the server cannot use."""


def _flag(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be 0 or 1, not {raw!r}")


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, not {raw!r}") from None


def _port(env: dict[str, str], name: str) -> int | None:
    if not env.get(name):
        return None
    port = _int(env, name, 0)
    if not 1 <= port <= 65535:
        raise ConfigError(f"{name} must be a port (1-65535), not {port}")
    return port


def _number(env: dict[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, not {raw!r}")
    return value


def _bounded(env: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    value = _int(env, name, default)
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _path(env: dict[str, str], name: str) -> Path | None:
    raw = env.get(name)
    return Path(raw).expanduser().resolve() if raw else None


_URL = re.compile(r"https?://[^\s/?#]+(/\S*)?")


def _url(env: dict[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip()
    if raw and not _URL.fullmatch(raw):
        raise ConfigError(f"{name} must be an http(s) URL, not {raw!r}")
    return raw or default


_DEVICE = re.compile(r"cpu|cuda(:\d+)?|mps|xpu(:\d+)?")
_DTYPES = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16",
           "float16": "float16", "fp16": "float16"}


def _replica_url(env: dict[str, str]) -> str | None:
    """DATABASE_REPLICA_URL, which only an instance with a DATABASE_URL may have: the embedded
    PostgreSQL has no replica."""
    raw = env.get("DATABASE_REPLICA_URL", "").strip()
    if not raw:
        return None
    if not env.get("DATABASE_URL"):
        raise ConfigError("DATABASE_REPLICA_URL needs DATABASE_URL: it is a replica of that database")
    if not raw.startswith(("postgresql://", "postgres://")):
        # Not the URL itself, which may hold a password.
        raise ConfigError("DATABASE_REPLICA_URL must be a postgresql:// URL")
    return raw


def _generation(env: dict[str, str]) -> GenerationConfig:
    """The LIKENESS_GENERATION_* variables (and the model and C2PA paths), checked here so that a
    typo stops the server at start rather than failing every job. Size, steps and frame rate
    default to the model's: the tiny model's own small ones, or a real model's."""
    model_dir = _path(env, "LIKENESS_MODEL_DIR")
    defaults = defaults_for(model_dir)
    device = env.get("LIKENESS_GENERATION_DEVICE") or defaults.device
    if not _DEVICE.fullmatch(device):
        raise ConfigError(f"LIKENESS_GENERATION_DEVICE must be cpu, cuda, cuda:N, mps or xpu:N,"
                          f" not {device!r}")
    dtype = env.get("LIKENESS_GENERATION_DTYPE") or defaults.dtype
    if dtype.lower() not in _DTYPES:
        raise ConfigError(f"LIKENESS_GENERATION_DTYPE must be float32, bfloat16 or float16, not {dtype!r}")
    attention = env.get("LIKENESS_GENERATION_ATTENTION") or None
    if attention is not None and not re.fullmatch(r"[a-z0-9_]+", attention):
        raise ConfigError(f"LIKENESS_GENERATION_ATTENTION must be a diffusers attention backend name,"
                          f" not {attention!r}")
    cert_chain, private_key = _path(env, "LIKENESS_C2PA_CERT_CHAIN"), _path(env, "LIKENESS_C2PA_PRIVATE_KEY")
    if (cert_chain is None) != (private_key is None):
        raise ConfigError("LIKENESS_C2PA_CERT_CHAIN and LIKENESS_C2PA_PRIVATE_KEY go together: set both or"
                          " neither")
    max_duration = _number(env, "LIKENESS_GENERATION_MAX_DURATION_S", defaults.max_duration_s, 0.5, 60)
    return GenerationConfig(
        model_dir=model_dir,
        device=device,
        dtype=_DTYPES[dtype.lower()],
        steps=_bounded(env, "LIKENESS_GENERATION_STEPS", defaults.steps, 1, 200),
        width=_bounded(env, "LIKENESS_GENERATION_WIDTH", defaults.width, 16, 2048),
        height=_bounded(env, "LIKENESS_GENERATION_HEIGHT", defaults.height, 16, 2048),
        fps=_bounded(env, "LIKENESS_GENERATION_FPS", defaults.fps, 1, 60),
        default_duration_s=_number(env, "LIKENESS_GENERATION_DURATION_S",
                                   min(defaults.default_duration_s, max_duration), 0.1, max_duration),
        max_duration_s=max_duration,
        provenance=_flag(env, "LIKENESS_GENERATION_PROVENANCE", defaults.provenance),
        max_active_jobs_per_user=_bounded(env, "LIKENESS_GENERATION_MAX_ACTIVE_JOBS",
                                          defaults.max_active_jobs_per_user, 1, 1000),
        max_jobs_per_day=_bounded(env, "LIKENESS_GENERATION_MAX_JOBS_PER_DAY", defaults.max_jobs_per_day,
                                  0, 1_000_000),
        max_attempts=_bounded(env, "LIKENESS_GENERATION_MAX_ATTEMPTS", defaults.max_attempts, 1, 100),
        heartbeat_timeout_s=_number(env, "LIKENESS_GENERATION_HEARTBEAT_TIMEOUT_S",
                                    defaults.heartbeat_timeout_s, 5, 3600),
        c2pa_cert_chain=cert_chain,
        c2pa_private_key=private_key,
        attention_backend=attention,
        compile=_flag(env, "LIKENESS_GENERATION_COMPILE", defaults.compile),
        batch_guidance=_flag(env, "LIKENESS_GENERATION_BATCH_GUIDANCE", defaults.batch_guidance),
        max_reference_images=_bounded(env, "LIKENESS_GENERATION_MAX_REFERENCE_IMAGES",
                                      defaults.max_reference_images, MAX_CAMEOS,
                                      MAX_CAMEOS * MAX_REFERENCES),
        draft_retention_days=_bounded(env, "LIKENESS_DRAFT_RETENTION_DAYS", defaults.draft_retention_days,
                                      0, 3650),
        nsfw_threshold=_number(env, "LIKENESS_NSFW_THRESHOLD", defaults.nsfw_threshold, 0, 1),
    )


def _outbound(env: dict[str, str]) -> OutboundLimits:
    """The LIKENESS_OUTBOUND_* bounds on every request the server sends."""
    defaults = OutboundLimits()
    return OutboundLimits(
        deadline=_number(env, "LIKENESS_OUTBOUND_DEADLINE_S", defaults.deadline, 1, 600),
        max_bytes=_bounded(env, "LIKENESS_OUTBOUND_MAX_MB", defaults.max_bytes // (1024 * 1024), 1, 1024)
        * 1024 * 1024,
        per_host=_bounded(env, "LIKENESS_OUTBOUND_PER_HOST", defaults.per_host, 1, defaults.connections),
    )


def _moderation(env: dict[str, str]) -> ModerationEndpoint | None:
    """LIKENESS_MODERATION_*: the prompt policy's endpoint layer, when a URL is given."""
    url = _url(env, "LIKENESS_MODERATION_URL", "")
    if not url:
        return None
    return ModerationEndpoint(url, model=env.get("LIKENESS_MODERATION_MODEL", "").strip(),
                              api_key=env.get("LIKENESS_MODERATION_API_KEY", "").strip(),
                              timeout_s=_number(env, "LIKENESS_MODERATION_TIMEOUT_S", 2.0, 0.1, 60))


def _rate_limits(env: dict[str, str]) -> dict[str, RateLimit]:
    """The defaults of policy/rate_limits.py, with LIKENESS_RATE_LIMIT_* overrides; a variable
    that names no limit is a typo, and stops the server."""
    limits = dict(DEFAULT_LIMITS)
    names = {env_name(name): name for name in DEFAULT_LIMITS}
    for variable, raw in env.items():
        if not variable.startswith("LIKENESS_RATE_LIMIT_") or not raw:
            continue
        if variable not in names:
            raise ConfigError(f"{variable} names no rate limit; known: {', '.join(sorted(names))}")
        try:
            limits[names[variable]] = parse_limit(raw)
        except RateLimitError as exc:
            raise ConfigError(f"{variable}: {exc}") from None
    return limits


@dataclass(frozen=True)
class ObjectStorage:
    """An S3-compatible bucket for every media file (server/media_store.py)."""

    bucket: str
    # None: AWS S3 itself, whose address follows from the region.
    endpoint: str | None = None
    # Where browsers and peers reach the bucket, when that is not `endpoint` (an internal
    # address behind a proxy): the host signed addresses name. None: `endpoint` itself.
    public_endpoint: str | None = None
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    # A CDN (or a public bucket) that serves public files at `<base>/<key>`; None: the server
    # hands out addresses signed for a while.
    public_base_url: str | None = None

    def __repr__(self) -> str:
        # Settings are logged and shown in errors; the secret never is.
        return (f"ObjectStorage(bucket={self.bucket!r}, endpoint={self.endpoint!r}, "
                f"public_endpoint={self.public_endpoint!r}, region={self.region!r})")


_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def _public_endpoint(env: dict[str, str], endpoint: str | None) -> str | None:
    """LIKENESS_S3_PUBLIC_ENDPOINT: the bucket's server as browsers and peers reach it.

    A signature covers the host and path it was made for, so the proxy in front must pass both
    through unchanged: an address with a path of its own (which a proxy would strip) could never
    be fetched, nor could one for AWS S3 itself, which answers only its own host names.
    """
    public = _url(env, "LIKENESS_S3_PUBLIC_ENDPOINT", "").rstrip("/")
    if not public:
        return None
    if endpoint is None:
        raise ConfigError("LIKENESS_S3_PUBLIC_ENDPOINT needs LIKENESS_S3_ENDPOINT: AWS S3 is reached at"
                          " its own address")
    if urlsplit(public).path:
        raise ConfigError(f"LIKENESS_S3_PUBLIC_ENDPOINT must be a scheme and host with no path, not"
                          f" {public!r}: the bucket's server must get the signed path unchanged")
    return public


def _object_storage(env: dict[str, str]) -> ObjectStorage | None:
    """LIKENESS_S3_* and the usual AWS_* credentials; no bucket: the local media directory."""
    bucket = env.get("LIKENESS_S3_BUCKET", "").strip()
    if not bucket:
        for name in ("LIKENESS_S3_ENDPOINT", "LIKENESS_S3_PUBLIC_ENDPOINT", "LIKENESS_MEDIA_BASE_URL"):
            if env.get(name, "").strip():
                raise ConfigError(f"{name} needs LIKENESS_S3_BUCKET: without a bucket media stays in the"
                                  " data directory")
        return None
    if not _BUCKET.fullmatch(bucket):
        raise ConfigError(f"LIKENESS_S3_BUCKET must be an S3 bucket name, not {bucket!r}")
    key_id, secret = env.get("AWS_ACCESS_KEY_ID") or None, env.get("AWS_SECRET_ACCESS_KEY") or None
    if (key_id is None) != (secret is None):
        raise ConfigError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together: set both or neither")
    base = _url(env, "LIKENESS_MEDIA_BASE_URL", "").rstrip("/")
    endpoint = _url(env, "LIKENESS_S3_ENDPOINT", "").rstrip("/") or None
    return ObjectStorage(
        bucket=bucket,
        endpoint=endpoint,
        public_endpoint=_public_endpoint(env, endpoint),
        region=env.get("LIKENESS_S3_REGION", "").strip() or env.get("AWS_REGION", "").strip() or "us-east-1",
        access_key_id=key_id,
        secret_access_key=secret,
        session_token=env.get("AWS_SESSION_TOKEN") or None,
        public_base_url=base or None,
    )


@dataclass(frozen=True)
class Settings:
    domain: str = "localhost:8000"
    https: bool = True
    data_dir: Path = Path("data")
    database_url: str | None = None
    # A streaming replica of `database_url` for the reads that may lag it: timelines, For You,
    # profiles and public collections (Instance.read_pool). Unset: those read the primary.
    database_replica_url: str | None = None
    redis_url: str | None = None
    allow_private_fetch: bool = False
    registrations_open: bool = True
    max_upload_bytes: int = 99 * 1024 * 1024
    max_inbox_bytes: int = 1024 * 1024
    log_json: bool = False
    # Workers in-process with `serve`: the default when Redis is embedded, so that one command
    # gives a whole instance.
    run_workers: bool | None = None
    instance_name: str = "Likeness"
    # Where the source code this server runs is offered (the AGPL asks an operator who changed it
    # to offer theirs): the instance's `source_url` and NodeInfo's `software.repository`.
    source_url: str = SOURCE_URL
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    # Requests per period, by `family.scope` (policy/rate_limits.py).
    rate_limits: Mapping[str, RateLimit] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    # How long a worker's claim on a delivery or inbox activity lasts unless renewed: how soon
    # the work in flight of a worker that died is taken up by another (federation/leases.py).
    federation_lease_s: float = LEASE_S
    # Deadline, size and connections per host of every outbound request (federation/fetch.py).
    outbound: OutboundLimits = field(default_factory=OutboundLimits)
    # Which of `domain` and `https` were asked for (LIKENESS_DOMAIN, LIKENESS_HTTPS; `serve` asks
    # for both): a start that asks for another origin than the instance's stops; the parts not
    # asked for are the instance's, as for an admin command.
    origin_asked: frozenset[str] = frozenset({"domain", "https"})
    # /metrics: on a port of its own (on metrics_host), or behind this bearer token; with
    # neither it is not served (server/metrics.py).
    metrics_token: str | None = None
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    # Media in an S3-compatible bucket; None: in `media_dir`.
    object_storage: ObjectStorage | None = None
    # An OpenAI-compatible moderation endpoint the prompt policy asks after its own layers
    # (federation/moderation_endpoint.py); None: not asked.
    moderation: ModerationEndpoint | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        domain = env.get("LIKENESS_DOMAIN", "").strip() or "localhost:8000"
        if "/" in domain or " " in domain:
            raise ConfigError(f"LIKENESS_DOMAIN must be a host[:port], not {domain!r}")
        workers = env.get("LIKENESS_RUN_WORKERS")
        return cls(
            domain=domain.lower(),
            https=_flag(env, "LIKENESS_HTTPS", True),
            data_dir=Path(env.get("LIKENESS_DATA_DIR") or "data").resolve(),
            database_url=env.get("DATABASE_URL") or None,
            database_replica_url=_replica_url(env),
            redis_url=env.get("REDIS_URL") or None,
            allow_private_fetch=_flag(env, "LIKENESS_ALLOW_PRIVATE_FETCH", False),
            registrations_open=_flag(env, "LIKENESS_REGISTRATIONS_OPEN", True),
            max_upload_bytes=_int(env, "LIKENESS_MAX_UPLOAD_MB", 99) * 1024 * 1024,
            log_json=_flag(env, "LIKENESS_LOG_JSON", False),
            run_workers=None if not workers else _flag(env, "LIKENESS_RUN_WORKERS", True),
            instance_name=env.get("LIKENESS_INSTANCE_NAME") or "Likeness",
            source_url=_url(env, "LIKENESS_SOURCE_URL", SOURCE_URL),
            generation=_generation(env),
            rate_limits=_rate_limits(env),
            federation_lease_s=_number(env, "LIKENESS_FEDERATION_LEASE_S", LEASE_S, 1, 3600),
            outbound=_outbound(env),
            metrics_token=env.get("LIKENESS_METRICS_TOKEN") or None,
            metrics_port=_port(env, "LIKENESS_METRICS_PORT"),
            metrics_host=env.get("LIKENESS_METRICS_HOST") or "127.0.0.1",
            object_storage=_object_storage(env),
            moderation=_moderation(env),
            origin_asked=frozenset(part for part, variable in (("domain", "LIKENESS_DOMAIN"),
                                                               ("https", "LIKENESS_HTTPS"))
                                   if env.get(variable, "").strip()),
        )

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)

    def with_origin(self, origin: str) -> Settings:
        """These settings at `origin` (scheme://host[:port])."""
        scheme, _, domain = origin.partition("://")
        return replace(self, domain=domain, https=scheme == "https")

    @property
    def scheme(self) -> str:
        return "https" if self.https else "http"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.domain}"

    @property
    def workers_in_process(self) -> bool:
        if self.run_workers is not None:
            return self.run_workers
        return self.redis_url is None

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def tmp_dir(self) -> Path:
        """Uploads being checked, and files fetched from the bucket for a decoder."""
        return self.data_dir / "tmp"
