"""`likeness admin domain-block|domain-allow|federation-mode`: the instance rules from a shell.

They change rules through the same operations as the admin API (federation/domain_rules.py), so
a block made here severs follows and forgets media the same way; running servers see it within
a second.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg

from federation import domain_rules
from federation import domain_rules_store as rules_store
from federation.domain_rules import block_of
from policy.blocklist_csv import BlocklistError, format_blocklist, parse_blocklist
from policy.instance_rules import DomainBlock, RuleError, Severity, normalize_domain

from .common import WithInstance, fail


def _describe(block: DomainBlock) -> str:
    flags = [name.replace("_", " ") for name in ("reject_media", "reject_reports",
                                                  "reject_remix_requests", "obfuscate")
             if getattr(block, name)]
    return ", ".join([block.severity.value, *flags])


async def block_add(args: argparse.Namespace, instance: Any) -> int:
    try:
        block = DomainBlock(
            domain=normalize_domain(args.domain), severity=Severity(args.severity),
            reject_media=args.reject_media, reject_reports=args.reject_reports,
            reject_remix_requests=args.reject_remix_requests, obfuscate=args.obfuscate,
            public_comment=args.public_comment or None, private_comment=args.private_comment or None)
    except RuleError as exc:
        return fail(str(exc))
    existing = await domain_rules.conflicting_block(instance.pool, block)
    if existing is not None and existing["domain"] != block.domain:
        return fail(f"{existing['domain']} is already blocked at least as strictly"
                     f" ({_describe(block_of(existing))})")
    try:
        _, created = await domain_rules.save_block(instance.fed.rules, block)
    except RuleError as exc:
        return fail(str(exc))
    print(f"{'blocked' if created else 'updated the block of'} {block.domain}: {_describe(block)}")
    return 0


async def _remove(args: argparse.Namespace, instance: Any,
                  find: Callable[[Any, str], Awaitable[asyncpg.Record | None]],
                  remove: Callable[[Any, int], Awaitable[Any]], missing: str, removed: str) -> int:
    """Lift the block of a domain or take it off the allow list; `missing` and `removed` say
    which happened, with `{}` for the domain."""
    try:
        domain = normalize_domain(args.domain)
    except RuleError as exc:
        return fail(str(exc))
    row = await find(instance.pool, domain)
    if row is None:
        return fail(missing.format(domain))
    await remove(instance.fed.rules, row["id"])
    print(removed.format(domain))
    return 0


def _print_domains(rows: list[asyncpg.Record], line: Callable[[asyncpg.Record], str], empty: str) -> int:
    """One line a block or allow, by domain; `empty` when there is none."""
    for row in sorted(rows, key=lambda r: r["domain"]):
        print(line(row))
    if not rows:
        print(empty)
    return 0


async def block_remove(args: argparse.Namespace, instance: Any) -> int:
    return await _remove(args, instance, rules_store.block_by_domain, domain_rules.remove_block,
                         "{} is not blocked", "unblocked {}")


def _block_line(row: asyncpg.Record) -> str:
    block = block_of(row)
    comment = f"  # {block.public_comment}" if block.public_comment else ""
    return f"{block.domain}\t{_describe(block)}{comment}"


async def block_list(args: argparse.Namespace, instance: Any) -> int:
    return _print_domains(await rules_store.blocks(instance.pool), _block_line, "no domain blocks")


async def block_import(args: argparse.Namespace, instance: Any) -> int:
    try:
        text = sys.stdin.read() if args.file == "-" else \
            await asyncio.to_thread(Path(args.file).read_text, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return fail(f"cannot read {args.file}: {exc}")
    try:
        blocks = parse_blocklist(text)
        created, updated = await domain_rules.import_blocks(instance.fed.rules, blocks)
    except BlocklistError as exc:
        for line in exc.errors:
            print(f"error: {line}", file=sys.stderr)
        return fail("nothing was imported")
    except RuleError as exc:
        return fail(f"nothing was imported: {exc}")
    print(f"imported {len(blocks)} domain blocks: {created} new, {updated} updated")
    return 0


async def block_export(args: argparse.Namespace, instance: Any) -> int:
    text = format_blocklist(block_of(r) for r in await rules_store.blocks(instance.pool))
    if args.file in (None, "-"):
        sys.stdout.write(text)
        return 0
    try:
        await asyncio.to_thread(Path(args.file).write_text, text, encoding="utf-8")
    except OSError as exc:
        return fail(f"cannot write {args.file}: {exc}")
    print(f"wrote {text.count(chr(10)) - 1} domain blocks to {args.file}", file=sys.stderr)
    return 0


async def allow_add(args: argparse.Namespace, instance: Any) -> int:
    try:
        domain = normalize_domain(args.domain)
    except RuleError as exc:
        return fail(str(exc))
    _, created = await domain_rules.add_allow(instance.fed.rules, domain)
    print(f"allowed {domain}" if created else f"{domain} was allowed already")
    return 0


async def allow_remove(args: argparse.Namespace, instance: Any) -> int:
    return await _remove(args, instance, rules_store.allow_by_domain, domain_rules.remove_allow,
                         "{} is not on the allow list", "{} is no longer allowed")


async def allow_list(args: argparse.Namespace, instance: Any) -> int:
    return _print_domains(await rules_store.allows(instance.pool), lambda row: row["domain"],
                          "the allow list is empty")


async def federation_mode(args: argparse.Namespace, instance: Any) -> int:
    if args.mode is not None:
        await domain_rules.set_allowlist_mode(instance.fed.rules, args.mode == "allowlist")
    allowlist = await rules_store.allowlist_mode(instance.pool)
    print("federation mode: allowlist (only domains on the allow list federate)" if allowlist
          else "federation mode: open (every domain not blocked federates)")
    return 0


def add_commands(admin: Any, run: WithInstance) -> None:
    """Add the rule commands under `likeness admin`; `run` starts an instance for each."""

    def command(parser: argparse.ArgumentParser, action: Callable[..., Awaitable[int]]) -> None:
        parser.set_defaults(func=lambda args: run(partial(action, args)))

    blocks = admin.add_parser("domain-block", help="block, limit or restrict other servers"
                              " (Mastodon's domain blocks)").add_subparsers(
        dest="domain_block_command", required=True)
    p = blocks.add_parser("add", help="block a domain (and its subdomains), or change its block")
    p.add_argument("domain", help="example.com, or host:port for exactly that authority")
    p.add_argument("--severity", choices=[s.value for s in Severity], default="silence",
                   help="suspend: nothing in or out; silence: only followers see them; noop: only"
                        " the flags (default silence)")
    p.add_argument("--reject-media", action="store_true", help="neither store nor show their media")
    p.add_argument("--reject-reports", action="store_true", help="ignore their reports (Flag)")
    p.add_argument("--reject-remix-requests", action="store_true",
                   help="answer their remix requests with a Reject, without telling anyone here")
    p.add_argument("--obfuscate", action="store_true", help="partly hide the domain in the public list")
    p.add_argument("--public-comment", help="the reason shown in the public list")
    p.add_argument("--private-comment", help="a note for admins only")
    command(p, block_add)
    p = blocks.add_parser("remove", help="lift a domain's block")
    p.add_argument("domain")
    command(p, block_remove)
    command(blocks.add_parser("list", help="list the domain blocks"), block_list)
    p = blocks.add_parser("import", help="import blocks from a CSV in Mastodon's format (- for stdin);"
                                         " nothing is written if any row is wrong")
    p.add_argument("file", metavar="FILE")
    command(p, block_import)
    p = blocks.add_parser("export", help="write the blocks as CSV in Mastodon's format")
    p.add_argument("file", metavar="FILE", nargs="?", help="default: standard output")
    command(p, block_export)

    allows = admin.add_parser("domain-allow", help="the allow list of allow-list mode").add_subparsers(
        dest="domain_allow_command", required=True)
    for name, action, text in (("add", allow_add, "allow a domain (and its subdomains)"),
                               ("remove", allow_remove, "take a domain off the allow list")):
        p = allows.add_parser(name, help=text)
        p.add_argument("domain")
        command(p, action)
    command(allows.add_parser("list", help="list the allowed domains"), allow_list)

    p = admin.add_parser("federation-mode", help="open, or allowlist: federate only with allowed"
                                                 " domains (Mastodon's limited federation mode)")
    p.add_argument("mode", choices=("open", "allowlist"), nargs="?", help="default: show the mode")
    command(p, federation_mode)
