"""The analytics endpoints, counted from real rows: what is AI-resolved, handed off and open,
per window and per day, for one business and for the installation."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from bob.auth.permissions import Role
from bob.billing import subscriptions
from bob.billing.models import CreditEntry
from bob.chat.models import Conversation, ConversationStatus, Message
from bob.db.session import Database
from bob.db.types import utcnow
from bob.events import outbox
from bob.settings import Settings
from bob.tenants.models import Tenant
from bob.webhooks.worker import Worker
from tests.factories import bearer, make_admin, make_member, make_tenant
from tests.integration.webhooks.conftest import conversation
from tests.webhook_receiver import Receiver, Reply
from tests.webhook_receiver import receiver as receiver


async def _conversation(
    db: Database,
    tenant: Tenant,
    *,
    created: datetime,
    last_message: datetime | None = None,
    handoff: datetime | None = None,
    status: ConversationStatus = ConversationStatus.BOT,
    roles: tuple[str, ...] = (),
) -> None:
    async with db.transaction() as session:
        conversation = Conversation(
            tenant_id=tenant.id,
            session_id=f"s-{uuid.uuid4().hex[:8]}",
            channel="widget",
            status=status,
            created_at=created,
            updated_at=created,
            last_message_at=last_message or created,
            handoff_at=handoff,
            closed_at=created if status == ConversationStatus.CLOSED else None,
        )
        session.add(conversation)
        await session.flush()
        for role in roles:
            session.add(
                Message(
                    tenant_id=tenant.id,
                    conversation_id=conversation.id,
                    role=role,
                    content="…",
                    created_at=created,
                )
            )


async def _spend(db: Database, tenant: Tenant, credits: int) -> None:
    async with db.transaction() as session:
        subscription = await subscriptions.current_subscription(
            session=session, tenant_id=tenant.id
        )
        session.add(
            CreditEntry(
                tenant_id=tenant.id,
                period_start=subscription.period_start,
                kind="usage",
                delta=-credits,
                reason="reply",
            )
        )


@pytest.fixture
async def shop(db: Database, settings: Settings) -> dict[str, Any]:
    """Business A with conversations of every kind, and business B with one."""
    a = await make_tenant(db, settings)
    b = await make_tenant(db, settings)
    now = utcnow()
    # Today: one closed without handoff (AI-resolved), one handed off, one still going.
    await _conversation(
        db,
        a.tenant,
        created=now - timedelta(seconds=30),
        status=ConversationStatus.CLOSED,
        roles=("visitor", "assistant"),
    )
    await _conversation(
        db,
        a.tenant,
        created=now - timedelta(seconds=20),
        handoff=now,
        status=ConversationStatus.PENDING_HUMAN,
        roles=("visitor", "assistant", "operator"),
    )
    await _conversation(db, a.tenant, created=now - timedelta(seconds=10), roles=("visitor",))
    # Two days ago, idle since: AI-resolved by the 24-hour rule.
    await _conversation(db, a.tenant, created=now - timedelta(days=2))
    # Outside a 30-day window.
    await _conversation(db, a.tenant, created=now - timedelta(days=40))
    await _conversation(db, b.tenant, created=now - timedelta(seconds=5))
    await _spend(db, a.tenant, 3)
    return {"a": a, "b": b, "now": now}


async def test_business_metrics_follow_the_definitions(
    client: httpx.AsyncClient, shop: dict[str, Any]
) -> None:
    headers = await bearer(client, shop["a"].owner_email)
    response = await client.get("/api/metrics/business", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["business_id"] == shop["a"].tenant.business_id
    assert body["today"] == {
        "total": 3,
        "ai_resolved": 1,
        "handed_off": 1,
        "open": 1,
        "ai_resolved_share": 0.3333,
        "handed_off_share": 0.3333,
    }
    assert body["conversations"]["total"] == 4  # the 40-day-old one is outside
    assert body["conversations"]["ai_resolved"] == 2
    assert body["conversations"]["ai_resolved_share"] == 0.5
    assert body["conversations"]["handed_off_share"] == 0.25
    assert body["messages"] == {"visitor": 3, "assistant": 2, "operator": 1}
    daily = body["daily"]
    assert len(daily) == body["window"]["days"] == 30
    today = shop["now"].date().isoformat()
    two_days_ago = (shop["now"] - timedelta(days=2)).date().isoformat()
    assert daily[-1] == {"day": today, "conversations": 3, "handed_off": 1, "credits": 3}
    assert {d["day"]: d["conversations"] for d in daily}[two_days_ago] == 1
    assert sum(d["conversations"] for d in daily) == 4
    billing_view = (await client.get("/api/customers/billing", headers=headers)).json()
    assert body["credits"]["remaining"] == billing_view["credits"]["remaining"]
    assert body["credits"]["used"] == 3

    wider = await client.get("/api/metrics/business", params={"days": 60}, headers=headers)
    assert wider.json()["conversations"]["total"] == 5
    for bad in ("0", "367", "soon"):
        refused = await client.get("/api/metrics/business", params={"days": bad}, headers=headers)
        assert refused.status_code == 422
        assert "days" in refused.text


async def test_the_dashboard_is_for_the_own_business_or_a_platform_admin(
    client: httpx.AsyncClient, db: Database, settings: Settings, shop: dict[str, Any]
) -> None:
    a, b = shop["a"], shop["b"]
    owner = await bearer(client, a.owner_email)
    path = f"/api/customers/dashboard/{a.tenant.business_id}"
    mine = await client.get(path, headers=owner)
    assert mine.status_code == 200, mine.text
    assert mine.json()["today"]["total"] == 3
    # The window is the current billing period.
    assert mine.json()["window"]["start"][:10] <= mine.json()["credits"]["period_start"][:10]
    other = await client.get(f"/api/customers/dashboard/{b.tenant.business_id}", headers=owner)
    assert other.status_code == 404
    agent = await make_member(db, settings, a.tenant, Role.AGENT)
    assert (await client.get(path, headers=await bearer(client, agent.email))).status_code == 200

    admin = await make_admin(db, settings)
    admin_headers = await bearer(client, admin.email, admin=True)
    seen = await client.get(
        f"/api/customers/dashboard/{b.tenant.business_id}", headers=admin_headers
    )
    assert seen.status_code == 200
    assert seen.json()["today"]["total"] == 1
    missing = await client.get("/api/customers/dashboard/no-such-shop", headers=admin_headers)
    assert missing.status_code == 404
    # The admin's own business figures are the platform tenant's, not b's.
    platform = await client.get("/api/metrics/business", headers=admin_headers)
    assert platform.status_code == 200
    assert platform.json()["business_id"] == settings.platform_business_id
    assert (await client.get(path)).status_code == 401


async def test_the_platform_overview_counts_every_tenant(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    shop: dict[str, Any],
    receiver: Receiver,
) -> None:
    a = shop["a"]
    # One webhook delivery that fails for good.
    settings.webhook_allow_private_networks = True
    settings.webhook_retry_schedule = []
    owner = await bearer(client, a.owner_email)
    created = await client.post(
        "/api/webhooks/endpoints", json={"url": f"{receiver.url}/h"}, headers=owner
    )
    assert created.status_code == 201, created.text
    receiver.default = Reply(500)
    async with db.transaction() as session:
        await outbox.emit(
            session=session,
            tenant=a.tenant,
            type="conversation.closed",
            data=conversation("closed"),
        )
    worker = Worker(db=db, settings=settings, name="analytics")
    await worker.drain()
    await worker.close()

    admin = await make_admin(db, settings)
    headers = await bearer(client, admin.email, admin=True)
    response = await client.get("/api/analytics/overview", params={"days": 7}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tenants"]["total"] >= 2
    assert body["tenants"]["by_status"]["active"] >= 2
    assert body["conversations"]["total"] >= 5  # A's four in the window and B's one
    assert body["today"]["total"] >= 4
    busiest = body["busiest_tenants"]
    assert busiest[0]["business_id"] == a.tenant.business_id
    assert busiest[0]["conversations"] == 4
    assert body["credits_used"] >= 3
    assert body["webhooks"]["failed"] >= 1
    assert 0 < body["webhooks"]["failure_rate"] <= 1
    assert len(body["daily"]) == 7
    assert (await client.get("/api/analytics/overview", headers=owner)).status_code == 403
