from __future__ import annotations

import time

import httpx
import pytest
from fastapi import FastAPI

from bob.auth import passwords
from bob.auth.permissions import Role
from bob.db.session import Database
from bob.settings import Settings
from tests.conftest import redis_limiter
from tests.factories import PASSWORD, bearer, login, make_admin, make_member, make_tenant

SEED_PATHS = ["/api/customers/auth/login", "/api/customer/auth/login"]


@pytest.mark.parametrize("path", SEED_PATHS)
async def test_seed_login_body_works_for_tenant_users(
    client: httpx.AsyncClient, db: Database, settings: Settings, path: str
) -> None:
    made = await make_tenant(db, settings)
    response = await client.post(path, json={"email": made.owner_email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["access_token"]
    assert body["expires_in"] == settings.access_token_ttl_seconds
    assert body["user"]["email"] == made.owner_email
    assert body["user"]["role"] == "owner"
    assert body["tenant"] == {
        "id": str(made.tenant.id),
        "business_id": made.tenant.business_id,
        "name": made.tenant.name,
    }
    me = await client.get(
        "/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["user"]["id"] == str(made.owner.id)
    assert me.json()["auth"] == "bearer"


async def test_admin_login_with_seed_body(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    admin = await make_admin(db, settings)
    response = await client.post(
        "/api/auth/login", json={"email": admin.email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"]["role"] == "platform_admin"
    assert body["tenant"] is None
    # The installation's own, and the front office of the platform tenant; never a business's
    # team or money.
    assert set(body["user"]["permissions"]) == {
        "tenants.manage",
        "pricebook.manage",
        "platform.read",
        "chat.manage",
        "chat.read",
        "persona.manage",
        "knowledge.manage",
        "widget.manage",
        "webhook.manage",
        "audit.read",
        "analytics.read",
    }


async def test_email_is_case_and_space_insensitive(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    response = await client.post(
        "/api/customers/auth/login",
        json={"email": "  " + made.owner_email.upper() + " ", "password": PASSWORD},
    )
    assert response.status_code == 200, response.text


async def test_tenant_user_is_refused_at_admin_login_like_a_wrong_password(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    refused = await client.post(
        "/api/auth/login", json={"email": made.owner_email, "password": PASSWORD}
    )
    wrong = await client.post(
        "/api/auth/login", json={"email": made.owner_email, "password": "wrong password!"}
    )
    assert refused.status_code == wrong.status_code == 401
    assert refused.json() == wrong.json()


async def test_admin_is_refused_at_tenant_login(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    admin = await make_admin(db, settings)
    response = await client.post(
        "/api/customers/auth/login", json={"email": admin.email, "password": PASSWORD}
    )
    assert response.status_code == 401


async def test_unknown_email_and_wrong_password_are_indistinguishable(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = await make_tenant(db, settings)
    verified: list[str] = []
    real = passwords._hasher

    class CountingHasher:
        """Passes through to the real argon2 hasher, counting verifications."""

        def verify(self, stored: str, password: str) -> bool:
            verified.append(stored)
            return real.verify(stored, password)

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

    monkeypatch.setattr(passwords, "_hasher", CountingHasher())
    unknown = await client.post(
        "/api/customers/auth/login",
        json={"email": "nobody@nowhere.example.com", "password": "whatever123"},
    )
    wrong = await client.post(
        "/api/customers/auth/login", json={"email": made.owner_email, "password": "whatever123"}
    )
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    assert unknown.json()["error"]["code"] == "invalid_credentials"
    assert unknown.headers.get("www-authenticate") == wrong.headers.get("www-authenticate")
    # Same work either way: one argon2 verification, so timing does not reveal the account.
    assert len(verified) == 2


async def test_logout_revokes_the_token(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    headers = await bearer(client, made.owner_email)
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 200
    assert (await client.post("/api/auth/logout", headers=headers)).status_code == 204
    after = await client.get("/api/auth/me", headers=headers)
    assert after.status_code == 401
    assert "ended" in after.json()["error"]["message"]


@pytest.mark.parametrize(
    "header",
    ["Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "Bearer ", "Bearer eyJhbGciOiJub25lIn0.e30."],
)
async def test_bad_authorization_headers_are_401(client: httpx.AsyncClient, header: str) -> None:
    response = await client.get("/api/auth/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


async def test_anonymous_me_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/auth/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_token_signed_with_another_secret_is_refused(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    from bob.auth import tokens
    from bob.db.types import utcnow

    made = await make_tenant(db, settings)
    data = await login(client, made.owner_email)
    claims = tokens.read_access_token(secret=settings.secret, token=data["access_token"])
    forged = tokens.issue_access_token(
        secret=b"another installation's secret key",
        session_id=claims.session_id,
        user_id=claims.user_id,
        issued_at=utcnow(),
        expires_at=utcnow().replace(year=utcnow().year + 1),
    )
    response = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


async def test_deactivated_member_loses_access_at_once(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    agent = await make_member(db, settings, made.tenant, Role.AGENT)
    agent_headers = await bearer(client, agent.email)
    owner_headers = await bearer(client, made.owner_email)
    response = await client.patch(
        f"/api/customers/team/{agent.id}", json={"is_active": False}, headers=owner_headers
    )
    assert response.status_code == 200, response.text
    assert (await client.get("/api/auth/me", headers=agent_headers)).status_code == 401
    relogin = await client.post(
        "/api/customers/auth/login", json={"email": agent.email, "password": PASSWORD}
    )
    assert relogin.status_code == 401


def from_address(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 1234))
    return httpx.AsyncClient(transport=transport, base_url="http://bob.localhost:8000")


async def attempt(app: FastAPI, address: str, email: str, password: str) -> httpx.Response:
    async with from_address(app, address) as c:
        return await c.post(
            "/api/customers/auth/login", json={"email": email, "password": password}
        )


async def test_repeated_failures_for_one_account_from_one_address_get_429(
    app: FastAPI, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    for _ in range(5):
        response = await attempt(app, "198.51.100.20", made.owner_email, "nope nope 1")
        assert response.status_code == 401
    blocked = await attempt(app, "198.51.100.20", made.owner_email, PASSWORD)
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert blocked.json()["error"]["code"] == "rate_limited"
    # The same address may still log in to other accounts it has not failed on …
    other = await make_tenant(db, settings)
    assert (await attempt(app, "198.51.100.20", other.owner_email, PASSWORD)).status_code == 200
    # … and the owner, from an address of their own, is not locked out.
    assert (await attempt(app, "198.51.100.21", made.owner_email, PASSWORD)).status_code == 200


async def test_failures_from_many_addresses_do_not_lock_the_owner_out(
    app: FastAPI, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    for index in range(6):
        response = await attempt(app, f"203.0.113.{index + 100}", made.owner_email, "guess guess")
        assert response.status_code == 401
    own = await attempt(app, "203.0.113.200", made.owner_email, PASSWORD)
    assert own.status_code == 200, own.text


async def test_failures_past_the_account_ceiling_slow_logins_down_but_never_refuse(
    db: Database, settings: Settings
) -> None:
    from bob.main import create_app

    slow = settings.model_copy(
        update={
            "login_slowdown_per_account": "3/hour",
            "login_slowdown_step_s": 1.0,
            "login_slowdown_max_s": 1.0,
        }
    )
    app = create_app(slow, database=db)
    made = await make_tenant(db, settings)

    async def timed(address: str, password: str) -> tuple[int, float]:
        started = time.perf_counter()
        response = await attempt(app, address, made.owner_email, password)
        return response.status_code, time.perf_counter() - started

    status, before = await timed("192.0.2.50", PASSWORD)
    assert status == 200
    for index in range(3):
        assert (await timed(f"192.0.2.{index + 60}", "guess guess"))[0] == 401
    status, after = await timed("192.0.2.70", PASSWORD)
    assert status == 200  # slowed down, not refused
    assert after >= 1.0
    assert after - before >= 0.5


async def test_repeated_failures_per_ip_get_429_across_accounts(
    app: FastAPI,
    db: Database,
    settings: Settings,
) -> None:
    made = await make_tenant(db, settings)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 1234))
    async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as c:
        for i in range(30):
            response = await c.post(
                "/api/customers/auth/login",
                json={"email": f"guess{i}@example.com", "password": "guess guess"},
            )
            assert response.status_code == 401
        blocked = await c.post(
            "/api/customers/auth/login", json={"email": made.owner_email, "password": PASSWORD}
        )
        assert blocked.status_code == 429
    # Another address is not affected.
    transport = httpx.ASGITransport(app=app, client=("198.51.100.10", 1234))
    async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as c:
        ok = await c.post(
            "/api/customers/auth/login", json={"email": made.owner_email, "password": PASSWORD}
        )
        assert ok.status_code == 200


async def test_login_limits_are_shared_through_redis(
    app: FastAPI,
    db: Database,
    settings: Settings,
    redis_url: str,
) -> None:
    from bob.main import create_app

    made = await make_tenant(db, settings)
    limiter = redis_limiter(redis_url)
    # Two app instances (two server processes) sharing one Redis see the same counters.
    other = create_app(settings, database=app.state.db)
    app.state.limiter = other.state.limiter = limiter
    for index in range(5):
        target = app if index % 2 else other
        transport = httpx.ASGITransport(app=target, client=("192.0.2.1", 1))
        async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as c:
            response = await c.post(
                "/api/customers/auth/login",
                json={"email": made.owner_email, "password": "nope nope 1"},
            )
            assert response.status_code == 401
    transport = httpx.ASGITransport(app=app, client=("192.0.2.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as c:
        blocked = await c.post(
            "/api/customers/auth/login", json={"email": made.owner_email, "password": PASSWORD}
        )
    assert blocked.status_code == 429


async def test_suspended_tenant_cannot_log_in_and_tokens_stop_working(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    owner_headers = await bearer(client, made.owner_email)
    admin = await make_admin(db, settings)
    admin_headers = await bearer(client, admin.email, admin=True)
    response = await client.post(
        f"/api/admin/tenants/{made.tenant.id}/suspend", headers=admin_headers
    )
    assert response.status_code == 200
    assert response.json()["status"] == "suspended"
    refused = await client.post(
        "/api/customers/auth/login", json={"email": made.owner_email, "password": PASSWORD}
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "tenant_suspended"
    assert "suspended" in refused.json()["error"]["message"]
    assert (await client.get("/api/auth/me", headers=owner_headers)).status_code == 403
    await client.post(f"/api/admin/tenants/{made.tenant.id}/resume", headers=admin_headers)
    assert (await client.get("/api/auth/me", headers=owner_headers)).status_code == 200
