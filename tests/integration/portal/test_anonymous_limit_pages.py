"""The anonymous doors' limits on Widget Setup, the low-credit alert on the billing page, and the
banner every portal page shows while the credits are low."""

from __future__ import annotations

import html
import re

import httpx
import pytest

from bob import audit
from bob.anonymous import service as anonymous
from bob.auth.permissions import Role
from bob.billing import subscriptions
from bob.db.session import Database
from bob.settings import Settings
from bob.tenants.models import Tenant
from tests.factories import TenantWithOwner, make_member, make_tenant
from tests.integration.portal.conftest import Pages

BANNER = re.compile(
    r'<p class="flash warning" role="status" data-testid="low-credits">(.*?)</p>', re.S
)


async def door_limits(db: Database, tenant: Tenant) -> anonymous.DoorLimits:
    async with db.transaction() as session:
        return await anonymous.get_limits(session=session, tenant=tenant)


async def set_balance(db: Database, settings: Settings, tenant: Tenant, target: int) -> None:
    async with db.transaction() as session:
        state = await subscriptions.low_credits(session=session, tenant_id=tenant.id)
        await subscriptions.adjust_credits(
            session=session,
            actor=audit.CLI,
            tenant_id=tenant.id,
            delta=target - state.remaining,
            reason="test",
        )


def banner(page: httpx.Response) -> str | None:
    match = BANNER.search(page.text)
    return html.unescape(" ".join(match.group(1).split())) if match else None


@pytest.fixture
async def shop(db: Database, settings: Settings) -> TenantWithOwner:
    return await make_tenant(db, settings, plan="starter")


# ---- Widget Setup ---------------------------------------------------------------------------


async def test_widget_setup_shows_and_saves_the_ceilings_and_the_challenge(
    pages: Pages, db: Database, shop: TenantWithOwner
) -> None:
    await pages.login(shop.owner_email)
    page = await pages.get("/portal/widget")
    assert page.status_code == 200
    assert "Limits for anonymous visitors" in page.text
    assert "Now 30. Your plan&#39;s default: 30." in page.text
    assert "Now 1,000. Your plan&#39;s default: 1,000." in page.text
    assert 'id="f-challenge" name="challenge" type="checkbox" value="true" ' in page.text
    assert 'aria-describedby="f-challenge-help">' in page.text  # not checked

    saved = await pages.post(
        "/portal/widget/limits",
        {"replies_per_minute": "12", "replies_per_day": "", "challenge": "true"},
    )
    assert saved.status_code == 303, saved.text
    stored = await door_limits(db, shop.tenant)
    assert (stored.per_minute_override, stored.per_day_override, stored.challenge) == (
        12,
        None,
        True,
    )
    shown = await pages.get("/portal/widget")
    assert "Anonymous visitors get up to 12 replies a minute and 1,000 a day." in shown.text
    assert 'name="replies_per_minute" type="text" value="12"' in shown.text
    assert 'aria-describedby="f-challenge-help" checked>' in shown.text
    # The API behind the page reads the same.
    api = await pages.client.get("/api/customer-portal/widget/limits")
    assert api.json()["replies_per_minute"]["override"] == 12

    # An empty field goes back to the plan's default; an unchecked box turns the challenge off.
    await pages.post("/portal/widget/limits", {"replies_per_minute": "", "replies_per_day": ""})
    stored = await door_limits(db, shop.tenant)
    assert (stored.per_minute_override, stored.challenge) == (None, False)


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"replies_per_minute": "lots"}, "replies_per_minute"),
        ({"replies_per_minute": "0"}, "replies_per_minute"),
        ({"replies_per_day": "-5"}, "replies_per_day"),
        ({"replies_per_day": "99999999999"}, "replies_per_day"),
    ],
)
async def test_widget_setup_refuses_bad_ceilings_and_keeps_what_was_typed(
    pages: Pages, db: Database, shop: TenantWithOwner, form: dict[str, str], field: str
) -> None:
    await pages.login(shop.owner_email)
    await pages.get("/portal/widget")
    refused = await pages.post("/portal/widget/limits", {"challenge": "true", **form})
    assert refused.status_code == 422
    assert f"{field}:" in refused.text
    typed = next(iter(form.values()))
    assert f'name="{field}" type="text" value="{typed}"' in refused.text
    stored = await door_limits(db, shop.tenant)
    assert (stored.per_minute_override, stored.per_day_override, stored.challenge) == (
        None,
        None,
        False,
    )


async def test_widget_setup_limits_need_the_csrf_field_and_widget_manage(
    pages: Pages, db: Database, settings: Settings, shop: TenantWithOwner
) -> None:
    await pages.login(shop.owner_email)
    await pages.get("/portal/widget")
    forged = await pages.post("/portal/widget/limits", {"replies_per_minute": "1"}, csrf=False)
    assert forged.status_code == 403
    agent = await make_member(db, settings, shop.tenant, Role.AGENT)
    pages.client.cookies.clear()
    await pages.login(agent.email)
    refused = await pages.post("/portal/widget/limits", {"replies_per_minute": "1"})
    assert refused.status_code == 403
    assert (await door_limits(db, shop.tenant)).per_minute_override is None


# ---- the low-credit alert -------------------------------------------------------------------


async def test_billing_page_sets_the_low_credit_alert(
    pages: Pages, db: Database, settings: Settings, shop: TenantWithOwner
) -> None:
    await pages.login(shop.owner_email)
    page = await pages.get("/portal/billing")
    assert "Now: 1,500 credits (your plan&#39;s default: 1,500)." in page.text
    saved = await pages.post("/portal/billing/alerts", {"low_credits_threshold": "2,500"})
    assert saved.status_code == 303, saved.text
    shown = await pages.get("/portal/billing")
    assert "You are alerted when 2,500 credits or fewer are left." in shown.text
    assert 'name="low_credits_threshold" type="text" value="2500"' in shown.text
    api = await pages.client.get("/api/customers/billing/alerts")
    assert api.json()["low_credits_threshold"] == 2500

    refused = await pages.post("/portal/billing/alerts", {"low_credits_threshold": "many"})
    assert refused.status_code == 422
    assert 'value="many"' in refused.text
    assert (await pages.client.get("/api/customers/billing/alerts")).json()["threshold"] == 2500

    # Admins read billing but do not manage it: no form for them, and the POST is refused.
    admin = await make_member(db, settings, shop.tenant, Role.ADMIN)
    pages.client.cookies.clear()
    await pages.login(admin.email)
    assert 'action="/portal/billing/alerts"' not in (await pages.get("/portal/billing")).text
    forbidden = await pages.post("/portal/billing/alerts", {"low_credits_threshold": "1"})
    assert forbidden.status_code == 403


async def test_every_portal_page_shows_the_banner_while_credits_are_low(
    pages: Pages, db: Database, settings: Settings, shop: TenantWithOwner
) -> None:
    await pages.login(shop.owner_email)
    assert banner(await pages.get("/portal")) is None
    await set_balance(db, settings, shop.tenant, 1500)
    for path in ("/portal", "/portal/widget", "/portal/knowledge", "/portal/billing"):
        page = await pages.get(path)
        assert page.status_code == 200
        assert banner(page) == (
            "AI credits are running low: 1,500 left this period (the alert is at 1,500). "
            '<a href="/portal/billing">See billing</a>'
        ), path
    japanese = await pages.get("/portal?lang=ja")
    assert "AI クレジットが残りわずかです" in (banner(japanese) or "")

    # An agent cannot read billing: the banner says so without the figures.
    agent = await make_member(db, settings, shop.tenant, Role.AGENT)
    pages.client.cookies.clear()
    await pages.login(agent.email)
    seen = banner(await pages.get("/portal/conversations?lang=en"))
    assert seen is not None
    assert "1,500" not in seen
    assert "running low this period" in seen

    await set_balance(db, settings, shop.tenant, 1501)
    assert banner(await pages.get("/portal/conversations")) is None
