"""Every domain's tables in one metadata, for what needs them all at once: Alembic's environment
(bob/migrations) and the test that compares the models with the migrations. Nothing the app
runs imports this: each domain imports the models it uses, and `db/` knows none of them."""

from __future__ import annotations

import bob.anonymous.models
import bob.audit
import bob.auth.models
import bob.billing.models
import bob.chat.models
import bob.engines.models
import bob.events.models
import bob.jobs.models
import bob.knowledge.models
import bob.personas.models
import bob.tenants.models
import bob.widget.models  # noqa: F401
from bob.db.base import Base

metadata = Base.metadata
