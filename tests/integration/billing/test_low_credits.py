"""credits.low: written to the outbox with the charge that crossed the tenant's threshold, once per
crossing; the threshold the tenant sets (GET, PUT /api/customers/billing/alerts)."""

from __future__ import annotations

import httpx
import pytest

from bob.auth.permissions import Role
from bob.db.session import Database
from bob.events import catalogue
from bob.settings import Settings
from bob.tenants.models import Tenant
from tests.factories import bearer, make_member
from tests.integration.billing.test_credits import Shop, adjust, ask, open_shop, set_balance
from tests.integration.billing.test_pricebook import events_of
from tests.integration.billing.test_subscriptions import move_period_into_the_past

ALERTS = "/api/customers/billing/alerts"


async def low_events(db: Database, shop: Shop) -> list[dict[str, int]]:
    rows = await events_of(db, shop.tenant_id, "credits.low")
    for row in rows:
        catalogue.validate_payload(row.payload)
    return [row.payload["data"]["credits"] for row in rows]


@pytest.fixture
async def starter(client: httpx.AsyncClient, db: Database, settings: Settings) -> Shop:
    # 15,000 credits a month: the default threshold is 1,500.
    return await open_shop(client, db, settings, plan="starter")


async def test_credits_low_is_written_once_when_the_balance_crosses_the_default_threshold(
    client: httpx.AsyncClient, db: Database, starter: Shop
) -> None:
    await set_balance(client, starter, 1502)
    await ask(client, starter)
    assert await low_events(db, starter) == []
    reply = await ask(client, starter)  # 1,500 left: at the threshold
    assert reply["credits_used"] == 1
    assert await low_events(db, starter) == [
        {"granted": 15000, "remaining": 1500, "threshold": 1500}
    ]
    for _ in range(3):
        await ask(client, starter)
    assert len(await low_events(db, starter)) == 1

    # Back above the threshold, then across it again: a second crossing, a second event.
    await adjust(client, starter, 10)  # 1,507
    await ask(client, starter)
    assert len(await low_events(db, starter)) == 1
    await set_balance(client, starter, 1501)
    await ask(client, starter)
    await ask(client, starter)
    assert [e["remaining"] for e in await low_events(db, starter)] == [1500, 1500]


async def test_a_top_up_that_a_single_reply_crosses_again_counts_as_a_crossing(
    client: httpx.AsyncClient, db: Database, starter: Shop
) -> None:
    await set_balance(client, starter, 1400)
    await ask(client, starter)
    assert [e["remaining"] for e in await low_events(db, starter)] == [1399]
    await set_balance(client, starter, 1501)
    await ask(client, starter)
    assert [e["remaining"] for e in await low_events(db, starter)] == [1399, 1500]


async def test_a_new_period_rearms_it(
    client: httpx.AsyncClient, db: Database, starter: Shop
) -> None:
    await set_balance(client, starter, 100)
    await ask(client, starter)
    assert len(await low_events(db, starter)) == 1
    await move_period_into_the_past(db, starter.tenant_id)
    # The renewal grants 15,000; an adjustment takes the new period straight below the threshold.
    await set_balance(client, starter, 50)
    await ask(client, starter)
    assert [e["remaining"] for e in await low_events(db, starter)] == [99, 49]


async def test_the_tenant_sets_its_own_threshold(
    client: httpx.AsyncClient, db: Database, settings: Settings, starter: Shop
) -> None:
    default = await client.get(ALERTS, headers=starter.owner)
    assert default.status_code == 200
    assert default.json() == {
        "low_credits_threshold": None,
        "default_threshold": 1500,
        "threshold": 1500,
        "remaining": 15000,
        "low": False,
    }
    changed = await client.put(ALERTS, json={"low_credits_threshold": 200}, headers=starter.owner)
    assert changed.status_code == 200, changed.text
    assert changed.json()["threshold"] == 200
    await set_balance(client, starter, 1000)
    await ask(client, starter)
    assert await low_events(db, starter) == []  # 999 is above the tenant's 200
    await set_balance(client, starter, 201)
    await ask(client, starter)
    assert await low_events(db, starter) == [{"granted": 15000, "remaining": 200, "threshold": 200}]
    state = (await client.get(ALERTS, headers=starter.owner)).json()
    assert (state["remaining"], state["low"]) == (200, True)

    back = await client.put(ALERTS, json={"low_credits_threshold": None}, headers=starter.owner)
    assert back.json()["threshold"] == 1500
    audit = await client.get(
        "/api/audit", params={"action": "billing.alerts_updated"}, headers=starter.owner
    )
    assert [e["data"]["low_credits_threshold"] for e in audit.json()["items"]] == [
        [200, None],
        [None, 200],
    ]

    async with db.transaction() as session:
        tenant = await session.get(Tenant, starter.tenant_id)
    assert tenant is not None
    viewer = await make_member(db, settings, tenant, Role.VIEWER)
    viewer_headers = await bearer(client, viewer.email)
    assert (await client.get(ALERTS, headers=viewer_headers)).status_code == 200
    refused = await client.put(ALERTS, json={"low_credits_threshold": 5}, headers=viewer_headers)
    assert refused.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"low_credits_threshold": -1},
        {"low_credits_threshold": "100"},
        {"low_credits_threshold": 10_000_001},
        {"low_credits_threshold": 100, "percent": 10},
        {},
    ],
)
async def test_bad_thresholds_are_refused(
    client: httpx.AsyncClient, starter: Shop, body: dict[str, object]
) -> None:
    response = await client.put(ALERTS, json=body, headers=starter.owner)
    assert response.status_code == 422, response.text
    message = response.json()["error"]["message"]
    assert "percent" in message if "percent" in body else "low_credits_threshold" in message
    assert (await client.get(ALERTS, headers=starter.owner)).json()["threshold"] == 1500
