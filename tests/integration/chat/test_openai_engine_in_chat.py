"""The chat doors with a tenant on the OpenAI-compatible engine, served on loopback."""

from __future__ import annotations

import logging

import httpx
import pytest

from bob.db.session import Database
from bob.engines import service as engines
from bob.settings import Settings
from tests.conftest import PUBLIC_URL
from tests.engines_server import HOST, FakeOpenAI, unused_port
from tests.integration.chat.conftest import Shop, parse_sse

SAME_ORIGIN = {"Origin": PUBLIC_URL}


async def _use_openai(db: Database, settings: Settings, shop: Shop, base_url: str) -> None:
    # The stub answers on loopback, which a tenant's URL reaches only on the operator's say-so.
    settings.tenant_engine_allowed_hosts = [HOST, "localhost"]
    async with db.transaction() as session:
        await engines.set_overrides(
            session=session,
            settings=settings,
            tenant_id=shop.made.tenant.id,
            engine="openai",
            model="fake-model-1",
            base_url=base_url,
            api_key="sk-tenant-test",
        )


async def test_openai_engine_answers_with_persona_and_sources_in_the_prompt(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    shop: Shop,
    fake_openai: FakeOpenAI,
) -> None:
    await _use_openai(db, settings, shop, fake_openai.base_url)
    fake_openai.chunks = ["We are open ", "on Saturday ", "from 10:00 to 14:00."]
    response = await client.post(
        "/api/chat",
        json={"message": "Are you open on Saturday?", "business_id": shop.business_id},
        headers={**SAME_ORIGIN, "Accept": "text/event-stream"},
    )
    events = parse_sse(response.text)
    tokens = [d["text"] for n, d in events if n == "token"]
    assert "".join(tokens) == "We are open on Saturday from 10:00 to 14:00."
    done = events[-1][1]
    assert done["sources"][0]["title"] == "Opening hours"
    assert done["handoff"] is False
    request = fake_openai.requests[-1]
    assert request.headers["authorization"] == "Bearer sk-tenant-test"
    assert "Saturday from 10:00 to 14:00" in request.system_prompt  # the retrieved passage
    assert "front-office assistant" in request.system_prompt  # the persona's systemPrompt
    assert request.body["messages"][-1] == {"role": "user", "content": "Are you open on Saturday?"}


@pytest.mark.parametrize("scenario", ["status", "hang", "refused"])
async def test_engine_failure_is_a_polite_handoff_never_a_5xx(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    shop: Shop,
    fake_openai: FakeOpenAI,
    scenario: str,
) -> None:
    base_url = fake_openai.base_url
    if scenario == "refused":
        base_url = f"http://127.0.0.1:{unused_port()}/v1"
    else:
        fake_openai.scenario = scenario
        fake_openai.status = 503
    await _use_openai(db, settings, shop, base_url)
    fast = settings.model_copy(update={"openai_timeout_s": 0.5})
    from bob.main import create_app

    app = create_app(fast, database=db)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.90", 1))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as c:
        response = await c.post(
            "/api/chat",
            json={"message": "Are you open on Saturday?", "business_id": shop.business_id},
            headers=SAME_ORIGIN,
        )
        streamed = await c.post(
            "/api/chat",
            json={"message": "And on Sunday?", "business_id": shop.business_id},
            headers={**SAME_ORIGIN, "Accept": "text/event-stream"},
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["handoff"] is True
    assert body["conversation_status"] == "pending_human"
    assert body["reply"]
    assert streamed.status_code == 200
    assert parse_sse(streamed.text)[-1][0] == "done"


async def test_model_that_finds_no_answer_hands_over(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    shop: Shop,
    fake_openai: FakeOpenAI,
) -> None:
    await _use_openai(db, settings, shop, fake_openai.base_url)
    fake_openai.chunks = ["[[HAND", "OFF]]"]
    response = await client.post(
        "/api/chat",
        json={"message": "Do you sell kayaks on Saturday?", "business_id": shop.business_id},
        headers=SAME_ORIGIN,
    )
    body = response.json()
    assert body["handoff"] is True
    assert "[[" not in body["reply"]


async def test_the_operators_loopback_endpoint_answers_unguarded(
    db: Database, settings: Settings, shop: Shop, fake_openai: FakeOpenAI
) -> None:
    # A model server on the operator's own machine (Ollama, vLLM): no allowed hosts needed.
    local = settings.model_copy(
        update={"engine": "openai", "openai_base_url": fake_openai.base_url}
    )
    assert local.tenant_engine_allowed_hosts == []
    fake_openai.chunks = ["We are open ", "on Saturday ", "from 10:00 to 14:00."]
    from bob.main import create_app

    transport = httpx.ASGITransport(app=create_app(local, database=db), client=("203.0.113.91", 1))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as c:
        response = await c.post(
            "/api/chat",
            json={"message": "Are you open on Saturday?", "business_id": shop.business_id},
            headers=SAME_ORIGIN,
        )
    body = response.json()
    assert body["reply"] == "We are open on Saturday from 10:00 to 14:00."
    assert body["handoff"] is False
    assert len(fake_openai.requests) == 1


async def test_a_tenant_url_refused_at_connect_time_hands_over_and_sends_nothing(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    shop: Shop,
    fake_openai: FakeOpenAI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="bob.engines")
    # Saved while the operator allowed localhost; the operator has since taken it off the list.
    await _use_openai(db, settings, shop, f"http://localhost:{fake_openai.port}/v1")
    settings.tenant_engine_allowed_hosts = []
    response = await client.post(
        "/api/chat",
        json={"message": "Are you open on Saturday?", "business_id": shop.business_id},
        headers=SAME_ORIGIN,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["handoff"] is True
    assert body["conversation_status"] == "pending_human"
    assert body["reply"]
    assert fake_openai.requests == []
    # The engine was asked and refused the address, rather than never being asked at all.
    assert "engine failed: refused: localhost is a private host name" in caplog.text
