"""The versioned pricebook: plans and their terms, drafts, and publishing one (Mission Control).

A published version prices new subscriptions at once and every tenant at its next renewal;
older versions stay readable, archived.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bob import audit
from bob.audit import Actor
from bob.billing import plans_knowledge
from bob.billing.models import PricebookVersion
from bob.db.types import utcnow
from bob.errors import Conflict, NotFound, ValidationFailed
from bob.events import outbox
from bob.settings import Settings
from bob.tenants.models import Tenant

PLAN_CODES = ("starter", "pro", "enterprise")
_CODE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class PlanTerms:
    code: str
    name: str
    monthly_price_cents: int
    included_credits: int
    seats: int | None  # None: unlimited
    integrations: int
    support: str


def terms_of(version: PricebookVersion) -> dict[str, PlanTerms]:
    return {p["code"]: PlanTerms(**p) for p in version.plans}


# ---- the pricebook -------------------------------------------------------------------------


MAX_VERSION = 2**31 - 1  # pricebook_versions.version is an INTEGER


def check_plans(plans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A version lists exactly the plans Bob sells, each with whole, non-negative numbers."""
    if not isinstance(plans, list) or not plans:
        raise ValidationFailed("plans: a non-empty list is required")
    cleaned: list[dict[str, Any]] = []
    for index, plan in enumerate(plans):
        where = f"plans[{index}]"
        if not isinstance(plan, dict):
            raise ValidationFailed(f"{where}: must be an object")
        code = plan.get("code")
        if not isinstance(code, str) or not _CODE.match(code):
            raise ValidationFailed(f"{where}.code: a lowercase plan code is required")
        name = plan.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 60:
            raise ValidationFailed(f"{where}.name: 1 to 60 characters")
        numbers = {}
        for field in ("monthly_price_cents", "included_credits", "integrations"):
            value = plan.get(field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValidationFailed(f"{where}.{field}: a whole number of at least 0")
            numbers[field] = value
        seats = plan.get("seats")
        if seats is not None and (
            not isinstance(seats, int) or isinstance(seats, bool) or seats < 1
        ):
            raise ValidationFailed(f"{where}.seats: a whole number of at least 1, or null")
        support = plan.get("support")
        if not isinstance(support, str) or not support.strip() or len(support) > 40:
            raise ValidationFailed(f"{where}.support: 1 to 40 characters")
        cleaned.append(
            {
                "code": code,
                "name": name.strip(),
                **numbers,
                "seats": seats,
                "support": support.strip(),
            }
        )
    codes = [p["code"] for p in cleaned]
    if sorted(codes) != sorted(PLAN_CODES) or len(set(codes)) != len(codes):
        raise ValidationFailed(
            f"plans: must list each of {', '.join(PLAN_CODES)} exactly once "
            f"(got {', '.join(codes)})"
        )
    by_code = {p["code"]: p for p in cleaned}
    return [by_code[code] for code in PLAN_CODES]


async def published_version(*, session: AsyncSession) -> PricebookVersion:
    version = await session.scalar(
        select(PricebookVersion).where(PricebookVersion.status == "published")
    )
    if version is None:
        raise NotFound("no pricebook version is published")
    return version


async def get_version(*, session: AsyncSession, version: int) -> PricebookVersion:
    # A number past the column's range names no version, and the database would refuse it.
    in_range = 1 <= version <= MAX_VERSION
    row = await session.get(PricebookVersion, version) if in_range else None
    if row is None:
        raise NotFound(f"no pricebook version {version}")
    return row


async def list_versions(*, session: AsyncSession) -> list[PricebookVersion]:
    rows = await session.scalars(select(PricebookVersion).order_by(PricebookVersion.version.desc()))
    return list(rows)


async def _platform_tenant(session: AsyncSession, settings: Settings) -> Tenant:
    tenant = await session.scalar(
        select(Tenant).where(Tenant.business_id == settings.platform_business_id)
    )
    if tenant is None:
        raise NotFound("the platform tenant is missing; run `bob migrate`")
    return tenant


async def _record_platform(
    session: AsyncSession, settings: Settings, actor: Actor, action: str, version: int, **data: Any
) -> None:
    platform = await _platform_tenant(session, settings)
    await audit.record(
        session, platform.id, actor, action, target=("pricebook_version", str(version)), data=data
    )


async def create_draft(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    plans: list[dict[str, Any]],
    currency: str = "USD",
) -> PricebookVersion:
    cleaned = check_plans(plans)
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise ValidationFailed("currency: a three-letter ISO code such as USD")
    latest = await session.scalar(select(func.max(PricebookVersion.version)))
    draft = PricebookVersion(
        version=(latest or 0) + 1, status="draft", currency=currency, plans=cleaned
    )
    session.add(draft)
    await session.flush()
    await _record_platform(session, settings, actor, "pricebook.draft_created", draft.version)
    return draft


async def update_draft(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    version: int,
    plans: list[dict[str, Any]],
) -> PricebookVersion:
    draft = await get_version(session=session, version=version)
    if draft.status != "draft":
        raise Conflict(
            f"pricebook version {version} is {draft.status}; published versions never change, "
            "create a new draft instead",
            code="pricebook_immutable",
        )
    draft.plans = check_plans(plans)
    await session.flush()
    await _record_platform(session, settings, actor, "pricebook.draft_updated", version)
    return draft


async def publish(
    *, session: AsyncSession, settings: Settings, actor: Actor, version: int
) -> PricebookVersion:
    """Publish a draft: it prices new subscriptions now and every tenant at its next renewal."""
    draft = await get_version(session=session, version=version)
    if draft.status != "draft":
        raise Conflict(f"pricebook version {version} is {draft.status}, not a draft")
    now = utcnow()
    current = await session.scalar(
        select(PricebookVersion).where(PricebookVersion.status == "published").with_for_update()
    )
    if current is not None:
        current.status, current.archived_at = "archived", now
        await session.flush()  # the one-published index must see the old one go first
    draft.status, draft.published_at = "published", now
    await session.flush()
    await _record_platform(
        session,
        settings,
        actor,
        "pricebook.published",
        version,
        replaced=current.version if current else None,
    )
    platform = await _platform_tenant(session, settings)
    await outbox.emit(
        session=session,
        tenant=platform,
        type="pricebook.published",
        data={"pricebook": {"version": version, "plans": draft.plans}},
    )
    # The platform's own Bob quotes the new prices from now on (where it has plan items).
    await plans_knowledge.refresh(
        session=session,
        settings=settings,
        actor=actor,
        tenant=platform,
        version=draft,
        create=False,
    )
    return draft
