"""The one settings object, read from the environment.

Every knob an operator can turn is here and in the README's table; nothing else in the code
reads `os.environ`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path


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


@dataclass(frozen=True)
class Settings:
    domain: str = "localhost:8000"
    https: bool = True
    data_dir: Path = Path("data")
    database_url: str | None = None
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
            redis_url=env.get("REDIS_URL") or None,
            allow_private_fetch=_flag(env, "LIKENESS_ALLOW_PRIVATE_FETCH", False),
            registrations_open=_flag(env, "LIKENESS_REGISTRATIONS_OPEN", True),
            max_upload_bytes=_int(env, "LIKENESS_MAX_UPLOAD_MB", 99) * 1024 * 1024,
            log_json=_flag(env, "LIKENESS_LOG_JSON", False),
            run_workers=None if not workers else _flag(env, "LIKENESS_RUN_WORKERS", True),
            instance_name=env.get("LIKENESS_INSTANCE_NAME") or "Likeness",
        )

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)

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
