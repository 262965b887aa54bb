"""Which functions an operation really runs: the evidence that a patch takes effect.

A patch of another library's internals can stop taking effect without any error
(the library starts calling the function it replaced under another name, or from
another module). :func:`count_calls` profiles a real operation and counts the
calls of the given functions, by code object, in this thread.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any


def code_of(function: Any):
    """The code object behind a function, method, property, staticmethod or lru_cache wrapper."""
    for attr in ("fget", "__func__", "__wrapped__"):
        inner = getattr(function, attr, None)
        if inner is not None:
            return code_of(inner)
    return function.__code__


def count_calls(functions: Iterable[Any], action: Callable[[], Any]) -> tuple[Counter, Any]:
    """Run ``action`` and count the calls of each of ``functions``; returns (counts, result)."""
    by_code = {code_of(f): f for f in functions}
    counts: Counter = Counter()

    def profile(frame, event, arg):
        if event == "call" and frame.f_code in by_code:
            counts[by_code[frame.f_code]] += 1

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        result = action()
    finally:
        sys.setprofile(previous)
    return counts, result
