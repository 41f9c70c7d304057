"""HTML on the way in (remote content sanitised with nh3) and out (captions as safe HTML).

Remote HTML keeps what Mastodon keeps, so posts look the same here as there. Local captions
are plain text; `text_to_html` renders them the way Mastodon renders a status, so other
servers' clients show our mentions, hashtags and links as they show their own.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Iterator
from typing import NamedTuple

import nh3

# Longer input is truncated, not refused: a long remote post still shows, cut short.
MAX_HTML_CHARS = 50_000
MAX_HASHTAG_CHARS = 100
LINK_REL = "nofollow noopener noreferrer"

_TAGS = {"p", "br", "span", "a", "del", "pre", "code", "em", "strong", "b", "i", "u", "ul",
         "ol", "li", "blockquote"}
_ATTRIBUTES = {"a": {"href", "class"}, "span": {"class"}, "ol": {"start", "reversed"},
               "li": {"value"}}
_LINK_SCHEMES = ("http://", "https://", "mailto:")
# Mastodon's class allow-list: microformats (h-card, u-url, ...) and its own few.
_MICROFORMAT = re.compile(r"(?:h|p|u|dt|e)-[a-z0-9-]+")
_CLASSES = {"mention", "hashtag", "ellipsis", "invisible", "quote-inline"}

# A link, a mention or a hashtag may start here (Mastodon's boundaries: not inside a word,
# not after a slash, so neither `a@b.example` nor `/#anchor` counts).
_CANDIDATE = re.compile(r"(?<!\w)https?://|(?<![\w/])@|(?<![\w/)])#", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_URL_TRAILING = ".,:;!?'\""
_URL_PREFIX = re.compile(r"https?://(?:www\.)?", re.IGNORECASE)
_URL_VISIBLE_CHARS = 30
_MENTION = re.compile(r"@([A-Za-z0-9_]+(?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?)"
                      r"(?:@([\w.-]*\w(?::\d{1,5})?))?")


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    """nh3's allow-list is per attribute; Mastodon's rules go down to values: only its
    classes, only absolute web and mail links (a relative one would point into our own
    site), only numbers for list positions."""
    if attribute == "class":
        kept = [c for c in value.split() if c in _CLASSES or _MICROFORMAT.fullmatch(c)]
        return " ".join(kept) or None
    if attribute == "href":
        return value if value.strip().lower().startswith(_LINK_SCHEMES) else None
    if attribute in ("start", "value"):
        return value if value.strip().lstrip("-").isdigit() else None
    return value


def sanitize_html(source: str) -> str:
    """Remote HTML reduced to Mastodon's allow-list.

    Scripts and styles go with their content; event handlers, `style`, images and frames go;
    links keep http(s) and mailto targets only (no `javascript:`, `data:` or relative URLs)
    and open in a new tab without referrer. Input past MAX_HTML_CHARS is cut off first, so a
    huge document costs no more than a long one.
    """
    return nh3.clean(
        source[:MAX_HTML_CHARS],
        tags=_TAGS,
        clean_content_tags={"script", "style"},
        attributes=_ATTRIBUTES,
        attribute_filter=_keep_attribute,
        url_schemes={"http", "https", "mailto"},
        link_rel=LINK_REL,
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )


class _Token(NamedTuple):
    start: int
    end: int
    kind: str  # "url", "mention" or "hashtag"
    text: str  # the URL; the mention as typed; the hashtag name as typed, without `#`
    username: str = ""
    domain: str | None = None


def _tokens(text: str) -> Iterator[_Token]:
    """Links, mentions and hashtags in order. One scanner serves both the renderer and the
    parsers, so what is linked is exactly what is parsed (a `#tag` inside a URL is neither)."""
    position = 0
    while (candidate := _CANDIDATE.search(text, position)) is not None:
        start = candidate.start()
        token = _url_at(text, start) or _mention_at(text, start) or _hashtag_at(text, start)
        if token is None:
            position = start + 1
            continue
        yield token
        position = token.end


def _url_at(text: str, start: int) -> _Token | None:
    match = _URL.match(text, start)
    if match is None:
        return None
    url = match.group()
    while url and (url[-1] in _URL_TRAILING or (url[-1] == ")" and url.count("(") < url.count(")"))):
        url = url[:-1]
    if len(url) <= len(_URL_PREFIX.match(url).group()):
        return None
    return _Token(start, start + len(url), "url", url)


def _mention_at(text: str, start: int) -> _Token | None:
    match = _MENTION.match(text, start)
    if match is None:
        return None
    domain = match.group(2).lower() if match.group(2) else None
    return _Token(start, match.end(), "mention", match.group(), match.group(1), domain)


def _is_hashtag_char(char: str) -> bool:
    # Letters, combining marks (Devanagari, Thai, Arabic vowel signs), digits, `_`, and
    # Mastodon's middle dot; Python's \w has no marks, so hashtags are scanned by hand.
    category = unicodedata.category(char)
    return char == "·" or category[0] in "LMN" or category == "Pc"


def _hashtag_at(text: str, start: int) -> _Token | None:
    if text[start] != "#":
        return None
    end = start + 1
    while end < len(text) and _is_hashtag_char(text[end]):
        end += 1
    name = text[start + 1:end].rstrip("·")
    if (name.startswith("·") or len(name) > MAX_HASHTAG_CHARS
            or not any(unicodedata.category(c)[0] == "L" for c in name)):
        return None
    return _Token(start, start + 1 + len(name), "hashtag", name)


def normalised_hashtag(name: str) -> str:
    """Fullwidth and compatibility forms folded (NFKC), then lower case: #Été, #été and #ＥＴＥ́
    are one tag, while non-Latin scripts stay as written."""
    return unicodedata.normalize("NFKC", name).lower()


def parse_mentions(text: str) -> list[tuple[str, str | None]]:
    """(username, domain or None) for each `@user` or `@user@host`, in order, once each.

    Emails are not mentions; the domain is lower-cased, and may carry a port (local testing).
    """
    seen: dict[tuple[str, str | None], tuple[str, str | None]] = {}
    for token in _tokens(text):
        if token.kind == "mention":
            seen.setdefault((token.username.lower(), token.domain), (token.username, token.domain))
    return list(seen.values())


def parse_hashtags(text: str) -> list[str]:
    """Normalised hashtag names (no `#`), in order, once each; `#123` alone is not a tag."""
    names = (normalised_hashtag(t.text) for t in _tokens(text) if t.kind == "hashtag")
    return list(dict.fromkeys(names))


def text_to_html(text: str, *, mentions: dict[str, str],
                 hashtag_url: Callable[[str], str]) -> str:
    """A caption typed by a local user as safe HTML, the way Mastodon renders one.

    Text is escaped; a blank line starts a paragraph, a newline is a `<br>`. http(s) URLs
    become links (shown shortened, the rest kept in `invisible` spans); `@user` and
    `@user@host` become h-card mentions when `mentions` maps them (as typed, any case) to a
    profile URL, and stay text otherwise; `#tag` links to `hashtag_url(normalised name)`.
    """
    known = {"@" + key.lower().lstrip("@"): url for key, url in mentions.items()}
    paragraphs = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
    return "".join(
        "<p>" + "<br>".join(_render(line, known, hashtag_url) for line in paragraph.split("\n")) + "</p>"
        for paragraph in paragraphs if paragraph.strip())


def _render(line: str, mentions: dict[str, str], hashtag_url: Callable[[str], str]) -> str:
    out: list[str] = []
    position = 0
    for token in _tokens(line):
        out.append(html.escape(line[position:token.start]))
        out.append(_render_token(token, mentions, hashtag_url))
        position = token.end
    out.append(html.escape(line[position:]))
    return "".join(out)


def _render_token(token: _Token, mentions: dict[str, str],
                  hashtag_url: Callable[[str], str]) -> str:
    if token.kind == "url":
        return link_html(token.text)
    if token.kind == "mention":
        url = mentions.get(token.text.lower())
        if url is None:
            return html.escape(token.text)
        return (f'<span class="h-card"><a href="{html.escape(url)}" class="u-url mention">'
                f'@<span>{html.escape(token.username)}</span></a></span>')
    url = hashtag_url(normalised_hashtag(token.text))
    return (f'<a href="{html.escape(url)}" class="mention hashtag" rel="tag">'
            f'#<span>{html.escape(token.text)}</span></a>')


def link_html(url: str) -> str:
    """Mastodon's link markup: scheme (and `www.`) hidden, 30 characters shown, the rest
    hidden behind an ellipsis; copying the text still copies the whole URL."""
    prefix = _URL_PREFIX.match(url).group()
    shown, hidden = url[len(prefix):][:_URL_VISIBLE_CHARS], url[len(prefix) + _URL_VISIBLE_CHARS:]
    shown_span = f'<span class="ellipsis">{html.escape(shown)}</span>' if hidden else \
        f"<span>{html.escape(shown)}</span>"
    return (f'<a href="{html.escape(url)}" target="_blank" rel="{LINK_REL}">'
            f'<span class="invisible">{html.escape(prefix)}</span>{shown_span}'
            f'<span class="invisible">{html.escape(hidden)}</span></a>')


_LINE_BREAK = re.compile(r"<br\s*/?>|</li\s*>", re.IGNORECASE)
_PARAGRAPH_END = re.compile(r"</(?:p|blockquote|pre|h[1-6])\s*>", re.IGNORECASE)


def html_to_text(source: str) -> str:
    """Plain text for previews and notifications: paragraphs separated by a blank line,
    `<br>` as a newline, tags dropped, entities decoded. The result is text, not HTML:
    escape it before putting it into a page."""
    spaced = _PARAGRAPH_END.sub("\n\n", _LINE_BREAK.sub("\n", source[:MAX_HTML_CHARS]))
    text = html.unescape(nh3.clean(spaced, tags=set()))
    return re.sub(r"\n{3,}", "\n\n", text).strip()
