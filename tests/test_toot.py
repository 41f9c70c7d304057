"""toot, a real Mastodon command-line client, against Likeness over real HTTP: it registers an
app and logs in both ways (the password grant of `toot login_cli`, and `toot login`'s
authorization-code flow with the browser's part done over HTTP), posts text and a video, follows,
and lists followers and following, each by running the `toot` program as a person would."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import PASSWORD
from tests.videos import make_mp4

TOOT = [sys.executable, "-m", "toot"]


def _env(config_home: Path) -> dict[str, str]:
    return {**os.environ, "XDG_CONFIG_HOME": str(config_home), "NO_COLOR": "1"}


async def _toot(config_home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `toot` with its configuration under `config_home`, off the event loop that serves."""
    return await asyncio.to_thread(subprocess.run, [*TOOT, *args], env=_env(config_home),
                                   capture_output=True, text=True, timeout=120)


async def _ok(config_home: Path, *args: str) -> str:
    done = await _toot(config_home, *args)
    assert done.returncode == 0, f"toot {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


async def test_toot_logs_in_posts_and_lists_followers(make_instance, tmp_path):
    a = await make_instance("a")
    await a.signup("alice")
    await a.signup("bob")
    home = tmp_path / "toot"

    login = await _ok(home, "login_cli", "--instance", a.base_url, "--email", "alice@example.com",
                      "--password", PASSWORD)
    assert "Successfully logged in" in login
    assert (await _ok(home, "whoami")).startswith("@alice")

    assert "Toot posted" in await _ok(home, "post", "hello from #toot")
    # toot uploads the video, waits while the server checks it, then posts it.
    video = make_mp4(tmp_path / "clip.mp4")
    posted = await _ok(home, "post", "a clip", "--media", str(video), "--description", "a clip")
    assert "Toot posted" in posted
    alice = (await a.api("alice", "GET", "/api/v1/accounts/verify_credentials")).json()
    statuses = (await a.api("alice", "GET", f"/api/v1/accounts/{alice['id']}/statuses")).json()
    assert ["a clip" in statuses[0]["content"], "hello from" in statuses[1]["content"]] == [True, True]
    assert statuses[0]["media_attachments"][0]["type"] == "video"

    assert "You are now following bob" in await _ok(home, "follow", "bob")
    assert "@bob" in await _ok(home, "following")
    follow = await a.api("bob", "POST", f"/api/v1/accounts/{alice['id']}/follow")
    assert follow.status_code == 200 and follow.json()["following"]
    followers = json.loads(await _ok(home, "followers", "--json"))
    assert [account["acct"] for account in followers] == ["bob"]


async def test_toot_logs_in_with_the_authorization_code(make_instance, tmp_path):
    a = await make_instance("a")
    await a.signup("alice")
    home = tmp_path / "toot"
    toot = await asyncio.create_subprocess_exec(
        *TOOT, "login", "--instance", a.base_url, env=_env(home), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    assert toot.stdin is not None and toot.stdout is not None
    printed = ""
    while "http" not in printed.split("Login URL:")[-1]:
        line = await asyncio.wait_for(toot.stdout.readline(), 60)
        assert line, printed
        printed += line.decode()
    url = re.search(r"(http\S+/oauth/authorize\S+)", printed).group(1)
    async with a.client() as browser:
        form = await browser.get(url, follow_redirects=True)
        assert form.status_code == 200, form.text
        fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form.text))
        page = await browser.post("/oauth/authorize", data={**fields, "username": "alice",
                                                           "password": PASSWORD, "decision": "allow"})
    code = re.search(r"<code>([^<]+)</code>", page.text).group(1)
    # "Open link in default browser?" no; then the code the page showed.
    out, _ = await asyncio.wait_for(toot.communicate(f"n\n{code}\n".encode()), 60)
    assert toot.returncode == 0 and "Successfully logged in" in out.decode(), out.decode()
    assert (await _ok(home, "whoami")).startswith("@alice")
