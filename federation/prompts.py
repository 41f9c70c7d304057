"""The prompt policy with this instance's data. Every path a prompt enters (a generation, a
remix asked for here, a RemixRequest arriving for a local cameo) calls `review`, and logs what
it refuses with `log_refusal`.

`policy.prompts.review_prompt` decides; this module gathers what it reads: the terms admins
added and the accounts they flagged as public figures (kept in memory, and read again by every
process within a second of an admin's change: federation/shared_cache.py), the cameos of the
request with their owners and instructions, and the offline abuse classifier.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import asyncpg

from policy.prompts import CameoUse, InstanceRules, Person, Refusal, review_prompt

from . import consent, metrics, store
from .context import Federation
from .shared_cache import SharedCache

if TYPE_CHECKING:
    from policy.classifier import AbuseScorer

log = logging.getLogger(__name__)

# A process reloads the admin terms and public figures at least this often; it looks once a second
# whether another process (a second web server, a worker, the CLI) changed them.
RULES_RELOAD_S = 60.0


def person(actor: asyncpg.Record) -> Person:
    """A real person and the names a prompt may call them by: display name, user name, handle.
    Who they are in the world (what lets a prompt name a public figure) is only what this
    instance's staff verified, and only for a local account: a display name is anyone's to
    choose, and a remote server may claim anything."""
    names = [actor["display_name"], actor["username"], f"{actor['username']}@{actor['domain']}"]
    verified = (actor.get("verified_identity") or "") if actor["local"] else ""
    return Person(actor["uri"], tuple(n for n in names if n), verified)


def cameo_use(cameo_uri: str, name: str, instructions: str, owner: asyncpg.Record) -> CameoUse:
    return CameoUse(cameo_uri, name, person(owner), instructions)


def _rules_cache(fed: Federation) -> SharedCache[InstanceRules]:
    if fed.prompt_rules is None:
        fed.prompt_rules = SharedCache(lambda: _load_rules(fed), reload_s=RULES_RELOAD_S, redis=fed.queue,
                                       version_key=f"{fed.queue_name}:prompt-rules-version")
    return fed.prompt_rules


async def _load_rules(fed: Federation) -> InstanceRules:
    terms: dict[str, list[str]] = defaultdict(list)
    for row in await store.prompt_terms(fed.pool):
        terms[row["category"]].append(row["term"])
    return InstanceRules(terms, [person(a) for a in await store.public_figures(fed.pool)])


async def instance_rules(fed: Federation) -> InstanceRules:
    return await _rules_cache(fed).get()


async def rules_changed(fed: Federation) -> None:
    """An admin changed a term or a public figure: every process reads the rules again."""
    await _rules_cache(fed).changed()


async def abuse_scorer() -> AbuseScorer:
    """The classifier, loaded in a thread the first time (it takes about a second). Imported
    here, on the first review: its NumPy and scikit-learn are no part of the web process's start."""
    from policy import classifier

    return classifier.loaded() or await asyncio.to_thread(classifier.abuse_scorer)


async def semantic_classifier() -> None:
    """Load the semantic classifier in a thread the first time (numpy and its arrays), so that
    the first review does not stall the event loop. A model that cannot load is left to
    review_prompt, which holds the prompt."""
    from policy import semantic

    if semantic.loaded() is None:
        try:
            await asyncio.to_thread(semantic.classifier)
        except semantic.LayerUnavailable:
            log.error("the prompt classifier cannot be loaded: prompts are held", exc_info=True)


async def review(fed: Federation, prompt: Any, cameos: Sequence[CameoUse] = ()) -> Refusal | None:
    """Why the prompt may not be generated with these cameos here, or None: the lexicon, the
    semantic classifier, then the moderation endpoint where one is configured (a layer that
    cannot answer holds the prompt). PromptError for a prompt of the wrong shape."""
    await semantic_classifier()
    refusal = review_prompt(prompt, cameos, await instance_rules(fed), await abuse_scorer())
    if refusal is None and fed.moderation is not None:
        refusal = await fed.moderation.review(prompt.strip())
    return refusal


def log_held(held: Refusal, *, requester: asyncpg.Record, source: str) -> None:
    """A prompt held because a layer could not judge it: counted and logged for the operator,
    never written as a refusal of the person's prompt."""
    metrics.POLICY_HELD.labels(held.rule, source).inc()
    log.warning("prompt held: source=%s requester=%s rule=%s: %s", source, requester["uri"],
                held.rule, held.term)


async def log_refusal(conn: asyncpg.Connection | asyncpg.Pool, refusal: Refusal, *,
                      requester: asyncpg.Record, prompt: str, source: str,
                      cameos: Sequence[CameoUse] = ()) -> int:
    """Record a refusal (the rule, the term, the prompt's digest; not the prompt) and log it."""
    digest = consent.prompt_digest(prompt)
    refusal_id = await store.insert_prompt_refusal(conn, {
        "actor_id": requester["id"], "actor_uri": requester["uri"], "source": source,
        "category": refusal.category, "rule": refusal.rule, "term": refusal.term,
        "prompt_digest": digest, "prompt_chars": len(prompt),
        "cameo_uris": [c.cameo for c in cameos]})
    metrics.POLICY_REFUSALS.labels(refusal.category, source).inc()
    log.info("prompt refused: source=%s requester=%s category=%s rule=%s digest=%s", source,
             requester["uri"], refusal.category, refusal.rule, digest)
    return refusal_id
