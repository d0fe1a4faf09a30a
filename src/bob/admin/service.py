"""Mission Control's own reads: recent conversation events across tenants, tenant names for the
live feed, and what the answer engines have been doing (from stored replies, never by calling a
provider)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bob.chat.models import Message, Role
from bob.engines.models import TenantEngineSettings
from bob.events.models import Event
from bob.tenants.models import Tenant

HANDOFF = "conversation.handoff_requested"


async def tenant_names(
    *, session: AsyncSession, tenant_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, str]:
    if not tenant_ids:
        return {}
    rows = await session.execute(
        select(Tenant.id, Tenant.name).where(Tenant.id.in_(list(tenant_ids)))
    )
    return {row[0]: row[1] for row in rows}


async def recent_events(
    *, session: AsyncSession, types: Collection[str], limit: int
) -> list[Event]:
    """The newest events of these types across every tenant, newest first."""
    rows = await session.scalars(
        select(Event)
        .where(Event.type.in_(list(types)))
        .order_by(Event.created_at.desc(), Event.id.desc())
        .limit(limit)
    )
    return list(rows)


@dataclass(frozen=True)
class EngineActivity:
    engine: str
    model: str | None
    replies: int
    average_latency_ms: int | None
    last_reply_at: datetime | None


async def engine_activity(*, session: AsyncSession, since: datetime) -> list[EngineActivity]:
    """Replies an engine produced since `since`, per engine and model."""
    count = func.count().label("replies")
    rows = await session.execute(
        select(
            Message.engine,
            Message.model,
            count,
            func.avg(Message.latency_ms),
            func.max(Message.created_at),
        )
        .where(
            Message.role == Role.ASSISTANT,
            Message.engine.is_not(None),
            Message.created_at >= since,
        )
        .group_by(Message.engine, Message.model)
        .order_by(count.desc(), Message.engine)
    )
    return [
        EngineActivity(
            engine=str(engine),
            model=model,
            replies=int(replies),
            average_latency_ms=round(float(latency)) if latency is not None else None,
            last_reply_at=last,
        )
        for engine, model, replies, latency, last in rows
    ]


async def handoffs_by_reason(*, session: AsyncSession, since: datetime) -> dict[str, int]:
    """Conversations handed to a person since `since`, by the reason the event gives
    (`engine_failure` is an engine that errored or timed out)."""
    payloads = await session.scalars(
        select(Event.payload).where(Event.type == HANDOFF, Event.created_at >= since)
    )
    counts: dict[str, int] = {}
    for payload in payloads:
        data = payload.get("data") if isinstance(payload, dict) else None
        reason = data.get("reason") if isinstance(data, dict) else None
        key = str(reason or "unknown")
        counts[key] = counts.get(key, 0) + 1
    return counts


@dataclass(frozen=True)
class EngineOverrides:
    engine: str | None  # None: the tenant keeps the installation's engine, with its own model
    tenants: int
    own_endpoint: int
    own_key: int


async def engine_overrides(*, session: AsyncSession) -> list[EngineOverrides]:
    """Tenants that chose their own engine, model, endpoint or key (never the keys)."""
    rows = await session.execute(
        select(
            TenantEngineSettings.engine,
            func.count(),
            func.count(TenantEngineSettings.base_url),
            func.count(TenantEngineSettings.api_key_encrypted),
        )
        .where(
            (TenantEngineSettings.engine.is_not(None))
            | (TenantEngineSettings.model.is_not(None))
            | (TenantEngineSettings.base_url.is_not(None))
            | (TenantEngineSettings.api_key_encrypted.is_not(None))
        )
        .group_by(TenantEngineSettings.engine)
        .order_by(TenantEngineSettings.engine)
    )
    return [
        EngineOverrides(engine, int(n), int(endpoint), int(key))
        for engine, n, endpoint, key in rows
    ]
