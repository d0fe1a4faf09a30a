"""The pages' common rules: login, logout, who may open what, CSRF, languages, signup."""

from __future__ import annotations

import httpx
import pytest

from bob.auth.permissions import Role
from bob.db.session import Database
from bob.main import create_app
from bob.settings import Settings
from tests.conftest import PUBLIC_URL
from tests.factories import PASSWORD, make_admin, make_member, make_tenant, unique
from tests.integration.portal.conftest import Pages


async def test_logged_out_visitors_go_to_the_login_page(pages: Pages) -> None:
    for path, login in [
        ("/portal?days=7", "/portal/login?next=%2Fportal%3Fdays%3D7"),
        ("/portal", "/portal/login?next=%2Fportal"),
        ("/mission-control", "/mission-control/login?next=%2Fmission-control"),
    ]:
        response = await pages.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == login


async def test_login_lands_on_the_page_asked_for_and_logout_ends_the_session(
    pages: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings)
    await pages.get("/portal/login?next=/portal/audit")
    response = await pages.post(
        "/portal/login", {"email": shop.owner_email, "password": PASSWORD, "next": "/portal/audit"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/audit"
    assert "bob_session" in response.cookies

    dashboard = await pages.get("/portal")
    assert dashboard.status_code == 200
    assert shop.tenant.name in dashboard.text
    assert 'aria-current="page">Dashboard' in dashboard.text

    response = await pages.post("/portal/logout")
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/login"
    assert (await pages.get("/portal")).status_code == 303


async def test_next_never_leads_off_site(pages: Pages, db: Database, settings: Settings) -> None:
    shop = await make_tenant(db, settings)
    await pages.get("/portal/login")
    for evil in ["https://evil.example.com/", "//evil.example.com/portal", "/mission-control"]:
        response = await pages.post(
            "/portal/login", {"email": shop.owner_email, "password": PASSWORD, "next": evil}
        )
        assert response.headers["location"] == "/portal", evil


async def test_wrong_password_shows_the_form_again_with_a_message(
    pages: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings)
    await pages.get("/portal/login")
    response = await pages.post(
        "/portal/login", {"email": shop.owner_email, "password": "not the password"}
    )
    assert response.status_code == 401
    assert "Wrong email or password." in response.text
    assert f'value="{shop.owner_email}"' in response.text
    assert "bob_session" not in response.cookies


async def test_login_form_without_its_token_is_refused(
    pages: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings)
    await pages.get("/portal/login")
    response = await pages.post(
        "/portal/login", {"email": shop.owner_email, "password": PASSWORD}, csrf=False
    )
    assert response.status_code == 403
    assert "Reload it and try again" in response.text
    assert "bob_session" not in response.cookies


async def test_forms_without_the_session_csrf_token_are_refused(
    pages: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings)
    await pages.login(shop.owner_email)
    missing = await pages.post("/portal/logout", csrf=False)
    assert missing.status_code == 403
    forged = await pages.post("/portal/logout", {"csrf_token": "forged"})
    assert forged.status_code == 403
    # Still logged in: the refused logouts did nothing.
    assert (await pages.get("/portal")).status_code == 200


async def test_each_area_is_for_its_own_audience(
    pages: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings)
    await pages.login(shop.owner_email)
    refused = await pages.get("/mission-control")
    assert refused.status_code == 403
    assert "Mission Control is for the people who run this installation." in refused.text

    admin = await make_admin(db, settings)
    await pages.client.post("/portal/logout", data={"csrf_token": pages.csrf})
    await pages.login(admin.email, admin=True)
    assert (await pages.get("/mission-control")).status_code == 200
    refused = await pages.get("/portal")
    assert refused.status_code == 403
    assert "platform admins use Mission Control" in refused.text
    assert (await pages.get("/portal/team")).status_code == 403
    # The platform's own front office: the portal's page, in Mission Control's frame.
    for path in ("/portal/conversations", "/portal/persona", "/portal/widget", "/portal/webhooks"):
        front_office = await pages.get(path)
        assert front_office.status_code == 200, (path, front_office.text)
        assert 'class="area-mission-control"' in front_office.text
    knowledge = await pages.get("/portal/knowledge")
    assert knowledge.status_code == 200
    assert 'class="area-mission-control"' in knowledge.text
    assert 'href="/mission-control/tenants"' in knowledge.text
    assert '<li class="nav-section">Front office</li>' in knowledge.text


async def test_a_tenant_user_cannot_log_in_at_mission_control(
    pages: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings)
    await pages.get("/mission-control/login")
    response = await pages.post(
        "/mission-control/login", {"email": shop.owner_email, "password": PASSWORD}
    )
    assert response.status_code == 401
    assert "bob_session" not in response.cookies


async def test_pages_check_the_permission_of_the_api_behind_them(
    pages: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings)
    agent = await make_member(db, settings, shop.tenant, Role.AGENT)
    await pages.login(agent.email)
    response = await pages.get("/portal/audit")
    assert response.status_code == 403
    assert "audit.read" in response.text
    dashboard = await pages.get("/portal")
    # The navigation offers only what the role may open.
    assert 'href="/portal/conversations"' in dashboard.text
    assert 'href="/portal/audit"' not in dashboard.text
    assert 'href="/portal/billing"' not in dashboard.text


@pytest.mark.parametrize(
    ("header", "lang", "text"),
    [("ja,en;q=0.5", "ja", "ログイン"), ("pt-BR", "pt-BR", "Entrar"), ("de", "en", "Log in")],
)
async def test_language_follows_accept_language(
    pages: Pages, header: str, lang: str, text: str
) -> None:
    response = await pages.get("/portal/login", headers={"Accept-Language": header})
    assert f'<html lang="{lang}">' in response.text
    assert f'<button type="submit">{text}</button>' in response.text


async def test_the_language_switch_is_remembered(pages: Pages) -> None:
    response = await pages.get("/portal/login?lang=ja", headers={"Accept-Language": "en"})
    assert '<html lang="ja">' in response.text
    assert response.cookies.get("bob_lang") == "ja"
    again = await pages.get("/portal/login", headers={"Accept-Language": "en"})
    assert '<html lang="ja">' in again.text
    assert (await pages.get("/portal/login?lang=xx")).status_code == 200


async def test_signup_is_refused_when_turned_off(pages: Pages) -> None:
    response = await pages.get("/portal/signup")
    assert response.status_code == 403
    assert "turned off" in response.text


async def test_signup_creates_the_business_and_logs_the_owner_in(
    db: Database, settings: Settings
) -> None:
    app = create_app(settings.model_copy(update={"allow_signup": True}), database=db)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.10", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        await _signup(Pages(client))


async def _signup(pages: Pages) -> None:
    page = await pages.get("/portal/signup")
    assert page.status_code == 200
    assert "starter" in page.text
    assert "$79.00" in page.text
    email = f"{unique('owner')}@example.com"
    short = await pages.post(
        "/portal/signup",
        {"business_name": "Sunny Bakery", "email": email, "password": "short", "plan": "pro"},
    )
    assert short.status_code == 422
    assert "password" in short.text
    assert 'value="Sunny Bakery"' in short.text

    response = await pages.post(
        "/portal/signup",
        {"business_name": "Sunny Bakery", "email": email, "password": PASSWORD, "plan": "pro"},
    )
    assert response.status_code == 303, response.text
    dashboard = await pages.get(response.headers["location"])
    assert dashboard.status_code == 200
    assert "Sunny Bakery" in dashboard.text
    assert "Getting started" in dashboard.text

    await pages.get("/portal/signup")
    taken = await pages.post(
        "/portal/signup",
        {"business_name": "Other", "email": email, "password": PASSWORD, "plan": "pro"},
    )
    assert taken.status_code == 409


async def test_unknown_page_paths_answer_with_a_page(pages: Pages) -> None:
    response = await pages.get("/portal/no-such-page", headers={"Accept": "text/html"})
    # Logged out: the area's pages all need a login, even ones that do not exist.
    assert response.status_code in (303, 404)


async def test_pages_run_only_their_own_scripts(pages: Pages) -> None:
    response = await pages.get("/portal/login")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]


async def test_the_audit_log_shows_entries_readably(
    pages: Pages, db: Database, settings: Settings
) -> None:
    shop = await make_tenant(db, settings, name="営業 Shop")
    await pages.login(shop.owner_email)
    response = await pages.get("/portal/audit")
    assert response.status_code == 200
    assert "auth.login" in response.text
    assert "tenant.created" in response.text
    assert "&#34;name&#34;: &#34;営業 Shop&#34;" in response.text  # in the entry's details
    assert "\\u55b6" not in response.text
