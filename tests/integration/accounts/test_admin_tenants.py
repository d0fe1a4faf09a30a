from __future__ import annotations

import uuid

import httpx
import pytest

from bob.db.session import Database
from bob.settings import Settings
from tests.factories import PASSWORD, bearer, make_admin, make_tenant, unique


@pytest.fixture
async def admin_headers(client: httpx.AsyncClient, db: Database, settings: Settings):
    admin = await make_admin(db, settings)
    return await bearer(client, admin.email, admin=True)


async def test_admin_creates_lists_reads_updates_a_tenant(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    business_id = unique("acme")
    created = await client.post(
        "/api/admin/tenants",
        json={
            "name": "Acme Café",
            "business_id": business_id,
            "plan": "pro",
            "owner_email": f"owner@{business_id}.example.com",
            "owner_password": PASSWORD,
        },
        headers=admin_headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    tenant_id = body["tenant"]["id"]
    assert body["tenant"]["business_id"] == business_id
    assert body["tenant"]["plan"] == "pro"
    assert body["tenant"]["status"] == "active"
    assert body["owner"]["role"] == "owner"
    assert body["invite_url"] is None

    read = await client.get(f"/api/admin/tenants/{tenant_id}", headers=admin_headers)
    assert read.status_code == 200
    assert read.json()["name"] == "Acme Café"

    listed = await client.get("/api/admin/tenants", params={"q": "acme"}, headers=admin_headers)
    assert business_id in [t["business_id"] for t in listed.json()["items"]]

    patched = await client.patch(
        f"/api/admin/tenants/{tenant_id}", json={"name": "Acme Ltd"}, headers=admin_headers
    )
    assert patched.status_code == 200
    assert patched.json()["name"] == "Acme Ltd"

    owner_login = await client.post(
        "/api/customers/auth/login",
        json={"email": f"owner@{business_id}.example.com", "password": PASSWORD},
    )
    assert owner_login.status_code == 200


async def test_tenant_without_owner_password_gets_an_invite(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    email = f"{unique('invitee')}@example.com"
    created = await client.post(
        "/api/admin/tenants",
        json={"name": "日本のお店", "owner_email": email},
        headers=admin_headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    # A name without Latin letters still yields a valid business id.
    assert body["tenant"]["business_id"].startswith("business-")
    assert body["owner"]["invite_pending"] is True
    token = body["invite_url"].rsplit("/", 1)[-1]
    accepted = await client.post(
        f"/api/customers/invites/{token}/accept", json={"password": PASSWORD}
    )
    assert accepted.status_code == 200, accepted.text
    login = await client.post(
        "/api/customers/auth/login", json={"email": email, "password": PASSWORD}
    )
    assert login.status_code == 200
    again = await client.post(f"/api/customers/invites/{token}/accept", json={"password": PASSWORD})
    assert again.status_code == 404


async def test_pagination_walks_every_tenant_once(
    client: httpx.AsyncClient, db: Database, settings: Settings, admin_headers: dict[str, str]
) -> None:
    for _ in range(5):
        await make_tenant(db, settings)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = await client.get("/api/admin/tenants", params=params, headers=admin_headers)
        assert page.status_code == 200
        assert len(page.json()["items"]) <= 2
        seen += [t["business_id"] for t in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) >= 6  # five made here plus the platform tenant
    assert seen == sorted(seen)


async def test_bad_cursor_and_limit_are_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    bad = await client.get(
        "/api/admin/tenants", params={"cursor": "!!garbage"}, headers=admin_headers
    )
    assert bad.status_code == 422
    assert "cursor" in bad.json()["error"]["message"]
    too_many = await client.get("/api/admin/tenants", params={"limit": 5000}, headers=admin_headers)
    assert too_many.status_code == 422
    assert "limit" in too_many.json()["error"]["message"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "X", "business_id": "Not A Slug", "owner_email": "a@example.com"}, "business_id"),
        ({"name": "X", "owner_email": "not-an-email"}, "owner_email"),
        ({"name": "", "owner_email": "a@example.com"}, "name"),
        ({"name": "X", "owner_email": "a@example.com", "plan": "platinum"}, "plan"),
        ({"name": "X", "owner_email": "a@example.com", "owner_password": "short"}, "password"),
        ({"owner_email": "a@example.com"}, "name"),
    ],
)
async def test_bad_tenant_input_is_422_naming_the_field(
    client: httpx.AsyncClient, admin_headers: dict[str, str], payload: dict[str, str], field: str
) -> None:
    response = await client.post("/api/admin/tenants", json=payload, headers=admin_headers)
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["message"]


async def test_duplicate_business_id_and_email_are_409_and_nothing_changes(
    client: httpx.AsyncClient, db: Database, settings: Settings, admin_headers: dict[str, str]
) -> None:
    made = await make_tenant(db, settings)
    dup_id = await client.post(
        "/api/admin/tenants",
        json={
            "name": "Other",
            "business_id": made.tenant.business_id,
            "owner_email": "x@example.com",
        },
        headers=admin_headers,
    )
    assert dup_id.status_code == 409
    assert dup_id.json()["error"]["code"] == "business_id_taken"
    dup_email = await client.post(
        "/api/admin/tenants",
        json={"name": "Other", "business_id": unique("other"), "owner_email": made.owner_email},
        headers=admin_headers,
    )
    assert dup_email.status_code == 409
    assert dup_email.json()["error"]["code"] == "email_taken"
    # The refused tenant was rolled back with its owner: its business id is still free.
    listed = await client.get("/api/admin/tenants", params={"q": "other"}, headers=admin_headers)
    assert all(t["name"] != "Other" for t in listed.json()["items"])


async def test_unknown_tenant_is_404_and_bad_id_is_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    missing = await client.get(f"/api/admin/tenants/{uuid.uuid4()}", headers=admin_headers)
    assert missing.status_code == 404
    malformed = await client.get("/api/admin/tenants/not-a-uuid", headers=admin_headers)
    assert malformed.status_code == 422
    assert "tenant_id" in malformed.json()["error"]["message"]


async def test_platform_tenant_cannot_be_suspended(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    listed = await client.get(
        "/api/admin/tenants", params={"q": "bob-platform"}, headers=admin_headers
    )
    platform = next(t for t in listed.json()["items"] if t["business_id"] == "bob-platform")
    response = await client.post(
        f"/api/admin/tenants/{platform['id']}/suspend", headers=admin_headers
    )
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/admin/tenants"),
        ("POST", "/api/admin/tenants"),
        ("GET", "/api/admin/tenants/{id}"),
        ("PATCH", "/api/admin/tenants/{id}"),
        ("POST", "/api/admin/tenants/{id}/suspend"),
        ("POST", "/api/admin/tenants/{id}/resume"),
    ],
)
async def test_tenant_owner_gets_403_and_anonymous_401_on_admin_api(
    client: httpx.AsyncClient, db: Database, settings: Settings, method: str, path: str
) -> None:
    made = await make_tenant(db, settings)
    url = path.replace("{id}", str(made.tenant.id))
    body = {"name": "Hijack", "owner_email": "evil@example.com"} if method != "GET" else None
    owner = await bearer(client, made.owner_email)
    refused = await client.request(method, url, json=body, headers=owner)
    assert refused.status_code == 403
    assert "permission" in refused.json()["error"]["message"]
    anonymous = await client.request(method, url, json=body)
    assert anonymous.status_code == 401
    # Nothing changed.
    async with db.transaction() as session:
        from bob.tenants import service as tenants

        tenant = await tenants.get_tenant(session=session, tenant_id=made.tenant.id)
        assert tenant.name == made.tenant.name
        assert tenant.status == "active"


async def test_signup_disabled_by_default(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/customers/signup",
        json={"business_name": "Nope", "email": "nope@example.com", "password": PASSWORD},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "signup_disabled"


async def test_signup_when_enabled_creates_business_and_owner(
    db: Database, settings: Settings
) -> None:
    from bob.main import create_app

    app = create_app(settings.model_copy(update={"allow_signup": True}), database=db)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.50", 1))
    async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as client:
        email = f"{unique('founder')}@example.com"
        response = await client.post(
            "/api/customers/signup",
            json={"business_name": "Padaria São João", "email": email, "password": PASSWORD},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["tenant"]["business_id"].startswith("padaria-sao-joao")
        assert body["owner"]["email"] == email
        login = await client.post(
            "/api/customers/auth/login", json={"email": email, "password": PASSWORD}
        )
        assert login.status_code == 200
        assert login.json()["tenant"]["name"] == "Padaria São João"
        again = await client.post(
            "/api/customers/signup",
            json={"business_name": "Again", "email": email, "password": PASSWORD},
        )
        assert again.status_code == 409
        weak = await client.post(
            "/api/customers/signup",
            json={"business_name": "Weak", "email": "weak@example.com", "password": "short"},
        )
        assert weak.status_code == 422
        assert "password" in weak.json()["error"]["message"]
