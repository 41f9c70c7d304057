"""Password hashing: no hash at import, an unknown login costs what a known one does, and
concurrent hashes are bounded (queued, not refused)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time

import argon2
import pytest
from argon2.exceptions import VerifyMismatchError

from server import accounts, passwords


def test_importing_accounts_hashes_nothing():
    # Each argon2 hash holds 64 MiB: the start of a process must not pay one.
    script = ("import argon2\n"
              "def refuse(*args, **kwargs):\n    raise SystemExit('hashed at import')\n"
              "argon2.PasswordHasher.hash = refuse\nargon2.PasswordHasher.verify = refuse\n"
              "import server.accounts, server.app\nserver.app.create_app()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_dummy_hash_costs_what_a_real_one_does():
    real = argon2.PasswordHasher().hash("a password")
    assert argon2.extract_parameters(passwords.DUMMY_HASH) == argon2.extract_parameters(real)
    # A mismatch is only known once the hash is computed (a malformed one would fail at once).
    with pytest.raises(VerifyMismatchError):
        argon2.PasswordHasher().verify(passwords.DUMMY_HASH, "a password")


async def test_an_unknown_login_is_verified_like_a_known_one(monkeypatch):
    known = {"password_hash": await passwords.hash_password("the password"), "suspended": False,
             "disabled": False}
    verified: list[str] = []

    async def user_by_login(pool, name):
        return known if name == "alice" else None

    async def spy(password_hash, password):
        verified.append(password_hash)
        return await passwords.check_password(password_hash, password)

    monkeypatch.setattr(accounts.store, "user_by_login", user_by_login)
    monkeypatch.setattr(accounts, "check_password", spy)
    for name in ("alice", "nobody"):
        with pytest.raises(accounts.AccountError) as refused:
            await accounts.login(None, name, "not the password")
        assert refused.value.status == 401 and str(refused.value) == "wrong username or password"
    assert verified == [known["password_hash"], passwords.DUMMY_HASH]
    assert await accounts.login(None, "alice", "the password") is known


async def test_concurrent_hashes_are_bounded_and_queued(monkeypatch):
    slots = passwords._hashing._max_workers
    lock = threading.Lock()
    running = peak = 0

    class SlowHasher:
        def verify(self, password_hash, password):
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            time.sleep(0.05)
            with lock:
                running -= 1
            return password == "right"

    monkeypatch.setattr(passwords, "_hasher", SlowHasher())
    checks = [passwords.check_password("h", "right" if i % 2 else "wrong") for i in range(3 * slots + 1)]
    results = await asyncio.gather(*checks)
    assert results == [bool(i % 2) for i in range(3 * slots + 1)]
    assert peak == slots
