"""Admitting an anonymous message (doors 1 and 2) before the pipeline runs: the challenge a
new conversation must solve where the business asks for one, then the visitor's and the
business's ceilings (the limits themselves are anonymous/service.py's)."""

from __future__ import annotations

import hashlib
import math
import time

from limits import RateLimitItem, RateLimitItemPerDay, RateLimitItemPerMinute
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from bob.anonymous import challenge
from bob.anonymous import service as anonymous
from bob.chat import service as chat
from bob.chat.models import Channel
from bob.db.session import Database
from bob.errors import RateLimited
from bob.ratelimit import RateLimiter
from bob.settings import Settings


def _visitor_key(chat_input: chat.ChatInput) -> str | None:
    """One counter per conversation and presented token; None for a conversation's first message.

    The token is part of the key so that someone who knows a session id but not its token
    cannot spend the real visitor's allowance (the pipeline refuses them anyway)."""
    if chat_input.session_id is None or not chat_input.visitor_token:
        return None
    raw = f"{chat_input.tenant.id}/{chat_input.session_id}/{chat_input.visitor_token}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


async def _spend(
    limiter: RateLimiter, item: RateLimitItem, key: tuple[str, ...], message: str, code: str
) -> None:
    # A sliding window counter is O(1) per check in memory and in Redis, whatever the ceiling:
    # a day's moving window would keep one entry per reply.
    strategy = SlidingWindowCounterRateLimiter(limiter.storage)
    if await strategy.hit(item, *key):
        return
    stats = await strategy.get_window_stats(item, *key)
    wait = max(1, math.ceil(stats.reset_time - time.time()))
    refused = RateLimited(
        message.format(n=f"{item.amount:,}", wait=wait),
        retry_after=wait,
        headers={
            "RateLimit-Limit": str(item.amount),
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(wait),
        },
    )
    refused.code = code
    raise refused


async def admit(
    *,
    db: Database,
    settings: Settings,
    limiter: RateLimiter,
    chat_input: chat.ChatInput,
    solution: str | None,
) -> None:
    """Let one anonymous message through, or refuse it: 403 without a required challenge
    solution, 429 with Retry-After past the visitor's or the business's ceiling."""
    tenant = chat_input.tenant
    door: challenge.Door = "widget" if chat_input.channel == Channel.WIDGET else "public"
    async with db.transaction() as session:
        limits = await anonymous.get_limits(session=session, tenant=tenant)
        # A session id the visitor made up starts a conversation just as well as none does.
        starts = limits.challenge and (
            chat_input.session_id is None
            or await chat.find_conversation(
                session=session, tenant_id=tenant.id, session_id=chat_input.session_id
            )
            is None
        )
    if starts:
        await challenge.verify(
            settings=settings,
            storage=limiter.storage,
            tenant_id=tenant.id,
            door=door,
            payload=solution,
        )
    visitor = _visitor_key(chat_input)
    if visitor is not None:
        await limiter.consume(
            limiter.parse(settings.chat_limit_per_visitor),
            "chat",
            "visitor",
            visitor,
            message="too many messages in this conversation; wait a moment",
        )
    tenant_key = ("anonymous", str(tenant.id))
    await _spend(
        limiter,
        RateLimitItemPerMinute(limits.per_minute),
        tenant_key,
        "this business's assistant has reached its limit of {n} replies per minute to "
        "anonymous visitors; try again in {wait} s",
        "anonymous_minute_limit",
    )
    await _spend(
        limiter,
        RateLimitItemPerDay(limits.per_day),
        tenant_key,
        "this business's assistant has reached its limit of {n} replies per day to "
        "anonymous visitors; try again in {wait} s",
        "anonymous_day_limit",
    )
