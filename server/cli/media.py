"""`likeness admin media migrate --to s3`: copy the media directory into the bucket.

It needs no database: every stored file is under LIKENESS_DATA_DIR/media at its key. Run it with
the LIKENESS_S3_* and AWS_* variables set, while the server still runs on the local directory;
run it again once the server is stopped (only what is new is copied), then start the server with
the bucket."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from ..config import Settings
from ..media_migration import ProgressBar, migrate_to_bucket
from ..media_store import MediaStoreUnavailable, S3MediaStore
from .common import fail


async def _migrate(settings: Settings) -> int:
    if settings.object_storage is None:
        return fail("set LIKENESS_S3_BUCKET (and LIKENESS_S3_ENDPOINT, AWS_ACCESS_KEY_ID,"
                    " AWS_SECRET_ACCESS_KEY) to the bucket to copy the media into")
    if not settings.media_dir.is_dir():
        return fail(f"there is no media directory at {settings.media_dir} (LIKENESS_DATA_DIR)")
    bucket = S3MediaStore(settings.object_storage, settings.tmp_dir)
    try:
        await bucket.check()
    except MediaStoreUnavailable as exc:
        return fail(str(exc))
    print(f"copying {settings.media_dir} to the {bucket.where}", file=sys.stderr)
    progress = ProgressBar(sys.stderr, interactive=sys.stderr.isatty())
    report = await migrate_to_bucket(settings.media_dir, bucket, progress)
    print(f"{report.copied} copied, {report.skipped} already in the bucket (checksums match),"
          f" {len(report.failed)} failed")
    for key in report.failed:
        print(f"failed: {key}: the bucket's checksum does not match the file's", file=sys.stderr)
    return 1 if report.failed else 0


def migrate(args: argparse.Namespace) -> int:
    return asyncio.run(_migrate(Settings.from_env()))


def add_commands(admin: Any) -> None:
    """Add `likeness admin media migrate --to s3`."""
    media = admin.add_parser("media", help="the instance's media files").add_subparsers(
        dest="media_command", required=True)
    p = media.add_parser("migrate", help="copy the media directory into the bucket of LIKENESS_S3_BUCKET:"
                                         " resumable, each object's checksum verified")
    p.add_argument("--to", choices=["s3"], required=True, help="where to copy the files")
    p.set_defaults(func=migrate)
