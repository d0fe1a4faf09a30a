"""The endpoints API: secrets shown once, validation, the network guard, plan limits, audit,
permissions and tenant isolation."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bob.audit import AuditEntry
from bob.auth.permissions import Role
from bob.db.session import Database
from bob.events import catalogue, outbox
from bob.settings import Settings
from bob.webhooks.worker import Worker
from tests.factories import bearer, make_member
from tests.integration.webhooks.conftest import (
    DELIVERIES,
    ENDPOINTS,
    add_endpoint,
    conversation,
    owner_of,
)
from tests.webhook_receiver import Receiver


async def _actions(db: Database, tenant_id: uuid.UUID) -> list[str]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.tenant_id == tenant_id, AuditEntry.action.like("webhook.%"))
            .order_by(AuditEntry.seq)
        )
        return list(rows)


async def test_the_secret_is_shown_on_create_and_rotate_only(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    owner = await owner_of(client, db, settings)
    created = await add_endpoint(
        client, owner, receiver, description="CRM sync", event_types=["conversation.created"]
    )
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert 24 <= len(base64.b64decode(secret.removeprefix("whsec_"))) <= 64
    assert created["url"] == f"{receiver.url}/hooks"
    assert created["description"] == "CRM sync"
    assert created["enabled"] is True

    listed = (await client.get(ENDPOINTS, headers=owner.headers)).json()["items"]
    assert [e["id"] for e in listed] == [created["id"]]
    one = await client.get(f"{ENDPOINTS}/{created['id']}", headers=owner.headers)
    for body in (*listed, one.json()):
        assert "secret" not in body
        assert secret not in str(body)

    changed = await client.patch(
        f"{ENDPOINTS}/{created['id']}",
        json={"description": "CRM", "event_types": ["conversation.*", "credits.exhausted"]},
        headers=owner.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["event_types"] == ["conversation.*", "credits.exhausted"]
    assert "secret" not in changed.json()

    rotated = await client.post(f"{ENDPOINTS}/{created['id']}/rotate-secret", headers=owner.headers)
    assert rotated.json()["secret"] != secret
    assert rotated.json()["previous_secret_expires_at"] is not None

    deleted = await client.delete(f"{ENDPOINTS}/{created['id']}", headers=owner.headers)
    assert deleted.status_code == 204
    gone = await client.get(f"{ENDPOINTS}/{created['id']}", headers=owner.headers)
    assert gone.status_code == 404
    assert await _actions(db, owner.tenant.id) == [
        "webhook.endpoint_created",
        "webhook.endpoint_updated",
        "webhook.secret_rotated",
        "webhook.endpoint_deleted",
    ]


@pytest.mark.parametrize(
    ("body", "status", "names"),
    [
        ({"url": "ftp://example.com/x"}, 422, "http"),
        ({"url": "not a url"}, 422, "url"),
        ({"url": "http://user:pw@127.0.0.1/x"}, 422, "user name or password"),
        ({"url": "http://127.0.0.1/x", "event_types": ["conversation.exploded"]}, 422, "exploded"),
        ({"url": "http://127.0.0.1/x", "event_types": []}, 422, "event_types"),
        ({"url": "http://127.0.0.1/x", "description": "d" * 501}, 422, "description"),
        ({"url": "http://169.254.169.254/latest/meta-data"}, 422, "metadata"),
        ({}, 422, "url"),
    ],
)
async def test_bad_endpoints_are_refused_with_a_reason(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    body: dict[str, Any],
    status: int,
    names: str,
) -> None:
    owner = await owner_of(client, db, settings)
    response = await client.post(ENDPOINTS, json=body, headers=owner.headers)
    assert response.status_code == status, response.text
    assert names in response.text
    assert (await client.get(ENDPOINTS, headers=owner.headers)).json()["items"] == []


async def test_an_unknown_field_is_refused_not_ignored(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    # `events` is not `event_types`: ignoring it would subscribe the endpoint to everything.
    owner = await owner_of(client, db, settings)
    body = {"url": "http://127.0.0.1:9/hook", "events": ["conversation.created"]}
    response = await client.post(ENDPOINTS, json=body, headers=owner.headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["message"].startswith("events:")
    assert [f["field"] for f in error["fields"]] == ["events"]
    assert (await client.get(ENDPOINTS, headers=owner.headers)).json()["items"] == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:9/hook", "loopback"),
        ("http://localhost/hook", "localhost"),
        ("http://[::1]/hook", "loopback"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://2130706433/hook", "loopback"),
        ("http://10.1.2.3/hook", "private"),
        ("http://192.168.0.10/hook", "private"),
        ("http://172.16.5.5/hook", "private"),
        ("http://169.254.10.10/hook", "link-local"),
        ("http://[fe80::1]/hook", "link-local"),
        ("http://[fd12:3456::1]/hook", "private"),
        ("http://224.0.0.1/hook", "multicast"),
        # Python versions differ on whether 240/4 is "private" or "reserved": refused either way.
        ("http://240.0.0.1/hook", "private|reserved"),
        ("http://0.0.0.0/hook", "unspecified"),
        ("http://169.254.169.254/latest/meta-data", "metadata"),
        ("http://[fd00:ec2::254]/latest", "metadata"),
        ("http://100.100.100.200/", "metadata"),
        ("http://[64:ff9b::a9fe:a9fe]/", "metadata"),
    ],
)
async def test_private_and_metadata_addresses_are_refused(
    client: httpx.AsyncClient, db: Database, settings: Settings, url: str, reason: str
) -> None:
    settings.webhook_allow_private_networks = False
    owner = await owner_of(client, db, settings)
    response = await client.post(ENDPOINTS, json={"url": url}, headers=owner.headers)
    assert response.status_code == 422, response.text
    message = response.json()["error"]["message"]
    assert message.startswith("url: ")
    assert any(word in message for word in reason.split("|")), message
    # Changing an existing endpoint's URL goes through the same check.
    settings.webhook_allow_private_networks = True
    created = await client.post(
        ENDPOINTS, json={"url": "http://127.0.0.1:9/ok"}, headers=owner.headers
    )
    settings.webhook_allow_private_networks = False
    patched = await client.patch(
        f"{ENDPOINTS}/{created.json()['id']}", json={"url": url}, headers=owner.headers
    )
    assert patched.status_code == 422
    assert patched.json()["error"]["message"] == message


async def test_production_requires_https(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner = await owner_of(client, db, settings)
    settings.env = settings.env.PRODUCTION
    response = await client.post(
        ENDPOINTS, json={"url": "http://127.0.0.1:9/hook"}, headers=owner.headers
    )
    assert response.status_code == 422
    assert "https" in response.json()["error"]["message"]


async def test_endpoints_past_the_plan_are_refused_with_integration_limit(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    owner = await owner_of(client, db, settings, plan="starter")  # one integration
    await add_endpoint(client, owner, receiver)
    refused = await client.post(
        ENDPOINTS, json={"url": f"{receiver.url}/second"}, headers=owner.headers
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "integration_limit"
    assert "1 integrations" in refused.json()["error"]["message"]
    assert len((await client.get(ENDPOINTS, headers=owner.headers)).json()["items"]) == 1
    billing = (await client.get("/api/customers/billing", headers=owner.headers)).json()
    assert billing["integrations"] == {"used": 1, "limit": 1}


async def test_only_webhook_managers_may_manage_endpoints(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    owner = await owner_of(client, db, settings)
    endpoint = await add_endpoint(client, owner, receiver)
    for role in (Role.AGENT, Role.VIEWER):
        member = await make_member(db, settings, owner.tenant, role)
        headers = await bearer(client, member.email)
        assert (await client.get(ENDPOINTS, headers=headers)).status_code == 403
        assert (await client.get(DELIVERIES, headers=headers)).status_code == 403
        response = await client.post(f"{ENDPOINTS}/{endpoint['id']}/test", headers=headers)
        assert response.status_code == 403
    assert (await client.get(ENDPOINTS)).status_code == 401


async def test_another_tenant_can_neither_see_nor_fire_the_endpoints(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    receiver: Receiver,
    worker: Worker,
) -> None:
    alice = await owner_of(client, db, settings)
    bob = await owner_of(client, db, settings)
    endpoint = await add_endpoint(client, alice, receiver)
    response = await client.post(f"{ENDPOINTS}/{endpoint['id']}/test", headers=alice.headers)
    delivery_id = response.json()["id"]
    await worker.drain()
    assert len(receiver.wait_for(1)) == 1

    path = f"{ENDPOINTS}/{endpoint['id']}"
    assert (await client.get(path, headers=bob.headers)).status_code == 404
    assert (
        await client.patch(path, json={"url": f"{receiver.url}/mine"}, headers=bob.headers)
    ).status_code == 404
    assert (await client.post(f"{path}/test", headers=bob.headers)).status_code == 404
    assert (await client.post(f"{path}/rotate-secret", headers=bob.headers)).status_code == 404
    assert (await client.delete(path, headers=bob.headers)).status_code == 404
    assert (await client.get(ENDPOINTS, headers=bob.headers)).json()["items"] == []
    assert (await client.get(DELIVERIES, headers=bob.headers)).json()["items"] == []
    filtered = await client.get(
        DELIVERIES, params={"endpoint_id": endpoint["id"]}, headers=bob.headers
    )
    assert filtered.json()["items"] == []
    assert (await client.get(f"{DELIVERIES}/{delivery_id}", headers=bob.headers)).status_code == 404
    redeliver = await client.post(f"{DELIVERIES}/{delivery_id}/redeliver", headers=bob.headers)
    assert redeliver.status_code == 404

    # Bob's events never reach Alice's endpoint.
    async with db.transaction() as session:
        await outbox.emit(
            session=session,
            tenant=bob.tenant,
            type="conversation.closed",
            data=conversation("closed"),
        )
    assert await worker.drain() == 0
    assert len(receiver.requests) == 1
    # Alice's endpoint is untouched.
    still = await client.get(path, headers=alice.headers)
    assert still.json()["url"] == endpoint["url"]


async def test_a_disabled_endpoint_cannot_be_tested_or_redelivered_to(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    receiver: Receiver,
    worker: Worker,
) -> None:
    owner = await owner_of(client, db, settings)
    endpoint = await add_endpoint(client, owner, receiver)
    delivery = (
        await client.post(f"{ENDPOINTS}/{endpoint['id']}/test", headers=owner.headers)
    ).json()
    await worker.drain()
    await client.patch(
        f"{ENDPOINTS}/{endpoint['id']}", json={"enabled": False}, headers=owner.headers
    )
    test = await client.post(f"{ENDPOINTS}/{endpoint['id']}/test", headers=owner.headers)
    assert test.status_code == 409
    assert "disabled" in test.json()["error"]["message"]
    again = await client.post(f"{DELIVERIES}/{delivery['id']}/redeliver", headers=owner.headers)
    assert again.status_code == 409


async def test_the_delivery_log_pages_and_rejects_bad_filters(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    receiver: Receiver,
    worker: Worker,
) -> None:
    owner = await owner_of(client, db, settings)
    endpoint = await add_endpoint(client, owner, receiver)
    for _ in range(5):
        await client.post(f"{ENDPOINTS}/{endpoint['id']}/test", headers=owner.headers)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(DELIVERIES, params=params, headers=owner.headers)).json()
        seen += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 5
    bad = await client.get(DELIVERIES, params={"status": "exploded"}, headers=owner.headers)
    assert bad.status_code == 422
    bad = await client.get(DELIVERIES, params={"endpoint_id": "nope"}, headers=owner.headers)
    assert bad.status_code == 422
    bad = await client.get(DELIVERIES, params={"cursor": "garbage"}, headers=owner.headers)
    assert bad.status_code == 422


async def test_the_catalogue_is_public_and_lists_every_event_with_a_schema(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/webhooks/events")
    assert response.status_code == 200
    items = response.json()["items"]
    names = [i["type"] for i in items]
    assert names == list(catalogue.CATALOGUE)
    for required in (
        "conversation.created",
        "message.created",
        "conversation.handoff_requested",
        "conversation.assigned",
        "conversation.closed",
        "credits.threshold_reached",
        "credits.exhausted",
        "persona.updated",
        "widget.key_rotated",
        "webhook.test",
    ):
        assert required in names
    for item in items:
        assert item["schema"]["properties"]["type"]["const"] == item["type"]
        assert item["description"]
        catalogue.validate_payload(item["example"])
