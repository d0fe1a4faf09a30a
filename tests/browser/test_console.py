"""The operator console in real Chromium: a visitor asks for a person on the shop's site, the
conversation appears in the open console without a reload, the operator takes it over and
replies from the keyboard, and the visitor's widget shows the reply."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import PageProbe, Stack, log_in

pytestmark = pytest.mark.browser
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
WAIT_MS = 15_000
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}


def page_errors(probe: PageProbe) -> list[str]:
    return probe.messages("error") + probe.errors


async def tab_to(page: Any, target: Any, *, limit: int = 60) -> None:
    """Press Tab until `target` (a locator) has the focus; fails if it is never reached."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await target.evaluate("node => node === document.activeElement"):
            return
    raise AssertionError(f"{target} is not reachable with Tab")


async def test_a_handoff_appears_live_and_the_operators_reply_reaches_the_visitor(
    stack: Stack, open_page: Any, tmp_path: Path
) -> None:
    name = f"Robin {uuid.uuid4().hex[:6]}"
    reply = f"Hi Robin, Sam from the shop here ({uuid.uuid4().hex[:6]}). How can I help?"

    operator = await log_in(open_page, stack, **DESKTOP)
    console = operator.page
    await console.goto(f"{stack.bob}/portal/conversations")
    await console.locator("#console-live.on").wait_for(timeout=WAIT_MS)
    await console.evaluate("() => { window.notReloaded = true; }")

    visitor = await open_page(stack.shop.put(f"/console-{name[-6:]}.html", stack.bundle_tag))
    shop = visitor.page
    await shop.wait_for_function("() => window.Bob && typeof window.Bob.identify === 'function'")
    await shop.evaluate("n => window.Bob.identify({ name: n })", name)
    await shop.get_by_role("button", name="Open chat").click()
    await shop.get_by_role("button", name="Talk to a person").click()
    await shop.locator("#bob-widget .status").wait_for(state="visible", timeout=WAIT_MS)

    # The console hears of it by itself: no reload, a new row, and an announcement.
    row = console.locator("tr", has=console.get_by_role("link", name=name))
    await row.wait_for(timeout=WAIT_MS)
    assert await console.evaluate("() => window.notReloaded === true")
    assert "Waiting for a person" in await row.inner_text()
    assert "is-new" in (await row.get_attribute("class") or "")
    await console.wait_for_function(
        "() => (document.getElementById('bob-live') || {}).textContent === "
        "'New conversation waiting for a person'",
        timeout=WAIT_MS,
    )
    waiting = console.locator('.console-tabs a[href$="status=pending_human"] .count')
    assert int(await waiting.inner_text()) >= 1

    # From the keyboard: the status tabs, then the new row's link, which opens it.
    await console.locator("main").focus()
    await tab_to(console, console.locator('.console-tabs a[href$="status=pending_human"]'))
    await tab_to(console, console.get_by_role("link", name=name))
    await console.keyboard.press("Enter")
    await console.get_by_role("heading", name=f"Conversation with {name}").wait_for()
    await console.locator("#console-live.on").wait_for(timeout=WAIT_MS)
    transcript = console.locator("#transcript")
    assert "I'd like to talk to a person" in await transcript.inner_text()

    await console.locator("main").focus()
    await tab_to(console, console.locator("#reply"))
    await tab_to(console, console.locator('button[data-focus-key="take-over"]'))
    await console.keyboard.press("Enter")
    await console.get_by_text("You have this conversation now.").wait_for()
    facts = console.locator("#conversation-summary")
    assert "With a person" in await facts.inner_text()
    assert await console.locator('button[data-focus-key="take-over"]').count() == 0

    await console.locator("main").focus()
    await tab_to(console, console.locator("#reply"))
    await console.keyboard.type(reply)
    await console.keyboard.press("Control+Enter")
    sent = transcript.locator(".msg-operator", has_text=reply)
    await sent.wait_for(timeout=WAIT_MS)
    assert await console.locator("#reply").input_value() == ""
    assert await console.evaluate("() => document.activeElement.id") == "reply"
    for control in ('button[data-focus-key="return-to-bot"]', 'button[data-focus-key="close"]'):
        await tab_to(console, console.locator(control))

    # The visitor's widget shows the team's reply.
    answer = shop.locator("#bob-widget .m.operator", has_text=reply)
    await answer.wait_for(timeout=WAIT_MS)

    target = DOCS_IMG if os.environ.get("BOB_UPDATE_SCREENSHOTS") == "1" else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    shot = target / "portal-console.png"
    await console.evaluate("() => document.activeElement.blur()")
    await console.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    assert page_errors(operator) == []
