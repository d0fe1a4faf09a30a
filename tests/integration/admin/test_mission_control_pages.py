"""Mission Control's pages as a platform admin uses them: every page, tenants (create, suspend,
resume, plan, credits), the pricebook (draft, edit, publish), status, the live feed's recent
events, and who is kept out."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from bob import audit
from bob.admin import tenants as admin_tenants
from bob.auth.models import User
from bob.billing import metering, pricebook, subscriptions
from bob.billing.models import CreditEntry, PricebookVersion
from bob.db.session import Database
from bob.events import outbox
from bob.events.models import WebhookDelivery
from bob.settings import Settings
from bob.tenants.models import Tenant
from bob.webhooks import endpoints
from tests.factories import PASSWORD, make_admin, make_tenant, unique
from tests.integration.portal.conftest import Pages

PAGES = [
    ("/mission-control", "Overview"),
    ("/mission-control?days=7", "Overview"),
    ("/mission-control/tenants", "Tenants"),
    ("/mission-control/tenants/new", "Create a tenant"),
    ("/mission-control/pricebook", "Pricebook"),
    ("/mission-control/pricebook/1", "Version 1"),
    ("/mission-control/status", "System status"),
    ("/mission-control/live", "Live feed"),
]


@pytest.fixture
async def admin(pages: Pages, db: Database, settings: Settings) -> Pages:
    user = await make_admin(db, settings)
    await pages.login(user.email, admin=True)
    return pages


async def _tenant(db: Database, tenant_id: uuid.UUID) -> Tenant:
    async with db.transaction() as session:
        tenant = await session.get(Tenant, tenant_id, populate_existing=True)
        assert tenant is not None
        return tenant


def _h1(html: str) -> str:
    match = re.search(r"<h1>(.*?)</h1>", html, re.S)
    assert match, "no h1"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


# ---- every page ---------------------------------------------------------------------------


async def test_every_page_renders_for_a_platform_admin(
    admin: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings, name="Corner Bakery")
    for path, heading in [*PAGES, (f"/mission-control/tenants/{shop.tenant.id}", "Corner Bakery")]:
        response = await admin.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        assert _h1(response.text).startswith(heading), path
        assert "mission-control.css" in response.text, path
    listing = await admin.get("/mission-control/tenants", params={"q": "corner bak"})
    assert "Corner Bakery" in listing.text
    assert shop.tenant.business_id in listing.text
    other = await admin.get("/mission-control/tenants", params={"q": "no such shop at all"})
    assert "Corner Bakery" not in other.text
    assert "No tenant matches." in other.text


async def test_tenant_list_filters_by_status_and_pages(
    admin: Pages, db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_tenant(db, settings, name="Pager Shop One")
    second = await make_tenant(db, settings, name="Pager Shop Two")
    await admin.get(f"/mission-control/tenants/{second.tenant.id}")
    await admin.post(f"/mission-control/tenants/{second.tenant.id}/suspend")
    suspended = await admin.get("/mission-control/tenants", params={"status": "suspended"})
    assert "Pager Shop Two" in suspended.text
    assert "Pager Shop One" not in suspended.text
    active = await admin.get("/mission-control/tenants", params={"q": "pager", "status": "active"})
    assert "Pager Shop One" in active.text
    assert "Pager Shop Two" not in active.text

    monkeypatch.setattr(admin_tenants, "PAGE_SIZE", 1)
    page_one = await admin.get("/mission-control/tenants", params={"q": "pager shop"})
    older = re.search(
        r'<a href="(/mission-control/tenants\?[^"]+)" rel="next">Older</a>', page_one.text
    )
    assert older, page_one.text
    assert "q=pager+shop" in older.group(1)
    page_two = await admin.get(older.group(1).replace("&amp;", "&"))
    names = [n for n in ("Pager Shop One", "Pager Shop Two") if n in page_one.text + page_two.text]
    assert names == ["Pager Shop One", "Pager Shop Two"]
    assert ("Pager Shop One" in page_one.text) != ("Pager Shop One" in page_two.text)


async def test_pages_speak_the_chosen_language(admin: Pages) -> None:
    response = await admin.get("/mission-control/pricebook?lang=ja")
    assert response.status_code == 200
    assert '<html lang="ja">' in response.text
    assert "料金表" in response.text
    response = await admin.get("/mission-control/status?lang=pt-BR")
    assert "Status do sistema" in response.text


async def test_overview_counts_tenants_by_status_and_plan(
    admin: Pages, db: Database, settings: Settings
) -> None:
    def figure(html: str, name: str) -> int:
        match = re.search(rf'data-testid="{name}">([\d,]+)<', html)
        assert match, name
        return int(match.group(1).replace(",", ""))

    before = (await admin.get("/mission-control")).text
    shop = await make_tenant(db, settings, plan="enterprise")
    await admin.get(f"/mission-control/tenants/{shop.tenant.id}")
    await admin.post(f"/mission-control/tenants/{shop.tenant.id}/suspend")
    after = (await admin.get("/mission-control?days=90")).text
    assert figure(after, "tenants") == figure(before, "tenants") + 1
    suspended = re.compile(r"(\d+) suspended")
    assert int(suspended.findall(after)[0]) == int(suspended.findall(before)[0]) + 1
    assert "Last 90 days</option>" in after
    assert re.search(r'value="90" selected', after)


# ---- tenants ------------------------------------------------------------------------------


async def test_create_a_tenant_with_its_owner(admin: Pages, db: Database) -> None:
    business_id = unique("shop")
    await admin.get("/mission-control/tenants/new")
    response = await admin.post(
        "/mission-control/tenants",
        {
            "name": "Harbour Books",
            "business_id": business_id,
            "plan": "pro",
            "owner_email": f"Ana@{business_id}.example.com",
            "owner_name": "Ana",
            "owner_password": PASSWORD,
        },
    )
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/mission-control/tenants/")
    page = await admin.get(location)
    assert "Created Harbour Books." in page.text
    assert f"ana@{business_id}.example.com" in page.text
    async with db.transaction() as session:
        tenant = await session.scalar(select(Tenant).where(Tenant.business_id == business_id))
        assert tenant is not None
        assert (tenant.name, tenant.plan, tenant.status) == ("Harbour Books", "pro", "active")
        owner = await session.scalar(select(User).where(User.tenant_id == tenant.id))
        assert owner is not None
        assert (owner.email, owner.role, owner.name) == (
            f"ana@{business_id}.example.com",
            "owner",
            "Ana",
        )
        subscription = await subscriptions.current_subscription(
            session=session, tenant_id=tenant.id
        )
        assert subscription.plan == "pro"
    assert location == f"/mission-control/tenants/{tenant.id}"
    # The owner can use the Customer Portal with that password.
    login = await admin.client.post(
        "/api/customers/auth/login",
        json={"email": f"ana@{business_id}.example.com", "password": PASSWORD},
    )
    assert login.status_code == 200


async def test_create_a_tenant_with_an_invite_for_its_owner(admin: Pages) -> None:
    await admin.get("/mission-control/tenants/new")
    response = await admin.post(
        "/mission-control/tenants",
        {"name": "Río Café", "plan": "starter", "owner_email": "owner@rio-cafe.example.com"},
    )
    assert response.status_code == 201
    assert "shown only now" in response.text
    match = re.search(r'id="invite-url">(http[^<]+/invite/[^<]+)<', response.text)
    assert match, response.text
    invite = await admin.client.get(urlsplit(match.group(1)).path)
    assert invite.status_code == 200
    assert "Invited" in response.text  # the owner is listed, waiting to set a password


async def test_a_refused_tenant_shows_the_form_again_with_what_was_typed(
    admin: Pages, db: Database, settings: Settings
) -> None:
    taken = await make_tenant(db, settings)
    await admin.get("/mission-control/tenants/new")
    typed = {
        "name": "Copy Shop",
        "business_id": taken.tenant.business_id,
        "plan": "enterprise",
        "owner_email": "someone@copy.example.com",
    }
    response = await admin.post("/mission-control/tenants", typed)
    assert response.status_code == 409
    assert "is taken" in response.text
    assert 'value="Copy Shop"' in response.text
    assert 'value="someone@copy.example.com"' in response.text
    assert re.search(r'<option value="enterprise" selected>', response.text)

    response = await admin.post(
        "/mission-control/tenants", {**typed, "business_id": "", "owner_email": "not-an-email"}
    )
    assert response.status_code == 422
    assert "owner_email" in response.text
    assert 'value="not-an-email"' in response.text
    async with db.transaction() as session:
        count = await session.scalar(
            select(func.count()).select_from(Tenant).where(Tenant.name == "Copy Shop")
        )
    assert count == 0


async def test_suspend_and_resume(admin: Pages, db: Database, settings: Settings) -> None:
    shop = await make_tenant(db, settings)
    path = f"/mission-control/tenants/{shop.tenant.id}"
    await admin.get(path)
    response = await admin.post(f"{path}/suspend")
    assert response.status_code == 303
    assert response.headers["location"] == path
    assert (await _tenant(db, shop.tenant.id)).status == "suspended"
    page = await admin.get(path)
    assert "is suspended." in page.text
    assert "tenant.suspended" in page.text  # the audit entry
    # A suspended business's owner cannot log in.
    login = await admin.client.post(
        "/api/customers/auth/login", json={"email": shop.owner_email, "password": PASSWORD}
    )
    assert login.status_code == 403

    response = await admin.post(f"{path}/resume")
    assert response.status_code == 303
    assert (await _tenant(db, shop.tenant.id)).status == "active"
    page = await admin.get(path)
    assert "is active again." in page.text
    assert "tenant.resumed" in page.text


async def test_the_platform_tenant_cannot_be_suspended(
    admin: Pages, db: Database, settings: Settings
) -> None:
    async with db.transaction() as session:
        platform = await session.scalar(
            select(Tenant).where(Tenant.business_id == settings.platform_business_id)
        )
        assert platform is not None
    path = f"/mission-control/tenants/{platform.id}"
    page = await admin.get(path)
    assert "cannot be suspended" in page.text
    response = await admin.post(f"{path}/suspend")
    assert response.status_code == 409
    assert "the platform tenant cannot be suspended" in response.text
    assert (await _tenant(db, platform.id)).status == "active"


async def test_change_plan_up_now_and_down_at_renewal(
    admin: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings, plan="starter")
    path = f"/mission-control/tenants/{shop.tenant.id}"
    await admin.get(path)
    response = await admin.post(f"{path}/plan", {"plan": "pro"})
    assert response.status_code == 303
    page = await admin.get(path)
    assert "is on the pro plan." in page.text
    assert "upgrade from starter to pro" in page.text  # the extra credits in the ledger
    async with db.transaction() as session:
        subscription = await subscriptions.current_subscription(
            session=session, tenant_id=shop.tenant.id
        )
        assert (subscription.plan, subscription.pending_plan) == ("pro", None)

    response = await admin.post(f"{path}/plan", {"plan": "starter"})
    assert response.status_code == 303
    page = await admin.get(path)
    assert "moves to the starter plan at its renewal" in page.text
    async with db.transaction() as session:
        subscription = await subscriptions.current_subscription(
            session=session, tenant_id=shop.tenant.id
        )
        assert (subscription.plan, subscription.pending_plan) == ("pro", "starter")

    response = await admin.post(f"{path}/plan", {"plan": "platinum"})
    assert response.status_code == 422
    assert "plan: must be one of" in response.text


async def test_adjust_credits_with_a_reason(admin: Pages, db: Database, settings: Settings) -> None:
    shop = await make_tenant(db, settings, plan="starter")
    tenant_id = shop.tenant.id
    path = f"/mission-control/tenants/{tenant_id}"

    async def balance() -> int:
        async with db.transaction() as session:
            return (await metering.usage(session=session, tenant_id=tenant_id)).remaining

    start = await balance()
    page = await admin.get(path)
    assert f'data-testid="balance">{start:,}<' in page.text
    response = await admin.post(
        f"{path}/credits", {"delta": "500", "reason": "Goodwill after the outage"}
    )
    assert response.status_code == 303
    assert await balance() == start + 500
    page = await admin.get(path)
    assert f"the balance is now {start + 500:,}" in page.text
    assert "Goodwill after the outage" in page.text
    async with db.transaction() as session:
        entry = await session.scalar(
            select(CreditEntry).where(
                CreditEntry.tenant_id == tenant_id, CreditEntry.kind == "adjustment"
            )
        )
        assert entry is not None
        assert (entry.delta, entry.reason) == (500, "Goodwill after the outage")
        assert entry.actor_label is not None
        assert entry.actor_label.startswith("admin-")

    response = await admin.post(f"{path}/credits", {"delta": "-250", "reason": "Correction"})
    assert response.status_code == 303
    assert await balance() == start + 250

    # Refusals keep what was typed and change nothing.
    too_much = str(-(start + 1000))
    response = await admin.post(f"{path}/credits", {"delta": too_much, "reason": "Oops"})
    assert response.status_code == 409
    assert "below zero" in response.text
    assert f'value="{too_much}"' in response.text
    response = await admin.post(f"{path}/credits", {"delta": "lots", "reason": "Oops"})
    assert response.status_code == 422
    assert "enter a whole number" in response.text
    assert 'value="lots"' in response.text
    response = await admin.post(f"{path}/credits", {"delta": "100", "reason": "  "})
    assert response.status_code == 422
    assert await balance() == start + 250


async def test_unknown_tenant_is_a_404_page(admin: Pages) -> None:
    for tenant_id in (uuid.uuid4(), "not-a-uuid"):
        response = await admin.get(f"/mission-control/tenants/{tenant_id}")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "Not found" in response.text
        assert f"There is no tenant with the id {tenant_id}." in response.text
    response = await admin.post(f"/mission-control/tenants/{uuid.uuid4()}/suspend")
    assert response.status_code == 404


# ---- the pricebook ------------------------------------------------------------------------


def _editor_form(html: str) -> dict[str, str]:
    """The draft editor's fields as the page filled them in."""
    form = {}
    for name, value in re.findall(
        r'<input id="f-[^"]+" name="([a-z]+\.[a-z_]+)" type="\w+" value="([^"]*)"', html
    ):
        form[name] = value
    assert len(form) == 18, form
    return form


async def test_draft_edit_publish(admin: Pages, db: Database) -> None:
    before = (await admin.client.get("/api/pricebook")).json()
    await admin.get("/mission-control/pricebook")
    response = await admin.post("/mission-control/pricebook/drafts")
    assert response.status_code == 303
    editor_path = response.headers["location"]
    number = int(editor_path.rsplit("/", 1)[1])
    assert number == before["version"] + 1 or number > before["version"]
    editor = await admin.get(editor_path)
    assert "Draft" in editor.text
    form = _editor_form(editor.text)
    pro = next(p for p in before["plans"] if p["code"] == "pro")
    assert form["pro.price"] == f"{pro['monthly_price_cents'] / 100:.2f}"
    assert form["enterprise.seats"] == ""  # unlimited

    form.update({"pro.price": "259.50", "pro.name": "Pro Plus", "starter.seats": "4"})
    response = await admin.post(editor_path, {**form, "code": ["starter", "pro", "enterprise"]})
    assert response.status_code == 303, response.text
    editor = await admin.get(editor_path)
    assert f"Draft version {number} saved." in editor.text
    assert 'value="259.50"' in editor.text
    assert "Pro Plus, Monthly price: $249.00 → $259.50" in editor.text
    assert "Starter, Seats: 3 → 4" in editor.text
    # Still a draft: the public pricebook is unchanged.
    assert (await admin.client.get("/api/pricebook")).json() == before

    response = await admin.post(f"{editor_path}/publish")
    assert response.status_code == 303
    assert response.headers["location"] == "/mission-control/pricebook"
    public = (await admin.client.get("/api/pricebook")).json()
    assert public["version"] == number
    plans = {p["code"]: p for p in public["plans"]}
    assert plans["pro"]["monthly_price_cents"] == 25950
    assert plans["pro"]["name"] == "Pro Plus"
    assert plans["starter"]["seats"] == 4
    assert plans["enterprise"] == next(p for p in before["plans"] if p["code"] == "enterprise")
    listing = await admin.get("/mission-control/pricebook")
    assert f"Version {number} is published" in listing.text
    current = re.search(
        r'<tr aria-current="true"[^>]*>\s*<th scope="row"><a [^>]+>([^<]+)<', listing.text
    )
    assert current
    assert current.group(1) == f"Version {number}"
    # A published version is read-only.
    published = await admin.get(editor_path)
    assert "Save the draft" not in published.text
    response = await admin.post(editor_path, {**form, "code": ["starter", "pro", "enterprise"]})
    assert response.status_code == 409


async def test_invalid_draft_shows_the_message_and_the_typed_values(
    admin: Pages, db: Database
) -> None:
    await admin.get("/mission-control/pricebook")
    editor_path = (await admin.post("/mission-control/pricebook/drafts")).headers["location"]
    number = int(editor_path.rsplit("/", 1)[1])
    form = _editor_form((await admin.get(editor_path)).text)

    async def stored() -> list[dict[str, object]]:
        async with db.transaction() as session:
            version = await session.get(PricebookVersion, number, populate_existing=True)
            assert version is not None
            return list(version.plans)

    original = await stored()
    response = await admin.post(
        editor_path,
        {
            **form,
            "pro.price": "-5",
            "pro.name": "Typed Name",
            "code": ["starter", "pro", "enterprise"],
        },
    )
    assert response.status_code == 422
    assert "plans[1].monthly_price_cents: a whole number of at least 0" in response.text
    assert 'value="-5"' in response.text
    assert 'value="Typed Name"' in response.text
    assert re.search(
        r'id="f-pro-price" name="pro.price" type="number" value="-5"[^>]*aria-invalid="true"',
        response.text,
    )

    without_enterprise = {k: v for k, v in form.items() if not k.startswith("enterprise.")}
    response = await admin.post(
        editor_path, {**without_enterprise, "pro.price": "300", "code": ["starter", "pro"]}
    )
    assert response.status_code == 422
    assert "must list each of starter, pro, enterprise exactly once" in response.text
    assert 'value="300"' in response.text
    assert await stored() == original


# ---- status and the live feed -------------------------------------------------------------


async def test_status_shows_the_database_the_worker_and_failures(
    admin: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings)
    local = settings.model_copy(update={"webhook_allow_private_networks": True})
    async with db.transaction() as session:
        await endpoints.create_endpoint(
            session=session,
            settings=local,
            tenant_id=shop.tenant.id,
            actor=audit.CLI,
            url="http://127.0.0.1:9/hook",
            event_types=["conversation.closed"],
            description="",
            enabled=True,
        )
        tenant = await session.get(Tenant, shop.tenant.id)
        assert tenant is not None
        for n in range(3):
            await outbox.emit(
                session=session,
                tenant=tenant,
                type="conversation.closed",
                data={
                    "conversation": {
                        "id": str(uuid.uuid4()),
                        "session_id": f"s{n}",
                        "channel": "widget",
                        "status": "closed",
                    }
                },
            )
    async with db.transaction() as session:
        deliveries = list(
            await session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.tenant_id == shop.tenant.id)
            )
        )
        assert len(deliveries) == 3
        # As the worker leaves them: one failed for good, one delivered, one still due.
        deliveries[0].status = "failed"
        deliveries[1].status = "succeeded"

    page = await admin.get("/mission-control/status")
    assert page.status_code == 200
    assert re.search(r'data-testid="database"><span class="badge ok[^"]*">OK<', page.text)
    assert "SQLite" in page.text or "PostgreSQL" in page.text
    backlog = int(re.search(r'data-testid="backlog">(\d+)<', page.text).group(1))  # type: ignore[union-attr]
    assert backlog >= 1
    assert 'data-testid="failure-day">50%<' in page.text
    assert 'data-testid="engine"><code>extractive</code>' in page.text
    panel = await admin.get("/mission-control/status/panel")
    assert panel.status_code == 200
    assert "<html" not in panel.text
    assert 'data-testid="failure-day">50%<' in panel.text


async def test_live_feed_lists_recent_conversations_with_the_tenant_name(
    admin: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings, name="Lighthouse Tours")
    conversation_id = str(uuid.uuid4())
    async with db.transaction() as session:
        tenant = await session.get(Tenant, shop.tenant.id)
        assert tenant is not None
        conversation = {
            "id": conversation_id,
            "session_id": "s",
            "channel": "widget",
            "status": "bot",
        }
        await outbox.emit(
            session=session,
            tenant=tenant,
            type="conversation.created",
            data={"conversation": conversation},
        )
        await outbox.emit(
            session=session,
            tenant=tenant,
            type="conversation.handoff_requested",
            data={"conversation": conversation, "reason": "no_answer"},
        )
    page = await admin.get("/mission-control/live")
    assert 'aria-live="polite"' in page.text
    items = re.findall(
        r'<li class="mc-item[^"]*" data-id="[^"]+" data-type="([^"]+)"[^>]*>(.*?)</li>',
        page.text,
        re.S,
    )
    assert [t for t, _ in items[:2]] == ["conversation.handoff_requested", "conversation.created"]
    newest = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", items[0][1]))
    assert "Lighthouse Tours" in newest
    assert "Handed to a person: Bob had no answer" in newest
    assert conversation_id[:8] in newest
    recent = await admin.get("/mission-control/live/recent")
    assert "Lighthouse Tours" in recent.text
    assert "New conversation" in recent.text
    assert "<html" not in recent.text


# ---- who may --------------------------------------------------------------------------------


async def test_forms_without_the_csrf_token_are_refused_and_change_nothing(
    admin: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings, plan="starter")
    path = f"/mission-control/tenants/{shop.tenant.id}"
    async with db.transaction() as session:
        credits_before = (await metering.usage(session=session, tenant_id=shop.tenant.id)).remaining
        versions_before = len(await pricebook.list_versions(session=session))
    await admin.get("/mission-control/pricebook")
    draft_path = (await admin.post("/mission-control/pricebook/drafts")).headers["location"]
    attempts = [
        ("/mission-control/tenants", {"name": "Sneaky", "owner_email": "s@sneaky.example.com"}),
        (f"{path}/suspend", {}),
        (f"{path}/plan", {"plan": "enterprise"}),
        (f"{path}/credits", {"delta": "1000", "reason": "free"}),
        ("/mission-control/pricebook/drafts", {}),
        (draft_path, {"code": "starter"}),
        (f"{draft_path}/publish", {}),
    ]
    for url, data in attempts:
        response = await admin.post(url, data, csrf=False)
        assert response.status_code == 403, url
        assert "This form has expired" in response.text
        response = await admin.post(url, {**data, "csrf_token": "forged"}, csrf=False)
        assert response.status_code == 403, url
    tenant = await _tenant(db, shop.tenant.id)
    assert (tenant.status, tenant.plan) == ("active", "starter")
    async with db.transaction() as session:
        assert (
            await metering.usage(session=session, tenant_id=shop.tenant.id)
        ).remaining == credits_before
        versions = await pricebook.list_versions(session=session)
        assert len(versions) == versions_before + 1  # only the draft made with the token
        assert versions[0].status == "draft"
        assert await session.scalar(select(Tenant.id).where(Tenant.name == "Sneaky")) is None


async def test_a_tenant_owner_is_refused_everywhere(
    pages: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings)
    await pages.login(shop.owner_email)
    paths = [p for p, _ in PAGES] + [
        f"/mission-control/tenants/{shop.tenant.id}",
        "/mission-control/status/panel",
        "/mission-control/live/recent",
        "/mission-control/live/events",
    ]
    for path in paths:
        response = await pages.get(path)
        assert response.status_code == 403, path
        assert "Mission Control is for the people who run this installation." in response.text
    for path in ("/mission-control/tenants", f"/mission-control/tenants/{shop.tenant.id}/suspend"):
        response = await pages.post(path, {"name": "x", "owner_email": "x@x.example.com"})
        assert response.status_code == 403, path
    assert (await _tenant(db, shop.tenant.id)).status == "active"


async def test_logged_out_visitors_are_sent_to_the_login(pages: Pages) -> None:
    for path in (
        "/mission-control/tenants",
        "/mission-control/pricebook/1",
        "/mission-control/live",
    ):
        response = await pages.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/mission-control/login?next=")
