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
from collections.abc import AsyncIterator, Collection
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from bob.db.session import Database
from bob.db.types import utcnow
from bob.webhooks.models import Event

POLL_INTERVAL_S = 1.0
LOOK_BACK = timedelta(seconds=10)  # longer than any chat transaction stays open
HEARTBEAT_S = 15.0  # keeps proxies from closing an idle stream
BATCH = 200


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
) -> list[Event]:
    query = select(Event).where(Event.created_at >= since)
    if tenant_id is not None:
        query = query.where(Event.tenant_id == tenant_id)
    if types:
        query = query.where(Event.type.in_(list(types)))
    async with db.transaction() as session:
        rows = await session.scalars(query.order_by(Event.created_at).limit(BATCH))
        return list(rows)


async def follow(
    request: Request,
    *,
    tenant_id: uuid.UUID | None,
    types: Collection[str] | None = None,
    interval: float = POLL_INTERVAL_S,
) -> AsyncIterator[str]:
    """SSE text: `ready` once, then one message per new event (named by its type) until the
    browser goes away. `tenant_id=None` follows every tenant (Mission Control only)."""
    db: Database = request.app.state.db
    cursor = utcnow()
    sent: dict[uuid.UUID, datetime] = {}
    quiet = 0.0
    yield "retry: 3000\n\n" + sse("ready", {"at": cursor.isoformat()})
    while not await request.is_disconnected():
        rows = await events_since(db, tenant_id=tenant_id, types=types, since=cursor - LOOK_BACK)
        fresh = [e for e in rows if e.id not in sent]
        for event in fresh:
            sent[event.id] = event.created_at
            yield sse(event.type, event.payload, id=str(event.id))
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
