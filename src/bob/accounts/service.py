"""A business's account: the one way a tenant comes to be (signup or by a platform admin),
provisioning the domains that stand on the tenant; its name and plan; its team members and
invites. The tenant itself (finding, listing, suspending) is tenants/service.py's."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bob import audit
from bob.accounts.schemas import SignupRequest
from bob.audit import Actor
from bob.auth import passwords
from bob.auth import service as auth
from bob.auth.models import Invite, User
from bob.auth.permissions import Role
from bob.auth.tokens import hash_opaque_token
from bob.billing import pricebook, subscriptions
from bob.db.types import utcnow
from bob.errors import Conflict, Forbidden, NotFound, ValidationFailed
from bob.pagination import Cursor, Page
from bob.personas import service as personas
from bob.ratelimit import RateLimiter
from bob.settings import Settings
from bob.tenants.models import Plan, Tenant, TenantStatus
from bob.tenants.service import check_business_id, get_tenant, slugify
from bob.widget import service as widget

INVITE_TTL = timedelta(days=7)


# ---- tenants ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewTenant:
    tenant: Tenant
    owner: User
    invite_token: str | None
    widget_key: str


async def create_tenant(
    *,
    session: AsyncSession,
    actor: Actor,
    name: str,
    business_id: str | None,
    plan: str,
    owner_email: str,
    owner_password: str | None,
    owner_name: str = "",
) -> NewTenant:
    """The one way a tenant comes to be; later domains hang their defaults on it."""
    name = name.strip()
    if not name:
        raise ValidationFailed("name: must not be blank")
    if plan not in pricebook.PLAN_CODES:
        raise ValidationFailed(f"plan: must be one of {', '.join(pricebook.PLAN_CODES)}")
    if owner_password is not None:
        passwords.check_password_rules(owner_password, field="owner_password")
    if business_id is None:
        business_id = await _free_business_id(session, slugify(name))
    else:
        check_business_id(business_id)
        if await session.scalar(select(Tenant.id).where(Tenant.business_id == business_id)):
            raise Conflict(f"business_id {business_id!r} is taken", code="business_id_taken")
    tenant = Tenant(name=name, business_id=business_id, plan=plan, status=TenantStatus.ACTIVE)
    session.add(tenant)
    await session.flush()
    await audit.start_chain(session=session, tenant_id=tenant.id)
    owner = await auth.create_user(
        session=session,
        tenant_id=tenant.id,
        email=owner_email,
        role=Role.OWNER,
        password=owner_password,
        name=owner_name,
    )
    await audit.record(
        session,
        tenant.id,
        actor,
        "tenant.created",
        target=("tenant", tenant.id),
        data={"business_id": business_id, "name": name, "plan": plan, "owner": owner.email},
    )
    await personas.create_default(session=session, tenant_id=tenant.id)
    key = await widget.create_primary_key(session=session, tenant_id=tenant.id)
    await subscriptions.start_subscription(session=session, tenant=tenant, plan=plan)
    invite = None
    if owner_password is None:
        invite = await _create_invite(session=session, tenant_id=tenant.id, user=owner)
    return NewTenant(tenant, owner, invite, key.key)


async def sign_up(
    *,
    session: AsyncSession,
    settings: Settings,
    limiter: RateLimiter,
    request: SignupRequest,
    ip: str | None,
    request_id: str | None,
) -> NewTenant:
    """Self-service signup, for the API and the signup page alike: refused where the
    installation turned it off, limited per address, then the one way a tenant comes to be."""
    if not settings.allow_signup:
        raise Forbidden(
            "self-service signup is turned off on this installation", code="signup_disabled"
        )
    address = ip or "unknown"
    per_ip = limiter.parse(settings.signup_limit_per_ip)
    await limiter.check(per_ip, "signup", address, message="too many signups from this address")
    await limiter.hit(per_ip, "signup", address)
    return await create_tenant(
        session=session,
        actor=Actor(type="user", label=request.email, ip=address, request_id=request_id),
        name=request.business_name,
        business_id=request.business_id,
        plan=request.plan,
        owner_email=request.email,
        owner_password=request.password,
        owner_name=request.name,
    )


async def _free_business_id(session: AsyncSession, base: str) -> str:
    candidate = base
    while await session.scalar(select(Tenant.id).where(Tenant.business_id == candidate)):
        candidate = f"{base[:56]}-{secrets.token_hex(3)}"
    return candidate


async def update_tenant(
    *,
    session: AsyncSession,
    actor: Actor,
    tenant_id: uuid.UUID,
    name: str | None = None,
    plan: str | None = None,
) -> Tenant:
    tenant = await get_tenant(session=session, tenant_id=tenant_id)
    changes: dict[str, object] = {}
    if name is not None and name.strip() != tenant.name:
        if not name.strip():
            raise ValidationFailed("name: must not be blank")
        changes["name"] = [tenant.name, name.strip()]
        tenant.name = name.strip()
    if plan is not None:  # the same plan cancels a scheduled downgrade, as for the owner
        await subscriptions.change_plan(session=session, actor=actor, tenant=tenant, plan=plan)
    if changes:
        await session.flush()
        await audit.record(
            session, tenant.id, actor, "tenant.updated", target=("tenant", tenant.id), data=changes
        )
    return tenant


# ---- team ---------------------------------------------------------------------------------


async def _create_invite(*, session: AsyncSession, tenant_id: uuid.UUID, user: User) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        Invite(
            tenant_id=tenant_id,
            user_id=user.id,
            token_hash=hash_opaque_token(token),
            expires_at=utcnow() + INVITE_TTL,
        )
    )
    await session.flush()
    return token


def invite_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url}/invite/{token}"


async def pending_invites(*, session: AsyncSession, user_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    if not user_ids:
        return set()
    rows = await session.scalars(
        select(Invite.user_id).where(
            Invite.user_id.in_(user_ids), Invite.used_at.is_(None), Invite.expires_at > utcnow()
        )
    )
    return set(rows)


async def list_members(
    *, session: AsyncSession, tenant_id: uuid.UUID, limit: int, cursor: Cursor | None
) -> Page[User]:
    query = select(User).where(User.tenant_id == tenant_id)
    if cursor is not None:
        query = query.where(User.email > cursor.as_str("email"))
    rows = list((await session.execute(query.order_by(User.email).limit(limit + 1))).scalars())
    return Page.of(rows, limit=limit, cursor_for=lambda u: {"email": u.email})


async def get_member(*, session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID) -> User:
    # Filtering by tenant makes another tenant's user indistinguishable from a missing one.
    user = await session.scalar(select(User).where(User.id == user_id, User.tenant_id == tenant_id))
    if user is None:
        raise NotFound(f"no team member {user_id}")
    return user


async def _active_owner_count(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.tenant_id == tenant_id, User.role == Role.OWNER, User.is_active.is_(True))
    )
    return int(count or 0)


def _check_may_touch(actor_role: str, *roles: str) -> None:
    if actor_role != Role.OWNER and Role.OWNER in roles:
        raise Forbidden("only an owner can add, change or remove an owner")


async def add_member(
    *,
    session: AsyncSession,
    tenant_id: uuid.UUID,
    actor: Actor,
    actor_role: str,
    email: str,
    role: str,
    name: str = "",
    password: str | None = None,
) -> tuple[User, str | None]:
    _check_may_touch(actor_role, role)
    await subscriptions.check_seat_available(session=session, tenant_id=tenant_id)
    user = await auth.create_user(
        session=session,
        tenant_id=tenant_id,
        email=email,
        role=Role(role),
        password=password,
        name=name,
    )
    token = (
        None if password else await _create_invite(session=session, tenant_id=tenant_id, user=user)
    )
    await audit.record(
        session,
        tenant_id,
        actor,
        "team.member_added",
        target=("user", user.id),
        data={"email": user.email, "role": role, "invited": token is not None},
    )
    return user, token


async def update_member(
    *,
    session: AsyncSession,
    tenant_id: uuid.UUID,
    actor: Actor,
    actor_role: str,
    user_id: uuid.UUID,
    role: str | None = None,
    name: str | None = None,
    is_active: bool | None = None,
) -> User:
    user = await get_member(session=session, tenant_id=tenant_id, user_id=user_id)
    _check_may_touch(actor_role, user.role, role or user.role)
    losing_owner = (
        user.role == Role.OWNER
        and user.is_active
        and ((role is not None and role != Role.OWNER) or is_active is False)
    )
    if losing_owner and await _active_owner_count(session, tenant_id) <= 1:
        raise Conflict("a business needs at least one active owner", code="last_owner")
    changes: dict[str, object] = {}
    if role is not None and role != user.role:
        changes["role"] = [user.role, role]
        user.role = role
    if name is not None and name.strip() != user.name:
        changes["name"] = [user.name, name.strip()]
        user.name = name.strip()
    if is_active is not None and is_active != user.is_active:
        if is_active:
            await subscriptions.check_seat_available(session=session, tenant_id=tenant_id)
        changes["is_active"] = [user.is_active, is_active]
        user.is_active = is_active
        if not is_active:
            await auth.revoke_all_sessions(session=session, user_id=user.id)
    if changes:
        await session.flush()
        await audit.record(
            session, tenant_id, actor, "team.member_updated", target=("user", user.id), data=changes
        )
    return user


async def remove_member(
    *,
    session: AsyncSession,
    tenant_id: uuid.UUID,
    actor: Actor,
    actor_role: str,
    user_id: uuid.UUID,
) -> None:
    user = await get_member(session=session, tenant_id=tenant_id, user_id=user_id)
    _check_may_touch(actor_role, user.role)
    if (
        user.role == Role.OWNER
        and user.is_active
        and await _active_owner_count(session, tenant_id) <= 1
    ):
        raise Conflict("a business needs at least one active owner", code="last_owner")
    await audit.record(
        session,
        tenant_id,
        actor,
        "team.member_removed",
        target=("user", user.id),
        data={"email": user.email, "role": user.role},
    )
    await session.delete(user)
    await session.flush()


async def accept_invite(
    *,
    session: AsyncSession,
    token: str,
    password: str,
    name: str | None,
    ip: str | None = None,
    request_id: str | None = None,
) -> User:
    invite = await session.scalar(
        select(Invite).where(Invite.token_hash == hash_opaque_token(token)).with_for_update()
    )
    if invite is None or invite.used_at is not None or invite.expires_at <= utcnow():
        raise NotFound("this invite link is not valid any more; ask for a new one")
    user = await session.get(User, invite.user_id)
    if user is None:
        raise NotFound("this invite link is not valid any more; ask for a new one")
    await auth.set_password(session=session, user=user, password=password)
    if name is not None and name.strip():
        user.name = name.strip()
    invite.used_at = utcnow()
    await session.flush()
    await audit.record(
        session,
        invite.tenant_id,
        Actor(type="user", id=user.id, label=user.email, ip=ip, request_id=request_id),
        "team.invite_accepted",
        target=("user", user.id),
    )
    return user


# ---- installation setup ------------------------------------------------------------------


async def ensure_platform_tenant(*, session: AsyncSession, settings: Settings) -> Tenant:
    """The migration creates it; this keeps it present when BOB_PLATFORM_BUSINESS_ID changes."""
    existing = await session.scalar(
        select(Tenant).where(Tenant.business_id == settings.platform_business_id)
    )
    if existing is not None:
        return existing
    tenant = Tenant(
        name="Bob Platform",
        business_id=settings.platform_business_id,
        plan=Plan.ENTERPRISE,
        status=TenantStatus.ACTIVE,
    )
    session.add(tenant)
    await session.flush()
    await audit.start_chain(session=session, tenant_id=tenant.id)
    await personas.create_default(session=session, tenant_id=tenant.id)
    await widget.create_primary_key(session=session, tenant_id=tenant.id)
    await subscriptions.start_subscription(session=session, tenant=tenant, plan=Plan.ENTERPRISE)
    return tenant
