from __future__ import annotations

import httpx

from bob.db.session import Database
from bob.settings import Settings
from tests.factories import PASSWORD, make_tenant


async def _cookie_login(client: httpx.AsyncClient, email: str) -> dict[str, object]:
    response = await client.post(
        "/api/customers/auth/login", json={"email": email, "password": PASSWORD, "cookie": True}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_cookie_login_sets_httponly_lax_cookie_and_returns_csrf_token(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    response = await client.post(
        "/api/customers/auth/login",
        json={"email": made.owner_email, "password": PASSWORD, "cookie": True},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["csrf_token"]
    assert body["access_token"] is None  # the token stays in the HttpOnly cookie
    assert body["token_type"] == "cookie"
    set_cookies = response.headers.get_list("set-cookie")
    session_cookie = next(c for c in set_cookies if c.startswith("bob_session="))
    assert "HttpOnly" in session_cookie
    assert "SameSite=lax" in session_cookie or "SameSite=Lax" in session_cookie
    # The public URL here is http, so the cookie is not marked Secure.
    assert "Secure" not in session_cookie


async def test_cookie_is_secure_when_public_url_is_https(db: Database, settings: Settings) -> None:
    from bob.main import create_app

    made = await make_tenant(db, settings)
    https_settings = settings.model_copy(update={"public_url": "https://office.example.com"})
    app = create_app(https_settings, database=db)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 1))
    async with httpx.AsyncClient(transport=transport, base_url="https://office.example.com") as c:
        response = await c.post(
            "/api/customers/auth/login",
            json={"email": made.owner_email, "password": PASSWORD, "cookie": True},
        )
    session_cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("bob_session=")
    )
    assert "Secure" in session_cookie
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_unsafe_cookie_request_needs_csrf_header(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    body = await _cookie_login(client, made.owner_email)
    # Safe methods work with the cookie alone.
    me = await client.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json()["auth"] == "cookie"

    new_member = {"email": "csrf-check@example.com", "role": "agent", "password": PASSWORD}
    missing = await client.post("/api/customers/team", json=new_member)
    assert missing.status_code == 403
    assert missing.json()["error"]["code"] == "csrf_failed"
    wrong = await client.post(
        "/api/customers/team", json=new_member, headers={"X-CSRF-Token": "forged"}
    )
    assert wrong.status_code == 403

    ok = await client.post(
        "/api/customers/team", json=new_member, headers={"X-CSRF-Token": str(body["csrf_token"])}
    )
    assert ok.status_code == 201, ok.text
    # Nothing was stored by the refused attempts: exactly one such member exists.
    team = await client.get("/api/customers/team")
    emails = [m["email"] for m in team.json()["items"]]
    assert emails.count("csrf-check@example.com") == 1


async def test_csrf_token_of_another_session_is_refused(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    other = await make_tenant(db, settings)
    transport = client._transport  # same app, separate cookie jar
    async with httpx.AsyncClient(transport=transport, base_url=str(client.base_url)) as c2:
        other_body = await _cookie_login(c2, other.owner_email)
    await _cookie_login(client, made.owner_email)
    response = await client.post(
        "/api/auth/logout", headers={"X-CSRF-Token": str(other_body["csrf_token"])}
    )
    assert response.status_code == 403


async def test_cookie_logout_with_csrf_clears_session(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    body = await _cookie_login(client, made.owner_email)
    response = await client.post(
        "/api/auth/logout", headers={"X-CSRF-Token": str(body["csrf_token"])}
    )
    assert response.status_code == 204
    assert (await client.get("/api/auth/me")).status_code == 401


async def test_bearer_requests_need_no_csrf_token(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    response = await client.post(
        "/api/customers/auth/login", json={"email": made.owner_email, "password": PASSWORD}
    )
    token = response.json()["access_token"]
    created = await client.post(
        "/api/customers/team",
        json={"email": "bearer-member@example.com", "role": "viewer", "password": PASSWORD},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 201
