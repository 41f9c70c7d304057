"""A render of this instance cannot be laundered into an ordinary upload: the same bytes, a file
carrying this instance's C2PA manifest, or a re-encoded copy of a remix's render is refused by
the upload check (it would otherwise be posted with no cameo owner's consent attached, and
outlive their revocation); a remix is still published through its remix."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from generation import fingerprint as fp
from generation.provenance import C2PASigner, signed_by
from server.upload_checks import RENDER_OF_THIS_SERVER, video_fingerprint
from tests.conftest import TEST_GENERATION, eventually
from tests.test_generation_jobs import _generate
from tests.test_generation_jobs import _state as _job_state
from tests.test_remix_posts import _authorized_remix, _draft
from tests.videos import make_mp4, moving_shapes, upload_video, write_mp4


async def _draft_bytes(instance, media_id) -> bytes:
    """The draft's file as its requester downloaded it (read from storage, not by URL)."""
    key = await instance.pool.fetchval("SELECT storage_key FROM media WHERE id = $1", int(media_id))
    return instance.instance.media.path(key).read_bytes()


async def _upload_refused(instance, user, content: bytes) -> str:
    """Upload a video and wait for its check; the media id, after asserting it was refused as a
    render of this server."""
    response = await instance.api(user, "POST", "/api/v2/media",
                                  files={"file": ("mine.mp4", content, "video/mp4")})
    assert response.status_code == 202, response.text
    media_id = response.json()["id"]

    async def settled():
        media = await instance.api(user, "GET", f"/api/v1/media/{media_id}")
        return media if media.status_code != 206 else None

    media = await eventually(settled)
    assert (media.status_code, media.json()) == (422, {"error": RENDER_OF_THIS_SERVER})
    return media_id


def _reencoded(content: bytes, path: Path, *, scale: float, crf: int) -> bytes:
    """The video decoded and encoded again with PyAV, scaled and at another quality: other
    bytes, the same picture."""
    source = path.with_suffix(".source.mp4")
    source.write_bytes(content)
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate
        frames = [frame.to_image() for frame in container.decode(stream)]
    width, height = (round(side * scale / 2) * 2 for side in frames[0].size)
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": str(crf)}
        for frame in frames:
            picture = frame.resize((width, height), Image.Resampling.BILINEAR)
            container.mux(stream.encode(av.VideoFrame.from_image(picture)))
        container.mux(stream.encode())
    return path.read_bytes()


async def test_a_downloaded_draft_uploaded_again_is_refused_and_its_remix_still_publishes(make_instance):
    a, b, remix, _ = await _authorized_remix(make_instance)
    draft = await _draft(b, "bob", remix["id"])
    content = await _draft_bytes(b, draft["result"]["id"])

    media_id = await _upload_refused(b, "bob", content)
    posted = await b.api("bob", "POST", "/api/v1/statuses", json={"status": "mine", "media_ids": [media_id]})
    assert posted.status_code == 422
    assert posted.json()["error"] == f"media {media_id} cannot be published: {RENDER_OF_THIS_SERVER}"
    assert await b.pool.fetchval("SELECT count(*) FROM posts") == 0
    # Refused files are deleted, as the safety check's are.
    key = await b.pool.fetchval("SELECT storage_key FROM media WHERE id = $1", int(media_id))
    assert not b.instance.media.path(key).exists()

    # Published through its remix (the draft's own media row, never an upload), it goes out.
    response = await b.api("bob", "POST", f"/api/v1/remixes/{remix['id']}/publish",
                           json={"media_id": draft["result"]["id"], "status": "look who it is"})
    assert response.status_code == 201, response.text
    # And once published, a copy of its bytes is still not an upload of anyone's.
    await b.signup("carol")
    await _upload_refused(b, "carol", content)


async def test_a_reencoded_copy_of_a_withdrawn_remix_is_refused_and_other_videos_are_not(
        make_instance, tmp_path):
    a, b, remix, _ = await _authorized_remix(make_instance)
    draft = await _draft(b, "bob", remix["id"])
    content = await _draft_bytes(b, draft["result"]["id"])
    [use] = (await a.api("alice", "GET", "/api/v1/remix_requests")).json()
    assert (await a.api("alice", "POST", f"/api/v1/remix_requests/{use['id']}/revoke")).status_code == 200

    async def withdrawn():
        job = (await b.api("bob", "GET", f"/api/v1/generations/{draft['id']}")).json()
        return job["state"] == "failed"

    await eventually(withdrawn)
    assert await b.pool.fetchval("SELECT count(*) FROM media") == 0
    # The draft is gone; what it looked like is not. (The tiny model renders noise, which a
    # smaller picture loses: test_fingerprints_match_copies... scales a video with structure.)
    copy = _reencoded(content, tmp_path / "copy.mp4", scale=1.0, crf=23)
    assert copy != content
    media_id = await _upload_refused(b, "bob", copy)
    posted = await b.api("bob", "POST", "/api/v1/statuses", json={"media_ids": [media_id]})
    assert posted.status_code == 422

    # A video that is no render passes the same check, and posts.
    clip = make_mp4(tmp_path / "mine.mp4", width=64, height=112, seconds=0.5, fps=8)
    media = await upload_video(b, "bob", clip)
    posted = await b.api("bob", "POST", "/api/v1/statuses",
                         json={"status": "mine", "media_ids": [media["id"]]})
    assert posted.status_code == 200, posted.text


@pytest.mark.parametrize("provenance", [False, True])
async def test_a_generations_bytes_or_manifest_are_refused(make_instance, tiny_model, tmp_path, provenance):
    a = await make_instance(generation=dataclasses.replace(TEST_GENERATION, model_dir=tiny_model,
                                                           provenance=provenance))
    await a.signup("alice")
    job = await _generate(a, "alice", "a cat surfing")
    done = await _job_state(a, job["id"], "succeeded")
    content = await _draft_bytes(a, done["result_media_id"])
    # Not a remix, so no fingerprint is compared: the same bytes are known by their hash...
    await _upload_refused(a, "alice", content)
    # ...and other bytes (a box appended) by the manifest this instance signed, when it signs.
    changed = content + b"\x00\x00\x00\x10free" + bytes(8)
    if provenance:
        await _upload_refused(a, "alice", changed)
    else:
        assert (await upload_video(a, "alice", changed))["url"]
    # Another instance's manifest is no reason to refuse.
    other = C2PASigner.for_instance(tmp_path / "elsewhere")
    clip = make_mp4(tmp_path / "clip.mp4", width=64, height=112, seconds=0.5, fps=8)
    other.sign(clip, tmp_path / "signed.mp4", generator="elsewhere", title="clip.mp4")
    assert (await upload_video(a, "alice", tmp_path / "signed.mp4"))["url"]


def test_signed_by_knows_this_instances_manifests_only(tmp_path):
    ours = C2PASigner.for_instance(tmp_path / "ours")
    theirs = C2PASigner.for_instance(tmp_path / "theirs")
    clip = make_mp4(tmp_path / "clip.mp4", width=64, height=112, seconds=0.5, fps=8)
    ours.sign(clip, tmp_path / "ours.mp4", generator="g", title="t")
    theirs.sign(clip, tmp_path / "theirs.mp4", generator="g", title="t")
    altered = bytearray((tmp_path / "ours.mp4").read_bytes())
    altered[altered.find(b"mdat") + 64] ^= 0xFF
    (tmp_path / "altered.mp4").write_bytes(bytes(altered))
    (tmp_path / "garbage.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(100))
    # With a deployment's own chain (no trust anchor of ours): its end-entity certificate.
    deployed = C2PASigner(ours.cert_chain, ours.private_key)
    found = {name: (signed_by(tmp_path / f"{name}.mp4", ours), signed_by(tmp_path / f"{name}.mp4", deployed))
             for name in ("ours", "altered", "theirs", "clip", "garbage")}
    assert found == {"ours": (True, True), "altered": (True, True), "theirs": (False, False),
                     "clip": (False, False), "garbage": (False, False)}


def test_fingerprints_match_copies_not_flat_or_unreadable_videos(tmp_path):
    deadline = time.monotonic() + 30
    clip = write_mp4(moving_shapes(1, 180, 320, 16, 1.0), 16, tmp_path / "clip.mp4")
    other = write_mp4(moving_shapes(2, 180, 320, 16, 1.0), 16, tmp_path / "other.mp4")
    copy = tmp_path / "copy.mp4"
    _reencoded(clip.read_bytes(), copy, scale=0.5, crf=35)
    prints = {path.stem: video_fingerprint(path, 1.0, 16, deadline=deadline) for path in (clip, other, copy)}
    assert len(prints["clip"]) == fp.SAMPLES
    assert fp.is_copy(prints["copy"], prints["clip"])
    assert set(fp.band_keys(prints["copy"])) & set(fp.band_keys(prints["clip"]))
    assert not fp.is_copy(prints["other"], prints["clip"])
    # Two flat videos are alike, but say nothing: they never match and have no keys.
    flat = write_mp4(np.full((8, 112, 64, 3), 30, np.uint8), 8, tmp_path / "flat.mp4")
    flat_prints = video_fingerprint(flat, 1.0, 8, deadline=deadline)
    assert flat_prints == [0] * fp.SAMPLES and fp.distance(flat_prints, flat_prints) is None
    assert fp.band_keys(flat_prints) == []
    # A file that does not decode has no fingerprint (the safety check refuses it).
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    assert video_fingerprint(tmp_path / "broken.mp4", 1.0, 16, deadline=deadline) == []
    # Signed 64-bit values round-trip through the bigint[] column.
    assert fp.as_unsigned(fp.as_signed(prints["clip"])) == prints["clip"]
