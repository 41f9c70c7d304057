"""Password hashing (argon2id), bounded and off the event loop.

Each argon2 hash or verification holds 64 MiB (argon2-cffi's default memory cost) for its
duration, so the number that run at once is bounded: logins beyond it wait their turn in a
queue, as they would for a CPU, rather than fail or multiply the process's memory. More at
once than there are cores would add memory and no throughput.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import ARGON2_VERSION

T = TypeVar("T")

_hasher = PasswordHasher()
# A thread pool of its own: its queue is where logins wait, without holding the event loop's
# default threads (file I/O) and without being bound to one event loop as a semaphore is.
_hashing = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="argon2")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _dummy_hash(hasher: PasswordHasher) -> str:
    """A well-formed hash with `hasher`'s parameters that no password matches, made without
    hashing (which would cost 64 MiB and a fraction of a second at import): verifying against
    it costs what verifying a real hash does, since the cost is in the parameters, not in the
    salt or digest."""
    parameters = f"m={hasher.memory_cost},t={hasher.time_cost},p={hasher.parallelism}"
    salt, digest = secrets.token_bytes(hasher.salt_len), secrets.token_bytes(hasher.hash_len)
    return f"$argon2{hasher.type.name.lower()}$v={ARGON2_VERSION}${parameters}${_b64(salt)}${_b64(digest)}"


# Verified against when the login is unknown, so timing does not tell which names exist.
DUMMY_HASH = _dummy_hash(_hasher)


async def _in_pool(work: Callable[[], T]) -> T:
    return await asyncio.get_running_loop().run_in_executor(_hashing, work)


async def hash_password(password: str) -> str:
    return await _in_pool(lambda: _hasher.hash(password))


async def check_password(password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await _in_pool(verify)
