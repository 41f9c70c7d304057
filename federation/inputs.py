"""JSON and text from outside (request bodies, activities, fetched documents), refused at the door
when it holds what nothing past the door can take.

PostgreSQL's text and jsonb refuse a NUL character, and a lone surrogate (`"\\ud800"`, valid JSON
but no Unicode text) cannot even be encoded to send to it; jsonb also refuses NaN and Infinity,
which Python's json reads by default. Nesting is bounded because every later walk of the value
(json.dumps, JSON-LD, the handlers) recurses: 20,000 levels would raise RecursionError anywhere.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 64
MAX_INT_DIGITS = 300

_SURROGATE = re.compile("[\ud800-\udfff]")


class InputError(ValueError):
    """Input refused; the message completes "body ..." or "<field> ..."."""


def text_problem(text: str) -> str | None:
    """Why `text` cannot be kept, or None."""
    if "\x00" in text:
        return "contains a NUL byte"
    if _SURROGATE.search(text):
        return "is not valid UTF-8 (it holds a lone surrogate)"
    return None


def _refuse_constant(name: str) -> Any:
    raise InputError(f"holds {name}, which is not a finite number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InputError(f"holds {text}, which is not a finite number")
    return value


def _float_sized_int(text: str) -> int:
    # JSON-LD reads numbers as doubles: an integer past their range fails there (OverflowError).
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise InputError(f"holds an integer of more than {MAX_INT_DIGITS} digits")
    return int(text)


def loads(data: bytes | str) -> Any:
    """The JSON value of `data`; InputError when it is not JSON, nests deeper than MAX_DEPTH,
    or holds NaN, Infinity, a number too large for a float, a NUL or a lone surrogate."""
    try:
        value = json.loads(data, parse_constant=_refuse_constant, parse_float=_finite_float,
                           parse_int=_float_sized_int)
    except InputError:
        raise
    except RecursionError:
        raise InputError(f"is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError:  # UnicodeDecodeError too
        raise InputError("is not valid JSON") from None
    _check(value)
    return value


def _check(value: Any) -> None:
    """Depth and text of every member, without recursion."""
    pending = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem is not None:
                raise InputError(problem)
        elif isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                raise InputError(f"is nested deeper than {MAX_DEPTH} levels")
            if isinstance(item, dict):
                pending.extend((key, depth) for key in item)
                pending.extend((member, depth + 1) for member in item.values())
            else:
                pending.extend((member, depth + 1) for member in item)
