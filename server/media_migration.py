"""Copy an instance's media directory into its bucket (`likeness admin media migrate --to s3`).

Resumable: an object already in the bucket whose ETag matches the local file is skipped, so a
run cut short is run again to finish. Verified: the ETag is what the bucket computed from the
bytes it received (the MD5, or the MD5 of the parts' MD5s for a multipart upload), compared with
the same computed here from the file; an object that does not match (a copy cut short, damaged,
or another file) is copied again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from .media import format_bytes
from .media_store import S3MediaStore, check_key, multipart_etag

# A copy whose ETag does not match is tried this many times before the run reports it.
ATTEMPTS = 2


@dataclass
class MigrationReport:
    copied: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)
    bytes_copied: int = 0


def local_keys(root: Path) -> Iterator[tuple[str, Path]]:
    """Every stored file under `root` as (key, path), in key order; temporary files of writes in
    progress (".name.tmp") are not keys and are left out."""
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        key = path.relative_to(root).as_posix()
        try:
            yield check_key(key), path
        except ValueError:
            continue


async def _etag(bucket: S3MediaStore, key: str) -> str | None:
    try:
        return str((await bucket.head(key))["e_tag"]).strip('"')
    except FileNotFoundError:
        return None


async def migrate_to_bucket(root: Path, bucket: S3MediaStore,
                            progress: Callable[[int, int, int, int], None]) -> MigrationReport:
    """Copy every file under `root` to `bucket` unless it is there already, verifying each;
    `progress(files done, files, bytes done, bytes)` is called after each file."""
    files = [(key, path, path.stat().st_size) for key, path in local_keys(root)]
    total = sum(size for _, _, size in files)
    report, done = MigrationReport(), 0
    for number, (key, path, size) in enumerate(files, 1):
        expected = await asyncio.to_thread(multipart_etag, path)
        if await _etag(bucket, key) == expected:
            report.skipped += 1
        else:
            for _ in range(ATTEMPTS):
                await bucket.put_file(key, path)
                if await _etag(bucket, key) == expected:
                    report.copied += 1
                    report.bytes_copied += size
                    break
            else:
                report.failed.append(key)
        done += size
        progress(number, len(files), done, total)
    return report


class ProgressBar:
    """A progress line on stderr: redrawn in place on a terminal, one line per step otherwise
    (a log file, a test reading the output)."""

    WIDTH = 30

    def __init__(self, stream: TextIO, *, interactive: bool) -> None:
        self.stream = stream
        self.interactive = interactive
        self.started = time.monotonic()

    def __call__(self, files_done: int, files: int, bytes_done: int, total: int) -> None:
        filled = self.WIDTH * bytes_done // total if total else self.WIDTH
        rate = bytes_done / max(time.monotonic() - self.started, 1e-6)
        line = (f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {files_done}/{files} files,"
                f" {format_bytes(bytes_done)} of {format_bytes(total)} ({format_bytes(int(rate))}/s)")
        end = "" if self.interactive and files_done < files else "\n"
        print(("\r" if self.interactive else "") + line, end=end, file=self.stream, flush=True)
