"""Door 1 in real Chromium: the published same-origin snippet continues a conversation with the
visitor cookie the first reply set, and a request that carries no cookie cannot."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.browser.conftest import Stack

pytestmark = pytest.mark.browser

# The snippet from Bob's public documentation, verbatim.
SNIPPET = (
    "fetch('/api/chat', {method:'POST', headers:{'Content-Type':'application/json'}, "
    "body: JSON.stringify({session_id, message, business_id})})"
)
OMITTING_COOKIES = SNIPPET.replace("{method:'POST',", "{method:'POST', credentials: 'omit',")
assert OMITTING_COOKIES != SNIPPET


def in_page(fetch_call: str) -> str:
    """A function Playwright runs in the page: the call with its inputs, and what it answered."""
    return (
        "async ([session_id, message, business_id]) => {"
        f" const response = await {fetch_call};"
        " return {status: response.status, body: await response.json()}; }"
    )


PUBLISHED_SNIPPET = in_page(SNIPPET)
WITHOUT_COOKIES = in_page(OMITTING_COOKIES)
TRANSCRIPT = """async ([session_id, business_id]) => {
  const query = new URLSearchParams({session_id, business_id});
  const response = await fetch('/api/chat/transcript?' + query);
  return {status: response.status, body: await response.json()};
}"""


async def test_published_snippet_continues_its_conversation_and_omitted_cookies_cannot(
    stack: Stack, open_page: Any
) -> None:
    probe = await open_page(f"{stack.bob}/")
    page = probe.page
    session_id = f"browser-{uuid.uuid4().hex[:12]}"
    business_id = "trail-outfitters"

    first = await page.evaluate(
        PUBLISHED_SNIPPET, [session_id, "When are you open on Saturday?", business_id]
    )
    assert first["status"] == 200, first
    assert first["body"]["session_id"] == session_id
    assert "10:00 to 14:00" in first["body"]["reply"]
    assert first["body"]["visitor_token"]

    second = await page.evaluate(
        PUBLISHED_SNIPPET, [session_id, "Can I return an item?", business_id]
    )
    assert second["status"] == 200, second
    assert second["body"]["session_id"] == session_id
    assert "30 days" in second["body"]["reply"]
    assert "visitor_token" not in second["body"]  # the same conversation, not a new one

    transcript = await page.evaluate(TRANSCRIPT, [session_id, business_id])
    assert transcript["status"] == 200, transcript
    assert [m["content"] for m in transcript["body"]["messages"] if m["role"] == "visitor"] == [
        "When are you open on Saturday?",
        "Can I return an item?",
    ]
    # The proof stays out of scripts' reach.
    assert "bob_visitor_" not in await page.evaluate("document.cookie")

    stranger = await page.evaluate(
        WITHOUT_COOKIES, [session_id, "Repeat what I asked before.", business_id]
    )
    assert stranger["status"] == 403, stranger
    assert stranger["body"]["error"]["code"] == "visitor_mismatch"
    after = await page.evaluate(TRANSCRIPT, [session_id, business_id])
    assert after["body"]["messages"] == transcript["body"]["messages"]
    assert probe.errors == []


async def test_the_chat_box_at_the_root_continues_with_the_cookie_alone(
    stack: Stack, open_page: Any
) -> None:
    probe = await open_page(f"{stack.bob}/")
    page = probe.page
    box = page.get_by_label("Your question")
    log = page.locator("#chat-log")
    for number, question in enumerate(("Hello there", "Is anyone around?"), start=1):
        await box.fill(question)
        await box.press("Enter")
        await log.locator(".msg-visitor").nth(number - 1).wait_for()
        # A locator, not wait_for_function: the page's CSP forbids evaluating strings.
        await page.locator("#chat-form button:enabled").wait_for()
    assert await log.locator(".msg-error").count() == 0
    saved = await page.evaluate("JSON.stringify(sessionStorage)")
    assert "visitor_token" not in saved
    assert "session_id" in saved
    assert probe.errors == []
