"""Mission Control: the pages of the people who run this installation (platform admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response

from bob.auth import passwords
from bob.auth.permissions import Permission
from bob.deps import LimiterDep, SessionDep
from bob.portal.sessions import show_login, submit_login, submit_logout
from bob.portal.web import MISSION_CONTROL, MissionControlPage, Page, public_page

router = APIRouter(include_in_schema=False)
LoginPage = public_page(MISSION_CONTROL)


@router.get("/mission-control/login")
async def login_page(page: Annotated[Page, LoginPage], next: str | None = None) -> Response:
    return show_login(page, MISSION_CONTROL, next_path=next)


@router.post("/mission-control/login")
async def login_submit(
    page: Annotated[Page, LoginPage],
    session: SessionDep,
    limiter: LimiterDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=passwords.MAX_PASSWORD_LENGTH)] = "",
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    return await submit_login(
        page=page,
        area=MISSION_CONTROL,
        session=session,
        limiter=limiter,
        email=email,
        password=password,
        next_path=next,
    )


@router.post("/mission-control/logout")
async def logout(page: Annotated[Page, MissionControlPage()], session: SessionDep) -> Response:
    return await submit_logout(page=page, area=MISSION_CONTROL, session=session)


@router.get("/mission-control")
async def overview(
    page: Annotated[Page, MissionControlPage(Permission.PLATFORM_READ)], session: SessionDep
) -> Response:
    return page.render("admin/overview.html")
