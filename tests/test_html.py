"""Sanitising incoming HTML and turning captions into safe HTML."""

from __future__ import annotations

import pytest

from federation.html import html_to_text, parse_hashtags, parse_mentions, sanitize_html, text_to_html


@pytest.mark.parametrize("attack", [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '<a href="javascript:alert(1)">x</a>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>', "<p onclick=alert(1)>x</p>",
    "<style>body{display:none}</style>", "<iframe src=https://evil.example></iframe>",
    "<svg><script>alert(1)</script></svg>", "<p><b>unclosed <i>tags",
])
def test_attacks_are_removed(attack):
    clean = sanitize_html(attack)
    for bad in ("<script", "onerror", "onclick", "javascript:", "data:", "<style", "<iframe", "<svg"):
        assert bad not in clean.lower()


def test_allowed_markup_survives():
    clean = sanitize_html('<p>hi <a href="https://e.example/@a" class="u-url mention evil">@a</a>'
                          '<br><span class="h-card">x</span></p>')
    assert 'href="https://e.example/@a"' in clean and 'class="u-url mention"' in clean
    assert 'rel="nofollow noopener noreferrer"' in clean and "<br>" in clean


def test_caption_to_html():
    html = text_to_html("hi @bob and @carol@x.example:8080 <b>#Été</b>\n\nsee https://e.example/a?b=1.",
                        mentions={"@bob": "https://h/@bob", "@carol@x.example:8080": "https://x/@c"},
                        hashtag_url=lambda t: f"https://h/tags/{t}")
    assert html.startswith("<p>") and html.count("<p>") == 2
    assert '<a href="https://h/@bob" class="u-url mention">@<span>bob</span></a>' in html
    assert 'href="https://x/@c"' in html and "&lt;b&gt;" in html
    assert 'href="https://h/tags/été"' in html
    assert '<a href="https://e.example/a?b=1"' in html and "</a>.</p>" in html
    assert text_to_html("@nobody hi", mentions={}, hashtag_url=str) == "<p>@nobody hi</p>"


def test_parsers():
    assert parse_mentions("@bob hi @bob, mail a@b.example @c@x.example") == [
        ("bob", None), ("c", "x.example")]
    assert parse_hashtags("#Cats #cats #123 #été x#no") == ["cats", "été"]
    assert html_to_text("<p>a &amp; b</p><p>c<br>d</p>") == "a & b\nc\nd"
