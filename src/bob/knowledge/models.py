from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bob.db.base import Base, Timestamps, UUIDPrimaryKey
from bob.db.types import utcnow


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
    """A retrievable passage of an item. `search_text` holds its search tokens, made by the
    analyser of its `language` (version `analyzer`, see text/search.py).

    The integer id is the rowid of the SQLite FTS5 index, which also indexes `tenant_id` so a
    search filters by tenant inside the index; on PostgreSQL a stored `search_vector` column
    (generated from `search_text`, not mapped here) has a GIN index. The migrations create both.
    """

    __tablename__ = "knowledge_chunks"
    __table_args__ = (
        Index("ix_knowledge_chunks_item_id_ordinal", "item_id", "ordinal"),
        Index("ix_knowledge_chunks_tenant_id_language", "tenant_id", "language"),
    )

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
    language: Mapped[str] = mapped_column(String(16), server_default="en")
    analyzer: Mapped[int] = mapped_column(SmallInteger, server_default="0")

    item: Mapped[KnowledgeItem] = relationship(back_populates="chunks")


class KnowledgeVector(Base):
    """A passage's embedding (and its units'), float16 little-endian, for search by meaning.
    `model` names the vector space: vectors of another model than the installation's are
    ignored and replaced."""

    __tablename__ = "knowledge_vectors"
    __table_args__ = (Index("ix_knowledge_vectors_tenant_id_model", "tenant_id", "model"),)

    chunk_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("knowledge_chunks.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(200))
    dim: Mapped[int]
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    # The passage's units (text/units.py split_units: sentences, list items, table rows),
    # each embedded, in order, `dim` float16 values each; None for a one-unit passage. They are
    # read only for the few passages a question retrieves, never loaded into the matrix.
    units: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KnowledgeVersion(Base):
    """Changes whenever the tenant's knowledge or its vectors change, in the same transaction,
    so every process can tell with one primary-key read whether its cached matrix is current."""

    __tablename__ = "knowledge_versions"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(BigInteger)
