"""JSON-LD without the network: bundled contexts, and one canonical shape for handlers.

Peers say the same thing many ways (`as:Public`, `Public` or the full IRI; `@type` or `type`;
a term they define or one they leave undefined; `content` or a `contentMap`; a string where we
expect an IRI). `canonical` expands a document with the contexts it names, then compacts it
with one pinned vocabulary, so handlers read plain keys whatever the sender wrote.

Contexts are never fetched at run time (PROTOCOL.md): the loader serves bundled copies and
reads any other URL as an empty context, so the terms it would define keep their plain JSON
names, as a JSON-only peer reads them. Signed data is verified on the JSON as received, never
on this output.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from .vocab import (
    AS_CONTEXT,
    DATA_INTEGRITY_V2,
    EXTENSION_TERMS,
    LIKENESS_CONTEXT,
    MULTIKEY_V1,
    PUBLIC,
    SECURITY_V1,
)

__all__ = ["PUBLIC", "JSONLDError", "as_list", "canonical", "document_loader", "ref"]

GOTOSOCIAL_CONTEXT = "https://gotosocial.org/ns"
_FILES = {
    AS_CONTEXT: "activitystreams.jsonld",
    SECURITY_V1: "security-v1.jsonld",
    DATA_INTEGRITY_V2: "data-integrity-v2.jsonld",
    MULTIKEY_V1: "multikey-v1.jsonld",
    # Read with EXTENSION_TERMS: the other servers' terms that Likeness reads but never writes.
    LIKENESS_CONTEXT: "likeness.jsonld",
    GOTOSOCIAL_CONTEXT: "gotosocial.jsonld",
}
_CONTEXTS = Path(__file__).with_name("contexts")
# The names handlers read: ActivityStreams, keys and proofs, and our extension terms (which
# include the Mastodon, GoToSocial and FEP-044f ones that peers inline). Earlier ones win.
OUTPUT_CONTEXT = [AS_CONTEXT, SECURITY_V1, DATA_INTEGRITY_V2, MULTIKEY_V1, LIKENESS_CONTEXT]

# Properties that may hold several values: handlers always get a list for them.
LIST_KEYS = frozenset({
    "to", "cc", "bto", "bcc", "audience", "tag", "attachment", "url", "items", "orderedItems",
    "oneOf", "anyOf", "alsoKnownAs", "assertionMethod", "cameos",
    "automaticApproval", "manualApproval", "always", "approvalRequired",
})
# Where `Public` or `as:Public` as a plain string still means the public collection.
_AUDIENCE_KEYS = frozenset({"to", "cc", "bto", "bcc", "audience", "automaticApproval",
                            "manualApproval", "always", "approvalRequired"})
_PUBLIC_SPELLINGS = frozenset({"Public", "as:Public", PUBLIC})
# Properties with a language map beside them: `content` and `contentMap`, ...
_LANGUAGE_MAPS = {"https://www.w3.org/ns/activitystreams#" + name: name
                  for name in ("content", "name", "summary")}
# The one place a graph is expected: a Data Integrity proof (a `@graph` container).
_PROOF = "https://w3id.org/security#proof"
# Features that let the JSON tree and the graph disagree, which is how Mastodon's
# CVE-2026-46349 turned a signed Undo{Announce} into an Announce (research section 5).
_HIDING = frozenset({"@graph", "@included", "@reverse", "@nest"})
MAX_DEPTH = 50

class JSONLDError(ValueError):
    """A document we will not interpret: malformed, or using features that hide data."""


def _normalised(url: str) -> str:
    """One spelling for the many a peer may use: http or https, a trailing slash, `.jsonld`."""
    url = url.split("#", 1)[0].strip().lower().rstrip("/")
    if url.startswith("http://"):
        url = "https://" + url.removeprefix("http://")
    return url.removesuffix(".jsonld").removesuffix(".json")


_BUNDLED = {_normalised(url): name for url, name in _FILES.items()}


@cache
def _text(name: str) -> str:
    """A bundled context file as JSON text. The Likeness context is our written terms
    (EXTENSION_TERMS) and the other servers' that we read."""
    document = json.loads((_CONTEXTS / name).read_text(encoding="utf-8"))
    if name == _FILES[LIKENESS_CONTEXT]:
        document["@context"] = {**document["@context"], **EXTENSION_TERMS}
    return json.dumps(document)


def _context_document(url: str) -> dict[str, Any] | None:
    """The context document at `url` as Likeness reads it (a fresh copy); None for an unknown one."""
    name = _BUNDLED.get(_normalised(url))
    return json.loads(_text(name)) if name is not None else None


def document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The pyld loader: a bundled copy, or an empty context for any other URL; no network.

    Each call returns a fresh copy (pyld may rewrite what it loads); `tag` lets pyld keep the
    processed context in the resolver's cache rather than process it again per document.
    """
    document = _context_document(url) or {"@context": {}}
    return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url,
            "document": document, "tag": "static"}


class _Vocabulary:
    """The output context as tables: our name for each IRI (with the `@list` variant, as:items
    -> orderedItems), and the names whose IRI values are themselves vocabulary
    (`proofPurpose: assertionMethod`). Built once, from the bundled files."""

    def __init__(self, urls: list[str]) -> None:
        self.names: dict[str, str] = {}
        self.list_names: dict[str, str] = {}  # for `@list` values: as:items -> orderedItems
        self.vocab_names: set[str] = set()
        prefixes: dict[str, str] = {}
        for url in urls:
            prefixes = self._add(_context_document(url)["@context"], prefixes)

    def _add(self, context: dict[str, Any], outer_prefixes: dict[str, str]) -> dict[str, str]:
        """Add one context's terms; returns the prefixes in scope after it."""
        prefixes = {**outer_prefixes, **{t: d for t, d in context.items()
                                         if isinstance(d, str) and d.endswith(("#", "/"))}}
        for term, definition in context.items():
            if term.startswith("@") or term in prefixes:
                continue
            if isinstance(definition, str):
                definition = {"@id": definition}
            iri = definition.get("@id", "")
            if iri.startswith("@") or "@reverse" in definition:
                continue
            prefix, _, rest = iri.partition(":")
            iri = prefixes[prefix] + rest if prefix in prefixes else iri
            container = definition.get("@container")
            if container == "@list":
                self.list_names.setdefault(iri, term)
            if container != "@language":
                self.names.setdefault(iri, term)
            if definition.get("@type") == "@vocab":
                self.vocab_names.add(term)
            if isinstance(definition.get("@context"), dict):  # a scoped context
                self._add(definition["@context"], prefixes)
        return prefixes

    def name(self, iri: str) -> str:
        """Our term for a property or class IRI; a term the sender left undefined (`_:name`
        under the ActivityStreams `@vocab`) by its own name; any other IRI as it is."""
        return self.names.get(iri) or iri.removeprefix("_:")


_VOCABULARY = _Vocabulary(OUTPUT_CONTEXT)


def canonical(document: dict[str, Any]) -> dict[str, Any]:
    """`document` in the one shape handlers read, whatever spelling its sender chose.

    Guarantees: `id` and `type` as plain keys; every property under our name for its IRI
    (ActivityStreams, security, Likeness, Mastodon and GoToSocial terms), whatever the sender
    called it and whatever its value shape; a term the sender left undefined under its JSON
    name; `to`, `cc`, `bto`, `bcc`, `audience`, `tag`, `attachment`, `url` (all `LIST_KEYS`)
    always lists, any other property a scalar when it has one value; IRIs as plain strings and
    every spelling of the public collection as `PUBLIC`; literals as plain JSON values (no
    `@value` objects, whatever language or datatype they carried); `content`, `name` and
    `summary` present whenever the sender gave any value for them, a `...Map` beside them for
    the language-tagged ones.

    Raises JSONLDError for malformed JSON-LD, a document describing more than one object, and
    `@graph` (except a Data Integrity proof), `@included`, `@reverse` or `@nest` anywhere,
    aliased or not.
    """
    if not isinstance(document, dict):
        raise JSONLDError("a document must be a JSON object")
    _refuse_hiding(document, 0)
    source = {**document, "@context": _with_activitystreams(document.get("@context"))}
    from . import expansion  # pyld, on the first document rather than at start

    try:
        expanded = expansion.expand(source, document_loader)
    except RecursionError:
        raise JSONLDError("document is nested too deeply") from None
    if len(expanded) > 1:
        raise JSONLDError("a document must describe one object")
    return _node(expanded[0]) if expanded else {}


def _with_activitystreams(context: Any) -> Any:
    """AS2-Core 2.1: a document that does not name the ActivityStreams context is read as if
    it did. It comes first, so the sender's own contexts still override it."""
    contexts = context if isinstance(context, list) else [] if context is None else [context]
    if any(isinstance(c, str) and _normalised(c) == _normalised(AS_CONTEXT) for c in contexts):
        return context
    return [AS_CONTEXT, *contexts]


def _refuse_hiding(value: Any, depth: int) -> None:
    """Refuse the hiding keywords as keys, and inline contexts that alias them: expansion
    drops or hoists some of them silently (a top-level `@graph` of one node, `@nest`)."""
    if depth > MAX_DEPTH:
        raise JSONLDError("document is nested too deeply")
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in _HIDING:
                raise JSONLDError(f"{key} is not accepted in federated documents")
            if key == "@context":
                _refuse_hiding_aliases(inner, depth + 1)
            else:
                _refuse_hiding(inner, depth + 1)
    elif isinstance(value, list):
        for inner in value:
            _refuse_hiding(inner, depth + 1)


def _refuse_hiding_aliases(context: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise JSONLDError("document is nested too deeply")
    if isinstance(context, list):
        for inner in context:
            _refuse_hiding_aliases(inner, depth + 1)
    elif isinstance(context, dict):
        for term, definition in context.items():
            if isinstance(definition, dict):
                if definition.get("@id") in _HIDING or "@reverse" in definition:
                    raise JSONLDError(f"the context makes {term!r} a keyword we do not accept")
                _refuse_hiding_aliases(definition.get("@context"), depth + 1)
            elif definition in _HIDING:
                raise JSONLDError(f"the context makes {term!r} an alias of {definition}")


def _node(node: dict[str, Any]) -> dict[str, Any]:
    """An expanded node with our names. Names are chosen by property IRI alone: JSON-LD's own
    term selection also matches the value's shape, which would leave Mastodon's string-valued
    `interactingObject` or Akkoma's language-tagged `name` under full IRIs."""
    compacted: dict[str, Any] = {}
    for key, name, values in _properties(node):
        if key == "@id":
            compacted["id"] = values
        elif key == "@type":
            types = [_VOCABULARY.name(t) for t in values]
            compacted["type"] = types[0] if len(types) == 1 else types
        elif key in _LANGUAGE_MAPS:
            compacted.update(_with_language_map(_LANGUAGE_MAPS[key], values))
        else:
            if any(isinstance(v, dict) and "@list" in v for v in values):
                name = _VOCABULARY.list_names.get(key, name)
            items = [_value(key, name, v) for v in values]
            compacted[name] = items if name in LIST_KEYS or len(items) != 1 else items[0]
    return compacted


def _properties(node: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(expanded key, our name, values) for each entry of a node, refusing hidden data. Where
    two IRIs want one name (a sender's undefined `sensitive` beside the real `as:sensitive`),
    the one we define keeps it and the other keeps its IRI."""
    taken = {"id", "type", *_LANGUAGE_MAPS.values(), *(f"{n}Map" for n in _LANGUAGE_MAPS.values())}
    fallbacks = []
    for key, values in node.items():
        if key in _HIDING:
            raise JSONLDError(f"{key} is not accepted in federated documents")
        if key in ("@id", "@type") or key in _LANGUAGE_MAPS:
            yield key, key, values
        elif key.startswith("@"):
            continue  # @index: how the sender organised its JSON, not data
        elif key in _VOCABULARY.names and _VOCABULARY.names[key] not in taken:
            taken.add(_VOCABULARY.names[key])
            yield key, _VOCABULARY.names[key], values
        else:
            fallbacks.append((key, values))
    for key, values in fallbacks:
        name = _VOCABULARY.name(key)
        yield key, key if name in taken else name, values
        taken.add(name)


def _value(key: str, name: str, value: dict[str, Any]) -> Any:
    if "@value" in value:
        literal = value["@value"]
        return PUBLIC if name in _AUDIENCE_KEYS and literal in _PUBLIC_SPELLINGS else literal
    if "@list" in value:
        return [_value(key, name, v) for v in value["@list"]]
    if "@graph" in value:
        if key != _PROOF:
            raise JSONLDError("@graph is not accepted in federated documents")
        proofs = [_node(n) for n in value["@graph"]]
        return proofs[0] if len(proofs) == 1 else proofs
    if value.keys() == {"@id"}:
        iri = value["@id"]
        if name in _AUDIENCE_KEYS and iri in _PUBLIC_SPELLINGS:
            return PUBLIC
        return _VOCABULARY.name(iri) if name in _VOCABULARY.vocab_names else iri
    return _node(value)


def _with_language_map(name: str, values: list[dict[str, Any]]) -> dict[str, Any]:
    """`content` and `contentMap`, the way Mastodon sends them: `content` is the untagged
    value, else one tagged value (the first by language tag: expansion does not keep the
    sender's order); `contentMap` holds the tagged ones."""
    plain = [v["@value"] for v in values if "@value" in v and "@language" not in v]
    tagged = {v["@language"]: v["@value"] for v in values if "@value" in v and "@language" in v}
    if not plain and not tagged:
        return {}
    chosen = plain[0] if len(plain) == 1 else plain or tagged[min(tagged)]
    result: dict[str, Any] = {name: chosen}
    if tagged:
        result[f"{name}Map"] = tagged
    return result


def as_list(value: Any) -> list[Any]:
    """A property's values as a list: none, one or many alike."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def ref(value: Any) -> str | None:
    """The id of a value that is either an id or an embedded object; None for anything else
    (a list, a number, an object without an id), so that callers fail closed."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return value["id"]
    return None
