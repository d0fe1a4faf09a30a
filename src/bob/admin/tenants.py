"""Mission Control: the installation's tenants. List and search, create one with its owner, and a
tenant's page: suspend or resume, change its plan, adjust its credits, its billing and audit log."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query
from fastapi.responses import Response
from pydantic import ValidationError

from bob import audit
from bob.accounts import service as accounts
from bob.accounts.schemas import TenantCreate
from bob.auth import passwords
from bob.auth.permissions import Permission
from bob.billing import metering, pricebook, subscriptions
from bob.billing.pages import plan_options
from bob.billing.schemas import CreditAdjustment
from bob.chat import conversations
from bob.chat import service as chat
from bob.chat.models import Channel
from bob.chat.pages import ROLE_LABELS, preview_language
from bob.deps import SessionDep, get_database
from bob.engines import service as engines
from bob.errors import BobError, NotFound
from bob.governance.guardrails import MAX_MESSAGE_CHARS
from bob.pagination import Cursor
from bob.tenants import service as tenants
from bob.tenants.models import Tenant, TenantStatus
from bob.web.page import MissionControlPage, Page, attempt, validation_message

router = APIRouter(include_in_schema=False)
Reader = Annotated[Page, MissionControlPage(Permission.PLATFORM_READ)]
Manager = Annotated[Page, MissionControlPage(Permission.TENANTS_MANAGE)]
PAGE_SIZE = 50
RECENT = 20
STATUSES = ("active", "suspended")


# ---- the list -----------------------------------------------------------------------------


@router.get("/mission-control/tenants")
async def tenant_list(
    page: Reader,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    q = (q or "").strip() or None
    status = status if status in STATUSES else None
    result = await tenants.list_tenants(
        session=session,
        limit=PAGE_SIZE,
        cursor=Cursor.decode(cursor) if cursor else None,
        status=status,
        q=q,
    )
    params = {k: v for k, v in (("q", q), ("status", status)) if v}
    return page.render(
        "admin/tenants.html",
        tenants=result.items,
        next_cursor=result.next_cursor,
        q=q or "",
        status_filter=status or "",
        params=params,
    )


# ---- create -------------------------------------------------------------------------------


def _blank_form() -> dict[str, str]:
    return {
        "name": "",
        "business_id": "",
        "plan": "starter",
        "owner_email": "",
        "owner_name": "",
    }


async def _new_form(
    page: Page, session: SessionDep, form: dict[str, str], *, status: int = 200, error: str = ""
) -> Response:
    return page.render(
        "admin/tenant_new.html",
        status=status,
        form=form,
        error=error or None,
        plans=await plan_options(page, session),
        min_password=passwords.MIN_PASSWORD_LENGTH,
    )


@router.get("/mission-control/tenants/new")
async def new_tenant_page(page: Manager, session: SessionDep) -> Response:
    return await _new_form(page, session, _blank_form())


@router.post("/mission-control/tenants")
async def create_tenant(
    page: Manager,
    session: SessionDep,
    name: Annotated[str, Form(max_length=200)] = "",
    business_id: Annotated[str, Form(max_length=100)] = "",
    plan: Annotated[str, Form(max_length=32)] = "starter",
    owner_email: Annotated[str, Form(max_length=320)] = "",
    owner_name: Annotated[str, Form(max_length=200)] = "",
    owner_password: Annotated[str, Form(max_length=passwords.MAX_PASSWORD_LENGTH)] = "",
) -> Response:
    form = {
        "name": name,
        "business_id": business_id,
        "plan": plan,
        "owner_email": owner_email,
        "owner_name": owner_name,
    }
    try:
        body = TenantCreate(
            name=name.strip(),
            business_id=business_id.strip() or None,
            plan=plan,
            owner_email=owner_email.strip(),
            owner_name=owner_name.strip(),
            owner_password=owner_password or None,
        )
    except ValidationError as exc:
        return await _new_form(page, session, form, status=422, error=validation_message(exc))
    created = await attempt(
        session,
        accounts.create_tenant(
            session=session,
            actor=page.principal_required.actor,
            name=body.name,
            business_id=body.business_id,
            plan=body.plan,
            owner_email=str(body.owner_email),
            owner_password=body.owner_password,
            owner_name=body.owner_name,
        ),
    )
    if isinstance(created, BobError):
        return await _new_form(
            page, session, form, status=created.status_code, error=created.message
        )
    tenant = created.tenant
    if created.invite_token is not None:
        # The link is shown once, here; it is never stored in the clear.
        await session.flush()
        return await _render_tenant(
            page,
            session,
            tenant.id,
            status=201,
            notice=page.t(
                "Created {name}. Send the owner this invite link; it is shown only now.",
                name=tenant.name,
            ),
            invite_url=accounts.invite_url(page.settings, created.invite_token),
        )
    return page.redirect(
        f"/mission-control/tenants/{tenant.id}",
        notice=page.t(
            "Created {name}. {email} can log in to the Customer Portal now.",
            name=tenant.name,
            email=created.owner.email,
        ),
    )


# ---- one tenant ---------------------------------------------------------------------------


async def _load(page: Page, session: SessionDep, tenant_id: str) -> Tenant:
    """The tenant, or a 404 page for an id that is not one (malformed ids included)."""
    missing = NotFound(page.t("There is no tenant with the id {id}.", id=tenant_id[:64]))
    try:
        wanted = uuid.UUID(tenant_id)
    except ValueError:
        raise missing from None
    try:
        return await tenants.get_tenant(session=session, tenant_id=wanted)
    except NotFound:
        raise missing from None


async def _render_tenant(
    page: Page,
    session: SessionDep,
    tenant_id: uuid.UUID,
    *,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
    form: dict[str, Any] | None = None,
    invite_url: str | None = None,
) -> Response:
    # By id: after a refused change the session was rolled back and loaded rows are stale.
    tenant = await tenants.get_tenant(session=session, tenant_id=tenant_id)
    usage = await metering.usage(session=session, tenant_id=tenant.id)
    subscription = usage.subscription
    version = await pricebook.get_version(session=session, version=subscription.pricebook_version)
    terms = pricebook.terms_of(version)
    members = await accounts.list_members(
        session=session, tenant_id=tenant.id, limit=RECENT, cursor=None
    )
    pending = await accounts.pending_invites(
        session=session, user_ids=[u.id for u in members.items]
    )
    ledger = await metering.ledger(
        session=session, tenant_id=tenant.id, limit=RECENT, before_id=None
    )
    entries = await audit.list_entries(
        session=session, tenant_id=tenant.id, limit=RECENT, cursor=None
    )
    overrides = await engines.get_overrides(session=session, tenant_id=tenant.id)
    t = page.translator
    return page.render(
        "admin/tenant.html",
        status=status,
        tenant=tenant,
        is_platform=tenant.business_id == page.settings.platform_business_id,
        usage=usage,
        subscription=subscription,
        currency=version.currency,
        plan_name=terms[subscription.plan].name,
        pending_name=terms[subscription.pending_plan].name if subscription.pending_plan else None,
        plan_choices=[
            (
                p.code,
                page.t(
                    "{name} — {price} a month, {credits} credits",
                    name=p.name,
                    price=t.money(p.monthly_price_cents / 100, version.currency),
                    credits=t.number(p.included_credits),
                ),
            )
            for p in terms.values()
        ],
        members=members.items,
        more_members=members.next_cursor is not None,
        pending=pending,
        ledger=ledger[:RECENT],
        entries=entries.items,
        engine=(overrides.engine if overrides and overrides.engine else page.settings.engine),
        overrides=overrides,
        error=error,
        notice=notice,
        form=form or {"plan": subscription.pending_plan or subscription.plan},
        invite_url=invite_url,
    )


@router.get("/mission-control/tenants/{tenant_id}")
async def tenant_page(page: Reader, session: SessionDep, tenant_id: str) -> Response:
    tenant = await _load(page, session, tenant_id)
    return await _render_tenant(page, session, tenant.id)


async def _set_status(
    page: Page, session: SessionDep, tenant_id: str, status: TenantStatus
) -> Response:
    tid = (await _load(page, session, tenant_id)).id
    result = await attempt(
        session,
        tenants.set_status(
            session=session,
            settings=page.settings,
            actor=page.principal_required.actor,
            tenant_id=tid,
            status=status,
        ),
    )
    if isinstance(result, BobError):
        return await _render_tenant(
            page, session, tid, status=result.status_code, error=result.message
        )
    notice = (
        page.t("{name} is suspended.", name=result.name)
        if status is TenantStatus.SUSPENDED
        else page.t("{name} is active again.", name=result.name)
    )
    return page.redirect(f"/mission-control/tenants/{tid}", notice=notice)


@router.post("/mission-control/tenants/{tenant_id}/suspend")
async def suspend_tenant(page: Manager, session: SessionDep, tenant_id: str) -> Response:
    return await _set_status(page, session, tenant_id, TenantStatus.SUSPENDED)


@router.post("/mission-control/tenants/{tenant_id}/resume")
async def resume_tenant(page: Manager, session: SessionDep, tenant_id: str) -> Response:
    return await _set_status(page, session, tenant_id, TenantStatus.ACTIVE)


@router.post("/mission-control/tenants/{tenant_id}/plan")
async def change_plan(
    page: Manager,
    session: SessionDep,
    tenant_id: str,
    plan: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    tid = (await _load(page, session, tenant_id)).id
    result = await attempt(
        session,
        accounts.update_tenant(
            session=session,
            actor=page.principal_required.actor,
            tenant_id=tid,
            plan=plan,
        ),
    )
    if isinstance(result, BobError):
        return await _render_tenant(
            page,
            session,
            tid,
            status=result.status_code,
            error=result.message,
            form={"plan": plan},
        )
    subscription = await subscriptions.current_subscription(session=session, tenant_id=tid)
    if subscription.pending_plan == plan:
        notice = page.t(
            "{name} moves to the {plan} plan at its renewal on {date}.",
            name=result.name,
            plan=plan,
            date=page.translator.day(subscription.period_end),
        )
    else:
        notice = page.t("{name} is on the {plan} plan.", name=result.name, plan=subscription.plan)
    return page.redirect(f"/mission-control/tenants/{tid}", notice=notice)


@router.post("/mission-control/tenants/{tenant_id}/credits")
async def adjust_credits(
    page: Manager,
    session: SessionDep,
    tenant_id: str,
    delta: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    tenant = await _load(page, session, tenant_id)
    tid, name = tenant.id, tenant.name
    form = {"delta": delta, "reason": reason}

    async def again(status: int, message: str) -> Response:
        return await _render_tenant(page, session, tid, status=status, error=message, form=form)

    try:
        amount = int(delta.strip().replace("\u2212", "-"))
    except ValueError:
        return await again(
            422, page.t("Credits: enter a whole number, such as 500 to add or -500 to remove.")
        )
    try:
        body = CreditAdjustment(delta=amount, reason=reason.strip())
    except ValidationError as exc:
        return await again(422, validation_message(exc))
    result = await attempt(
        session,
        subscriptions.adjust_credits(
            session=session,
            actor=page.principal_required.actor,
            tenant_id=tid,
            delta=body.delta,
            reason=body.reason,
        ),
    )
    if isinstance(result, BobError):
        return await again(result.status_code, result.message)
    return page.redirect(
        f"/mission-control/tenants/{tid}",
        notice=page.t(
            "Adjusted {name}'s credits by {delta}; the balance is now {balance}.",
            name=name,
            delta=f"{body.delta:+d}",
            balance=page.translator.number(result),
        ),
    )


# ---- trying the business's Bob ----------------------------------------------------------------
# A door-3 conversation with the tenant's assistant, as its own team has (support, sales demos):
# charged to no one, marked as a preview in the transcript, recorded in both audit logs.

Tryer = Annotated[Page, MissionControlPage(Permission.CHAT_MANAGE)]


def _try_path(tenant: Tenant, session_id: str) -> str:
    return f"/mission-control/tenants/{tenant.id}/try/{session_id}"


@router.post("/mission-control/tenants/{tenant_id}/try")
async def start_preview(page: Tryer, session: SessionDep, tenant_id: str) -> Response:
    tenant = await _load(page, session, tenant_id)
    conversation = await conversations.start_console_session(
        session=session,
        tenant=tenant.ensure_serving(),
        visitor={},
        metadata={},
        language=preview_language(page),
        preview_for=page.principal_required,
    )
    return page.redirect(_try_path(tenant, conversation.session_id))


async def _render_preview(
    page: Page,
    session: SessionDep,
    tenant_id: str,
    session_id: str,
    *,
    status: int = 200,
    error: str | None = None,
    message: str = "",
) -> Response:
    tenant = await _load(page, session, tenant_id)
    conversation = await conversations.get_preview(
        session=session, tenant_id=tenant.id, session_id=session_id
    )
    messages = await conversations.transcript(session=session, conversation=conversation)
    return page.render(
        "admin/try.html",
        status=status,
        tenant=tenant,
        conversation=conversation,
        messages=messages,
        names=await conversations.author_names(session=session, messages=messages),
        role_labels={role: page.t(label) for role, label in ROLE_LABELS.items()},
        can_edit_knowledge=False,
        error=error,
        message=message,
        max_message=MAX_MESSAGE_CHARS,
    )


@router.get("/mission-control/tenants/{tenant_id}/try/{session_id}")
async def preview_page(
    page: Tryer, session: SessionDep, tenant_id: str, session_id: str
) -> Response:
    return await _render_preview(page, session, tenant_id, session_id)


@router.post("/mission-control/tenants/{tenant_id}/try/{session_id}")
async def preview_message(
    page: Tryer,
    session: SessionDep,
    tenant_id: str,
    session_id: str,
    message: Annotated[str, Form(max_length=4 * MAX_MESSAGE_CHARS)] = "",
) -> Response:
    db = get_database(page.request)
    # The pipeline runs its own transactions, so the request's stays unused until it is done
    # (on SQLite an open transaction would hold the write lock the reply needs).
    async with db.transaction() as checking:
        tenant = await _load(page, checking, tenant_id)
        await conversations.get_preview(
            session=checking, tenant_id=tenant.id, session_id=session_id
        )
    result = await attempt(
        session,
        chat.answer(
            db=db,
            settings=page.settings,
            chat=chat.ChatInput(
                tenant=tenant,
                channel=Channel.CONSOLE,
                message=message,
                session_id=session_id,
                language=preview_language(page),
                free=True,
            ),
        ),
    )
    if isinstance(result, BobError):
        return await _render_preview(
            page,
            session,
            tenant_id,
            session_id,
            status=result.status_code,
            error=result.message,
            message=message,
        )
    return page.redirect(_try_path(tenant, session_id))
