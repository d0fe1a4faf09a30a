"""The embeddable widget in real Chromium: allowed site, legacy loader, copied tag, reload,
keyboard, hostile CSS, languages, and the operator's reply reaching the visitor."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import PageProbe, Stack

pytestmark = pytest.mark.browser
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
HOSTILE_CSS = """<style>
  * { all: unset !important; color: red !important; font-size: 40px !important;
      font-family: 'Comic Sans MS' !important; }
  button, textarea, div { display: none !important; background: lime !important; }
  #bob-widget { display: block !important; }
</style>"""
# Chromium itself reports refused or failed requests on the console; those are not the
# widget's errors. Anything else at error level is.
BROWSER_NETWORK_NOISE = ("Failed to load resource", "blocked by CORS policy", "net::ERR_")


def widget_errors(probe: PageProbe) -> list[str]:
    errors = [m for m in probe.messages("error") if not m.startswith(BROWSER_NETWORK_NOISE)]
    return errors + probe.errors


async def ask(page: Any, question: str) -> None:
    box = page.locator("#bob-widget textarea")
    await box.fill(question)
    await box.press("Enter")


async def last_answer(page: Any) -> Any:
    answer = page.locator("#bob-widget .m.assistant").last
    await answer.locator(".src").wait_for(timeout=15_000)
    return answer


async def test_tenant_bundle_on_an_allowed_site_answers_from_knowledge(
    stack: Stack, open_page: Any
) -> None:
    url = stack.shop.put("/bundle.html", "<p>Welcome!</p>" + stack.bundle_tag)
    probe = await open_page(url)
    page = probe.page
    launcher = page.get_by_role("button", name="Open chat")
    await launcher.click()
    assert await launcher.get_attribute("aria-expanded") == "true"
    await ask(page, "When are you open on Saturday?")
    answer = await last_answer(page)
    assert "10:00 to 14:00" in await answer.inner_text()
    assert "Opening hours" in await answer.locator(".src").inner_text()
    assert await page.evaluate("typeof window.Bob.open") == "function"
    # The site's HTML carried no key; the widget got it from the tenant bundle.
    assert "pk_live_" not in await page.content()
    assert widget_errors(probe) == []


async def test_legacy_loader_works_with_its_data_attributes(stack: Stack, open_page: Any) -> None:
    url = stack.shop.put("/legacy.html", stack.loader_tag(position="bottom-left"))
    probe = await open_page(url)
    page = probe.page
    await page.get_by_role("button", name="Open chat").click()
    await ask(page, "Can I return an item?")
    answer = await last_answer(page)
    assert "30 days" in await answer.inner_text()
    box = await page.locator("#bob-widget .launcher").bounding_box()
    viewport = page.viewport_size
    assert box["x"] < viewport["width"] / 2  # bottom-left, as the tag asked
    assert widget_errors(probe) == []


async def test_copied_tag_on_another_site_shows_nothing_and_gets_no_answers(
    stack: Stack, open_page: Any
) -> None:
    for path, tag in [
        ("/copied.html", stack.bundle_tag),
        ("/copied-loader.html", stack.loader_tag()),
    ]:
        probe = await open_page(stack.copycat.put(path, tag))
        page = probe.page
        await page.wait_for_function(
            "() => performance.getEntriesByType('resource')"
            ".some(e => e.name.includes('/api/widget/config'))",
            timeout=10_000,
        )
        await page.wait_for_timeout(500)
        assert await page.get_by_role("button", name="Open chat").count() == 0
        warnings = [m for m in probe.messages("warning") if m.startswith("Bob widget:")]
        assert len(warnings) == 1, probe.console
        # Even a hand-made request from that page gets no answer.
        blocked = await page.evaluate(
            """async ([base, key]) => {
                try {
                  const r = await fetch(base + '/api/widget/chat', {method: 'POST',
                    headers: {'Content-Type': 'application/json', 'X-Widget-Key': key},
                    body: JSON.stringify({message: 'opening hours?'})});
                  return 'answered ' + r.status;
                } catch (e) { return 'blocked'; }
            }""",
            [stack.bob, stack.key],
        )
        assert blocked == "blocked"
        assert probe.errors == []


async def test_conversation_survives_a_reload_and_another_page(
    stack: Stack, open_page: Any
) -> None:
    first = stack.shop.put("/page-one.html", stack.bundle_tag)
    second = stack.shop.put("/page-two.html", "<p>Another page</p>" + stack.bundle_tag)
    probe = await open_page(first)
    page = probe.page
    await page.get_by_role("button", name="Open chat").click()
    await ask(page, "What is your returns policy?")
    await last_answer(page)
    await page.reload()
    await page.get_by_role("button", name="Open chat").click()
    visitor = page.locator("#bob-widget .m.visitor")
    await visitor.first.wait_for()
    assert await visitor.first.inner_text() == "What is your returns policy?"
    await page.goto(second)
    await page.get_by_role("button", name="Open chat").click()
    await page.locator("#bob-widget .m.visitor").first.wait_for()
    assert "30 days" in await page.locator("#bob-widget .m.assistant").last.inner_text()
    assert widget_errors(probe) == []


async def test_keyboard_only(stack: Stack, open_page: Any) -> None:
    probe = await open_page(
        stack.shop.put("/keys.html", "<a href='#'>first link</a>" + stack.bundle_tag)
    )
    page = probe.page
    await page.get_by_role("button", name="Open chat").wait_for()
    await page.keyboard.press("Tab")  # the page's link
    await page.keyboard.press("Tab")  # the launcher
    focused = await page.evaluate(
        "() => document.activeElement.id === 'bob-widget' && "
        "document.activeElement.shadowRoot.activeElement.className"
    )
    assert "launcher" in focused
    await page.keyboard.press("Enter")
    assert (
        await page.evaluate("() => document.activeElement.shadowRoot.activeElement.tagName")
        == "TEXTAREA"
    )
    await page.keyboard.type("Are you open on Sunday?")
    await page.keyboard.press("Shift+Enter")
    await page.keyboard.type("Thanks")
    assert await page.locator("#bob-widget textarea").input_value() == (
        "Are you open on Sunday?\nThanks"
    )
    await page.keyboard.press("Enter")
    await last_answer(page)
    await page.keyboard.press("Escape")
    assert await page.locator("#bob-panel").is_hidden()
    assert "launcher" in await page.evaluate(
        "() => document.activeElement.shadowRoot.activeElement.className"
    )
    assert widget_errors(probe) == []


STYLE_PROBE = """() => {
  const root = document.getElementById('bob-widget').shadowRoot;
  const pick = (sel) => {
    const el = root.querySelector(sel);
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return [s.fontSize, s.fontFamily, s.color, s.backgroundColor, s.display,
            Math.round(r.width), Math.round(r.height)];
  };
  return ['.launcher', '#bob-panel', 'textarea', '.send', '.head'].map(pick);
}"""


async def test_hostile_host_css_does_not_change_the_widget(stack: Stack, open_page: Any) -> None:
    plain = await open_page(stack.shop.put("/plain.html", stack.bundle_tag))
    hostile = await open_page(stack.shop.put("/hostile.html", stack.bundle_tag, head=HOSTILE_CSS))
    styles = []
    for probe in (plain, hostile):
        await probe.page.get_by_role("button", name="Open chat").click()
        await probe.page.locator("#bob-widget textarea").wait_for()
        styles.append(await probe.page.evaluate(STYLE_PROBE))
    assert styles[0] == styles[1]
    # And the widget does not touch the page: the host page's own heading keeps its style.
    assert (
        await plain.page.evaluate("() => getComputedStyle(document.querySelector('h1')).fontFamily")
        != ""
    )
    assert widget_errors(plain) == widget_errors(hostile) == []


async def test_japanese_browser_gets_japanese(stack: Stack, open_page: Any) -> None:
    probe = await open_page(stack.shop.put("/ja.html", stack.bundle_tag), locale="ja-JP")
    page = probe.page
    launcher = page.locator("#bob-widget .launcher")
    await launcher.wait_for()
    label = await launcher.inner_text()
    assert label != "Open chat"
    assert any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in label)
    await launcher.click()
    await ask(page, "営業時間を教えてください")
    answer = await last_answer(page)
    assert "午前9時" in await answer.inner_text()
    assert widget_errors(probe) == []


async def test_portuguese_from_the_loader_tag(stack: Stack, open_page: Any) -> None:
    probe = await open_page(stack.shop.put("/pt.html", stack.loader_tag(language="pt-BR")))
    page = probe.page
    launcher = page.locator("#bob-widget .launcher")
    await launcher.wait_for()
    assert await launcher.inner_text() != "Open chat"
    placeholder = await page.locator("#bob-widget textarea").get_attribute("placeholder")
    assert placeholder
    assert "message" not in placeholder.lower()


async def test_a_person_takes_over_and_the_visitor_sees_the_reply(
    stack: Stack, open_page: Any
) -> None:
    probe = await open_page(stack.shop.put("/handoff.html", stack.bundle_tag))
    page = probe.page
    await page.get_by_role("button", name="Open chat").click()
    await page.get_by_role("button", name="Talk to a person").click()
    status = page.locator("#bob-widget .status")
    await status.wait_for(state="visible", timeout=15_000)
    async with httpx.AsyncClient(base_url=stack.bob) as api:
        login = await api.post(
            "/api/customers/auth/login",
            json={"email": "owner@trail.example.com", "password": "correct horse battery"},
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        queue = await api.get(
            "/api/conversations", params={"status": "pending_human"}, headers=headers
        )
        conversation = queue.json()["items"][0]
        await api.post(
            f"/api/conversations/{conversation['id']}/reply",
            json={"message": "Hi, Sam here. How can I help? See https://example.com/help."},
            headers=headers,
        )
    operator = page.locator("#bob-widget .m.operator")
    await operator.wait_for(timeout=15_000)
    assert "Sam here" in await operator.inner_text()
    link = operator.locator("a")
    assert await link.get_attribute("href") == "https://example.com/help"
    assert await link.get_attribute("rel") == "noopener noreferrer nofollow"
    assert widget_errors(probe) == []


async def test_screenshots_for_the_docs(stack: Stack, open_page: Any, tmp_path: Path) -> None:
    # BOB_UPDATE_SCREENSHOTS=1 refreshes the pictures in docs/img; otherwise they go to tmp.
    target = DOCS_IMG if os.environ.get("BOB_UPDATE_SCREENSHOTS") == "1" else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    shots: list[tuple[str, dict[str, Any]]] = [
        ("widget-desktop.png", {"viewport": {"width": 1280, "height": 800}}),
        (
            "widget-mobile.png",
            {"viewport": {"width": 390, "height": 780}, "is_mobile": True, "has_touch": True},
        ),
    ]
    for name, options in shots:
        probe = await open_page(
            stack.shop.put(
                f"/shot-{name}.html", "<p>Tents, boots and trail gear.</p>" + stack.bundle_tag
            ),
            **options,
        )
        page = probe.page
        await page.get_by_role("button", name="Open chat").click()
        await ask(page, "When are you open on Saturday?")
        await last_answer(page)
        if name == "widget-mobile.png":
            box = await page.locator("#bob-panel").bounding_box()
            assert box["width"] == 390  # full screen under 480 px
        await page.screenshot(path=str(target / name))
        assert (target / name).stat().st_size > 10_000
