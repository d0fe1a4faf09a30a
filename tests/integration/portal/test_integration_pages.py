"""The portal's webhooks, team and billing pages: what each form stores, what it refuses, and
what it shows only once."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from bob import audit
from bob.accounts import service as accounts
from bob.auth.permissions import Role
from bob.billing import subscriptions
from bob.db.session import Database
from bob.db.types import utcnow
from bob.events.models import WebhookDelivery, WebhookEndpoint
from bob.main import create_app
from bob.settings import Settings
from bob.tenants.models import Tenant
from bob.webhooks import endpoints as webhooks
from bob.webhooks import signing
from bob.webhooks.worker import Worker
from tests.conftest import PUBLIC_URL, MigratedDatabase, make_settings
from tests.factories import make_member, make_tenant
from tests.integration.portal.conftest import Pages
from tests.webhook_receiver import Receiver, Reply
from tests.webhook_receiver import receiver as receiver

# A public address written as a literal: saving it needs no DNS, and nothing is ever sent to it.
PUBLIC_HOOK = "https://93.184.215.14/bob"
SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]+")
INVITE = re.compile(re.escape(PUBLIC_URL) + r"/invite/([A-Za-z0-9_-]+)")
ENDPOINT_PAGE = re.compile(r"^/portal/webhooks/([0-9a-f-]{36})$")
DELIVERY_PAGE = re.compile(r"^/portal/webhooks/deliveries/([0-9a-f-]{36})$")


# ---- helpers --------------------------------------------------------------------------------


async def _endpoints(db: Database, tenant: Tenant) -> list[WebhookEndpoint]:
    async with db.transaction() as session:
        return await webhooks.list_endpoints(session=session, tenant_id=tenant.id)


async def _add_endpoint(
    db: Database, settings: Settings, tenant: Tenant, url: str = PUBLIC_HOOK
) -> WebhookEndpoint:
    async with db.transaction() as session:
        endpoint, _ = await webhooks.create_endpoint(
            session=session,
            settings=settings,
            tenant_id=tenant.id,
            actor=audit.CLI,
            url=url,
            event_types=["*"],
            description="",
            enabled=True,
        )
        return endpoint


async def _members(db: Database, tenant: Tenant) -> dict[str, str]:
    async with db.transaction() as session:
        found = await accounts.list_members(
            session=session, tenant_id=tenant.id, limit=100, cursor=None
        )
        return {u.email: u.role for u in found.items}


async def _subscription_plan(db: Database, tenant: Tenant) -> tuple[str, str | None, str]:
    async with db.transaction() as session:
        sub = await subscriptions.current_subscription(session=session, tenant_id=tenant.id)
        return sub.plan, sub.pending_plan, sub.at_zero


def _location(response: httpx.Response, pattern: re.Pattern[str]) -> uuid.UUID:
    assert response.status_code == 303, response.text
    match = pattern.match(response.headers["location"])
    assert match, response.headers["location"]
    return uuid.UUID(match.group(1))


# ---- every page, for the owner ----------------------------------------------------------------


async def test_each_page_renders_for_the_owner(
    pages: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings)
    endpoint = await _add_endpoint(db, settings, shop.tenant)
    await pages.login(shop.owner_email)

    listing = await pages.get("/portal/webhooks")
    assert listing.status_code == 200
    assert 'aria-current="page">Webhooks' in listing.text
    assert f'href="/portal/webhooks/{endpoint.id}"' in listing.text
    assert "1 of 3 integrations in use on the Pro plan." in listing.text
    # The catalogue's groups as checkboxes, with "all of a group" and "all events".
    for value in ("*", "conversation.*", "conversation.created", "credits.exhausted"):
        assert f'name="event_types" value="{value}"' in listing.text
    # Sent only on request: no filter may ask for it, so no checkbox offers it.
    assert 'value="webhook.test"' not in listing.text

    detail = await pages.get(f"/portal/webhooks/{endpoint.id}")
    assert detail.status_code == 200
    assert "Rotate the signing secret" in detail.text
    assert SECRET.search(detail.text) is None

    log = await pages.get("/portal/webhooks/deliveries")
    assert log.status_code == 200
    assert "No deliveries yet." in log.text

    events = await pages.get("/portal/webhooks/events")
    assert events.status_code == 200
    assert 'id="conversation.handoff_requested"' in events.text
    assert "&#34;business_id&#34;: &#34;acme-bikes&#34;" in events.text  # an example payload

    team = await pages.get("/portal/team")
    assert team.status_code == 200
    assert shop.owner_email in team.text
    assert "1 of 10 used" in team.text

    page = await pages.get("/portal/billing")
    assert page.status_code == 200
    assert '<span class="stat-value" data-testid="plan">Pro</span>' in page.text
    assert "Version 1" in page.text
    assert "Upgrade to Enterprise" in page.text
    assert "Move to Starter at renewal" in page.text
    assert 'name="at_zero" value="handoff" checked' in page.text
    assert '<progress value="1" max="10"' in page.text  # seats
    assert 'class="chart"' in page.text

    japanese = await pages.get("/portal/billing?lang=ja")
    assert "Enterprise にアップグレード" in japanese.text
    assert "Upgrade to Enterprise" not in japanese.text


# ---- webhooks ---------------------------------------------------------------------------------


async def test_a_new_endpoint_shows_its_signing_secret_once(
    pages: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings)
    await pages.login(shop.owner_email)
    await pages.get("/portal/webhooks")
    response = await pages.post(
        "/portal/webhooks",
        {
            "url": PUBLIC_HOOK,
            "description": "Orders system",
            "event_types": ["conversation.*", "credits.exhausted"],
        },
    )
    endpoint_id = _location(response, ENDPOINT_PAGE)
    [stored] = await _endpoints(db, shop.tenant)
    assert stored.id == endpoint_id
    assert (stored.url, stored.description) == (PUBLIC_HOOK, "Orders system")
    assert stored.event_types == ["conversation.*", "credits.exhausted"]

    shown = await pages.get(response.headers["location"])
    assert shown.status_code == 200
    assert f"Endpoint added: {PUBLIC_HOOK}" in shown.text
    secret = SECRET.search(shown.text)
    assert secret is not None
    assert secret.group(0) == signing.unseal(settings, stored.secret_encrypted)
    assert 'role="alert"><strong>Copy it now: it is shown only this once.' in shown.text
    assert 'data-copy="#signing-secret"' in shown.text

    again = await pages.get(response.headers["location"])
    assert again.status_code == 200
    assert SECRET.search(again.text) is None
    assert "shown only this once" not in again.text


async def test_forms_without_the_csrf_token_change_nothing(
    pages: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings)
    endpoint = await _add_endpoint(db, settings, shop.tenant)
    agent = await make_member(db, settings, shop.tenant, Role.AGENT)
    await pages.login(shop.owner_email)
    refused = [
        ("/portal/webhooks", {"url": PUBLIC_HOOK, "event_types": "*"}),
        (f"/portal/webhooks/{endpoint.id}/delete", {}),
        (f"/portal/webhooks/{endpoint.id}/rotate", {}),
        ("/portal/team", {"email": "new@example.com", "role": "agent"}),
        (f"/portal/team/{agent.id}/remove", {}),
        ("/portal/billing/plan", {"plan": "enterprise"}),
        ("/portal/billing/settings", {"at_zero": "overage"}),
    ]
    for path, form in refused:
        response = await pages.post(path, form, csrf=False)
        assert response.status_code == 403, path
        assert "Reload it and try again" in response.text
    [still] = await _endpoints(db, shop.tenant)
    assert (still.id, still.secret_rotated_at) == (endpoint.id, None)
    assert set(await _members(db, shop.tenant)) == {shop.owner_email, agent.email}
    assert await _subscription_plan(db, shop.tenant) == ("pro", None, "handoff")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8080/hook", "127.0.0.1 is a loopback address"),
        ("http://10.1.2.3/hook", "10.1.2.3 is a private address"),
        ("http://localhost/hook", "localhost is a private host name"),
    ],
)
async def test_a_private_url_is_refused_and_the_form_keeps_what_was_typed(
    pages: Pages, db: Database, settings: Settings, url: str, reason: str
) -> None:
    shop = await make_tenant(db, settings)
    await pages.login(shop.owner_email)
    await pages.get("/portal/webhooks")
    response = await pages.post(
        "/portal/webhooks",
        {"url": url, "description": "Back office", "event_types": ["message.created"]},
    )
    assert response.status_code == 422
    assert f"url: {reason}" in response.text
    assert f'value="{url}"' in response.text
    assert 'value="Back office"' in response.text
    assert 'value="message.created" checked' in response.text
    assert 'value="*" checked' not in response.text
    assert await _endpoints(db, shop.tenant) == []


async def test_no_event_chosen_is_refused_with_the_services_message(
    pages: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings)
    await pages.login(shop.owner_email)
    response = await pages.post("/portal/webhooks", {"url": PUBLIC_HOOK})
    assert response.status_code == 422
    assert "event_types: give at least one event type" in response.text
    assert f'value="{PUBLIC_HOOK}"' in response.text
    assert await _endpoints(db, shop.tenant) == []


async def test_edit_turn_off_and_on_rotate_and_delete_an_endpoint(
    pages: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings)
    endpoint = await _add_endpoint(db, settings, shop.tenant)
    first_secret = signing.unseal(settings, endpoint.secret_encrypted)
    path = f"/portal/webhooks/{endpoint.id}"
    await pages.login(shop.owner_email)
    await pages.get(path)

    saved = await pages.post(
        path, {"url": PUBLIC_HOOK, "description": "CRM", "event_types": ["persona.*"]}
    )
    assert saved.status_code == 303
    [stored] = await _endpoints(db, shop.tenant)
    assert (stored.description, stored.event_types) == ("CRM", ["persona.*"])

    refused = await pages.post(
        path, {"url": "http://192.168.1.10/x", "description": "CRM 2", "event_types": ["*"]}
    )
    assert refused.status_code == 422
    assert "192.168.1.10 is a private address" in refused.text
    assert 'value="CRM 2"' in refused.text
    [stored] = await _endpoints(db, shop.tenant)
    assert (stored.url, stored.description) == (PUBLIC_HOOK, "CRM")

    assert (await pages.post(f"{path}/enabled", {"enabled": "false"})).status_code == 303
    [stored] = await _endpoints(db, shop.tenant)
    assert stored.enabled is False
    off = await pages.get(path)
    assert "Turn the endpoint on to send a test event." in off.text
    test_refused = await pages.post(f"{path}/test")
    assert test_refused.status_code == 409
    assert "enable it before sending a test event" in test_refused.text
    assert (await pages.post(f"{path}/enabled", {"enabled": "true"})).status_code == 303
    [stored] = await _endpoints(db, shop.tenant)
    assert stored.enabled is True

    rotated = await pages.post(f"{path}/rotate")
    assert rotated.status_code == 303
    shown = await pages.get(path)
    new_secret = SECRET.search(shown.text)
    assert new_secret is not None
    assert new_secret.group(0) != first_secret
    assert "For the next 24 hours every delivery carries two signatures" in shown.text
    [stored] = await _endpoints(db, shop.tenant)
    assert new_secret.group(0) == signing.unseal(settings, stored.secret_encrypted)
    assert stored.previous_secret_encrypted is not None
    assert signing.unseal(settings, stored.previous_secret_encrypted) == first_secret
    assert SECRET.search((await pages.get(path)).text) is None

    deleted = await pages.post(f"{path}/delete")
    assert deleted.status_code == 303
    assert deleted.headers["location"] == "/portal/webhooks"
    assert await _endpoints(db, shop.tenant) == []
    assert (await pages.get(path)).status_code == 404


async def test_an_endpoint_bob_turned_off_says_why_and_can_be_turned_on(
    pages: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings)
    endpoint = await _add_endpoint(db, settings, shop.tenant)
    now = utcnow()
    async with db.transaction() as session:
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint.id)
            .values(
                enabled=False,
                disabled_at=now,
                failing_since=now - timedelta(days=5, minutes=1),
                disabled_reason="every delivery failed for 5 days",
            )
        )
    await pages.login(shop.owner_email)
    listing = await pages.get("/portal/webhooks")
    assert "Turned off by Bob" in listing.text
    assert "Reason: every delivery failed for 5 days." in listing.text
    assert "Deliveries had been failing since" in listing.text
    assert f'action="/portal/webhooks/{endpoint.id}/enabled"' in listing.text

    response = await pages.post(f"/portal/webhooks/{endpoint.id}/enabled", {"enabled": "true"})
    assert response.status_code == 303
    [stored] = await _endpoints(db, shop.tenant)
    assert stored.enabled is True
    assert (stored.disabled_reason, stored.failing_since, stored.disabled_at) == (None,) * 3
    assert "Turned off by Bob" not in (await pages.get("/portal/webhooks")).text


# ---- deliveries, with a real receiver on loopback ---------------------------------------------


@pytest.fixture
def loopback_settings(migrated: MigratedDatabase, tmp_path: Path) -> Settings:
    # The receiver lives on loopback, and retries are immediate so the test need not wait.
    return make_settings(
        migrated.url,
        tmp_path,
        webhook_allow_private_networks=True,
        webhook_retry_schedule=[0, 0, 0],
        webhook_timeout_s=2,
    )


@pytest.fixture
async def loopback_pages(loopback_settings: Settings, db: Database) -> AsyncIterator[Pages]:
    app = create_app(loopback_settings, database=db)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        yield Pages(client)


@pytest.fixture
async def worker(db: Database, loopback_settings: Settings) -> AsyncIterator[Worker]:
    made = Worker(db=db, settings=loopback_settings, name="page-test-worker")
    yield made
    await made.close()


async def test_test_event_delivery_log_and_redelivery(
    loopback_pages: Pages,
    db: Database,
    loopback_settings: Settings,
    receiver: Receiver,
    worker: Worker,
) -> None:
    pages = loopback_pages
    shop = await make_tenant(db, loopback_settings)
    await pages.login(shop.owner_email)
    await pages.get("/portal/webhooks")
    created = await pages.post(
        "/portal/webhooks", {"url": f"{receiver.url}/hooks", "event_types": "*"}
    )
    endpoint_id = _location(created, ENDPOINT_PAGE)

    receiver.then(Reply(status=500, body=b"database is down"))
    queued = await pages.post(f"/portal/webhooks/{endpoint_id}/test")
    delivery_id = _location(queued, DELIVERY_PAGE)
    waiting = await pages.get(f"/portal/webhooks/deliveries/{delivery_id}")
    assert "Test event queued." in waiting.text
    assert "No attempt yet" in waiting.text

    assert await worker.run_once() == 1  # answered 500
    assert await worker.run_once() == 1  # the retry, due at once: 200
    assert len(receiver.wait_for(2)) == 2
    page = await pages.get(f"/portal/webhooks/deliveries/{delivery_id}")
    assert page.status_code == 200
    attempts = page.text.split("<tbody>")[1].split("</tbody>")[0]
    assert attempts.count("<tr>") == 2
    assert ">500<" in attempts
    assert "database is down" in attempts
    assert ">200<" in attempts
    assert "Delivered" in attempts
    assert " ms<" in attempts  # the duration
    assert "&#34;type&#34;: &#34;webhook.test&#34;" in page.text

    succeeded = await pages.get("/portal/webhooks/deliveries?status=succeeded")
    assert f"/portal/webhooks/deliveries/{delivery_id}" in succeeded.text
    failed = await pages.get("/portal/webhooks/deliveries?status=failed")
    assert f"/portal/webhooks/deliveries/{delivery_id}" not in failed.text
    per_endpoint = await pages.get(f"/portal/webhooks/{endpoint_id}")
    assert f"/portal/webhooks/deliveries/{delivery_id}" in per_endpoint.text

    redelivered = await pages.post(f"/portal/webhooks/deliveries/{delivery_id}/redeliver")
    assert redelivered.status_code == 303
    async with db.transaction() as session:
        view = await webhooks.get_delivery(
            session=session, tenant_id=shop.tenant.id, delivery_id=delivery_id
        )
        assert view.delivery.status == "pending"
        assert view.delivery.attempt_count == 2
    pending = await pages.get(redelivered.headers["location"])
    assert "Sending it again now" in pending.text
    assert "Next attempt" in pending.text

    assert await worker.run_once() == 1
    got = receiver.wait_for(3)
    assert got[2].webhook_id == got[1].webhook_id  # the same message, sent again
    async with db.transaction() as session:
        view = await webhooks.get_delivery(
            session=session, tenant_id=shop.tenant.id, delivery_id=delivery_id
        )
        assert (view.delivery.status, len(view.attempts)) == ("succeeded", 3)


# ---- team -------------------------------------------------------------------------------------


async def test_an_invite_within_the_seats_shows_its_link_once(
    pages: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings)
    await pages.login(shop.owner_email)
    await pages.get("/portal/team")
    response = await pages.post(
        "/portal/team", {"email": "Sam@Example.com", "role": "agent", "name": "Sam"}
    )
    assert response.status_code == 303
    assert (await _members(db, shop.tenant))["sam@example.com"] == "agent"

    shown = await pages.get("/portal/team")
    assert "sam@example.com was added as Agent." in shown.text
    link = INVITE.search(shown.text)
    assert link is not None
    assert 'role="alert"><strong>Copy it now' in shown.text
    assert 'data-copy="#invite-url"' in shown.text
    assert "Invite pending" in shown.text
    # The link is the real one: the invite page accepts it and the member sets a password.
    await pages.get(f"/invite/{link.group(1)}")
    accepted = await pages.post(f"/invite/{link.group(1)}", {"password": "a long enough password"})
    assert accepted.status_code == 200

    again = await pages.get("/portal/team")
    assert INVITE.search(again.text) is None


async def test_the_seat_limit_is_shown_with_the_plans_seats(
    pages: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings, plan="starter")
    await make_member(db, settings, shop.tenant, Role.AGENT)
    await make_member(db, settings, shop.tenant, Role.VIEWER)
    await pages.login(shop.owner_email)
    await pages.get("/portal/team")
    response = await pages.post(
        "/portal/team", {"email": "fourth@example.com", "role": "viewer", "name": "Fourth"}
    )
    assert response.status_code == 409
    assert "the Starter plan includes 3 team seats and all are taken" in response.text
    assert "3 of 3 used" in response.text
    assert "The Starter plan includes 3 seats." in response.text
    assert 'value="fourth@example.com"' in response.text
    assert 'value="Fourth"' in response.text
    assert "fourth@example.com" not in await _members(db, shop.tenant)


async def test_bad_invites_are_refused_and_keep_what_was_typed(
    pages: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings)
    await pages.login(shop.owner_email)
    await pages.get("/portal/team")
    bad_email = await pages.post("/portal/team", {"email": "not-an-email", "role": "agent"})
    assert bad_email.status_code == 422
    assert "email:" in bad_email.text
    assert 'value="not-an-email"' in bad_email.text
    taken = await pages.post("/portal/team", {"email": shop.owner_email, "role": "agent"})
    assert taken.status_code == 409
    assert "already exists" in taken.text
    assert set(await _members(db, shop.tenant)) == {shop.owner_email}


async def test_role_change_removal_and_the_last_owner(
    pages: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings)
    agent = await make_member(db, settings, shop.tenant, Role.AGENT)
    await pages.login(shop.owner_email)
    await pages.get("/portal/team")

    promoted = await pages.post(f"/portal/team/{agent.id}/role", {"role": "admin"})
    assert promoted.status_code == 303
    assert (await _members(db, shop.tenant))[agent.email] == "admin"
    assert f"{agent.email} is now Admin." in (await pages.get("/portal/team")).text

    last_owner = await pages.post(f"/portal/team/{shop.owner.id}/role", {"role": "viewer"})
    assert last_owner.status_code == 409
    assert "a business needs at least one active owner" in last_owner.text
    assert (await _members(db, shop.tenant))[shop.owner_email] == "owner"
    removing_self = await pages.post(f"/portal/team/{shop.owner.id}/remove")
    assert removing_self.status_code == 409
    assert shop.owner_email in await _members(db, shop.tenant)

    removed = await pages.post(f"/portal/team/{agent.id}/remove")
    assert removed.status_code == 303
    assert agent.email not in await _members(db, shop.tenant)


async def test_an_admin_cannot_touch_an_owner(
    pages: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings)
    admin = await make_member(db, settings, shop.tenant, Role.ADMIN)
    await pages.login(admin.email)
    team = await pages.get("/portal/team")
    assert team.status_code == 200
    assert '<option value="owner"' not in team.text
    refused = await pages.post(f"/portal/team/{shop.owner.id}/role", {"role": "agent"})
    assert refused.status_code == 403
    assert "only an owner can add, change or remove an owner" in refused.text
    assert (await _members(db, shop.tenant))[shop.owner_email] == "owner"


# ---- billing ----------------------------------------------------------------------------------


async def test_the_owner_changes_the_plan_and_the_at_zero_setting(
    pages: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings)
    await pages.login(shop.owner_email)
    await pages.get("/portal/billing")

    upgraded = await pages.post("/portal/billing/plan", {"plan": "enterprise"})
    assert upgraded.status_code == 303
    assert await _subscription_plan(db, shop.tenant) == ("enterprise", None, "handoff")
    page = await pages.get("/portal/billing")
    assert "Your plan is now Enterprise." in page.text
    assert '<span class="stat-value" data-testid="plan">Enterprise</span>' in page.text

    downgraded = await pages.post("/portal/billing/plan", {"plan": "starter"})
    assert downgraded.status_code == 303
    assert await _subscription_plan(db, shop.tenant) == ("enterprise", "starter", "handoff")
    page = await pages.get("/portal/billing")
    assert "You move to Starter when this period ends" in page.text
    assert "Stay on Enterprise" in page.text

    unknown = await pages.post("/portal/billing/plan", {"plan": "platinum"})
    assert unknown.status_code == 422
    assert "plan: must be one of" in unknown.text

    saved = await pages.post("/portal/billing/settings", {"at_zero": "overage"})
    assert saved.status_code == 303
    assert (await _subscription_plan(db, shop.tenant))[2] == "overage"
    page = await pages.get("/portal/billing")
    assert 'name="at_zero" value="overage" checked' in page.text
    wrong = await pages.post("/portal/billing/settings", {"at_zero": "panic"})
    assert wrong.status_code == 422
    assert (await _subscription_plan(db, shop.tenant))[2] == "overage"


async def test_a_downgrade_the_business_does_not_fit_is_refused(
    pages: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings)
    for role in (Role.ADMIN, Role.AGENT, Role.VIEWER):
        await make_member(db, settings, shop.tenant, role)
    await pages.login(shop.owner_email)
    await pages.get("/portal/billing")
    response = await pages.post("/portal/billing/plan", {"plan": "starter"})
    assert response.status_code == 409
    assert "cannot move to Starter: the business uses 4 team members" in response.text
    assert await _subscription_plan(db, shop.tenant) == ("pro", None, "handoff")


async def test_an_admin_sees_billing_but_cannot_change_the_plan(
    pages: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings)
    admin = await make_member(db, settings, shop.tenant, Role.ADMIN)
    await pages.login(admin.email)
    page = await pages.get("/portal/billing")
    assert page.status_code == 200
    assert 'action="/portal/billing/plan"' not in page.text
    assert 'action="/portal/billing/settings"' not in page.text
    assert "Only an owner can change the plan." in page.text
    for path, form in [
        ("/portal/billing/plan", {"plan": "enterprise"}),
        ("/portal/billing/settings", {"at_zero": "overage"}),
    ]:
        refused = await pages.post(path, form)
        assert refused.status_code == 403
        assert "billing.manage" in refused.text
    assert await _subscription_plan(db, shop.tenant) == ("pro", None, "handoff")


# ---- who may see what -------------------------------------------------------------------------


async def test_another_businesss_ids_are_not_found(
    pages: Pages, db: Database, settings: Settings
) -> None:
    theirs = await make_tenant(db, settings)
    their_endpoint = await _add_endpoint(db, settings, theirs.tenant)
    their_agent = await make_member(db, settings, theirs.tenant, Role.AGENT)
    async with db.transaction() as session:
        view = await webhooks.send_test(
            session=session,
            tenant=theirs.tenant,
            actor=audit.CLI,
            endpoint_id=their_endpoint.id,
        )
    their_delivery = view.delivery.id
    mine = await make_tenant(db, settings)
    await pages.login(mine.owner_email)

    for path in [
        f"/portal/webhooks/{their_endpoint.id}",
        f"/portal/webhooks/deliveries/{their_delivery}",
    ]:
        assert (await pages.get(path)).status_code == 404, path
    for path, form in [
        (f"/portal/webhooks/{their_endpoint.id}", {"url": PUBLIC_HOOK, "event_types": "*"}),
        (f"/portal/webhooks/{their_endpoint.id}/delete", {}),
        (f"/portal/webhooks/{their_endpoint.id}/rotate", {}),
        (f"/portal/webhooks/{their_endpoint.id}/enabled", {"enabled": "false"}),
        (f"/portal/webhooks/{their_endpoint.id}/test", {}),
        (f"/portal/webhooks/deliveries/{their_delivery}/redeliver", {}),
        (f"/portal/team/{their_agent.id}/role", {"role": "admin"}),
        (f"/portal/team/{their_agent.id}/active", {"is_active": "false"}),
        (f"/portal/team/{their_agent.id}/remove", {}),
    ]:
        response = await pages.post(path, form)
        assert response.status_code == 404, path
        assert "Not found" in response.text

    [still] = await _endpoints(db, theirs.tenant)
    assert (still.enabled, still.secret_rotated_at) == (True, None)
    assert (await _members(db, theirs.tenant))[their_agent.email] == "agent"
    async with db.transaction() as session:
        delivery = await session.get(WebhookDelivery, their_delivery)
        assert delivery is not None
        assert delivery.attempt_count == 0


async def test_roles_without_the_permission_are_refused(
    pages: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings)
    agent = await make_member(db, settings, shop.tenant, Role.AGENT)
    viewer = await make_member(db, settings, shop.tenant, Role.VIEWER)

    await pages.login(agent.email)
    for path in ["/portal/webhooks", "/portal/webhooks/deliveries", "/portal/team"]:
        response = await pages.get(path)
        assert response.status_code == 403, path
        assert "Your role (agent) cannot open this page" in response.text
    assert (await pages.get("/portal/billing")).status_code == 403
    refused = await pages.post("/portal/webhooks", {"url": PUBLIC_HOOK, "event_types": "*"})
    assert refused.status_code == 403
    refused = await pages.post("/portal/team", {"email": "x@example.com", "role": "agent"})
    assert refused.status_code == 403
    assert await _endpoints(db, shop.tenant) == []
    assert "x@example.com" not in await _members(db, shop.tenant)

    await pages.post("/portal/logout")
    await pages.login(viewer.email)
    assert (await pages.get("/portal/webhooks")).status_code == 403
    page = await pages.get("/portal/billing")
    assert page.status_code == 200
    assert 'action="/portal/billing/plan"' not in page.text
    nav = page.text.split('class="sidenav"')[1].split("</nav>")[0]
    assert "/portal/billing" in nav
    assert "/portal/team" not in nav
