"""Who is calling: Bearer token or cookie session (+ CSRF), and what they may do."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal

from fastapi import Depends, Request

from bob.audit import Actor
from bob.auth import service as auth
from bob.auth import tokens
from bob.auth.cookies import CSRF_HEADER, SESSION_COOKIE
from bob.auth.models import AuthSession, User
from bob.auth.permissions import Permission, permissions_for
from bob.deps import Caller, SettingsDep, client_ip, get_database, lets_in, request_id
from bob.errors import Forbidden, Unauthorized
from bob.settings import Settings
from bob.tenants import service as tenants
from bob.tenants.models import Tenant

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    user: User
    auth_session: AuthSession
    via: Literal["bearer", "cookie"]
    permissions: frozenset[Permission]
    actor: Actor
    # The tenant the caller acts for: a team member's own business, or for a platform admin
    # the platform tenant (the installation's own front office). Never taken from a body.
    tenant: Tenant | None

    @property
    def tenant_id(self) -> uuid.UUID:
        """The tenant the caller acts for; only reached behind a tenant permission."""
        return self.own_tenant.id

    @property
    def own_tenant(self) -> Tenant:
        if self.tenant is None:
            raise Forbidden("this endpoint is for a business's team members")
        return self.tenant

    @property
    def is_platform_admin(self) -> bool:
        return bool(self.user.is_platform_admin)


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization header must be 'Bearer <token>'")
    return token.strip()


async def principal_for_token(
    request: Request, settings: Settings, token: str, via: Literal["bearer", "cookie"]
) -> Principal:
    """The logged-in user a token names (401 when it names no live session). Both the API's
    callers and the pages' visitors are known this way."""
    # A short transaction of its own: handlers that run long work (the chat pipeline) must not
    # keep this read open, and SQLite takes its write lock when a transaction starts.
    async with get_database(request).transaction() as session:
        auth_session = await auth.resolve_token(session=session, settings=settings, token=token)
        user = auth_session.user
        tenant = user.tenant
        if user.is_platform_admin:
            tenant = await tenants.get_tenant_by_business_id(
                session=session, business_id=settings.platform_business_id
            )
    return Principal(
        user=user,
        auth_session=auth_session,
        via=via,
        permissions=permissions_for(user.role),
        actor=Actor(
            type="user",
            id=user.id,
            label=user.email,
            ip=client_ip(request),
            request_id=request_id(request),
        ),
        tenant=tenant,
    )


@lets_in(Caller("optional"))
async def get_principal(request: Request, settings: SettingsDep) -> Principal | None:
    token = _bearer_token(request)
    via: Literal["bearer", "cookie"] = "bearer"
    if token is None:
        token = request.cookies.get(SESSION_COOKIE)
        via = "cookie"
    if not token:
        return None
    principal = await principal_for_token(request, settings, token, via)
    # Cookies ride along on cross-site requests; a header a foreign page cannot set does not.
    if (
        via == "cookie"
        and request.method not in SAFE_METHODS
        and not tokens.csrf_matches(
            secret=settings.secret,
            session_id=principal.auth_session.id,
            presented=request.headers.get(CSRF_HEADER),
        )
    ):
        raise Forbidden(
            f"missing or wrong {CSRF_HEADER} header (cookie sessions need it on every "
            "unsafe request; the token comes with the login response)",
            code="csrf_failed",
        )
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(get_principal)]


@lets_in(Caller("login"))
async def require_login(principal: OptionalPrincipal) -> Principal:
    if principal is None:
        raise Unauthorized("log in first: send 'Authorization: Bearer <token>' or a session cookie")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(require_login)]


def check_permission(principal: Principal, permission: Permission) -> None:
    if permission not in principal.permissions:
        raise Forbidden(f"your role ({principal.user.role}) lacks the permission {permission}")


@cache
def _permission_checker(permission: Permission) -> Any:
    async def check(principal: CurrentPrincipal) -> Principal:
        check_permission(principal, permission)
        return principal

    check.__name__ = f"require_{permission.value.replace('.', '_')}"
    return lets_in(Caller("permission", permission.value))(check)


def Require(permission: Permission) -> Any:
    """`principal: Annotated[Principal, Require(Permission.CHAT_MANAGE)]`."""
    return Depends(_permission_checker(permission))
