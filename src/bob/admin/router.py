"""Mission Control: the pages of the people who run this installation (platform admins only).

Log in and out, and the overview; each other area has a module of its own, included here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from bob.admin import feed, pricebook, status, tenants
from bob.analytics import reports
from bob.auth.permissions import Permission
from bob.billing import pricebook as pricebooks
from bob.deps import SessionDep
from bob.web.page import MISSION_CONTROL, MissionControlPage, Page
from bob.web.sessions import login_routes

router = APIRouter(include_in_schema=False)
for _area in (tenants, pricebook, status, feed):
    router.include_router(_area.router)
router.include_router(login_routes(MISSION_CONTROL))


@router.get("/mission-control")
async def overview(
    page: Annotated[Page, MissionControlPage(Permission.PLATFORM_READ)],
    session: SessionDep,
    days: Annotated[int, Query()] = status.DEFAULT_DAYS,
) -> Response:
    days = status.period(days)
    figures = await reports.overview(session, days)
    published = await pricebooks.published_version(session=session)
    t = page.translator
    return page.render(
        "admin/overview.html",
        o=figures,
        days=days,
        periods=status.PERIODS,
        plan_names={p["code"]: p["name"] for p in published.plans},
        conversation_rows=[
            (d.day[5:], d.conversations, t.number(d.conversations)) for d in figures.daily
        ],
        credit_rows=[(d.day[5:], d.credits, t.number(d.credits)) for d in figures.daily],
    )
