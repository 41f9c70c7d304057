"""Move: a remote account moved to another (Mastodon's account migration). Its local followers
follow the new account and leave the old one, once the new one is seen to list the old one."""

from __future__ import annotations

from typing import Any

from .. import actors, moves
from ..context import Federation
from ..errors import Ignore
from ..jsonld import ref


async def handle(fed: Federation, activity: dict[str, Any]) -> None:
    # The signer is the activity's actor (inbox.check_origin); an account moves only itself.
    if ref(activity.get("object")) != activity["actor"]:
        raise Ignore("a Move of another account than its actor")
    target_uri = ref(activity.get("target"))
    if not isinstance(target_uri, str):
        raise Ignore("a Move without a target")
    try:
        origin = await actors.actor(fed, activity["actor"])
        target = await moves.accept_move(fed, origin, target_uri)
    except (moves.MoveError, actors.ActorError) as exc:
        raise Ignore(str(exc)) from None
    if target is None:
        raise Ignore("a repeated Move of this account")
