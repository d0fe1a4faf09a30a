"""Delivery through the worker to a real receiver on loopback, verified with the Standard
Webhooks reference library."""

from __future__ import annotations

import json
import socket
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from bob.audit import AuditEntry
from bob.db.session import Database
from bob.db.types import utcnow
from bob.events import catalogue, outbox
from bob.events.models import Event, WebhookDelivery, WebhookEndpoint
from bob.settings import Settings
from bob.tenants.models import Tenant
from bob.webhooks.worker import Worker
from tests.integration.webhooks.conftest import (
    DELIVERIES,
    ENDPOINTS,
    add_endpoint,
    conversation,
    owner_of,
)
from tests.webhook_receiver import Receiver, Reply


async def _emit(db: Database, tenant: Tenant, type: str, data: dict[str, Any]) -> Event:
    async with db.transaction() as session:
        return await outbox.emit(session=session, tenant=tenant, type=type, data=data)


CONVERSATION = conversation()


async def test_a_receiver_knowing_only_the_secret_verifies_the_delivery(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    receiver: Receiver,
    worker: Worker,
) -> None:
    owner = await owner_of(client, db, settings)
    endpoint = await add_endpoint(client, owner, receiver)
    event = await _emit(db, owner.tenant, "conversation.created", CONVERSATION)

    assert await worker.run_once() == 1
    [got] = receiver.wait_for(1)
    payload = Webhook(endpoint["secret"]).verify(got.body, got.headers)
    assert payload["type"] == "conversation.created"
    assert payload["data"]["tenant_id"] == str(owner.tenant.id)
    assert payload["data"]["business_id"] == owner.tenant.business_id
    assert payload["data"]["conversation"] == CONVERSATION["conversation"]
    catalogue.validate_payload(payload)
    assert got.headers["webhook-id"] == f"msg_{event.id.hex}"
    assert got.headers["content-type"] == "application/json"
    assert got.path == "/hooks"
    # Another secret, or a body changed on the way, does not verify.
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "QUJD" * 8).verify(got.body, got.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint["secret"]).verify(got.body.replace(b"bot", b"bad"), got.headers)

    log = (await client.get(DELIVERIES, headers=owner.headers)).json()["items"]
    assert [d["status"] for d in log] == ["succeeded"]
    [attempt] = log[0]["attempts"]
    assert attempt["status_code"] == 200
    assert attempt["succeeded"] is True
    assert attempt["response_body"] == "ok"
    assert attempt["latency_ms"] >= 0
    assert log[0]["webhook_id"] == got.webhook_id


async def test_unicode_payloads_are_signed_over_the_exact_bytes_sent(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    receiver: Receiver,
    worker: Worker,
) -> None:
    owner = await owner_of(client, db, settings)
    endpoint = await add_endpoint(client, owner, receiver)
    message = {
        "id": str(uuid.uuid4()),
        "role": "visitor",
        "content": '配送は何日かかりますか\uff1f Olá, ação! \u2028 "quotes" 🚲',
        "created_at": utcnow().isoformat(),
    }
    await _emit(db, owner.tenant, "message.created", {**CONVERSATION, "message": message})
    await worker.run_once()
    [got] = receiver.wait_for(1)
    payload = Webhook(endpoint["secret"]).verify(got.body, got.headers)
    assert payload["data"]["message"]["content"] == message["content"]


async def test_endpoints_receive_only_the_event_types_they_subscribe_to(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    receiver: Receiver,
    worker: Worker,
) -> None:
    owner = await owner_of(client, db, settings)
    conversations = await add_endpoint(
        client, owner, receiver, url=f"{receiver.url}/conv", event_types=["conversation.*"]
    )
    personas = await add_endpoint(
        client, owner, receiver, url=f"{receiver.url}/persona", event_types=["persona.updated"]
    )
    everything = await add_endpoint(client, owner, receiver, url=f"{receiver.url}/all")
    assert everything["event_types"] == ["*"]
    persona = {"persona": {"id": str(uuid.uuid4()), "name": "Bo", "is_default": True}}
    persona["persona"]["change"] = "updated"
    await _emit(db, owner.tenant, "conversation.created", CONVERSATION)
    await _emit(db, owner.tenant, "persona.updated", persona)
    await _emit(db, owner.tenant, "conversation.closed", CONVERSATION)

    assert await worker.drain() == 6
    got = receiver.wait_for(6)
    by_path: dict[str, list[str]] = {}
    for request in got:
        by_path.setdefault(request.path, []).append(json.loads(request.body)["type"])
    assert sorted(by_path["/conv"]) == ["conversation.closed", "conversation.created"]
    assert by_path["/persona"] == ["persona.updated"]
    assert sorted(by_path["/all"]) == [
        "conversation.closed",
        "conversation.created",
        "persona.updated",
    ]
    # The log filters by endpoint and by event type.
    log = await client.get(
        DELIVERIES, params={"endpoint_id": conversations["id"]}, headers=owner.headers
    )
    assert {d["event_type"] for d in log.json()["items"]} == {
        "conversation.created",
        "conversation.closed",
    }
    log = await client.get(
        DELIVERIES, params={"event_type": "persona.updated"}, headers=owner.headers
    )
    assert {d["endpoint_id"] for d in log.json()["items"]} == {personas["id"], everything["id"]}


async def test_nothing_is_sent_for_a_rolled_back_change(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    receiver: Receiver,
    worker: Worker,
) -> None:
    owner = await owner_of(client, db, settings)
    await add_endpoint(client, owner, receiver)

    class Boom(Exception):
        pass

    async def change_that_fails() -> None:
        async with db.transaction() as session:
            await outbox.emit(
                session=session, tenant=owner.tenant, type="conversation.created", data=CONVERSATION
            )
            raise Boom

    with pytest.raises(Boom):
        await change_that_fails()
    assert await worker.drain() == 0
    async with db.transaction() as session:
        assert (
            await session.scalar(
                select(func.count())
                .select_from(WebhookDelivery)
                .where(WebhookDelivery.tenant_id == owner.tenant.id)
            )
            == 0
        )
    assert receiver.requests == []


async def test_a_receiver_that_fails_twice_gets_it_on_the_third_try(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    receiver: Receiver,
    worker: Worker,
) -> None:
    owner = await owner_of(client, db, settings)
    endpoint = await add_endpoint(client, owner, receiver)
    receiver.then(Reply(500, b"database is down"), Reply(503, b"x" * 5000))
    await _emit(db, owner.tenant, "conversation.closed", CONVERSATION)

    assert await worker.drain() == 3
    got = receiver.wait_for(3)
    assert len({r.webhook_id for r in got}) == 1  # stable across retries
    for request in got:  # each attempt signed afresh, each verifies
        Webhook(endpoint["secret"]).verify(request.body, request.headers)

    [delivery] = (await client.get(DELIVERIES, headers=owner.headers)).json()["items"]
    assert delivery["status"] == "succeeded"
    assert delivery["attempt_count"] == 3
    attempts = delivery["attempts"]
    assert [a["status_code"] for a in attempts] == [500, 503, 200]
    assert [a["succeeded"] for a in attempts] == [False, False, True]
    assert attempts[0]["response_body"] == "database is down"
    assert attempts[0]["error"] == "HTTP 500"
    assert attempts[1]["response_body"] == "x" * 1024  # the first 1 KB only
    # The endpoint recovered, so it is not counted as failing.
    endpoint_now = (await client.get(f"{ENDPOINTS}/{endpoint['id']}", headers=owner.headers)).json()
    assert endpoint_now["failing_since"] is None


async def test_after_the_last_retry_the_delivery_is_failed(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    receiver: Receiver,
    worker: Worker,
) -> None:
    owner = await owner_of(client, db, settings)
    endpoint = await add_endpoint(client, owner, receiver)
    receiver.default = Reply(302, b"", headers={"location": "https://elsewhere.example/"})
    await _emit(db, owner.tenant, "conversation.closed", CONVERSATION)

    # One attempt plus one per entry of the retry schedule.
    assert await worker.drain() == 1 + len(settings.webhook_retry_schedule)
    [delivery] = (await client.get(DELIVERIES, headers=owner.headers)).json()["items"]
    assert delivery["status"] == "failed"
    assert delivery["next_attempt_at"] is None
    assert all("redirects are not followed" in a["error"] for a in delivery["attempts"])
    assert len(receiver.requests) == 4  # the redirect was never followed
    failed = await client.get(DELIVERIES, params={"status": "failed"}, headers=owner.headers)
    assert [d["id"] for d in failed.json()["items"]] == [delivery["id"]]
    endpoint_now = (await client.get(f"{ENDPOINTS}/{endpoint['id']}", headers=owner.headers)).json()
    assert endpoint_now["failing_since"] is not None
    assert endpoint_now["enabled"] is True


async def test_retries_follow_the_schedule_with_jitter(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    settings.webhook_retry_schedule = [5.0, 300.0]
    worker = Worker(db=db, settings=settings, name="schedule")
    owner = await owner_of(client, db, settings)
    await add_endpoint(client, owner, receiver)
    receiver.default = Reply(500)
    await _emit(db, owner.tenant, "conversation.closed", CONVERSATION)
    before = utcnow()
    assert await worker.run_once() == 1
    assert await worker.run_once() == 0  # not due for another 5 seconds
    async with db.transaction() as session:
        delivery = await session.scalar(
            select(WebhookDelivery).where(WebhookDelivery.tenant_id == owner.tenant.id)
        )
        assert delivery is not None
        assert delivery.next_attempt_at is not None
        wait = (delivery.next_attempt_at - before).total_seconds()
        assert 5 <= wait <= 5 * 1.1 + 2
        delivery.next_attempt_at = utcnow()  # pretend the time has come
    assert await worker.run_once() == 1
    async with db.transaction() as session:
        delivery = await session.get(WebhookDelivery, delivery.id, populate_existing=True)
        assert delivery is not None
        assert delivery.next_attempt_at is not None
        wait = (delivery.next_attempt_at - utcnow()).total_seconds()
        assert 295 <= wait <= 300 * 1.1
    await worker.close()


async def test_redelivery_sends_again_with_the_same_webhook_id(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    receiver: Receiver,
    worker: Worker,
) -> None:
    owner = await owner_of(client, db, settings)
    await add_endpoint(client, owner, receiver)
    await _emit(db, owner.tenant, "conversation.closed", CONVERSATION)
    await worker.drain()
    [delivery] = (await client.get(DELIVERIES, headers=owner.headers)).json()["items"]

    response = await client.post(f"{DELIVERIES}/{delivery['id']}/redeliver", headers=owner.headers)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "pending"
    assert await worker.drain() == 1
    first, second = receiver.wait_for(2)
    assert first.webhook_id == second.webhook_id
    assert first.body == second.body
    again = (await client.get(f"{DELIVERIES}/{delivery['id']}", headers=owner.headers)).json()
    assert again["status"] == "succeeded"
    assert [a["number"] for a in again["attempts"]] == [1, 2]


async def test_rotation_signs_with_both_secrets_for_24_hours(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    receiver: Receiver,
    worker: Worker,
) -> None:
    owner = await owner_of(client, db, settings)
    endpoint = await add_endpoint(client, owner, receiver)
    old_secret = endpoint["secret"]
    rotated = await client.post(
        f"{ENDPOINTS}/{endpoint['id']}/rotate-secret", headers=owner.headers
    )
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret != old_secret
    assert new_secret.startswith("whsec_")
    await _emit(db, owner.tenant, "conversation.closed", CONVERSATION)
    await worker.drain()
    [got] = receiver.wait_for(1)
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    Webhook(old_secret).verify(got.body, got.headers)  # receivers not yet switched
    Webhook(new_secret).verify(got.body, got.headers)  # receivers already switched

    # Once the overlap is over, only the new secret signs.
    async with db.transaction() as session:
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == uuid.UUID(endpoint["id"]))
            .values(previous_secret_expires_at=utcnow() - timedelta(seconds=1))
        )
    await _emit(db, owner.tenant, "conversation.closed", CONVERSATION)
    await worker.drain()
    later = receiver.wait_for(2)[1]
    assert len(later.headers["webhook-signature"].split(" ")) == 1
    Webhook(new_secret).verify(later.body, later.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old_secret).verify(later.body, later.headers)


async def test_the_test_event_goes_to_that_endpoint_only(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    receiver: Receiver,
    worker: Worker,
) -> None:
    owner = await owner_of(client, db, settings)
    target = await add_endpoint(client, owner, receiver, url=f"{receiver.url}/target")
    await add_endpoint(client, owner, receiver, url=f"{receiver.url}/other")
    response = await client.post(f"{ENDPOINTS}/{target['id']}/test", headers=owner.headers)
    assert response.status_code == 202, response.text
    assert response.json()["event_type"] == "webhook.test"
    assert response.json()["status"] == "pending"
    assert await worker.drain() == 1
    [got] = receiver.wait_for(1)
    assert got.path == "/target"
    payload = Webhook(target["secret"]).verify(got.body, got.headers)
    assert payload["type"] == "webhook.test"
    assert payload["data"]["endpoint"]["id"] == target["id"]
    catalogue.validate_payload(payload)


async def test_an_unresponsive_receiver_times_out_and_is_retried(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    receiver: Receiver,
    worker: Worker,
) -> None:
    settings.webhook_timeout_s = 0.5
    owner = await owner_of(client, db, settings)
    await add_endpoint(client, owner, receiver)
    receiver.then(Reply(delay=2))
    await _emit(db, owner.tenant, "conversation.closed", CONVERSATION)
    assert await worker.drain() == 2
    [delivery] = (await client.get(DELIVERIES, headers=owner.headers)).json()["items"]
    first, second = delivery["attempts"]
    assert first["error"] == "no answer within 0.5 s"
    assert first["status_code"] is None
    assert 400 <= first["latency_ms"] < 2000
    assert second["succeeded"] is True


async def test_a_private_address_is_refused_at_delivery_time_too(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    receiver: Receiver,
    worker: Worker,
) -> None:
    # Created while private networks were allowed; the check at delivery still applies
    # (what a name resolves to can change after creation).
    owner = await owner_of(client, db, settings)
    await add_endpoint(client, owner, receiver)
    settings.webhook_allow_private_networks = False
    strict = Worker(db=db, settings=settings, name="strict")
    await _emit(db, owner.tenant, "conversation.closed", CONVERSATION)
    await strict.drain()
    await strict.close()
    assert receiver.requests == []
    [delivery] = (await client.get(DELIVERIES, headers=owner.headers)).json()["items"]
    assert all("loopback" in a["error"] for a in delivery["attempts"])
    assert delivery["attempts"][0]["error"].startswith("refused: ")


async def test_an_endpoint_failing_for_five_days_is_disabled_and_the_tenant_told(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    receiver: Receiver,
    worker: Worker,
) -> None:
    owner = await owner_of(client, db, settings)
    broken = await add_endpoint(client, owner, receiver, url=f"{receiver.url}/broken")
    watcher = await add_endpoint(
        client, owner, receiver, url=f"{receiver.url}/watch", event_types=["webhook.*"]
    )
    async with db.transaction() as session:
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == uuid.UUID(broken["id"]))
            .values(failing_since=utcnow() - timedelta(days=5, minutes=1))
        )
    receiver.then(Reply(500))
    await _emit(db, owner.tenant, "conversation.closed", CONVERSATION)
    await worker.drain()

    now_broken = (await client.get(f"{ENDPOINTS}/{broken['id']}", headers=owner.headers)).json()
    assert now_broken["enabled"] is False
    assert "failed for 5 days" in now_broken["disabled_reason"]
    notices = [r for r in receiver.requests if r.path == "/watch"]
    assert len(notices) == 1
    notice = Webhook(watcher["secret"]).verify(notices[0].body, notices[0].headers)
    assert notice["type"] == "webhook.endpoint_disabled"
    assert notice["data"]["endpoint"]["id"] == broken["id"]
    catalogue.validate_payload(notice)
    async with db.transaction() as session:
        audited = await session.scalar(
            select(AuditEntry).where(
                AuditEntry.tenant_id == owner.tenant.id,
                AuditEntry.action == "webhook.endpoint_disabled",
            )
        )
        assert audited is not None
        assert audited.actor_type == "system"
    # Nothing more goes to a disabled endpoint...
    await _emit(db, owner.tenant, "conversation.closed", CONVERSATION)
    await worker.drain()
    assert [r.path for r in receiver.requests].count("/broken") == 1
    # ...until it is enabled again, which clears its failure history.
    enabled = await client.patch(
        f"{ENDPOINTS}/{broken['id']}", json={"enabled": True}, headers=owner.headers
    )
    assert enabled.json()["disabled_reason"] is None
    assert enabled.json()["failing_since"] is None


async def test_old_events_and_their_deliveries_are_pruned(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    receiver: Receiver,
    worker: Worker,
) -> None:
    owner = await owner_of(client, db, settings)
    await add_endpoint(client, owner, receiver)
    old = await _emit(db, owner.tenant, "conversation.closed", CONVERSATION)
    recent = await _emit(db, owner.tenant, "conversation.created", CONVERSATION)
    await worker.drain()
    async with db.transaction() as session:
        await session.execute(
            update(Event)
            .where(Event.id == old.id)
            .values(created_at=utcnow() - timedelta(days=settings.webhook_retention_days, hours=1))
        )
    assert await worker.prune() >= 1
    log = (await client.get(DELIVERIES, headers=owner.headers)).json()["items"]
    assert [d["event_id"] for d in log] == [str(recent.id)]


async def test_events_the_product_emits_match_the_catalogue(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner = await owner_of(client, db, settings)
    headers = owner.headers
    session_id = (await client.post("/api/chat/session", json={}, headers=headers)).json()[
        "session_id"
    ]
    chat = await client.post(
        "/api/chat/message",
        json={"session_id": session_id, "message": "I want to talk to a person please"},
        headers=headers,
    )
    assert chat.status_code == 200, chat.text
    assert chat.json()["handoff"] is True
    personas = (await client.get("/api/personas", headers=headers)).json()["items"]
    changed = await client.patch(
        f"/api/personas/{personas[0]['id']}", json={"tone": "warm"}, headers=headers
    )
    assert changed.status_code == 200, changed.text
    keys = (await client.get("/api/customer-portal/widget/keys", headers=headers)).json()["items"]
    await client.post(f"/api/customer-portal/widget/keys/{keys[0]['id']}/rotate", headers=headers)
    async with db.transaction() as session:
        emitted = list(
            await session.scalars(select(Event).where(Event.tenant_id == owner.tenant.id))
        )
    types = {e.type for e in emitted}
    assert {
        "conversation.created",
        "message.created",
        "conversation.handoff_requested",
        "persona.updated",
        "widget.key_rotated",
    } <= types
    for event in emitted:
        catalogue.validate_payload(event.payload)


async def test_health_reports_the_worker_backlog_and_lag(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    receiver: Receiver,
    worker: Worker,
) -> None:
    owner = await owner_of(client, db, settings)
    await add_endpoint(client, owner, receiver)
    await worker.drain()  # whatever earlier tests left due
    assert (await client.get("/api/health")).json()["worker"] == {"backlog": 0, "lag_seconds": 0}
    await _emit(db, owner.tenant, "conversation.closed", CONVERSATION)
    async with db.transaction() as session:
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.tenant_id == owner.tenant.id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=90))
        )
    worker_status = (await client.get("/api/health")).json()["worker"]
    assert worker_status["backlog"] == 1
    assert 89 <= worker_status["lag_seconds"] < 120
    await worker.drain()
    assert (await client.get("/api/health")).json()["worker"]["backlog"] == 0


async def test_a_receiver_that_is_not_listening_is_a_failed_attempt(
    client: httpx.AsyncClient, db: Database, settings: Settings, worker: Worker
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    owner = await owner_of(client, db, settings)
    response = await client.post(
        ENDPOINTS, json={"url": f"http://127.0.0.1:{port}/hooks"}, headers=owner.headers
    )
    assert response.status_code == 201, response.text
    await _emit(db, owner.tenant, "conversation.closed", CONVERSATION)
    assert await worker.drain() == 1 + len(settings.webhook_retry_schedule)
    [delivery] = (await client.get(DELIVERIES, headers=owner.headers)).json()["items"]
    assert delivery["status"] == "failed"
    assert all(a["error"].startswith("could not connect") for a in delivery["attempts"])
    assert all(a["status_code"] is None for a in delivery["attempts"])
