"""The shape every prompt must have before anything reads its meaning: one rule for a remix,
a self-cameo generation and a prompt that arrives with a RemixRequest."""

from __future__ import annotations

from typing import Any

MAX_PROMPT_CHARS = 2000
# Cameos in one video: every one needs its owner's consent, and the model its references.
MAX_CAMEOS = 4


class PromptError(ValueError):
    """A prompt that cannot be used as given; the text says why."""


def check_prompt(prompt: Any) -> str:
    """The prompt, stripped of surrounding blanks, or PromptError."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise PromptError("prompt must be non-empty text")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise PromptError(f"prompt is longer than {MAX_PROMPT_CHARS} characters")
    if any(ord(c) < 32 and c not in "\n\t" or 0x7F <= ord(c) < 0xA0 for c in prompt):
        raise PromptError("prompt contains control characters")
    return prompt.strip()
