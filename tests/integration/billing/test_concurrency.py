"""Metering under concurrency: real commits, many replies at once, a small balance.

80 visitors write at the same moment against a balance of 50: exactly 50 replies are charged,
the balance never goes below zero, and the other 30 get the zero-credit behaviour with a 200.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select

from bob import audit
from bob.accounts import service as accounts
from bob.anonymous import service as anonymous
from bob.billing import subscriptions
from bob.billing.models import CreditEntry
from bob.db import migrate
from bob.db.session import Database
from bob.knowledge import service as knowledge
from bob.main import create_app
from bob.settings import Settings
from tests.conftest import PUBLIC_URL, FreshDatabase

BALANCE = 50
REQUESTS = 80


@dataclass
class Metered:
    db: Database
    settings: Settings
    client: httpx.AsyncClient
    tenant_id: uuid.UUID
    business_id: str


@pytest.fixture
async def metered(fresh_database: FreshDatabase) -> AsyncIterator[Metered]:
    settings = fresh_database.settings.model_copy(update={"chat_limit_per_ip": "10000/minute"})
    await asyncio.to_thread(migrate.upgrade, settings)
    db = Database.of(settings)
    async with db.transaction() as session:
        created = await accounts.create_tenant(
            session=session,
            actor=audit.CLI,
            name="Busy Shop",
            business_id="busy-shop",
            plan="starter",
            owner_email="owner@busy.example.com",
            owner_password="correct horse battery",
        )
        await knowledge.create_item(
            session=session,
            settings=settings,
            tenant_id=created.tenant.id,
            actor=audit.CLI,
            title="Opening hours",
            content="We are open every day from 8:00 to 20:00.",
        )
        await subscriptions.adjust_credits(
            session=session,
            actor=audit.CLI,
            tenant_id=created.tenant.id,
            delta=BALANCE - 15_000,
            reason="leave a small balance for the test",
        )
        # A burst of visitors past the starter plan's anonymous ceiling is what this test needs.
        await anonymous.update_limits(
            session=session,
            tenant=created.tenant,
            actor=audit.CLI,
            changes={"replies_per_minute": 10_000},
        )
    app = create_app(settings, database=db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL, timeout=120) as client:
        yield Metered(db, settings, client, created.tenant.id, "busy-shop")
    await db.dispose()


async def _ledger(db: Database, tenant_id: uuid.UUID) -> tuple[int, int, int]:
    async with db.transaction() as session:
        subscription = await subscriptions.current_subscription(
            session=session, tenant_id=tenant_id
        )
        balance = await subscriptions.balance(
            session=session, tenant_id=tenant_id, period_start=subscription.period_start
        )
        usage = await session.scalar(
            select(func.count()).where(
                CreditEntry.tenant_id == tenant_id, CreditEntry.kind == "usage"
            )
        )
        charged = await session.scalar(
            select(func.coalesce(func.sum(CreditEntry.delta), 0)).where(
                CreditEntry.tenant_id == tenant_id, CreditEntry.kind == "usage"
            )
        )
    return balance, int(usage or 0), -int(charged or 0)


async def test_concurrent_replies_charge_exactly_the_balance(metered: Metered) -> None:
    async def visitor(number: int) -> httpx.Response:
        return await metered.client.post(
            "/api/chat",
            json={
                "session_id": f"visitor-{number}",
                "message": "When are you open?",
                "business_id": metered.business_id,
            },
        )

    responses = await asyncio.gather(*(visitor(n) for n in range(REQUESTS)))
    assert [r.status_code for r in responses] == [200] * REQUESTS
    bodies = [r.json() for r in responses]
    answered = [b for b in bodies if b["credits_used"] == 1]
    refused = [b for b in bodies if b["credits_used"] == 0]
    assert len(answered) == BALANCE
    assert all("8:00 to 20:00" in b["reply"] for b in answered)
    assert len(refused) == REQUESTS - BALANCE
    # The default zero-credit behaviour: a polite message and a person takes over.
    assert all(b["handoff"] and b["conversation_status"] == "pending_human" for b in refused)
    balance, usage_entries, charged = await _ledger(metered.db, metered.tenant_id)
    assert (balance, usage_entries, charged) == (0, BALANCE, BALANCE)


async def test_overage_keeps_answering_and_bills_the_excess(metered: Metered) -> None:
    async with metered.db.transaction() as session:
        await subscriptions.set_at_zero(
            session=session,
            actor=audit.CLI,
            tenant_id=metered.tenant_id,
            at_zero="overage",
        )

    async def visitor(number: int) -> httpx.Response:
        return await metered.client.post(
            "/api/chat",
            json={"message": "When are you open?", "business_id": metered.business_id},
        )

    responses = await asyncio.gather(*(visitor(n) for n in range(REQUESTS)))
    assert all(r.status_code == 200 and r.json()["credits_used"] == 1 for r in responses)
    async with metered.db.transaction() as session:
        overage = await session.scalar(
            select(func.coalesce(func.sum(CreditEntry.delta), 0)).where(
                CreditEntry.tenant_id == metered.tenant_id, CreditEntry.kind == "overage"
            )
        )
    balance, _, charged = await _ledger(metered.db, metered.tenant_id)
    assert balance == 0
    assert charged == BALANCE
    assert -int(overage or 0) == REQUESTS - BALANCE
