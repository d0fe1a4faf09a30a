"""Live pages over server-sent events, fed by the events table (the webhook outbox).

Every change worth showing already writes an event in its own transaction, on every database and
from every process, so the pages follow the same record the webhooks do: a short poll of an
indexed table per open page, no extra moving parts. Events can commit out of order (a transaction
that started earlier commits later), so each poll looks a little back and skips ids it has sent.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse
from sqlalchemy import and_, or_, select

from bob.db.session import Database
from bob.db.types import utcnow
from bob.deps import get_database
from bob.webhooks.models import Event

POLL_INTERVAL_S = 1.0
LOOK_BACK = timedelta(seconds=10)  # longer than any chat transaction stays open
HEARTBEAT_S = 15.0  # keeps proxies from closing an idle stream
BATCH = 200
# What one message carries; the event's own payload unless a page asks for something else.
Present = Callable[[Event], Awaitable[Any]]
# How often a stream asks whether its login may still see the events.
RECHECK_S = 30.0


def sse(event: str, data: Any, *, id: str | None = None) -> str:
    lines = [f"event: {event}"]
    if id:
        lines.append(f"id: {id}")
    lines.extend(f"data: {line}" for line in json.dumps(data, default=str).splitlines())
    return "\n".join(lines) + "\n\n"


async def events_since(
    db: Database,
    *,
    tenant_id: uuid.UUID | None,
    types: Collection[str] | None,
    since: datetime,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> list[Event]:
    """Up to BATCH events from `since` on, oldest first; `after` (the last one's created_at and
    id) continues where a full batch stopped."""
    query = select(Event).where(Event.created_at >= since)
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(Event.created_at > at, and_(Event.created_at == at, Event.id > last_id))
        )
    if tenant_id is not None:
        query = query.where(Event.tenant_id == tenant_id)
    if types:
        query = query.where(Event.type.in_(list(types)))
    async with db.transaction() as session:
        rows = await session.scalars(query.order_by(Event.created_at, Event.id).limit(BATCH))
        return list(rows)


async def _window(
    db: Database,
    *,
    tenant_id: uuid.UUID | None,
    types: Collection[str] | None,
    since: datetime,
) -> list[Event]:
    """Every event from `since` on, a batch at a time: when more than a batch falls inside the
    look-back, reading only the first one would return the same, already sent, rows forever."""
    rows: list[Event] = []
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        batch = await events_since(db, tenant_id=tenant_id, types=types, since=since, after=after)
        rows.extend(batch)
        if len(batch) < BATCH:
            return rows
        after = (batch[-1].created_at, batch[-1].id)


async def follow(
    request: Request,
    *,
    tenant_id: uuid.UUID | None,
    types: Collection[str] | None = None,
    interval: float = POLL_INTERVAL_S,
    still_allowed: Callable[[], Awaitable[bool]] | None = None,
    recheck: float | None = None,
    present: Present | None = None,
) -> AsyncIterator[str]:
    """SSE text: `ready` once, then one message per new event (named by its type) until the
    browser goes away. `tenant_id=None` follows every tenant (Mission Control only).

    Events already committed when the stream starts are not sent: the page on `ready` shows
    the state as it is then (it refreshes what it shows on each `ready`, which also covers a
    reconnect). `still_allowed` is asked every `recheck` seconds (RECHECK_S unless given); once
    it says no, the stream sends `end` and stops, so a login that ended stops receiving the
    tenant's events.
    `present` turns an event into what its message carries (the payload by default)."""
    db = get_database(request)
    recheck = RECHECK_S if recheck is None else recheck
    loop = asyncio.get_running_loop()
    cursor = utcnow()
    visible = await _window(db, tenant_id=tenant_id, types=types, since=cursor - LOOK_BACK)
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
        rows = await _window(db, tenant_id=tenant_id, types=types, since=cursor - LOOK_BACK)
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
