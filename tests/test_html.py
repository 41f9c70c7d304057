"""Sanitising remote HTML, and turning local captions into the HTML Mastodon would write."""

from __future__ import annotations

import pytest

from federation.html import (
    LINK_REL,
    MAX_HTML_CHARS,
    html_to_text,
    parse_hashtags,
    parse_mentions,
    sanitize_html,
    text_to_html,
)

MENTIONS = {"@bob": "https://l.example/@bob", "@carol@x.example:8080": "https://x.example:8080/@carol"}


def render(text: str, mentions: dict[str, str] = MENTIONS) -> str:
    return text_to_html(text, mentions=mentions, hashtag_url=lambda tag: f"https://l.example/tags/{tag}")


# --- sanitize_html ----------------------------------------------------------------------------

@pytest.mark.parametrize("attack", [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href=" JaVaScRiPt:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="https://ok.example/" onmouseover="alert(1)">x</a>',
    "<p onclick=alert(1) style=position:fixed>x</p>",
    "<style>body{display:none}</style>",
    "<iframe src=https://evil.example srcdoc='<script>alert(1)</script>'></iframe>",
    "<svg onload=alert(1)><script>alert(1)</script></svg>",
    "<math><mi xlink:href=javascript:alert(1)>x</mi></math>",
    "<form action=https://evil.example><button formaction=javascript:alert(1)>go</button></form>",
    "<object data=javascript:alert(1)></object><embed src=javascript:alert(1)>",
    "<base href=javascript:alert(1)//><meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<<script>script>alert(1)<</script>/script>",
    "<p><b>unclosed <i>tags <a href='https://ok.example/",
    "<!-- <script>alert(1)</script> --><p>comment</p>",
])
def test_attacks_are_removed(attack):
    clean = sanitize_html(attack).lower()
    for bad in ("<script", "javascript:", "vbscript:", "data:", "onerror", "onclick", "onload",
                "onmouseover", "style", "<iframe", "<svg", "<math", "<form", "<button", "<object",
                "<embed", "<base", "<meta", "<img", "<!--"):
        assert bad not in clean, (attack, clean)


def test_unclosed_tags_are_closed():
    assert sanitize_html("<p><b>bold <i>both") == "<p><b>bold <i>both</i></b></p>"


def test_mastodon_markup_survives():
    source = ('<p>hi <span class="h-card"><a href="https://e.example/@a" class="u-url mention evil" '
              'rel="me">@<span>a</span></a></span> '
              '<a href="https://e.example/tags/x" class="mention hashtag" rel="tag">#<span>x</span></a><br>'
              '<a href="https://e.example/long"><span class="invisible">'
              'https://</span><span class="ellipsis">e.example/lo</span><span class="invisible">ng</span>'
              '</a></p><blockquote><pre><code>x = 1</code></pre></blockquote><ol start="3"><li>one</li></ol>'
              '<p><del>old</del> <em>e</em> <strong>s</strong> <u>u</u></p>')
    clean = sanitize_html(source)
    assert 'href="https://e.example/@a"' in clean and 'class="u-url mention"' in clean
    assert '<span class="h-card">' in clean and 'class="mention hashtag"' in clean
    assert '<span class="invisible">https://</span><span class="ellipsis">e.example/lo</span>' in clean
    assert clean.count(f'rel="{LINK_REL}"') == 3 and clean.count('target="_blank"') == 3
    assert 'rel="me"' not in clean and 'rel="tag"' not in clean and "evil" not in clean
    for kept in ("<br>", "<blockquote><pre><code>x = 1</code></pre></blockquote>", '<ol start="3">',
                 "<del>old</del>", "<em>e</em>", "<strong>s</strong>", "<u>u</u>"):
        assert kept in clean


def test_links_keep_only_web_and_mail_targets():
    assert 'href="mailto:a@b.example"' in sanitize_html('<a href="mailto:a@b.example">mail</a>')
    assert "href" not in sanitize_html('<a href="/settings/delete">relative</a>')
    assert "href" not in sanitize_html('<a href="ftp://f.example/x">ftp</a>')


def test_other_tags_drop_but_keep_their_text():
    assert sanitize_html("<h1>Title</h1><div>text</div><table><tr><td>cell</td></tr></table>") == \
        "Titletextcell"


def test_long_input_is_truncated_not_refused():
    clean = sanitize_html("<p>" + "a" * (MAX_HTML_CHARS * 2) + "</p>")
    assert clean.startswith("<p>aaa") and clean.endswith("</p>")
    assert len(clean) <= MAX_HTML_CHARS + len("</p>")


# --- text_to_html -----------------------------------------------------------------------------

def test_text_is_escaped_and_split_into_paragraphs():
    html = render("1 < 2 & <b>bold</b>\nnext line\n\n\n\nsecond paragraph\r\nend\n")
    assert html == ("<p>1 &lt; 2 &amp; &lt;b&gt;bold&lt;/b&gt;<br>next line</p>"
                    "<p>second paragraph<br>end</p>")
    assert render("   \n\n  ") == ""


def test_known_mentions_become_h_cards_and_unknown_ones_stay_text():
    html = render("hi @Bob and @carol@X.example:8080, not @nobody or @bob@elsewhere.example")
    assert ('<span class="h-card"><a href="https://l.example/@bob" class="u-url mention">'
            "@<span>Bob</span></a></span>") in html
    assert ('<a href="https://x.example:8080/@carol" class="u-url mention">@<span>carol</span></a>'
            "</span>,") in html
    assert "not @nobody or @bob@elsewhere.example</p>" in html


def test_emails_and_urls_are_not_mentions():
    html = render("mail bob@l.example or see https://l.example/@bob")
    assert "h-card" not in html
    assert '<a href="https://l.example/@bob" target="_blank"' in html


def test_urls_are_linked_the_way_mastodon_shows_them():
    html = render("see https://www.example.com/a/very/long/path/that/keeps/going?x=1&y=2. "
                  "and (https://en.wikipedia.org/wiki/Cat_(disambiguation)) or https://e.example!")
    assert (f'<a href="https://www.example.com/a/very/long/path/that/keeps/going?x=1&amp;y=2" '
            f'target="_blank" rel="{LINK_REL}"><span class="invisible">https://www.</span>'
            '<span class="ellipsis">example.com/a/very/long/path/t</span>'
            '<span class="invisible">hat/keeps/going?x=1&amp;y=2</span></a>.') in html
    assert 'href="https://en.wikipedia.org/wiki/Cat_(disambiguation)"' in html and "</a>) or" in html
    assert ('<a href="https://e.example" target="_blank" rel="nofollow noopener noreferrer">'
            '<span class="invisible">https://</span><span>e.example</span><span class="invisible">'
            "</span></a>!") in html


def test_only_http_urls_are_linked_and_quotes_end_them():
    html = render('javascript:alert(1) ftp://f.example https://e.example/"onmouseover="alert(1)')
    assert html.count("<a ") == 1 and 'href="https://e.example/"' in html
    assert "&quot;onmouseover=&quot;alert(1)" in html


def test_hashtags_link_to_their_normalised_name():
    html = render("#Été #हिन्दी #日本語 #cats🐈 #１２３abc #123 x#no https://e.example/#frag")
    assert ('<a href="https://l.example/tags/été" class="mention hashtag" rel="tag">'
            '#<span>Été</span></a>') in html
    assert 'href="https://l.example/tags/हिन्दी"' in html and "#<span>हिन्दी</span>" in html
    assert 'href="https://l.example/tags/日本語"' in html
    assert "#<span>cats</span></a>🐈" in html
    assert 'href="https://l.example/tags/123abc"' in html
    assert " #123 x#no " in html and html.count('rel="tag"') == 5


def test_what_hashtag_url_returns_is_escaped():
    html = text_to_html("#x", mentions={}, hashtag_url=lambda tag: f'https://l.example/"><script>{tag}')
    assert "<script>" not in html and "&quot;&gt;&lt;script&gt;x" in html


def test_caption_html_survives_sanitising():
    html = render("hi @bob #cats https://e.example/a/very/long/path/that/is/long\nbye")
    clean = sanitize_html(html)
    for part in ('<span class="h-card">', 'class="u-url mention"', 'class="mention hashtag"',
                 '<span class="invisible">https://</span>', '<span class="ellipsis">', "<br>"):
        assert part in clean


# --- parsers and html_to_text -----------------------------------------------------------------

def test_parse_mentions():
    text = ("@bob hi @Bob, mail a@b.example and a.b@c.example; @c@X.example @first.last@host.example. "
            "@dev@localhost:3000 https://m.example/@zed (@paren) @@double")
    assert parse_mentions(text) == [
        ("bob", None), ("c", "x.example"), ("first.last", "host.example"), ("dev", "localhost:3000"),
        ("paren", None), ("double", None)]


def test_parse_hashtags():
    assert parse_hashtags("#Cats #cats #123 #été x#no #हिन्दी #café🎉 #ＣＡＴＳ https://x.example/#frag "
                          "(#paren) #under_score #·dot· #🎉") == [
        "cats", "été", "हिन्दी", "café", "paren", "under_score"]
    assert parse_hashtags("#a·b· #l·l") == ["a·b", "l·l"]
    assert parse_hashtags("#" + "a" * 101) == []


def test_html_to_text():
    assert html_to_text("<p>a &amp; b &lt;i&gt;</p><p>c<br>d</p><ul><li>x</li><li>y</li></ul>"
                        "<script>bad()</script><style>p{}</style>") == "a & b <i>\n\nc\nd\n\nx\ny"
    mastodon_link = ('<p><a href="https://e.example/long"><span class="invisible">https://</span>'
                     '<span class="ellipsis">e.example/lo</span><span class="invisible">ng</span></a></p>')
    assert html_to_text(mastodon_link) == "https://e.example/long"
    assert html_to_text("plain") == "plain" and html_to_text("") == ""
    assert len(html_to_text("a" * (MAX_HTML_CHARS + 10))) == MAX_HTML_CHARS
