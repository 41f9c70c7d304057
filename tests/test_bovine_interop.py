"""Federation with an ActivityPub implementation we did not write: bovine.

The peer signs with bovine's HTTP-signature client and checks our signatures with bovine's
SignatureChecker; only the tiny web app that serves its actor and inbox is ours.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
import pytest
import uvicorn
from bovine import BovineActor
from bovine.crypto import build_validate_http_signature_raw, generate_rsa_public_private_key
from bovine.crypto.types import CryptographicIdentifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.conftest import eventually


class BovinePeer:
    """A one-actor ActivityPub server whose signing and verification are bovine's."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.actor_id = f"{self.base}/actor"
        self.public_key, self.private_key = generate_rsa_public_private_key()
        self.received: list[tuple[dict[str, Any], str]] = []
        self.refused: list[str] = []
        self.validate = build_validate_http_signature_raw(self._retrieve_key)

    async def _retrieve_key(self, key_id: str) -> CryptographicIdentifier | None:
        async with httpx.AsyncClient() as client:
            response = await client.get(key_id, headers={"Accept": "application/activity+json"})
        key = response.json().get("publicKey", {})
        return CryptographicIdentifier.from_pem(key.get("publicKeyPem"), key.get("owner"))

    def actor_document(self) -> dict[str, Any]:
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.actor_id, "type": "Person", "preferredUsername": "cow",
            "name": "A bovine cow", "inbox": f"{self.base}/inbox", "outbox": f"{self.base}/outbox",
            "followers": f"{self.base}/followers",
            "publicKey": {"id": f"{self.actor_id}#main-key", "owner": self.actor_id,
                          "publicKeyPem": self.public_key},
        }

    async def actor(self, request: Request) -> Response:
        return JSONResponse(self.actor_document(), media_type="application/activity+json")

    async def inbox(self, request: Request) -> Response:
        body = await request.body()
        owner = await self.validate(request.method, str(request.url), dict(request.headers),
                                    request.body)
        if owner is None:
            self.refused.append(body.decode())
            return JSONResponse({"error": "bad signature"}, status_code=401)
        self.received.append((json.loads(body), owner))
        return Response(status_code=202)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/actor", self.actor),
                                 Route("/inbox", self.inbox, methods=["POST"])])

    def bovine_actor(self) -> BovineActor:
        return BovineActor(actor_id=self.actor_id, public_key_url=f"{self.actor_id}#main-key",
                           secret=self.private_key)


@pytest.fixture
async def bovine_peer() -> AsyncIterator[BovinePeer]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    peer = BovinePeer(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(peer.app(), log_level="warning", lifespan="off",
                                           timeout_graceful_shutdown=5))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await eventually(lambda: asyncio.sleep(0, server.started))
    yield peer
    server.should_exit = True
    await task


async def test_bovine_follows_and_receives_a_post(make_instance, bovine_peer):
    likeness = await make_instance("a")
    await likeness.signup("alice")
    alice = f"{likeness.base_url}/users/alice"

    async with aiohttp.ClientSession() as session:
        cow = bovine_peer.bovine_actor()
        await cow.init(session=session)
        follow = {"@context": "https://www.w3.org/ns/activitystreams",
                  "id": f"{bovine_peer.base}/follows/1", "type": "Follow",
                  "actor": bovine_peer.actor_id, "object": alice}
        response = await cow.post(f"{alice}/inbox", follow)
        assert response.status == 202

        # Likeness verified bovine's signature, answered with an Accept bovine verifies.
        async def accepted() -> bool:
            return any(a["type"] == "Accept" for a, _ in bovine_peer.received)

        await eventually(accepted)
        accept, signer = next((a, s) for a, s in bovine_peer.received if a["type"] == "Accept")
        assert signer == alice
        assert accept["object"]["id"] == follow["id"]

        response = await likeness.api("alice", "POST", "/api/v1/statuses",
                                      json={"status": "hello cows"})
        assert response.status_code == 200

        async def created() -> dict | None:
            return next((a for a, _ in bovine_peer.received if a["type"] == "Create"), None)

        create = await eventually(created)
        assert create["object"]["attributedTo"] == alice
        assert "hello cows" in create["object"]["content"]
        assert bovine_peer.refused == []

        # A request bovine signs with a key that is not the actor's is refused.
        impostor = BovineActor(actor_id=bovine_peer.actor_id,
                               public_key_url=f"{bovine_peer.actor_id}#main-key",
                               secret=generate_rsa_public_private_key()[1])
        await impostor.init(session=session)
        with pytest.raises(aiohttp.ClientResponseError) as refused:
            await impostor.post(f"{alice}/inbox", {**follow, "id": f"{bovine_peer.base}/follows/2"})
        assert refused.value.status == 401
