"""Running Alembic from code: `bob migrate`, `bob serve` and the tests use these."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from bob.settings import Settings

MIGRATIONS_DIR = Path(__file__).parent.parent / "migrations"


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Leave out what the migrations manage by hand: the SQLite FTS5 tables, and PostgreSQL's
    generated search_vector column and its GIN index."""
    if type_ == "table" and name is not None and name.startswith("knowledge_fts"):
        return False
    if type_ == "column" and name == "search_vector":
        return False
    return not (type_ == "index" and name == "ix_knowledge_chunks_search")


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["settings"] = settings
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings), revision)


def downgrade(settings: Settings, revision: str) -> None:
    command.downgrade(alembic_config(settings), revision)


def head_revisions(settings: Settings) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(settings)).get_heads())


def current_revisions(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())
