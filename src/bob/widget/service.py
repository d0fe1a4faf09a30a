"""Widget keys: publishable `pk_live_…` keys, each with the origins allowed to use it."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from bob import audit
from bob.audit import Actor
from bob.db.types import utcnow
from bob.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from bob.events import outbox
from bob.tenants.models import Tenant, TenantStatus
from bob.widget.models import WidgetKey, WidgetKeyOrigin, WidgetSettings
from bob.widget.origins import normalize_origins, patterns_matching

KEY_PREFIX = "pk_live_"


def bundle_url(public_url: str, tenant_id: uuid.UUID | str) -> str:
    """The tenant's bundle (seed path). `tenant_id` may be a placeholder, for the docs."""
    return f"{public_url}/widget/{tenant_id}/widget.js"


def script_tag(public_url: str, tenant_id: uuid.UUID | str) -> str:
    """What a business pastes into its site: the bundle names the tenant and carries no key."""
    return f'<script src="{bundle_url(public_url, tenant_id)}" async></script>'


def loader_tag(public_url: str, key: str, position: str) -> str:
    return (
        f'<script src="{public_url}/widget/loader.js" data-widget-key="{key}" '
        f'data-position="{position}" async></script>'
    )


def new_key_value() -> str:
    # 24 random bytes are 32 url-safe characters.
    return KEY_PREFIX + secrets.token_urlsafe(24)


def _set_origins(key: WidgetKey, origins: list[str]) -> None:
    key.origins = [WidgetKeyOrigin(origin=o) for o in normalize_origins(origins)]


async def create_primary_key(*, session: AsyncSession, tenant_id: uuid.UUID) -> WidgetKey:
    """Every tenant starts with one key and an empty allow-list, which allows nothing."""
    key = WidgetKey(tenant_id=tenant_id, key=new_key_value(), label="Primary", is_primary=True)
    key.origins = []
    session.add(key)
    await session.flush()
    return key


async def list_keys(*, session: AsyncSession, tenant_id: uuid.UUID) -> list[WidgetKey]:
    rows = await session.scalars(
        select(WidgetKey)
        .where(WidgetKey.tenant_id == tenant_id)
        .order_by(WidgetKey.is_primary.desc(), WidgetKey.created_at, WidgetKey.id)
    )
    return list(rows)


async def get_key(*, session: AsyncSession, tenant_id: uuid.UUID, key_id: uuid.UUID) -> WidgetKey:
    key = await session.scalar(
        select(WidgetKey).where(WidgetKey.id == key_id, WidgetKey.tenant_id == tenant_id)
    )
    if key is None:
        raise NotFound(f"no widget key {key_id}")
    return key


async def primary_key(*, session: AsyncSession, tenant_id: uuid.UUID) -> WidgetKey | None:
    return await session.scalar(
        select(WidgetKey).where(
            WidgetKey.tenant_id == tenant_id,
            WidgetKey.is_primary.is_(True),
            WidgetKey.status == "active",
        )
    )


async def create_key(
    *,
    session: AsyncSession,
    tenant_id: uuid.UUID,
    actor: Actor,
    label: str,
    allowed_origins: list[str],
) -> WidgetKey:
    has_primary = await primary_key(session=session, tenant_id=tenant_id) is not None
    key = WidgetKey(
        tenant_id=tenant_id, key=new_key_value(), label=label.strip(), is_primary=not has_primary
    )
    _set_origins(key, allowed_origins)
    session.add(key)
    await session.flush()
    await audit.record(
        session,
        tenant_id,
        actor,
        "widget.key_created",
        target=("widget_key", key.id),
        data={"label": key.label, "allowed_origins": key.allowed_origins},
    )
    return key


async def update_key(
    *,
    session: AsyncSession,
    tenant_id: uuid.UUID,
    actor: Actor,
    key_id: uuid.UUID,
    label: str | None,
    allowed_origins: list[str] | None,
) -> WidgetKey:
    key = await get_key(session=session, tenant_id=tenant_id, key_id=key_id)
    if key.status != "active":
        raise Conflict("this key is revoked; create a new one", code="key_revoked")
    changes: dict[str, object] = {}
    if label is not None and label.strip() != key.label:
        changes["label"] = [key.label, label.strip()]
        key.label = label.strip()
    if allowed_origins is not None:
        before = key.allowed_origins
        wanted = normalize_origins(allowed_origins)
        if wanted != before:
            # Replace the rows in place so the unique (key, origin) pair never collides.
            kept = [o for o in key.origins if o.origin in wanted]
            added = [WidgetKeyOrigin(origin=o) for o in wanted if o not in before]
            # Sorted like a fresh load (the relationship's order_by), so the reply matches GET.
            key.origins = sorted(kept + added, key=lambda o: o.origin)
            changes["allowed_origins"] = [before, wanted]
    if changes:
        await session.flush()
        await audit.record(
            session,
            tenant_id,
            actor,
            "widget.key_updated",
            target=("widget_key", key.id),
            data=changes,
        )
    return key


async def rotate_key(
    *,
    session: AsyncSession,
    tenant: Tenant,
    actor: Actor,
    key_id: uuid.UUID,
) -> WidgetKey:
    """A new secret value for the same key and allow-list; the old value stops working now."""
    key = await get_key(session=session, tenant_id=tenant.id, key_id=key_id)
    if key.status != "active":
        raise Conflict("this key is revoked; create a new one", code="key_revoked")
    key.key = new_key_value()
    key.rotated_at = utcnow()
    await session.flush()
    await audit.record(
        session, tenant.id, actor, "widget.key_rotated", target=("widget_key", key.id)
    )
    await outbox.emit(
        session=session,
        tenant=tenant,
        type="widget.key_rotated",
        data={"widget_key": {"id": str(key.id), "label": key.label, "is_primary": key.is_primary}},
    )
    return key


async def revoke_key(
    *,
    session: AsyncSession,
    tenant_id: uuid.UUID,
    actor: Actor,
    key_id: uuid.UUID,
) -> WidgetKey:
    key = await get_key(session=session, tenant_id=tenant_id, key_id=key_id)
    if key.is_primary and key.status == "active":
        raise Conflict(
            "the primary key serves the site's widget bundle; rotate it instead of revoking it",
            code="primary_key",
        )
    if key.status == "revoked":
        return key
    key.status = "revoked"
    key.revoked_at = utcnow()
    await session.flush()
    await audit.record(
        session, tenant_id, actor, "widget.key_revoked", target=("widget_key", key.id)
    )
    return key


@dataclass(frozen=True)
class WidgetAccess:
    key: WidgetKey
    tenant: Tenant


async def resolve_key(*, session: AsyncSession, value: str | None) -> WidgetAccess:
    """The active key and its tenant, or 401 (no/unknown/revoked key) or 403 (suspended)."""
    if not value:
        raise Unauthorized("send the site's widget key in the X-Widget-Key header")
    row = (
        await session.execute(
            select(WidgetKey, Tenant)
            .join(Tenant, Tenant.id == WidgetKey.tenant_id)
            .where(WidgetKey.key == value, WidgetKey.status == "active")
        )
    ).first()
    if row is None:
        raise Unauthorized("this widget key is unknown or revoked", code="invalid_widget_key")
    key, tenant = row
    return WidgetAccess(key, tenant.ensure_serving())


def key_allows(key: WidgetKey, origin: str | None) -> bool:
    if origin is None:
        return False
    allowed = set(key.allowed_origins)
    return any(pattern in allowed for pattern in patterns_matching(origin))


async def any_key_allows(*, session: AsyncSession, origin: str | None) -> bool:
    """For preflights, which carry no key: does some active key of an active tenant allow it?"""
    if origin is None:
        return False
    query = select(
        exists()
        .where(WidgetKeyOrigin.origin.in_(patterns_matching(origin)))
        .where(WidgetKey.id == WidgetKeyOrigin.key_id, WidgetKey.status == "active")
        .where(Tenant.id == WidgetKey.tenant_id, Tenant.status == TenantStatus.ACTIVE)
    )
    return bool(await session.scalar(query))


# ---- appearance and behaviour ------------------------------------------------------------

WIDGET_LANGUAGES = ("en", "pt", "es", "fr", "de", "it", "nl", "pl", "ja")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class Appearance:
    position: str
    color: str
    launcher_label: str | None
    open_on_load: bool
    language: str
    greeting: dict[str, str]


def _appearance(row: WidgetSettings | None) -> Appearance:
    if row is None:
        return Appearance("bottom-right", "#0b5cad", None, False, "auto", {})
    return Appearance(
        row.position,
        row.color,
        row.launcher_label,
        row.open_on_load,
        row.language,
        dict(row.greeting or {}),
    )


async def get_appearance(*, session: AsyncSession, tenant_id: uuid.UUID) -> Appearance:
    return _appearance(await session.get(WidgetSettings, tenant_id))


def _check_appearance(changes: dict[str, Any]) -> dict[str, Any]:
    for name in ("position", "color", "language", "open_on_load"):
        if name in changes and changes[name] is None:
            raise ValidationFailed(f"{name}: must not be null; omit it to keep the current value")
    if "position" in changes and changes["position"] not in ("bottom-right", "bottom-left"):
        raise ValidationFailed("position: must be bottom-right or bottom-left")
    if "color" in changes:
        if not isinstance(changes["color"], str) or not _COLOR.match(changes["color"]):
            raise ValidationFailed("color: must be a hex colour like #0b5cad")
        changes["color"] = changes["color"].lower()
    if "language" in changes and changes["language"] not in ("auto", *WIDGET_LANGUAGES):
        raise ValidationFailed(f"language: must be auto or one of {', '.join(WIDGET_LANGUAGES)}")
    if "launcher_label" in changes and changes["launcher_label"] is not None:
        label = str(changes["launcher_label"]).strip()
        if len(label) > 40:
            raise ValidationFailed("launcher_label: at most 40 characters")
        changes["launcher_label"] = label or None
    if "greeting" in changes:
        greeting = changes["greeting"] or {}  # null clears every greeting
        unknown = sorted(set(greeting) - set(WIDGET_LANGUAGES))
        if unknown:
            raise ValidationFailed(f"greeting: unknown language {', '.join(unknown)}")
        changes["greeting"] = {k: v.strip() for k, v in greeting.items() if v and v.strip()}
    return changes


async def update_appearance(
    *,
    session: AsyncSession,
    tenant_id: uuid.UUID,
    actor: Actor,
    changes: dict[str, Any],
) -> Appearance:
    changes = _check_appearance(dict(changes))
    row = await session.get(WidgetSettings, tenant_id)
    if row is None:
        row = WidgetSettings(tenant_id=tenant_id)
        session.add(row)
        await session.flush()
    before = _appearance(row)
    changed = {k: v for k, v in changes.items() if getattr(before, k) != v}
    for key, value in changed.items():
        setattr(row, key, value)
    if changed:
        await session.flush()
        await audit.record(
            session,
            tenant_id,
            actor,
            "widget.settings_updated",
            target=("widget", tenant_id),
            data={k: [getattr(before, k), v] for k, v in changed.items()},
        )
    return _appearance(row)
