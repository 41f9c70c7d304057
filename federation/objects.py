"""Posts on the wire: our `Note` documents out; incoming posts in, of every type Mastodon shows.

The outgoing shape is PROTOCOL.md's: a `Note` with one `Video` attachment, which Mastodon,
Pixelfed, Loops and GoToSocial all show inline.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from .context import Federation
from .html import link_html, sanitize_html
from .jsonld import as_list, ref
from .vocab import OBJECT_CONTEXT, POST_TYPE_PREFERENCE, POST_TYPES, PUBLIC, is_type

MAX_ATTACHMENTS = 4
MAX_CONTENT_CHARS = 100_000
MAX_GENERATOR_CHARS = 200
MAX_TAGS = 100
MAX_LINKS = 20
MAX_POLL_OPTIONS = 20
MAX_POLL_OPTION_CHARS = 500
# The types Mastodon "converts": shown by title, summary and link rather than by content.
CONVERTED_TYPES = ("Article", "Page", "Image", "Audio", "Event")
# Post types that are themselves a media file, and the attachment type each one means.
MEDIA_OBJECT_TYPES = {"Image": "image", "Video": "video", "Audio": "audio"}
QUOTE_KEYS = ("quote", "_misskey_quote", "quoteUrl", "quoteUri")
EXTENSION_TYPES = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif",
    "webp": "image/webp", "avif": "image/avif", "heic": "image/heic",
    "mp4": "video/mp4", "m4v": "video/mp4", "webm": "video/webm", "mov": "video/quicktime",
    "ogv": "video/ogg", "mp3": "audio/mpeg", "m4a": "audio/mp4", "ogg": "audio/ogg",
    "oga": "audio/ogg", "opus": "audio/opus", "wav": "audio/wave", "flac": "audio/flac",
    "aac": "audio/aac",
}
# Links that are never the file itself: a playlist, a torrent, a magnet.
NOT_MEDIA_TYPES = {"application/x-mpegurl", "application/vnd.apple.mpegurl", "application/dash+xml",
                   "application/x-bittorrent", "application/activity+json", "application/ld+json"}
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}")
_BLURHASH = re.compile(r"[0-9A-Za-z#$%*+,\-.:;=?@\[\]^_{|}~]{6,100}")
_LANGUAGE_TAG = re.compile(r"([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*")
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


def _local_address(fed: Federation, media: asyncpg.Record, key: str) -> str:
    """A posted file's public address (the CDN's, if any); a file in no post yet is private,
    so only this server's /media/ serves it, after its checks."""
    if media.get("post_id") is None:
        return f"{fed.base_url}/media/{key}"
    return fed.media_address(key)


def media_url(fed: Federation, media: asyncpg.Record) -> str:
    return media["remote_url"] or _local_address(fed, media, media["storage_key"])


def poster_url(fed: Federation, media: asyncpg.Record) -> str | None:
    if media["poster_key"]:
        return _local_address(fed, media, media["poster_key"])
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
    """Row fields of a remote post (canonical shape, origin checked), shown as Mastodon shows it:
    a Note or Question by its content; an Article, Page, Image, Audio or Event by its title,
    summary and link; a PeerTube Video by its title and description."""
    kind = POST_TYPES.pick(obj.get("type"), POST_TYPE_PREFERENCE)
    content = obj.get("content")
    if not isinstance(content, str):
        content = ""
    summary = obj.get("summary")
    summary = summary[:1000] if isinstance(summary, str) and summary else None
    if kind == "Video" and obj.get("name"):
        # PeerTube puts the title in `name` and a Markdown description in `content`.
        content = _title_html(obj["name"]) + _paragraph(content)
    elif kind in CONVERTED_TYPES:
        content = _converted_content(obj, kind, summary)
        summary = None  # shown in the text, not as a content warning
    if len(content) > MAX_CONTENT_CHARS:
        content = content[:MAX_CONTENT_CHARS]
    url = _page_url(obj.get("url"), files=kind in MEDIA_OBJECT_TYPES)
    published = parse_time(obj.get("published")) or datetime.now(UTC)
    return {
        "uri": obj["id"],
        "url": url or obj["id"],
        "object_type": kind,
        "visibility": visibility_of(obj, followers_url),
        "content": sanitize_html(content),
        "summary": summary,
        # Media a peer marks sensitive is hidden behind a warning, as the whole post's would be.
        "sensitive": obj.get("sensitive") is True or any(
            isinstance(a, dict) and a.get("sensitive") is True for a in as_list(obj.get("attachment"))),
        "language": language_of(obj),
        "in_reply_to_uri": ref(obj.get("inReplyTo")),
        "published_at": published,
        "ai_generated": obj.get("aiGenerated") is True
        or any(is_type(t, "Label") for t in as_list(obj.get("tag"))),
        "generator": generator_name(obj.get("generator")),
        "poll": incoming_poll(obj) if kind == "Question" else None,
        "quote_uri": quote_target(obj),
        "document": obj,
    }


def _title_html(name: Any) -> str:
    """A title the way Mastodon's sanitizer leaves a heading: a paragraph in bold."""
    return f"<p><strong>{html.escape(str(name))}</strong></p>"


def _paragraph(text: str) -> str:
    """HTML as it is; plain text (PeerTube's Markdown, a plain summary) escaped in a paragraph."""
    if not text:
        return ""
    return text if text.lstrip().startswith("<") else f"<p>{html.escape(text)}</p>"


def _converted_content(obj: dict[str, Any], kind: str, summary: str | None) -> str:
    """Mastodon's text for a type it converts: the title, the summary and a link to the
    original (its `content` is not shown: an article is read where it was written)."""
    name = obj.get("name")
    link = _page_url(obj.get("url"), files=kind in MEDIA_OBJECT_TYPES) or obj["id"]
    return ((_title_html(name) if isinstance(name, str) and name.strip() else "")
            + _paragraph(summary or "") + f"<p>{link_html(link)}</p>")


def _page_url(value: Any, *, files: bool) -> str | None:
    """The address of a post's page: its `text/html` link, else (unless its links are the
    media files themselves, as an Image's or a Video's are) its first link."""
    links = [(item.get("href"), item.get("mediaType")) if isinstance(item, dict) else (item, None)
             for item in as_list(value)]
    links = [(href, kind) for href, kind in links
             if isinstance(href, str) and href.startswith(("https://", "http://"))]
    for href, kind in links:
        if isinstance(kind, str) and kind.split(";")[0].strip().lower() == "text/html":
            return href
    return None if files or not links else links[0][0]


def language_of(obj: dict[str, Any]) -> str | None:
    """The post's language, from its `contentMap` (Mastodon also reads `nameMap`, `summaryMap`):
    the language of the text shown, else the first tag; only its primary subtag, as Mastodon
    keeps a regional tag it does not know."""
    for name in ("content", "name", "summary"):
        tagged = obj.get(f"{name}Map")
        if not isinstance(tagged, dict) or not tagged:
            continue
        shown = [tag for tag, text in tagged.items() if text == obj.get(name)]
        tag = str(shown[0] if shown else min(tagged))
        match = _LANGUAGE_TAG.fullmatch(tag)
        return match.group(1).lower() if match else None
    return None


def incoming_poll(question: dict[str, Any]) -> dict[str, Any] | None:
    """A Question's poll (`oneOf`: one choice, `anyOf`: several), with the counts its server
    reports; None when it offers no option."""
    multiple = bool(as_list(question.get("anyOf")))
    options = []
    for item in as_list(question.get("anyOf") if multiple else question.get("oneOf")):
        title = item.get("name") if isinstance(item, dict) else None
        if not isinstance(title, str) or not title.strip():
            continue
        replies = item.get("replies")
        votes = _count(replies.get("totalItems")) if isinstance(replies, dict) else None
        options.append({"title": title.strip()[:MAX_POLL_OPTION_CHARS], "votes_count": votes or 0})
        if len(options) == MAX_POLL_OPTIONS:
            break
    if not options:
        return None
    # `closed` is when it closed (or just true); `endTime` when it closes.
    closed = question.get("closed")
    ends = parse_time(closed) or parse_time(question.get("endTime"))
    return {"multiple": multiple, "options": options, "expires_at": iso(ends) if ends else None,
            "closed": closed is True or isinstance(closed, str),
            "voters_count": _count(question.get("votersCount"))}


def quote_target(obj: dict[str, Any]) -> str | None:
    """The post a quote post quotes: FEP-044f `quote`, or the older names Misskey (and
    Fedibird) use, in the order Mastodon 4.5 reads them."""
    for name in QUOTE_KEYS:
        uri = ref(obj.get(name))
        if isinstance(uri, str) and uri.startswith(("https://", "http://")):
            return uri
    return None


def incoming_media(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """Media rows for a remote post's attachments (at most four, as Mastodon keeps): each a
    `Document`, `Image`, `Video` or `Audio` whose `url` is a string, a `Link` or a list of
    them. An Image, Audio or Video post is itself the first."""
    kind = POST_TYPES.pick(obj.get("type"), POST_TYPE_PREFERENCE)
    candidates = [a for a in as_list(obj.get("attachment")) if isinstance(a, dict)]
    if kind in MEDIA_OBJECT_TYPES:
        # Its title is the alt text; its `mediaType`, if any, is its description's (PeerTube).
        candidates.insert(0, {**obj, "type": kind, "summary": None, "mediaType": None})
    items: list[dict[str, Any]] = []
    for attachment in candidates:
        item = _media_row(attachment)
        if item is not None:
            items.append(item)
        if len(items) == MAX_ATTACHMENTS:
            break
    return items


def _media_row(attachment: dict[str, Any]) -> dict[str, Any] | None:
    """One attachment as a media row, or None when it links no file (a `Link` preview, a page)."""
    declared = _clean_media_type(attachment.get("mediaType"))
    link = _best_link(attachment.get("url"), declared)
    if link is None:
        return None
    media_type = link["mediaType"] or declared or _media_type_of_path(link["href"])
    kind = _kind_of(media_type, POST_TYPES.pick(attachment.get("type")) or "")
    focal = attachment.get("focalPoint")
    fx, fy = focal if isinstance(focal, list) and len(focal) == 2 and all(
        isinstance(v, (int, float)) for v in focal) else (0.0, 0.0)
    blurhash = attachment.get("blurhash")
    # Mastodon's alt text is the attachment's `summary`, else its `name`.
    alt = next((t for t in (attachment.get("summary"), attachment.get("name"))
                if isinstance(t, str) and t.strip()), "")
    return {
        "kind": kind,
        "media_type": (media_type or "application/octet-stream")[:100],
        "remote_url": link["href"],
        "remote_poster_url": _first_url(_icon_url(attachment.get("icon"))),
        "width": _int(link["width"]) or _int(attachment.get("width")),
        "height": _int(link["height"]) or _int(attachment.get("height")),
        "duration": parse_duration(attachment.get("duration")),
        "blurhash": blurhash if isinstance(blurhash, str) and _BLURHASH.fullmatch(blurhash) else None,
        "focal_x": max(-1.0, min(1.0, float(fx))),
        "focal_y": max(-1.0, min(1.0, float(fy))),
        "description": alt[:1500],
    }


def _best_link(value: Any, declared: str | None) -> dict[str, Any] | None:
    """The file to show among an attachment's links, PeerTube style: a playable MP4 first, then
    any other audio, video or image file, the tallest of a kind; a link's `tag` may list
    more links (PeerTube lists its MP4s under the HLS playlist's). Pages, playlists and
    torrents are never shown as media."""
    found: list[dict[str, Any]] = []
    pending = list(as_list(value))[:MAX_LINKS]
    looked_at = 0
    while pending and len(found) < MAX_LINKS and looked_at < MAX_LINKS * 5:
        item = pending.pop(0)
        looked_at += 1
        if isinstance(item, dict):
            pending.extend(t for t in as_list(item.get("tag"))[:MAX_LINKS] if isinstance(t, dict))
        href = item.get("href") if isinstance(item, dict) else item
        if not isinstance(href, str) or not href.startswith(("https://", "http://")):
            continue
        media_type = _clean_media_type(item.get("mediaType")) if isinstance(item, dict) else None
        found.append({"href": href, "mediaType": media_type,
                      "width": item.get("width") if isinstance(item, dict) else None,
                      "height": item.get("height") if isinstance(item, dict) else None})

    def rank(link: dict[str, Any]) -> tuple[int, int]:
        media_type = link["mediaType"] or declared or _media_type_of_path(link["href"]) or ""
        preference = 3 if media_type == "video/mp4" else 2 if _is_media_type(media_type) else \
            0 if media_type in NOT_MEDIA_TYPES or media_type.startswith("text/") else 1
        return preference, _int(link["height"]) or 0

    ranked = [(rank(link), -position, link) for position, link in enumerate(found)]
    ranked = [entry for entry in ranked if entry[0][0] > 0]
    return max(ranked, key=lambda entry: entry[:2])[2] if ranked else None


def _clean_media_type(value: Any) -> str | None:
    """`video/mp4; codecs=...` -> `video/mp4`; None for anything that is no media type."""
    if not isinstance(value, str):
        return None
    media_type = value.split(";", 1)[0].strip().lower()
    return media_type if _MEDIA_TYPE.fullmatch(media_type) else None


def _media_type_of_path(url: str) -> str | None:
    """The media type a file's extension names (for attachments that give none)."""
    path = urlsplit(url).path
    extension = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    return EXTENSION_TYPES.get(extension)


def _is_media_type(media_type: str) -> bool:
    return media_type.startswith(("video/", "audio/", "image/"))


def _kind_of(media_type: str | None, as_type: str) -> str:
    """Mastodon's attachment type: by the file's media type, else by the attachment's own
    type (`Image`, `Video`, `Audio`); anything else is `unknown`, shown as a link."""
    if media_type:
        for prefix, kind in (("video/", "video"), ("audio/", "audio"), ("image/", "image")):
            if media_type.startswith(prefix):
                return kind
        return "unknown"
    return MEDIA_OBJECT_TYPES.get(as_type, "unknown")


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


def _count(value: Any) -> int | None:
    """A vote count a peer reports: a non-negative integer that fits PostgreSQL's integer."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        return None
    return value


def author_of(obj: dict[str, Any]) -> str | None:
    """The actor a post belongs to: `attributedTo`, or for PeerTube's [account, channel] list
    the `Person` (else the first entry)."""
    owners = as_list(obj.get("attributedTo"))
    people = [o for o in owners if is_type(o, "Person")]
    return ref(people[0] if people else owners[0]) if owners else None


def audience(obj: dict[str, Any]) -> list[str]:
    """The actors and collections a post is addressed to (`to` and `cc`)."""
    named = (as_list(obj.get("to")) + as_list(obj.get("cc")))[:MAX_TAGS]
    return [uri for uri in map(ref, named) if isinstance(uri, str) and uri != PUBLIC]


def mention_targets(obj: dict[str, Any]) -> list[str]:
    return [t["href"] for t in as_list(obj.get("tag"))[:MAX_TAGS]
            if is_type(t, "Mention") and isinstance(t.get("href"), str)]


def hashtags(obj: dict[str, Any]) -> list[str]:
    names = []
    for tag in as_list(obj.get("tag"))[:MAX_TAGS]:
        if is_type(tag, "Hashtag") and isinstance(tag.get("name"), str):
            name = tag["name"].lstrip("#").lower()[:100]
            if name:
                names.append(name)
    return sorted(set(names))
