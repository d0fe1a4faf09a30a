"""The Customer Portal and Mission Control in real Chromium: logging in, and the way in refused."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Stack, log_in


async def test_owner_logs_in_and_sees_the_dashboard(stack: Stack, open_page: Any) -> None:
    probe = await log_in(open_page, stack)
    page = probe.page
    assert await page.get_by_role("heading", name="Dashboard", level=1).is_visible()
    assert await page.get_by_role("link", name="Conversations").is_visible()
    assert not probe.errors


async def test_tenant_owner_is_refused_at_mission_control(stack: Stack, open_page: Any) -> None:
    probe = await log_in(open_page, stack)
    response = await probe.page.goto(f"{stack.bob}/mission-control")
    assert response.status == 403
    assert await probe.page.get_by_text("Mission Control is for the people who run").is_visible()
