"""A scripted remote server for tests: actors whose keys the test holds, and an inbox that
records what Likeness delivers.

It lets a test send exactly the bytes and signatures it wants, which a real peer never would.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation import httpsig

AP = "application/activity+json"


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@dataclass
class FakePeer:
    base: str
    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)
    received_headers: list[dict[str, str]] = field(default_factory=list)
    # The bodies of `received` as they came, for checking their signatures.
    received_bodies: list[bytes] = field(default_factory=list)
    # The inbox path each of `received` came to, and when (time.monotonic()).
    received_at: list[tuple[str, float]] = field(default_factory=list)
    # Seconds the inbox takes to answer once it has the activity: a slow server.
    inbox_delay: float = 0.0
    # Statuses the inbox answers, in order; 202 once they run out.
    inbox_answers: list[int] = field(default_factory=list)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The content type of an object, by id, where it is not activity+json.
    content_types: dict[str, str] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    display_names: dict[str, str] = field(default_factory=dict)
    # More properties of an actor's document, by actor name.
    actor_extras: dict[str, dict[str, Any]] = field(default_factory=dict)
    # GETs must carry an RFC 9421 signature by one of these keys (key id -> public key), as on a
    # server that takes no other scheme; None: GETs need no signature.
    rfc9421_get_keys: dict[str, Any] | None = None
    # The signature scheme of every GET of an actor or object ("cavage", "rfc9421" or "none").
    get_schemes: list[str] = field(default_factory=list)
    server: uvicorn.Server | None = None
    task: asyncio.Task[Any] | None = None

    @property
    def domain(self) -> str:
        return self.base.split("://", 1)[1]

    def actor_id(self, name: str) -> str:
        return f"{self.base}/users/{name}"

    def add_actor(self, name: str) -> str:
        self.keys[name] = new_rsa_key()
        return self.actor_id(name)

    def actor_document(self, name: str) -> dict[str, Any]:
        uri = self.actor_id(name)
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": uri, "type": "Person", "preferredUsername": name,
            "name": self.display_names.get(name, name.title()),
            "inbox": f"{uri}/inbox", "outbox": f"{uri}/outbox", "followers": f"{uri}/followers",
            "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            "publicKey": {"id": f"{uri}#main-key", "owner": uri,
                          "publicKeyPem": public_pem(self.keys[name])},
            **self.actor_extras.get(name, {}),
        }

    def _refused_get(self, request: Request) -> Response | None:
        """401 unless the GET is signed as `rfc9421_get_keys` demands; records its scheme."""
        url = str(request.url)
        try:
            info = httpsig.parse_signature("GET", url, request.headers)
        except httpsig.SignatureError:
            info = None
        self.get_schemes.append(info.scheme if info else "none")
        if self.rfc9421_get_keys is None:
            return None
        try:
            if info is None or info.scheme != "rfc9421" or info.key_id not in self.rfc9421_get_keys:
                raise httpsig.SignatureError("only RFC 9421 signatures by a known key are taken")
            httpsig.verify_signature(info, "GET", url, request.headers, None,
                                     self.rfc9421_get_keys[info.key_id])
        except httpsig.SignatureError as exc:
            return JSONResponse({"error": str(exc)}, status_code=401)
        return None

    async def _actor(self, request: Request) -> Response:
        if (refusal := self._refused_get(request)) is not None:
            return refusal
        name = request.path_params["name"]
        if name not in self.keys or self.actor_id(name) in self.gone:
            return JSONResponse({"error": "gone"}, status_code=410)
        return JSONResponse(self.actor_document(name), media_type=AP)

    async def _object(self, request: Request) -> Response:
        if (refusal := self._refused_get(request)) is not None:
            return refusal
        uri = f"{self.base}{request.url.path}"
        if uri in self.gone:
            return JSONResponse({"error": "gone"}, status_code=410)
        if uri not in self.objects:
            return JSONResponse({"error": "not found"}, status_code=404)
        return JSONResponse(self.objects[uri], media_type=self.content_types.get(uri, AP))

    async def _inbox(self, request: Request) -> Response:
        status = self.inbox_answers.pop(0) if self.inbox_answers else 202
        if status < 300:
            try:
                body = await request.body()
            except ClientDisconnect:
                return Response(status_code=400)  # the sender died mid-request: nothing came
            self.received.append(json.loads(body))
            self.received_bodies.append(body)
            self.received_headers.append(dict(request.headers))
            self.received_at.append((request.url.path, time.monotonic()))
        await asyncio.sleep(self.inbox_delay)
        return Response(status_code=status)

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/users/{name}", self._actor),
            Route("/users/{name}/inbox", self._inbox, methods=["POST"]),
            Route("/inbox", self._inbox, methods=["POST"]),
            Route("/{path:path}", self._object),
        ])

    def signed_headers(self, name: str, url: str, body: bytes, *, key: Any = None,
                       **extra: Any) -> dict[str, str]:
        headers = {"Content-Type": AP}
        headers.update(httpsig.sign_cavage("POST", url, headers, body,
                                           key_id=f"{self.actor_id(name)}#main-key",
                                           private_key=key or self.keys[name], **extra))
        return headers

    async def post(self, name: str, url: str, activity: dict[str, Any] | bytes, *,
                   key: Any = None, headers: dict[str, str] | None = None,
                   **extra: Any) -> httpx.Response:
        body = activity if isinstance(activity, bytes) else json.dumps(activity).encode()
        sent = self.signed_headers(name, url, body, key=key, **extra)
        sent.update(headers or {})
        async with httpx.AsyncClient() as client:
            return await client.post(url, content=body, headers=sent)


async def start_peer() -> FakePeer:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    peer = FakePeer(f"http://127.0.0.1:{sock.getsockname()[1]}")
    peer.server = uvicorn.Server(uvicorn.Config(peer.app(), log_level="warning",
                                                lifespan="off", timeout_graceful_shutdown=5))
    peer.task = asyncio.create_task(peer.server.serve(sockets=[sock]))
    while not peer.server.started:
        await asyncio.sleep(0.01)
    return peer


async def stop_peer(peer: FakePeer) -> None:
    assert peer.server is not None and peer.task is not None
    peer.server.should_exit = True
    await peer.task
