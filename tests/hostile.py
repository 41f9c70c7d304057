"""Hostile input for the bad-input tests and the fuzz bench: a seeded generator of requests
(bodies, headers, paths and query parameters) and a catcher of the tracebacks a server logs.

A request is only ever refused: whatever it holds, the answer is a 4xx (or a 2xx), never a 5xx.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

INT64_MAX = 2**63 - 1

# Values that have broken parsers: out-of-range and odd numbers, NUL, lone surrogates, odd digits,
# malformed URLs and hosts, hugely long text, wrong types.
HOSTILE_TEXT = [
    "", " ", "\x00", "a\x00b", "\ud800", "x\udfffy", "\ufeff", "\u202e", "²", "١٢", "-1", "0", "1.5",
    "1e999", "-1e999", "NaN", "Infinity", "99999999999999999999999", str(INT64_MAX), str(INT64_MAX + 1),
    "9" * 5000, "0" * 30 + "1", "http://[::1", "http://[::1]:99999/", "https://xn--a.com/x",
    "http://0177.0.0.1/", "javascript:alert(1)", "@a@127.0.0.1:1", "@a@0177.0.0.1", "@a@xn--a.com",
    "@a@xn--", "@a@[::1", "a@b@c", "%00", "%", "../../etc/passwd", "<script>", "x" * 70_000, "true",
    "null", "[]", "{}", "a\r\nb", "\udcff@\udcff",
]
HOSTILE_NUMBERS: list[Any] = [
    0, -1, 1, INT64_MAX, INT64_MAX + 1, -(2**63) - 1, 10**30, 1e300, -1e300, 1.5, 2.0**63, True, False,
]
# Raw JSON that Python's json.dumps would never write.
RAW_JSON_VALUES = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", '"\\u0000"', '"\\ud800"',
                   '"a\\udfffb"', "9" * 5000, "1" + "0" * 400, "1.0e-400"]


def deep(levels: int, kind: str = "[") -> str:
    return "[" * levels + "]" * levels if kind == "[" else '{"a":' * levels + "1" + "}" * levels


@dataclass
class FuzzRequest:
    family: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    signed: bool = False  # signed by the fake peer's actor (inbox only)


@dataclass
class Target:
    """An endpoint to throw requests at; `fields` are the parameter names it reads."""

    family: str
    method: str
    path: str
    fields: tuple[str, ...] = ()


def hostile_value(rnd: random.Random, depth: int = 0) -> Any:
    roll = rnd.random()
    if roll < 0.45:
        return rnd.choice(HOSTILE_TEXT)
    if roll < 0.7:
        return rnd.choice(HOSTILE_NUMBERS)
    if roll < 0.8 or depth > 2:
        return rnd.choice([None, [], {}, "ok", 1])
    if roll < 0.9:
        return [hostile_value(rnd, depth + 1) for _ in range(rnd.randint(0, 5))]
    return {rnd.choice(HOSTILE_TEXT[:12] + ["id", "type"]): hostile_value(rnd, depth + 1)
            for _ in range(rnd.randint(0, 4))}


def _json_text(value: Any) -> str:
    """`value` as JSON, with lone surrogates written as escapes (as a hostile client would)."""
    return json.dumps(value, ensure_ascii=True)


def hostile_body(rnd: random.Random, fields: tuple[str, ...], base: dict[str, Any] | None = None
                 ) -> tuple[str, bytes]:
    """(content type, body) for an endpoint reading `fields`: wrong types for every field, raw
    NaN and huge numbers, deep nesting, NUL and surrogates, forms, or no JSON at all."""
    params = dict(base or {})
    for name in rnd.sample(fields, k=rnd.randint(0, len(fields))) if fields else []:
        params[name] = hostile_value(rnd)
    roll = rnd.random()
    if roll < 0.5:
        return "application/json", _json_text(params).encode()
    if roll < 0.62 and params:
        # A raw constant in place of one value.
        name = rnd.choice(list(params))
        text = _json_text({k: v for k, v in params.items() if k != name})
        raw = f'{json.dumps(name)}:{rnd.choice(RAW_JSON_VALUES)}'
        return "application/json", (text[:-1] + ("," if len(text) > 2 else "") + raw + "}").encode()
    if roll < 0.7:
        return "application/json", deep(rnd.choice([100, 2000, 20_000]), rnd.choice("[{")).encode()
    if roll < 0.8:
        form = "&".join(f"{_form_key(rnd, k)}={_form_value(rnd, v)}" for k, v in params.items())
        return "application/x-www-form-urlencoded", form.encode()
    if roll < 0.87:
        return _multipart(rnd, params)
    return rnd.choice([("application/json", b"{not json"), ("application/json", b"\xff\xfe\xed\xa0\x80"),
                       ("application/json", b"[1,2]"), ("text/plain", b"hello"), ("", b"\x00" * 10),
                       ("application/json; charset=utf-16", '{"a":1}'.encode("utf-16")),
                       ("multipart/form-data; boundary=", b"--\r\n"),
                       ("multipart/form-data", b"x"),
                       ("application/x-www-form-urlencoded", b"a=%ff%fe&b=%00&%ed%a0%80=1"),
                       ("application/json", b'{"a":"\xed\xa0\x80"}')])


def _form_key(rnd: random.Random, key: str) -> str:
    return rnd.choice([key, key + "[]", "%00", key + "%00"])


def _form_value(rnd: random.Random, value: Any) -> str:
    from urllib.parse import quote

    text = value if isinstance(value, str) else json.dumps(value)
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def _multipart(rnd: random.Random, params: dict[str, Any]) -> tuple[str, bytes]:
    boundary = "fuzzboundary"
    charset = rnd.choice(["", "; charset=utf-8", "; charset=unicode_escape", "; charset=nope"])
    parts = []
    for key, value in params.items():
        text = value if isinstance(value, str) else json.dumps(value)
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'.encode()
                     + text.encode("utf-8", "surrogatepass") + b"\r\n")
    if rnd.random() < 0.3:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                     f'filename="a\x00.mp4"\r\nContent-Type: video/mp4\r\n\r\n'.encode()
                     + b"\x00" * 64 + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}{charset}", body


HOSTILE_HEADERS: list[tuple[str, str]] = [
    ("content-type", "application/json; charset=nope"), ("content-type", "multipart/form-data"),
    ("content-type", "application/activity+json; profile=\"x"), ("content-type", "\x7f"),
    ("content-length", "abc"), ("content-length", "²"), ("content-length", "99999999999999999999999"),
    ("content-length", "-1"), ("authorization", "Bearer \x7f"), ("authorization", "Bearer " + "a" * 5000),
    ("authorization", "Basic %%%"), ("authorization", "Basic AA=="), ("authorization", "Bearer"),
    ("authorization", "Basic " + "w7/Dvw=="), ("signature", 'keyId="http://[::1",signature="x"'),
    ("signature", 'keyId="",algorithm="hs2019",headers="(request-target) (created)",created="1e999",'
                  'signature="!!"'),
    ("signature", "keyId=" + "a" * 10_000), ("signature", 'keyId="x",headers="host host",signature="AA=="'),
    ("signature-input", 'sig1=("@method");created=99999999999999999999999;keyid="x"'),
    ("signature-input", "sig1=("), ("signature", "sig1=:!!:"), ("date", "Tue, 99 Foo 99999 99:99:99 GMT"),
    ("date", "\x00"), ("digest", "SHA-256=!!"), ("digest", "sha-256"), ("host", "[::1"),
    ("host", "a" * 300), ("host", "xn--a.com"), ("accept", "application/activity+json" * 100),
    ("x-forwarded-for", "\x00"), ("cookie", "a=\x7f"), ("accept-encoding", "gzip;q=NaN"),
    ("range", "bytes=99999999999999999999999-"), ("range", "bytes=-0"), ("if-none-match", "*" * 5000),
]


class _Catcher(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.found.append(self.format(record))


@contextmanager
def server_tracebacks() -> Iterator[list[str]]:
    """The errors a server in this process logs meanwhile: uvicorn's "Exception in ASGI
    application" (a 500) and any other logged exception, with its traceback."""
    catcher = _Catcher()
    loggers = [logging.getLogger(), logging.getLogger("uvicorn.error")]
    for logger in loggers:
        logger.addHandler(catcher)
    try:
        yield catcher.found
    finally:
        for logger in loggers:
            logger.removeHandler(catcher)
