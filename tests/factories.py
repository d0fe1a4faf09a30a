"""Builders for test data, through the same service functions the API uses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from bob import audit
from bob.accounts import service as accounts
from bob.auth import service as auth
from bob.auth.models import User
from bob.auth.permissions import Role
from bob.db.session import Database
from bob.settings import Settings
from bob.tenants.models import Tenant

PASSWORD = "correct horse battery"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class TenantWithOwner:
    tenant: Tenant
    owner: User
    owner_email: str


async def make_tenant(
    db: Database, settings: Settings, *, plan: str = "pro", name: str | None = None
) -> TenantWithOwner:
    business_id = unique("biz")
    email = f"owner@{business_id}.example.com"
    async with db.transaction() as session:
        created = await accounts.create_tenant(
            session=session,
            actor=audit.CLI,
            name=name or business_id.title(),
            business_id=business_id,
            plan=plan,
            owner_email=email,
            owner_password=PASSWORD,
        )
    return TenantWithOwner(created.tenant, created.owner, email)


async def make_member(
    db: Database, settings: Settings, tenant: Tenant, role: Role, *, email: str | None = None
) -> User:
    email = email or f"{role.value}-{uuid.uuid4().hex[:6]}@{tenant.business_id}.example.com"
    async with db.transaction() as session:
        user, _ = await accounts.add_member(
            session=session,
            tenant_id=tenant.id,
            actor=audit.CLI,
            actor_role=Role.OWNER,
            email=email,
            role=role,
            password=PASSWORD,
        )
    return user


async def make_admin(db: Database, settings: Settings) -> User:
    async with db.transaction() as session:
        user, _ = await auth.ensure_platform_admin(
            session=session,
            settings=settings,
            email=f"{unique('admin')}@example.com",
            password=PASSWORD,
            actor=audit.CLI,
        )
    return user


async def login(
    client: httpx.AsyncClient,
    email: str,
    password: str = PASSWORD,
    *,
    admin: bool = False,
    cookie: bool = False,
) -> dict[str, Any]:
    path = "/api/auth/login" if admin else "/api/customers/auth/login"
    body: dict[str, Any] = {"email": email, "password": password}
    if cookie:
        body["cookie"] = True
    response = await client.post(path, json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def bearer(client: httpx.AsyncClient, email: str, *, admin: bool = False) -> dict[str, str]:
    data = await login(client, email, admin=admin)
    return {"Authorization": f"Bearer {data['access_token']}"}
