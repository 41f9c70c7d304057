"""Posts on the wire: our `Note` documents out, incoming `Note`/`Video` objects in.

The outgoing shape is PROTOCOL.md's: a `Note` with one `Video` attachment, which Mastodon,
Pixelfed, Loops and GoToSocial all show inline.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

import asyncpg

from .context import Federation
from .html import sanitize_html
from .jsonld import as_list, ref
from .vocab import OBJECT_CONTEXT, PUBLIC

MAX_ATTACHMENTS = 4
MAX_CONTENT_CHARS = 100_000
MAX_GENERATOR_CHARS = 200
MAX_TAGS = 100
AI_LABEL = {"type": "Label", "name": "AI-generated", "summary": "This media was made by an AI model."}


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def addressing(visibility: str, followers_url: str, mentions: list[str]) -> tuple[list[str], list[str]]:
    """`to` and `cc` for a visibility, as Mastodon addresses them."""
    if visibility == "public":
        return [PUBLIC], [followers_url, *mentions]
    if visibility == "unlisted":
        return [followers_url], [PUBLIC, *mentions]
    if visibility == "followers":
        return [followers_url], list(mentions)
    return list(mentions), []


def visibility_of(obj: dict[str, Any], followers_url: str | None) -> str:
    to, cc = as_list(obj.get("to")), as_list(obj.get("cc"))
    if PUBLIC in to:
        return "public"
    if PUBLIC in cc:
        return "unlisted"
    if followers_url and followers_url in to + cc:
        return "followers"
    return "direct"


def duration_text(seconds: float) -> str:
    return f"PT{seconds:.3f}".rstrip("0").rstrip(".") + "S"


def parse_duration(value: Any) -> float | None:
    """Seconds from a number or an ISO 8601 duration (`PT1M5.5S`, PeerTube writes `PT65S`)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if value >= 0 else None
    if not isinstance(value, str):
        return None
    match = re.fullmatch(r"P(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)", value)
    if not match or value in ("P", "PT"):
        return None
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def attachment_document(fed: Federation, media: asyncpg.Record) -> dict[str, Any]:
    kind = "Video" if media["kind"] == "video" else "Image"
    doc: dict[str, Any] = {
        "type": kind,
        "mediaType": media["media_type"],
        "url": media_url(fed, media),
        "name": media["description"] or None,
        "width": media["width"],
        "height": media["height"],
        "blurhash": media["blurhash"],
        "focalPoint": [media["focal_x"], media["focal_y"]],
    }
    if media["duration"] is not None:
        doc["duration"] = duration_text(media["duration"])
    poster = poster_url(fed, media)
    if poster:
        doc["icon"] = {"type": "Image", "mediaType": "image/jpeg", "url": poster}
    return {k: v for k, v in doc.items() if v is not None}


def media_url(fed: Federation, media: asyncpg.Record) -> str:
    return media["remote_url"] or f"{fed.base_url}/media/{media['storage_key']}"


def poster_url(fed: Federation, media: asyncpg.Record) -> str | None:
    if media["poster_key"]:
        return f"{fed.base_url}/media/{media['poster_key']}"
    return media["remote_poster_url"]


def quote_policy(visibility: str, author: asyncpg.Record) -> dict[str, Any]:
    """FEP-044f `canQuote`: who may quote a post, never wider than who may see it. "Nobody but
    the author" is the author's own id, since an empty list would vanish under JSON-LD."""
    allowed = {"public": [PUBLIC], "unlisted": [PUBLIC], "followers": [author["followers_url"]]}
    return {"canQuote": {"automaticApproval": allowed.get(visibility, [author["uri"]])}}


def cameo_entries(cameos: list[asyncpg.Record]) -> list[dict[str, Any]]:
    """The `cameos` of a post: each cameo with its owner's signed authorization, copied
    unchanged (the author's own cameo needs none)."""
    entries = []
    for row in cameos:
        entry: dict[str, Any] = {"cameo": row["cameo_uri"]}
        if row["authorization_document"] is not None:
            entry["remixAuthorization"] = row["authorization_document"]
        entries.append(entry)
    return entries


def note_document(fed: Federation, post: asyncpg.Record, author: asyncpg.Record,
                  media: list[asyncpg.Record], mentions: list[asyncpg.Record],
                  tags: list[str], in_reply_to: str | None,
                  cameos: list[asyncpg.Record] = ()) -> dict[str, Any]:
    """The `Note` for a local post."""
    mention_uris = [m["uri"] for m in mentions]
    to, cc = addressing(post["visibility"], author["followers_url"], mention_uris)
    tag_docs: list[dict[str, Any]] = [
        {"type": "Mention", "href": m["uri"], "name": f"@{m['username']}@{m['domain']}"}
        for m in mentions
    ]
    tag_docs += [{"type": "Hashtag", "href": f"{fed.base_url}/tags/{t}", "name": f"#{t}"}
                 for t in tags]
    if post["ai_generated"]:
        tag_docs.append(AI_LABEL)
    doc: dict[str, Any] = {
        "@context": OBJECT_CONTEXT,
        "id": post["uri"],
        "type": "Note",
        "attributedTo": author["uri"],
        "url": post["url"],
        "to": to,
        "cc": cc,
        "content": post["content"],
        "published": iso(post["published_at"]),
        "sensitive": post["sensitive"],
        "summary": post["summary"] or None,
        "inReplyTo": in_reply_to,
        "tag": tag_docs,
        "attachment": [attachment_document(fed, m) for m in media],
    }
    if post["edited_at"]:
        doc["updated"] = iso(post["edited_at"])
    if post["ai_generated"]:
        doc["aiGenerated"] = True
    if post["generator"]:
        # An object, as AS2 types `generator`: a bare name would read as a relative IRI.
        doc["generator"] = {"type": "Application", "name": post["generator"]}
    if cameos:
        doc["cameos"] = cameo_entries(cameos)
        doc["promptDigest"] = post["prompt_digest"]
    doc["interactionPolicy"] = quote_policy(post["visibility"], author)
    return doc


def wrap(activity_type: str, actor_uri: str, obj: Any, *, activity_id: str,
         to: list[str] | None = None, cc: list[str] | None = None) -> dict[str, Any]:
    """An activity around `obj`; a dict `obj` loses its own @context inside the envelope."""
    if isinstance(obj, dict):
        obj = {k: v for k, v in obj.items() if k != "@context"}
    activity: dict[str, Any] = {"@context": OBJECT_CONTEXT, "id": activity_id,
                                "type": activity_type, "actor": actor_uri, "object": obj}
    if to is not None:
        activity["to"] = to
    if cc is not None:
        activity["cc"] = cc
    return activity


def generator_name(value: Any) -> str | None:
    """The model (or app) a post says made it: a `generator` object's name, else its id; a bare
    string too (earlier Likeness servers sent one)."""
    if isinstance(value, dict):
        name = value.get("name")
        value = name if isinstance(name, str) and name.strip() else ref(value)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:MAX_GENERATOR_CHARS]


def incoming_post_fields(obj: dict[str, Any], followers_url: str | None) -> dict[str, Any]:
    """Row fields of a remote `Note` or PeerTube `Video` (canonical shape, origin checked)."""
    content = obj.get("content")
    if not isinstance(content, str):
        content = ""
    if obj.get("type") == "Video" and obj.get("name"):
        # PeerTube puts the title in `name` and a Markdown description in `content`.
        title = f"<p><strong>{html.escape(str(obj['name']))}</strong></p>"
        content = title + (content if content.lstrip().startswith("<") else
                           f"<p>{html.escape(content)}</p>" if content else "")
    if len(content) > MAX_CONTENT_CHARS:
        content = content[:MAX_CONTENT_CHARS]
    url = ref(as_list(obj.get("url"))[0]) if obj.get("type") == "Note" and obj.get("url") else None
    summary = obj.get("summary")
    published = parse_time(obj.get("published")) or datetime.now(UTC)
    return {
        "uri": obj["id"],
        "url": url if isinstance(url, str) else obj["id"],
        "object_type": obj["type"],
        "visibility": visibility_of(obj, followers_url),
        "content": sanitize_html(content),
        "summary": summary[:1000] if isinstance(summary, str) and summary else None,
        "sensitive": obj.get("sensitive") is True,
        "in_reply_to_uri": ref(obj.get("inReplyTo")),
        "published_at": published,
        "ai_generated": obj.get("aiGenerated") is True
        or any(isinstance(t, dict) and t.get("type") == "Label" for t in as_list(obj.get("tag"))),
        "generator": generator_name(obj.get("generator")),
        "document": obj,
    }


def incoming_media(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """Media rows for the video and image attachments of a remote post (at most four)."""
    items: list[dict[str, Any]] = []
    if obj.get("type") == "Video":
        candidates = [_peertube_file(obj)]
    else:
        candidates = [a for a in as_list(obj.get("attachment")) if isinstance(a, dict)]
    for attachment in candidates:
        if not attachment:
            continue
        media_type = str(attachment.get("mediaType") or "")
        url = _first_url(attachment.get("url"))
        if not url or not media_type.startswith(("video/", "image/")):
            continue
        focal = attachment.get("focalPoint")
        fx, fy = focal if isinstance(focal, list) and len(focal) == 2 and all(
            isinstance(v, (int, float)) for v in focal) else (0.0, 0.0)
        items.append({
            "kind": "video" if media_type.startswith("video/") else "image",
            "media_type": media_type[:100],
            "remote_url": url,
            "remote_poster_url": _first_url(_icon_url(attachment.get("icon"))),
            "width": _int(attachment.get("width")),
            "height": _int(attachment.get("height")),
            "duration": parse_duration(attachment.get("duration")),
            "blurhash": attachment.get("blurhash") if isinstance(attachment.get("blurhash"), str)
            and len(attachment["blurhash"]) < 100 else None,
            "focal_x": max(-1.0, min(1.0, float(fx))),
            "focal_y": max(-1.0, min(1.0, float(fy))),
            "description": str(attachment.get("name") or "")[:1500],
        })
        if len(items) == MAX_ATTACHMENTS:
            break
    return items


def _peertube_file(video: dict[str, Any]) -> dict[str, Any] | None:
    """The best playable MP4 among a PeerTube `Video`'s links, shaped like an attachment."""
    best: dict[str, Any] | None = None
    for link in as_list(video.get("url")):
        if not isinstance(link, dict) or link.get("mediaType") != "video/mp4":
            continue
        if best is None or (_int(link.get("height")) or 0) > (_int(best.get("height")) or 0):
            best = link
    if best is None:
        return None
    return {"mediaType": "video/mp4", "url": best.get("href"), "width": best.get("width"),
            "height": best.get("height"), "duration": video.get("duration"),
            "icon": video.get("icon"), "name": video.get("name")}


def _first_url(value: Any) -> str | None:
    for item in as_list(value):
        url = item.get("href") if isinstance(item, dict) else item
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            return url
    return None


def _icon_url(icon: Any) -> Any:
    icons = [i for i in as_list(icon) if isinstance(i, dict)]
    if not icons:
        return icon
    return max(icons, key=lambda i: _int(i.get("width")) or 0).get("url")


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 < value < 100_000:
        return value
    return None


def author_of(obj: dict[str, Any]) -> str | None:
    """The actor a post belongs to: `attributedTo`, or for PeerTube's [account, channel] list
    the `Person` (else the first entry)."""
    owners = as_list(obj.get("attributedTo"))
    people = [o for o in owners if isinstance(o, dict) and o.get("type") == "Person"]
    return ref(people[0] if people else owners[0]) if owners else None


def mention_targets(obj: dict[str, Any]) -> list[str]:
    return [t["href"] for t in as_list(obj.get("tag"))[:MAX_TAGS]
            if isinstance(t, dict) and t.get("type") == "Mention" and isinstance(t.get("href"), str)]


def hashtags(obj: dict[str, Any]) -> list[str]:
    names = []
    for tag in as_list(obj.get("tag"))[:MAX_TAGS]:
        if isinstance(tag, dict) and tag.get("type") == "Hashtag" and isinstance(tag.get("name"), str):
            name = tag["name"].lstrip("#").lower()[:100]
            if name:
                names.append(name)
    return sorted(set(names))
