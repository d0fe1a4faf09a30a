"""Request-scoped dependencies shared by every domain's router."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

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


@dataclass(frozen=True)
class Caller:
    """Who a route's dependency lets in, as the API's documentation says it: `optional` (a login
    if there is one), `login`, `permission` (a login whose role holds `permission`),
    `same_origin` (door 1: Bob's own pages) or `widget_key` (door 2: a key and its origins).
    openapi.py publishes it per operation as `x-bob-access`, and the API reference shows it."""

    kind: Literal["optional", "login", "permission", "same_origin", "widget_key"]
    permission: str | None = None


_CALLER = "__bob_caller__"
F = TypeVar("F", bound=Callable[..., Any])


def lets_in(caller: Caller) -> Callable[[F], F]:
    """Marks a dependency with the callers it lets in."""

    def mark(function: F) -> F:
        setattr(function, _CALLER, caller)
        return function

    return mark


def caller_of(dependency: Callable[..., Any]) -> Caller | None:
    found = getattr(dependency, _CALLER, None)
    return found if isinstance(found, Caller) else None


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
