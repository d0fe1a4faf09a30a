"""GET and PUT /api/customer-portal/widget/limits: the anonymous doors' ceilings and challenge."""

from __future__ import annotations

import httpx
import pytest

from bob.auth.permissions import Role
from bob.db.session import Database
from bob.settings import Settings
from tests.factories import bearer, make_member, make_tenant

LIMITS = "/api/customer-portal/widget/limits"


@pytest.mark.parametrize(
    ("plan", "per_minute", "per_day"),
    [("starter", 30, 1_000), ("pro", 120, 5_000), ("enterprise", 600, 20_000)],
)
async def test_defaults_come_from_the_plan(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    plan: str,
    per_minute: int,
    per_day: int,
) -> None:
    made = await make_tenant(db, settings, plan=plan)
    response = await client.get(LIMITS, headers=await bearer(client, made.owner_email))
    assert response.status_code == 200
    assert response.json() == {
        "plan": plan,
        "replies_per_minute": {"limit": per_minute, "override": None, "plan_default": per_minute},
        "replies_per_day": {"limit": per_day, "override": None, "plan_default": per_day},
        "challenge": False,
    }


async def test_overrides_are_saved_reset_and_audited(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings, plan="starter")
    owner = await bearer(client, made.owner_email)
    changed = await client.put(
        LIMITS, json={"replies_per_minute": 5, "challenge": True}, headers=owner
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["replies_per_minute"] == {"limit": 5, "override": 5, "plan_default": 30}
    assert changed.json()["replies_per_day"]["override"] is None  # left out: unchanged
    assert changed.json()["challenge"] is True

    day = await client.put(LIMITS, json={"replies_per_day": 50}, headers=owner)
    assert day.json()["replies_per_minute"]["override"] == 5
    assert day.json()["challenge"] is True
    reset = await client.put(LIMITS, json={"replies_per_minute": None}, headers=owner)
    assert reset.json()["replies_per_minute"] == {"limit": 30, "override": None, "plan_default": 30}
    assert reset.json()["replies_per_day"]["limit"] == 50
    # Saving what is there already writes no audit entry.
    await client.put(LIMITS, json={"replies_per_day": 50}, headers=owner)

    audit = await client.get(
        "/api/audit", params={"action": "widget.limits_updated"}, headers=owner
    )
    entries = audit.json()["items"]
    assert [e["data"] for e in entries] == [
        {"replies_per_minute": [5, None]},
        {"replies_per_day": [None, 50]},
        {"replies_per_minute": [None, 5], "challenge": [False, True]},
    ]
    assert all(e["actor_label"] == made.owner_email for e in entries)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"replies_per_hour": 5}, "replies_per_hour"),
        ({"replies_per_minute": 0}, "replies_per_minute"),
        ({"replies_per_minute": 10_001}, "replies_per_minute"),
        ({"replies_per_minute": "5"}, "replies_per_minute"),
        ({"replies_per_minute": 2.5}, "replies_per_minute"),
        ({"replies_per_day": -1}, "replies_per_day"),
        ({"replies_per_day": 10_000_001}, "replies_per_day"),
        ({"challenge": "yes"}, "challenge"),
        ({"challenge": None}, "challenge"),
    ],
)
async def test_bad_values_and_unknown_fields_are_refused_naming_them(
    client: httpx.AsyncClient, db: Database, settings: Settings, body: dict[str, object], field: str
) -> None:
    made = await make_tenant(db, settings)
    owner = await bearer(client, made.owner_email)
    response = await client.put(LIMITS, json={"replies_per_day": 9, **body}, headers=owner)
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["message"]
    stored = (await client.get(LIMITS, headers=owner)).json()
    assert stored["replies_per_day"]["override"] is None  # nothing of the request was stored


async def test_only_widget_managers_of_the_tenant_see_and_change_it(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    other = await make_tenant(db, settings)
    owner = await bearer(client, made.owner_email)
    await client.put(LIMITS, json={"replies_per_minute": 7}, headers=owner)
    untouched = await client.get(LIMITS, headers=await bearer(client, other.owner_email))
    assert untouched.json()["replies_per_minute"]["override"] is None
    admin = await make_member(db, settings, made.tenant, Role.ADMIN)
    allowed = await client.get(LIMITS, headers=await bearer(client, admin.email))
    assert allowed.json()["replies_per_minute"]["limit"] == 7
    for role in (Role.AGENT, Role.VIEWER):
        member = await make_member(db, settings, made.tenant, role)
        headers = await bearer(client, member.email)
        assert (await client.get(LIMITS, headers=headers)).status_code == 403
        refused = await client.put(LIMITS, json={"replies_per_minute": 1}, headers=headers)
        assert refused.status_code == 403
    assert (await client.get(LIMITS)).status_code == 401


async def test_the_defaults_follow_a_plan_upgrade(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings, plan="starter")
    owner = await bearer(client, made.owner_email)
    upgraded = await client.post(
        "/api/customers/billing/plan", json={"plan": "enterprise"}, headers=owner
    )
    assert upgraded.status_code == 200
    limits = (await client.get(LIMITS, headers=owner)).json()
    assert limits["plan"] == "enterprise"
    assert limits["replies_per_minute"]["limit"] == 600
