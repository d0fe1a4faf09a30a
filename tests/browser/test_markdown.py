"""Replies as Markdown in real Chromium: the widget, the chat page at / and the operator console
show lists, bold and tables as elements, keep any markup in a reply as text, link only http(s)
addresses, and link a source's title to the page its knowledge came from."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.browser.conftest import OWNER_EMAIL, PASSWORD, Stack, log_in
from tests.browser.test_widget import ask, last_answer, widget_errors

pytestmark = pytest.mark.browser
WAIT_MS = 15_000
REPLY = (
    "Here is what you need to know:\n\n"
    "- **Gift cards** never expire\n"
    "- Free returns within 30 days\n\n"
    "| Amount | Bonus |\n"
    "|---|---|\n"
    "| 50 € | 5 € |\n\n"
    '<script>window.pwned = 1</script> <img src=x onerror="window.pwned = 2">\n'
    "[pay now](javascript:window.pwned=3) or see https://example.com/help."
)
SOURCE_PAGE = "https://trail.example.com/returns"
SOURCES: list[dict[str, Any]] = [
    {"title": "Gift cards", "id": "1", "source_url": "https://trail.example.com/gift-cards"},
    {"title": "Returns policy", "id": "2", "source_url": None},
    {"title": "Sneaky", "id": "3", "source_url": "javascript:window.pwned=4"},
]
REL = "noopener noreferrer nofollow"


async def assert_markdown(page: Any, body: Any) -> None:
    """`body` shows REPLY rendered: elements for the Markdown, text for the markup in it."""
    await body.locator("table").wait_for(timeout=WAIT_MS)
    assert await body.locator("ul > li").all_inner_texts() == [
        "Gift cards never expire",
        "Free returns within 30 days",
    ]
    assert await body.locator("li > strong").inner_text() == "Gift cards"
    assert await body.locator("table thead th").all_inner_texts() == ["Amount", "Bonus"]
    assert await body.locator("table tbody td").all_inner_texts() == ["50 €", "5 €"]
    assert await body.locator("script, img").count() == 0
    text = await body.inner_text()
    assert '<script>window.pwned = 1</script> <img src=x onerror="window.pwned = 2">' in text
    assert "[pay now](javascript:window.pwned=3)" in text
    link = body.locator("a")
    assert await link.count() == 1  # the https address; the javascript: one stays text
    assert await link.get_attribute("href") == "https://example.com/help"
    assert await link.get_attribute("rel") == REL
    assert await link.get_attribute("target") == "_blank"
    assert await page.evaluate("() => window.pwned") is None


async def assert_sources(sources: Any) -> None:
    """SOURCES shown: only the one with an https page is a link."""
    text = await sources.inner_text()
    assert all(source["title"] in text for source in SOURCES), text
    link = sources.locator("a")
    assert await link.count() == 1
    assert await link.inner_text() == "Gift cards"
    assert await link.get_attribute("href") == "https://trail.example.com/gift-cards"
    assert await link.get_attribute("rel") == REL


def with_reply(reply: str, sources: list[dict[str, Any]]) -> Callable[[Any], Awaitable[None]]:
    """A route handler: Bob's real answer, asked for as JSON, with its reply and sources swapped."""

    async def handle(route: Any) -> None:
        if route.request.method != "POST":
            await route.continue_()
            return
        headers = {**await route.request.all_headers(), "accept": "application/json"}
        response = await route.fetch(headers=headers)
        assert response.ok, await response.text()
        body = await response.json()
        body.update(reply=reply, sources=sources)
        await route.fulfill(response=response, json=body)

    return handle


async def test_the_widget_renders_a_reply_as_markdown_and_keeps_markup_as_text(
    stack: Stack, open_page: Any
) -> None:
    probe = await open_page(stack.shop.put("/markdown.html", stack.bundle_tag))
    page = probe.page
    await page.route(f"{stack.bob}/api/widget/chat", with_reply(REPLY, SOURCES))
    await page.get_by_role("button", name="Open chat").click()
    await ask(page, "Do **gift cards** expire? <b>Asking</b>")
    answer = await last_answer(page)
    await assert_markdown(page, answer.locator(".t"))
    await assert_sources(answer.locator(".src"))
    # The visitor's own words are shown as typed.
    mine = page.locator("#bob-widget .m.visitor").last
    assert await mine.inner_text() == "Do **gift cards** expire? <b>Asking</b>"
    assert await mine.locator("strong, b").count() == 0
    # The shared renderer stays inside the bundle: the site gets no global but window.Bob.
    assert await page.evaluate("() => typeof window.BobMarkdown") == "undefined"
    assert await page.evaluate("() => typeof window.BobProofOfWork") == "undefined"
    assert widget_errors(probe) == []


async def test_the_chat_page_renders_a_reply_as_markdown_and_keeps_markup_as_text(
    stack: Stack, open_page: Any
) -> None:
    probe = await open_page(f"{stack.bob}/")
    page = probe.page
    await page.route(f"{stack.bob}/api/chat", with_reply(REPLY, SOURCES))
    await page.get_by_label("Your question").fill("Do **gift cards** expire?")
    await page.locator("#chat-form button").click()
    answer = page.locator("#chat-log .msg-assistant").last
    await answer.wait_for(timeout=WAIT_MS)
    await assert_markdown(page, answer.locator(".msg-text"))
    await assert_sources(answer.locator(".msg-sources"))
    mine = page.locator("#chat-log .msg-visitor").last
    assert await mine.inner_text() == "Do **gift cards** expire?"
    assert await mine.locator("strong").count() == 0
    assert probe.errors == []


async def test_a_source_links_to_its_page_and_the_teams_markdown_reply_renders_everywhere(
    stack: Stack, open_page: Any
) -> None:
    async with httpx.AsyncClient(base_url=stack.bob) as api:
        login = await api.post(
            "/api/customers/auth/login", json={"email": OWNER_EMAIL, "password": PASSWORD}
        )
        owner = {"Authorization": f"Bearer {login.json()['access_token']}"}
        items = (await api.get("/api/knowledge", headers=owner)).json()["items"]
        returns = next(item["id"] for item in items if item["title"] == "Returns policy")
        patched = await api.patch(
            f"/api/knowledge/{returns}", json={"source_url": SOURCE_PAGE}, headers=owner
        )
        assert patched.status_code == 200, patched.text
        try:
            await _source_and_team_reply(stack, open_page, api, owner)
        finally:
            await api.patch(f"/api/knowledge/{returns}", json={"source_url": None}, headers=owner)


async def _source_and_team_reply(
    stack: Stack, open_page: Any, api: httpx.AsyncClient, owner: dict[str, str]
) -> None:
    visitor = await open_page(stack.shop.put("/markdown-team.html", stack.bundle_tag))
    shop = visitor.page
    await shop.get_by_role("button", name="Open chat").click()
    await ask(shop, "Can I return an item?")
    answer = await last_answer(shop)
    source = answer.locator(".src a")
    assert await source.inner_text() == "Returns policy"
    assert await source.get_attribute("href") == SOURCE_PAGE
    assert await source.get_attribute("rel") == REL
    assert await source.get_attribute("target") == "_blank"
    await shop.get_by_role("button", name="Talk to a person").click()
    await shop.locator("#bob-widget .status").wait_for(state="visible", timeout=WAIT_MS)
    saved = await shop.evaluate("key => localStorage.getItem('bob:' + key)", stack.key)
    session_id = json.loads(saved)["session_id"]
    found = await api.get("/api/conversations", params={"q": session_id}, headers=owner)
    conversation_id = found.json()["items"][0]["id"]

    operator = await log_in(open_page, stack, viewport={"width": 1280, "height": 800})
    console = operator.page
    await console.goto(f"{stack.bob}/portal/conversations/{conversation_id}")
    await console.locator("#console-live.on").wait_for(timeout=WAIT_MS)
    cited = console.locator("#transcript .msg-sources a", has_text="Returns policy")
    assert await cited.get_attribute("href") == SOURCE_PAGE
    assert await cited.get_attribute("rel") == REL

    # Sent from the console, appended live, and the same after a reload (server-rendered).
    await console.get_by_label("Your reply").fill(REPLY)
    await console.get_by_role("button", name="Send reply").click()
    sent = console.locator("#transcript .msg-operator").last
    await assert_markdown(console, sent.locator(".msg-text"))
    await console.reload()
    await assert_markdown(console, console.locator("#transcript .msg-operator .msg-text").last)
    assert operator.messages("error") + operator.errors == []

    # The visitor's widget shows the team's reply the same way.
    await assert_markdown(shop, shop.locator("#bob-widget .m.operator .t").last)
    assert widget_errors(visitor) == []
