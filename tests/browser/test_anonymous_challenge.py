"""The proof-of-work challenge in real Chromium: with it turned on, the widget and the chat page at
/ solve it with SubtleCrypto before a new conversation's first message, and chat as usual."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bob import audit
from bob.anonymous import service as anonymous
from bob.db.session import Database
from bob.settings import Settings
from bob.tenants import service as tenants
from tests.browser.conftest import OWNER_EMAIL, PASSWORD, Stack
from tests.browser.test_widget import ask, last_answer, widget_errors

pytestmark = pytest.mark.browser
LIMITS = "/api/customer-portal/widget/limits"


def switch_challenge(settings: Settings, business_id: str, on: bool) -> None:
    """Through the service, in a thread of its own: Bob's server owns the test's event loop."""

    async def switch() -> None:
        db = Database.of(settings)
        try:
            async with db.transaction() as session:
                tenant = await tenants.get_tenant_by_business_id(
                    session=session, business_id=business_id
                )
                await anonymous.update_limits(
                    session=session,
                    tenant=tenant,
                    actor=audit.CLI,
                    changes={"challenge": on},
                )
        finally:
            await db.dispose()

    worker = threading.Thread(target=lambda: asyncio.run(switch()))
    worker.start()
    worker.join()


@pytest.fixture
async def challenge_on(stack: Stack) -> AsyncIterator[dict[str, str]]:
    """The shop turns the challenge on through the API, and off again after the test."""
    async with httpx.AsyncClient(base_url=stack.bob) as client:
        login = await client.post(
            "/api/customers/auth/login", json={"email": OWNER_EMAIL, "password": PASSWORD}
        )
        owner = {"Authorization": f"Bearer {login.json()['access_token']}"}
        turned = await client.put(LIMITS, json={"challenge": True}, headers=owner)
        assert turned.json()["challenge"] is True
        try:
            yield owner
        finally:
            await client.put(LIMITS, json={"challenge": False}, headers=owner)


async def test_the_widget_solves_the_challenge_and_chats_normally(
    stack: Stack, open_page: Any, challenge_on: dict[str, str]
) -> None:
    url = stack.shop.put("/challenge.html", "<p>Welcome!</p>" + stack.bundle_tag)
    probe = await open_page(url)
    page = probe.page
    sent: list[dict[str, str]] = []
    page.on(
        "request",
        lambda r: sent.append(r.headers) if r.url.endswith("/api/widget/chat") else None,
    )
    await page.get_by_role("button", name="Open chat").click()
    started = time.monotonic()
    await ask(page, "When are you open on Saturday?")
    answer = await last_answer(page)
    first_reply_s = time.monotonic() - started
    assert "10:00 to 14:00" in await answer.inner_text()
    await ask(page, "Can I return an item?")
    await page.locator("#bob-widget .m.assistant .src").nth(1).wait_for(timeout=15_000)
    assert "30 days" in await page.locator("#bob-widget .m.assistant").last.inner_text()

    # The first message carried a solution; the conversation then continued without one.
    assert [("x-altcha" in h) for h in sent] == [True, False]
    assert first_reply_s < 15, first_reply_s
    assert widget_errors(probe) == []
    # The challenge is really on: a message without a solution is refused.
    refused = await page.evaluate(
        """async ([base, key]) => {
            const r = await fetch(base + '/api/widget/chat', {method: 'POST',
              headers: {'Content-Type': 'application/json', 'X-Widget-Key': key},
              body: JSON.stringify({message: 'opening hours?'})});
            return [r.status, (await r.json()).error.code];
        }""",
        [stack.bob, stack.key],
    )
    assert refused == [403, "challenge_required"]


async def test_the_chat_page_solves_the_challenge_when_asked(stack: Stack, open_page: Any) -> None:
    # The page at / talks to the platform tenant when there is no demo business.
    switch_challenge(stack.settings, stack.settings.platform_business_id, True)
    try:
        probe = await open_page(f"{stack.bob}/")
        page = probe.page
        statuses: list[int] = []
        page.on(
            "response",
            lambda r: statuses.append(r.status) if r.url.endswith("/api/chat") else None,
        )
        await page.locator("#chat-input").fill("Hello, who are you?")
        await page.locator("#chat-form button").click()
        await page.locator("#chat-log .msg-assistant").first.wait_for(timeout=20_000)
        assert statuses == [403, 200]  # asked for a challenge, then answered with the solution
        assert await page.locator("#chat-log .msg-error").count() == 0
        assert probe.errors == []
    finally:
        switch_challenge(stack.settings, stack.settings.platform_business_id, False)
