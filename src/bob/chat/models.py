from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bob.db.base import Base, Timestamps, UUIDPrimaryKey
from bob.db.types import utcnow


class Channel(enum.StrEnum):
    PUBLIC = "public"  # door 1: anonymous, on Bob's own origin
    WIDGET = "widget"  # door 2: the embedded widget on a tenant's site
    CONSOLE = "console"  # door 3: authenticated callers


class ConversationStatus(enum.StrEnum):
    BOT = "bot"
    PENDING_HUMAN = "pending_human"
    HUMAN = "human"
    CLOSED = "closed"


class Role(enum.StrEnum):
    VISITOR = "visitor"
    ASSISTANT = "assistant"
    OPERATOR = "operator"
    SYSTEM = "system"


class Conversation(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "conversations"
    __table_args__ = (
        # A client's session id means something only inside its tenant.
        UniqueConstraint("tenant_id", "session_id"),
        Index("ix_conversations_tenant_id_status", "tenant_id", "status"),
        Index("ix_conversations_tenant_id_last_message_at", "tenant_id", "last_message_at"),
        # Dashboards count conversations by the day they started.
        Index("ix_conversations_tenant_id_created_at", "tenant_id", "created_at"),
        CheckConstraint("channel IN ('public', 'widget', 'console')", name="channel"),
        CheckConstraint("status IN ('bot', 'pending_human', 'human', 'closed')", name="status"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    session_id: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=ConversationStatus.BOT)
    # Only the hash: the token itself is the visitor's proof of ownership.
    visitor_token_hash: Mapped[str | None] = mapped_column(String(64))
    persona_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("personas.id", ondelete="SET NULL")
    )
    assigned_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    language: Mapped[str] = mapped_column(String(16), default="en")
    origin: Mapped[str | None] = mapped_column(String(300))
    visitor: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    handoff_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class Message(UUIDPrimaryKey, Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation_id_created_at", "conversation_id", "created_at"),
        CheckConstraint("role IN ('visitor', 'assistant', 'operator', 'system')", name="role"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    handoff: Mapped[bool] = mapped_column(default=False)
    engine: Mapped[str | None] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(String(200))
    latency_ms: Mapped[int | None]
    prompt_tokens: Mapped[int | None]
    completion_tokens: Mapped[int | None]
    credits_used: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
