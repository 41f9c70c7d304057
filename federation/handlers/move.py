"""Move: a remote account moved to another (Mastodon's account migration). Its local followers
follow the new account and leave the old one, once the new one is seen to list the old one.
One that carries its old key's proof is also a succession (PROTOCOL.md "Succession"), kept so
that the consent the account gave still verifies once its old server is gone."""

from __future__ import annotations

from typing import Any

from .. import actors, moves, succession
from ..context import Federation
from ..errors import Ignore
from ..jsonld import ref
from .common import raw_body


async def handle(fed: Federation, activity: dict[str, Any]) -> None:
    # The signer is the activity's actor (inbox.check_origin); an account moves only itself.
    if ref(activity.get("object")) != activity["actor"]:
        raise Ignore("a Move of another account than its actor")
    target_uri = ref(activity.get("target"))
    if not isinstance(target_uri, str):
        raise Ignore("a Move without a target")
    # Recorded whatever becomes of the follows: a server that holds the account's consent but
    # none of its followers needs the succession all the same.
    await succession.receive_move(fed, await raw_body(fed, activity))
    try:
        origin = await actors.actor(fed, activity["actor"])
        target = await moves.accept_move(fed, origin, target_uri)
    except (moves.MoveError, actors.ActorError) as exc:
        raise Ignore(str(exc)) from None
    if target is None:
        raise Ignore("a repeated Move of this account")
