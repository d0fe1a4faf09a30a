from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select

from bob.auth.permissions import Role
from bob.chat.models import Conversation
from bob.db.session import Database
from bob.events import catalogue
from bob.events.models import Event
from bob.settings import Settings
from tests.factories import bearer, make_member, make_tenant
from tests.integration.chat.conftest import SHOP_ORIGIN, Shop

WIDGET = "/api/widget/chat"


async def _visitor_hands_over(client: httpx.AsyncClient, shop: Shop) -> dict[str, str]:
    headers = {"X-Widget-Key": shop.widget_key, "Origin": SHOP_ORIGIN}
    first = await client.post(
        WIDGET, json={"message": "Can I speak to someone from the team?"}, headers=headers
    )
    assert first.json()["conversation_status"] == "pending_human"
    return {
        **headers,
        "session_id": first.json()["session_id"],
        "X-Visitor-Token": first.json()["visitor_token"],
    }


async def test_operator_takes_over_and_the_visitor_sees_the_reply(
    client: httpx.AsyncClient, db: Database, settings: Settings, shop: Shop
) -> None:
    visitor = await _visitor_hands_over(client, shop)
    session_id = visitor.pop("session_id")
    queue = await client.get(
        "/api/conversations", params={"status": "pending_human"}, headers=shop.owner
    )
    assert queue.status_code == 200
    conversation = next(c for c in queue.json()["items"] if c["session_id"] == session_id)
    assert conversation["channel"] == "widget"
    assert conversation["origin"] == SHOP_ORIGIN
    assert conversation["last_message"]["role"] == "assistant"

    agent = await make_member(db, settings, shop.made.tenant, Role.AGENT)
    agent_headers = await bearer(client, agent.email)
    replied = await client.post(
        f"/api/conversations/{conversation['id']}/reply",
        json={"message": "Hi, I'm Sam from the team. How can I help?"},
        headers=agent_headers,
    )
    assert replied.status_code == 200, replied.text
    detail = replied.json()
    assert detail["status"] == "human"
    assert detail["assigned_user_id"] == str(agent.id)
    assert detail["messages"][-1]["role"] == "operator"

    # The visitor's widget history shows the operator's reply, and the bot stays quiet.
    history = await client.get(
        "/api/widget/history", params={"session_id": session_id}, headers=visitor
    )
    last = history.json()["messages"][-1]
    assert last["role"] == "operator"
    assert last["content"].startswith("Hi, I'm Sam")
    quiet = await client.post(
        WIDGET, json={"message": "opening hours?", "session_id": session_id}, headers=visitor
    )
    assert quiet.json()["reply"] is None
    assert quiet.json()["conversation_status"] == "human"

    back = await client.post(
        f"/api/conversations/{conversation['id']}/return-to-bot", headers=agent_headers
    )
    assert back.json()["status"] == "bot"
    answered = await client.post(
        WIDGET, json={"message": "opening hours?", "session_id": session_id}, headers=visitor
    )
    assert "Monday to Friday" in answered.json()["reply"]

    closed = await client.post(
        f"/api/conversations/{conversation['id']}/close", headers=agent_headers
    )
    assert closed.json()["status"] == "closed"
    assert closed.json()["closed_at"]
    async with db.transaction() as session:
        types = set(
            await session.scalars(select(Event.type).where(Event.tenant_id == shop.made.tenant.id))
        )
    assert {
        "conversation.assigned",
        "conversation.returned_to_bot",
        "conversation.closed",
        "message.created",
    } <= types
    audit = await client.get("/api/audit", headers=shop.owner)
    actions = [e["action"] for e in audit.json()["items"]]
    assert "conversation.taken_over" in actions
    assert "conversation.closed" in actions


async def test_assign_and_handoff(
    client: httpx.AsyncClient, db: Database, settings: Settings, shop: Shop
) -> None:
    session = (await client.post("/api/chat/session", json={}, headers=shop.owner)).json()
    await client.post(
        "/api/chat/message",
        json={"session_id": session["session_id"], "message": "opening hours?"},
        headers=shop.owner,
    )
    listed = await client.get(
        "/api/conversations", params={"channel": "console"}, headers=shop.owner
    )
    conversation_id = listed.json()["items"][0]["id"]
    handed = await client.post(f"/api/conversations/{conversation_id}/handoff", headers=shop.owner)
    assert handed.json()["status"] == "pending_human"
    agent = await make_member(db, settings, shop.made.tenant, Role.AGENT)
    assigned = await client.post(
        f"/api/conversations/{conversation_id}/assign",
        json={"user_id": str(agent.id)},
        headers=shop.owner,
    )
    assert assigned.status_code == 200
    assert assigned.json()["assigned_user_id"] == str(agent.id)
    assert assigned.json()["status"] == "human"
    viewer = await make_member(db, settings, shop.made.tenant, Role.VIEWER)
    not_an_operator = await client.post(
        f"/api/conversations/{conversation_id}/assign",
        json={"user_id": str(viewer.id)},
        headers=shop.owner,
    )
    assert not_an_operator.status_code == 422
    other = await make_tenant(db, settings)
    stranger = await client.post(
        f"/api/conversations/{conversation_id}/assign",
        json={"user_id": str(other.owner.id)},
        headers=shop.owner,
    )
    assert stranger.status_code == 404


async def test_filters_and_search(client: httpx.AsyncClient, shop: Shop) -> None:
    for message in ["opening hours?", "tell me about the returns policy"]:
        await client.post(
            WIDGET,
            json={"message": message},
            headers={"X-Widget-Key": shop.widget_key, "Origin": SHOP_ORIGIN},
        )
    found = await client.get("/api/conversations", params={"q": "returns"}, headers=shop.owner)
    assert len(found.json()["items"]) == 1
    bots = await client.get("/api/conversations", params={"status": "bot"}, headers=shop.owner)
    assert len(bots.json()["items"]) == 2
    bad = await client.get("/api/conversations", params={"status": "sleeping"}, headers=shop.owner)
    assert bad.status_code == 422
    paged = await client.get("/api/conversations", params={"limit": 1}, headers=shop.owner)
    assert len(paged.json()["items"]) == 1
    rest = await client.get(
        "/api/conversations",
        params={"limit": 1, "cursor": paged.json()["next_cursor"]},
        headers=shop.owner,
    )
    assert rest.json()["items"][0]["id"] != paged.json()["items"][0]["id"]


async def test_conversations_are_tenant_scoped_and_need_chat_manage(
    client: httpx.AsyncClient, db: Database, settings: Settings, shop: Shop
) -> None:
    await client.post(
        WIDGET,
        json={"message": "opening hours?"},
        headers={"X-Widget-Key": shop.widget_key, "Origin": SHOP_ORIGIN},
    )
    conversation_id = (await client.get("/api/conversations", headers=shop.owner)).json()["items"][
        0
    ]["id"]
    other = await make_tenant(db, settings)
    other_owner = await bearer(client, other.owner_email)
    assert (await client.get("/api/conversations", headers=other_owner)).json()["items"] == []
    for method, path, body in [
        ("GET", f"/api/conversations/{conversation_id}", None),
        ("POST", f"/api/conversations/{conversation_id}/reply", {"message": "hijack"}),
        ("POST", f"/api/conversations/{conversation_id}/close", None),
        ("POST", f"/api/conversations/{conversation_id}/handoff", None),
        ("POST", f"/api/conversations/{uuid.uuid4()}/close", None),
    ]:
        response = await client.request(method, path, json=body, headers=other_owner)
        assert response.status_code == 404, (method, path)
    viewer = await make_member(db, settings, shop.made.tenant, Role.VIEWER)
    refused = await client.get("/api/conversations", headers=await bearer(client, viewer.email))
    assert refused.status_code == 403
    detail = await client.get(f"/api/conversations/{conversation_id}", headers=shop.owner)
    assert detail.json()["messages"][0]["content"] == "opening hours?"


async def test_search_takes_underscore_and_percent_literally(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    headers = {"X-Widget-Key": shop.widget_key, "Origin": SHOP_ORIGIN}
    first = await client.post(WIDGET, json={"message": "100% cotton?"}, headers=headers)
    session_id = first.json()["session_id"]
    await client.post(WIDGET, json={"message": "opening hours"}, headers=headers)
    by_id = await client.get("/api/conversations", params={"q": session_id}, headers=shop.owner)
    assert [c["session_id"] for c in by_id.json()["items"]] == [session_id]
    by_percent = await client.get("/api/conversations", params={"q": "0% c"}, headers=shop.owner)
    assert [c["session_id"] for c in by_percent.json()["items"]] == [session_id]
    wildcard = await client.get("/api/conversations", params={"q": "%"}, headers=shop.owner)
    assert len(wildcard.json()["items"]) == 1  # only the message that has a literal %


async def test_visitor_details_are_bounded(client: httpx.AsyncClient, shop: Shop) -> None:
    headers = {"X-Widget-Key": shop.widget_key, "Origin": SHOP_ORIGIN}
    ok = await client.post(
        WIDGET,
        json={"message": "hours?", "visitor": {"name": "Ana", "plan": "gold", "vip": True}},
        headers=headers,
    )
    assert ok.status_code == 200
    detail = await client.get(
        "/api/conversations", params={"q": ok.json()["session_id"]}, headers=shop.owner
    )
    conversation_id = detail.json()["items"][0]["id"]
    full = await client.get(f"/api/conversations/{conversation_id}", headers=shop.owner)
    assert full.json()["visitor"] == {"name": "Ana", "plan": "gold", "vip": True}
    too_long = await client.post(
        WIDGET, json={"message": "hours?", "visitor": {"note": "x" * 501}}, headers=headers
    )
    assert too_long.status_code == 422
    nested = await client.post(
        WIDGET, json={"message": "hours?", "visitor": {"a": {"b": 1}}}, headers=headers
    )
    assert nested.status_code == 422


async def test_a_conversations_life_as_its_events_tell_it(
    client: httpx.AsyncClient, db: Database, settings: Settings, shop: Shop
) -> None:
    """Every change of status sends its event once, in the order it happened, each showing the
    status after the change, and every payload is what the catalogue publishes."""
    visitor = await _visitor_hands_over(client, shop)
    session_id = visitor.pop("session_id")
    async with db.transaction() as session:
        conversation_id = await session.scalar(
            select(Conversation.id).where(Conversation.session_id == session_id)
        )
    agent = await make_member(db, settings, shop.made.tenant, Role.AGENT)
    agent_headers = await bearer(client, agent.email)
    path = f"/api/conversations/{conversation_id}"
    await client.post(f"{path}/reply", json={"message": "Sam here."}, headers=agent_headers)
    await client.post(f"{path}/close", headers=agent_headers)
    again = await client.post(
        WIDGET, json={"message": "opening hours?", "session_id": session_id}, headers=visitor
    )
    assert again.json()["conversation_status"] == "bot"  # a visitor's message reopens it

    async with db.transaction() as session:
        events = (
            await session.scalars(
                select(Event)
                .where(Event.tenant_id == shop.made.tenant.id)
                .order_by(Event.created_at, Event.id)
            )
        ).all()
    told = [
        (e.type, e.payload["data"]["conversation"]["status"])
        for e in events
        if e.payload["data"].get("conversation", {}).get("session_id") == session_id
    ]
    assert told == [
        ("conversation.created", "bot"),
        ("message.created", "pending_human"),  # the visitor's request
        ("message.created", "pending_human"),  # Bob's handoff sentence
        ("conversation.handoff_requested", "pending_human"),
        ("conversation.assigned", "human"),
        ("message.created", "human"),  # the agent's reply
        ("conversation.closed", "closed"),
        ("message.created", "bot"),
        ("message.created", "bot"),
    ]
    for event in events:
        catalogue.validate_payload(event.payload)
