"""Request-scoped dependencies shared by every domain's router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from bob.db.session import Database
from bob.ratelimit import RateLimiter
from bob.settings import Settings


def get_database(request: Request) -> Database:
    """The installation's database, for handlers that run transactions of their own (streams,
    pages that answer before their work commits) rather than the request's one."""
    db: Database = request.app.state.db
    return db


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One unit of work per request: committed when the handler returns, rolled back on error."""
    async with get_database(request).transaction() as session:
        yield session


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def request_id(request: Request) -> str | None:
    value = request.scope.get("state", {}).get("request_id")
    return str(value) if value else None


def set_error_headers(request: Request, headers: dict[str, str]) -> None:
    """Headers every error answer to this request carries (the app's error handlers add them):
    a door whose caller is checked by origin makes its refusals readable by that origin."""
    request.state.error_headers = headers


def error_headers(request: Request) -> dict[str, str] | None:
    """What `set_error_headers` asked for; None when the request is not a door's."""
    headers: dict[str, str] | None = getattr(request.state, "error_headers", None)
    return headers


# "function" scope: the commit happens before the response is sent, so a failed commit
# is reported to the caller instead of being lost after a 200.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]
DatabaseDep = Annotated[Database, Depends(get_database)]
