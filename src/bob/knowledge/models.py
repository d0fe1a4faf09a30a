from __future__ import annotations

import uuid

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bob.db.base import Base, Timestamps, UUIDPrimaryKey


class KnowledgeItem(UUIDPrimaryKey, Timestamps, Base):
    """One piece of a tenant's own content: a page, an FAQ answer, a policy."""

    __tablename__ = "knowledge_items"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    content: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    source_url: Mapped[str | None] = mapped_column(String(2000))

    chunks: Mapped[list[KnowledgeChunk]] = relationship(
        back_populates="item",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="KnowledgeChunk.ordinal",
    )


class KnowledgeChunk(Base):
    """A retrievable passage of an item. `search_text` holds its normalised search tokens.

    The integer id is the rowid of the SQLite FTS5 index; PostgreSQL indexes `search_text`
    with a GIN full-text index instead (both created by the migration).
    """

    __tablename__ = "knowledge_chunks"
    __table_args__ = (Index("ix_knowledge_chunks_item_id_ordinal", "item_id", "ordinal"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("knowledge_items.id", ondelete="CASCADE"))
    ordinal: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    search_text: Mapped[str] = mapped_column(Text)

    item: Mapped[KnowledgeItem] = relationship(back_populates="chunks")
