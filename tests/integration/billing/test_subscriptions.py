"""Subscriptions: the version a tenant is priced on, monthly periods and renewal, plan changes,
seats."""

from __future__ import annotations

import calendar
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from bob.billing import subscriptions
from bob.billing.models import CreditEntry, Subscription
from bob.db.session import Database
from bob.db.types import utcnow
from bob.settings import Settings
from tests.factories import PASSWORD, bearer, make_tenant, unique
from tests.integration.billing.test_pricebook import admin_headers, plans_with, publish_version

BILLING = "/api/customers/billing"


@pytest.fixture
async def admin(client: httpx.AsyncClient, db: Database, settings: Settings) -> dict[str, str]:
    return await admin_headers(client, db, settings)


async def get_billing(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get(BILLING, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def change_plan(
    client: httpx.AsyncClient, headers: dict[str, str], plan: str
) -> httpx.Response:
    return await client.post(f"{BILLING}/plan", json={"plan": plan}, headers=headers)


async def add_member(
    client: httpx.AsyncClient, owner: dict[str, str], role: str = "agent"
) -> httpx.Response:
    return await client.post(
        "/api/customers/team",
        json={"email": f"{unique(role)}@example.com", "role": role, "password": PASSWORD},
        headers=owner,
    )


async def member_headers(
    client: httpx.AsyncClient, owner: dict[str, str], role: str
) -> dict[str, str]:
    added = await add_member(client, owner, role)
    assert added.status_code == 201, added.text
    return await bearer(client, added.json()["email"])


async def ledger(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get("/api/customers/usage", params={"limit": 200}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def move_period_into_the_past(db: Database, tenant_id: uuid.UUID) -> datetime:
    """Re-anchor the subscription on a start a month and a day ago, so its period has just ended.

    The period's ledger entries move with it, so the next read renews exactly one period.
    Returns the new anchor (the old period's start).
    """
    started = subscriptions.add_months(utcnow(), -1) - timedelta(days=1)
    async with db.transaction() as session:
        subscription = await session.get(Subscription, tenant_id)
        assert subscription is not None
        old_start = subscription.period_start
        await session.execute(
            update(CreditEntry)
            .where(CreditEntry.tenant_id == tenant_id, CreditEntry.period_start == old_start)
            .values(period_start=started)
        )
        await session.execute(
            update(Subscription)
            .where(Subscription.tenant_id == tenant_id)
            .values(
                started_at=started,
                period_index=0,
                period_start=started,
                period_end=subscriptions.add_months(started, 1),
            )
        )
    return started


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


# ---- what GET /api/customers/billing says -----------------------------------------------------


async def test_a_new_tenant_starts_on_the_published_version_with_its_credits(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    before = utcnow()
    made = await make_tenant(db, settings, plan="starter")
    owner = await bearer(client, made.owner_email)
    body = await get_billing(client, owner)
    assert set(body) == {
        "plan",
        "plan_name",
        "pending_plan",
        "pricebook_version",
        "period_start",
        "period_end",
        "credits",
        "seats",
        "integrations",
        "at_zero",
    }
    assert (body["plan"], body["plan_name"], body["pending_plan"]) == ("starter", "Starter", None)
    assert body["pricebook_version"] == 1
    assert body["credits"] == {
        "included": 15000,
        "used": 0,
        "adjustments": 0,
        "remaining": 15000,
        "overage": 0,
    }
    assert body["seats"] == {"used": 1, "limit": 3}
    assert body["integrations"] == {"used": 0, "limit": 1}
    assert body["at_zero"] == "handoff"
    start, end = at(body["period_start"]), at(body["period_end"])
    assert before <= start <= utcnow()
    assert end == subscriptions.add_months(start, 1)
    (grant,) = await ledger(client, owner)
    assert (grant["kind"], grant["delta"], grant["reason"]) == (
        "grant",
        15000,
        "starter plan, pricebook v1",
    )


async def test_new_subscriptions_use_a_newly_published_version_existing_ones_keep_theirs(
    client: httpx.AsyncClient, db: Database, settings: Settings, admin: dict[str, str]
) -> None:
    earlier = await make_tenant(db, settings, plan="pro")
    version = await publish_version(
        client, admin, plans_with(pro={"included_credits": 90000}, starter={"seats": 5})
    )
    assert version == 2
    later = await make_tenant(db, settings, plan="pro")

    new = await get_billing(client, await bearer(client, later.owner_email))
    assert new["pricebook_version"] == 2
    assert new["credits"]["included"] == 90000
    assert new["credits"]["remaining"] == 90000
    old = await get_billing(client, await bearer(client, earlier.owner_email))
    assert old["pricebook_version"] == 1
    assert old["credits"]["included"] == 75000
    assert old["credits"]["remaining"] == 75000


# ---- renewal -------------------------------------------------------------------------------


async def test_renewal_opens_the_next_period_on_the_published_version(
    client: httpx.AsyncClient, db: Database, settings: Settings, admin: dict[str, str]
) -> None:
    made = await make_tenant(db, settings, plan="pro")
    owner = await bearer(client, made.owner_email)
    adjusted = await client.post(
        f"/api/admin/tenants/{made.tenant.id}/credits",
        json={"delta": -100, "reason": "goodwill reversed"},
        headers=admin,
    )
    assert adjusted.status_code == 200, adjusted.text
    scheduled = await change_plan(client, owner, "starter")
    assert scheduled.status_code == 200, scheduled.text
    assert (scheduled.json()["plan"], scheduled.json()["pending_plan"]) == ("pro", "starter")
    await publish_version(client, admin, plans_with(starter={"included_credits": 20000}))
    # Publishing changes nothing mid-period.
    assert (await get_billing(client, owner))["pricebook_version"] == 1

    anchor = await move_period_into_the_past(db, made.tenant.id)
    old_end = subscriptions.add_months(anchor, 1)
    body = await get_billing(client, owner)

    start, end = at(body["period_start"]), at(body["period_end"])
    assert start == old_end
    assert end == subscriptions.add_months(anchor, 2)
    last_day = calendar.monthrange(end.year, end.month)[1]
    assert end.day == min(anchor.day, last_day)
    assert (end.hour, end.minute, end.second) == (anchor.hour, anchor.minute, anchor.second)
    assert start <= utcnow() < end
    # The pending downgrade is applied and the period priced on the published version.
    assert (body["plan"], body["plan_name"], body["pending_plan"]) == ("starter", "Starter", None)
    assert body["pricebook_version"] == 2
    assert body["credits"] == {
        "included": 20000,
        "used": 0,
        "adjustments": 0,
        "remaining": 20000,
        "overage": 0,
    }
    assert body["seats"]["limit"] == 3

    entries = await ledger(client, owner)
    by_period: dict[datetime, list[tuple[str, int]]] = {}
    for entry in entries:
        by_period.setdefault(at(entry["period_start"]), []).append((entry["kind"], entry["delta"]))
    # The old period's leftover is reset (no carry-over), the new one starts with its grant.
    assert sorted(by_period[anchor]) == [("adjustment", -100), ("grant", 75000), ("reset", -74900)]
    assert by_period[start] == [("grant", 20000)]
    grant = next(e for e in entries if at(e["period_start"]) == start)
    assert grant["reason"] == "starter plan, pricebook v2"

    tenant = await client.get(f"/api/admin/tenants/{made.tenant.id}", headers=admin)
    assert tenant.json()["plan"] == "starter"
    # Reading again renews nothing more.
    assert await get_billing(client, owner) == body
    assert len(await ledger(client, owner)) == len(entries)


async def test_missed_periods_are_skipped_keeping_the_anchor_day(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings, plan="starter")
    owner = await bearer(client, made.owner_email)
    now = utcnow()
    anchor = datetime(now.year - 1, 1, 31, 9, 30, tzinfo=UTC)
    async with db.transaction() as session:
        await session.execute(
            update(CreditEntry)
            .where(CreditEntry.tenant_id == made.tenant.id)
            .values(period_start=anchor)
        )
        await session.execute(
            update(Subscription)
            .where(Subscription.tenant_id == made.tenant.id)
            .values(
                started_at=anchor,
                period_index=0,
                period_start=anchor,
                period_end=subscriptions.add_months(anchor, 1),
            )
        )
    body = await get_billing(client, owner)
    start, end = at(body["period_start"]), at(body["period_end"])
    assert start <= utcnow() < end
    async with db.transaction() as session:
        index = await session.scalar(
            select(Subscription.period_index).where(Subscription.tenant_id == made.tenant.id)
        )
    assert index is not None
    assert index >= 11
    assert start == subscriptions.add_months(anchor, index)
    assert end == subscriptions.add_months(anchor, index + 1)
    # Anchored on the 31st: the 31st, or the last day of a shorter month, never drifting.
    for moment in (start, end):
        assert moment.day == calendar.monthrange(moment.year, moment.month)[1]
        assert (moment.hour, moment.minute) == (9, 30)
    kinds = [(e["kind"], e["delta"]) for e in await ledger(client, owner)]
    # One reset for the period that had credits, one grant for the current one.
    assert kinds == [("grant", 15000), ("reset", -15000), ("grant", 15000)]


# ---- plan changes --------------------------------------------------------------------------


async def test_upgrade_applies_now_with_the_extra_credits(
    client: httpx.AsyncClient, db: Database, settings: Settings, admin: dict[str, str]
) -> None:
    made = await make_tenant(db, settings, plan="starter")
    owner = await bearer(client, made.owner_email)
    before = await get_billing(client, owner)
    upgraded = await change_plan(client, owner, "pro")
    assert upgraded.status_code == 200, upgraded.text
    body = upgraded.json()
    assert (body["plan"], body["plan_name"], body["pending_plan"]) == ("pro", "Pro", None)
    # Same period, same version; the difference in included credits is granted now.
    assert body["period_start"] == before["period_start"]
    assert body["pricebook_version"] == 1
    assert body["credits"]["included"] == 15000 + 60000
    assert body["credits"]["remaining"] == 75000
    assert body["seats"] == {"used": 1, "limit": 10}
    extra = (await ledger(client, owner))[0]
    assert (extra["kind"], extra["delta"], extra["reason"]) == (
        "grant",
        60000,
        "upgrade from starter to pro",
    )
    tenant = await client.get(f"/api/admin/tenants/{made.tenant.id}", headers=admin)
    assert tenant.json()["plan"] == "pro"
    audit = await client.get(
        "/api/audit", params={"action": "billing.plan_upgraded"}, headers=owner
    )
    (entry,) = audit.json()["items"]
    assert entry["data"] == {"from": "starter", "to": "pro"}
    assert entry["actor_label"] == made.owner_email


async def test_only_the_owner_changes_the_plan(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings, plan="pro")
    owner = await bearer(client, made.owner_email)
    for role in ("admin", "agent", "viewer"):
        member = await member_headers(client, owner, role)
        for plan in ("enterprise", "starter"):
            refused = await change_plan(client, member, plan)
            assert refused.status_code == 403, (role, refused.text)
    assert (await change_plan(client, {}, "enterprise")).status_code == 401
    body = await get_billing(client, owner)
    assert (body["plan"], body["pending_plan"]) == ("pro", None)
    bad = await change_plan(client, owner, "platinum")
    assert bad.status_code == 422
    assert bad.json()["error"]["message"].startswith("plan")


async def test_downgrade_is_scheduled_for_renewal_and_staying_cancels_it(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings, plan="pro")
    owner = await bearer(client, made.owner_email)
    scheduled = await change_plan(client, owner, "starter")
    assert scheduled.status_code == 200, scheduled.text
    body = scheduled.json()
    assert (body["plan"], body["pending_plan"]) == ("pro", "starter")
    assert body["credits"]["included"] == 75000  # nothing taken away mid-period
    assert body["seats"]["limit"] == 10
    assert (await get_billing(client, owner))["pending_plan"] == "starter"

    stayed = await change_plan(client, owner, "pro")
    assert stayed.status_code == 200
    assert (stayed.json()["plan"], stayed.json()["pending_plan"]) == ("pro", None)
    actions = [
        e["action"]
        for e in (await client.get("/api/audit", headers=owner)).json()["items"]
        if e["action"].startswith("billing.")
    ]
    assert actions == ["billing.downgrade_cancelled", "billing.downgrade_scheduled"]


async def test_downgrade_is_refused_while_the_team_is_larger_than_the_lower_plan(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings, plan="pro")
    owner = await bearer(client, made.owner_email)
    added = [await add_member(client, owner) for _ in range(3)]
    assert [r.status_code for r in added] == [201, 201, 201]

    refused = await change_plan(client, owner, "starter")
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "plan_limits"
    assert "4 team members" in error["message"]
    assert "allows 3" in error["message"]
    assert (await get_billing(client, owner))["pending_plan"] is None

    removed = await client.delete(f"/api/customers/team/{added[0].json()['id']}", headers=owner)
    assert removed.status_code == 204
    scheduled = await change_plan(client, owner, "starter")
    assert scheduled.status_code == 200, scheduled.text
    assert scheduled.json()["pending_plan"] == "starter"


async def test_platform_admin_changes_the_plan_through_the_tenant(
    client: httpx.AsyncClient, db: Database, settings: Settings, admin: dict[str, str]
) -> None:
    made = await make_tenant(db, settings, plan="starter")
    owner = await bearer(client, made.owner_email)
    patched = await client.patch(
        f"/api/admin/tenants/{made.tenant.id}", json={"plan": "enterprise"}, headers=admin
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["plan"] == "enterprise"
    body = await get_billing(client, owner)
    assert (body["plan"], body["plan_name"]) == ("enterprise", "Enterprise")
    assert body["credits"]["included"] == 250000
    assert body["seats"] == {"used": 1, "limit": None}
    assert body["integrations"]["limit"] == 10

    # A downgrade by the admin waits for the renewal too.
    patched = await client.patch(
        f"/api/admin/tenants/{made.tenant.id}", json={"plan": "pro"}, headers=admin
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["plan"] == "enterprise"
    assert (await get_billing(client, owner))["pending_plan"] == "pro"
    # The admin's read of the tenant's billing is the same document.
    read = await client.get(f"/api/admin/tenants/{made.tenant.id}/billing", headers=admin)
    assert read.status_code == 200
    assert read.json() == await get_billing(client, owner)


# ---- seats ---------------------------------------------------------------------------------


async def test_a_starter_tenants_fourth_member_is_refused_until_an_upgrade(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings, plan="starter")
    owner = await bearer(client, made.owner_email)
    assert [(await add_member(client, owner)).status_code for _ in range(2)] == [201, 201]
    assert (await get_billing(client, owner))["seats"] == {"used": 3, "limit": 3}

    fourth = await add_member(client, owner)
    assert fourth.status_code == 409, fourth.text
    assert fourth.json()["error"]["code"] == "seat_limit"
    assert "3 team seats" in fourth.json()["error"]["message"]
    team = await client.get("/api/customers/team", headers=owner)
    assert len(team.json()["items"]) == 3
    # Invites (no password) take a seat as well, so they are refused the same way.
    invite = await client.post(
        "/api/customers/team",
        json={"email": f"{unique('invitee')}@example.com", "role": "viewer"},
        headers=owner,
    )
    assert invite.status_code == 409
    assert invite.json()["error"]["code"] == "seat_limit"

    assert (await change_plan(client, owner, "pro")).status_code == 200
    accepted = await add_member(client, owner)
    assert accepted.status_code == 201, accepted.text
    assert (await get_billing(client, owner))["seats"] == {"used": 4, "limit": 10}


async def test_reactivating_a_member_past_the_limit_is_refused(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings, plan="starter")
    owner = await bearer(client, made.owner_email)
    first = (await add_member(client, owner)).json()
    assert (await add_member(client, owner)).status_code == 201

    deactivated = await client.patch(
        f"/api/customers/team/{first['id']}", json={"is_active": False}, headers=owner
    )
    assert deactivated.status_code == 200, deactivated.text
    # An inactive member frees the seat.
    assert (await get_billing(client, owner))["seats"] == {"used": 2, "limit": 3}
    assert (await add_member(client, owner)).status_code == 201

    reactivated = await client.patch(
        f"/api/customers/team/{first['id']}", json={"is_active": True}, headers=owner
    )
    assert reactivated.status_code == 409, reactivated.text
    assert reactivated.json()["error"]["code"] == "seat_limit"
    team = (await client.get("/api/customers/team", headers=owner)).json()["items"]
    assert next(m for m in team if m["id"] == first["id"])["is_active"] is False
    assert (await get_billing(client, owner))["seats"] == {"used": 3, "limit": 3}
    # Other changes to an inactive member are not seat changes.
    renamed = await client.patch(
        f"/api/customers/team/{first['id']}", json={"name": "Former agent"}, headers=owner
    )
    assert renamed.status_code == 200


async def test_a_downgrade_the_team_outgrew_is_not_forced_at_renewal(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings, plan="pro")
    owner = await bearer(client, made.owner_email)
    assert (await change_plan(client, owner, "starter")).status_code == 200
    # Pro still allows more members, and the team grows past starter's three seats.
    for _ in range(3):
        assert (await add_member(client, owner)).status_code == 201
    await move_period_into_the_past(db, made.tenant.id)
    after = await get_billing(client, owner)
    assert (after["plan"], after["pending_plan"]) == ("pro", None)
    assert after["credits"]["included"] == 75000
    grant = next(e for e in await ledger(client, owner) if e["kind"] == "grant")
    assert "kept instead of starter" in grant["reason"]


async def test_admin_patch_with_the_current_plan_cancels_a_scheduled_downgrade(
    client: httpx.AsyncClient, db: Database, settings: Settings, admin: dict[str, str]
) -> None:
    made = await make_tenant(db, settings, plan="pro")
    owner = await bearer(client, made.owner_email)
    await change_plan(client, owner, "starter")
    headers = admin
    patched = await client.patch(
        f"/api/admin/tenants/{made.tenant.id}", json={"plan": "pro"}, headers=headers
    )
    assert patched.status_code == 200
    assert (await get_billing(client, owner))["pending_plan"] is None
