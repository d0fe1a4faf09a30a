"""Webhooks, team and billing in the Customer Portal, in real Chromium: what is shown once stays
shown once, and the invite link really lets a new member in."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import httpx

from tests.browser.conftest import PASSWORD, Stack, log_in

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
# The stack refuses private networks and has no DNS: a public address written as a literal
# passes the check at save time, and no worker runs to send anything to it.
PUBLIC_HOOK = "https://93.184.215.14/bob"


async def test_a_new_endpoints_secret_is_shown_once(stack: Stack, open_page: Any) -> None:
    probe = await log_in(open_page, stack, permissions=["clipboard-read", "clipboard-write"])
    page = probe.page
    await page.get_by_role("link", name="Webhooks", exact=True).click()
    await page.get_by_label("URL").fill(PUBLIC_HOOK)
    await page.get_by_label("Description").fill("Order system")
    assert await page.get_by_label("All events").is_checked()
    await page.get_by_role("button", name="Add endpoint").click()
    await page.wait_for_url(re.compile(r".*/portal/webhooks/[0-9a-f-]{36}$"))

    secret = page.locator("#signing-secret")
    assert (await secret.input_value()).startswith("whsec_")
    warning = page.get_by_role("alert")
    assert "shown only this once" in await warning.inner_text()
    copy = page.locator('button[data-copy="#signing-secret"]')
    await copy.click()
    await page.wait_for_function(
        "document.querySelector('button[data-copy=\"#signing-secret\"]').textContent === 'Copied'"
    )
    assert await page.evaluate("navigator.clipboard.readText()") == await secret.input_value()

    await page.reload()
    assert await page.get_by_role("heading", name=PUBLIC_HOOK).is_visible()
    assert await page.locator("#signing-secret").count() == 0
    assert "whsec_" not in await page.content()
    assert not probe.errors


async def test_an_invite_link_is_shown_once_and_lets_the_member_in(
    stack: Stack, open_page: Any
) -> None:
    probe = await log_in(open_page, stack)
    page = probe.page
    await page.get_by_role("link", name="Team", exact=True).click()
    await page.get_by_label("Email").fill("rosa@trail.example.com")
    await page.get_by_label("Name (optional)").fill("Rosa")
    await page.get_by_label("Role", exact=True).select_option("agent")
    await page.get_by_role("button", name="Create invite link").click()
    await page.wait_for_load_state()

    link = await page.locator("#invite-url").input_value()
    assert link.startswith(f"{stack.bob}/invite/")
    assert "shown only this once" in await page.get_by_role("alert").inner_text()
    row = page.get_by_role("row", name=re.compile("Rosa"))
    assert "Invite pending" in await row.inner_text()
    await page.reload()
    assert await page.locator("#invite-url").count() == 0
    assert not probe.errors

    newcomer = (await open_page(link)).page
    await newcomer.get_by_label("Password").fill(PASSWORD)
    await newcomer.get_by_role("button", name="Save password").click()
    assert await newcomer.get_by_role("heading", name="You're all set").is_visible()
    member = await log_in(open_page, stack, email="rosa@trail.example.com")
    assert await member.page.get_by_role("heading", name="Dashboard", level=1).is_visible()
    # An agent runs conversations, not the team: the Team page is not offered.
    assert await member.page.get_by_role("link", name="Team", exact=True).count() == 0


async def test_screenshots_for_the_docs(stack: Stack, open_page: Any, tmp_path: Path) -> None:
    # BOB_UPDATE_SCREENSHOTS=1 refreshes the pictures in docs/img; otherwise they go to tmp.
    target = DOCS_IMG if os.environ.get("BOB_UPDATE_SCREENSHOTS") == "1" else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    # A few answered questions, so the usage chart has something to show.
    async with httpx.AsyncClient(base_url=stack.bob, headers={"Origin": stack.bob}) as api:
        for question in ("When are you open on Saturday?", "Can I return unused items?"):
            response = await api.post(
                "/api/chat", json={"message": question, "business_id": "trail-outfitters"}
            )
            assert response.status_code == 200, response.text
    probe = await log_in(open_page, stack, viewport={"width": 1280, "height": 800})
    page = probe.page

    await page.goto(f"{stack.bob}/portal/webhooks")
    if await page.get_by_role("link", name=PUBLIC_HOOK).count() == 0:
        await page.get_by_label("URL").fill(PUBLIC_HOOK)
        await page.get_by_role("button", name="Add endpoint").click()
        await page.goto(f"{stack.bob}/portal/webhooks")
    await page.screenshot(path=str(target / "portal-webhooks.png"))

    await page.goto(f"{stack.bob}/portal/billing")
    assert await page.get_by_role("heading", name="Plans").is_visible()
    assert await page.get_by_role("button", name="Upgrade to Enterprise").is_visible()
    await page.screenshot(path=str(target / "portal-billing.png"))
    for name in ("portal-webhooks.png", "portal-billing.png"):
        assert (target / name).stat().st_size > 10_000
    assert not probe.errors
