"""Mission Control: system status. The database, the webhook worker's backlog and lag, delivery
failures, the answer engines, search by meaning and background jobs, and the version; the panel
refreshes itself every few seconds."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from bob import __version__, health
from bob.admin import service as admin
from bob.analytics import service as analytics
from bob.auth.permissions import Permission
from bob.db.session import Database
from bob.db.types import utcnow
from bob.deps import SessionDep, get_database
from bob.jobs import service as jobs
from bob.knowledge import embeddings
from bob.web.page import MissionControlPage, Page

router = APIRouter(include_in_schema=False)
Reader = Annotated[Page, MissionControlPage(Permission.PLATFORM_READ)]
PERIODS = (7, 30, 90)
DEFAULT_DAYS = 30
REFRESH_S = 5
DAY = timedelta(hours=24)


def period(days: int) -> int:
    return days if days in PERIODS else DEFAULT_DAYS


def _deliveries(counts: dict[str, int]) -> dict[str, Any]:
    ended = counts["succeeded"] + counts["failed"]
    return {**counts, "ended": ended, "failure_rate": counts["failed"] / ended if ended else 0.0}


def _backend(db: Database) -> str:
    dialect = db.engine.dialect
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    name = names.get(dialect.name, dialect.name)
    version = dialect.server_version_info
    if version:
        name += " " + ".".join(str(part) for part in version if isinstance(part, int))
    return f"{name} ({dialect.driver})"


async def status_context(page: Page, session: AsyncSession, days: int) -> dict[str, Any]:
    db = get_database(page.request)
    settings = page.settings
    now = utcnow()
    probe = await health.probe(db)
    last_day = analytics.Window(now - DAY, now, 1)
    window = analytics.Window.last_days(days, now)
    return {
        "probe": probe,
        "backend": _backend(db),
        "in_process_worker": settings.inprocess_worker,
        "day_deliveries": _deliveries(
            await analytics.delivery_counts(session=session, window=last_day)
        ),
        "period_deliveries": _deliveries(
            await analytics.delivery_counts(session=session, window=window)
        ),
        "days": days,
        "periods": PERIODS,
        "engine": settings.engine,
        "openai_host": urlsplit(settings.openai_base_url).netloc,
        "openai_model": settings.openai_model,
        "openai_key": settings.openai_api_key is not None,
        "openai_timeout": settings.openai_timeout_s,
        "activity": await admin.engine_activity(session=session, since=now - DAY),
        "handoffs": await admin.handoffs_by_reason(session=session, since=now - DAY),
        "overrides": await admin.engine_overrides(session=session),
        "embeddings": embeddings.status(settings),
        "jobs": await jobs.counts(session=session),
        "version": __version__,
        "environment": settings.env.value,
        "checked_at": now,
        "refresh_s": REFRESH_S,
    }


@router.get("/mission-control/status")
async def status_page(
    page: Reader, session: SessionDep, days: Annotated[int, Query()] = DEFAULT_DAYS
) -> Response:
    return page.render("admin/status.html", **await status_context(page, session, period(days)))


@router.get("/mission-control/status/panel")
async def status_panel(
    page: Reader, session: SessionDep, days: Annotated[int, Query()] = DEFAULT_DAYS
) -> Response:
    """The figures alone, for the page's script to swap in."""
    return page.render(
        "admin/_status_panel.html", **await status_context(page, session, period(days))
    )
