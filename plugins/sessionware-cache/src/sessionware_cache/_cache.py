"""The cachetools cache behind the engine, counting what it drops and why.

``SessionCache`` is a ``cachetools.TLRUCache`` whose entries are
``(data, expires_at, version)`` tuples and whose time-to-use is each entry's own
``expires_at``. It tells two kinds of removal apart, because they mean
different things to an operator:

- **expired**: the entry's ``expires_at`` passed. TLRUCache drops those from
  every write (and from ``expire``), without being asked; counting them
  lets ``clear_expired`` report every expired session that went away.
- **evicted**: the cache was full and the least recently used entry had to go
  while it was still live. TLRUCache calls ``popitem`` only for that, and
  only after expiring what it could at the same instant, so every call there
  removes a session a user still holds.

Nothing here locks: cachetools caches are not thread safe and the engine
holds one lock around every access.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from cachetools import TLRUCache

__all__ = ["Entry", "SessionCache"]

#: What the cache stores under a session key: the bytes, their ``expires_at``, and
#: their version (a number the engine draws afresh at every write).
Entry = tuple[bytes, float, int]


def _expires_at(key: str, value: Entry, now: float) -> float:
    """TLRUCache's time-to-use: the session's own expiry, whatever the time of the write."""
    return value[1]


if TYPE_CHECKING:
    # cachetools >= 8 ships type hints; subscripting at run time needs them too.
    _Base = TLRUCache[str, Entry, float]
else:
    _Base = TLRUCache


class SessionCache(_Base):
    """A TLRU cache of ``(data, expires_at, version)`` that counts evictions and expiries."""

    def __init__(self, maxsize: int, timer: Callable[[], float]) -> None:
        super().__init__(maxsize, ttu=_expires_at, timer=timer)
        #: Live entries dropped because the cache was full, since construction.
        self.evictions = 0
        #: Expired entries dropped (by writes or by ``expire``) not yet reported.
        self.expired = 0

    def popitem(self) -> tuple[str, Entry]:
        """Evict the least recently used live entry, and count it."""
        item: tuple[str, Entry] = super().popitem()
        self.evictions += 1
        return item

    def expire(self, time: float | None = None) -> list[tuple[str, Entry]]:
        """Drop expired entries, count them, and return them."""
        dropped = super().expire(time)
        if not dropped:
            return []
        pairs = list(dropped)
        self.expired += len(pairs)
        return pairs
