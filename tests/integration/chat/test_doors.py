from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from bob.auth.permissions import Role
from bob.db.session import Database
from bob.events.models import Event
from bob.settings import Settings
from tests.conftest import PUBLIC_URL
from tests.factories import bearer, make_admin, make_member, make_tenant
from tests.integration.chat.conftest import SHOP_ORIGIN, Shop, parse_sse

SAME_ORIGIN = {"Origin": PUBLIC_URL}


def widget_headers(shop: Shop, origin: str = SHOP_ORIGIN, **extra: str) -> dict[str, str]:
    return {"X-Widget-Key": shop.widget_key, "Origin": origin, **extra}


# ---- door 1 ------------------------------------------------------------------------------


async def test_door_1_published_fetch_body_answers_from_knowledge(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    body = {
        "session_id": "session_123",
        "message": "What are your opening hours on Saturday?",
        "business_id": shop.business_id,
    }
    response = await client.post(
        "/api/chat", json=body, headers={**SAME_ORIGIN, "Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    reply = response.json()
    assert reply["session_id"] == "session_123"
    assert "Saturday from 10:00 to 14:00" in reply["reply"]
    assert reply["sources"] == [
        {"title": "Opening hours", "id": shop.items["Opening hours"], "source_url": None}
    ]
    assert reply["persona"] == {"name": "Bob"}
    assert reply["handoff"] is False
    assert reply["conversation_status"] == "bot"
    assert reply["credits_used"] == 1  # one credit per extractive reply
    assert reply["visitor_token"]
    assert "access-control-allow-origin" not in response.headers

    follow_up = await client.post(
        "/api/chat",
        json={**body, "message": "How do I return an item?"},
        headers=SAME_ORIGIN,
    )
    # The first reply's visitor cookie, sent back as a browser would, continues it.
    assert follow_up.status_code == 200
    assert "30 days" in follow_up.json()["reply"]
    assert "visitor_token" not in follow_up.json()


async def test_door_1_without_origin_header_is_allowed_like_a_server_client(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    response = await client.post(
        "/api/chat", json={"message": "returns policy?", "business_id": shop.business_id}
    )
    assert response.status_code == 200
    assert response.json()["session_id"].startswith("sess_")


@pytest.mark.parametrize(
    "origin", ["https://evil.example.com", "null", "http://bob.localhost:8001", SHOP_ORIGIN]
)
async def test_door_1_refuses_foreign_origins_without_cors(
    client: httpx.AsyncClient, shop: Shop, origin: str
) -> None:
    response = await client.post(
        "/api/chat",
        json={"message": "opening hours?", "business_id": shop.business_id},
        headers={"Origin": origin},
    )
    assert response.status_code == 403
    assert "/api/widget/chat" in response.json()["error"]["message"]
    assert not any(h.startswith("access-control-") for h in response.headers)
    assert "Origin" in response.headers["vary"]


async def test_door_1_preflight_gets_no_cors_headers(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/api/chat",
        headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code in (403, 405)
    assert not any(h.startswith("access-control-") for h in response.headers)


async def test_door_1_tenants(
    client: httpx.AsyncClient, db: Database, settings: Settings, shop: Shop
) -> None:
    unknown = await client.post(
        "/api/chat", json={"message": "hi", "business_id": "no-such-shop"}, headers=SAME_ORIGIN
    )
    assert unknown.status_code == 404
    platform = await client.post("/api/chat", json={"message": "hello"}, headers=SAME_ORIGIN)
    assert platform.status_code == 200
    assert platform.json()["persona"]["name"] == "Bob"

    admin = await make_admin(db, settings)
    admin_headers = await bearer(client, admin.email, admin=True)
    await client.post(f"/api/admin/tenants/{shop.made.tenant.id}/suspend", headers=admin_headers)
    suspended = await client.post(
        "/api/chat", json={"message": "hi", "business_id": shop.business_id}, headers=SAME_ORIGIN
    )
    assert suspended.status_code == 403
    assert "not available" in suspended.json()["error"]["message"]
    widget = await client.post(
        "/api/widget/chat", json={"message": "hi"}, headers=widget_headers(shop)
    )
    assert widget.status_code == 403


async def test_uncovered_question_is_handed_off_not_invented(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    body = {"message": "What is the capital of Australia?", "business_id": shop.business_id}
    response = await client.post("/api/chat", json=body, headers=SAME_ORIGIN)
    assert response.status_code == 200
    reply = response.json()
    assert reply["handoff"] is True
    assert reply["conversation_status"] == "pending_human"
    assert reply["sources"] == []
    assert "Canberra" not in reply["reply"]
    assert "person" in reply["reply"].lower() or "team" in reply["reply"].lower()
    # While people have it, the AI stays quiet.
    again = await client.post(
        "/api/chat",
        json={**body, "session_id": reply["session_id"], "message": "Opening hours?"},
        headers={**SAME_ORIGIN, "X-Visitor-Token": reply["visitor_token"]},
    )
    assert again.status_code == 200
    assert again.json()["reply"] is None
    assert again.json()["conversation_status"] == "pending_human"


@pytest.mark.parametrize(
    ("message", "language"),
    [
        ("Can I talk to a human please?", "en"),
        ("Quero falar com um atendente", "pt-BR"),
        ("Quiero hablar con una persona", "es"),
        ("Je voudrais parler à un conseiller", "fr"),
        ("Ich möchte mit einem Mitarbeiter sprechen", "de"),
        ("Vorrei parlare con un operatore", "it"),
        ("Ik wil met een medewerker spreken", "nl"),
        ("Chcę porozmawiać z konsultantem", "pl"),
        ("担当者と話したいです", "ja"),
    ],
)
async def test_asking_for_a_person_hands_over_in_nine_languages(
    client: httpx.AsyncClient, shop: Shop, message: str, language: str
) -> None:
    response = await client.post(
        "/api/chat",
        json={"message": message, "business_id": shop.business_id},
        headers={**SAME_ORIGIN, "Accept-Language": language},
    )
    assert response.status_code == 200
    assert response.json()["handoff"] is True
    assert response.json()["conversation_status"] == "pending_human"
    english = await client.post(
        "/api/chat",
        json={"message": "Can I talk to a human please?", "business_id": shop.business_id},
        headers={**SAME_ORIGIN, "Accept-Language": "en"},
    )
    if language != "en":
        assert response.json()["reply"] != english.json()["reply"]  # localized


async def test_asking_about_people_is_not_a_handoff(client: httpx.AsyncClient, shop: Shop) -> None:
    # "person" and "staff" here are what the question is about, not whom it asks for: Bob
    # answers from the knowledge, or says it has no good answer, but never fetches the team.
    for message in ("Is your returns policy for every person?", "Do your staff ship on Saturday?"):
        response = await client.post(
            "/api/chat",
            json={"message": message, "business_id": shop.business_id},
            headers=SAME_ORIGIN,
        )
        reply = response.json()["reply"]
        assert "getting someone from the team" not in reply, (message, reply)
        assert "I don't have a good answer" in reply or response.json()["sources"], (message, reply)


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"message": ""}, 422),
        ({"message": "   \n\t "}, 422),
        ({"message": "x" * 4001}, 422),
        ({"message": 42}, 422),
        ({}, 422),
        ({"message": "hi", "session_id": "bad id with spaces"}, 422),
        ({"message": "hi", "session_id": "x" * 200}, 422),
    ],
)
async def test_bad_messages_are_422_and_store_nothing(
    client: httpx.AsyncClient, db: Database, shop: Shop, payload: dict[str, object], status: int
) -> None:
    response = await client.post(
        "/api/chat", json={**payload, "business_id": shop.business_id}, headers=SAME_ORIGIN
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert "message" in response.json()["error"]["message"] or "session_id" in response.text
    async with db.transaction() as session:
        stored = await session.scalars(
            select(Event).where(
                Event.tenant_id == shop.made.tenant.id, Event.type == "message.created"
            )
        )
        assert list(stored) == []


async def test_4000_characters_after_trimming_is_accepted(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    response = await client.post(
        "/api/chat",
        json={"message": "  " + "a" * 4000 + "  ", "business_id": shop.business_id},
        headers=SAME_ORIGIN,
    )
    assert response.status_code == 200


# ---- door 2 ------------------------------------------------------------------------------


async def test_door_2_answers_an_allowed_origin_with_cors(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    response = await client.post(
        "/api/widget/chat",
        json={"message": "When are you open on Saturday?"},
        headers=widget_headers(shop),
    )
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == SHOP_ORIGIN
    assert "Origin" in response.headers["vary"]
    assert int(response.headers["ratelimit-remaining"]) >= 0
    body = response.json()
    assert "10:00 to 14:00" in body["reply"]
    assert body["visitor_token"]
    # Wildcard subdomains of an allowed pattern work too.
    sub = await client.post(
        "/api/widget/chat",
        json={"message": "returns?"},
        headers=widget_headers(shop, "https://eu.partner.example.org"),
    )
    assert sub.status_code == 200
    assert sub.headers["access-control-allow-origin"] == "https://eu.partner.example.org"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Origin": SHOP_ORIGIN}, 401),
        ({"Origin": SHOP_ORIGIN, "X-Widget-Key": "pk_live_" + "x" * 32}, 401),
        ({"Origin": "https://copycat.example.net"}, 403),
        ({"Origin": "https://partner.example.org"}, 403),  # a wildcard never allows the apex
        ({"Origin": "http://shop.example.com"}, 403),
        ({}, 403),
    ],
)
async def test_door_2_refusals_carry_no_cors_allow(
    client: httpx.AsyncClient, shop: Shop, headers: dict[str, str], status: int
) -> None:
    sent = dict(headers)
    if status == 403:
        sent["X-Widget-Key"] = shop.widget_key
    response = await client.post("/api/widget/chat", json={"message": "hours?"}, headers=sent)
    assert response.status_code == status, response.text
    assert "access-control-allow-origin" not in response.headers
    assert "Origin" in response.headers["vary"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/api/widget/chat", b'{"message": ', 422),  # malformed JSON
        ("POST", "/api/widget/chat", b'{"message": ""}', 422),
        ("GET", "/api/widget/history", None, 422),  # no session_id
        ("GET", "/api/widget/history?session_id=nobody", None, 404),
    ],
)
async def test_door_2_errors_after_an_allowed_origin_are_readable_by_it(
    client: httpx.AsyncClient, shop: Shop, method: str, path: str, body: bytes | None, status: int
) -> None:
    """The widget can show why it failed: once key and origin pass, errors carry CORS too,
    whether the handler or FastAPI's own parameter check refused."""
    headers = {**widget_headers(shop), "Content-Type": "application/json"}
    response = await client.request(method, path, content=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["access-control-allow-origin"] == SHOP_ORIGIN
    assert response.json()["error"]["code"]
    # A door's caller is a key and an origin, never a Bearer login.
    assert "www-authenticate" not in response.headers


async def test_empty_allow_list_allows_nothing(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    owner = await bearer(client, made.owner_email)
    key = (await client.get("/api/customer-portal/widget/keys", headers=owner)).json()["items"][0]
    assert key["allowed_origins"] == []
    response = await client.post(
        "/api/widget/chat",
        json={"message": "hello"},
        headers={"X-Widget-Key": key["key"], "Origin": PUBLIC_URL},
    )
    assert response.status_code == 403


async def test_preflight_only_for_origins_some_active_key_allows(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    allowed = await client.options(
        "/api/widget/chat",
        headers={
            "Origin": SHOP_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-widget-key",
        },
    )
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == SHOP_ORIGIN
    assert "x-widget-key" in allowed.headers["access-control-allow-headers"].lower()
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "Origin" in allowed.headers["vary"]
    refused = await client.options(
        "/api/widget/chat",
        headers={"Origin": "https://copycat.example.net", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in refused.headers
    assert "access-control-allow-methods" not in refused.headers


async def test_the_real_request_is_checked_against_its_own_key(
    client: httpx.AsyncClient, db: Database, settings: Settings, shop: Shop
) -> None:
    other = await make_tenant(db, settings)
    owner = await bearer(client, other.owner_email)
    key = (await client.get("/api/customer-portal/widget/keys", headers=owner)).json()["items"][0]
    # The shop's origin passes a preflight (the shop's key allows it) but not with this key.
    response = await client.post(
        "/api/widget/chat",
        json={"message": "hours?"},
        headers={"X-Widget-Key": key["key"], "Origin": SHOP_ORIGIN},
    )
    assert response.status_code == 403


async def test_rotated_and_revoked_keys_stop_working(client: httpx.AsyncClient, shop: Shop) -> None:
    keys = (await client.get("/api/customer-portal/widget/keys", headers=shop.owner)).json()
    primary = keys["items"][0]
    rotated = await client.post(
        f"/api/customer-portal/widget/keys/{primary['id']}/rotate", headers=shop.owner
    )
    new_key = rotated.json()["key"]
    old = await client.post(
        "/api/widget/chat", json={"message": "hours?"}, headers=widget_headers(shop)
    )
    assert old.status_code == 401
    shop.widget_key = new_key
    assert (
        await client.post(
            "/api/widget/chat", json={"message": "hours?"}, headers=widget_headers(shop)
        )
    ).status_code == 200

    second = await client.post(
        "/api/customer-portal/widget/keys",
        json={"label": "staging", "allowed_origins": ["https://staging.example.com"]},
        headers=shop.owner,
    )
    await client.delete(
        f"/api/customer-portal/widget/keys/{second.json()['id']}", headers=shop.owner
    )
    revoked = await client.post(
        "/api/widget/chat",
        json={"message": "hours?"},
        headers={"X-Widget-Key": second.json()["key"], "Origin": "https://staging.example.com"},
    )
    assert revoked.status_code == 401


async def test_widget_conversation_needs_its_visitor_token(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    first = await client.post(
        "/api/widget/chat", json={"message": "hours?"}, headers=widget_headers(shop)
    )
    session_id, token = first.json()["session_id"], first.json()["visitor_token"]
    hijack = await client.post(
        "/api/widget/chat",
        json={"message": "what did I ask?", "session_id": session_id},
        headers=widget_headers(shop),
    )
    assert hijack.status_code == 403
    assert hijack.headers["access-control-allow-origin"] == SHOP_ORIGIN  # readable error
    forged = await client.post(
        "/api/widget/chat",
        json={"message": "hours?", "session_id": session_id},
        headers=widget_headers(shop, **{"X-Visitor-Token": "forged"}),
    )
    assert forged.status_code == 403
    ok = await client.post(
        "/api/widget/chat",
        json={"message": "and returns?", "session_id": session_id},
        headers=widget_headers(shop, **{"X-Visitor-Token": token}),
    )
    assert ok.status_code == 200

    history = await client.get(
        "/api/widget/history",
        params={"session_id": session_id},
        headers=widget_headers(shop, **{"X-Visitor-Token": token}),
    )
    assert history.status_code == 200
    roles = [m["role"] for m in history.json()["messages"]]
    assert roles == ["visitor", "assistant", "visitor", "assistant"]
    assert history.headers["access-control-allow-origin"] == SHOP_ORIGIN
    for headers in (widget_headers(shop), widget_headers(shop, **{"X-Visitor-Token": "nope"})):
        refused = await client.get(
            "/api/widget/history", params={"session_id": session_id}, headers=headers
        )
        assert refused.status_code == 403


async def test_a_source_carries_the_page_its_knowledge_came_from(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    page = "https://trail.example.com/returns"
    patched = await client.patch(
        f"/api/knowledge/{shop.items['Returns policy']}",
        json={"source_url": page},
        headers=shop.owner,
    )
    assert patched.status_code == 200, patched.text
    response = await client.post(
        "/api/widget/chat", json={"message": "Can I return an item?"}, headers=widget_headers(shop)
    )
    assert response.status_code == 200, response.text
    reply = response.json()
    cited = {"title": "Returns policy", "id": shop.items["Returns policy"], "source_url": page}
    assert reply["sources"] == [cited]
    history = await client.get(
        "/api/widget/history",
        params={"session_id": reply["session_id"]},
        headers=widget_headers(shop, **{"X-Visitor-Token": reply["visitor_token"]}),
    )
    assert history.json()["messages"][-1]["sources"] == [cited]


async def test_malformed_widget_body_gets_a_readable_error(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    response = await client.post(
        "/api/widget/chat",
        content=b"{not json",
        headers={**widget_headers(shop), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.headers["access-control-allow-origin"] == SHOP_ORIGIN
    assert "JSON" in response.json()["error"]["message"]


# ---- door 3 ------------------------------------------------------------------------------


async def test_door_3_published_requests_example(
    client: httpx.AsyncClient, db: Database, settings: Settings, shop: Shop
) -> None:
    anonymous = await client.post("/api/chat/message", json={"session_id": "s1", "message": "hi"})
    assert anonymous.status_code == 401
    viewer = await make_member(db, settings, shop.made.tenant, Role.VIEWER)
    refused = await client.post(
        "/api/chat/message",
        json={"session_id": "s1", "message": "hi"},
        headers=await bearer(client, viewer.email),
    )
    assert refused.status_code == 403
    assert "chat.manage" in refused.json()["error"]["message"]

    session = await client.post("/api/chat/session", json={}, headers=shop.owner)
    assert session.status_code == 201
    session_id = session.json()["session_id"]
    response = await client.post(
        "/api/chat/message",
        headers=shop.owner,
        json={"session_id": session_id, "message": "Can I return an item?"},
    )
    assert response.status_code == 200, response.text
    assert "30 days" in response.json()["reply"]
    assert "visitor_token" not in response.json()

    history = await client.get(f"/api/chat/history/{session_id}", headers=shop.owner)
    assert [m["role"] for m in history.json()["messages"]] == ["visitor", "assistant"]
    viewer_history = await client.get(
        f"/api/chat/history/{session_id}", headers=await bearer(client, viewer.email)
    )
    assert viewer_history.status_code == 200


async def test_door_3_another_tenants_history_is_404(
    client: httpx.AsyncClient, db: Database, settings: Settings, shop: Shop
) -> None:
    session = await client.post("/api/chat/session", json={}, headers=shop.owner)
    session_id = session.json()["session_id"]
    other = await make_tenant(db, settings)
    other_owner = await bearer(client, other.owner_email)
    response = await client.get(f"/api/chat/history/{session_id}", headers=other_owner)
    assert response.status_code == 404
    write = await client.post(
        "/api/chat/message",
        json={"session_id": session_id, "message": "hello"},
        headers=other_owner,
    )
    # The other tenant's session_id means nothing here: it starts its own conversation.
    assert write.status_code == 200
    mine = await client.get(f"/api/chat/history/{session_id}", headers=shop.owner)
    assert len(mine.json()["messages"]) == 0


async def test_two_tenants_same_session_id_never_meet(
    client: httpx.AsyncClient, db: Database, settings: Settings, shop: Shop
) -> None:
    other = await make_tenant(db, settings)
    for business_id, message in [
        (shop.business_id, "opening hours?"),
        (other.tenant.business_id, "hello there"),
    ]:
        response = await client.post(
            "/api/chat",
            json={"session_id": "session_123", "message": message, "business_id": business_id},
            headers=SAME_ORIGIN,
        )
        assert response.status_code == 200
        assert response.json()["visitor_token"]  # a new conversation in each tenant
    history = await client.get("/api/chat/history/session_123", headers=shop.owner)
    contents = [m["content"] for m in history.json()["messages"]]
    assert "hello there" not in contents
    assert "opening hours?" in contents


# ---- streaming ---------------------------------------------------------------------------


async def test_streaming_on_all_three_doors(client: httpx.AsyncClient, shop: Shop) -> None:
    stream = {"Accept": "text/event-stream"}
    session = (await client.post("/api/chat/session", json={}, headers=shop.owner)).json()
    calls = [
        ("/api/chat", {"message": "opening hours?", "business_id": shop.business_id}, SAME_ORIGIN),
        ("/api/widget/chat", {"message": "opening hours?"}, widget_headers(shop)),
        (
            "/api/chat/message",
            {"session_id": session["session_id"], "message": "opening hours?"},
            shop.owner,
        ),
    ]
    for path, body, headers in calls:
        response = await client.post(path, json=body, headers={**headers, **stream})
        assert response.status_code == 200, (path, response.text)
        assert response.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(response.text)
        names = [name for name, _ in events]
        assert names[-2:] == ["sources", "done"], names
        tokens = [data["text"] for name, data in events if name == "token"]
        assert len(tokens) > 1  # token by token, not one blob
        done = events[-1][1]
        assert "".join(tokens) == done["reply"]
        assert (
            events[-2][1]
            == done["sources"]
            == [{"title": "Opening hours", "id": shop.items["Opening hours"], "source_url": None}]
        )


async def test_streamed_handoff_sends_the_sentence_and_done(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    response = await client.post(
        "/api/chat",
        json={"message": "Who won the 1998 world cup?", "business_id": shop.business_id},
        headers={**SAME_ORIGIN, "Accept": "text/event-stream"},
    )
    events = parse_sse(response.text)
    done = events[-1][1]
    assert done["handoff"] is True
    assert "".join(d["text"] for n, d in events if n == "token") == done["reply"]


# ---- languages ---------------------------------------------------------------------------


async def test_portuguese_and_japanese_questions_find_their_passages(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    pt = await client.post(
        "/api/chat",
        json={"message": "Qual é o horário de atendimento?", "business_id": shop.business_id},
        headers={**SAME_ORIGIN, "Accept-Language": "pt-BR"},
    )
    assert pt.json()["sources"][0]["title"] == "Horário de atendimento"
    ja = await client.post(
        "/api/chat",
        json={"message": "営業時間を教えてください", "business_id": shop.business_id},
        headers={**SAME_ORIGIN, "Accept-Language": "ja"},
    )
    assert ja.json()["sources"][0]["title"] == "営業時間"
    assert "午前9時" in ja.json()["reply"]


# ---- events, rate limits -----------------------------------------------------------------


async def test_events_are_written_with_the_conversation(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    await client.post(
        "/api/chat",
        json={"message": "opening hours?", "business_id": shop.business_id},
        headers=SAME_ORIGIN,
    )
    await client.post(
        "/api/chat",
        json={"message": "I want to speak to a human", "business_id": shop.business_id},
        headers=SAME_ORIGIN,
    )
    async with db.transaction() as session:
        rows = list(
            await session.scalars(
                select(Event)
                .where(Event.tenant_id == shop.made.tenant.id)
                .order_by(Event.created_at)
            )
        )
    types = [e.type for e in rows if e.type != "persona.updated"]
    assert types.count("conversation.created") == 2
    assert types.count("message.created") == 4
    assert types.count("conversation.handoff_requested") == 1
    sample = next(e for e in rows if e.type == "message.created")
    assert sample.payload["type"] == "message.created"
    assert sample.payload["data"]["tenant_id"] == str(shop.made.tenant.id)
    assert sample.payload["data"]["business_id"] == shop.business_id
    assert sample.payload["data"]["message"]["role"] == "visitor"
    assert sample.payload["timestamp"]


async def test_door_rate_limits_answer_429_with_headers(
    db: Database, settings: Settings, shop: Shop
) -> None:
    from bob.main import create_app

    app = create_app(settings.model_copy(update={"chat_limit_per_ip": "2/minute"}), database=db)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.77", 1))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as c:
        body = {"message": "opening hours?", "business_id": shop.business_id}
        for _ in range(2):
            ok = await c.post("/api/chat", json=body, headers=SAME_ORIGIN)
            assert ok.status_code == 200
        limited = await c.post("/api/chat", json=body, headers=SAME_ORIGIN)
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.headers["ratelimit-limit"] == "2"
        assert limited.headers["ratelimit-remaining"] == "0"
        widget = await c.post(
            "/api/widget/chat", json={"message": "hours?"}, headers=widget_headers(shop)
        )
        assert widget.status_code == 429
        assert widget.headers["access-control-allow-origin"] == SHOP_ORIGIN


async def test_door_1_visitor_reads_their_transcript_with_the_token(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    first = await client.post(
        "/api/chat",
        json={"message": "I'd like to talk to a person", "business_id": shop.business_id},
        headers=SAME_ORIGIN,
    )
    session_id, token = first.json()["session_id"], first.json()["visitor_token"]
    listed = await client.get("/api/conversations", headers=shop.owner)
    conversation_id = next(c["id"] for c in listed.json()["items"] if c["session_id"] == session_id)
    await client.post(
        f"/api/conversations/{conversation_id}/reply",
        json={"message": "Hello, this is Rita."},
        headers=shop.owner,
    )
    params = {"session_id": session_id, "business_id": shop.business_id}
    transcript = await client.get(
        "/api/chat/transcript", params=params, headers={**SAME_ORIGIN, "X-Visitor-Token": token}
    )
    assert transcript.status_code == 200
    assert transcript.json()["conversation_status"] == "human"
    assert transcript.json()["messages"][-1]["content"] == "Hello, this is Rita."
    assert transcript.json()["messages"][-1]["role"] == "operator"
    with_cookie = await client.get("/api/chat/transcript", params=params, headers=SAME_ORIGIN)
    assert with_cookie.status_code == 200
    assert with_cookie.json() == transcript.json()
    client.cookies.clear()  # another browser: neither the token nor the cookie
    without = await client.get("/api/chat/transcript", params=params, headers=SAME_ORIGIN)
    assert without.status_code == 403
    assert without.json()["error"]["code"] == "visitor_mismatch"
    foreign = await client.get(
        "/api/chat/transcript",
        params=params,
        headers={"Origin": "https://evil.example.com", "X-Visitor-Token": token},
    )
    assert foreign.status_code == 403


async def test_widget_rate_limit_headers_report_the_tighter_limit(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    response = await client.post(
        "/api/widget/chat", json={"message": "hours?"}, headers=widget_headers(shop)
    )
    assert response.headers["ratelimit-limit"] == "30"  # per IP, not the key's 600


async def test_forged_cursors_are_422_not_500(client: httpx.AsyncClient, shop: Shop) -> None:
    import base64
    import json

    forged = base64.urlsafe_b64encode(json.dumps({"at": "x", "id": "y"}).encode()).decode()
    for path in ["/api/conversations", "/api/personas", "/api/knowledge"]:
        response = await client.get(path, params={"cursor": forged}, headers=shop.owner)
        assert response.status_code == 422, (path, response.text)
        assert "cursor" in response.json()["error"]["message"]


async def test_development_accepts_the_host_the_page_was_loaded_from(
    db: Database, settings: Settings, shop: Shop
) -> None:
    from bob.main import create_app

    app = create_app(settings, database=db)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.5", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as c:
        body = {"message": "opening hours?", "business_id": shop.business_id}
        local = await c.post("/api/chat", json=body, headers={"Origin": "http://localhost:8000"})
        assert local.status_code == 200
        elsewhere = await c.post(
            "/api/chat", json=body, headers={"Origin": "http://localhost:9999"}
        )
        assert elsewhere.status_code == 403
    production = settings.model_copy(update={"env": "production"})
    app = create_app(production, database=db)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.5", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as c:
        refused = await c.post("/api/chat", json=body, headers={"Origin": "http://localhost:8000"})
        assert refused.status_code == 403


async def test_reply_follows_the_language_of_the_message(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    english = await client.post(
        "/api/chat",
        json={"message": "What are your opening hours?", "business_id": shop.business_id},
        headers={**SAME_ORIGIN, "Accept-Language": "en-US"},
    )
    portuguese = await client.post(
        "/api/chat",
        json={
            "message": "Qual é o horário de atendimento da loja?",
            "business_id": shop.business_id,
        },
        headers={**SAME_ORIGIN, "Accept-Language": "en-US"},
    )
    intro_en = english.json()["reply"].split("\n")[0]
    intro_pt = portuguese.json()["reply"].split("\n")[0]
    assert intro_en != intro_pt
