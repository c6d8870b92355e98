"""Reading values out of upstream answers: JMESPath only, compiled once, never evaluated as anything else.

Why one path language: every place a spec says where something is (a job id, a state, a URL, a list of parts)
uses the same expressions, the ones Azure CLI users know from `--query`. Expressions are compiled when the spec
is loaded (a bad one is refused there); reading never raises for a missing or oddly shaped value, it gives None.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult


class PathError(ValueError):
    """An expression that does not parse."""


@lru_cache(maxsize=512)
def compiled(expression: str) -> ParsedResult:
    try:
        return jmespath.compile(expression)
    except JMESPathError as exc:
        raise PathError(" ".join(str(exc).split())[:200]) from None


def search(expression: str, data: Any) -> Any:
    """The value at `expression` in `data`, or None (a value of the wrong shape is simply not there)."""
    try:
        return compiled(expression).search(data)
    except JMESPathError:  # a function applied to a value of the wrong type
        return None


def first(expressions: Iterable[str], data: Any) -> Any:
    """The first expression's value that is neither None nor empty, or None."""
    for expression in expressions:
        value = search(expression, data)
        if value not in (None, "", [], {}):
            return value
    return None
