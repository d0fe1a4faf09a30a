"""Accounts and logins: users, password checks, login sessions and their tokens."""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from limits import RateLimitItem
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bob import audit
from bob.auth import passwords, tokens
from bob.auth.models import AuthSession, User
from bob.auth.permissions import Role
from bob.db.types import utcnow
from bob.errors import Conflict, Forbidden, NotFound, Unauthorized
from bob.ratelimit import RateLimiter
from bob.settings import Settings
from bob.tenants.models import Tenant

log = logging.getLogger("bob.auth")
INVALID_CREDENTIALS = "invalid email or password"


class Audience(StrEnum):
    PLATFORM = "platform"
    TENANT = "tenant"


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def platform_tenant_id(*, session: AsyncSession, settings: Settings) -> uuid.UUID:
    """Platform admins' own actions are chained in the platform tenant's audit log."""
    found = await session.scalar(
        select(Tenant.id).where(Tenant.business_id == settings.platform_business_id)
    )
    if found is None:
        raise NotFound(
            f"platform tenant {settings.platform_business_id!r} is missing; run `bob migrate`"
        )
    return found


async def get_user_by_email(*, session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == normalize_email(email)))


async def create_user(
    *,
    session: AsyncSession,
    tenant_id: uuid.UUID | None,
    email: str,
    role: Role,
    password: str | None,
    name: str = "",
) -> User:
    email = normalize_email(email)
    if await get_user_by_email(session=session, email=email) is not None:
        raise Conflict(f"a user with email {email} already exists", code="email_taken")
    user = User(
        tenant_id=tenant_id,
        email=email,
        name=name.strip(),
        role=role,
        password_hash=await passwords.hash_password(password) if password is not None else None,
    )
    session.add(user)
    await session.flush()
    return user


async def set_password(*, session: AsyncSession, user: User, password: str) -> None:
    user.password_hash = await passwords.hash_password(password)
    await session.flush()


async def ensure_platform_admin(
    *, session: AsyncSession, settings: Settings, email: str, password: str, actor: audit.Actor
) -> tuple[User, bool]:
    """Create the platform admin unless that email exists; returns (user, created)."""
    existing = await get_user_by_email(session=session, email=email)
    if existing is not None:
        if not existing.is_platform_admin:
            raise Conflict(f"{existing.email} is a member of a business, not a platform admin")
        return existing, False
    user = await create_user(
        session=session, tenant_id=None, email=email, role=Role.PLATFORM_ADMIN, password=password
    )
    await audit.record(
        session,
        await platform_tenant_id(session=session, settings=settings),
        actor,
        "admin.created",
        target=("user", user.id),
        data={"email": user.email},
    )
    return user, True


def login_delay(failures: int, *, ceiling: int, step_s: float, max_s: float) -> float:
    """Seconds a login waits when its account has had `failures` recent failed logins.

    None below the account-wide ceiling; from there, `step_s` more for every further failure, up
    to `max_s`.
    """
    if failures < ceiling:
        return 0.0
    return min(max_s, step_s * (failures - ceiling + 1))


def _account_failures(settings: Settings) -> tuple[RateLimitItem, RateLimitItem]:
    """The account-wide ceiling, and the window that counts an account's failures against it.

    A moving window stops counting at its amount; counting on past the ceiling, as far as the
    longest wait, lets the wait grow.
    """
    ceiling = RateLimiter.parse(settings.login_slowdown_per_account)
    beyond = math.ceil(settings.login_slowdown_max_s / settings.login_slowdown_step_s)
    counting = type(ceiling)(ceiling.amount + beyond, ceiling.multiples, ceiling.namespace)
    return ceiling, counting


@dataclass(frozen=True)
class LoginResult:
    user: User
    auth_session: AuthSession
    token: str
    expires_in: int
    csrf_token: str | None


async def login(
    *,
    session: AsyncSession,
    settings: Settings,
    limiter: RateLimiter,
    audience: Audience,
    email: str,
    password: str,
    cookie: bool,
    ip: str | None,
    user_agent: str | None,
    request_id: str | None,
) -> LoginResult:
    email = normalize_email(email)
    address = ip or "unknown"
    per_pair = limiter.parse(settings.login_limit_per_account_ip)
    per_ip = limiter.parse(settings.login_limit_per_ip)
    ceiling, per_account = _account_failures(settings)
    message = "too many failed logins; try again later"
    # Refusals count failures per account *and address*: guessing from many addresses must not
    # lock the owner out of their own account. The per-address limit, across accounts, stops
    # one address from stuffing credentials.
    await limiter.check(per_pair, "login", "account_ip", email, address, message=message)
    await limiter.check(per_ip, "login", "ip", address, message=message)
    # Failures from everywhere only slow the account down. The wait comes before the database
    # is touched, so a waiting attempt holds no connection, and before the password is checked,
    # so every attempt waits alike and the wait reveals nothing.
    delay = login_delay(
        await limiter.count(per_account, "login", "account", email),
        ceiling=ceiling.amount,
        step_s=settings.login_slowdown_step_s,
        max_s=settings.login_slowdown_max_s,
    )
    if delay:
        await asyncio.sleep(delay)

    user = await get_user_by_email(session=session, email=email)
    # Always verify (against a dummy hash when needed) so an unknown email, a wrong password
    # and the wrong login door all cost the same time and give the same answer.
    verified = await passwords.verify_password(user.password_hash if user else None, password)
    right_door = user is not None and (user.is_platform_admin == (audience is Audience.PLATFORM))
    if user is None or not verified or not right_door or not user.is_active:
        await limiter.hit(per_pair, "login", "account_ip", email, address)
        await limiter.hit(per_ip, "login", "ip", address)
        await limiter.hit(per_account, "login", "account", email)
        log.info("login failed", extra={"audience": audience.value, "ip": ip})
        raise Unauthorized(INVALID_CREDENTIALS, code="invalid_credentials")
    if user.tenant is not None and not user.tenant.is_active:
        raise Forbidden(
            f"the business {user.tenant.business_id!r} is suspended; contact the operator "
            "of this installation",
            code="tenant_suspended",
        )
    await limiter.clear(per_pair, "login", "account_ip", email, address)

    if user.password_hash and passwords.needs_rehash(user.password_hash):
        await set_password(session=session, user=user, password=password)
    now = utcnow()
    ttl = settings.session_ttl_seconds if cookie else settings.access_token_ttl_seconds
    auth_session = AuthSession(
        user=user,
        kind="cookie" if cookie else "bearer",
        created_at=now,
        expires_at=now + timedelta(seconds=ttl),
        ip=ip,
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(auth_session)
    user.last_login_at = now
    await session.flush()
    await audit.record(
        session,
        user.tenant_id or await platform_tenant_id(session=session, settings=settings),
        audit.Actor(type="user", id=user.id, label=user.email, ip=ip, request_id=request_id),
        "auth.login",
        target=("user", user.id),
        data={"method": auth_session.kind},
    )
    token = tokens.issue_access_token(
        secret=settings.secret,
        session_id=auth_session.id,
        user_id=user.id,
        issued_at=now,
        expires_at=auth_session.expires_at,
    )
    csrf = tokens.csrf_token(secret=settings.secret, session_id=auth_session.id) if cookie else None
    return LoginResult(user, auth_session, token, ttl, csrf)


async def resolve_token(*, session: AsyncSession, settings: Settings, token: str) -> AuthSession:
    """The live login session a token names, or 401/403 saying why not."""
    claims = tokens.read_access_token(secret=settings.secret, token=token)
    found = await session.get(AuthSession, claims.session_id)
    if found is None or found.user_id != claims.user_id or found.revoked_at is not None:
        raise Unauthorized("this login has ended; log in again")
    if found.expires_at <= utcnow():
        raise Unauthorized("this login has expired; log in again")
    user = found.user
    if not user.is_active:
        raise Unauthorized("this account is disabled")
    if user.tenant is not None and not user.tenant.is_active:
        raise Forbidden(
            f"the business {user.tenant.business_id!r} is suspended", code="tenant_suspended"
        )
    return found


async def logout(
    *, session: AsyncSession, settings: Settings, auth_session: AuthSession, actor: audit.Actor
) -> None:
    # The login session was loaded by the authentication step's own transaction.
    await session.execute(
        update(AuthSession).where(AuthSession.id == auth_session.id).values(revoked_at=utcnow())
    )
    user = auth_session.user
    await audit.record(
        session,
        user.tenant_id or await platform_tenant_id(session=session, settings=settings),
        actor,
        "auth.logout",
        target=("user", user.id),
    )


async def revoke_all_sessions(*, session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
