"""Door 1: a conversation belongs to its visitor.

Continuing one, or reading its transcript, needs its X-Visitor-Token or the visitor cookie that
the first reply set; knowing the session id is not enough, and a refused message stores nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from bob.chat import visitor_cookie
from bob.chat.models import Conversation, Message
from bob.db.session import Database
from bob.events.models import Event
from bob.main import create_app
from bob.settings import Settings
from tests.conftest import PUBLIC_URL
from tests.factories import make_tenant
from tests.integration.chat.conftest import Shop, parse_sse

SAME_ORIGIN = {"Origin": PUBLIC_URL}


@pytest.fixture
async def stranger(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Another browser on Bob's own site: its own address and an empty cookie jar."""
    transport = httpx.ASGITransport(app=app, client=("198.51.100.66", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        yield client


async def stored(db: Database, tenant_id: uuid.UUID, session_id: str) -> tuple[str, int, int]:
    """The conversation's status, its message count, and the tenant's message events."""
    async with db.transaction() as session:
        conversation = await session.scalar(
            select(Conversation).where(
                Conversation.tenant_id == tenant_id, Conversation.session_id == session_id
            )
        )
        assert conversation is not None
        messages = await session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.conversation_id == conversation.id)
        )
        events = await session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.tenant_id == tenant_id, Event.type == "message.created")
        )
        return conversation.status, messages or 0, events or 0


def set_cookies(response: httpx.Response) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    return jar


async def say(
    client: httpx.AsyncClient,
    shop: Shop,
    message: str,
    session_id: str,
    **headers: str,
) -> httpx.Response:
    # The published snippet's body, exactly: {session_id, message, business_id}.
    return await client.post(
        "/api/chat",
        json={"session_id": session_id, "message": message, "business_id": shop.business_id},
        headers={**SAME_ORIGIN, **headers},
    )


@pytest.mark.parametrize("state", ["bot", "human", "closed"])
async def test_continuing_without_token_or_cookie_is_refused_and_stores_nothing(
    client: httpx.AsyncClient,
    stranger: httpx.AsyncClient,
    db: Database,
    shop: Shop,
    state: str,
) -> None:
    session_id = f"visit-{state}"
    first = await say(client, shop, "What are your opening hours?", session_id)
    assert first.status_code == 200, first.text
    if state != "bot":
        listed = await client.get(
            "/api/conversations", params={"q": session_id}, headers=shop.owner
        )
        conversation_id = listed.json()["items"][0]["id"]
        taken = await client.post(
            f"/api/conversations/{conversation_id}/reply",
            json={"message": "Hello, this is Rita from the shop."},
            headers=shop.owner,
        )
        assert taken.status_code == 200
        if state == "closed":
            closed = await client.post(
                f"/api/conversations/{conversation_id}/close", headers=shop.owner
            )
            assert closed.status_code == 200
    before = await stored(db, shop.made.tenant.id, session_id)
    assert before[0] == state

    for attempt in (
        {},
        {"X-Visitor-Token": "guessed"},
        {"Accept": "text/event-stream"},
    ):
        refused = await say(
            stranger, shop, "Repeat everything I asked before.", session_id, **attempt
        )
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "visitor_mismatch"
        assert "set-cookie" not in refused.headers
    transcript = await stranger.get(
        "/api/chat/transcript",
        params={"session_id": session_id, "business_id": shop.business_id},
        headers=SAME_ORIGIN,
    )
    assert transcript.status_code == 403
    # No message, no status change (a closed conversation stays closed), no event.
    assert await stored(db, shop.made.tenant.id, session_id) == before

    # The visitor's own browser carries the cookie and continues.
    own = await say(client, shop, "And on Saturday?", session_id)
    assert own.status_code == 200, own.text
    assert own.json()["session_id"] == session_id
    status, messages, _ = await stored(db, shop.made.tenant.id, session_id)
    assert messages > before[1]
    assert status == ("human" if state == "human" else "bot")


async def test_the_header_continues_without_a_cookie(
    client: httpx.AsyncClient, stranger: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    first = await say(client, shop, "What are your opening hours?", "by-header")
    token = first.json()["visitor_token"]
    # A server-side client keeps the token, not cookies.
    follow_up = await stranger.post(
        "/api/chat",
        json={
            "session_id": "by-header",
            "message": "How do I return an item?",
            "business_id": shop.business_id,
        },
        headers={"X-Visitor-Token": token},
    )
    assert follow_up.status_code == 200, follow_up.text
    assert "30 days" in follow_up.json()["reply"]
    assert (await stored(db, shop.made.tenant.id, "by-header"))[1] == 4
    transcript = await stranger.get(
        "/api/chat/transcript",
        params={"session_id": "by-header", "business_id": shop.business_id},
        headers={"X-Visitor-Token": token},
    )
    assert transcript.status_code == 200
    assert len(transcript.json()["messages"]) == 4
    # The header, when sent, decides: a wrong one is refused even beside the right cookie.
    wrong = await say(client, shop, "hours?", "by-header", **{"X-Visitor-Token": "not-it"})
    assert wrong.status_code == 403


async def test_the_first_reply_sets_a_strict_httponly_cookie_for_this_conversation(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    first = await say(client, shop, "What are your opening hours?", "by-cookie")
    cookies = set_cookies(first)
    name = visitor_cookie.cookie_name(tenant_id=shop.made.tenant.id, session_id="by-cookie")
    assert list(cookies) == [name]
    cookie = cookies[name]
    assert cookie["httponly"] is True
    assert cookie["samesite"].lower() == "strict"
    assert cookie["path"] == "/api/chat"
    assert int(cookie["max-age"]) == visitor_cookie.MAX_AGE_S
    assert not cookie["secure"]  # BOB_PUBLIC_URL is http:// in the tests
    assert cookie.value.endswith("." + first.json()["visitor_token"])

    follow_up = await say(client, shop, "How do I return an item?", "by-cookie")
    assert follow_up.status_code == 200
    assert follow_up.json()["session_id"] == "by-cookie"
    assert "visitor_token" not in follow_up.json()
    assert (await stored(db, shop.made.tenant.id, "by-cookie"))[1] == 4
    transcript = await client.get(
        "/api/chat/transcript",
        params={"session_id": "by-cookie", "business_id": shop.business_id},
        headers=SAME_ORIGIN,
    )
    assert transcript.status_code == 200
    assert [m["role"] for m in transcript.json()["messages"]] == [
        "visitor",
        "assistant",
        "visitor",
        "assistant",
    ]
    assert "no-store" in transcript.headers["cache-control"]


async def test_a_streamed_first_reply_sets_the_cookie_too(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    first = await say(
        client, shop, "What are your opening hours?", "streamed", Accept="text/event-stream"
    )
    assert first.status_code == 200
    done = parse_sse(first.text)[-1][1]
    name = visitor_cookie.cookie_name(tenant_id=shop.made.tenant.id, session_id="streamed")
    assert set_cookies(first)[name].value.endswith("." + done["visitor_token"])
    follow_up = await say(client, shop, "How do I return an item?", "streamed")
    assert follow_up.status_code == 200
    assert (await stored(db, shop.made.tenant.id, "streamed"))[1] == 4


async def test_a_cookie_for_one_session_does_not_open_another(
    client: httpx.AsyncClient, stranger: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    mine = await say(client, shop, "What are your opening hours?", "session-a")
    assert mine.status_code == 200
    theirs = await say(stranger, shop, "How do I return an item?", "session-b")
    assert theirs.status_code == 200
    before = await stored(db, shop.made.tenant.id, "session-b")

    # The browser holds session A's cookie only; it is not sent as proof for B.
    refused = await say(client, shop, "What did you tell them?", "session-b")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "visitor_mismatch"
    # Nor does A's proof work when planted under B's cookie name.
    a_value = client.cookies.get(
        visitor_cookie.cookie_name(tenant_id=shop.made.tenant.id, session_id="session-a")
    )
    assert a_value
    planted = visitor_cookie.cookie_name(tenant_id=shop.made.tenant.id, session_id="session-b")
    client.cookies.set(planted, a_value, path="/api/chat")
    forged = await say(client, shop, "What did you tell them?", "session-b")
    assert forged.status_code == 403
    transcript = await client.get(
        "/api/chat/transcript",
        params={"session_id": "session-b", "business_id": shop.business_id},
        headers=SAME_ORIGIN,
    )
    assert transcript.status_code == 403
    assert await stored(db, shop.made.tenant.id, "session-b") == before
    # Both visitors still continue their own.
    assert (await say(client, shop, "And returns?", "session-a")).status_code == 200
    assert (await say(stranger, shop, "And hours?", "session-b")).status_code == 200


async def test_a_cookie_of_one_tenant_does_not_open_another_tenants_same_session_id(
    client: httpx.AsyncClient,
    stranger: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    shop: Shop,
) -> None:
    other = await make_tenant(db, settings, name="Other Shop")
    mine = await say(client, shop, "What are your opening hours?", "shared-id")
    assert mine.status_code == 200
    theirs = await stranger.post(
        "/api/chat",
        json={
            "session_id": "shared-id",
            "message": "hello",
            "business_id": other.tenant.business_id,
        },
        headers=SAME_ORIGIN,
    )
    assert theirs.status_code == 200
    before = await stored(db, other.tenant.id, "shared-id")

    async def to_other() -> httpx.Response:
        return await client.post(
            "/api/chat",
            json={
                "session_id": "shared-id",
                "message": "what did they say?",
                "business_id": other.tenant.business_id,
            },
            headers=SAME_ORIGIN,
        )

    assert (await to_other()).status_code == 403
    mine_value = client.cookies.get(
        visitor_cookie.cookie_name(tenant_id=shop.made.tenant.id, session_id="shared-id")
    )
    assert mine_value
    client.cookies.set(
        visitor_cookie.cookie_name(tenant_id=other.tenant.id, session_id="shared-id"),
        mine_value,
        path="/api/chat",
    )
    forged = await to_other()
    assert forged.status_code == 403
    assert forged.json()["error"]["code"] == "visitor_mismatch"
    assert await stored(db, other.tenant.id, "shared-id") == before


async def test_the_browser_keeps_a_bounded_number_of_visitor_cookies(
    app: FastAPI, shop: Shop
) -> None:
    kept = visitor_cookie.KEPT
    held = {
        f"{visitor_cookie.PREFIX}{index:032x}": f"{1_700_000_000 + index}.t{index}"
        for index in range(kept)
    }
    held["session_pref"] = "unrelated"
    transport = httpx.ASGITransport(app=app, client=("198.51.100.67", 1))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as browser:
        response = await browser.post(
            "/api/chat",
            json={"message": "What are your opening hours?", "business_id": shop.business_id},
            headers={**SAME_ORIGIN, "Cookie": "; ".join(f"{k}={v}" for k, v in held.items())},
        )
    assert response.status_code == 200
    cookies = set_cookies(response)
    removed = sorted(name for name, c in cookies.items() if c["max-age"] == "0")
    added = [name for name, c in cookies.items() if c["max-age"] != "0"]
    # The least recently used one goes, so the new conversation's makes `kept` again.
    assert removed == [f"{visitor_cookie.PREFIX}{0:032x}"]
    assert added == [
        visitor_cookie.cookie_name(
            tenant_id=shop.made.tenant.id, session_id=response.json()["session_id"]
        )
    ]
    assert cookies[removed[0]]["path"] == "/api/chat"


async def test_the_cookie_is_secure_when_bob_is_served_over_https(
    db: Database, settings: Settings, shop: Shop
) -> None:
    https = settings.model_copy(update={"public_url": "https://bob.localhost"})
    transport = httpx.ASGITransport(app=create_app(https, database=db), client=("198.51.100.68", 1))
    async with httpx.AsyncClient(transport=transport, base_url="https://bob.localhost") as browser:
        response = await browser.post(
            "/api/chat",
            json={"message": "What are your opening hours?", "business_id": shop.business_id},
            headers={"Origin": "https://bob.localhost"},
        )
        assert response.status_code == 200, response.text
        (cookie,) = set_cookies(response).values()
        assert cookie["secure"] is True
        assert cookie["samesite"].lower() == "strict"
        follow_up = await browser.post(
            "/api/chat",
            json={
                "session_id": response.json()["session_id"],
                "message": "How do I return an item?",
                "business_id": shop.business_id,
            },
            headers={"Origin": "https://bob.localhost"},
        )
        assert follow_up.status_code == 200
