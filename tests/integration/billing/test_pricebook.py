"""The versioned pricebook: public read, admin draft → publish → archive, and `bob pricebook`.

Tests run in a transaction that is rolled back, so a version published here is the published
one only inside its own test. The CLI tests use a database of their own.
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bob import audit
from bob.billing import plans_knowledge, pricebook
from bob.db.session import Database
from bob.events.models import Event
from bob.settings import Settings
from bob.tenants.models import Tenant
from tests.cli.test_cli import bob, migrate_in_process, one_error_line, query
from tests.conftest import PUBLIC_URL, FreshDatabase
from tests.factories import bearer, make_admin, make_tenant

# pricebook-seed V1, written out here independently of the migration that seeds it.
V1_PLANS: list[dict[str, Any]] = [
    {
        "code": "starter",
        "name": "Starter",
        "monthly_price_cents": 7900,
        "included_credits": 15000,
        "seats": 3,
        "integrations": 1,
        "support": "email",
    },
    {
        "code": "pro",
        "name": "Pro",
        "monthly_price_cents": 24900,
        "included_credits": 75000,
        "seats": 10,
        "integrations": 3,
        "support": "priority",
    },
    {
        "code": "enterprise",
        "name": "Enterprise",
        "monthly_price_cents": 89900,
        "included_credits": 250000,
        "seats": None,
        "integrations": 10,
        "support": "dedicated",
    },
]
VERSIONS = "/api/admin/pricebook/versions"


def plans_with(**changes: dict[str, Any]) -> list[dict[str, Any]]:
    """V1's plans with some fields changed, e.g. plans_with(pro={"included_credits": 90000})."""
    plans = copy.deepcopy(V1_PLANS)
    for plan in plans:
        plan.update(changes.get(plan["code"], {}))
    return plans


async def admin_headers(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> dict[str, str]:
    admin = await make_admin(db, settings)
    return await bearer(client, admin.email, admin=True)


async def publish_version(
    client: httpx.AsyncClient, admin: dict[str, str], plans: list[dict[str, Any]]
) -> int:
    """Create a draft and publish it through the admin API; returns its version number."""
    draft = await client.post(VERSIONS, json={"plans": plans}, headers=admin)
    assert draft.status_code == 201, draft.text
    version = int(draft.json()["version"])
    published = await client.post(f"{VERSIONS}/{version}/publish", headers=admin)
    assert published.status_code == 200, published.text
    return version


async def platform_tenant_id(db: Database, settings: Settings) -> uuid.UUID:
    async with db.transaction() as session:
        tenant_id = await session.scalar(
            select(Tenant.id).where(Tenant.business_id == settings.platform_business_id)
        )
    assert tenant_id is not None
    return tenant_id


async def events_of(db: Database, tenant_id: uuid.UUID, type: str) -> list[Event]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(Event)
            .where(Event.tenant_id == tenant_id, Event.type == type)
            .order_by(Event.created_at)
        )
        return list(rows)


@pytest.fixture
async def admin(client: httpx.AsyncClient, db: Database, settings: Settings) -> dict[str, str]:
    return await admin_headers(client, db, settings)


# ---- the public pricebook ------------------------------------------------------------------


async def test_public_pricebook_is_v1_exactly(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/pricebook")  # no credentials
    assert response.status_code == 200, response.text
    body = response.json()
    published_at = datetime.fromisoformat(body.pop("published_at"))
    assert published_at.tzinfo is not None
    assert published_at <= datetime.now(UTC)
    assert body == {"version": 1, "status": "published", "currency": "USD", "plans": V1_PLANS}
    assert [p["name"] for p in body["plans"]] == ["Starter", "Pro", "Enterprise"]
    # Field by field as well, so a diff says exactly which number drifted.
    assert [(p["monthly_price_cents"], p["included_credits"]) for p in body["plans"]] == [
        (7900, 15000),
        (24900, 75000),
        (89900, 250000),
    ]
    assert [(p["seats"], p["integrations"], p["support"]) for p in body["plans"]] == [
        (3, 1, "email"),
        (10, 3, "priority"),
        (None, 10, "dedicated"),
    ]


# ---- admin: draft → published → archived ---------------------------------------------------


async def test_admin_drafts_edits_and_publishes_a_version(
    client: httpx.AsyncClient, db: Database, settings: Settings, admin: dict[str, str]
) -> None:
    created = await client.post(
        VERSIONS, json={"plans": plans_with(pro={"included_credits": 80000})}, headers=admin
    )
    assert created.status_code == 201, created.text
    draft = created.json()
    assert (draft["version"], draft["status"], draft["published_at"]) == (2, "draft", None)
    assert draft["plans"][1]["included_credits"] == 80000
    # A draft changes nothing the public sees.
    assert (await client.get("/api/pricebook")).json()["version"] == 1

    edited_plans = plans_with(pro={"included_credits": 90000}, starter={"name": "Starter+"})
    edited = await client.patch(f"{VERSIONS}/2", json={"plans": edited_plans}, headers=admin)
    assert edited.status_code == 200, edited.text
    assert edited.json()["plans"] == edited_plans
    assert edited.json()["status"] == "draft"

    listed = await client.get(VERSIONS, headers=admin)
    assert listed.status_code == 200
    assert [(v["version"], v["status"]) for v in listed.json()["items"]] == [
        (2, "draft"),
        (1, "published"),
    ]
    assert listed.json()["next_cursor"] is None

    published = await client.post(f"{VERSIONS}/2/publish", headers=admin)
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published"
    assert published.json()["published_at"] is not None

    public = (await client.get("/api/pricebook")).json()
    assert public["version"] == 2
    assert public["status"] == "published"
    assert public["plans"] == edited_plans
    listed = await client.get(VERSIONS, headers=admin)
    assert [(v["version"], v["status"]) for v in listed.json()["items"]] == [
        (2, "published"),
        (1, "archived"),
    ]
    # The archived version still holds V1, untouched.
    assert listed.json()["items"][1]["plans"] == V1_PLANS

    # Published and archived versions never change; only drafts are published.
    for version in (2, 1):
        refused = await client.patch(
            f"{VERSIONS}/{version}", json={"plans": V1_PLANS}, headers=admin
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "pricebook_immutable"
        again = await client.post(f"{VERSIONS}/{version}/publish", headers=admin)
        assert again.status_code == 409, again.text
        assert "not a draft" in again.json()["error"]["message"]
    assert (await client.get("/api/pricebook")).json()["plans"] == edited_plans

    # Past the column's range too (the database itself would refuse such a number).
    for number in (99, 0, 2**31, 10**30):
        missing = await client.post(f"{VERSIONS}/{number}/publish", headers=admin)
        assert missing.status_code == 404, number
        assert (
            await client.patch(f"{VERSIONS}/{number}", json={"plans": V1_PLANS}, headers=admin)
        ).status_code == 404


async def test_publishing_writes_an_event_and_platform_audit_entries(
    client: httpx.AsyncClient, db: Database, settings: Settings, admin: dict[str, str]
) -> None:
    platform_id = await platform_tenant_id(db, settings)
    assert await events_of(db, platform_id, "pricebook.published") == []
    plans = plans_with(enterprise={"monthly_price_cents": 99900})
    created = await client.post(VERSIONS, json={"plans": V1_PLANS}, headers=admin)
    assert created.status_code == 201
    version = created.json()["version"]
    assert (
        await client.patch(f"{VERSIONS}/{version}", json={"plans": plans}, headers=admin)
    ).status_code == 200
    assert (await client.post(f"{VERSIONS}/{version}/publish", headers=admin)).status_code == 200

    (event,) = await events_of(db, platform_id, "pricebook.published")
    assert event.payload["type"] == "pricebook.published"
    assert event.payload["data"]["pricebook"] == {"version": version, "plans": plans}
    assert event.payload["data"]["business_id"] == settings.platform_business_id

    response = await client.get(f"/api/admin/tenants/{platform_id}/audit", headers=admin)
    assert response.status_code == 200, response.text
    entries = [e for e in response.json()["items"] if e["target_type"] == "pricebook_version"]
    assert [(e["action"], e["target_id"]) for e in entries] == [
        ("pricebook.published", str(version)),
        ("pricebook.draft_updated", str(version)),
        ("pricebook.draft_created", str(version)),
    ]
    assert entries[0]["data"] == {"replaced": 1}
    assert all(e["actor_type"] == "user" and "@" in e["actor_label"] for e in entries)
    async with db.transaction() as session:
        checked, problems = await audit.verify_chain(
            session=session, key=audit.audit_key(settings), tenant_id=platform_id
        )
    assert checked >= 3
    assert problems == []


def _invalid(case: str) -> tuple[Any, str]:
    """A plans value that is wrong in one way, and the field its 422 must name."""
    plans = copy.deepcopy(V1_PLANS)
    if case == "missing code":
        del plans[1]["code"]
        return plans, "plans[1].code"
    if case == "missing plan":
        return plans[:2], "plans: must list each of starter, pro, enterprise"
    if case == "duplicate code":
        plans[2]["code"] = "pro"
        return plans, "plans: must list each of starter, pro, enterprise"
    if case == "unknown extra code":
        plans.append({**plans[0], "code": "platinum"})
        return plans, "plans: must list each of starter, pro, enterprise"
    if case == "negative price":
        plans[0]["monthly_price_cents"] = -1
        return plans, "plans[0].monthly_price_cents"
    if case == "seats 0":
        plans[0]["seats"] = 0
        return plans, "plans[0].seats"
    if case == "fractional credits":
        plans[1]["included_credits"] = 1500.5
        return plans, "plans[1].included_credits"
    if case == "credits as text":
        plans[2]["included_credits"] = "250000"
        return plans, "plans[2].included_credits"
    if case == "boolean integrations":
        plans[0]["integrations"] = True
        return plans, "plans[0].integrations"
    if case == "blank name":
        plans[2]["name"] = "  "
        return plans, "plans[2].name"
    if case == "empty list":
        return [], "plans: a non-empty list is required"
    raise AssertionError(case)


INVALID_CASES = [
    "missing code",
    "missing plan",
    "duplicate code",
    "unknown extra code",
    "negative price",
    "seats 0",
    "fractional credits",
    "credits as text",
    "boolean integrations",
    "blank name",
    "empty list",
]


@pytest.mark.parametrize("case", INVALID_CASES)
async def test_invalid_plans_are_422_naming_the_field(
    client: httpx.AsyncClient, admin: dict[str, str], case: str
) -> None:
    plans, field = _invalid(case)
    created = await client.post(VERSIONS, json={"plans": plans}, headers=admin)
    assert created.status_code == 422, created.text
    error = created.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"].startswith(field), error["message"]

    # The same rules apply when a draft is edited, and a refused edit leaves it as it was.
    draft = await client.post(VERSIONS, json={"plans": V1_PLANS}, headers=admin)
    version = draft.json()["version"]
    edited = await client.patch(f"{VERSIONS}/{version}", json={"plans": plans}, headers=admin)
    assert edited.status_code == 422, edited.text
    assert edited.json()["error"]["message"].startswith(field)
    listed = await client.get(VERSIONS, headers=admin)
    assert [(v["version"], v["status"]) for v in listed.json()["items"]] == [
        (version, "draft"),
        (1, "published"),
    ]
    assert listed.json()["items"][0]["plans"] == V1_PLANS


@pytest.mark.parametrize("body", [{}, {"plans": "starter"}, {"plans": [1, 2, 3]}])
async def test_malformed_bodies_are_422_naming_plans(
    client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, Any]
) -> None:
    response = await client.post(VERSIONS, json=body, headers=admin)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"].startswith("plans")


async def test_currency_must_be_an_iso_code(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.post(
        VERSIONS, json={"plans": V1_PLANS, "currency": "usd"}, headers=admin
    )
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("currency")
    euro = await client.post(VERSIONS, json={"plans": V1_PLANS, "currency": "EUR"}, headers=admin)
    assert euro.status_code == 201
    assert euro.json()["currency"] == "EUR"


async def test_admin_routes_need_a_platform_admin(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    owner = await bearer(client, made.owner_email)
    calls = [
        ("GET", VERSIONS, None),
        ("POST", VERSIONS, {"plans": V1_PLANS}),
        ("PATCH", f"{VERSIONS}/1", {"plans": V1_PLANS}),
        ("POST", f"{VERSIONS}/1/publish", None),
    ]
    for method, path, body in calls:
        anonymous = await client.request(method, path, json=body)
        assert anonymous.status_code == 401, (method, path, anonymous.text)
        tenant_owner = await client.request(method, path, json=body, headers=owner)
        assert tenant_owner.status_code == 403, (method, path, tenant_owner.text)
    # Nothing was created or changed by the refused calls.
    public = (await client.get("/api/pricebook")).json()
    assert (public["version"], public["plans"]) == (1, V1_PLANS)


# ---- the CLI -------------------------------------------------------------------------------


async def test_cli_shows_and_publishes_the_pricebook(
    fresh_database: FreshDatabase, tmp_path: Path
) -> None:
    await migrate_in_process(fresh_database)
    shown = await bob(fresh_database, "pricebook", "show", "--json")
    assert shown.returncode == 0, shown.stderr
    book = json.loads(shown.stdout)
    assert datetime.fromisoformat(book.pop("published_at")).tzinfo is not None
    assert book == {"version": 1, "status": "published", "currency": "USD", "plans": V1_PLANS}

    plans = plans_with(starter={"included_credits": 20000, "seats": 4})
    path = tmp_path / "v2.json"
    path.write_text(json.dumps({"plans": plans, "currency": "USD"}), encoding="utf-8")
    published = await bob(fresh_database, "pricebook", "publish", str(path))
    assert published.returncode == 0, published.stderr
    assert published.stdout.strip() == "pricebook v2 published"

    shown = await bob(fresh_database, "pricebook", "show", "--json")
    book = json.loads(shown.stdout)
    assert (book["version"], book["status"], book["plans"]) == (2, "published", plans)
    text = await bob(fresh_database, "pricebook", "show")
    assert text.returncode == 0
    assert text.stdout.startswith("pricebook v2 (USD")
    assert "20,000 credits" in text.stdout
    assert "seats unlimited" in text.stdout
    assert await query(
        fresh_database, "SELECT status FROM pricebook_versions ORDER BY version"
    ) == ["archived", "published"]


async def test_cli_refuses_a_bad_file_in_one_line(
    fresh_database: FreshDatabase, tmp_path: Path
) -> None:
    await migrate_in_process(fresh_database)
    not_json = tmp_path / "broken.json"
    not_json.write_text("{plans: [", encoding="utf-8")
    bad_plans = tmp_path / "bad.json"
    bad_plans.write_text(json.dumps({"plans": plans_with(pro={"seats": 0})}), encoding="utf-8")
    wrong_shape = tmp_path / "shape.json"
    wrong_shape.write_text(json.dumps({"plans": "pro"}), encoding="utf-8")

    line = one_error_line(await bob(fresh_database, "pricebook", "publish", str(not_json)))
    assert "not valid JSON" in line
    line = one_error_line(await bob(fresh_database, "pricebook", "publish", str(bad_plans)))
    assert "plans[1].seats" in line
    line = one_error_line(await bob(fresh_database, "pricebook", "publish", str(wrong_shape)))
    assert "plans" in line
    line = one_error_line(
        await bob(fresh_database, "pricebook", "publish", str(tmp_path / "missing.json"))
    )
    assert "missing.json" in line
    # Nothing was published or left behind as a draft.
    assert await query(fresh_database, "SELECT version FROM pricebook_versions") == [1]


# ---- what the platform's own Bob says about the plans ------------------------------------------


async def _plan_items(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, str]:
    listed = await client.get("/api/knowledge", params={"tag": "plans"}, headers=admin)
    assert listed.status_code == 200, listed.text
    return {item["title"]: item["content"] for item in listed.json()["items"]}


async def test_publishing_rewrites_what_the_platform_bob_says_about_the_plans(
    client: httpx.AsyncClient, db: Database, settings: Settings, admin: dict[str, str]
) -> None:
    # Without plan items (the default) a publish writes none.
    assert await _plan_items(client, admin) == {}
    async with db.transaction() as session:
        platform = await session.get(Tenant, await platform_tenant_id(db, settings))
        assert platform is not None
        await plans_knowledge.refresh(
            session=session,
            settings=settings,
            actor=audit.CLI,
            tenant=platform,
            version=await pricebook.published_version(session=session),
            create=True,
        )
    try:
        before = await _plan_items(client, admin)
        assert "249.00 USD" in before["How much is the Pro plan?"]
        await publish_version(client, admin, plans_with(pro={"monthly_price_cents": 26900}))
        after = await _plan_items(client, admin)
        assert "269.00 USD" in after["How much is the Pro plan?"]
        assert after["How much is the Starter plan?"] == before["How much is the Starter plan?"]
        reply = await client.post(
            "/api/chat",
            json={"message": "How much is the Pro plan?"},
            headers={"Origin": PUBLIC_URL},
        )
        assert reply.status_code == 200, reply.text
        assert "269.00 USD a month" in reply.json()["reply"]

        await publish_version(client, admin, plans_with(pro={"name": "Professional"}))
        renamed = await _plan_items(client, admin)
        assert "How much is the Professional plan?" in renamed
        assert "How much is the Pro plan?" not in renamed
    finally:
        await publish_version(client, admin, V1_PLANS)
        listed = await client.get("/api/knowledge", params={"tag": "plans"}, headers=admin)
        for item in listed.json()["items"]:
            await client.delete(f"/api/knowledge/{item['id']}", headers=admin)
