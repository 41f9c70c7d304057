"""Where media files live: a local directory (the embedded default) or an S3-compatible bucket.

Every process of an instance (web servers, federation and generation workers, on one machine or
many) reads and writes the same files through a `MediaStore`, so a worker with a data directory
of its own renders what the web server then serves. Keys are the same in both stores
("videos/Xy/3k/<token>.mp4"); `likeness admin media migrate --to s3` copies one into the other.

The bucket stays private: nothing in it is readable without a signature. Public files reach
their viewers from the bucket directly (an address signed for a while, or a CDN in front of the
bucket at LIKENESS_MEDIA_BASE_URL), private ones only after the server's checks. Signed
addresses name the bucket's public endpoint (LIKENESS_S3_PUBLIC_ENDPOINT), which may differ from
the internal one the server's own requests go to.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import hashlib
import mimetypes
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

if TYPE_CHECKING:
    from obstore.store import S3Store

    from .config import ObjectStorage

_KEY_SEGMENT = r"[A-Za-z0-9_-][A-Za-z0-9_.-]*"
# Segments may not start with a dot: that rules out "." and "..", and keeps keys apart from the
# ".*.tmp" names that atomic writes use.
_KEY = re.compile(rf"{_KEY_SEGMENT}(?:/{_KEY_SEGMENT})*")
_KEY_MAX_LENGTH = 512
_KEY_PART = re.compile(r"[a-z0-9_-]+")

# Files above this go up in parts of this size, several at once; S3's smallest part is 5 MiB.
PART_SIZE = 8 * 1024 * 1024
PART_CONCURRENCY = 4
# How long the start and /readyz wait for the bucket, and how often a request is retried.
CONNECT_TIMEOUT = "5s"
REQUEST_TIMEOUT = "120s"
RETRIES = 3


def check_key(key: str) -> str:
    """Return `key` if it is a safe relative storage key, else raise ValueError.

    Keys are built by `new_key`, but they come back from the database and from URLs, so they are
    checked again wherever they turn into a path or an object name.
    """
    if len(key) > _KEY_MAX_LENGTH or ".." in key or not _KEY.fullmatch(key):
        raise ValueError(f"invalid media key {key!r}")
    return key


def new_key(kind: str, extension: str) -> str:
    """An unguessable key such as "videos/Xy/3k/<token>.mp4".

    Media URLs are public but must not be enumerable, so the name is 144 random bits; two
    directory levels taken from it keep any one directory small.
    """
    if not _KEY_PART.fullmatch(kind) or not _KEY_PART.fullmatch(extension):
        raise ValueError(f"invalid media kind {kind!r} or extension {extension!r}")
    token = secrets.token_urlsafe(18)
    return f"{kind}/{token[:2]}/{token[2:4]}/{token}.{extension}"


class MediaStoreUnavailable(OSError):
    """The store cannot be reached or used (a bucket that is missing, refuses us, or is down)."""


class MediaStore(Protocol):
    """Where media files live. Writes are atomic: a key is either absent or complete."""

    async def put_file(self, key: str, source: Path) -> None:
        """Store a copy of `source` under `key`; `source` is left in place."""

    async def put_bytes(self, key: str, data: bytes) -> None: ...

    async def read_bytes(self, key: str) -> bytes:
        """The whole file, for small ones (images); FileNotFoundError if the key is absent."""

    def local_file(self, key: str) -> contextlib.AbstractAsyncContextManager[Path]:
        """The file as a local path while the block runs (a download, for a bucket), for the
        decoders that want one; FileNotFoundError if the key is absent."""

    async def size(self, key: str) -> int:
        """Size in bytes; FileNotFoundError if the key is absent."""

    async def delete(self, key: str) -> None:
        """Remove the key; absent keys are fine, so a retried delete succeeds."""

    async def exists(self, key: str) -> bool: ...

    def public_url(self, key: str) -> str | None:
        """Where viewers fetch a public file without this server (a CDN), or None."""

    async def signed_url(self, key: str, seconds: int) -> str | None:
        """An address of the file in the store that works for `seconds`, or None where the
        server serves the files itself (a local directory)."""

    async def check(self) -> None:
        """Raise MediaStoreUnavailable unless the store answers (the start and /readyz)."""


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalMediaStore:
    """A MediaStore in a local directory, whose files `media_response` can serve directly."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """The file for `key`. Local stores only: a bucket serves addresses, not paths."""
        return self.root / check_key(key)

    async def put_file(self, key: str, source: Path) -> None:
        target = self.path(key)

        def copy(out: BinaryIO) -> None:
            with open(source, "rb") as src:
                shutil.copyfileobj(src, out, 1024 * 1024)

        await asyncio.to_thread(self._write_atomic, target, copy)

    async def put_bytes(self, key: str, data: bytes) -> None:
        target = self.path(key)
        await asyncio.to_thread(self._write_atomic, target, lambda out: out.write(data))

    async def read_bytes(self, key: str) -> bytes:
        return await asyncio.to_thread(self.path(key).read_bytes)

    @contextlib.asynccontextmanager
    async def local_file(self, key: str) -> AsyncIterator[Path]:
        path = self.path(key)
        if not await asyncio.to_thread(path.is_file):
            raise FileNotFoundError(key)
        yield path

    async def size(self, key: str) -> int:
        result = await asyncio.to_thread(os.stat, self.path(key))
        return result.st_size

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, missing_ok=True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path(key).is_file)

    def public_url(self, key: str) -> str | None:
        check_key(key)
        return None

    async def signed_url(self, key: str, seconds: int) -> str | None:
        check_key(key)
        return None

    async def check(self) -> None:
        existing = self.root
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not await asyncio.to_thread(os.access, existing, os.W_OK):
            raise MediaStoreUnavailable(f"the media directory {self.root} is not writable")

    def _make_dirs(self, directory: Path) -> None:
        """Create `directory` and its missing parents, each made durable in its parent."""
        missing: list[Path] = []
        while not directory.is_dir():
            missing.append(directory)
            directory = directory.parent
        for created in reversed(missing):
            created.mkdir(exist_ok=True)
            _fsync_dir(created.parent)

    def _write_atomic(self, target: Path, fill: Callable[[BinaryIO], object]) -> None:
        """Write through a temporary file in the target's directory, then rename it.

        A crash or a full disk leaves either the old state or the complete file under the key,
        never a partial file that would be served as if it were whole.
        """
        self._make_dirs(target.parent)
        fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                fill(out)
                out.flush()
                os.fsync(out.fileno())
            # mkstemp makes the file private; media is public and may be served by a proxy.
            os.chmod(temp_name, 0o644)
            os.replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)


def content_type(key: str) -> str:
    """The type a bucket answers a key with: keys end in the extension their content was
    sniffed as (`new_key`), so it follows from the name."""
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


def multipart_etag(path: Path, part_size: int = PART_SIZE) -> str:
    """The ETag S3 gives `path`'s content uploaded as `S3MediaStore.put_file` does: the MD5 of a
    single-part object, else the MD5 of its parts' MD5s and the part count. The bucket computes
    it from the bytes it received, so a match verifies a copy (blocking: run it in a thread)."""
    digests = []
    with open(path, "rb") as file:
        while chunk := file.read(part_size):
            digests.append(hashlib.md5(chunk, usedforsecurity=False).digest())
    if len(digests) <= 1:
        return digests[0].hex() if digests else hashlib.md5(b"", usedforsecurity=False).hexdigest()
    joined = hashlib.md5(b"".join(digests), usedforsecurity=False).hexdigest()
    return f"{joined}-{len(digests)}"


def _s3_store(config: ObjectStorage, endpoint: str | None) -> S3Store:
    """An obstore client for the bucket at `endpoint` (None: AWS S3 itself)."""
    from obstore.store import S3Store

    credentials = {"access_key_id": config.access_key_id, "secret_access_key": config.secret_access_key,
                   "session_token": config.session_token}
    return S3Store(
        config.bucket,
        endpoint=endpoint,
        region=config.region,
        # AWS itself by bucket host name; a server of one's own (MinIO, Garage) by path.
        virtual_hosted_style_request=endpoint is None,
        **{name: value for name, value in credentials.items() if value},
        client_options={"allow_http": endpoint is not None and endpoint.startswith("http:"),
                        "connect_timeout": CONNECT_TIMEOUT, "timeout": REQUEST_TIMEOUT},
        retry_config={"max_retries": RETRIES, "retry_timeout": datetime.timedelta(seconds=30),
                      "backoff": {"init_backoff": datetime.timedelta(milliseconds=100),
                                  "max_backoff": datetime.timedelta(seconds=5), "base": 2.0}},
    )


class S3MediaStore:
    """A MediaStore in an S3-compatible bucket (AWS S3, MinIO, Garage, R2...), through obstore:
    an async client in Rust that uploads large files in parts, several at once."""

    def __init__(self, config: ObjectStorage, tmp_dir: Path) -> None:
        self.config = config
        self.tmp_dir = tmp_dir
        self._store = _s3_store(config, config.endpoint)
        # Signing makes no request: it only needs the host the address will be fetched at, which
        # the signature covers. The server's own requests keep to the internal endpoint.
        public = config.public_endpoint
        self._signer = self._store if public in (None, config.endpoint) else _s3_store(config, public)

    @property
    def where(self) -> str:
        return f"bucket {self.config.bucket!r} at {self.config.endpoint or 'AWS S3'}"

    async def put_file(self, key: str, source: Path) -> None:
        import obstore

        await obstore.put_async(self._store, check_key(key), Path(source), chunk_size=PART_SIZE,
                                max_concurrency=PART_CONCURRENCY,
                                attributes={"Content-Type": content_type(key)})

    async def put_bytes(self, key: str, data: bytes) -> None:
        import obstore

        await obstore.put_async(self._store, check_key(key), data,
                                attributes={"Content-Type": content_type(key)})

    async def read_bytes(self, key: str) -> bytes:
        import obstore

        result = await obstore.get_async(self._store, check_key(key))
        return bytes(await result.bytes_async())

    @contextlib.asynccontextmanager
    async def local_file(self, key: str) -> AsyncIterator[Path]:
        import obstore

        result = await obstore.get_async(self._store, check_key(key))
        await asyncio.to_thread(self.tmp_dir.mkdir, parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.tmp_dir, suffix=Path(key).suffix)
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in result.stream(min_chunk_size=1024 * 1024):
                    await asyncio.to_thread(out.write, chunk)
            yield path
        finally:
            await asyncio.to_thread(path.unlink, missing_ok=True)

    async def head(self, key: str) -> dict[str, Any]:
        """The object's size and ETag; FileNotFoundError if it is absent."""
        import obstore

        return dict(await obstore.head_async(self._store, check_key(key)))

    async def size(self, key: str) -> int:
        return int((await self.head(key))["size"])

    async def delete(self, key: str) -> None:
        import obstore

        # S3's DELETE succeeds for an absent key, as the protocol asks.
        await obstore.delete_async(self._store, check_key(key))

    async def exists(self, key: str) -> bool:
        try:
            await self.head(key)
        except FileNotFoundError:
            return False
        return True

    def public_url(self, key: str) -> str | None:
        base = self.config.public_base_url
        return f"{base}/{check_key(key)}" if base else None

    async def signed_url(self, key: str, seconds: int) -> str | None:
        import obstore

        return await obstore.sign_async(self._signer, "GET", check_key(key),
                                        datetime.timedelta(seconds=seconds))

    async def check(self) -> None:
        """Lists one key: that needs the bucket to exist, the endpoint to answer and the
        credentials to be good, and reads no object."""
        import obstore
        from obstore.exceptions import BaseError

        try:
            await obstore.list_with_delimiter_async(self._store, prefix=".likeness-check/")
        except (BaseError, OSError) as exc:
            raise MediaStoreUnavailable(f"the media {self.where} cannot be used: "
                                        f"{str(exc).splitlines()[0][:300]}") from None


def open_media_store(media_dir: Path, tmp_dir: Path, config: ObjectStorage | None) -> MediaStore:
    """The bucket when one is configured, else the local directory."""
    if config is None:
        return LocalMediaStore(media_dir)
    return S3MediaStore(config, tmp_dir)
