"""Knowledge, Persona and Widget Setup in real Chromium: copying the embed code, allowing a new
site and seeing the widget work there, teaching Bob a fact and hearing it back, the previews, and
the pictures for the docs.

The stack is shared with the other browser tests: these tests only add (an origin, knowledge with
texts of their own) and never save a look or a persona the widget tests would see.
"""

from __future__ import annotations

import os
import secrets
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import PageProbe, ServerThread, Site, Stack, free_port, log_in
from tests.browser.test_widget import DOCS_IMG, ask, last_answer, widget_errors

pytestmark = pytest.mark.browser
CLIPBOARD = ["clipboard-read", "clipboard-write"]


def page_errors(probe: PageProbe) -> list[str]:
    """Uncaught errors and console errors, a refused script or style (CSP) among them."""
    return probe.errors + probe.messages("error")


async def add_knowledge(probe: PageProbe, stack: Stack, title: str, text: str) -> None:
    page = probe.page
    await page.goto(f"{stack.bob}/portal/knowledge")
    await page.get_by_role("link", name="Add an item").click()
    await page.get_by_role("textbox", name="Title").fill(title)
    await page.get_by_role("textbox", name="Text").fill(text)
    await page.get_by_role("button", name="Add", exact=True).click()
    await page.wait_for_url(f"{stack.bob}/portal/knowledge")
    assert await page.get_by_text(f"Added “{title}”.").is_visible()


async def test_copy_the_embed_code(stack: Stack, open_page: Any) -> None:
    probe = await log_in(open_page, stack, permissions=CLIPBOARD)
    page = probe.page
    await page.get_by_role("link", name="Widget", exact=True).click()
    await page.wait_for_url(f"{stack.bob}/portal/widget")
    button = page.get_by_role("button", name="Copy the tag")
    await button.click()
    await page.get_by_role("button", name="Copied").wait_for()
    assert await page.evaluate("navigator.clipboard.readText()") == stack.bundle_tag
    assert page_errors(probe) == []


async def test_allow_an_origin_and_the_widget_works_there(stack: Stack, open_page: Any) -> None:
    site = Site(free_port())
    url = site.put("/new-site.html", "<p>Our second shop.</p>" + stack.bundle_tag)
    with ServerThread(site.app(), site.port):
        before = await open_page(url)
        await before.page.wait_for_function(
            "() => performance.getEntriesByType('resource')"
            ".some(e => e.name.includes('/api/widget/config'))",
            timeout=10_000,
        )
        await before.page.wait_for_timeout(300)
        assert await before.page.get_by_role("button", name="Open chat").count() == 0

        portal = await log_in(open_page, stack)
        page = portal.page
        await page.goto(f"{stack.bob}/portal/widget")
        await page.get_by_label("Website address").fill(site.origin)
        await page.get_by_role("button", name="Allow", exact=True).click()
        await page.wait_for_url(f"{stack.bob}/portal/widget")
        assert await page.get_by_text(f"Allowed {site.origin}: the widget now works there.").count()
        allowed = page.get_by_role("list", name="Allowed addresses")
        assert site.origin in await allowed.inner_text()
        assert page_errors(portal) == []

        after = await open_page(url)
        await after.page.get_by_role("button", name="Open chat").click()
        await ask(after.page, "Can I return an item?")
        answer = await last_answer(after.page)
        assert "30 days" in await answer.inner_text()
        assert widget_errors(after) == []


async def test_add_knowledge_and_see_it_answer(stack: Stack, open_page: Any) -> None:
    pier = 100 + secrets.randbelow(900)
    title = f"Guided kayak tours {uuid.uuid4().hex[:6]}"
    fact = f"Guided kayak tours leave every morning at 7:45 from Pier {pier} at the lake."
    probe = await log_in(open_page, stack)
    await add_knowledge(probe, stack, title, fact)

    # The preview on the knowledge page answers in place, without leaving the page.
    page = probe.page
    await page.get_by_label("A visitor's question").fill("When do the guided kayak tours leave?")
    await page.get_by_role("button", name="Ask", exact=True).click()
    reply = page.locator("#preview-result [data-testid=preview-reply]")
    await reply.wait_for(timeout=15_000)
    assert f"Pier {pier}" in await reply.inner_text()
    assert page.url == f"{stack.bob}/portal/knowledge"
    passages = page.locator("#preview-result .passages li")
    assert title in await passages.first.inner_text()  # best first
    assert await page.locator("#preview-result").get_attribute("aria-live") == "polite"
    assert page_errors(probe) == []

    # And a visitor on the shop's site gets the same fact.
    visitor = await open_page(stack.shop.put(f"/kayak-{pier}.html", stack.bundle_tag))
    await visitor.page.get_by_role("button", name="Open chat").click()
    await ask(visitor.page, "When do the guided kayak tours leave?")
    answer = await last_answer(visitor.page)
    assert f"Pier {pier}" in await answer.inner_text()
    assert title in await answer.locator(".src").inner_text()
    assert widget_errors(visitor) == []


async def test_persona_preview_uses_the_unsaved_form(stack: Stack, open_page: Any) -> None:
    probe = await log_in(open_page, stack)
    page = probe.page
    await page.get_by_role("link", name="Persona", exact=True).click()
    await page.wait_for_url(f"{stack.bob}/portal/persona")
    saved_name = await page.get_by_role("textbox", name="Name", exact=True).input_value()
    await page.get_by_role("textbox", name="Name", exact=True).fill("Sunny the guide")
    await page.get_by_label("A visitor's question").fill("Can I return an item?")
    await page.get_by_role("button", name="Preview the reply").click()
    heading = page.locator("#persona-preview h3").first
    await heading.wait_for(timeout=15_000)
    assert await heading.inner_text() == "Sunny the guide would answer"
    assert (
        "30 days" in await page.locator("#persona-preview [data-testid=preview-reply]").inner_text()
    )
    assert page.url == f"{stack.bob}/portal/persona"
    await page.reload()
    assert await page.get_by_role("textbox", name="Name", exact=True).input_value() == saved_name
    assert page_errors(probe) == []


async def test_widget_look_preview_follows_the_form(stack: Stack, open_page: Any) -> None:
    probe = await log_in(open_page, stack)
    page = probe.page
    await page.goto(f"{stack.bob}/portal/widget")
    launcher = page.locator("#widget-preview .wp-launcher")
    widget = page.locator("#widget-preview .wp-widget")
    await page.get_by_label("Colour", exact=True).fill("#ffd33d")
    assert await launcher.evaluate("e => getComputedStyle(e).backgroundColor") == (
        "rgb(255, 211, 61)"
    )
    # Dark text on a light colour, as the widget itself chooses.
    assert await launcher.evaluate("e => getComputedStyle(e).color") == "rgb(17, 17, 17)"
    await page.get_by_label("Position").select_option("bottom-left")
    assert "wp-left" in (await widget.get_attribute("class") or "")
    await page.get_by_label("Launcher label").fill("Ask the trail team")
    assert await launcher.inner_text() == "Ask the trail team"
    await page.locator("#f-language").select_option("pt")
    bubble = page.locator("#widget-preview .wp-bubble")
    assert "Olá!" in await bubble.inner_text()
    await page.get_by_label("Português").fill("Bem-vindo à trilha!")
    assert await bubble.inner_text() == "Bem-vindo à trilha!"
    # Nothing was saved: the stored look is untouched.
    await page.reload()
    assert await page.get_by_label("Launcher label").input_value() == ""
    assert page_errors(probe) == []


async def test_screenshots_of_the_portal_pages(
    stack: Stack, open_page: Any, tmp_path: Path
) -> None:
    # BOB_UPDATE_SCREENSHOTS=1 refreshes the pictures in docs/img; otherwise they go to tmp.
    target = DOCS_IMG if os.environ.get("BOB_UPDATE_SCREENSHOTS") == "1" else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    probe = await log_in(open_page, stack, viewport={"width": 1280, "height": 800})
    page = probe.page

    await page.goto(f"{stack.bob}/portal/knowledge")
    await page.get_by_label("A visitor's question").fill("When are you open on Saturday?")
    await page.get_by_role("button", name="Ask", exact=True).click()
    await page.locator("#preview-result [data-testid=preview-reply]").wait_for(timeout=15_000)
    await page.screenshot(path=str(target / "portal-knowledge.png"))

    await page.goto(f"{stack.bob}/portal/persona")
    await page.get_by_label("A visitor's question").fill("Can I return an item?")
    await page.get_by_role("button", name="Preview the reply").click()
    await page.locator("#persona-preview [data-testid=preview-reply]").wait_for(timeout=15_000)
    await page.screenshot(path=str(target / "portal-persona.png"))

    await page.goto(f"{stack.bob}/portal/widget")
    # The look and its live preview: the part of the page a picture says most about.
    await page.locator("#look-title").evaluate("e => e.closest('section').scrollIntoView()")
    await page.screenshot(path=str(target / "portal-widget.png"))

    for name in ("portal-knowledge.png", "portal-persona.png", "portal-widget.png"):
        assert (target / name).stat().st_size > 10_000, name
    assert page_errors(probe) == []
