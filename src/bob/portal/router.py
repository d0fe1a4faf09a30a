"""Server-rendered pages that need no login: the invite page where a new member sets a password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from bob.auth import passwords
from bob.deps import SessionDep, SettingsDep, client_ip, request_id
from bob.errors import BobError
from bob.tenants import service as tenants

router = APIRouter(include_in_schema=False)


def _render(request: Request, status: int, **context: object) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "invite.html",
        {"min_length": passwords.MIN_PASSWORD_LENGTH, **context},
        status_code=status,
        # The token is in the URL: keep it out of Referer headers and caches.
        headers={"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"},
    )


@router.get("/invite/{token}")
async def invite_page(request: Request, token: str) -> HTMLResponse:
    return _render(request, 200, token=token)


@router.post("/invite/{token}")
async def accept_invite_form(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    password: Annotated[str, Form(max_length=passwords.MAX_PASSWORD_LENGTH)],
    name: Annotated[str, Form(max_length=200)] = "",
) -> HTMLResponse:
    try:
        user = await tenants.accept_invite(
            session=session,
            settings=settings,
            token=token,
            password=password,
            name=name or None,
            ip=client_ip(request),
            request_id=request_id(request),
        )
    except BobError as exc:
        return _render(request, exc.status_code, token=token, error=exc.message)
    return _render(request, 200, done=True, email=user.email)
