from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bob.db.session import Database
from bob.settings import Settings
from bob.webhooks.worker import Worker
from tests.conftest import MigratedDatabase, make_settings
from tests.factories import TenantWithOwner, bearer, make_tenant
from tests.webhook_receiver import Receiver
from tests.webhook_receiver import receiver as receiver

ENDPOINTS = "/api/webhooks/endpoints"
DELIVERIES = "/api/webhooks/deliveries"


def conversation(status: str = "bot") -> dict[str, Any]:
    """`data` of a conversation event, as the chat pipeline writes it."""
    return {
        "conversation": {
            "id": str(uuid.uuid4()),
            "session_id": "s-1",
            "channel": "widget",
            "status": status,
        }
    }


@pytest.fixture
def settings(migrated: MigratedDatabase, tmp_path: Path) -> Settings:
    # The receivers live on loopback, and retries are immediate so tests need not wait.
    return make_settings(
        migrated.url,
        tmp_path,
        webhook_allow_private_networks=True,
        webhook_retry_schedule=[0, 0, 0],
        webhook_timeout_s=2,
    )


@pytest.fixture
async def worker(db: Database, settings: Settings) -> AsyncIterator[Worker]:
    made = Worker(db=db, settings=settings, name="test-worker")
    yield made
    await made.close()


class Owner:
    def __init__(self, made: TenantWithOwner, headers: dict[str, str]) -> None:
        self.tenant = made.tenant
        self.email = made.owner_email
        self.headers = headers


async def owner_of(
    client: httpx.AsyncClient, db: Database, settings: Settings, *, plan: str = "pro"
) -> Owner:
    made = await make_tenant(db, settings, plan=plan)
    return Owner(made, await bearer(client, made.owner_email))


async def add_endpoint(
    client: httpx.AsyncClient, owner: Owner, receiver: Receiver, **body: Any
) -> dict[str, Any]:
    body.setdefault("url", f"{receiver.url}/hooks")
    response = await client.post(ENDPOINTS, json=body, headers=owner.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
