"""A new business, in a browser only: sign up, set the persona, add knowledge, allow the site's
origin, copy the embed code onto its own site, watch a visitor's conversation, take it over and
reply, and the visitor's widget shows that reply."""

from __future__ import annotations

import uuid
from typing import Any

from tests.browser.conftest import PASSWORD, ServerThread, Site, Stack, free_port

WAIT_MS = 15_000


async def test_a_new_business_goes_live_in_the_browser_only(stack: Stack, open_page: Any) -> None:
    tag = uuid.uuid4().hex[:6]
    owner = await open_page(
        f"{stack.bob}/portal/signup",
        viewport={"width": 1280, "height": 800},
        permissions=["clipboard-read", "clipboard-write"],
    )
    portal = owner.page

    # Sign up: the new owner lands on the dashboard, logged in.
    await portal.get_by_label("Business name").fill(f"Harbour Kayaks {tag}")
    await portal.get_by_label("Your email").fill(f"owner-{tag}@harbour.example.com")
    await portal.get_by_label("Password").fill(PASSWORD)
    await portal.get_by_label("Plan").select_option("pro")
    await portal.get_by_role("button", name="Create account").click()
    await portal.wait_for_url(f"{stack.bob}/portal")
    assert await portal.get_by_role("heading", name="Getting started").is_visible()

    # The persona.
    await portal.get_by_role("link", name="Set your assistant's persona").click()
    await portal.locator("#f-name").fill(f"Marina {tag}")
    await portal.get_by_label("Tone").fill("warm and brief")
    await portal.get_by_role("button", name="Save", exact=True).click()
    await portal.get_by_role("status").wait_for(timeout=WAIT_MS)

    # Knowledge with a fact no other business has.
    await portal.goto(f"{stack.bob}/portal/knowledge/new")
    await portal.get_by_label("Title").fill("Kayak rental prices")
    fact = f"A single kayak costs {tag[:2]}7 euros for two hours, life jacket included."
    await portal.get_by_label("Text").fill(fact)
    await portal.get_by_role("button", name="Add", exact=True).click()
    await portal.get_by_role("status").wait_for(timeout=WAIT_MS)

    # The business's own website, on an origin of its own.
    site = Site(free_port())
    with ServerThread(site.app(), site.port):
        await portal.goto(f"{stack.bob}/portal/widget")
        await portal.get_by_label("Website address").fill(site.origin)
        await portal.get_by_role("button", name="Allow", exact=True).click()
        await portal.locator(".origins code", has_text=site.origin).wait_for(timeout=WAIT_MS)
        await portal.get_by_role("button", name="Copy the tag").click()
        embed = await portal.evaluate("() => navigator.clipboard.readText()")
        assert embed.startswith(f'<script src="{stack.bob}/widget/')

        visitor = await open_page(site.put("/index.html", "<p>Paddle with us.</p>" + embed))
        shop = visitor.page
        await shop.get_by_role("button", name="Open chat").click()
        box = shop.locator("#bob-widget textarea")
        await box.fill("How much is a kayak for two hours?")
        await box.press("Enter")
        answer = shop.locator("#bob-widget .m.assistant").last
        await answer.locator(".src").wait_for(timeout=WAIT_MS)
        assert f"{tag[:2]}7 euros" in await answer.inner_text()

        # The owner watches the conversations; the visitor asks for a person.
        await portal.goto(f"{stack.bob}/portal/conversations")
        await shop.get_by_role("button", name="Talk to a person").click()
        waiting = portal.locator("tbody tr", has_text="Waiting for a person").first
        await waiting.wait_for(timeout=WAIT_MS)
        await waiting.get_by_role("link").first.click()
        assert "How much is a kayak" in await portal.locator("main").inner_text()

        await portal.get_by_role("button", name="Take over").click()
        await portal.get_by_label("Your reply").fill(f"Hello! Marina's colleague here ({tag}).")
        await portal.get_by_role("button", name="Send reply").click()

        reply = shop.locator("#bob-widget .m.operator")
        await reply.wait_for(timeout=WAIT_MS)
        assert f"colleague here ({tag})" in await reply.inner_text()
        assert not owner.errors
        assert not visitor.errors
