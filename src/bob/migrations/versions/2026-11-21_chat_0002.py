"""chat: personas, knowledge with full-text search, widget keys, conversations, messages, events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 05:54:13.044172
"""

import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_events_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_tenant_id_created_at", ["tenant_id", "created_at"], unique=False
        )

    op.create_table(
        "knowledge_items",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("source_url", sa.String(length=2000), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_knowledge_items_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_items")),
    )
    with op.batch_alter_table("knowledge_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_knowledge_items_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "personas",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("tone", sa.String(length=200), nullable=False),
        sa.Column("system_prompt", sa.Text(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_personas_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personas")),
    )
    with op.batch_alter_table("personas", schema=None) as batch_op:
        batch_op.create_index(
            "ix_personas_one_default",
            ["tenant_id"],
            unique=True,
            sqlite_where=sa.text("is_default"),
            postgresql_where=sa.text("is_default"),
        )
        batch_op.create_index(batch_op.f("ix_personas_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "tenant_engine_settings",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("engine", sa.String(length=32), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("base_url", sa.String(length=500), nullable=True),
        sa.Column("api_key_encrypted", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_tenant_engine_settings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenant_engine_settings")),
    )
    op.create_table(
        "widget_keys",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("status IN ('active', 'revoked')", name=op.f("ck_widget_keys_status")),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_widget_keys_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_widget_keys")),
        sa.UniqueConstraint("key", name=op.f("uq_widget_keys_key")),
    )
    with op.batch_alter_table("widget_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_widget_keys_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "conversations",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("visitor_token_hash", sa.String(length=64), nullable=True),
        sa.Column("persona_id", sa.Uuid(), nullable=True),
        sa.Column("assigned_user_id", sa.Uuid(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("origin", sa.String(length=300), nullable=True),
        sa.Column("visitor", sa.JSON(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handoff_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel IN ('public', 'widget', 'console')", name=op.f("ck_conversations_channel")
        ),
        sa.CheckConstraint(
            "status IN ('bot', 'pending_human', 'human', 'closed')",
            name=op.f("ck_conversations_status"),
        ),
        sa.ForeignKeyConstraint(
            ["assigned_user_id"],
            ["users.id"],
            name=op.f("fk_conversations_assigned_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["persona_id"],
            ["personas.id"],
            name=op.f("fk_conversations_persona_id_personas"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_conversations_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint(
            "tenant_id", "session_id", name=op.f("uq_conversations_tenant_id_session_id")
        ),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_conversations_tenant_id_last_message_at",
            ["tenant_id", "last_message_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_conversations_tenant_id_status", ["tenant_id", "status"], unique=False
        )

    op.create_table(
        "knowledge_chunks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["knowledge_items.id"],
            name=op.f("fk_knowledge_chunks_item_id_knowledge_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_knowledge_chunks_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_chunks")),
    )
    with op.batch_alter_table("knowledge_chunks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_knowledge_chunks_item_id_ordinal", ["item_id", "ordinal"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_knowledge_chunks_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "widget_key_origins",
        sa.Column("key_id", sa.Uuid(), nullable=False),
        sa.Column("origin", sa.String(length=300), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["widget_keys.id"],
            name=op.f("fk_widget_key_origins_key_id_widget_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_widget_key_origins")),
        sa.UniqueConstraint("key_id", "origin", name=op.f("uq_widget_key_origins_key_id_origin")),
    )
    with op.batch_alter_table("widget_key_origins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_widget_key_origins_origin"), ["origin"], unique=False)

    op.create_table(
        "messages",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("author_user_id", sa.Uuid(), nullable=True),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("handoff", sa.Boolean(), nullable=False),
        sa.Column("engine", sa.String(length=32), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("credits_used", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "role IN ('visitor', 'assistant', 'operator', 'system')", name=op.f("ck_messages_role")
        ),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["users.id"],
            name=op.f("fk_messages_author_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_messages_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_messages_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_conversation_id_created_at",
            ["conversation_id", "created_at"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_messages_tenant_id"), ["tenant_id"], unique=False)

    _create_search_index()
    _give_existing_tenants_defaults()


def downgrade() -> None:
    _drop_search_index()
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_tenant_id"))
        batch_op.drop_index("ix_messages_conversation_id_created_at")

    op.drop_table("messages")
    with op.batch_alter_table("widget_key_origins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_widget_key_origins_origin"))

    op.drop_table("widget_key_origins")
    with op.batch_alter_table("knowledge_chunks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_knowledge_chunks_tenant_id"))
        batch_op.drop_index("ix_knowledge_chunks_item_id_ordinal")

    op.drop_table("knowledge_chunks")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_tenant_id_status")
        batch_op.drop_index("ix_conversations_tenant_id_last_message_at")

    op.drop_table("conversations")
    with op.batch_alter_table("widget_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_widget_keys_tenant_id"))

    op.drop_table("widget_keys")
    op.drop_table("tenant_engine_settings")
    with op.batch_alter_table("personas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_personas_tenant_id"))
        batch_op.drop_index(
            "ix_personas_one_default",
            sqlite_where=sa.text("is_default"),
            postgresql_where=sa.text("is_default"),
        )

    op.drop_table("personas")
    with op.batch_alter_table("knowledge_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_knowledge_items_tenant_id"))

    op.drop_table("knowledge_items")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_tenant_id_created_at")

    op.drop_table("events")


# Full-text search over knowledge_chunks.search_text, which holds tokens Bob has already
# normalised (lowercase, accents folded, CJK as character bigrams), so both engines index
# plain space-separated words.
_SQLITE_TRIGGERS = {
    "knowledge_fts_insert": """
        CREATE TRIGGER knowledge_fts_insert AFTER INSERT ON knowledge_chunks BEGIN
          INSERT INTO knowledge_fts(rowid, search_text, tenant_id)
          VALUES (new.id, new.search_text, new.tenant_id);
        END""",
    "knowledge_fts_delete": """
        CREATE TRIGGER knowledge_fts_delete AFTER DELETE ON knowledge_chunks BEGIN
          INSERT INTO knowledge_fts(knowledge_fts, rowid, search_text, tenant_id)
          VALUES ('delete', old.id, old.search_text, old.tenant_id);
        END""",
    "knowledge_fts_update": """
        CREATE TRIGGER knowledge_fts_update AFTER UPDATE ON knowledge_chunks BEGIN
          INSERT INTO knowledge_fts(knowledge_fts, rowid, search_text, tenant_id)
          VALUES ('delete', old.id, old.search_text, old.tenant_id);
          INSERT INTO knowledge_fts(rowid, search_text, tenant_id)
          VALUES (new.id, new.search_text, new.tenant_id);
        END""",
}


def _create_search_index() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE knowledge_fts USING fts5("
            "search_text, tenant_id UNINDEXED, content='knowledge_chunks', content_rowid='id', "
            "tokenize='unicode61 remove_diacritics 2')"
        )
        for statement in _SQLITE_TRIGGERS.values():
            op.execute(statement)
    else:
        op.execute(
            "CREATE INDEX ix_knowledge_chunks_search ON knowledge_chunks "
            "USING gin (to_tsvector('simple', search_text))"
        )


def _drop_search_index() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS knowledge_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_knowledge_chunks_search")


def _give_existing_tenants_defaults() -> None:
    """Tenants made before this revision get what new ones get: a persona and a widget key."""
    bind = op.get_bind()
    now = datetime.now(UTC)
    tenants = sa.table("tenants", sa.column("id", sa.Uuid()))
    tenant_ids = [row[0] for row in bind.execute(sa.select(tenants.c.id))]
    personas = sa.table(
        "personas",
        sa.column("id", sa.Uuid()),
        sa.column("tenant_id", sa.Uuid()),
        *(sa.column(c, sa.String()) for c in ("name", "description", "tone", "system_prompt")),
        sa.column("is_default", sa.Boolean()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    keys = sa.table(
        "widget_keys",
        sa.column("id", sa.Uuid()),
        sa.column("tenant_id", sa.Uuid()),
        *(sa.column(c, sa.String()) for c in ("key", "label", "status")),
        sa.column("is_primary", sa.Boolean()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    for tenant_id in tenant_ids:
        op.execute(
            personas.insert().values(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                name="Bob",
                description="The front-office assistant.",
                tone="friendly and concise",
                system_prompt=(
                    "You are the front-office assistant of this business. Answer visitors' "
                    "questions from the business's own information, briefly and warmly. When "
                    "you do not know, say so and offer to connect the visitor with a person "
                    "from the team."
                ),
                is_default=True,
                created_at=now,
                updated_at=now,
            )
        )
        op.execute(
            keys.insert().values(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                key="pk_live_" + secrets.token_urlsafe(24),
                label="Primary",
                is_primary=True,
                status="active",
                created_at=now,
            )
        )
