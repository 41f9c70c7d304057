"""JSON-LD without the network: bundled contexts, and one canonical shape for handlers.

Peers alias the same thing many ways (`as:Public`, `Public`, the full IRI; `@type` or `type`).
`canonical` compacts every incoming document against one pinned context so handlers read plain
keys. Contexts are never fetched: the loader serves bundled copies and treats any other URL as
an empty context. Signed data is verified on the JSON as received, never on this output.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from pyld import jsonld

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_V1 = "https://w3id.org/security/v1"
LIKENESS_CONTEXT = "https://likeness.social/ns"

_CONTEXTS = Path(__file__).with_name("contexts")
_BUNDLED = {
    AS_CONTEXT: "activitystreams.jsonld",
    SECURITY_V1: "security-v1.jsonld",
    "https://w3id.org/security/data-integrity/v2": "data-integrity-v2.jsonld",
    "https://w3id.org/security/multikey/v1": "multikey-v1.jsonld",
    LIKENESS_CONTEXT: "likeness.jsonld",
}
OUTPUT_CONTEXT = [AS_CONTEXT, SECURITY_V1, LIKENESS_CONTEXT]
# Properties that may hold several values; handlers always get a list for them.
LIST_KEYS = frozenset({"to", "cc", "bto", "bcc", "audience", "tag", "attachment", "url",
                       "assertionMethod", "cameos", "alsoKnownAs", "automaticApproval",
                       "manualApproval"})
_PUBLIC_ALIASES = frozenset({"as:Public", "Public", PUBLIC})
_UNSUPPORTED = frozenset({"@graph", "@included", "@reverse"})


class JSONLDError(ValueError):
    """A document we will not interpret: malformed, or using features that hide data."""


def _normalise_url(url: str) -> str:
    url = url.split("#", 1)[0].rstrip("/")
    if url.startswith("http://"):
        url = "https://" + url[len("http://"):]
    return url.removesuffix(".jsonld").removesuffix(".json")


@cache
def _bundled(url: str) -> dict[str, Any]:
    name = _BUNDLED.get(_normalise_url(url))
    if name is None:
        # Unknown contexts are opaque: an empty context, never a network fetch.
        return {"@context": {}}
    return json.loads((_CONTEXTS / name).read_text())


def document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url,
            "document": _bundled(url)}


def _refuse_unsupported(value: Any, depth: int = 0) -> None:
    if depth > 50:
        raise JSONLDError("document is nested too deeply")
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in _UNSUPPORTED:
                raise JSONLDError(f"{key} is not accepted in federated documents")
            if key != "@context":
                _refuse_unsupported(inner, depth + 1)
    elif isinstance(value, list):
        for inner in value:
            _refuse_unsupported(inner, depth + 1)


def _tidy(value: Any, key: str | None = None) -> Any:
    """Public aliases to the full IRI, list-valued keys as lists, contentMap as content, and
    terms the sender left undefined (compacted as `_:term`) under their plain name."""
    if key in LIST_KEYS:
        return [_tidy(v) for v in as_list(value)]
    if isinstance(value, dict):
        tidy: dict[str, Any] = {}
        for k, v in value.items():
            name = k[2:] if k.startswith("_:") and k[2:] not in value else k
            tidy[name] = _tidy(v, name)
        if "content" not in tidy and isinstance(tidy.get("contentMap"), dict) and tidy["contentMap"]:
            tidy["content"] = next(iter(tidy["contentMap"].values()))
        return tidy
    if isinstance(value, list):
        return [_tidy(v, key) for v in value]
    if isinstance(value, str):
        if value in _PUBLIC_ALIASES:
            return PUBLIC
        if key == "type" and value.startswith("_:"):
            return value[2:]
    return value


def canonical(document: dict[str, Any]) -> dict[str, Any]:
    """`document` compacted against our pinned context, keys plain, Public spelled out."""
    if not isinstance(document, dict):
        raise JSONLDError("a document must be a JSON object")
    _refuse_unsupported(document)
    source = document if "@context" in document else {**document, "@context": AS_CONTEXT}
    try:
        compacted = jsonld.compact(source, {"@context": OUTPUT_CONTEXT},
                                   {"documentLoader": document_loader})
    except jsonld.JsonLdError as exc:
        raise JSONLDError(f"not valid JSON-LD: {str(exc).splitlines()[0]}") from None
    compacted.pop("@context", None)
    if "@graph" in compacted:
        raise JSONLDError("a document must describe one object")
    return _tidy(compacted)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def ref(value: Any) -> str | None:
    """The id of a value that is either an id or an embedded object."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return value["id"]
    return None
