"""The audit log: an append-only, per-tenant hash chain of every state change.

It sits below every domain (each one records its changes here) and knows none of them;
reading it over HTTP is governance's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bob.db.base import Base
from bob.db.session import AUDIT_PURPOSE, session_audit_key
from bob.db.types import utcnow
from bob.pagination import Cursor, Page
from bob.settings import Settings, derive_key

GENESIS_HASH = "0" * 64


class AuditEntry(Base):
    """Append-only. `hash` chains each entry to the previous one of the same tenant."""

    __tablename__ = "audit_log"
    __table_args__ = (UniqueConstraint("tenant_id", "seq"),)

    # SQLite only auto-increments an INTEGER PRIMARY KEY.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    seq: Mapped[int]
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None]
    actor_label: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The newest entry of each tenant's chain; locking this row serialises appends per tenant."""

    __tablename__ = "audit_heads"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(default=0)
    hash: Mapped[str] = mapped_column(String(64))


@dataclass(frozen=True)
class Actor:
    """Who did it, and from where: carried from the request (or CLI) into every audit entry."""

    type: Literal["user", "cli", "system"]
    label: str
    id: uuid.UUID | None = None
    ip: str | None = None
    request_id: str | None = None


CLI = Actor(type="cli", label="bob cli")
SYSTEM = Actor(type="system", label="bob")


def _canonical(entry: AuditEntry) -> bytes:
    body = {
        "tenant_id": str(entry.tenant_id),
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor_type": entry.actor_type,
        "actor_id": str(entry.actor_id) if entry.actor_id else None,
        "actor_label": entry.actor_label,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "data": entry.data,
        "ip": entry.ip,
        "request_id": entry.request_id,
        "prev_hash": entry.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(key: bytes, entry: AuditEntry) -> str:
    # Keyed with the installation secret: someone who can write to the database but does not
    # hold BOB_SECRET_KEY cannot rebuild a consistent chain after editing it.
    return hmac.new(key, _canonical(entry), hashlib.sha256).hexdigest()


async def start_chain(*, session: AsyncSession, tenant_id: uuid.UUID) -> None:
    session.add(AuditHead(tenant_id=tenant_id, seq=0, hash=GENESIS_HASH))
    await session.flush()


def audit_key(settings: Settings) -> bytes:
    """The chain is keyed with a key derived from the installation secret."""
    return derive_key(settings.secret, AUDIT_PURPOSE)


async def record(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    actor: Actor,
    action: str,
    *,
    target: tuple[str, uuid.UUID | str] | None = None,
    data: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append `action` by `actor` (on `target`: its kind and id) to the tenant's chain, in the
    caller's transaction. The key comes with the session (db/session.py), so no caller
    carries the installation's settings only to sign an entry."""
    # The head row lock (PostgreSQL) or the single SQLite writer keeps each chain linear
    # when two requests of one tenant write at the same time.
    head = (
        await session.execute(
            select(AuditHead).where(AuditHead.tenant_id == tenant_id).with_for_update()
        )
    ).scalar_one()
    entry = AuditEntry(
        tenant_id=tenant_id,
        seq=head.seq + 1,
        at=utcnow(),
        actor_type=actor.type,
        actor_id=actor.id,
        actor_label=actor.label,
        action=action,
        target_type=target[0] if target else None,
        target_id=str(target[1]) if target else None,
        data=dict(data or {}),
        ip=actor.ip,
        request_id=actor.request_id,
        prev_hash=head.hash,
    )
    entry.hash = entry_hash(session_audit_key(session), entry)
    head.seq, head.hash = entry.seq, entry.hash
    session.add(entry)
    await session.flush()
    return entry


async def list_entries(
    *,
    session: AsyncSession,
    tenant_id: uuid.UUID,
    limit: int,
    cursor: Cursor | None,
    action: str | None = None,
) -> Page[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.tenant_id == tenant_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if cursor is not None:
        query = query.where(AuditEntry.seq < cursor.as_int("seq"))
    rows = list(
        (await session.execute(query.order_by(AuditEntry.seq.desc()).limit(limit + 1))).scalars()
    )
    return Page.of(rows, limit=limit, cursor_for=lambda e: {"seq": e.seq})


@dataclass(frozen=True)
class ChainProblem:
    tenant_id: uuid.UUID
    seq: int | None
    reason: str


async def verify_chain(
    *, session: AsyncSession, key: bytes, tenant_id: uuid.UUID | None = None
) -> tuple[int, list[ChainProblem]]:
    """Recompute every chain (or one tenant's); returns entries checked and what is wrong."""
    heads_query = select(AuditHead)
    if tenant_id is not None:
        heads_query = heads_query.where(AuditHead.tenant_id == tenant_id)
    heads = list((await session.execute(heads_query)).scalars())
    problems: list[ChainProblem] = []
    checked = 0
    for head in heads:
        expected_seq, prev = 0, GENESIS_HASH
        entries = await session.stream_scalars(
            select(AuditEntry)
            .where(AuditEntry.tenant_id == head.tenant_id)
            .order_by(AuditEntry.seq)
            .execution_options(yield_per=500)
        )
        async for entry in entries:
            checked += 1
            expected_seq += 1
            if entry.seq != expected_seq:
                problems.append(
                    ChainProblem(head.tenant_id, entry.seq, f"expected entry {expected_seq} here")
                )
                expected_seq = entry.seq
            if entry.prev_hash != prev:
                problems.append(
                    ChainProblem(head.tenant_id, entry.seq, "does not link to the previous entry")
                )
            if not hmac.compare_digest(entry_hash(key, entry), entry.hash):
                problems.append(
                    ChainProblem(head.tenant_id, entry.seq, "content does not match its hash")
                )
            prev = entry.hash
        if (expected_seq, prev) != (head.seq, head.hash):
            problems.append(
                ChainProblem(
                    head.tenant_id, None, f"chain ends at {expected_seq} but head says {head.seq}"
                )
            )
    return checked, problems
