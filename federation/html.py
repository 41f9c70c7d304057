"""HTML on the way in (sanitised with nh3) and out (plain captions turned into safe HTML)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import nh3

MAX_HTML_CHARS = 50_000
_TAGS = {"p", "br", "span", "a", "del", "pre", "code", "em", "strong", "b", "i", "u", "ul",
         "ol", "li", "blockquote"}
_CLASSES = {"h-card", "u-url", "mention", "hashtag", "invisible", "ellipsis", "quote-inline"}
_MENTION = re.compile(r"(?<![\w@/])@([A-Za-z0-9_]{1,30})(?:@([A-Za-z0-9.-]+(?::\d+)?[A-Za-z0-9]))?")
_HASHTAG = re.compile(r"(?<![\w#/&])#(\w{1,100})", re.UNICODE)
_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)]")


def _keep_class(tag: str, attribute: str, value: str) -> str | None:
    if tag in ("a", "span") and attribute == "class":
        kept = [c for c in value.split() if c in _CLASSES]
        return " ".join(kept) or None
    return value


def sanitize_html(source: str) -> str:
    """Mastodon's allow-list; links keep http(s) and mailto only. Longer input is cut first,
    so a huge document cannot make sanitising slow."""
    return nh3.clean(
        source[:MAX_HTML_CHARS],
        tags=_TAGS,
        attributes={"a": {"href", "class"}, "span": {"class"}},
        attribute_filter=_keep_class,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )


def parse_mentions(text: str) -> list[tuple[str, str | None]]:
    """(username, domain or None) for each `@user` or `@user@host`, in order, once each."""
    seen: dict[tuple[str, str | None], None] = {}
    for match in _MENTION.finditer(text):
        host = match.group(2).lower() if match.group(2) else None
        seen.setdefault((match.group(1), host), None)
    return list(seen)


def parse_hashtags(text: str) -> list[str]:
    names = {m.group(1).lower() for m in _HASHTAG.finditer(text) if not m.group(1).isdigit()}
    return sorted(names)


def text_to_html(text: str, *, mentions: dict[str, str],
                 hashtag_url: Callable[[str], str]) -> str:
    """A caption typed by a local user as safe HTML: paragraphs, links, mentions and hashtags.

    `mentions` maps the typed form (`@bob` or `@bob@host`, any case) to the profile URL; other
    `@names` stay text.
    """
    known = {k.lower(): v for k, v in mentions.items()}
    pattern = re.compile(f"{_URL.pattern}|{_MENTION.pattern}|{_HASHTAG.pattern}", re.UNICODE)

    def render(segment: str) -> str:
        out, last = [], 0
        for match in pattern.finditer(segment):
            out.append(html.escape(segment[last:match.start()]))
            token = match.group(0)
            if token.startswith("http"):
                url = html.escape(token)
                out.append(f'<a href="{url}" rel="nofollow noopener noreferrer" '
                           f'target="_blank">{url}</a>')
            elif token.startswith("@") and token.lower() in known:
                url = html.escape(known[token.lower()])
                name = html.escape(token[1:].split("@", 1)[0])
                out.append(f'<span class="h-card"><a href="{url}" class="u-url mention">'
                           f'@<span>{name}</span></a></span>')
            elif token.startswith("#") and not token[1:].isdigit():
                tag = token[1:]
                out.append(f'<a href="{html.escape(hashtag_url(tag.lower()))}" '
                           f'class="mention hashtag" rel="tag">#<span>{html.escape(tag)}</span></a>')
            else:
                out.append(html.escape(token))
            last = match.end()
        out.append(html.escape(segment[last:]))
        return "".join(out)

    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join("<p>" + "<br>".join(render(line) for line in p.split("\n")) + "</p>"
                   for p in paragraphs)


def html_to_text(source: str) -> str:
    """Plain text for previews and notifications."""
    spaced = re.sub(r"(?i)<br\s*/?>|</p>", "\n", source)
    return html.unescape(nh3.clean(spaced, tags=set())).strip()
