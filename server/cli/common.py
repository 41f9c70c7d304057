"""What the `likeness` command modules share: how a command runs and how it fails."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any

# How an admin command module runs each command: with an instance started for it.
WithInstance = Callable[[Callable[[Any], Awaitable[int]]], int]


def fail(message: str) -> int:
    """Say on stderr what went wrong; the command's exit status."""
    print(f"error: {message}", file=sys.stderr)
    return 1
