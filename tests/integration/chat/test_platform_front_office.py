"""The platform's own front office: platform admins act for the platform tenant through door 3
and the same API as any business, and can try a business's Bob without charging it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bob.audit import AuditEntry
from bob.chat.models import Conversation, Message
from bob.db.session import Database
from bob.knowledge.models import KnowledgeItem
from bob.settings import Settings
from bob.tenants.models import Tenant
from tests.conftest import PUBLIC_URL
from tests.factories import PASSWORD, bearer, login, make_admin
from tests.integration.chat.conftest import Shop

SAME_ORIGIN = {"Origin": PUBLIC_URL}
# Facts no other test asks about: the platform tenant is shared by the tests of a run.
FACT = (
    "Office hours of the Bob team",
    "The Bob team answers questions about the platform from Tuesday to Thursday, between "
    "08:30 and 11:45 in the morning.",
)


@pytest.fixture
async def admin(client: httpx.AsyncClient, db: Database, settings: Settings) -> dict[str, str]:
    user = await make_admin(db, settings)
    return await bearer(client, user.email, admin=True)


@pytest.fixture
async def platform_fact(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> AsyncIterator[dict[str, Any]]:
    created = await client.post(
        "/api/knowledge", json={"title": FACT[0], "content": FACT[1]}, headers=admin
    )
    assert created.status_code == 201, created.text
    yield created.json()
    await client.delete(f"/api/knowledge/{created.json()['id']}", headers=admin)


async def _platform(db: Database, settings: Settings) -> Tenant:
    async with db.transaction() as session:
        tenant = await session.scalar(
            select(Tenant).where(Tenant.business_id == settings.platform_business_id)
        )
    assert tenant is not None
    return tenant


async def test_the_published_admin_example_chats_through_door_3_from_the_platform_knowledge(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    admin: dict[str, str],
    platform_fact: dict[str, Any],
) -> None:
    platform = await _platform(db, settings)
    async with db.transaction() as s:
        item = await s.get(KnowledgeItem, uuid.UUID(platform_fact["id"]))
    assert item is not None
    assert item.tenant_id == platform.id

    session = await client.post("/api/chat/session", json={}, headers=admin)
    assert session.status_code == 201, session.text
    session_id = session.json()["session_id"]
    reply = await client.post(
        "/api/chat/message",
        json={"session_id": session_id, "message": "When does the Bob team answer questions?"},
        headers=admin,
    )
    assert reply.status_code == 200, reply.text
    assert "Tuesday to Thursday" in reply.json()["reply"]
    assert reply.json()["sources"][0]["id"] == platform_fact["id"]
    async with db.transaction() as s:
        conversation = await s.scalar(
            select(Conversation).where(Conversation.session_id == session_id)
        )
    assert conversation is not None
    assert conversation.tenant_id == platform.id

    history = await client.get(f"/api/chat/history/{session_id}", headers=admin)
    assert history.status_code == 200
    assert [m["role"] for m in history.json()["messages"]] == ["visitor", "assistant"]


async def test_door_3_with_an_admins_cookie_session_needs_the_csrf_header(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    user = await make_admin(db, settings)
    logged_in = await login(client, user.email, admin=True, cookie=True)
    refused = await client.post("/api/chat/session", json={})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    created = await client.post(
        "/api/chat/session", json={}, headers={"X-CSRF-Token": logged_in["csrf_token"]}
    )
    assert created.status_code == 201, created.text


async def test_door_1_with_the_platform_business_id_answers_from_what_an_admin_added(
    client: httpx.AsyncClient, settings: Settings, platform_fact: dict[str, Any]
) -> None:
    # The published snippet, as the platform's own site sends it.
    body = {
        "session_id": "platform_visitor_1",
        "message": "When is the Bob team available for questions?",
        "business_id": settings.platform_business_id,
    }
    reply = await client.post("/api/chat", json=body, headers=SAME_ORIGIN)
    assert reply.status_code == 200, reply.text
    assert "08:30 and 11:45" in reply.json()["reply"]
    assert reply.json()["handoff"] is False


async def test_an_admin_acts_for_the_platform_tenant_only(
    client: httpx.AsyncClient, shop: Shop, admin: dict[str, str]
) -> None:
    # The same API as a business, on the platform's own data: never another tenant's.
    mine = await client.get("/api/knowledge", headers=admin)
    assert mine.status_code == 200
    assert all(item["title"] != "Opening hours" for item in mine.json()["items"])
    theirs = await client.get(f"/api/knowledge/{shop.items['Opening hours']}", headers=admin)
    assert theirs.status_code == 404
    # What belongs to a business's account and money stays theirs.
    assert (await client.get("/api/customers/team", headers=admin)).status_code == 403
    assert (await client.get("/api/customers/billing", headers=admin)).status_code == 403


async def test_an_anonymous_call_to_door_3_is_told_which_door_to_use(
    client: httpx.AsyncClient,
) -> None:
    for path, body in [
        ("/api/chat/session", {}),
        ("/api/chat/message", {"session_id": "s1", "message": "hi"}),
    ]:
        refused = await client.post(path, json=body)
        assert refused.status_code == 401
        message = refused.json()["error"]["message"]
        assert "POST /api/chat " in message
        assert "POST /api/widget/chat" in message


# ---- trying a business's Bob -----------------------------------------------------------------


async def _credits(client: httpx.AsyncClient, shop: Shop) -> int:
    usage = await client.get("/api/customers/billing", headers=shop.owner)
    assert usage.status_code == 200, usage.text
    used: int = usage.json()["credits"]["used"]
    return used


async def test_an_admin_tries_a_business_bob_charged_to_no_one_and_audited_twice(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    shop: Shop,
    admin: dict[str, str],
) -> None:
    before = await _credits(client, shop)
    session = await client.post(
        "/api/chat/session", json={"business_id": shop.business_id}, headers=admin
    )
    assert session.status_code == 201, session.text
    session_id = session.json()["session_id"]
    reply = await client.post(
        "/api/chat/message",
        json={
            "session_id": session_id,
            "business_id": shop.business_id,
            "message": "What are your opening hours on Saturday?",
        },
        headers=admin,
    )
    assert reply.status_code == 200, reply.text
    assert "Saturday from 10:00 to 14:00" in reply.json()["reply"]
    assert reply.json()["credits_used"] == 0
    assert await _credits(client, shop) == before

    # The admin reads it back with the same business_id; the business sees it in its own
    # console, marked as a preview by whom.
    as_admin = await client.get(
        f"/api/chat/history/{session_id}",
        params={"business_id": shop.business_id},
        headers=admin,
    )
    assert as_admin.status_code == 200
    assert [m["role"] for m in as_admin.json()["messages"]] == ["system", "visitor", "assistant"]
    transcript = await client.get(f"/api/chat/history/{session_id}", headers=shop.owner)
    assert transcript.status_code == 200
    first = transcript.json()["messages"][0]
    assert first["role"] == "system"
    assert "preview" in first["content"].lower()
    async with db.transaction() as s:
        conversation = await s.scalar(
            select(Conversation).where(
                Conversation.session_id == session_id,
                Conversation.tenant_id == shop.made.tenant.id,
            )
        )
        assert conversation is not None
        stored = (
            await s.scalars(select(Message).where(Message.conversation_id == conversation.id))
        ).all()
        platform = await _platform(db, settings)
        entries = (
            await s.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "chat.preview_started",
                    AuditEntry.target_id == str(conversation.id),
                )
            )
        ).all()
    assert sum(m.credits_used for m in stored) == 0
    assert {e.tenant_id for e in entries} == {shop.made.tenant.id, platform.id}


async def test_only_platform_admins_choose_the_business_on_door_3(
    client: httpx.AsyncClient, shop: Shop, admin: dict[str, str]
) -> None:
    owner_try = await client.post(
        "/api/chat/session", json={"business_id": "bob-platform"}, headers=shop.owner
    )
    assert owner_try.status_code == 403
    assert "business_id" in owner_try.json()["error"]["message"]
    unknown = await client.post(
        "/api/chat/session", json={"business_id": "no-such-business"}, headers=admin
    )
    assert unknown.status_code == 404
    # Without business_id the admin acts for the platform: the shop's session id names no
    # conversation there, and nothing reaches the shop's.
    opened = await client.post(
        "/api/chat/session", json={"business_id": shop.business_id}, headers=admin
    )
    session_id = opened.json()["session_id"]
    elsewhere = await client.post(
        "/api/chat/message",
        json={"session_id": session_id, "message": "What are your opening hours on Saturday?"},
        headers=admin,
    )
    assert elsewhere.status_code == 200
    assert "10:00 to 14:00" not in elsewhere.json()["reply"]
    shop_side = await client.get(f"/api/chat/history/{session_id}", headers=shop.owner)
    assert [m["role"] for m in shop_side.json()["messages"]] == ["system"]
    # A business's own conversation is not a preview to write into for free.
    own = await client.post("/api/chat/session", json={}, headers=shop.owner)
    not_a_preview = await client.post(
        "/api/chat/message",
        json={
            "session_id": own.json()["session_id"],
            "business_id": shop.business_id,
            "message": "hi",
        },
        headers=admin,
    )
    assert not_a_preview.status_code == 404


async def test_the_admin_password_is_not_a_business_login(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    user = await make_admin(db, settings)
    # Platform admins log in at /api/auth/login; the business login door stays closed to them.
    refused = await client.post(
        "/api/customers/auth/login", json={"email": user.email, "password": PASSWORD}
    )
    assert refused.status_code == 401
