"""A logged-in browser session for page tests, without the browser: cookies, the form token and
the CSRF field, exactly as the HTML forms send them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import PUBLIC_URL
from tests.factories import PASSWORD

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


@dataclass
class Pages:
    """An HTTP client that behaves like a browser on Bob's pages."""

    client: httpx.AsyncClient
    csrf: str = ""

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.client.get(path, **kwargs)
        if response.headers.get("content-type", "").startswith("text/html"):
            match = CSRF_INPUT.search(response.text)
            if match:
                self.csrf = match.group(1)
        return response

    async def post(
        self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any
    ) -> httpx.Response:
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf)
        return await self.client.post(path, data=form, **kwargs)

    async def login(self, email: str, password: str = PASSWORD, *, admin: bool = False) -> None:
        area = "/mission-control" if admin else "/portal"
        await self.get(f"{area}/login")
        response = await self.post(f"{area}/login", {"email": email, "password": password})
        assert response.status_code == 303, response.text
        await self.get(response.headers["location"])


@pytest.fixture
async def pages(app: FastAPI) -> AsyncIterator[Pages]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        yield Pages(client)
