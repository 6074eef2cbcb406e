"""Request rate limits per member and per client address: a sliding one-minute window, in this process.

Several portal processes each count their own requests; behind a load balancer that spreads clients evenly the
effective limit is the configured one times the number of processes (a shared counter would need Redis or the
database on every request).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from consortium_portal.errors import RateLimitedError

WINDOW = 60.0


class RateLimiter:
    """At most ``limit`` hits per key in any 60 seconds."""

    def __init__(self, limit: int, what: str) -> None:
        self.limit = limit
        self.what = what
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, *, now: float | None = None) -> None:
        """Count one request of ``key``; :class:`RateLimitedError` (with the seconds to wait) beyond the limit."""
        moment = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= moment - WINDOW:
                hits.popleft()
            if len(hits) >= self.limit:
                wait = math.ceil(hits[0] + WINDOW - moment)
                raise RateLimitedError(
                    f"more than {self.limit} requests a minute {self.what}; retry in {wait} s", retry_after=max(1, wait)
                )
            hits.append(moment)
            if len(self._hits) > 100_000:  # forget idle keys so memory stays bounded
                for idle in [k for k, v in self._hits.items() if not v or v[-1] <= moment - WINDOW]:
                    del self._hits[idle]
