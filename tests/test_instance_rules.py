"""Instance rules as plain functions: domains, matching, what each severity allows, CSV in
Mastodon's format, and the SQL functions that must match exactly as the Python does."""

from __future__ import annotations

import asyncpg
import pytest

from policy.blocklist_csv import BlocklistError, format_blocklist, parse_blocklist
from policy.instance_rules import (
    DomainBlock,
    RuleError,
    RuleSet,
    Severity,
    at_least_as_strict,
    candidates,
    check_block,
    digest,
    federates,
    normalize_domain,
    policy_for,
    public_domain,
    rejects_reports,
    rule_for,
)
from server import db

LOCAL = "likeness.example:8443"


@pytest.mark.parametrize(("raw", "expected"), [
    ("Example.COM", "example.com"),
    ("  example.com.  ", "example.com"),
    ("https://Example.com/@someone", "example.com"),
    ("*.example.com", "example.com"),
    ("example.com:8443", "example.com:8443"),
    ("http://127.0.0.1:5000/users/x", "127.0.0.1:5000"),
    ("127.000.0.1", "127.0.0.1"),
    ("[2001:DB8::1]:443", "[2001:db8::1]:443"),
    ("münchen.de", "xn--mnchen-3ya.de"),
    ("under_score.example", "under_score.example"),
])
def test_domains_are_normalised(raw, expected):
    assert normalize_domain(raw) == expected


@pytest.mark.parametrize(("raw", "words"), [
    ("", "required"), (None, "required"), (42, "required"),
    ("exa mple.com", "not a valid domain"), ("-bad.example", "not a valid domain"),
    ("example..com", "not a valid domain"), ("a" * 64 + ".com", "not a valid domain"),
    ("example.com:0", "port"), ("example.com:99999", "port"), ("example.com:http", "port"),
    ("2001:db8::1", "brackets"), ("[zz::1]", "IPv6"), ("1.2.3", "IPv4"), ("300.1.1.1", "IPv4"),
])
def test_bad_domains_are_refused_with_a_reason(raw, words):
    with pytest.raises(RuleError, match=words):
        normalize_domain(raw)


def test_candidates_run_from_the_authority_to_its_parents():
    assert candidates("Sub.Example.com:8443") == ["sub.example.com:8443", "sub.example.com",
                                                  "example.com", "com"]
    assert candidates("example.com") == ["example.com", "com"]
    assert candidates("127.0.0.1:5000") == ["127.0.0.1:5000", "127.0.0.1"]
    assert candidates("[::1]:80") == ["[::1]:80", "[::1]"]


def _rules(*blocks: DomainBlock, allowed: tuple[str, ...] = (), allowlist: bool = False) -> RuleSet:
    return RuleSet(LOCAL, {b.domain: b for b in blocks}, frozenset(allowed), allowlist)


def test_a_block_covers_subdomains_and_the_most_specific_rule_wins():
    rules = _rules(DomainBlock("example.com", Severity.SUSPEND),
                   DomainBlock("ok.example.com", Severity.NOOP, reject_media=True),
                   DomainBlock("127.0.0.1:5000", Severity.SILENCE))
    assert rule_for(rules, "deep.sub.example.com:99").domain == "example.com"
    assert not federates(rules, "example.com") and not federates(rules, "x.example.com")
    assert federates(rules, "ok.example.com") and federates(rules, "a.ok.example.com")
    assert policy_for(rules, "a.ok.example.com").reject_media
    assert federates(rules, "notexample.com") and rule_for(rules, "notexample.com") is None
    # A rule with a port is exactly that authority; the same host on another port is untouched.
    assert policy_for(rules, "127.0.0.1:5000").silenced
    assert rule_for(rules, "127.0.0.1:5001") is None and rule_for(rules, "127.0.0.1") is None


def test_what_each_severity_allows():
    rules = _rules(DomainBlock("gone.example", Severity.SUSPEND),
                   DomainBlock("quiet.example", Severity.SILENCE, reject_reports=True),
                   DomainBlock("flags.example", Severity.NOOP, reject_remix_requests=True))
    gone = policy_for(rules, "gone.example")
    assert gone.suspended and gone.silenced and gone.reject_media and gone.reject_reports \
        and gone.reject_remix_requests and "suspended" in gone.reason
    quiet = policy_for(rules, "quiet.example")
    assert (quiet.suspended, quiet.silenced, quiet.reject_media, quiet.reject_reports) == \
        (False, True, False, True)
    assert rejects_reports(rules, "quiet.example") and not rejects_reports(rules, "flags.example")
    flags = policy_for(rules, "flags.example")
    assert not flags.silenced and flags.reject_remix_requests
    assert policy_for(rules, "elsewhere.example") == policy_for(rules, "")


def test_allowlist_mode_treats_everything_else_as_suspended():
    rules = _rules(DomainBlock("friends.example", Severity.SILENCE), allowed=("friends.example",),
                   allowlist=True)
    assert federates(rules, "friends.example") and federates(rules, "video.friends.example")
    assert policy_for(rules, "friends.example").silenced  # blocks still apply to allowed domains
    stranger = policy_for(rules, "stranger.example")
    assert stranger.suspended and "allow list" in stranger.reason
    assert federates(rules, LOCAL)  # the instance itself always federates
    assert federates(_rules(allowed=()), "stranger.example")  # the list counts only in the mode


def test_own_domain_and_long_comments_are_refused():
    with pytest.raises(RuleError, match="own domain"):
        check_block(DomainBlock("likeness.example"), LOCAL)
    with pytest.raises(RuleError, match="own domain"):
        check_block(DomainBlock(LOCAL), LOCAL)
    check_block(DomainBlock("likeness.example:9000"), LOCAL)
    with pytest.raises(RuleError, match="public_comment"):
        check_block(DomainBlock("x.example", public_comment="x" * 1001), LOCAL)


def test_strictness_as_mastodon_compares_blocks():
    silence = DomainBlock("a.example", Severity.SILENCE)
    assert at_least_as_strict(DomainBlock("s.a.example", Severity.SUSPEND), silence)
    assert not at_least_as_strict(DomainBlock("s.a.example", Severity.NOOP), silence)
    assert at_least_as_strict(DomainBlock("s.a.example", Severity.SILENCE, reject_media=True), silence)
    assert not at_least_as_strict(DomainBlock("s.a.example", Severity.SILENCE),
                                  DomainBlock("a.example", Severity.SILENCE, reject_media=True))


def test_obfuscation_hides_the_middle_and_keeps_dots():
    block = DomainBlock("bad-instance.example.com", obfuscate=True)
    assert public_domain(block) == "bad-ins*****.*****le.com"
    assert public_domain(DomainBlock("bad-instance.example.com")) == "bad-instance.example.com"
    assert digest("example.com") == "a379a6f6eeafb9a55e378c118034e2751e682fab9f2d30ab13d2125586ce1947"


async def test_sql_matches_the_python_rules(database):
    """Timelines filter in SQL what the inbox refuses in Python: the two must agree exactly."""
    conn = await asyncpg.connect(database)
    try:
        await db.migrate(conn)
        authorities = ["sub.example.com:8443", "example.com", "Deep.Sub.Example.Com",
                       "127.0.0.1:5000", "127.0.0.1", "[::1]:80", "[::1]", "localhost",
                       "under_score.example", "xn--mnchen-3ya.de:1"]
        for authority in authorities:
            found = await conn.fetchval("SELECT domain_candidates($1)", authority)
            assert list(dict.fromkeys(found)) == candidates(authority), authority
        blocks = [DomainBlock("example.com", Severity.SUSPEND),
                  DomainBlock("sub.example.com", Severity.SUSPEND, reject_media=True),
                  DomainBlock("quiet.example.com:8443", Severity.SILENCE),
                  DomainBlock("127.0.0.1:5000", Severity.SILENCE, reject_media=True),
                  DomainBlock("media.example", Severity.NOOP, reject_media=True)]
        for block in blocks:
            await conn.execute("INSERT INTO domain_blocks (domain, severity, reject_media)"
                               " VALUES ($1, $2, $3)", block.domain, block.severity.value,
                               block.reject_media)
        await conn.execute("INSERT INTO domain_allows (domain) VALUES ('example.com'),"
                           " ('127.0.0.1:5000')")
        probes = authorities + ["quiet.example.com:8443", "quiet.example.com", "a.media.example",
                                "other.org", "127.0.0.1:5001"]
        for allowlist in (False, True):
            await conn.execute("INSERT INTO instance_settings (key, value) VALUES"
                               " ('federation_mode', $1) ON CONFLICT (key) DO UPDATE"
                               " SET value = EXCLUDED.value",
                               '"allowlist"' if allowlist else '"open"')
            rules = _rules(*blocks, allowed=("example.com", "127.0.0.1:5000"), allowlist=allowlist)
            for authority in probes:
                row = await conn.fetchrow(
                    "SELECT domain_suspended($1) AS suspended, domain_limited($1) AS silenced,"
                    " domain_rejects_media($1) AS reject_media", authority)
                expected = policy_for(rules, authority.lower())
                assert dict(row) == {"suspended": expected.suspended, "silenced": expected.silenced,
                                     "reject_media": expected.reject_media}, (authority, allowlist)
    finally:
        await conn.close()


MASTODON_EXPORT = """#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate
bad.example,suspend,false,false,Harassment,false
noisy.example,silence,true,false,"Spam, mostly",true
pics.example,noop,true,true,,false
"""


def test_mastodon_export_imports():
    blocks = parse_blocklist(MASTODON_EXPORT)
    assert blocks == [
        DomainBlock("bad.example", Severity.SUSPEND, public_comment="Harassment"),
        DomainBlock("noisy.example", Severity.SILENCE, reject_media=True,
                    public_comment="Spam, mostly", obfuscate=True),
        DomainBlock("pics.example", Severity.NOOP, reject_media=True, reject_reports=True),
    ]


def test_older_and_hand_written_variants_import():
    # A bare list of domains (Mastodon's older export): each is suspended.
    assert parse_blocklist("bad.example\n\nworse.example\n") == [
        DomainBlock("bad.example", Severity.SUSPEND), DomainBlock("worse.example", Severity.SUSPEND)]
    # Header-less rows in Mastodon's column order; the UI's "limit" for silence; a BOM.
    assert parse_blocklist("\ufeffa.example,limit,TRUE\nb.example,,0,1\n") == [
        DomainBlock("a.example", Severity.SILENCE, reject_media=True),
        DomainBlock("b.example", Severity.SUSPEND, reject_reports=True)]
    # Headers without '#', in another order, with a column Mastodon does not know.
    text = "severity,domain,digest,reject_remix_requests\nnoop,c.example,abc,yes\n"
    assert parse_blocklist(text) == [
        DomainBlock("c.example", Severity.NOOP, reject_remix_requests=True)]


def test_export_and_import_round_trip():
    blocks = [DomainBlock("b.example", Severity.SILENCE, reject_media=True, obfuscate=True,
                          public_comment='quotes " and, commas'),
              DomainBlock("a.example:8080", Severity.NOOP, reject_remix_requests=True),
              DomainBlock("c.example", Severity.SUSPEND, reject_reports=True)]
    text = format_blocklist(blocks)
    assert text.splitlines()[0] == ("#domain,#severity,#reject_media,#reject_reports,"
                                    "#public_comment,#obfuscate,#reject_remix_requests")
    assert parse_blocklist(text) == sorted(blocks, key=lambda b: b.domain)


@pytest.mark.parametrize(("text", "words"), [
    ("", "no rows"),
    ("#domain,#severity\nok.example,suspend\nbad.example,obliterate\n", "line 3: bad.example: severity"),
    ("#domain,#severity\n,suspend\n", "line 2: the domain is missing"),
    ("#domain,#reject_media\nx.example,maybe\n", "line 2: x.example: reject_media must be true or false"),
    ("#domain\nx.example\nX.Example.\n", "line 3: x.example is listed twice (also line 2)"),
    ("#domain\nnot a domain\n", "line 2: 'not a domain' is not a valid domain"),
    ('#domain\n"unterminated\n', "not valid CSV"),
    ("#domain,#domain\nx.example,y.example\n", "names domain twice"),
])
def test_bad_files_are_refused_naming_the_row(text, words):
    with pytest.raises(BlocklistError) as caught:
        parse_blocklist(text)
    assert words in str(caught.value)


def test_every_bad_row_is_reported():
    with pytest.raises(BlocklistError) as caught:
        parse_blocklist("a.example,nope\nb.example\nc.example,suspend,perhaps\n")
    assert [e.split(":")[0] for e in caught.value.errors] == ["line 1", "line 3"]
