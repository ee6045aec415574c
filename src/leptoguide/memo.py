"""Values worked out once from a loaded object (a knowledge base, a rule, a parsed condition).

Such caches are keyed on the object's ``id``: knowledge records are not hashable. The entry lives
as long as the object does: it never keeps a replaced knowledge base (and everything it holds)
alive, and an object that later gets the same ``id`` never sees the entry of the one before.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def once_per(cache: dict[K, V], key: K, build: Callable[[], V], *owners: object) -> V:
    """``cache[key]``, built by ``build()`` on first use; removed when any of ``owners`` is
    collected.

    ``key`` must include the ``id`` of every owner, and the value must not refer to an owner (else
    it is never collected)."""
    try:
        return cache[key]
    except KeyError:
        value = cache[key] = build()
        for owner in owners:
            weakref.finalize(owner, cache.pop, key, None)
        return value


__all__ = ["once_per"]
