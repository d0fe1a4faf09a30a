"""A tenant with knowledge and an allowed widget origin, shared by the chat tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bob.db.session import Database
from bob.settings import Settings
from tests.factories import TenantWithOwner, bearer, make_tenant

SHOP_ORIGIN = "https://shop.example.com"
KNOWLEDGE = [
    (
        "Opening hours",
        "Our shop is open Monday to Friday from 9:00 to 18:00 and Saturday from 10:00 to "
        "14:00. We are closed on Sundays and public holidays.",
    ),
    (
        "Returns policy",
        "You can return any unused item within 30 days of delivery for a full refund. "
        "Start a return from your account page; return shipping is free.",
    ),
    (
        "Horário de atendimento",
        "Nosso horário de atendimento é de segunda a sexta, das 9h às 18h.",
    ),
    ("営業時間", "営業時間は平日の午前9時から午後6時までです。"),
]


@dataclass
class Shop:
    made: TenantWithOwner
    owner: dict[str, str]
    widget_key: str
    items: dict[str, str]

    @property
    def business_id(self) -> str:
        return self.made.tenant.business_id


@pytest.fixture
async def shop(client: httpx.AsyncClient, db: Database, settings: Settings) -> Shop:
    made = await make_tenant(db, settings, name="Trail Outfitters")
    owner = await bearer(client, made.owner_email)
    items = {}
    for title, content in KNOWLEDGE:
        response = await client.post(
            "/api/knowledge", json={"title": title, "content": content}, headers=owner
        )
        assert response.status_code == 201, response.text
        items[title] = response.json()["id"]
    keys = await client.get("/api/customer-portal/widget/keys", headers=owner)
    primary = keys.json()["items"][0]
    patched = await client.patch(
        f"/api/customer-portal/widget/keys/{primary['id']}",
        json={"allowed_origins": [SHOP_ORIGIN, "https://*.partner.example.org"]},
        headers=owner,
    )
    assert patched.status_code == 200, patched.text
    return Shop(made, owner, primary["key"], items)


def parse_sse(text: str) -> list[tuple[str, Any]]:
    events = []
    for block in text.strip().split("\n\n"):
        name, data = "", ""
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data += line[len("data: ") :]
        events.append((name, json.loads(data)))
    return events


from tests.engines_server import fake_openai, fake_openai_server  # noqa: E402

__all__ = ["fake_openai", "fake_openai_server"]
