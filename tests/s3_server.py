"""A real S3-protocol server for the tests: moto's standalone server on loopback, over HTTP.

One server runs per test session (`s3_endpoint` in tests/conftest.py); every test that asks for
`s3_bucket` gets a bucket of its own there, so tests never see each other's files. Moto checks
what S3 checks that matters here: a missing bucket or key is a 404, an unsigned read of a
private object a 403, a signed address works until it expires, multipart uploads are assembled
with S3's ETags. It does not check a signed address's signature, which covers the host the
address names: `signed_for` does, as a bucket behind a proxy would.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from urllib.parse import parse_qsl, quote, urlsplit

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


def signed_for(url: str, host: str, secret: str = SECRET_ACCESS_KEY) -> bool:
    """Whether `url`'s SigV4 query signature is good for a GET that arrives with `host` as its
    Host header: what S3, MinIO or Garage recompute from the request they receive."""
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    signature = params.pop("X-Amz-Signature", "")
    if params.get("X-Amz-SignedHeaders") != "host":
        return False
    query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(params.items()))
    canonical = "\n".join(["GET", quote(parts.path, safe="/-_.~"), query, f"host:{host}", "", "host",
                           "UNSIGNED-PAYLOAD"])
    scope = params["X-Amz-Credential"].split("/", 1)[1]
    to_sign = "\n".join(["AWS4-HMAC-SHA256", params["X-Amz-Date"], scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = f"AWS4{secret}".encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.compare_digest(hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), signature)
