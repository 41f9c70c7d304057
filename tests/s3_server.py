"""A real S3-protocol server for the tests: moto's standalone server on loopback, over HTTP.

One server runs per test session (`s3_endpoint` in tests/conftest.py); every test that asks for
`s3_bucket` gets a bucket of its own there, so tests never see each other's files. Moto checks
what S3 checks that matters here: a missing bucket or key is a 404, an unsigned read of a
private object a 403, a signed address works until it expires, multipart uploads are assembled
with S3's ETags.
"""

from __future__ import annotations

import uuid

import httpx

from server.config import ObjectStorage
from server.media_store import LocalMediaStore, MediaStore, S3MediaStore

# Moto takes any credentials; the signatures are still computed and sent as to S3.
ACCESS_KEY_ID = "likeness-test"
SECRET_ACCESS_KEY = "likeness-test-secret"
REGION = "us-east-1"


def start_s3_server() -> tuple[object, str]:
    """Start moto's server on a free loopback port: (the server, its endpoint URL)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def new_bucket(endpoint: str, **options: object) -> ObjectStorage:
    """A new, empty bucket on the server at `endpoint`, as the settings that use it."""
    name = f"likeness-{uuid.uuid4().hex[:16]}"
    # Moto creates a bucket for an unsigned PUT, as S3 would for a signed one.
    response = httpx.put(f"{endpoint}/{name}", timeout=10)
    response.raise_for_status()
    return ObjectStorage(bucket=name, endpoint=endpoint, region=REGION, access_key_id=ACCESS_KEY_ID,
                         secret_access_key=SECRET_ACCESS_KEY, **options)  # type: ignore[arg-type]


def bucket_env(storage: ObjectStorage) -> dict[str, str]:
    """The environment variables that give a `likeness` process this bucket."""
    assert storage.endpoint and storage.access_key_id and storage.secret_access_key
    return {"LIKENESS_S3_BUCKET": storage.bucket, "LIKENESS_S3_ENDPOINT": storage.endpoint,
            "LIKENESS_S3_REGION": storage.region, "AWS_ACCESS_KEY_ID": storage.access_key_id,
            "AWS_SECRET_ACCESS_KEY": storage.secret_access_key}


async def bucket_keys(store: S3MediaStore) -> list[str]:
    """Every key in the store's bucket, listed as S3 lists them."""
    import obstore

    return [item["path"] async for batch in obstore.list(store._store) for item in batch]


async def stored_keys(store: MediaStore) -> set[str]:
    """Every key a media store holds, a local directory's or a bucket's."""
    if isinstance(store, S3MediaStore):
        return set(await bucket_keys(store))
    assert isinstance(store, LocalMediaStore)
    files = store.root.rglob("*") if store.root.exists() else []
    return {p.relative_to(store.root).as_posix() for p in files if p.is_file()}
