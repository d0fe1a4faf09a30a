"""The credit ledger: what a reply costs, admin adjustments, the zero-credit behaviours, events,
and the usage API."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bob.billing.models import CreditEntry
from bob.db.session import Database
from bob.db.types import utcnow
from bob.engines import service as engines
from bob.main import create_app
from bob.settings import Settings
from tests.conftest import PUBLIC_URL
from tests.engines_server import HOST, FakeOpenAI, fake_openai, fake_openai_server
from tests.factories import bearer, make_tenant
from tests.integration.billing.test_pricebook import admin_headers, events_of
from tests.integration.billing.test_subscriptions import get_billing, ledger, member_headers
from tests.integration.chat.conftest import parse_sse

__all__ = ["fake_openai", "fake_openai_server"]  # the fake OpenAI server's fixtures

SAME_ORIGIN = {"Origin": PUBLIC_URL}
SATURDAY = "Are you open on Saturday?"
SATURDAY_ANSWER = "Saturday from 10:00 to 14:00"
KNOWLEDGE = [
    (
        "Opening hours",
        "Our shop is open Monday to Friday from 9:00 to 18:00 and Saturday from 10:00 to "
        "14:00. We are closed on Sundays and public holidays.",
    ),
    (
        "Returns policy",
        "You can return any unused item within 30 days of delivery for a full refund. "
        "Start a return from your account page; return shipping is free.",
    ),
]


@dataclass
class Shop:
    tenant_id: uuid.UUID
    business_id: str
    owner: dict[str, str]
    admin: dict[str, str]


async def open_shop(
    client: httpx.AsyncClient, db: Database, settings: Settings, plan: str = "pro"
) -> Shop:
    made = await make_tenant(db, settings, plan=plan, name="Trail Outfitters")
    owner = await bearer(client, made.owner_email)
    for title, content in KNOWLEDGE:
        response = await client.post(
            "/api/knowledge", json={"title": title, "content": content}, headers=owner
        )
        assert response.status_code == 201, response.text
    admin = await admin_headers(client, db, settings)
    return Shop(made.tenant.id, made.tenant.business_id, owner, admin)


@pytest.fixture
async def shop(client: httpx.AsyncClient, db: Database, settings: Settings) -> Shop:
    return await open_shop(client, db, settings)


async def ask(
    client: httpx.AsyncClient, shop: Shop, message: str = SATURDAY, **body: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/chat",
        json={"message": message, "business_id": shop.business_id, **body},
        headers=SAME_ORIGIN,
    )
    assert response.status_code == 200, response.text
    reply: dict[str, Any] = response.json()
    return reply


async def adjust(client: httpx.AsyncClient, shop: Shop, delta: int, reason: str = "test") -> int:
    response = await client.post(
        f"/api/admin/tenants/{shop.tenant_id}/credits",
        json={"delta": delta, "reason": reason},
        headers=shop.admin,
    )
    assert response.status_code == 200, response.text
    return int(response.json()["balance"])


async def set_balance(client: httpx.AsyncClient, shop: Shop, target: int) -> None:
    """Bring the period's balance to `target` with one admin adjustment."""
    remaining = (await get_billing(client, shop.owner))["credits"]["remaining"]
    assert await adjust(client, shop, target - remaining) == target


async def set_at_zero(client: httpx.AsyncClient, shop: Shop, behaviour: str) -> None:
    response = await client.put(
        "/api/customers/billing/settings", json={"at_zero": behaviour}, headers=shop.owner
    )
    assert response.status_code == 200, response.text
    assert response.json()["at_zero"] == behaviour


async def credit_entries(db: Database, tenant_id: uuid.UUID, kind: str) -> list[CreditEntry]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(CreditEntry)
            .where(CreditEntry.tenant_id == tenant_id, CreditEntry.kind == kind)
            .order_by(CreditEntry.id)
        )
        return list(rows)


async def use_openai(db: Database, settings: Settings, shop: Shop, fake: FakeOpenAI) -> None:
    # The stub answers on loopback, which a tenant's URL reaches only on the operator's say-so.
    settings.tenant_engine_allowed_hosts = [HOST]
    async with db.transaction() as session:
        await engines.set_overrides(
            session=session,
            settings=settings,
            tenant_id=shop.tenant_id,
            engine="openai",
            model="fake-model-1",
            base_url=fake.base_url,
            api_key="sk-tenant-test",
        )


# ---- what a reply costs --------------------------------------------------------------------


async def test_each_extractive_reply_costs_one_credit(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    reply = await ask(client, shop)
    assert SATURDAY_ANSWER in reply["reply"]
    assert reply["credits_used"] == 1
    body = await get_billing(client, shop.owner)
    assert body["credits"] == {
        "included": 75000,
        "used": 1,
        "adjustments": 0,
        "remaining": 74999,
        "overage": 0,
    }
    usage = (await ledger(client, shop.owner))[0]
    assert (usage["kind"], usage["delta"], usage["reason"]) == ("usage", -1, "AI reply")
    assert usage["message_id"] == reply["message_id"]
    assert usage["period_start"] == body["period_start"]

    follow_up = await ask(client, shop, "How do I return an item?", session_id=reply["session_id"])
    assert follow_up["credits_used"] == 1
    assert (await get_billing(client, shop.owner))["credits"]["used"] == 2


async def test_fixed_sentences_cost_nothing(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    person = await ask(client, shop, "Can I talk to a human please?")
    assert person["handoff"] is True
    assert person["credits_used"] == 0
    unknown = await ask(client, shop, "What is the capital of Australia?")
    assert unknown["handoff"] is True  # no grounded answer: Bob hands over, free of charge
    assert unknown["credits_used"] == 0
    # While a person has the conversation the bot is quiet and nothing is charged.
    quiet = await ask(client, shop, SATURDAY, session_id=person["session_id"])
    assert quiet["reply"] is None
    assert quiet["credits_used"] == 0
    assert (await get_billing(client, shop.owner))["credits"]["used"] == 0
    assert await credit_entries(db, shop.tenant_id, "usage") == []


async def test_openai_reply_costs_tokens_times_the_models_multiplier(
    db: Database, settings: Settings, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    priced = settings.model_copy(update={"model_credit_multipliers": {"fake-model-1": 3}})
    app = create_app(priced, database=db)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.91", 1))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        shop = await open_shop(client, db, priced)
        await use_openai(db, priced, shop, fake_openai)
        monkeypatch.setattr(fake_openai, "prompt_tokens", 1400)
        monkeypatch.setattr(fake_openai, "completion_tokens", 100)
        fake_openai.chunks = ["We are open on ", SATURDAY_ANSWER, "."]

        reply = await ask(client, shop)
        assert SATURDAY_ANSWER in reply["reply"]
        assert reply["credits_used"] == math.ceil(1500 / 1000) * 3 == 6
        assert (await get_billing(client, shop.owner))["credits"]["used"] == 6

        # A reply the balance cannot pay in full is not stored as an answer: the zero-credit
        # behaviour (here the default, a handoff) replaces it and nothing is charged.
        await set_balance(client, shop, 4)
        refused = await ask(client, shop)
        assert len(fake_openai.requests) == 2  # the model ran; its answer was not delivered
        assert refused["credits_used"] == 0
        assert SATURDAY_ANSWER not in refused["reply"]
        assert refused["sources"] == []
        assert (refused["handoff"], refused["conversation_status"]) == (True, "pending_human")
        assert (await get_billing(client, shop.owner))["credits"]["remaining"] == 4

        # With overage, the balance pays what it can and the rest is billed as overage.
        await set_at_zero(client, shop, "overage")
        split = await ask(client, shop)
        assert SATURDAY_ANSWER in split["reply"]
        assert split["credits_used"] == 6
        credits = (await get_billing(client, shop.owner))["credits"]
        assert (credits["remaining"], credits["used"], credits["overage"]) == (0, 6 + 4, 2)


async def test_the_engine_is_not_called_when_the_balance_is_zero(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    shop: Shop,
    fake_openai: FakeOpenAI,
) -> None:
    await use_openai(db, settings, shop, fake_openai)
    fake_openai.chunks = ["We are open on ", SATURDAY_ANSWER, "."]
    await set_balance(client, shop, 0)
    handed_over = await ask(client, shop)
    assert (handed_over["handoff"], handed_over["credits_used"]) == (True, 0)
    await set_at_zero(client, shop, "message_only")
    told = await ask(client, shop)
    assert (told["handoff"], told["credits_used"]) == (False, 0)
    assert fake_openai.requests == []

    # The same request with a credit left does reach the model.
    await adjust(client, shop, 1)
    answered = await ask(client, shop)
    assert SATURDAY_ANSWER in answered["reply"]
    assert len(fake_openai.requests) == 1
    assert answered["credits_used"] == 1  # 49 tokens: under 1,000, the minimum of 1


# ---- admin adjustments ---------------------------------------------------------------------


async def test_admin_adjusts_the_balance_both_ways_never_below_zero(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    assert await adjust(client, shop, 500, "goodwill after an outage") == 75500
    body = await get_billing(client, shop.owner)
    assert (body["credits"]["adjustments"], body["credits"]["remaining"]) == (500, 75500)
    entry = (await ledger(client, shop.owner))[0]
    assert (entry["kind"], entry["delta"], entry["reason"]) == (
        "adjustment",
        500,
        "goodwill after an outage",
    )
    assert await adjust(client, shop, -75500) == 0

    path = f"/api/admin/tenants/{shop.tenant_id}/credits"
    below = await client.post(path, json={"delta": -1, "reason": "x"}, headers=shop.admin)
    assert below.status_code == 409, below.text
    assert below.json()["error"]["code"] == "negative_balance"
    for body_, field in (
        ({"delta": 5}, "reason"),
        ({"delta": 5, "reason": ""}, "reason"),
        ({"delta": 5, "reason": "   "}, "reason"),
        ({"delta": 0, "reason": "nothing"}, "delta"),
        ({"delta": 1.5, "reason": "half"}, "delta"),
        ({"reason": "no delta"}, "delta"),
    ):
        refused = await client.post(path, json=body_, headers=shop.admin)
        assert refused.status_code == 422, (body_, refused.text)
        assert refused.json()["error"]["message"].startswith(field), refused.text
    owner = await client.post(path, json={"delta": 100, "reason": "me"}, headers=shop.owner)
    assert owner.status_code == 403
    anonymous = await client.post(path, json={"delta": 100, "reason": "me"})
    assert anonymous.status_code == 401
    unknown = await client.post(
        f"/api/admin/tenants/{uuid.uuid4()}/credits",
        json={"delta": 1, "reason": "x"},
        headers=shop.admin,
    )
    assert unknown.status_code == 404
    assert (await get_billing(client, shop.owner))["credits"]["remaining"] == 0
    audit = await client.get(
        "/api/audit", params={"action": "billing.credits_adjusted"}, headers=shop.owner
    )
    assert [e["data"]["delta"] for e in audit.json()["items"]] == [-75500, 500]


# ---- at zero credits -------------------------------------------------------------------------


async def test_at_zero_the_default_is_a_polite_handoff(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    await set_balance(client, shop, 0)
    assert (await get_billing(client, shop.owner))["at_zero"] == "handoff"
    reply = await ask(client, shop)
    assert reply["handoff"] is True
    assert reply["conversation_status"] == "pending_human"
    assert reply["credits_used"] == 0
    assert reply["sources"] == []
    assert "team" in reply["reply"]
    assert SATURDAY_ANSWER not in reply["reply"]
    # Streamed, the same 200 with a `done` event.
    streamed = await client.post(
        "/api/chat",
        json={"message": SATURDAY, "business_id": shop.business_id},
        headers={**SAME_ORIGIN, "Accept": "text/event-stream"},
    )
    assert streamed.status_code == 200
    name, done = parse_sse(streamed.text)[-1]
    assert (name, done["handoff"], done["credits_used"]) == ("done", True, 0)
    credits = (await get_billing(client, shop.owner))["credits"]
    assert (credits["used"], credits["remaining"], credits["overage"]) == (0, 0, 0)
    handoffs = await events_of(db, shop.tenant_id, "conversation.handoff_requested")
    assert [e.payload["data"]["reason"] for e in handoffs] == ["credits", "credits"]


async def test_at_zero_message_only_answers_politely_without_a_handoff(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    await set_balance(client, shop, 0)
    await set_at_zero(client, shop, "message_only")
    reply = await ask(client, shop)
    assert reply["handoff"] is False
    assert reply["conversation_status"] == "bot"
    assert reply["credits_used"] == 0
    assert reply["reply"].startswith("I'm Bob. I can't answer new questions right now.")
    # In the visitor's language.
    spanish = await ask(client, shop, "¿Abren ustedes el sábado por la mañana?")
    assert "no puedo responder" in spanish["reply"]
    assert (await get_billing(client, shop.owner))["credits"]["used"] == 0
    assert await credit_entries(db, shop.tenant_id, "usage") == []
    assert await events_of(db, shop.tenant_id, "conversation.handoff_requested") == []


async def test_at_zero_overage_keeps_answering_and_records_overage(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    await set_balance(client, shop, 0)
    await set_at_zero(client, shop, "overage")
    reply = await ask(client, shop)
    assert SATURDAY_ANSWER in reply["reply"]
    assert reply["sources"][0]["title"] == "Opening hours"
    assert (reply["handoff"], reply["credits_used"]) == (False, 1)
    credits = (await get_billing(client, shop.owner))["credits"]
    assert (credits["used"], credits["remaining"], credits["overage"]) == (0, 0, 1)
    (entry,) = await credit_entries(db, shop.tenant_id, "overage")
    assert (entry.delta, str(entry.message_id)) == (-1, reply["message_id"])
    await ask(client, shop, "How do I return an item?")
    assert (await get_billing(client, shop.owner))["credits"]["overage"] == 2


async def test_only_billing_managers_choose_the_behaviour(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    path = "/api/customers/billing/settings"
    bad = await client.put(path, json={"at_zero": "shrug"}, headers=shop.owner)
    assert bad.status_code == 422
    assert bad.json()["error"]["message"].startswith("at_zero")
    for role in ("admin", "viewer"):
        member = await member_headers(client, shop.owner, role)
        refused = await client.put(path, json={"at_zero": "overage"}, headers=member)
        assert refused.status_code == 403, role
    assert (await get_billing(client, shop.owner))["at_zero"] == "handoff"


# ---- events --------------------------------------------------------------------------------


async def test_threshold_and_exhausted_events_fire_once_per_period(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    shop = await open_shop(client, db, settings, plan="starter")
    # 15,000 included: 80 % used means 3,000 left.
    await set_balance(client, shop, 3002)
    await ask(client, shop)
    assert await events_of(db, shop.tenant_id, "credits.threshold_reached") == []
    await ask(client, shop)  # 3,000 left
    await ask(client, shop)
    (threshold,) = await events_of(db, shop.tenant_id, "credits.threshold_reached")
    assert threshold.payload["data"]["credits"] == {
        "granted": 15000,
        "remaining": 3000,
        "threshold": 0.8,
    }
    assert await events_of(db, shop.tenant_id, "credits.exhausted") == []

    await set_balance(client, shop, 2)
    await ask(client, shop)
    assert await events_of(db, shop.tenant_id, "credits.exhausted") == []
    last = await ask(client, shop)
    assert last["credits_used"] == 1
    (exhausted,) = await events_of(db, shop.tenant_id, "credits.exhausted")
    assert exhausted.payload["data"]["credits"]["remaining"] == 0
    assert exhausted.payload["data"]["credits"]["at_zero"] == "handoff"
    refused = await ask(client, shop)
    assert refused["credits_used"] == 0
    # Topping up and running out again in the same period does not repeat either event.
    await adjust(client, shop, 1)
    await ask(client, shop)
    assert len(await events_of(db, shop.tenant_id, "credits.exhausted")) == 1
    assert len(await events_of(db, shop.tenant_id, "credits.threshold_reached")) == 1


# ---- the usage API and who sees what -------------------------------------------------------


async def test_usage_lists_daily_totals_and_pages_through_the_ledger(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    replies = [await ask(client, shop) for _ in range(3)]
    await adjust(client, shop, 10)
    response = await client.get("/api/customers/usage", params={"limit": 2}, headers=shop.owner)
    assert response.status_code == 200, response.text
    body = response.json()
    billing_body = await get_billing(client, shop.owner)
    assert (body["period_start"], body["period_end"]) == (
        billing_body["period_start"],
        billing_body["period_end"],
    )
    assert body["daily"] == [{"day": utcnow().date().isoformat(), "credits": 3}]

    seen: list[dict[str, Any]] = body["items"]
    assert len(seen) == 2
    cursor = body["next_cursor"]
    while cursor is not None:
        page = await client.get(
            "/api/customers/usage", params={"limit": 2, "cursor": cursor}, headers=shop.owner
        )
        assert page.status_code == 200
        seen += page.json()["items"]
        cursor = page.json()["next_cursor"]
    assert [e["kind"] for e in seen] == ["adjustment", "usage", "usage", "usage", "grant"]
    ids = [e["id"] for e in seen]
    assert ids == sorted(ids, reverse=True)
    assert len(set(ids)) == len(ids)
    assert [e["message_id"] for e in seen if e["kind"] == "usage"] == [
        r["message_id"] for r in reversed(replies)
    ]
    forged = await client.get(
        "/api/customers/usage", params={"cursor": "not-a-cursor"}, headers=shop.owner
    )
    assert forged.status_code == 422


async def test_billing_is_per_tenant_and_needs_billing_read(
    client: httpx.AsyncClient, db: Database, settings: Settings, shop: Shop
) -> None:
    other = await open_shop(client, db, settings, plan="starter")
    await ask(client, shop)
    await adjust(client, shop, 250)
    theirs = await get_billing(client, other.owner)
    assert theirs["plan"] == "starter"
    assert theirs["credits"] == {
        "included": 15000,
        "used": 0,
        "adjustments": 0,
        "remaining": 15000,
        "overage": 0,
    }
    assert [e["kind"] for e in await ledger(client, other.owner)] == ["grant"]
    assert (await get_billing(client, shop.owner))["credits"]["remaining"] == 75000 - 1 + 250
    # The admin view of another tenant's billing is for platform admins only.
    peek = await client.get(f"/api/admin/tenants/{shop.tenant_id}/billing", headers=other.owner)
    assert peek.status_code == 403

    viewer = await member_headers(client, shop.owner, "viewer")
    assert (await get_billing(client, viewer))["credits"]["used"] == 1
    assert (await client.get("/api/customers/usage", headers=viewer)).status_code == 200
    refused = await client.post(
        "/api/customers/billing/plan", json={"plan": "enterprise"}, headers=viewer
    )
    assert refused.status_code == 403
    agent = await member_headers(client, shop.owner, "agent")
    assert (await client.get("/api/customers/billing", headers=agent)).status_code == 403
    assert (await client.get("/api/customers/usage", headers=agent)).status_code == 403
    assert (await client.get("/api/customers/billing")).status_code == 401
    assert (await client.get("/api/customers/billing", headers=shop.admin)).status_code == 403
