"""The live pages' stream (bob.web.live.follow), which Mission Control's feed follows across
every tenant: a burst of events longer than one read still reaches the page, each event once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator
from typing import cast

from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import Message

from bob.db.session import Database
from bob.events import outbox
from bob.events.models import Event
from bob.settings import Settings
from bob.tenants.models import Tenant
from bob.web import live
from tests.factories import make_tenant


async def _never_disconnects() -> Message:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def test_a_burst_longer_than_a_batch_reaches_the_stream(
    app: FastAPI, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings)
    scope = {"type": "http", "app": app, "method": "GET", "path": "/", "headers": []}
    request = Request(scope, _never_disconnects)
    stream = cast(
        AsyncGenerator[str],
        live.follow(request, read=outbox.reader(db, tenant_id=shop.tenant.id), interval=0.01),
    )
    assert "event: ready" in await anext(stream)

    burst = outbox.LIVE_BATCH + 50
    async with db.transaction() as session:
        tenant = await session.get(Tenant, shop.tenant.id)
        assert tenant is not None
        for n in range(burst):
            await outbox.emit(
                session=session,
                tenant=tenant,
                type="conversation.closed",
                data={
                    "conversation": {
                        "id": str(uuid.uuid4()),
                        "session_id": f"s{n}",
                        "channel": "widget",
                        "status": "closed",
                    }
                },
            )
    received: list[str] = []
    try:
        async with asyncio.timeout(30):
            while len(received) < burst:
                chunk = await anext(stream)
                if chunk.startswith("event: conversation.closed"):
                    received.append(chunk.split("\n")[1])  # the `id:` line
    finally:
        await stream.aclose()
    assert len(set(received)) == burst


async def test_present_shapes_what_each_message_carries(
    app: FastAPI, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings)
    scope = {"type": "http", "app": app, "method": "GET", "path": "/", "headers": []}

    async def present(event: Event) -> dict[str, str]:
        return {"shown": "only this"}

    stream = cast(
        AsyncGenerator[str],
        live.follow(
            Request(scope, _never_disconnects),
            read=outbox.reader(db, tenant_id=shop.tenant.id),
            interval=0.01,
            present=present,
        ),
    )
    assert "event: ready" in await anext(stream)
    async with db.transaction() as session:
        tenant = await session.get(Tenant, shop.tenant.id)
        assert tenant is not None
        await outbox.emit(
            session=session,
            tenant=tenant,
            type="conversation.created",
            data={
                "conversation": {
                    "id": str(uuid.uuid4()),
                    "session_id": "s",
                    "channel": "widget",
                    "status": "bot",
                }
            },
        )
    try:
        async with asyncio.timeout(10):
            chunk = await anext(stream)
            while not chunk.startswith("event: conversation.created"):
                chunk = await anext(stream)
    finally:
        await stream.aclose()
    assert chunk.endswith('data: {"shown": "only this"}\n\n')
