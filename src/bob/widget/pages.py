"""Customer Portal: Widget Setup. The script tag to paste, the addresses allowed to use it, the
widget keys, how the widget looks (with a live preview drawn by the page's own script), and the
limits on anonymous visitors (ceilings per minute and per day, the challenge switch).

The pages call the same services as /api/customer-portal/widget* with the same permission
(widget.manage). A new or rotated key's value is shown once, after the redirect (see `reveal`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import Response
from pydantic import ValidationError

from bob.anonymous import service as anonymous
from bob.auth.permissions import Permission
from bob.deps import SessionDep
from bob.errors import BobError, ValidationFailed
from bob.personas import service as personas
from bob.web import reveal
from bob.web.page import N_, Page, PortalPage, attempt
from bob.widget import service as widget
from bob.widget.models import WidgetKey
from bob.widget.schemas import WidgetAppearanceUpdate, WidgetKeyCreate

router = APIRouter(include_in_schema=False)
Manager = Annotated[Page, PortalPage(Permission.WIDGET_MANAGE)]
HOME = "/portal/widget"
TEXT_LIMIT = 20_000
# Each language as its speakers write it, as in the page's own language switch.
LANGUAGE_NAMES = {
    "en": "English",
    "pt": "Português",
    "es": "Español",
    "fr": "Français",
    "de": "Deutsch",
    "it": "Italiano",
    "nl": "Nederlands",
    "pl": "Polski",
    "ja": "日本語",
}
POSITIONS = (("bottom-right", N_("Bottom right")), ("bottom-left", N_("Bottom left")))


@dataclass
class Look:
    """The appearance form: what is stored, or what was typed when it was refused."""

    position: str = "bottom-right"
    color: str = "#0b5cad"
    language: str = "auto"
    launcher_label: str = ""
    open_on_load: bool = False
    greeting: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, look: widget.Appearance) -> Look:
        return cls(
            look.position,
            look.color,
            look.language,
            look.launcher_label or "",
            look.open_on_load,
            dict(look.greeting),
        )

    def changes(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "color": self.color,
            "language": self.language,
            "launcher_label": self.launcher_label,
            "open_on_load": self.open_on_load,
            "greeting": self.greeting,
        }


@dataclass
class DoorLimitsForm:
    """The anonymous-visitor limits form: empty ceilings mean the plan's defaults."""

    replies_per_minute: str = ""
    replies_per_day: str = ""
    challenge: bool = False

    @classmethod
    def of(cls, limits: anonymous.DoorLimits) -> DoorLimitsForm:
        def text(value: int | None) -> str:
            return "" if value is None else str(value)

        return cls(
            text(limits.per_minute_override), text(limits.per_day_override), limits.challenge
        )

    def changes(self, page: Page) -> dict[str, Any]:
        changes: dict[str, Any] = {"challenge": self.challenge}
        for name in ("replies_per_minute", "replies_per_day"):
            value = getattr(self, name).strip().replace(",", "").replace(" ", "")
            if value and not value.isdigit():
                raise ValidationFailed(
                    page.t("{field}: a whole number, or empty for the plan's default", field=name)
                )
            changes[name] = int(value) if value else None
        return changes


@dataclass
class Typed:
    """What the other forms held when they were refused, so nothing typed is lost."""

    origin: str = ""
    key_label: str = ""
    key_origins: str = ""


async def _widget_page(
    page: Page,
    session: SessionDep,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    look: Look | None = None,
    typed: Typed | None = None,
    door_form: DoorLimitsForm | None = None,
) -> Response:
    tenant_id = page.principal_required.tenant_id
    keys = await widget.list_keys(session=session, tenant_id=tenant_id)
    primary = next((k for k in keys if k.is_primary and k.status == "active"), None)
    persona = await personas.get_default(session=session, tenant_id=tenant_id)
    if look is None:
        look = Look.of(await widget.get_appearance(session=session, tenant_id=tenant_id))
    door_limits = await anonymous.get_limits(
        session=session, tenant=page.principal_required.own_tenant
    )
    shown = reveal.take(page) if status == 200 else {}
    response = page.render(
        "portal/widget.html",
        status=status,
        script_tag=widget.script_tag(page.settings.public_url, tenant_id),
        primary=primary,
        keys=keys,
        look=look,
        typed=typed or Typed(),
        errors=errors or {},
        persona_name=persona.name if persona else "Bob",
        widget_languages=LANGUAGE_NAMES,
        positions=[(value, page.t(text)) for value, text in POSITIONS],
        preview_language=page.language.split("-")[0],
        new_key=shown.get("key"),
        new_key_label=shown.get("label"),
        door_limits=door_limits,
        door_form=door_form or DoorLimitsForm.of(door_limits),
    )
    if shown:
        reveal.forget(page, response)
    return response


@router.get("/portal/widget")
async def widget_page(page: Manager, session: SessionDep) -> Response:
    return await _widget_page(page, session)


# ---- allowed origins of the primary key ---------------------------------------------------


async def _primary(page: Page, session: SessionDep) -> WidgetKey:
    key = await widget.primary_key(session=session, tenant_id=page.principal_required.tenant_id)
    if key is None:
        raise ValidationFailed(page.t("There is no active primary key; create a key first."))
    return key


@router.post("/portal/widget/origins")
async def add_origin(
    page: Manager, session: SessionDep, origin: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    principal = page.principal_required
    key = await _primary(page, session)
    before = key.allowed_origins
    result = await attempt(
        session,
        widget.update_key(
            session=session,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            key_id=key.id,
            label=None,
            allowed_origins=[*before, origin],
        ),
    )
    if isinstance(result, BobError):
        return await _widget_page(
            page,
            session,
            status=result.status_code,
            errors={"origins": result.message},
            typed=Typed(origin=origin),
        )
    added = sorted(set(result.allowed_origins) - set(before))
    if not added:
        return page.redirect(
            HOME, notice=page.t("{origin} is already allowed.", origin=origin.strip())
        )
    return page.redirect(
        HOME, notice=page.t("Allowed {origin}: the widget now works there.", origin=added[0])
    )


@router.post("/portal/widget/origins/remove")
async def remove_origin(
    page: Manager, session: SessionDep, origin: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    principal = page.principal_required
    key = await _primary(page, session)
    if origin not in key.allowed_origins:
        return page.redirect(HOME, error=page.t("{origin} was not on the list.", origin=origin))
    await widget.update_key(
        session=session,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        key_id=key.id,
        label=None,
        allowed_origins=[o for o in key.allowed_origins if o != origin],
    )
    return page.redirect(HOME, notice=page.t("Removed {origin}.", origin=origin))


# ---- keys ---------------------------------------------------------------------------------


def _origin_lines(text: str) -> list[str]:
    return [o.strip() for o in text.replace(",", "\n").splitlines() if o.strip()]


def _reveal_key(page: Page, notice: str, key: WidgetKey) -> Response:
    response = page.redirect(HOME, notice=notice)
    reveal.remember(page, response, HOME, key=key.key, label=key.label)
    return response


@router.post("/portal/widget/keys")
async def create_key(
    page: Manager,
    session: SessionDep,
    label: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
    allowed_origins: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
) -> Response:
    principal = page.principal_required
    typed = Typed(key_label=label, key_origins=allowed_origins)
    try:
        body = WidgetKeyCreate(label=label.strip(), allowed_origins=_origin_lines(allowed_origins))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return await _widget_page(
            page, session, status=422, errors={"keys": f"{where}: {first['msg']}"}, typed=typed
        )
    result = await attempt(
        session,
        widget.create_key(
            session=session,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            label=body.label,
            allowed_origins=body.allowed_origins,
        ),
    )
    if isinstance(result, BobError):
        return await _widget_page(
            page, session, status=result.status_code, errors={"keys": result.message}, typed=typed
        )
    return _reveal_key(
        page, page.t("Created the key “{label}”.", label=result.label or result.key[-4:]), result
    )


@router.post("/portal/widget/keys/{key_id}/rotate")
async def rotate_key(page: Manager, session: SessionDep, key_id: uuid.UUID) -> Response:
    principal = page.principal_required
    result = await attempt(
        session,
        widget.rotate_key(
            session=session,
            tenant=principal.own_tenant,
            actor=principal.actor,
            key_id=key_id,
        ),
    )
    if isinstance(result, BobError):
        if result.status_code == 404:
            raise result
        return await _widget_page(
            page, session, status=result.status_code, errors={"keys": result.message}
        )
    return _reveal_key(
        page,
        page.t("Rotated the key “{label}”: its old value no longer works.", label=result.label),
        result,
    )


@router.post("/portal/widget/keys/{key_id}/revoke")
async def revoke_key(page: Manager, session: SessionDep, key_id: uuid.UUID) -> Response:
    principal = page.principal_required
    result = await attempt(
        session,
        widget.revoke_key(
            session=session,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            key_id=key_id,
        ),
    )
    if isinstance(result, BobError):
        if result.status_code == 404:
            raise result
        return await _widget_page(
            page, session, status=result.status_code, errors={"keys": result.message}
        )
    return page.redirect(HOME, notice=page.t("Revoked the key “{label}”.", label=result.label))


# ---- appearance ---------------------------------------------------------------------------


@router.post("/portal/widget/appearance")
async def save_appearance(
    page: Manager,
    session: SessionDep,
    position: Annotated[str, Form(max_length=40)] = "bottom-right",
    color: Annotated[str, Form(max_length=40)] = "",
    language: Annotated[str, Form(max_length=40)] = "auto",
    launcher_label: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
    open_on_load: Annotated[bool, Form()] = False,
) -> Response:
    principal = page.principal_required
    form = await page.request.form()
    greeting = {}
    for code in widget.WIDGET_LANGUAGES:
        value = form.get(f"greeting_{code}")
        if isinstance(value, str):
            greeting[code] = value[:TEXT_LIMIT]
    look = Look(position, color.strip(), language, launcher_label, open_on_load, greeting)
    try:
        # The greeting's length is a rule of the API schema; the service checks the rest.
        WidgetAppearanceUpdate(greeting=greeting)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return await _widget_page(
            page, session, status=422, errors={"appearance": f"{where}: {first['msg']}"}, look=look
        )
    result = await attempt(
        session,
        widget.update_appearance(
            session=session,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            changes=look.changes(),
        ),
    )
    if isinstance(result, BobError):
        return await _widget_page(
            page,
            session,
            status=result.status_code,
            errors={"appearance": result.message},
            look=look,
        )
    return page.redirect(
        HOME, notice=page.t("Saved the widget's look. Sites show it within a minute.")
    )


# ---- anonymous visitors -------------------------------------------------------------------


@router.post("/portal/widget/limits")
async def save_limits(
    page: Manager,
    session: SessionDep,
    replies_per_minute: Annotated[str, Form(max_length=40)] = "",
    replies_per_day: Annotated[str, Form(max_length=40)] = "",
    challenge: Annotated[bool, Form()] = False,
) -> Response:
    principal = page.principal_required
    form = DoorLimitsForm(replies_per_minute, replies_per_day, challenge)
    try:
        changes = form.changes(page)
    except ValidationFailed as exc:
        return await _widget_page(
            page, session, status=422, errors={"limits": exc.message}, door_form=form
        )
    result = await attempt(
        session,
        anonymous.update_limits(
            session=session,
            tenant=principal.own_tenant,
            actor=principal.actor,
            changes=changes,
        ),
    )
    if isinstance(result, BobError):
        return await _widget_page(
            page,
            session,
            status=result.status_code,
            errors={"limits": result.message},
            door_form=form,
        )
    return page.redirect(
        HOME,
        notice=page.t(
            "Saved. Anonymous visitors get up to {minute} replies a minute and {day} a day.",
            minute=page.translator.number(result.per_minute),
            day=page.translator.number(result.per_day),
        ),
    )
