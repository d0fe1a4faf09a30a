"""The operator console's pages: the list, one conversation, and the actions on it, as forms."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bob import audit
from bob.audit import AuditEntry
from bob.auth.permissions import Role
from bob.chat import conversations
from bob.db.session import Database
from bob.events.models import Event
from bob.knowledge import service as knowledge
from bob.settings import Settings
from bob.widget import service as widget
from tests.factories import TenantWithOwner, bearer, make_member, make_tenant, unique
from tests.integration.portal.conftest import Pages

SHOP_ORIGIN = "https://shop.example.com"
ASK_FOR_A_PERSON = "Can I speak to someone from the team?"


@dataclass
class Shop:
    made: TenantWithOwner
    widget_key: str

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.made.tenant.id


@dataclass
class Visitor:
    """A visitor chatting through the widget on the shop's site."""

    client: httpx.AsyncClient
    shop: Shop
    name: str
    session_id: str = ""
    token: str = ""

    async def says(self, message: str) -> dict[str, Any]:
        headers = {"X-Widget-Key": self.shop.widget_key, "Origin": SHOP_ORIGIN}
        body: dict[str, Any] = {"message": message, "visitor": {"name": self.name}}
        if self.session_id:
            headers["X-Visitor-Token"] = self.token
            body["session_id"] = self.session_id
        response = await self.client.post("/api/widget/chat", json=body, headers=headers)
        assert response.status_code == 200, response.text
        reply: dict[str, Any] = response.json()
        self.session_id = reply["session_id"]
        self.token = reply.get("visitor_token") or self.token
        return reply

    async def history(self) -> list[dict[str, Any]]:
        response = await self.client.get(
            "/api/widget/history",
            params={"session_id": self.session_id},
            headers={
                "X-Widget-Key": self.shop.widget_key,
                "Origin": SHOP_ORIGIN,
                "X-Visitor-Token": self.token,
            },
        )
        assert response.status_code == 200, response.text
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages


async def make_shop(db: Database, settings: Settings) -> Shop:
    made = await make_tenant(db, settings, name="Trail Outfitters")
    async with db.transaction() as session:
        await knowledge.create_item(
            session=session,
            settings=settings,
            tenant_id=made.tenant.id,
            actor=audit.CLI,
            title="Opening hours",
            content="Our shop is open Monday to Friday from 9:00 to 18:00 and Saturday from "
            "10:00 to 14:00. We are closed on Sundays.",
        )
        key = await widget.primary_key(session=session, tenant_id=made.tenant.id)
        assert key is not None
        await widget.update_key(
            session=session,
            tenant_id=made.tenant.id,
            actor=audit.CLI,
            key_id=key.id,
            label=None,
            allowed_origins=[SHOP_ORIGIN],
        )
        return Shop(made, key.key)


@pytest.fixture
async def shop(db: Database, settings: Settings) -> Shop:
    return await make_shop(db, settings)


async def visitor(client: httpx.AsyncClient, shop: Shop, first: str) -> Visitor:
    someone = Visitor(client, shop, unique("Visitor"))
    await someone.says(first)
    return someone


async def conversation_of(db: Database, shop: Shop, someone: Visitor) -> Any:
    async with db.transaction() as session:
        return await conversations.get_by_session(
            session=session, tenant_id=shop.tenant_id, session_id=someone.session_id
        )


async def stored(db: Database, shop: Shop, conversation_id: uuid.UUID) -> dict[str, Any]:
    """What the console's actions may change, as the service sees it."""
    async with db.transaction() as session:
        conversation = await conversations.get_conversation(
            session=session, tenant_id=shop.tenant_id, conversation_id=conversation_id
        )
        messages = await conversations.transcript(session=session, conversation=conversation)
        actions = await session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.target_id == str(conversation_id))
            .order_by(AuditEntry.seq)
        )
        events = await session.scalars(
            select(Event).where(Event.tenant_id == shop.tenant_id).order_by(Event.created_at)
        )
        own_events = [
            e.type
            for e in events
            if e.payload["data"]["conversation"]["id"] == str(conversation_id)
        ]
        return {
            "status": conversation.status,
            "assigned_user_id": conversation.assigned_user_id,
            "closed": conversation.closed_at is not None,
            "roles": [m.role for m in messages],
            "operator_texts": [m.content for m in messages if m.role == "operator"],
            "audit": list(actions),
            "events": own_events,
        }


def rows_of(html: str) -> list[str]:
    """The visitor labels of the list's rows, top to bottom."""
    return re.findall(
        r'<th scope="row"><a href="/portal/conversations/[^"]+"[^>]*>([^<]+)</a>', html
    )


# ---- the list ----------------------------------------------------------------------------------


async def test_the_list_shows_conversations_newest_first_and_filters_by_status(
    pages: Pages, client: httpx.AsyncClient, shop: Shop
) -> None:
    asking = await visitor(client, shop, "When are you open on Saturday?")
    waiting = await visitor(client, shop, ASK_FOR_A_PERSON)
    await pages.login(shop.made.owner_email)

    everything = await pages.get("/portal/conversations")
    assert everything.status_code == 200
    assert rows_of(everything.text) == [waiting.name, asking.name]
    assert "Waiting for a person" in everything.text
    assert "Website widget" in everything.text
    assert "10:00 to 14:00" in everything.text  # the last message's excerpt
    assert 'aria-current="page">Conversations' in everything.text
    assert "/static/console.js" in everything.text

    queue = await pages.get("/portal/conversations?status=pending_human")
    assert rows_of(queue.text) == [waiting.name]
    with_bob = await pages.get("/portal/conversations?status=bot")
    assert rows_of(with_bob.text) == [asking.name]
    closed = await pages.get("/portal/conversations?status=closed")
    assert rows_of(closed.text) == []
    assert "No conversations here yet." in closed.text

    fragment = await pages.get("/portal/conversations?status=pending_human&fragment=list")
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert rows_of(fragment.text) == [waiting.name]

    assert (await pages.get("/portal/conversations?status=nonsense")).status_code == 422


async def test_the_list_pages_by_cursor(
    pages: Pages, client: httpx.AsyncClient, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bob.chat import pages as console

    monkeypatch.setattr(console, "PAGE_SIZE", 2)
    people = [await visitor(client, shop, f"Question {n}") for n in range(3)]
    await pages.login(shop.made.owner_email)
    first = await pages.get("/portal/conversations")
    assert rows_of(first.text) == [people[2].name, people[1].name]
    older = re.search(r'href="(/portal/conversations\?cursor=[^"]+)" rel="next"', first.text)
    assert older, first.text
    second = await pages.get(older.group(1).replace("&amp;", "&"))
    assert rows_of(second.text) == [people[0].name]


# ---- one conversation --------------------------------------------------------------------------


async def test_a_conversation_shows_its_transcript_with_sources(
    pages: Pages, client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    someone = await visitor(client, shop, "When are you open on Saturday?")
    conversation = await conversation_of(db, shop, someone)
    await pages.login(shop.made.owner_email)
    response = await pages.get(f"/portal/conversations/{conversation.id}")
    assert response.status_code == 200
    html = response.text
    assert f"Conversation with {someone.name}" in html
    assert 'class="msg msg-visitor"' in html
    assert "When are you open on Saturday?" in html
    assert 'class="msg msg-assistant"' in html
    assert "10:00 to 14:00" in html
    item_id = re.search(r'<a href="/portal/knowledge/([0-9a-f-]+)">Opening hours</a>', html)
    assert item_id, html
    assert "Sources:</span>" in html
    assert "With Bob" in html
    assert 'role="log"' in html
    assert f'action="/portal/conversations/{conversation.id}/take-over"' in html
    assert f'action="/portal/conversations/{conversation.id}/reply"' in html

    live = await pages.get(f"/portal/conversations/{conversation.id}?fragment=live")
    assert live.status_code == 200
    assert "<html" not in live.text
    assert 'id="transcript"' in live.text
    assert "Opening hours" in live.text


# ---- actions -----------------------------------------------------------------------------------


async def test_the_forms_change_a_conversation_exactly_as_the_api_does(
    pages: Pages, client: httpx.AsyncClient, db: Database, settings: Settings, shop: Shop
) -> None:
    agent = await make_member(db, settings, shop.made.tenant, Role.AGENT)
    through_page = await visitor(client, shop, ASK_FOR_A_PERSON)
    through_api = await visitor(client, shop, ASK_FOR_A_PERSON)
    page_id = (await conversation_of(db, shop, through_page)).id
    api_id = (await conversation_of(db, shop, through_api)).id
    api_headers = await bearer(client, agent.email)
    await pages.login(agent.email)
    here = f"/portal/conversations/{page_id}"

    async def same_state(expected_status: str) -> dict[str, Any]:
        by_page = await stored(db, shop, page_id)
        by_api = await stored(db, shop, api_id)
        assert by_page["status"] == expected_status
        # Events too: webhooks and the live pages hear of both alike.
        for key in by_page:
            assert by_page[key] == by_api[key], key
        return by_page

    async def form(action: str, data: dict[str, str] | None = None) -> httpx.Response:
        response = await pages.post(f"{here}/{action}", data)
        assert response.status_code == 303, response.text
        assert response.headers["location"] == here
        return await pages.get(here)

    # Take over: assigned to the operator, and Bob stays quiet from then on.
    shown = await form("take-over")
    assert "You have this conversation now." in shown.text
    api = await client.post(
        f"/api/conversations/{api_id}/assign", json={"user_id": str(agent.id)}, headers=api_headers
    )
    assert api.status_code == 200
    state = await same_state("human")
    assert state["assigned_user_id"] == agent.id
    assert state["audit"][-1] == "conversation.assigned"
    assert state["events"][-1] == "conversation.assigned"
    quiet = await through_page.says("When are you open on Saturday?")
    assert quiet["reply"] is None
    assert quiet["conversation_status"] == "human"
    await through_api.says("When are you open on Saturday?")

    # Reply: stored as the operator's message and in the visitor's own history.
    text = "Hi, Sam here. We open at 10:00 on Saturdays."
    shown = await form("reply", {"message": text})
    assert "Reply sent." in shown.text
    assert text in shown.text
    api = await client.post(
        f"/api/conversations/{api_id}/reply", json={"message": text}, headers=api_headers
    )
    assert api.status_code == 200
    state = await same_state("human")
    assert state["operator_texts"] == [text]
    history = await through_page.history()
    assert history[-1]["role"] == "operator"
    assert history[-1]["content"] == text

    # Return to Bob: unassigned, and Bob answers again.
    shown = await form("return-to-bot")
    assert "Bob answers this conversation again." in shown.text
    api = await client.post(f"/api/conversations/{api_id}/return-to-bot", headers=api_headers)
    assert api.status_code == 200
    state = await same_state("bot")
    assert state["assigned_user_id"] is None
    answered = await through_page.says("When are you open on Saturday?")
    assert "10:00 to 14:00" in (answered["reply"] or "")
    await through_api.says("When are you open on Saturday?")

    # Close.
    shown = await form("close")
    assert "Conversation closed." in shown.text
    api = await client.post(f"/api/conversations/{api_id}/close", headers=api_headers)
    assert api.status_code == 200
    state = await same_state("closed")
    assert state["closed"] is True
    assert state["audit"][-1] == "conversation.closed"
    assert state["events"][-1] == "conversation.closed"
    assert "Closed. A new message from the visitor reopens it." in shown.text


async def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    pages: Pages, client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    someone = await visitor(client, shop, ASK_FOR_A_PERSON)
    conversation_id = (await conversation_of(db, shop, someone)).id
    before = await stored(db, shop, conversation_id)
    await pages.login(shop.made.owner_email)
    for action, data in [
        ("take-over", {}),
        ("reply", {"message": "Hello from a forged form"}),
        ("return-to-bot", {}),
        ("close", {}),
    ]:
        response = await pages.post(
            f"/portal/conversations/{conversation_id}/{action}", data, csrf=False
        )
        assert response.status_code == 403, action
        assert "This form has expired" in response.text
    assert await stored(db, shop, conversation_id) == before
    assert before["status"] == "pending_human"


async def test_an_empty_or_too_long_reply_is_refused_and_nothing_is_stored(
    pages: Pages, client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    someone = await visitor(client, shop, ASK_FOR_A_PERSON)
    conversation_id = (await conversation_of(db, shop, someone)).id
    before = await stored(db, shop, conversation_id)
    await pages.login(shop.made.owner_email)
    here = f"/portal/conversations/{conversation_id}"
    await pages.get(here)

    empty = await pages.post(f"{here}/reply", {"message": "  \n  "})
    assert empty.status_code == 422
    assert "Write a reply before sending it." in empty.text
    too_long = "x" * 4001
    refused = await pages.post(f"{here}/reply", {"message": too_long})
    assert refused.status_code == 422
    assert "at most 4000 characters" in refused.text
    assert f">{too_long}</textarea>" in refused.text  # what was typed is kept
    assert await stored(db, shop, conversation_id) == before


async def test_another_tenants_conversation_is_not_found(
    pages: Pages, client: httpx.AsyncClient, db: Database, settings: Settings, shop: Shop
) -> None:
    other = await make_shop(db, settings)
    theirs = await visitor(client, other, ASK_FOR_A_PERSON)
    their_id = (await conversation_of(db, other, theirs)).id
    before = await stored(db, other, their_id)
    await pages.login(shop.made.owner_email)
    for path in [
        f"/portal/conversations/{their_id}",
        f"/portal/conversations/{their_id}?fragment=live",
    ]:
        response = await pages.get(path)
        assert response.status_code == 404, path
        assert "Not found" in response.text
        assert theirs.name not in response.text
    for action in ("take-over", "return-to-bot", "close"):
        response = await pages.post(f"/portal/conversations/{their_id}/{action}")
        assert response.status_code == 404, action
    response = await pages.post(f"/portal/conversations/{their_id}/reply", {"message": "hi"})
    assert response.status_code == 404
    response = await pages.post(f"/portal/conversations/{their_id}/reply", {"message": ""})
    assert response.status_code == 404
    assert await stored(db, other, their_id) == before
    listed = await pages.get("/portal/conversations")
    assert theirs.name not in listed.text


async def test_a_viewer_reads_but_cannot_act(
    pages: Pages, client: httpx.AsyncClient, db: Database, settings: Settings, shop: Shop
) -> None:
    viewer = await make_member(db, settings, shop.made.tenant, Role.VIEWER)
    someone = await visitor(client, shop, "When are you open on Saturday?")
    await someone.says(ASK_FOR_A_PERSON)
    conversation_id = (await conversation_of(db, shop, someone)).id
    before = await stored(db, shop, conversation_id)
    await pages.login(viewer.email)

    listed = await pages.get("/portal/conversations")
    assert listed.status_code == 200
    assert rows_of(listed.text) == [someone.name]
    shown = await pages.get(f"/portal/conversations/{conversation_id}")
    assert shown.status_code == 200
    assert ASK_FOR_A_PERSON in shown.text
    assert "Your role can read conversations but not answer them." in shown.text
    # The sources are named; only those who edit the knowledge get links to it.
    assert "<li>Opening hours</li>" in shown.text
    assert "/portal/knowledge/" not in shown.text
    assert "/take-over" not in shown.text
    assert "/reply" not in shown.text
    for action, data in [
        ("take-over", {}),
        ("reply", {"message": "I should not be able to send this"}),
        ("return-to-bot", {}),
        ("close", {}),
    ]:
        response = await pages.post(f"/portal/conversations/{conversation_id}/{action}", data)
        assert response.status_code == 403, action
        assert "chat.manage" in response.text
    assert await stored(db, shop, conversation_id) == before


async def test_taking_over_from_a_colleague_names_them(
    pages: Pages, client: httpx.AsyncClient, db: Database, settings: Settings, shop: Shop
) -> None:
    colleague = await make_member(db, settings, shop.made.tenant, Role.AGENT)
    someone = await visitor(client, shop, ASK_FOR_A_PERSON)
    conversation_id = (await conversation_of(db, shop, someone)).id
    colleague_headers = await bearer(client, colleague.email)
    await client.post(
        f"/api/conversations/{conversation_id}/reply",
        json={"message": "One moment please."},
        headers=colleague_headers,
    )
    await pages.login(shop.made.owner_email)
    shown = await pages.get(f"/portal/conversations/{conversation_id}")
    name = colleague.email.split("@")[0]
    assert f"Take over from {name}" in shown.text
    listed = await pages.get("/portal/conversations?status=human")
    assert rows_of(listed.text) == [someone.name]
    assert f"<td>{name}</td>" in listed.text
    await pages.post(f"/portal/conversations/{conversation_id}/take-over")
    state = await stored(db, shop, conversation_id)
    assert state["assigned_user_id"] == shop.made.owner.id
