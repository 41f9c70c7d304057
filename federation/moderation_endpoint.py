"""The optional moderation endpoint layer of the prompt policy: an OpenAI-compatible
`/v1/moderations` service an operator already runs (vLLM, Ollama or llama.cpp behind a
moderation shim, or a hosted one), asked about each prompt the lexicon and the semantic
classifier let through.

Configured by URL (LIKENESS_MODERATION_URL, _MODEL, _API_KEY, _TIMEOUT_S). It fails closed: an
endpoint that is down, slow past its deadline, or answers something that is not a moderation
result holds the prompt (a verdict of category "held": neither passed nor refused), never
passes it. Its client comes from the one HTTP client factory, allowed private addresses: the
operator named this host, and it usually sits beside the server.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import httpx

from policy.prompts import REASONS, Refusal, held

from .fetch import FetchError, OutboundLimits, make_client

log = logging.getLogger(__name__)

# The endpoint's category names (OpenAI's, which vLLM and llama.cpp shims copy) to the policy's.
CATEGORIES = {
    "sexual/minors": "minors",
    "sexual": "sexual",
    "self-harm": "self_harm", "self-harm/intent": "self_harm", "self-harm/instructions": "self_harm",
    "violence/graphic": "violence", "violence": "violence",
    "hate": "hate", "hate/threatening": "hate",
    "harassment": "harassment", "harassment/threatening": "harassment",
}


@dataclass(frozen=True)
class ModerationEndpoint:
    url: str  # the base, e.g. http://127.0.0.1:8001 (requests go to {url}/v1/moderations)
    model: str = ""
    api_key: str = ""
    timeout_s: float = 2.0


def _reason(category: str) -> str:
    label, sentence = REASONS[category]
    return f"prompt refused ({label}): {sentence}"


def _held(why: str) -> Refusal:
    return held("moderation.unavailable", why, why)


def verdict(answer: Any) -> Refusal | None:
    """The refusal a moderation answer means, None when it flags nothing; held when it is not a
    moderation result, or flags a category the policy has no name for (a person should look)."""
    try:
        result = answer["results"][0]
        flagged, categories = result["flagged"], result.get("categories") or {}
    except (KeyError, IndexError, TypeError):
        return _held("the moderation endpoint answered something that is not a moderation result")
    if not isinstance(flagged, bool) or not isinstance(categories, dict):
        return _held("the moderation endpoint answered something that is not a moderation result")
    if not flagged:
        return None
    for name, category in CATEGORIES.items():
        if categories.get(name) is True:
            return Refusal(category, f"moderation.{category}", f"endpoint: {name}", _reason(category))
    return _held("the moderation endpoint flagged the prompt under a category the policy has no name for")


class Moderation:
    """The endpoint and its client, made on first use (the web process never starts one
    unless an endpoint is configured)."""

    def __init__(self, endpoint: ModerationEndpoint, user_agent: str) -> None:
        self.endpoint = endpoint
        self._user_agent = user_agent
        self._client: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = make_client(allow_private=True, user_agent=self._user_agent,
                                       timeout=self.endpoint.timeout_s,
                                       limits=OutboundLimits(deadline=self.endpoint.timeout_s))
        return self._client

    async def review(self, text: str) -> Refusal | None:
        """The endpoint's verdict on the text; held when it cannot give one in time."""
        endpoint = self.endpoint
        body: dict[str, Any] = {"input": text}
        if endpoint.model:
            body["model"] = endpoint.model
        headers = {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
        try:
            async with asyncio.timeout(endpoint.timeout_s):
                response = await self.client().post(f"{endpoint.url.rstrip('/')}/v1/moderations",
                                                    json=body, headers=headers)
            response.raise_for_status()
            answer = response.json()
        except (httpx.HTTPError, FetchError, TimeoutError, ValueError) as exc:
            log.warning("moderation endpoint %s did not answer: %r", endpoint.url, exc)
            return _held(f"the moderation endpoint did not answer: {type(exc).__name__}")
        return verdict(answer)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
