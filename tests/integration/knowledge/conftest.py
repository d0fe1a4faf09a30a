from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bob.db.session import Database
from bob.settings import Settings
from tests.factories import TenantWithOwner, bearer, make_tenant


@dataclass
class Business:
    made: TenantWithOwner
    owner: dict[str, str]
    client: httpx.AsyncClient

    async def add(self, title: str, content: str, **extra: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/api/knowledge", json={"title": title, "content": content, **extra}, headers=self.owner
        )
        assert response.status_code == 201, response.text
        item: dict[str, Any] = response.json()
        return item

    async def search(self, q: str, **params: Any) -> list[dict[str, Any]]:
        response = await self.client.get(
            "/api/knowledge/search", params={"q": q, **params}, headers=self.owner
        )
        assert response.status_code == 200, response.text
        hits: list[dict[str, Any]] = response.json()["hits"]
        return hits


@pytest.fixture
async def business(client: httpx.AsyncClient, db: Database, settings: Settings) -> Business:
    made = await make_tenant(db, settings)
    return Business(made, await bearer(client, made.owner_email), client)
