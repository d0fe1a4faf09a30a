"""The platform's own front office in real Chromium: a platform admin adds knowledge in Mission
Control (the portal's Knowledge page, framed by Mission Control), and a visitor of the chat
page at / and the published door-1 snippet with the platform's business id get it as answers;
the admin tries a business's Bob from its tenant page."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.browser.conftest import Stack, log_in
from tests.browser.test_site_chat import PUBLISHED_SNIPPET

pytestmark = pytest.mark.browser
WAIT_MS = 20_000


async def test_an_admin_teaches_the_platform_bob_and_a_visitor_of_the_site_gets_the_answer(
    stack: Stack, open_page: Any
) -> None:
    admin = await log_in(open_page, stack, admin=True)
    page = admin.page
    nav = page.get_by_role("navigation", name="Mission Control")
    await nav.get_by_role("link", name="Knowledge", exact=True).click()
    await page.wait_for_url(f"{stack.bob}/portal/knowledge")
    # Mission Control's frame: its navigation, with the front office marked as where we are.
    assert await nav.get_by_role("link", name="Tenants").is_visible()
    current = nav.locator("[aria-current=page]")
    assert await current.inner_text() == "Knowledge"

    code = uuid.uuid4().hex[:6]
    title = f"Partner programme {code}"
    fact = (
        f"Agencies that install Bob for their clients join the partner programme {code}: "
        "they get a 20 percent discount on every plan they resell."
    )
    await page.get_by_role("link", name="Add an item").click()
    await page.get_by_role("textbox", name="Title").fill(title)
    await page.get_by_role("textbox", name="Text").fill(fact)
    await page.get_by_role("button", name="Add", exact=True).click()
    await page.wait_for_url(f"{stack.bob}/portal/knowledge")
    assert await page.get_by_text(f"Added “{title}”.").is_visible()

    visitor = await open_page(f"{stack.bob}/")
    site = visitor.page
    await site.get_by_label("Your question").fill(
        f"Do agencies in the partner programme {code} get a discount?"
    )
    await site.locator("#chat-form button").click()
    answer = site.locator("#chat-log .msg-assistant").last
    await answer.wait_for(timeout=WAIT_MS)
    assert "20 percent discount" in await answer.inner_text()

    # The published door-1 snippet with the platform's business id answers the same way.
    snippet = await site.evaluate(
        PUBLISHED_SNIPPET,
        [
            f"platform-{code}",
            f"How much discount do partner programme {code} agencies get?",
            stack.settings.platform_business_id,
        ],
    )
    assert snippet["status"] == 200, snippet
    assert "20 percent" in snippet["body"]["reply"]
    assert visitor.errors == []


async def test_an_admin_tries_a_business_bob_from_its_tenant_page(
    stack: Stack, open_page: Any
) -> None:
    admin = await log_in(open_page, stack, admin=True)
    page = admin.page
    await page.goto(f"{stack.bob}/mission-control/tenants/{stack.tenant_id}")
    await page.get_by_role("button", name="Start a preview conversation").click()
    await page.wait_for_url(f"{stack.bob}/mission-control/tenants/{stack.tenant_id}/try/**")
    assert await page.get_by_text("is trying this business's Bob").is_visible()
    await page.get_by_role("textbox", name="Your message").fill("When are you open on Saturday?")
    await page.get_by_role("button", name="Send").click()
    await page.wait_for_load_state()
    answer = page.locator("#transcript .msg-assistant").last
    await answer.wait_for(timeout=WAIT_MS)
    assert "10:00 to 14:00" in await answer.inner_text()
    assert admin.errors == []
