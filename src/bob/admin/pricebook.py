"""Mission Control: the pricebook. Its versions, a draft started from the published one, the
draft editor (every plan's name, price, credits, seats, integrations, support) and publishing."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from babel.numbers import get_currency_precision
from fastapi import APIRouter
from fastapi.responses import Response

from bob.auth.permissions import Permission
from bob.billing import pricebook
from bob.billing.models import PricebookVersion
from bob.deps import SessionDep
from bob.errors import BobError
from bob.web.page import N_, MissionControlPage, Page, attempt

router = APIRouter(include_in_schema=False)
Manager = Annotated[Page, MissionControlPage(Permission.PRICEBOOK_MANAGE)]
FIELDS = ("name", "price", "included_credits", "seats", "integrations", "support")
LABELS = {
    "name": N_("Name"),
    "price": N_("Monthly price"),
    "monthly_price_cents": N_("Monthly price"),
    "included_credits": N_("Credits a month"),
    "seats": N_("Seats"),
    "integrations": N_("Integrations"),
    "support": N_("Support"),
}
# The service names a refused figure by its place in the list: `plans[1].seats: ...`.
PROBLEM = re.compile(r"^plans\[(\d+)\]\.(\w+): ")


def _scale(currency: str) -> int:
    return int(10 ** get_currency_precision(currency))


def typed_from(version: PricebookVersion) -> dict[str, dict[str, str]]:
    """A version's plans as the editor shows them (prices in the currency, not cents)."""
    scale = _scale(version.currency)
    places = get_currency_precision(version.currency)
    typed = {}
    for plan in version.plans:
        price = Decimal(plan["monthly_price_cents"]) / scale
        typed[plan["code"]] = {
            "name": plan["name"],
            "price": f"{price:.{places}f}",
            "included_credits": str(plan["included_credits"]),
            "seats": "" if plan["seats"] is None else str(plan["seats"]),
            "integrations": str(plan["integrations"]),
            "support": plan["support"],
        }
    return typed


def _whole(text: str) -> int | str:
    """A whole number, or the text as typed so the service refuses it with its own message."""
    try:
        return int(text.strip())
    except ValueError:
        return text


def _cents(text: str, scale: int) -> int | str:
    try:
        amount = Decimal(text.strip().replace(",", ".")) * scale
    except InvalidOperation:
        return text
    return int(amount) if amount == amount.to_integral_value() else text


def plans_from(codes: list[str], typed: dict[str, dict[str, str]], currency: str) -> list[Any]:
    scale = _scale(currency)
    plans = []
    for code in codes:
        row = typed.get(code, {})
        seats = row.get("seats", "").strip()
        plans.append(
            {
                "code": code,
                "name": row.get("name", ""),
                "monthly_price_cents": _cents(row.get("price", ""), scale),
                "included_credits": _whole(row.get("included_credits", "")),
                "seats": None if seats == "" else _whole(seats),
                "integrations": _whole(row.get("integrations", "")),
                "support": row.get("support", ""),
            }
        )
    return plans


def changes(page: Page, draft: PricebookVersion, published: PricebookVersion | None) -> list[str]:
    """What publishing the draft changes, one line per figure."""
    if published is None:
        return []
    t = page.translator
    old = {p["code"]: p for p in published.plans}
    lines = []
    for plan in draft.plans:
        before = old.get(plan["code"])
        if before is None:
            continue
        for field in ("name", "monthly_price_cents", "included_credits", "seats", "integrations"):
            if before[field] == plan[field]:
                continue

            def shown(value: Any, field: str = field) -> str:
                if value is None:
                    return page.t("unlimited")
                if field == "monthly_price_cents":
                    return t.money(value / _scale(draft.currency), draft.currency)
                return t.number(value) if isinstance(value, int) else str(value)

            lines.append(
                page.t(
                    "{plan}, {what}: {old} → {new}",
                    plan=plan["name"],
                    what=page.t(LABELS[field]),
                    old=shown(before[field]),
                    new=shown(plan[field]),
                )
            )
        if before["support"] != plan["support"]:
            lines.append(
                page.t(
                    "{plan}, {what}: {old} → {new}",
                    plan=plan["name"],
                    what=page.t(LABELS["support"]),
                    old=before["support"],
                    new=plan["support"],
                )
            )
    return lines


async def _published_or_none(session: SessionDep) -> PricebookVersion | None:
    versions = await pricebook.list_versions(session=session)
    return next((v for v in versions if v.status == "published"), None)


@router.get("/mission-control/pricebook")
async def pricebook_page(page: Manager, session: SessionDep) -> Response:
    versions = await pricebook.list_versions(session=session)
    published = next((v for v in versions if v.status == "published"), None)
    return page.render(
        "admin/pricebook.html",
        versions=versions,
        published=published,
        drafts=[v for v in versions if v.status == "draft"],
        scale=_scale(published.currency) if published else 100,
    )


@router.post("/mission-control/pricebook/drafts")
async def create_draft(page: Manager, session: SessionDep) -> Response:
    published = await pricebook.published_version(session=session)
    draft = await attempt(
        session,
        pricebook.create_draft(
            session=session,
            settings=page.settings,
            actor=page.principal_required.actor,
            plans=published.plans,
            currency=published.currency,
        ),
    )
    if isinstance(draft, BobError):
        return page.redirect("/mission-control/pricebook", error=draft.message)
    return page.redirect(
        f"/mission-control/pricebook/{draft.version}",
        notice=page.t(
            "Draft version {n} started from version {m}. Change what you need, save, then publish.",
            n=draft.version,
            m=published.version,
        ),
    )


async def _version_page(
    page: Page,
    session: SessionDep,
    number: int,
    *,
    status: int = 200,
    error: str | None = None,
    typed: dict[str, dict[str, str]] | None = None,
    invalid: tuple[str, str] | None = None,
) -> Response:
    version = await pricebook.get_version(session=session, version=number)
    published = await _published_or_none(session)
    return page.render(
        "admin/pricebook_version.html",
        status=status,
        version=version,
        published=published,
        codes=list(pricebook.PLAN_CODES),
        typed=typed if typed is not None else typed_from(version),
        scale=_scale(version.currency),
        changes=changes(page, version, published) if version.status == "draft" else [],
        error=error,
        invalid=invalid,
        labels=LABELS,
    )


@router.get("/mission-control/pricebook/{version}")
async def version_page(page: Manager, session: SessionDep, version: int) -> Response:
    return await _version_page(page, session, version)


@router.post("/mission-control/pricebook/{version}")
async def save_draft(page: Manager, session: SessionDep, version: int) -> Response:
    form = await page.request.form()
    codes = list(
        dict.fromkeys(str(c) for c in form.getlist("code") if str(c) in pricebook.PLAN_CODES)
    )
    typed = {
        code: {field: str(form.get(f"{code}.{field}") or "") for field in FIELDS}
        for code in pricebook.PLAN_CODES
    }
    current = await pricebook.get_version(session=session, version=version)
    currency = current.currency
    result = await attempt(
        session,
        pricebook.update_draft(
            session=session,
            settings=page.settings,
            actor=page.principal_required.actor,
            version=version,
            plans=plans_from(codes, typed, currency),
        ),
    )
    if isinstance(result, BobError):
        invalid = None
        match = PROBLEM.match(result.message)
        if match and int(match.group(1)) < len(codes):
            field = "price" if match.group(2) == "monthly_price_cents" else match.group(2)
            invalid = (codes[int(match.group(1))], field)
        return await _version_page(
            page,
            session,
            version,
            status=result.status_code,
            error=result.message,
            typed=typed,
            invalid=invalid,
        )
    return page.redirect(
        f"/mission-control/pricebook/{version}",
        notice=page.t("Draft version {n} saved.", n=version),
    )


@router.post("/mission-control/pricebook/{version}/publish")
async def publish(page: Manager, session: SessionDep, version: int) -> Response:
    result = await attempt(
        session,
        pricebook.publish(
            session=session,
            settings=page.settings,
            actor=page.principal_required.actor,
            version=version,
        ),
    )
    if isinstance(result, BobError):
        return await _version_page(
            page, session, version, status=result.status_code, error=result.message
        )
    return page.redirect(
        "/mission-control/pricebook",
        notice=page.t(
            "Version {n} is published: new subscriptions use it now, every tenant from its next "
            "renewal.",
            n=version,
        ),
    )
