"""`likeness admin media migrate --to s3` as an operator runs it, against moto's S3 server: a run
cut short and run again, an object damaged in the bucket copied again, each object's checksum
verified, and the refusals."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from server.config import ObjectStorage
from server.media_migration import migrate_to_bucket
from server.media_store import S3MediaStore, new_key
from tests.s3_server import bucket_keys

COMMAND = [sys.executable, "-m", "server.cli", "admin", "media", "migrate", "--to", "s3"]


def _env(data_dir: Path, bucket: ObjectStorage | None) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("LIKENESS_", "AWS_"))}
    env["LIKENESS_DATA_DIR"] = str(data_dir)
    if bucket is not None:
        env.update({"LIKENESS_S3_BUCKET": bucket.bucket, "LIKENESS_S3_ENDPOINT": str(bucket.endpoint),
                    "AWS_ACCESS_KEY_ID": str(bucket.access_key_id),
                    "AWS_SECRET_ACCESS_KEY": str(bucket.secret_access_key)})
    return env


def _media(data_dir: Path) -> dict[str, bytes]:
    """An instance's media directory: three videos large enough to go up in parts, then small
    images (keys sort that way), and a write in progress that is no file yet."""
    files = {}
    for n in range(3):
        files[new_key("a-videos", "mp4")] = bytes([n]) * (9 * 1024 * 1024 + n)
    for n in range(4):
        files[new_key("posters", "jpg")] = os.urandom(1000 + n)
    for key, data in files.items():
        path = data_dir / "media" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (path.parent / ".upload.tmp").write_bytes(b"half")
    return dict(sorted(files.items()))


def _run(data_dir: Path, bucket: ObjectStorage | None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(COMMAND, env=_env(data_dir, bucket), capture_output=True, text=True, timeout=120)


async def test_an_interrupted_migration_is_resumed_and_verified(s3_bucket: ObjectStorage,
                                                                tmp_path: Path) -> None:
    files = _media(tmp_path)
    keys = list(files)
    # Cut short once two files are in the bucket.
    process = subprocess.Popen(COMMAND, env=_env(tmp_path, s3_bucket), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    lines = []
    for line in process.stderr:
        lines.append(line)
        if " 2/7 files" in line:
            process.send_signal(signal.SIGKILL)
            break
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL, lines
    assert lines[0].startswith(f"copying {tmp_path / 'media'} to the bucket '{s3_bucket.bucket}'")
    assert lines[-1].startswith("[") and "2/7 files" in lines[-1] and "of 27 MB" in lines[-1]

    bucket = S3MediaStore(s3_bucket, tmp_path)
    assert await bucket.read_bytes(keys[1]) == files[keys[1]]
    # Damaged in the bucket since: the first file's object no longer matches it.
    await bucket.put_bytes(keys[0], b"not the video")

    resumed = _run(tmp_path, s3_bucket)
    assert resumed.returncode == 0, resumed.stderr
    counts = re.match(r"(\d+) copied, (\d+) already in the bucket", resumed.stdout)
    assert counts, resumed.stdout
    copied, skipped = int(counts[1]), int(counts[2])
    # The second file is not copied again; the damaged one and those never copied are.
    assert skipped >= 1 and copied >= 1 and copied + skipped == 7, resumed.stdout
    assert resumed.stdout.strip().endswith("0 failed")
    assert resumed.stderr.count("files,") == 7 and "7/7 files" in resumed.stderr
    for key, data in files.items():
        assert await bucket.read_bytes(key) == data, key
    assert sorted(await bucket_keys(bucket)) == keys, "a write in progress is no file to copy"

    again = _run(tmp_path, s3_bucket)
    assert again.returncode == 0 and again.stdout.startswith("0 copied, 7 already in the bucket")


async def test_a_copy_the_bucket_does_not_verify_is_reported(s3_bucket: ObjectStorage,
                                                             tmp_path: Path) -> None:
    files = _media(tmp_path)

    class Damaging(S3MediaStore):
        """A bucket whose copies of one file arrive damaged."""

        async def put_file(self, key: str, source: Path) -> None:
            if key == list(files)[-1]:
                await self.put_bytes(key, b"damaged on the way")
            else:
                await super().put_file(key, source)

    seen: list[int] = []
    report = await migrate_to_bucket(tmp_path / "media", Damaging(s3_bucket, tmp_path),
                                     lambda done, *_: seen.append(done))
    assert report.failed == [list(files)[-1]] and report.copied == 6 and report.skipped == 0
    assert seen == [1, 2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize("bad", ["no bucket set", "no such bucket", "no media directory"])
def test_refusals(s3_bucket: ObjectStorage, tmp_path: Path, bad: str) -> None:
    if bad != "no media directory":
        _media(tmp_path)
    bucket = {"no bucket set": None,
              "no such bucket": ObjectStorage(**{**vars(s3_bucket), "bucket": "likeness-no-such-bucket"}),
              "no media directory": s3_bucket}[bad]
    result = _run(tmp_path, bucket)
    message = {"no bucket set": "error: set LIKENESS_S3_BUCKET",
               "no such bucket": "error: the media bucket 'likeness-no-such-bucket' at",
               "no media directory": "error: there is no media directory at"}[bad]
    assert result.returncode == 1 and result.stderr.startswith(message), result.stderr
    assert result.stdout == ""
