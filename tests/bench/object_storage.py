"""Object storage throughput: a 50 MB video stored in and served from an S3 bucket (moto's
server, in a process of its own on loopback) through the media store and GET /media/{key},
side by side with a plain copy to and from the same server and with the local directory.

    python -m tests.bench.object_storage [--mb 50] [--runs 3]

Upload: `S3MediaStore.put_file` (multipart, 8 MiB parts, four at a time) against one plain PUT
of the whole file by httpx to an address the bucket signed; `LocalMediaStore.put_file`
(fsync'd) for scale. Serve: GET /media/{key} from a server running `stored_response` (a 302 to
an address the bucket signed, followed by the client) against a plain GET of that signed
address, and the local directory's FileResponse.
The upload inspection (decoding the video) is the same for both stores and is left out. Prints
a table of the best of `--runs`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import httpx
import obstore
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.config import ObjectStorage
from server.media import stored_response
from server.media_store import LocalMediaStore, MediaStore, S3MediaStore, new_key
from tests.bench.servers import free_port
from tests.s3_server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY


def _moto(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return process
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("moto's server did not start")


async def _best(runs: int, action: Callable[[], Awaitable[object]]) -> float:
    """The fastest of `runs` timings, in seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        await action()
        times.append(time.perf_counter() - start)
    return min(times)


def _app(stores: dict[str, MediaStore]) -> Starlette:
    async def serve(request: Request) -> Response:
        store = stores[request.path_params["store"]]
        return await stored_response(request, store, request.path_params["key"], "video/mp4", private=False)

    return Starlette(routes=[Route("/{store}/media/{key:path}", serve)])


async def _get(client: httpx.AsyncClient, url: str, size: int) -> None:
    received = 0
    async with client.stream("GET", url) as response:
        response.raise_for_status()
        async for chunk in response.aiter_raw(1024 * 1024):
            received += len(chunk)
    assert received == size, (received, size)


async def main(mb: int, runs: int) -> None:
    moto_port, app_port = free_port(), free_port()
    moto = _moto(moto_port)
    endpoint = f"http://127.0.0.1:{moto_port}"
    server = None
    task = None
    try:
        with tempfile.TemporaryDirectory() as workdir:
            root = Path(workdir)
            video = root / "video.mp4"
            video.write_bytes(os.urandom(mb * 1024 * 1024))
            size = video.stat().st_size
            bucket = S3MediaStore(ObjectStorage(bucket="bench-media", endpoint=endpoint, region=REGION,
                                                access_key_id=ACCESS_KEY_ID,
                                                secret_access_key=SECRET_ACCESS_KEY), root / "tmp")
            local = LocalMediaStore(root / "media")
            key = new_key("videos", "mp4")
            data = video.read_bytes()

            async with httpx.AsyncClient(timeout=300, follow_redirects=True) as client:
                (await client.put(f"{endpoint}/bench-media")).raise_for_status()
                # The plain copy: one PUT of the whole file, by httpx, to an address the bucket signed.
                put_url = await obstore.sign_async(bucket._store, "PUT", "plain.mp4", timedelta(hours=1))

                async def plain_put() -> None:
                    (await client.put(put_url, content=data)).raise_for_status()

                rows = [("upload: plain PUT of the file to moto", await _best(runs, plain_put)),
                        ("upload: S3MediaStore.put_file (8 MiB parts x4)",
                         await _best(runs, lambda: bucket.put_file(key, video))),
                        ("upload: LocalMediaStore.put_file (fsync)",
                         await _best(runs, lambda: local.put_file(key, video)))]

                config = uvicorn.Config(_app({"s3": bucket, "local": local}), host="127.0.0.1",
                                        port=app_port, log_level="warning", access_log=False)
                server = uvicorn.Server(config)
                task = asyncio.create_task(server.serve())
                while not server.started:
                    await asyncio.sleep(0.02)
                signed = await bucket.signed_url(key, 3600)
                assert signed is not None
                rows += [
                    ("serve: plain GET of the signed address from moto",
                     await _best(runs, lambda: _get(client, signed, size))),
                    ("serve: GET /media/{key}, 302 to the bucket",
                     await _best(runs, lambda: _get(client, f"http://127.0.0.1:{app_port}/s3/media/{key}",
                                                    size))),
                    ("serve: GET /media/{key} from the local directory",
                     await _best(runs, lambda: _get(client, f"http://127.0.0.1:{app_port}/local/media/{key}",
                                                    size))),
                ]
    finally:
        if server is not None and task is not None:
            server.should_exit = True
            await task
        moto.terminate()
        moto.wait(timeout=30)

    print(f"\nObject storage, a {mb} MB file, best of {runs} (moto's S3 server on loopback, HTTP)\n")
    print(f"| {'operation':<50} | {'seconds':>8} | {'MB/s':>7} |")
    print(f"|{'-' * 52}|{'-' * 10}|{'-' * 9}|")
    for name, seconds in rows:
        print(f"| {name:<50} | {seconds:>8.3f} | {mb / seconds:>7.1f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.mb, args.runs))
