"""Live pages over server-sent events, fed by the events table (the webhook outbox, which the
caller reads for the stream: events/outbox.py `reader`).

Every change worth showing already writes an event in its own transaction, on every database and
from every process, so the pages follow the same record the webhooks do: a short poll of an
indexed table per open page, no extra moving parts. Events can commit out of order (a transaction
that started earlier commits later), so each poll looks a little back and skips ids it has sent.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from fastapi import Request
from fastapi.responses import StreamingResponse

from bob.db.types import utcnow

POLL_INTERVAL_S = 1.0
LOOK_BACK = timedelta(seconds=10)  # longer than any chat transaction stays open
HEARTBEAT_S = 15.0  # keeps proxies from closing an idle stream


class LiveEvent(Protocol):
    """What a stream needs of an event (an outbox Event)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def type(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def payload(self) -> dict[str, Any]: ...


E = TypeVar("E", bound=LiveEvent)
# Every event from a time on, oldest first (the look-back window of each poll).
Read = Callable[[datetime], Awaitable[Sequence[E]]]
# What one message carries; the event's own payload unless a page asks for something else.
Present = Callable[[E], Awaitable[Any]]
# How often a stream asks whether its login may still see the events.
RECHECK_S = 30.0


def sse(event: str, data: Any, *, id: str | None = None) -> str:
    lines = [f"event: {event}"]
    if id:
        lines.append(f"id: {id}")
    lines.extend(f"data: {line}" for line in json.dumps(data, default=str).splitlines())
    return "\n".join(lines) + "\n\n"


async def follow(
    request: Request,
    *,
    read: Read[E],
    interval: float = POLL_INTERVAL_S,
    still_allowed: Callable[[], Awaitable[bool]] | None = None,
    recheck: float | None = None,
    present: Present[E] | None = None,
) -> AsyncIterator[str]:
    """SSE text: `ready` once, then one message per new event (named by its type) until the
    browser goes away. `read` says which events (a tenant's, or every tenant's for Mission
    Control).

    Events already committed when the stream starts are not sent: the page on `ready` shows
    the state as it is then (it refreshes what it shows on each `ready`, which also covers a
    reconnect). `still_allowed` is asked every `recheck` seconds (RECHECK_S unless given); once
    it says no, the stream sends `end` and stops, so a login that ended stops receiving the
    tenant's events.
    `present` turns an event into what its message carries (the payload by default)."""
    recheck = RECHECK_S if recheck is None else recheck
    loop = asyncio.get_running_loop()
    cursor = utcnow()
    visible = await read(cursor - LOOK_BACK)
    sent: dict[uuid.UUID, datetime] = {e.id: e.created_at for e in visible}
    if visible:
        cursor = max(cursor, visible[-1].created_at)
    quiet = 0.0
    checked = loop.time()
    yield "retry: 3000\n\n" + sse("ready", {"at": cursor.isoformat()})
    while not await request.is_disconnected():
        if still_allowed is not None and loop.time() - checked >= recheck:
            if not await still_allowed():
                yield sse("end", {})
                return
            checked = loop.time()
        rows = await read(cursor - LOOK_BACK)
        fresh = [e for e in rows if e.id not in sent]
        for event in fresh:
            sent[event.id] = event.created_at
            data = await present(event) if present is not None else event.payload
            yield sse(event.type, data, id=str(event.id))
        if rows:
            cursor = max(cursor, rows[-1].created_at)
        horizon = cursor - LOOK_BACK
        sent = {k: at for k, at in sent.items() if at >= horizon}
        if fresh:
            quiet = 0.0
        else:
            quiet += interval
            if quiet >= HEARTBEAT_S:
                quiet = 0.0
                yield ": ping\n\n"
        await asyncio.sleep(interval)


def stream(body: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
