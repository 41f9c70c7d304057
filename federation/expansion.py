"""pyld's JSON-LD expansion, for `jsonld.canonical`: imported with the first document it reads,
not at start, since pyld (with requests and urllib3, which it imports) is a sizeable part of a
web process that may never receive a federated document."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from cachetools import LRUCache  # pyld's own dependency, for its context cache
from pyld import jsonld
from pyld.context_resolver import ContextResolver

from .jsonld import JSONLDError

# Resolved and processed contexts, kept across calls. pyld's default cache is shared by the
# whole process and keyed by URL; ours is private, so our opaque reading of unknown contexts
# never leaks into another pyld user, nor theirs into ours.
_context_cache: LRUCache = LRUCache(maxsize=512)
_lock = threading.Lock()


def expand(source: dict[str, Any], loader: Callable[..., dict[str, Any]]) -> list[dict[str, Any]]:
    """`source` expanded with contexts from `loader`; JSONLDError when pyld refuses it."""
    options = {"documentLoader": loader, "contextResolver": ContextResolver(_context_cache, loader)}
    try:
        with _lock:
            return jsonld.expand(source, options)
    except jsonld.JsonLdError as exc:
        raise JSONLDError(f"not valid JSON-LD: {_reason(exc)}") from None


def _reason(exc: jsonld.JsonLdError) -> str:
    """The innermost cause: pyld wraps the useful message in generic ones."""
    while isinstance(getattr(exc, "cause", None), jsonld.JsonLdError):
        exc = exc.cause
    message = exc.args[0] if exc.args else str(exc)
    return str(message).splitlines()[0]
