"""Mission Control in real Chromium: the live feed follows a visitor's new conversation without a
reload, and a platform admin creates a tenant, publishes new prices and checks the system."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import ADMIN_EMAIL, PASSWORD, PageProbe, Stack, log_in

pytestmark = pytest.mark.browser
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
VIEWPORT = {"width": 1280, "height": 800}
# Chromium reports a request cut short by leaving a page (the event stream) on the console.
NETWORK_NOISE = ("Failed to load resource", "net::ERR_")


def page_errors(probe: PageProbe) -> list[str]:
    return [m for m in probe.messages("error") if not m.startswith(NETWORK_NOISE)] + probe.errors


def screenshots(tmp_path: Path) -> Path:
    # BOB_UPDATE_SCREENSHOTS=1 refreshes the pictures in docs/img; otherwise they go to tmp.
    target = DOCS_IMG if os.environ.get("BOB_UPDATE_SCREENSHOTS") == "1" else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    return target


async def admin_api(stack: Stack) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=stack.bob)
    login = await client.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD})
    assert login.status_code == 200, login.text
    client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    return client


async def test_live_feed_shows_a_new_widget_conversation_without_reload(
    stack: Stack, open_page: Any
) -> None:
    admin = await log_in(open_page, stack, admin=True, viewport=VIEWPORT)
    page = admin.page
    await page.get_by_role("link", name="Live feed").click()
    await page.get_by_role("heading", name="Live feed", level=1).wait_for()
    await page.locator("#mc-connection .badge.ok").wait_for(timeout=15_000)
    assert await page.locator("#mc-feed").get_attribute("aria-live") == "polite"
    known = await page.evaluate(
        "() => { window.mcSamePage = true;"
        " return [...document.querySelectorAll('#mc-feed li')].map(li => li.dataset.id); }"
    )

    visitor = await open_page(stack.shop.put("/mission-control-live.html", stack.bundle_tag))
    await visitor.page.get_by_role("button", name="Open chat").click()
    box = visitor.page.locator("#bob-widget textarea")
    await box.fill("Can I return an item?")
    await box.press("Enter")

    await page.wait_for_function(
        """(known) => [...document.querySelectorAll(
             '#mc-feed li[data-type="conversation.created"]')]
           .some((li) => !known.includes(li.dataset.id))""",
        arg=known,
        timeout=15_000,
    )
    created = page.locator('#mc-feed li[data-type="conversation.created"]').first
    text = await created.inner_text()
    assert "Trail Outfitters" in text
    assert "New conversation" in text
    assert "Widget" in text
    # Bob's reply follows, newest on top, and the visitor's words are not shown.
    reply = page.locator("#mc-feed li.mc-message-assistant").first
    await reply.wait_for(timeout=15_000)
    items = await page.locator("#mc-feed li").evaluate_all(
        "(lis) => lis.map((li) => li.dataset.at)"
    )
    assert items == sorted(items, reverse=True)
    assert "return an item" not in await page.locator("#mc-feed").inner_text()
    assert await page.evaluate("() => window.mcSamePage === true")  # no reload happened
    assert page_errors(admin) == []


async def test_admin_creates_a_tenant_publishes_prices_and_checks_the_system(
    stack: Stack, open_page: Any, tmp_path: Path
) -> None:
    shots = screenshots(tmp_path)
    admin = await log_in(open_page, stack, admin=True, viewport=VIEWPORT)
    page = admin.page

    # The overview.
    await page.get_by_role("heading", name="Overview", level=1).wait_for()
    assert int(await page.get_by_test_id("tenants").inner_text()) >= 2
    await page.screenshot(path=str(shots / "mission-control-overview.png"))

    # A new tenant with its owner.
    business_id = f"summit-{uuid.uuid4().hex[:6]}"
    owner = f"owner@{business_id}.example.com"
    await page.get_by_role("link", name="Tenants").click()
    await page.get_by_role("link", name="Create a tenant").click()
    await page.get_by_label("Business name").fill("Summit Coffee")
    await page.get_by_label("Business id").fill(business_id)
    await page.get_by_label("Plan").select_option("pro")
    await page.get_by_label("Owner's email").fill(owner)
    await page.get_by_label("Owner's password").fill(PASSWORD)
    await page.get_by_role("button", name="Create the tenant").click()
    await page.get_by_role("heading", name="Summit Coffee", level=1).wait_for()
    assert "Created Summit Coffee." in await page.locator(".flash.notice").inner_text()
    assert "pro" in await page.get_by_test_id("plan").inner_text()
    async with httpx.AsyncClient(base_url=stack.bob) as client:
        login = await client.post(
            "/api/customers/auth/login", json={"email": owner, "password": PASSWORD}
        )
        assert login.status_code == 200

    # New prices: a draft from the published version, one price changed, published.
    api = await admin_api(stack)
    original = (await api.get("/api/pricebook")).json()
    pro = next(p for p in original["plans"] if p["code"] == "pro")
    new_cents = pro["monthly_price_cents"] + 1000
    try:
        await page.get_by_role("link", name="Pricebook").click()
        await page.get_by_role(
            "button", name=f"Start a draft from version {original['version']}"
        ).click()
        await page.wait_for_url(re.compile(r".*/mission-control/pricebook/\d+$"))
        draft = int(page.url.rsplit("/", 1)[1])
        price = page.locator("#f-pro-price")
        assert await price.input_value() == f"{pro['monthly_price_cents'] / 100:.2f}"
        await price.fill(f"{new_cents / 100:.2f}")
        await page.get_by_role("button", name="Save the draft").click()
        await page.get_by_text(f"Draft version {draft} saved.").wait_for()
        changes = await page.get_by_test_id("changes").inner_text()
        assert f"${new_cents / 100:,.2f}" in changes
        await page.screenshot(path=str(shots / "mission-control-pricebook.png"))

        async def confirm(dialog: Any) -> None:
            assert f"Publish version {draft}?" in dialog.message
            await dialog.accept()

        page.once("dialog", confirm)
        await page.get_by_role("button", name=f"Publish version {draft}").click()
        await page.wait_for_url(f"{stack.bob}/mission-control/pricebook")
        assert f"Version {draft} is published" in await page.locator(".flash.notice").inner_text()
        current = page.locator('tr[aria-current="true"]')
        assert f"Version {draft}" in await current.inner_text()
        public = (await api.get("/api/pricebook")).json()
        assert public["version"] == draft
        assert {p["code"]: p["monthly_price_cents"] for p in public["plans"]}["pro"] == new_cents
    finally:
        # Other browser tests share this installation: publish the original figures again.
        restored = await api.post(
            "/api/admin/pricebook/versions",
            json={"plans": original["plans"], "currency": original["currency"]},
        )
        assert restored.status_code == 201, restored.text
        again = await api.post(
            f"/api/admin/pricebook/versions/{restored.json()['version']}/publish"
        )
        assert again.status_code == 200, again.text
        assert (await api.get("/api/pricebook")).json()["plans"] == original["plans"]
        await api.aclose()

    # System status, refreshing itself.
    await page.get_by_role("link", name="System status").click()
    await page.get_by_role("heading", name="System status", level=1).wait_for()
    assert await page.get_by_test_id("database").inner_text() == "OK"
    assert await page.get_by_test_id("engine").inner_text() == "extractive"
    assert await page.get_by_label("Refresh every 5 seconds").is_checked()
    await page.wait_for_function(
        "() => document.getElementById('mc-status').dataset.refreshed", timeout=15_000
    )
    assert await page.get_by_test_id("database").inner_text() == "OK"
    await page.screenshot(path=str(shots / "mission-control-status.png"))
    for name in ("overview", "pricebook", "status"):
        assert (shots / f"mission-control-{name}.png").stat().st_size > 10_000
    assert page_errors(admin) == []
