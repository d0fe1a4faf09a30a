"""The anonymous doors' own limits: a business's ceilings on doors 1 and 2 together, a visitor's
allowance per conversation, and the optional proof-of-work challenge for a new conversation."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import altcha
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from bob.chat.models import Conversation
from bob.db.session import Database
from bob.main import create_app
from bob.ratelimit import RateLimiter
from bob.settings import Settings, derive_key
from tests.conftest import PUBLIC_URL, redis_limiter
from tests.integration.chat.conftest import SHOP_ORIGIN, Shop, parse_sse

SAME_ORIGIN = {"Origin": PUBLIC_URL}
LIMITS = "/api/customer-portal/widget/limits"


def widget_headers(shop: Shop, **extra: str) -> dict[str, str]:
    return {"X-Widget-Key": shop.widget_key, "Origin": SHOP_ORIGIN, **extra}


def solve(challenge: dict[str, Any]) -> str:
    """What the widget's SubtleCrypto loop does, with the library's own solver."""
    parsed = altcha.Challenge.from_dict(challenge)
    solution = altcha.solve_challenge(parsed, timeout=30)
    assert solution is not None
    return altcha.Payload(parsed, solution).to_base64()


async def set_limits(client: httpx.AsyncClient, shop: Shop, **changes: object) -> dict[str, Any]:
    response = await client.put(LIMITS, json=changes, headers=shop.owner)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def door_1(
    client: httpx.AsyncClient,
    shop: Shop,
    message: str = "What are your opening hours?",
    **extra: Any,
) -> httpx.Response:
    headers = {**SAME_ORIGIN, **extra.pop("headers", {})}
    body = {"message": message, "business_id": shop.business_id, **extra}
    return await client.post("/api/chat", json=body, headers=headers)


async def door_2(
    client: httpx.AsyncClient,
    shop: Shop,
    message: str = "What are your opening hours?",
    **extra: Any,
) -> httpx.Response:
    headers = widget_headers(shop, **extra.pop("headers", {}))
    return await client.post(
        "/api/widget/chat", json={"message": message, **extra}, headers=headers
    )


async def conversations(db: Database, shop: Shop) -> int:
    async with db.transaction() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(Conversation.tenant_id == shop.made.tenant.id)
        )
    return int(count or 0)


# ---- the business's ceilings --------------------------------------------------------------


async def test_a_loop_on_both_doors_stops_at_the_ceiling_per_minute(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    await set_limits(client, shop, replies_per_minute=4)
    answered = [
        await door_1(client, shop),
        await door_2(client, shop),
        await door_1(client, shop),
        await door_2(client, shop),
    ]
    assert [r.status_code for r in answered] == [200] * 4
    assert all(r.json()["credits_used"] == 1 for r in answered)

    for refused in (await door_1(client, shop), await door_2(client, shop)):
        assert refused.status_code == 429, refused.text
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        error = refused.json()["error"]
        assert error["code"] == "anonymous_minute_limit"
        assert "limit of 4 replies per minute" in error["message"]
        assert refused.headers["ratelimit-limit"] == "4"
    # The widget's refusal is readable by the site, like its other errors.
    assert refused.headers["access-control-allow-origin"] == SHOP_ORIGIN
    assert await conversations(db, shop) == 4  # nothing stored for a refused message

    # Another business on the same installation is not affected.
    other = await client.post(
        "/api/chat",
        json={"message": "hello", "business_id": "bob-platform"},
        headers=SAME_ORIGIN,
    )
    assert other.status_code == 200


async def test_the_ceiling_per_day_names_itself(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    limits = await set_limits(client, shop, replies_per_day=3)
    assert limits["replies_per_day"] == {"limit": 3, "override": 3, "plan_default": 5000}
    assert limits["replies_per_minute"]["limit"] == 120  # the pro plan's default stays
    for _ in range(3):
        assert (await door_2(client, shop)).status_code == 200
    refused = await door_1(client, shop)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "anonymous_day_limit"
    assert "limit of 3 replies per day" in refused.json()["error"]["message"]
    assert int(refused.headers["retry-after"]) >= 1


async def test_the_operator_console_is_not_counted(client: httpx.AsyncClient, shop: Shop) -> None:
    await set_limits(client, shop, replies_per_minute=1)
    assert (await door_1(client, shop)).status_code == 200
    assert (await door_1(client, shop)).status_code == 429
    session = await client.post("/api/chat/session", json={}, headers=shop.owner)
    reply = await client.post(
        "/api/chat/message",
        json={"session_id": session.json()["session_id"], "message": "opening hours?"},
        headers=shop.owner,
    )
    assert reply.status_code == 200


async def test_the_ceilings_are_shared_between_processes_through_redis(
    app: FastAPI, settings: Settings, shop: Shop, redis_url: str
) -> None:
    # Two app instances (two server processes) sharing one Redis see one count.
    limiter = redis_limiter(redis_url)
    other = create_app(settings, database=app.state.db)
    app.state.limiter = other.state.limiter = limiter
    owner_client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("192.0.2.10", 1)), base_url=PUBLIC_URL
    )
    async with owner_client as c:
        await set_limits(c, shop, replies_per_minute=3)
    statuses = []
    for index in range(4):
        target = app if index % 2 else other
        transport = httpx.ASGITransport(app=target, client=(f"192.0.2.{20 + index}", 1))
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as c:
            door = door_1 if index % 2 else door_2
            statuses.append((await door(c, shop)).status_code)
    assert statuses == [200, 200, 200, 429]


# ---- a visitor's allowance ------------------------------------------------------------------


@pytest.fixture
async def strict_visitor(db: Database, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        settings.model_copy(update={"chat_limit_per_visitor": "2/minute"}), database=db
    )
    transport = httpx.ASGITransport(app=app, client=("198.51.100.40", 1))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        yield client


async def test_a_visitor_is_limited_per_conversation(
    strict_visitor: httpx.AsyncClient, shop: Shop
) -> None:
    first = await door_2(strict_visitor, shop)
    session_id, token = first.json()["session_id"], first.json()["visitor_token"]
    follow = {"session_id": session_id, "headers": {"X-Visitor-Token": token}}
    assert (await door_2(strict_visitor, shop, "returns?", **follow)).status_code == 200
    assert (await door_2(strict_visitor, shop, "returns?", **follow)).status_code == 200
    refused = await door_2(strict_visitor, shop, "returns?", **follow)
    assert refused.status_code == 429
    assert "in this conversation" in refused.json()["error"]["message"]
    assert int(refused.headers["retry-after"]) >= 1
    # Another conversation from the same address has its own allowance.
    assert (await door_2(strict_visitor, shop)).status_code == 200
    # Someone who knows the session id but not the token spends none of the visitor's
    # allowance: the pipeline refuses them for the conversation itself.
    stranger = await door_2(
        strict_visitor, shop, "hi", session_id=session_id, headers={"X-Visitor-Token": "guess"}
    )
    assert stranger.status_code == 403
    assert stranger.json()["error"]["code"] == "visitor_mismatch"


async def test_door_1_visitors_are_limited_per_conversation_with_their_cookie(
    strict_visitor: httpx.AsyncClient, shop: Shop
) -> None:
    first = await door_1(strict_visitor, shop)
    session_id = first.json()["session_id"]
    for _ in range(2):
        again = await door_1(strict_visitor, shop, "returns?", session_id=session_id)
        assert again.status_code == 200, again.text
    refused = await door_1(strict_visitor, shop, "returns?", session_id=session_id)
    assert refused.status_code == 429


# ---- the challenge ------------------------------------------------------------------------


async def widget_challenge(client: httpx.AsyncClient, shop: Shop) -> dict[str, Any]:
    response = await client.get("/api/widget/challenge", headers=widget_headers(shop))
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == SHOP_ORIGIN
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    return body


async def test_the_challenge_is_off_by_default(client: httpx.AsyncClient, shop: Shop) -> None:
    limits = (await client.get(LIMITS, headers=shop.owner)).json()
    assert limits["challenge"] is False
    assert (await door_2(client, shop)).status_code == 200
    assert (await door_1(client, shop)).status_code == 200


async def test_widget_door_needs_a_solved_challenge_once_per_conversation(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    await set_limits(client, shop, challenge=True)
    config = await client.get("/api/widget/config", headers=widget_headers(shop))
    assert config.json()["challenge"] is True

    missing = await door_2(client, shop)
    assert missing.status_code == 403
    assert missing.json()["error"]["code"] == "challenge_required"
    assert "/api/widget/challenge" in missing.json()["error"]["message"]
    assert missing.headers["access-control-allow-origin"] == SHOP_ORIGIN
    # A session id the visitor makes up is a new conversation too.
    made_up = await door_2(client, shop, session_id="sess_my_own")
    assert made_up.json()["error"]["code"] == "challenge_required"
    assert await conversations(db, shop) == 0

    challenge = await widget_challenge(client, shop)
    assert challenge["parameters"]["algorithm"] == "SHA-256"
    assert challenge["parameters"]["data"] == {"tenant": str(shop.made.tenant.id), "door": "widget"}
    solution = solve(challenge)
    accepted = await door_2(client, shop, headers={"X-Altcha": solution})
    assert accepted.status_code == 200, accepted.text
    assert "10:00 to 14:00" in accepted.json()["reply"]

    # The conversation continues without another challenge.
    body = accepted.json()
    follow = await door_2(
        client,
        shop,
        "How do I return an item?",
        session_id=body["session_id"],
        headers={"X-Visitor-Token": body["visitor_token"]},
    )
    assert follow.status_code == 200
    assert "30 days" in follow.json()["reply"]

    replayed = await door_2(client, shop, headers={"X-Altcha": solution})
    assert replayed.status_code == 403
    assert replayed.json()["error"]["code"] == "challenge_used"
    assert await conversations(db, shop) == 1


async def test_a_streamed_widget_reply_works_with_the_challenge(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    await set_limits(client, shop, challenge=True)
    solution = solve(await widget_challenge(client, shop))
    response = await door_2(
        client, shop, headers={"X-Altcha": solution, "Accept": "text/event-stream"}
    )
    assert response.status_code == 200
    events = parse_sse(response.text)
    assert events[-1][0] == "done"
    assert events[-1][1]["visitor_token"]


async def test_door_1_needs_a_solved_challenge_from_its_own_endpoint(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    await set_limits(client, shop, challenge=True)
    missing = await door_1(client, shop)
    assert missing.status_code == 403
    assert missing.json()["error"]["code"] == "challenge_required"
    assert "/api/chat/challenge" in missing.json()["error"]["message"]

    # A widget challenge does not open door 1: each door's challenges name their door.
    from_widget = solve(await widget_challenge(client, shop))
    wrong_door = await door_1(client, shop, headers={"X-Altcha": from_widget})
    assert wrong_door.status_code == 403
    assert wrong_door.json()["error"]["code"] == "challenge_invalid"

    issued = await client.get("/api/chat/challenge", params={"business_id": shop.business_id})
    assert issued.status_code == 200
    assert issued.headers["cache-control"] == "no-store"
    solution = solve(issued.json())
    accepted = await door_1(client, shop, headers={"X-Altcha": solution})
    assert accepted.status_code == 200, accepted.text
    replayed = await door_1(client, shop, headers={"X-Altcha": solution})
    assert replayed.status_code == 403
    assert replayed.json()["error"]["code"] == "challenge_used"


@pytest.mark.parametrize(
    "payload", ["not base64 at all", "eyJmb28iOiAxfQ==", "x" * 5000, "bnVsbA=="]
)
async def test_garbage_is_not_a_solution(
    client: httpx.AsyncClient, shop: Shop, payload: str
) -> None:
    await set_limits(client, shop, challenge=True)
    refused = await door_2(client, shop, headers={"X-Altcha": payload})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "challenge_invalid"


async def test_altered_foreign_and_expired_challenges_are_refused(
    client: httpx.AsyncClient, db: Database, settings: Settings, shop: Shop
) -> None:
    await set_limits(client, shop, challenge=True)
    challenge = await widget_challenge(client, shop)
    # Making the puzzle easier breaks the signature.
    easier = {**challenge, "parameters": {**challenge["parameters"], "keyPrefix": "0"}}
    altered = await door_2(client, shop, headers={"X-Altcha": solve(easier)})
    assert altered.json()["error"]["code"] == "challenge_invalid"

    platform = await client.get("/api/chat/challenge")  # the platform tenant's door 1
    foreign = await door_1(client, shop, headers={"X-Altcha": solve(platform.json())})
    assert foreign.json()["error"]["code"] == "challenge_invalid"
    assert "another business" in foreign.json()["error"]["message"]

    key = derive_key(settings.secret, "altcha")
    stale = altcha.create_challenge(
        "SHA-256",
        1,
        key_prefix="00",
        expires_at=int(time.time()) - 1,
        data={"tenant": str(shop.made.tenant.id), "door": "widget"},
        hmac_secret=key,
    )
    expired = await door_2(client, shop, headers={"X-Altcha": solve(stale.to_dict())})
    assert expired.json()["error"]["code"] == "challenge_invalid"
    assert "expired" in expired.json()["error"]["message"]
    assert await conversations(db, shop) == 0


async def test_challenge_endpoints_follow_their_doors_rules(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    copied = await client.get(
        "/api/widget/challenge",
        headers={"X-Widget-Key": shop.widget_key, "Origin": "https://copycat.example.com"},
    )
    assert copied.status_code == 403
    assert "access-control-allow-origin" not in copied.headers
    no_key = await client.get("/api/widget/challenge", headers={"Origin": SHOP_ORIGIN})
    assert no_key.status_code == 401
    preflight = await client.options(
        "/api/widget/challenge",
        headers={
            "Origin": SHOP_ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-widget-key",
        },
    )
    assert preflight.status_code == 204
    assert "X-Altcha" in preflight.headers["access-control-allow-headers"]
    unknown = await client.get("/api/chat/challenge", params={"business_id": "no-such-business"})
    assert unknown.status_code == 404


async def test_solutions_are_single_use_across_processes_through_redis(
    app: FastAPI, settings: Settings, shop: Shop, redis_url: str
) -> None:
    limiter: RateLimiter = redis_limiter(redis_url)
    other = create_app(settings, database=app.state.db)
    app.state.limiter = other.state.limiter = limiter
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url=PUBLIC_URL)
        for a in (app, other)
    ]
    async with clients[0] as first, clients[1] as second:
        await set_limits(first, shop, challenge=True)
        solution = solve(await widget_challenge(first, shop))
        assert (await door_2(first, shop, headers={"X-Altcha": solution})).status_code == 200
        replayed = await door_2(second, shop, headers={"X-Altcha": solution})
        assert replayed.status_code == 403
        assert replayed.json()["error"]["code"] == "challenge_used"
