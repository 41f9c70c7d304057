"""Media in an S3-compatible bucket (moto's server, tests/s3_server.py) and in the local
directory, through the same tests: the stores themselves, uploads and their serving, the start
and /readyz with a bucket that cannot be used, and the settings."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from server.config import ConfigError, ObjectStorage, Settings
from server.media_store import (
    LocalMediaStore,
    MediaStore,
    MediaStoreUnavailable,
    S3MediaStore,
    multipart_etag,
    new_key,
    open_media_store,
)
from server.runtime import Instance
from tests.s3_server import bucket_keys, new_bucket, signed_for
from tests.test_cameos import _png
from tests.videos import make_mp4, upload_video

AP = "application/activity+json"


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> MediaStore:
    """Each store, empty: the local directory, and a bucket of the test's own."""
    config = request.getfixturevalue("s3_bucket") if request.param == "s3" else None
    return open_media_store(tmp_path / "media", tmp_path / "tmp", config)


# --- the stores --------------------------------------------------------------------------------


async def test_put_read_size_exists_delete(store: MediaStore, tmp_path: Path) -> None:
    source = tmp_path / "upload.bin"
    source.write_bytes(b"v" * 300_000)
    video, poster = new_key("videos", "mp4"), new_key("posters", "jpg")
    await store.check()

    assert not await store.exists(video)
    await store.put_file(video, source)
    await store.put_bytes(poster, b"jpeg bytes")
    assert source.exists(), "put_file copies; the caller owns its upload file"
    assert await store.exists(video) and await store.size(video) == 300_000
    assert await store.read_bytes(poster) == b"jpeg bytes"
    async with store.local_file(video) as path:
        assert path.read_bytes() == source.read_bytes()
    await store.put_bytes(poster, b"replaced")
    assert await store.read_bytes(poster) == b"replaced"

    await store.delete(video)
    await store.delete(video)  # deleting twice is fine: retries must not fail
    assert not await store.exists(video)
    for read in (store.size, store.read_bytes):
        with pytest.raises(FileNotFoundError):
            await read(video)
    with pytest.raises(FileNotFoundError):
        async with store.local_file(video):
            pass
    # Nothing fetched for a decoder is left behind.
    assert not [p for p in (tmp_path / "tmp").rglob("*") if p.is_file()]


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a//b", ".hidden", "a b"])
async def test_unsafe_keys_are_refused(store: MediaStore, key: str) -> None:
    with pytest.raises(ValueError):
        await store.put_bytes(key, b"x")
    with pytest.raises(ValueError):
        await store.exists(key)
    with pytest.raises(ValueError):
        await store.signed_url(key, 60)


async def test_a_large_file_goes_up_in_parts(s3_bucket: ObjectStorage, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("server.media_store.PART_SIZE", 5 * 1024 * 1024)  # S3's smallest part
    store = S3MediaStore(s3_bucket, tmp_path)
    source = tmp_path / "big.mp4"
    source.write_bytes(bytes(range(256)) * (11 * 1024 * 1024 // 256 + 7))
    key = new_key("videos", "mp4")
    await store.put_file(key, source)
    head = await store.head(key)
    # Three parts, assembled by the bucket, whose ETag is computed from what it received.
    assert head["e_tag"].strip('"') == multipart_etag(source, 5 * 1024 * 1024)
    assert head["e_tag"].strip('"').endswith("-3")
    async with store.local_file(key) as path:
        assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()


async def test_a_bucket_file_is_private_but_for_signed_addresses(s3_bucket: ObjectStorage,
                                                                 tmp_path: Path) -> None:
    store = S3MediaStore(s3_bucket, tmp_path)
    key = new_key("videos", "mp4")
    await store.put_bytes(key, b"0123456789" * 10)
    assert store.public_url(key) is None, "no CDN configured: nothing has a public address"
    async with httpx.AsyncClient() as client:
        unsigned = await client.get(f"{s3_bucket.endpoint}/{s3_bucket.bucket}/{key}")
        assert unsigned.status_code == 403
        signed = await store.signed_url(key, 60)
        assert signed is not None
        ranged = await client.get(signed, headers={"Range": "bytes=10-19"})
        assert ranged.status_code == 206 and ranged.content == b"0123456789"
        assert ranged.headers["content-type"] == "video/mp4"
    assert LocalMediaStore(tmp_path).public_url(key) is None
    cdn = S3MediaStore(ObjectStorage(**{**vars(s3_bucket), "public_base_url": "https://cdn.example"}),
                       tmp_path)
    assert cdn.public_url(key) == f"https://cdn.example/{key}"


def _other_name(endpoint: str) -> str:
    """The same moto server under another host name: a public address that reaches it too."""
    assert endpoint.startswith("http://127.0.0.1:")
    return endpoint.replace("127.0.0.1", "localhost", 1)


async def test_signed_addresses_name_the_public_endpoint_and_requests_go_to_the_internal_one(
        s3_bucket: ObjectStorage, tmp_path: Path) -> None:
    # A public endpoint the server cannot reach: every operation working shows they go inside.
    unreachable = S3MediaStore(ObjectStorage(**{**vars(s3_bucket), "public_endpoint": "http://media.invalid"}),
                               tmp_path)
    key = new_key("videos", "mp4")
    await unreachable.check()
    await unreachable.put_bytes(key, b"0123456789" * 10)
    assert await unreachable.read_bytes(key) == b"0123456789" * 10
    assert await unreachable.size(key) == 100
    signed = await unreachable.signed_url(key, 60)
    assert signed is not None and signed.startswith(f"http://media.invalid/{s3_bucket.bucket}/{key}?")

    public = _other_name(str(s3_bucket.endpoint))
    store = S3MediaStore(ObjectStorage(**{**vars(s3_bucket), "public_endpoint": public}), tmp_path)
    signed = await store.signed_url(key, 60)
    assert signed is not None and signed.startswith(f"{public}/{s3_bucket.bucket}/{key}?")
    async with httpx.AsyncClient() as client:
        assert (await client.get(signed)).content == b"0123456789" * 10
    # The signature covers the host (moto does not check it; a bucket behind a proxy that keeps
    # the Host does): good for the public host only, and the internal address is signed for its own.
    assert signed_for(signed, urlsplit(public).netloc)
    assert not signed_for(signed, urlsplit(str(s3_bucket.endpoint)).netloc)
    assert not signed_for(signed.replace("X-Amz-Signature=", "X-Amz-Signature=0"), urlsplit(public).netloc)
    inside = await S3MediaStore(s3_bucket, tmp_path).signed_url(key, 60)
    assert inside is not None and signed_for(inside, urlsplit(str(s3_bucket.endpoint)).netloc)
    await unreachable.delete(key)
    assert not await unreachable.exists(key)


@pytest.mark.parametrize("bad", ["no bucket", "no server", "bad name"])
async def test_a_bucket_that_cannot_be_used_stops_the_start(s3_bucket: ObjectStorage, tmp_path: Path,
                                                            database: str, redis_url: str,
                                                            bad: str) -> None:
    config = {"no bucket": ObjectStorage(**{**vars(s3_bucket), "bucket": "likeness-missing-bucket"}),
              "no server": ObjectStorage(**{**vars(s3_bucket), "endpoint": "http://127.0.0.1:9"}),
              "bad name": ObjectStorage(**{**vars(s3_bucket), "bucket": "Not_A_Bucket"})}[bad]
    with pytest.raises(MediaStoreUnavailable, match=f"bucket '{config.bucket}'"):
        await S3MediaStore(config, tmp_path).check()
    instance = Instance(Settings(data_dir=tmp_path, database_url=database, redis_url=redis_url,
                                 https=False, domain="127.0.0.1:9999", object_storage=config))
    with pytest.raises(ConfigError, match="media bucket"):
        await instance.start(workers=False)
    assert instance.pool is None and instance.redis is None, "nothing else was opened"


# --- served through an instance ----------------------------------------------------------------


async def _fetch(url: str, **headers: str) -> httpx.Response:
    """What a browser or peer gets: redirects followed."""
    async with httpx.AsyncClient(follow_redirects=True, timeout=30) as client:
        return await client.get(url, headers=headers)


def _path(url: str) -> str:
    return urlsplit(url).path


async def test_uploads_are_stored_and_served(make_instance, media_store, tmp_path: Path) -> None:
    a = await make_instance(**media_store)
    await a.signup("alice")
    clip = make_mp4(tmp_path / "v.mp4")
    media = await upload_video(a, "alice", clip)
    key = _path(media["url"]).removeprefix("/media/")
    assert await a.instance.media.read_bytes(key) == clip.read_bytes()
    posted = await a.api("alice", "POST", "/api/v1/statuses",
                         json={"status": "hi", "media_ids": [media["id"]]})
    assert posted.status_code == 200, posted.text
    url = posted.json()["media_attachments"][0]["url"]
    assert url == f"{a.base_url}/media/{key}", "no CDN: the server's own address"

    direct = await a.api(None, "GET", f"/media/{key}")
    if media_store:
        # From the bucket: a redirect to an address it signed, which a shared cache may keep a while.
        assert direct.status_code == 302 and direct.headers["cache-control"].startswith("public")
        assert direct.headers["location"].startswith(f"{media_store['object_storage'].endpoint}/")
    else:
        assert direct.status_code == 200
    whole = await _fetch(url)
    assert whole.status_code == 200 and whole.content == clip.read_bytes()
    assert whole.headers["content-type"] == "video/mp4"
    part = await _fetch(url, Range="bytes=100-199")
    assert part.status_code == 206 and part.content == clip.read_bytes()[100:200]
    async with httpx.AsyncClient(follow_redirects=True) as client:
        head = await client.head(url)
    assert head.status_code == 200 and int(head.headers["content-length"]) == clip.stat().st_size
    poster = await _fetch(posted.json()["media_attachments"][0]["preview_url"])
    assert poster.status_code == 200 and poster.content.startswith(b"\xff\xd8")

    # A file gone from the store is a 404, as is a key that was never stored.
    await a.instance.media.delete(key)
    assert (await a.api(None, "GET", f"/media/{key}")).status_code == 404
    assert (await a.api(None, "GET", f"/media/{new_key('videos', 'mp4')}")).status_code == 404
    assert (await a.api(None, "GET", "/media/../etc/passwd")).status_code == 404


async def test_a_private_upload_gets_no_public_address(make_instance, media_store) -> None:
    a = await make_instance(**media_store)
    await a.signup("alice")
    await a.signup("bob")
    upload = await a.api("alice", "POST", "/api/v2/media", files={"file": ("p.png", _png(), "image/png")})
    assert upload.status_code == 200, upload.text
    path = _path(upload.json()["url"])
    for user in (None, "bob"):
        assert (await a.api(user, "GET", path)).status_code == 404
    owner = await a.api("alice", "GET", path)
    assert owner.headers["cache-control"] == "private, no-store"
    if media_store:
        assert owner.status_code == 302
        assert (await _fetch(owner.headers["location"])).content == _png()
    else:
        assert owner.status_code == 200 and owner.content == _png()
    # Its signed link works for a browser that sends no token.
    assert (await _fetch(upload.json()["url"])).content == _png()


async def test_public_files_are_published_at_the_cdn(make_instance, s3_endpoint: str) -> None:
    bucket = new_bucket(s3_endpoint, public_base_url="https://cdn.example/media")
    a = await make_instance(object_storage=bucket)
    await a.signup("alice")
    upload = await a.api("alice", "POST", "/api/v2/media", files={"file": ("p.png", _png(), "image/png")})
    media = upload.json()
    assert media["url"].startswith(f"{a.base_url}/media/"), "private: the server's address, signed"
    key = _path(media["url"]).removeprefix("/media/")
    posted = await a.api("alice", "POST", "/api/v1/statuses",
                         json={"status": "hi", "media_ids": [media["id"]]})
    assert posted.json()["media_attachments"][0]["url"] == f"https://cdn.example/media/{key}"
    async with a.client() as client:
        note = (await client.get(posted.json()["uri"], headers={"Accept": AP})).json()
    assert note["attachment"][0]["url"] == f"https://cdn.example/media/{key}"
    # An old address of the server's own sends viewers to the CDN.
    served = await a.api(None, "GET", f"/media/{key}")
    assert served.status_code == 302 and served.headers["location"] == f"https://cdn.example/media/{key}"


async def test_media_redirects_name_the_public_endpoint(make_instance, s3_endpoint: str,
                                                        tmp_path: Path) -> None:
    public = _other_name(s3_endpoint)
    bucket = new_bucket(s3_endpoint, public_endpoint=public)
    a = await make_instance(object_storage=bucket)
    await a.signup("alice")
    clip = make_mp4(tmp_path / "v.mp4")
    media = await upload_video(a, "alice", clip)
    key = _path(media["url"]).removeprefix("/media/")
    # Private (an upload in no post yet), then public once posted: both redirects name the
    # public host, and a viewer following them gets the file.
    owner = await a.api("alice", "GET", f"/media/{key}")
    assert owner.status_code == 302 and owner.headers["location"].startswith(f"{public}/{bucket.bucket}/")
    assert (await _fetch(owner.headers["location"])).content == clip.read_bytes()
    posted = await a.api("alice", "POST", "/api/v1/statuses",
                         json={"status": "hi", "media_ids": [media["id"]]})
    assert posted.status_code == 200, posted.text
    viewer = await a.api(None, "GET", f"/media/{key}")
    assert viewer.status_code == 302 and viewer.headers["location"].startswith(f"{public}/{bucket.bucket}/")
    assert signed_for(viewer.headers["location"], urlsplit(public).netloc)
    part = await _fetch(posted.json()["media_attachments"][0]["url"], Range="bytes=100-199")
    assert part.status_code == 206 and part.content == clip.read_bytes()[100:200]


async def test_readyz_names_the_bucket_when_it_does_not_answer(make_instance, s3_bucket) -> None:
    a = await make_instance(object_storage=s3_bucket)
    assert (await a.api(None, "GET", "/readyz")).status_code == 200
    # The bucket goes (moto deletes an empty bucket for an unsigned DELETE).
    async with httpx.AsyncClient() as client:
        for key in await bucket_keys(a.instance.media):
            await a.instance.media.delete(key)
        assert (await client.delete(f"{s3_bucket.endpoint}/{s3_bucket.bucket}")).status_code == 204
    response = await a.api(None, "GET", "/readyz")
    assert response.status_code == 503 and response.json()["failed"] == ["bucket"]


# --- settings ----------------------------------------------------------------------------------


def test_settings_read_the_bucket_and_credentials() -> None:
    assert Settings.from_env({}).object_storage is None
    env = {"LIKENESS_S3_BUCKET": "media-1", "LIKENESS_S3_ENDPOINT": "http://minio:9000/",
           "LIKENESS_S3_REGION": "eu-west-3", "AWS_ACCESS_KEY_ID": "id",
           "AWS_SECRET_ACCESS_KEY": "very-secret", "LIKENESS_MEDIA_BASE_URL": "https://cdn.example/m/"}
    settings = Settings.from_env(env)
    config = settings.object_storage
    assert config == ObjectStorage(bucket="media-1", endpoint="http://minio:9000", region="eu-west-3",
                                   access_key_id="id", secret_access_key="very-secret",
                                   public_base_url="https://cdn.example/m")
    assert "very-secret" not in repr(settings)
    public = Settings.from_env({**env, "LIKENESS_S3_PUBLIC_ENDPOINT": "https://media.example/"}).object_storage
    assert public is not None and public.public_endpoint == "https://media.example"
    assert public.endpoint == "http://minio:9000", "the server's own requests stay inside"


@pytest.mark.parametrize("env, message", [
    ({"LIKENESS_S3_BUCKET": "No_Such"}, "LIKENESS_S3_BUCKET must be an S3 bucket name"),
    ({"LIKENESS_S3_ENDPOINT": "http://minio:9000"}, "LIKENESS_S3_ENDPOINT needs LIKENESS_S3_BUCKET"),
    ({"LIKENESS_MEDIA_BASE_URL": "https://cdn.example"}, "LIKENESS_MEDIA_BASE_URL needs LIKENESS_S3_BUCKET"),
    ({"LIKENESS_S3_BUCKET": "media", "LIKENESS_S3_ENDPOINT": "minio:9000"}, "LIKENESS_S3_ENDPOINT must be"),
    ({"LIKENESS_S3_BUCKET": "media", "AWS_ACCESS_KEY_ID": "id"}, "go together"),
    ({"LIKENESS_S3_BUCKET": "media", "LIKENESS_MEDIA_BASE_URL": "cdn"}, "LIKENESS_MEDIA_BASE_URL must be"),
    ({"LIKENESS_S3_PUBLIC_ENDPOINT": "https://media.example"},
     "LIKENESS_S3_PUBLIC_ENDPOINT needs LIKENESS_S3_BUCKET"),
    ({"LIKENESS_S3_BUCKET": "media", "LIKENESS_S3_ENDPOINT": "http://minio:9000",
      "LIKENESS_S3_PUBLIC_ENDPOINT": "media.example"}, "LIKENESS_S3_PUBLIC_ENDPOINT must be an http"),
    ({"LIKENESS_S3_BUCKET": "media", "LIKENESS_S3_ENDPOINT": "http://minio:9000",
      "LIKENESS_S3_PUBLIC_ENDPOINT": "https://example.org/media"},
     "LIKENESS_S3_PUBLIC_ENDPOINT must be a scheme"),
    ({"LIKENESS_S3_BUCKET": "media", "LIKENESS_S3_PUBLIC_ENDPOINT": "https://media.example"},
     "LIKENESS_S3_PUBLIC_ENDPOINT needs LIKENESS_S3_ENDPOINT"),
])
def test_bad_bucket_settings_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)
