from __future__ import annotations

import uuid

import httpx
import pytest

from bob.auth.permissions import Role
from bob.db.session import Database
from bob.settings import Settings
from tests.factories import PASSWORD, bearer, make_member, make_tenant
from tests.integration.portal.conftest import csrf_of


async def test_owner_adds_lists_updates_and_removes_members(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    owner = await bearer(client, made.owner_email)
    email = f"agent-{uuid.uuid4().hex[:6]}@example.com"
    created = await client.post(
        "/api/customers/team",
        json={"email": email, "role": "agent", "name": "Ana", "password": PASSWORD},
        headers=owner,
    )
    assert created.status_code == 201, created.text
    member = created.json()
    assert member["role"] == "agent"
    assert member["invite_url"] is None

    listed = await client.get("/api/customers/team", headers=owner)
    assert {m["email"] for m in listed.json()["items"]} == {made.owner_email, email}

    changed = await client.patch(
        f"/api/customers/team/{member['id']}", json={"role": "viewer"}, headers=owner
    )
    assert changed.status_code == 200
    assert changed.json()["role"] == "viewer"

    removed = await client.delete(f"/api/customers/team/{member['id']}", headers=owner)
    assert removed.status_code == 204
    assert (
        await client.post("/api/customers/auth/login", json={"email": email, "password": PASSWORD})
    ).status_code == 401


async def test_member_without_password_gets_a_one_time_invite(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    owner = await bearer(client, made.owner_email)
    email = f"invited-{uuid.uuid4().hex[:6]}@example.com"
    created = await client.post(
        "/api/customers/team", json={"email": email, "role": "viewer"}, headers=owner
    )
    assert created.status_code == 201
    invite_url = created.json()["invite_url"]
    assert invite_url.startswith(settings.public_url + "/invite/")
    listed = await client.get("/api/customers/team", headers=owner)
    assert next(m for m in listed.json()["items"] if m["email"] == email)["invite_pending"]
    # Until the invite is accepted the account cannot log in.
    assert (
        await client.post("/api/customers/auth/login", json={"email": email, "password": PASSWORD})
    ).status_code == 401
    token = invite_url.rsplit("/", 1)[-1]
    short = await client.post(f"/api/customers/invites/{token}/accept", json={"password": "short"})
    assert short.status_code == 422
    accepted = await client.post(
        f"/api/customers/invites/{token}/accept", json={"password": PASSWORD, "name": "Vi"}
    )
    assert accepted.status_code == 200
    assert accepted.json()["name"] == "Vi"
    assert (
        await client.post("/api/customers/auth/login", json={"email": email, "password": PASSWORD})
    ).status_code == 200
    forged = await client.post(
        "/api/customers/invites/not-a-real-token/accept", json={"password": PASSWORD}
    )
    assert forged.status_code == 404


@pytest.mark.parametrize("role", [Role.AGENT, Role.VIEWER])
async def test_agents_and_viewers_cannot_manage_the_team(
    client: httpx.AsyncClient, db: Database, settings: Settings, role: Role
) -> None:
    made = await make_tenant(db, settings)
    member = await make_member(db, settings, made.tenant, role)
    headers = await bearer(client, member.email)
    for method, path, body in [
        ("GET", "/api/customers/team", None),
        ("POST", "/api/customers/team", {"email": "x@example.com", "role": "owner"}),
        ("PATCH", f"/api/customers/team/{made.owner.id}", {"role": "viewer"}),
        ("DELETE", f"/api/customers/team/{made.owner.id}", None),
    ]:
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, (method, path, response.text)
        assert "team.manage" in response.json()["error"]["message"]
    owner = await bearer(client, made.owner_email)
    team = await client.get("/api/customers/team", headers=owner)
    roles = {m["email"]: m["role"] for m in team.json()["items"]}
    assert roles[made.owner_email] == "owner"
    assert "x@example.com" not in roles


async def test_tenant_a_can_never_read_or_change_tenant_b_users(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    a = await make_tenant(db, settings)
    b = await make_tenant(db, settings)
    b_agent = await make_member(db, settings, b.tenant, Role.AGENT)
    a_owner = await bearer(client, a.owner_email)

    listed = await client.get("/api/customers/team", headers=a_owner)
    emails = {m["email"] for m in listed.json()["items"]}
    assert b.owner_email not in emails
    assert b_agent.email not in emails

    for user_id in (b.owner.id, b_agent.id):
        patched = await client.patch(
            f"/api/customers/team/{user_id}", json={"role": "viewer"}, headers=a_owner
        )
        assert patched.status_code == 404
        deleted = await client.delete(f"/api/customers/team/{user_id}", headers=a_owner)
        assert deleted.status_code == 404
    # Tenant B is untouched.
    b_owner = await bearer(client, b.owner_email)
    b_team = await client.get("/api/customers/team", headers=b_owner)
    roles = {m["email"]: m["role"] for m in b_team.json()["items"]}
    assert roles == {b.owner_email: "owner", b_agent.email: "agent"}


async def test_the_last_owner_cannot_be_removed_or_demoted(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    owner = await bearer(client, made.owner_email)
    demote = await client.patch(
        f"/api/customers/team/{made.owner.id}", json={"role": "admin"}, headers=owner
    )
    assert demote.status_code == 409
    assert demote.json()["error"]["code"] == "last_owner"
    remove = await client.delete(f"/api/customers/team/{made.owner.id}", headers=owner)
    assert remove.status_code == 409
    deactivate = await client.patch(
        f"/api/customers/team/{made.owner.id}", json={"is_active": False}, headers=owner
    )
    assert deactivate.status_code == 409
    # With a second owner, the first may step down.
    second = await make_member(db, settings, made.tenant, Role.OWNER)
    demote = await client.patch(
        f"/api/customers/team/{made.owner.id}", json={"role": "admin"}, headers=owner
    )
    assert demote.status_code == 200, demote.text
    assert second.role == "owner"


async def test_team_admin_cannot_touch_owners(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    admin = await make_member(db, settings, made.tenant, Role.ADMIN)
    headers = await bearer(client, admin.email)
    make_owner = await client.post(
        "/api/customers/team",
        json={"email": "new-owner@example.com", "role": "owner", "password": PASSWORD},
        headers=headers,
    )
    assert make_owner.status_code == 403
    demote_owner = await client.patch(
        f"/api/customers/team/{made.owner.id}", json={"role": "viewer"}, headers=headers
    )
    assert demote_owner.status_code == 403
    promote_self = await client.patch(
        f"/api/customers/team/{admin.id}", json={"role": "owner"}, headers=headers
    )
    assert promote_self.status_code == 403
    add_agent = await client.post(
        "/api/customers/team",
        json={"email": f"a-{uuid.uuid4().hex[:6]}@example.com", "role": "agent"},
        headers=headers,
    )
    assert add_agent.status_code == 201


async def test_duplicate_member_email_is_409(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    a = await make_tenant(db, settings)
    b = await make_tenant(db, settings)
    owner = await bearer(client, a.owner_email)
    response = await client.post(
        "/api/customers/team", json={"email": b.owner_email, "role": "agent"}, headers=owner
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "email_taken"


async def test_platform_admin_is_not_a_team_member(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    from tests.factories import make_admin

    admin = await make_admin(db, settings)
    headers = await bearer(client, admin.email, admin=True)
    response = await client.get("/api/customers/team", headers=headers)
    assert response.status_code == 403


async def test_invite_page_lets_a_new_member_set_a_password(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    owner = await bearer(client, made.owner_email)
    email = f"page-{uuid.uuid4().hex[:6]}@example.com"
    created = await client.post(
        "/api/customers/team", json={"email": email, "role": "agent"}, headers=owner
    )
    path = created.json()["invite_url"].removeprefix(settings.public_url)
    page = await client.get(path)
    assert page.status_code == 200
    assert 'name="password"' in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    token = csrf_of(page.text)
    # Another site's form could post the link a password of its choosing: not without the token.
    forged = await client.post(path, data={"password": PASSWORD})
    assert forged.status_code == 403
    assert "This form has expired" in forged.text
    short = await client.post(path, data={"password": "short", "csrf_token": token})
    assert short.status_code == 422
    assert 'role="alert"' in short.text
    done = await client.post(
        path, data={"password": PASSWORD, "name": "Page <b>User</b>", "csrf_token": token}
    )
    assert done.status_code == 200
    assert email in done.text
    login = await client.post(
        "/api/customers/auth/login", json={"email": email, "password": PASSWORD}
    )
    assert login.status_code == 200
    assert login.json()["user"]["name"] == "Page <b>User</b>"
    reused = await client.post(path, data={"password": PASSWORD, "csrf_token": token})
    assert reused.status_code == 404
    assert "not valid" in reused.text


async def test_new_passwords_are_checked_and_the_field_is_named(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    owner = await bearer(client, made.owner_email)
    response = await client.post(
        "/api/customers/team",
        json={"email": "weak@example.com", "role": "agent", "password": "123456789"},
        headers=owner,
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "password"
    too_long = await client.post(
        "/api/customers/team",
        json={"email": "long@example.com", "role": "agent", "password": "x" * 257},
        headers=owner,
    )
    assert too_long.status_code == 422
