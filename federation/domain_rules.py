"""The instance rules at work: a cached rule set for the hot paths (every inbox POST, delivery
and fetch asks it), and the admin operations that change rules and apply them to what is stored.

The decisions themselves are `policy.instance_rules`; the SQL is `domain_rules_store`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from policy.instance_rules import (
    DomainBlock,
    DomainPolicy,
    RuleSet,
    Severity,
    at_least_as_strict,
    authority_of,
    check_block,
    policy_for,
)

from . import domain_rules_store as rules_store
from .shared_cache import SharedCache

log = logging.getLogger(__name__)

T = TypeVar("T")

# A process reloads the rules at least this often; it looks once a second whether another process
# (a second web server, a worker, the CLI) changed them (federation/shared_cache.py).
RELOAD_SECONDS = 60.0
# How many authorities' policies a process keeps worked out (emptied when full).
MAX_POLICIES_KEPT = 10_000


def block_of(row: asyncpg.Record) -> DomainBlock:
    return DomainBlock(domain=row["domain"], severity=Severity(row["severity"]),
                       reject_media=row["reject_media"], reject_reports=row["reject_reports"],
                       reject_remix_requests=row["reject_remix_requests"],
                       public_comment=row["public_comment"], private_comment=row["private_comment"],
                       obfuscate=row["obfuscate"])


class DomainRules:
    """The rule set, kept in memory so that the inbox does not read the database per activity.

    A change made here is seen at once; one made by another process within a second, through a
    version counter in Redis (or, with Redis unreachable, within RELOAD_SECONDS).
    """

    def __init__(self, pool: asyncpg.Pool, local: str, *, redis: Any = None,
                 version_key: str | None = None) -> None:
        self.pool = pool
        self.local = local
        self._cache = SharedCache(self._load, reload_s=RELOAD_SECONDS, redis=redis, version_key=version_key)
        # Policies worked out from the current rule set, by authority: the inbox asks twice per POST,
        # mostly about the same few peers. Dropped with the rule set they were worked out from.
        self._policies: tuple[RuleSet | None, dict[str, DomainPolicy]] = (None, {})

    async def current(self) -> RuleSet:
        return await self._cache.get()

    async def policy(self, url_or_authority: str) -> DomainPolicy:
        """What applies to the server of a URL (or to a bare `host[:port]`)."""
        authority = authority_of(url_or_authority) if "://" in url_or_authority else url_or_authority
        rules = await self.current()
        worked_out, policies = self._policies
        if worked_out is not rules or len(policies) >= MAX_POLICIES_KEPT:
            policies = {}
            self._policies = (rules, policies)
        found = policies.get(authority)
        if found is None:
            found = policies[authority] = policy_for(rules, authority)
        return found

    async def refusal(self, authority: str) -> str | None:
        """Why nothing may go to `authority`, or None: the HTTP client asks before each request."""
        found = policy_for(await self.current(), authority)
        return found.reason if found.suspended else None

    async def changed(self) -> None:
        """Drop this process's copy and tell the others (through Redis) to drop theirs."""
        await self._cache.changed()

    async def _load(self) -> RuleSet:
        async with self.pool.acquire() as conn:
            blocks = await rules_store.blocks(conn)
            allows = await rules_store.allows(conn)
            mode = await rules_store.allowlist_mode(conn)
        return RuleSet(local=self.local, blocks={r["domain"]: block_of(r) for r in blocks},
                       allowed=frozenset(r["domain"] for r in allows), allowlist_mode=mode)


# --- admin operations (the API and the CLI share them) ---------------------------------------

async def conflicting_block(pool: asyncpg.Pool, block: DomainBlock) -> asyncpg.Record | None:
    """An existing block that makes a new one pointless: one for the same domain, or one for a
    parent domain that restricts at least as much (Mastodon refuses those with 422)."""
    existing = await rules_store.covering_block(pool, block.domain)
    if existing is None:
        return None
    if existing["domain"] == block.domain or not at_least_as_strict(block, block_of(existing)):
        return existing
    return None


async def save_block(rules: DomainRules, block: DomainBlock) -> tuple[asyncpg.Record, bool]:
    """Create or update the block of `block.domain` and apply it; (row, created)."""
    check_block(block, rules.local)
    return await _change(rules, lambda conn: rules_store.upsert_block(conn, block.domain, _fields(block)))


async def import_blocks(rules: DomainRules, blocks: list[DomainBlock]) -> tuple[int, int]:
    """Create or update every block in one transaction; (created, updated). A private comment
    the file does not carry keeps the one already stored."""
    for block in blocks:
        check_block(block, rules.local)

    async def upsert_all(conn: asyncpg.Connection) -> tuple[int, int]:
        created = updated = 0
        for block in blocks:
            fields = _fields(block)
            if block.private_comment is None:
                existing = await rules_store.block_by_domain(conn, block.domain)
                fields["private_comment"] = existing["private_comment"] if existing else None
            _, was_created = await rules_store.upsert_block(conn, block.domain, fields)
            created += was_created
            updated += not was_created
        return created, updated

    return await _change(rules, upsert_all)


async def remove_block(rules: DomainRules, block_id: int) -> asyncpg.Record | None:
    """Lift a block. Follows it severed stay severed; new ones work again."""
    return await _change(rules, lambda conn: rules_store.delete_block(conn, block_id), _found)


async def add_allow(rules: DomainRules, domain: str) -> tuple[asyncpg.Record, bool]:
    return await _change(rules, lambda conn: rules_store.insert_allow(conn, domain),
                         lambda inserted: inserted[1])


async def remove_allow(rules: DomainRules, allow_id: int) -> asyncpg.Record | None:
    """Take a domain off the allow list; in allow-list mode its follows are severed."""
    return await _change(rules, lambda conn: rules_store.delete_allow(conn, allow_id), _found)


async def set_allowlist_mode(rules: DomainRules, on: bool) -> None:
    """Switch allow-list mode. Turning it on severs the follows of every domain not allowed,
    as a suspension would."""
    await _change(rules, lambda conn: rules_store.set_allowlist_mode(conn, on))


async def _change(rules: DomainRules, change: Callable[[asyncpg.Connection], Awaitable[T]],
                  changed: Callable[[T], bool] = lambda _: True) -> T:
    """Make a change to the rules and what it does to stored data (`_apply`) in one transaction,
    then have every process drop its copy of the rules; `changed` says from the change's result
    whether it changed anything (if not, neither happens)."""
    async with rules.pool.acquire() as conn, conn.transaction():
        result = await change(conn)
        applied = changed(result)
        if applied:
            await _apply(conn)
    if applied:
        await rules.changed()
    return result


def _found(row: asyncpg.Record | None) -> bool:
    return row is not None


def _fields(block: DomainBlock) -> dict[str, Any]:
    return {name: getattr(block, name) for name in rules_store.BLOCK_FIELDS} | {
        "severity": block.severity.value}


async def _apply(conn: asyncpg.Connection) -> None:
    """What a rule change does to stored data, in the change's transaction: every remote
    actor's domain state is refreshed, follows with suspended domains are severed both ways,
    rejected media forgotten. Nothing is sent: a suspended server hears nothing from us."""
    await rules_store.refresh_domain_states(conn)
    severed = await rules_store.sever_suspended(conn)
    purged = await rules_store.purge_rejected_media(conn)
    if severed or purged:
        log.info("domain rules applied: %d follows severed, %d media forgotten", severed, purged)
