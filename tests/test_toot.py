"""toot, a real Mastodon command-line client, against Likeness over real HTTP: it registers an
app and logs in with the password grant (`toot login_cli`), posts, and lists who follows an
account, each by running the `toot` program as a person would."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import PASSWORD

TOOT = [sys.executable, "-m", "toot"]


async def _toot(config_home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `toot` with its configuration under `config_home`, off the event loop that serves."""
    env = {**os.environ, "XDG_CONFIG_HOME": str(config_home), "NO_COLOR": "1"}
    return await asyncio.to_thread(subprocess.run, [*TOOT, *args], env=env, capture_output=True,
                                   text=True, timeout=120)


async def test_toot_logs_in_posts_and_lists_followers(make_instance, tmp_path):
    a = await make_instance("a")
    await a.signup("alice")
    await a.signup("bob")
    home = tmp_path / "toot"

    login = await _toot(home, "login_cli", "--instance", a.base_url, "--email", "alice@example.com",
                        "--password", PASSWORD)
    assert login.returncode == 0, login.stdout + login.stderr
    assert "Successfully logged in" in login.stdout

    posted = await _toot(home, "post", "hello from #toot")
    assert posted.returncode == 0, posted.stdout + posted.stderr
    alice = (await a.api("alice", "GET", "/api/v1/accounts/verify_credentials")).json()
    statuses = (await a.api("alice", "GET", f"/api/v1/accounts/{alice['id']}/statuses")).json()
    assert [s["content"] for s in statuses] and "hello from" in statuses[0]["content"]

    follow = await a.api("bob", "POST", f"/api/v1/accounts/{alice['id']}/follow")
    assert follow.status_code == 200 and follow.json()["following"]
    listed = await _toot(home, "followers", "--json")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert [account["acct"] for account in json.loads(listed.stdout)] == ["bob"]
