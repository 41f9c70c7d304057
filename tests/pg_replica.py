"""A real PostgreSQL primary and a streaming standby of it, for the read-replica tests.

Made with the local PostgreSQL binaries as an operator makes one: `initdb` a primary with
`wal_level=replica`, `pg_basebackup -R` a standby from it, start both on free loopback ports.
Neither touches the system cluster. PostgreSQL refuses to run as root, so as root (CI) every
command runs as the `postgres` system user, which owns the directories.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from tests.test_cli import _free_port

# Where Debian and Ubuntu install the server binaries, one directory per major version.
DEBIAN_BINARIES = Path("/usr/lib/postgresql")
RUN_AS = "postgres"
# Fast and throwaway: nothing here must survive a crash of the machine.
PRIMARY_CONF = """
listen_addresses = '127.0.0.1'
wal_level = replica
max_wal_senders = 4
hot_standby = on
fsync = off
full_page_writes = off
"""


def binaries() -> Path | None:
    """The newest local directory holding initdb, pg_ctl and pg_basebackup, or None."""
    needed = ("initdb", "pg_ctl", "pg_basebackup")
    versions = sorted((d for d in DEBIAN_BINARIES.glob("*/bin") if d.parent.name.isdigit()),
                      key=lambda d: int(d.parent.name), reverse=True)
    on_path = shutil.which("pg_basebackup")
    for directory in [*versions, *([Path(on_path).parent] if on_path else [])]:
        if all((directory / name).is_file() for name in needed):
            return directory
    return None


def why_not() -> str | None:
    """Why no pair can be made here, or None."""
    if binaries() is None:
        return f"no PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) in {DEBIAN_BINARIES}/*/bin"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(RUN_AS)
        except KeyError:
            return f"running as root, and there is no {RUN_AS!r} system user to run PostgreSQL as"
    return None


@dataclass
class Server:
    data: Path
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


class ReplicaPair:
    """A primary and its streaming standby, in a temporary directory, stopped by `stop`."""

    def __init__(self) -> None:
        found = binaries()
        assert found is not None, why_not()
        self.bin = found
        self.root = Path(tempfile.mkdtemp(prefix="likeness-replica-"))
        self.as_root = os.geteuid() == 0
        if self.as_root:
            self.root.chmod(0o755)
            user = pwd.getpwnam(RUN_AS)
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self.primary = Server(self.root / "primary", _free_port())
        self.standby = Server(self.root / "standby", _free_port())
        self.started: list[Server] = []

    def _run(self, *command: str) -> None:
        argv = [str(self.bin / command[0]), *command[1:]]
        if self.as_root:
            argv = ["runuser", "-u", RUN_AS, "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed ({done.returncode}): {done.stderr or done.stdout}")

    def _configure(self, server: Server, extra: str = "") -> None:
        # Later lines win, so a standby copied from the primary gets its own port and socket.
        with (server.data / "postgresql.conf").open("a") as conf:
            conf.write(f"{extra}\nport = {server.port}\nunix_socket_directories = '{self.root}'\n")

    def _start(self, server: Server) -> None:
        self._run("pg_ctl", "-D", str(server.data), "-l", str(self.root / f"{server.data.name}.log"),
                  "-w", "-t", "60", "start")
        if server not in self.started:
            self.started.append(server)

    def start(self) -> ReplicaPair:
        self._run("initdb", "-D", str(self.primary.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-sync")
        self._configure(self.primary, PRIMARY_CONF)
        with (self.primary.data / "pg_hba.conf").open("a") as hba:
            hba.write("host replication postgres 127.0.0.1/32 trust\n")
        self._start(self.primary)
        self._run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres",
                  "-D", str(self.standby.data), "-R", "-X", "stream", "-c", "fast", "--no-sync")
        self._configure(self.standby)
        self._start(self.standby)
        return self

    def stop_standby(self) -> None:
        self._run("pg_ctl", "-D", str(self.standby.data), "-m", "fast", "-w", "stop")
        self.started.remove(self.standby)

    def start_standby(self) -> None:
        self._start(self.standby)

    def stop(self) -> None:
        for server in reversed(self.started):
            self._run("pg_ctl", "-D", str(server.data), "-m", "immediate", "-w", "stop")
        self.started.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    async def caught_up(self, timeout: float = 30) -> None:
        """Wait until the standby has replayed everything the primary has written so far."""
        primary = await asyncpg.connect(self.primary.url())
        standby = await asyncpg.connect(self.standby.url())
        try:
            lsn = await primary.fetchval("SELECT pg_current_wal_lsn()::text")
            async with asyncio.timeout(timeout):
                while not await standby.fetchval("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", lsn):
                    await asyncio.sleep(0.02)
        finally:
            await primary.close()
            await standby.close()

    async def pause_replay(self) -> None:
        """Stop the standby applying what it receives: from now on it lags the primary."""
        standby = await asyncpg.connect(self.standby.url())
        try:
            await standby.execute("SELECT pg_wal_replay_pause()")
            while await standby.fetchval("SELECT pg_get_wal_replay_pause_state()") != "paused":
                await asyncio.sleep(0.02)
        finally:
            await standby.close()

    async def resume_replay(self) -> None:
        standby = await asyncpg.connect(self.standby.url())
        try:
            await standby.execute("SELECT pg_wal_replay_resume()")
        finally:
            await standby.close()
        await self.caught_up()
