"""Rate limits on the `limits` library: in memory for one process, in Redis for many."""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from bob.errors import RateLimited


def make_storage(redis_url: str | None, *, namespace: str = "bob") -> Storage:
    if redis_url:
        uri = "async+" + redis_url if not redis_url.startswith("async+") else redis_url
        return RedisStorage(uri, implementation="redispy", key_prefix=namespace)
    return MemoryStorage()


class RateLimiter:
    """Counts events per key; `check` refuses with 429 once a limit is spent."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._strategy = MovingWindowRateLimiter(storage)

    @staticmethod
    def parse(limit: str) -> RateLimitItem:
        return parse(limit)

    async def hit(self, limit: RateLimitItem, *key: str) -> bool:
        return await self._strategy.hit(limit, *key)

    async def count(self, limit: RateLimitItem, *key: str) -> int:
        """Events counted in the current window (at most the limit's amount)."""
        stats = await self._strategy.get_window_stats(limit, *key)
        return max(0, limit.amount - stats.remaining)

    async def retry_after(self, limit: RateLimitItem, *key: str) -> int | None:
        """Seconds until another event is allowed, or None while the limit is not spent."""
        if await self._strategy.test(limit, *key):
            return None
        stats = await self._strategy.get_window_stats(limit, *key)
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def check(self, limit: RateLimitItem, *key: str, message: str) -> None:
        wait = await self.retry_after(limit, *key)
        if wait is not None:
            raise RateLimited(message, retry_after=wait)

    async def consume(self, limit: RateLimitItem, *key: str, message: str) -> dict[str, str]:
        """Count one event; returns RateLimit-* headers, or raises 429 carrying them."""
        allowed = await self._strategy.hit(limit, *key)
        stats = await self._strategy.get_window_stats(limit, *key)
        reset = max(1, math.ceil(stats.reset_time - time.time()))
        headers = {
            "RateLimit-Limit": str(limit.amount),
            "RateLimit-Remaining": str(max(0, stats.remaining)),
            "RateLimit-Reset": str(reset),
        }
        if not allowed:
            raise RateLimited(message, retry_after=reset, headers=headers)
        return headers

    async def clear(self, limit: RateLimitItem, *key: str) -> None:
        await self._strategy.clear(limit, *key)
