"""What every server-rendered page shares: who is looking, in which language, CSRF on forms,
rendering, flash notices after a redirect, and error pages.

A page handler declares its area and the permission of the API behind it:

    @router.get("/portal/knowledge")
    async def knowledge(page: Annotated[Page, PortalPage(Permission.KNOWLEDGE_MANAGE)]) -> Response:

The dependency sends logged-out visitors to the area's login page (303), answers 403 to the wrong
audience or a missing permission, and refuses an unsafe request whose form field `csrf_token`
(or header X-CSRF-Token, for the pages' own scripts) does not match the login session.
"""

from __future__ import annotations

import hmac
import json
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, unquote, urlencode, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from bob import __version__
from bob.auth import tokens
from bob.auth.cookies import CSRF_HEADER, SESSION_COOKIE
from bob.auth.deps import SAFE_METHODS, Principal, principal_for_token
from bob.auth.permissions import FRONT_OFFICE, Permission
from bob.deps import get_database
from bob.errors import BobError, Forbidden, Unauthorized
from bob.settings import Settings
from bob.web import i18n

T = TypeVar("T")
CSRF_FIELD = "csrf_token"
# Login and signup forms come before any session: a random token in a cookie, echoed by the form.
FORM_COOKIE = "bob_form"
FLASH_COOKIE = "bob_flash"


def N_(text: str) -> str:
    """Marks a text for the catalogs where it is translated later (at render time)."""
    return text


EXPIRED_FORM = N_("This form has expired or was not sent from Bob's page. Reload it and try again.")
PORTAL_IS_FOR_TEAMS = N_(
    "The Customer Portal is for a business's team; platform admins use Mission Control."
)
PAGE_PREFIXES = ("/portal", "/mission-control", "/docs", "/pt-BR/docs", "/ja/docs")


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str
    permission: Permission | None = None
    # A heading shown above the first item of a group.
    section: str | None = None


@dataclass(frozen=True)
class Area:
    name: str
    title: str
    home: str
    login_path: str
    for_platform_admins: bool
    nav: tuple[NavItem, ...]


P = Permission
PORTAL = Area(
    name="portal",
    title=N_("Customer Portal"),
    home="/portal",
    login_path="/portal/login",
    for_platform_admins=False,
    nav=(
        NavItem("/portal", N_("Dashboard"), P.ANALYTICS_READ),
        NavItem("/portal/conversations", N_("Conversations"), P.CHAT_READ),
        NavItem("/portal/knowledge", N_("Knowledge"), P.KNOWLEDGE_MANAGE),
        NavItem("/portal/persona", N_("Persona"), P.PERSONA_MANAGE),
        NavItem("/portal/widget", N_("Widget"), P.WIDGET_MANAGE),
        NavItem("/portal/webhooks", N_("Webhooks"), P.WEBHOOK_MANAGE),
        NavItem("/portal/team", N_("Team"), P.TEAM_MANAGE),
        NavItem("/portal/billing", N_("Billing"), P.BILLING_READ),
        NavItem("/portal/audit", N_("Audit log"), P.AUDIT_READ),
    ),
)
MISSION_CONTROL = Area(
    name="mission-control",
    title=N_("Mission Control"),
    home="/mission-control",
    login_path="/mission-control/login",
    for_platform_admins=True,
    nav=(
        NavItem("/mission-control", N_("Overview"), P.PLATFORM_READ),
        NavItem("/mission-control/tenants", N_("Tenants"), P.TENANTS_MANAGE),
        NavItem("/mission-control/pricebook", N_("Pricebook"), P.PRICEBOOK_MANAGE),
        NavItem("/mission-control/status", N_("System status"), P.PLATFORM_READ),
        NavItem("/mission-control/live", N_("Live feed"), P.PLATFORM_READ),
        # The platform's own front office: the Customer Portal's pages, for the platform tenant.
        NavItem("/portal/conversations", N_("Conversations"), P.CHAT_READ, N_("Front office")),
        NavItem("/portal/knowledge", N_("Knowledge"), P.KNOWLEDGE_MANAGE, N_("Front office")),
        NavItem("/portal/persona", N_("Persona"), P.PERSONA_MANAGE, N_("Front office")),
        NavItem("/portal/widget", N_("Widget"), P.WIDGET_MANAGE, N_("Front office")),
        NavItem("/portal/webhooks", N_("Webhooks"), P.WEBHOOK_MANAGE, N_("Front office")),
    ),
)
# Public pages (login, signup, the docs site) have an area with no navigation of its own.
PUBLIC = Area("public", "Bob", "/", "/portal/login", False, ())


# The Customer Portal's pages Mission Control reuses for the platform tenant: its navigation's
# front office. (The platform's dashboard and audit log are Mission Control's own pages.)
FRONT_OFFICE_PAGES = FRONT_OFFICE - {P.ANALYTICS_READ, P.AUDIT_READ}


class LoginRequired(Exception):
    """Raised by a page dependency; the app answers with a redirect to the area's login page."""

    def __init__(self, area: Area, next_path: str) -> None:
        self.area = area
        self.next_path = next_path

    def location(self) -> str:
        return f"{self.area.login_path}?{urlencode({'next': self.next_path})}"


def is_page_request(request: Request) -> bool:
    """Errors on these paths are answered with a page, not JSON."""
    path = request.url.path
    return path == "/" or path.startswith(PAGE_PREFIXES) or path.startswith("/invite/")


def safe_next(value: str | None, area: Area) -> str:
    """Only a path inside the area: `next` must never send a fresh login to another site."""
    if value and value.startswith(area.home) and not value.startswith("//") and "\\" not in value:
        return value
    return area.home


def language_of(request: Request) -> str:
    return (
        i18n.supported(request.query_params.get("lang"))
        or i18n.supported(request.cookies.get(i18n.LANG_COOKIE))
        or i18n.negotiate(request.headers.get("accept-language"))
    )


@dataclass
class Page:
    request: Request
    settings: Settings
    area: Area
    principal: Principal | None = None
    language: str = i18n.DEFAULT
    # The portal's banner when the period's credits are at or below the tenant's alert threshold.
    low_credits: CreditsNotice | None = None
    translator: i18n.Translator = field(init=False)

    def __post_init__(self) -> None:
        self.translator = i18n.Translator(self.language)
        self.request.state.page = self

    # ---- texts ---------------------------------------------------------------------------

    def t(self, text: str, /, **values: Any) -> str:
        return self.translator.gettext(text, **values)

    # ---- who ------------------------------------------------------------------------------

    @property
    def user(self) -> Any:
        return self.principal.user if self.principal else None

    @property
    def principal_required(self) -> Principal:
        if self.principal is None:  # only public pages lack one, and they never ask
            raise Unauthorized("log in first")
        return self.principal

    def can(self, permission: Permission) -> bool:
        return self.principal is not None and permission in self.principal.permissions

    @property
    def csrf_token(self) -> str:
        if self.principal is not None:
            return tokens.csrf_token(
                secret=self.settings.secret, session_id=self.principal.auth_session.id
            )
        token = self.request.cookies.get(FORM_COOKIE) or getattr(
            self.request.state, "new_form_token", None
        )
        if not token:
            token = secrets.token_urlsafe(24)
            self.request.state.new_form_token = token
        return str(token)

    def nav(self) -> list[NavItem]:
        return [n for n in self.area.nav if n.permission is None or self.can(n.permission)]

    def current_nav(self) -> str | None:
        """The nav entry the current path falls under (the longest matching prefix)."""
        path = self.request.url.path
        matches = [n.path for n in self.area.nav if path == n.path or path.startswith(n.path + "/")]
        return max(matches, key=len) if matches else None

    def language_url(self, language: str) -> str:
        params = dict(self.request.query_params)
        params["lang"] = language
        return f"{self.request.url.path}?{urlencode(params)}"

    # ---- responses -------------------------------------------------------------------------

    def render(self, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        templates: Jinja2Templates = self.request.app.state.templates
        flash = _read_flash(self.request)
        t = self.translator
        response = templates.TemplateResponse(
            self.request,
            template,
            {
                "page": self,
                "_": self.t,
                "lang": self.language,
                "languages": i18n.LANGUAGES,
                "area": self.area,
                "user": self.user,
                "csrf_token": self.csrf_token,
                "csrf_field": CSRF_FIELD,
                "Permission": Permission,
                "flash": flash,
                "version": __version__,
                "num": t.number,
                "pct": t.percent,
                "money": t.money,
                "when": t.when,
                "day": t.day,
                **context,
            },
            status_code=status,
            headers={"Cache-Control": "no-store"} if self.principal else None,
        )
        self._finish(response)
        if flash:
            response.delete_cookie(FLASH_COOKIE, path="/")
        return response

    def redirect(
        self, url: str, *, notice: str | None = None, error: str | None = None
    ) -> Response:
        response = RedirectResponse(url, status_code=303)
        if notice or error:
            value = json.dumps({"notice": notice, "error": error}, ensure_ascii=True)
            response.set_cookie(
                FLASH_COOKIE,
                quote(value),
                max_age=60,
                httponly=True,
                samesite="lax",
                secure=self.settings.secure_cookies,
                path="/",
            )
        self._finish(response)
        return response

    def _finish(self, response: Response) -> None:
        common: dict[str, Any] = {
            "samesite": "lax",
            "secure": self.settings.secure_cookies,
            "path": "/",
        }
        if i18n.supported(self.request.query_params.get("lang")):
            response.set_cookie(
                i18n.LANG_COOKIE, self.language, max_age=365 * 86400, httponly=True, **common
            )
        new_token = getattr(self.request.state, "new_form_token", None)
        if new_token:
            response.set_cookie(FORM_COOKIE, new_token, httponly=True, **common)


def _read_flash(request: Request) -> dict[str, str | None] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        value = json.loads(unquote(raw))
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    return {k: str(v) for k, v in value.items() if k in ("notice", "error") and v}


async def _presented_csrf(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def check_form_token(page: Page) -> None:
    """A public form (login, signup) must echo the random token its page set in a cookie."""
    presented = await _presented_csrf(page.request)
    expected = page.request.cookies.get(FORM_COOKIE)
    if not (presented and expected and hmac.compare_digest(presented, expected)):
        raise Forbidden(
            page.t(
                "This form has expired or was not sent from Bob's page. Reload it and try again."
            ),
            code="csrf_failed",
        )


async def _page_principal(request: Request, settings: Settings, area: Area) -> Principal:
    """The API's way of knowing a cookie session, with a visitor sent to log in instead of a 401.
    CSRF is checked by the area's dependency, against the form field as well as the header."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired(area, _next_of(request))
    try:
        return await principal_for_token(request, settings, token, "cookie")
    except Unauthorized:
        raise LoginRequired(area, _next_of(request)) from None


def _next_of(request: Request) -> str:
    if request.method in SAFE_METHODS:
        query = request.url.query
        return f"{request.url.path}?{query}" if query else request.url.path
    # A form sent after the login ended: come back to the page that showed it, not to a POST.
    return urlsplit(request.headers.get("referer") or "").path or request.url.path


class CreditsNotice(Protocol):
    """What the portal's banner says when AI credits run low (billing's LowCredits)."""

    remaining: int
    threshold: int


# Billing sits above the page framework, so the app (main.py) hands its lookup in: a tenant's
# credits when they are low, else None.
CreditsLookup = Callable[[AsyncSession, uuid.UUID], Awaitable[CreditsNotice | None]]


async def _low_credits(request: Request, tenant_id: uuid.UUID) -> CreditsNotice | None:
    lookup: CreditsLookup | None = getattr(request.app.state, "low_credits", None)
    if lookup is None:
        return None
    async with get_database(request).transaction() as session:
        return await lookup(session, tenant_id)


def _area_page(area: Area, permission: Permission | None) -> Any:
    async def dependency(request: Request) -> Page:
        settings: Settings = request.app.state.settings
        page = Page(request=request, settings=settings, area=area, language=language_of(request))
        page.principal = await _page_principal(request, settings, area)
        user = page.principal.user
        if area is PORTAL and user.is_platform_admin and permission in FRONT_OFFICE_PAGES:
            # The platform's own front office: a business's pages for the platform tenant,
            # framed by Mission Control (its navigation, its login and logout).
            page.area = MISSION_CONTROL
        elif user.is_platform_admin != area.for_platform_admins:
            raise Forbidden(
                page.t("Mission Control is for the people who run this installation.")
                if area.for_platform_admins
                else page.t(PORTAL_IS_FOR_TEAMS),
                code="wrong_area",
            )
        if permission is not None and permission not in page.principal.permissions:
            raise Forbidden(
                page.t(
                    "Your role ({role}) cannot open this page: "
                    "it needs the permission {permission}.",
                    role=user.role,
                    permission=permission.value,
                ),
                code="forbidden",
            )
        if request.method not in SAFE_METHODS and not tokens.csrf_matches(
            secret=settings.secret,
            session_id=page.principal.auth_session.id,
            presented=await _presented_csrf(request),
        ):
            raise Forbidden(
                page.t(EXPIRED_FORM),
                code="csrf_failed",
            )
        if area is PORTAL and request.method in SAFE_METHODS and user.tenant_id is not None:
            page.low_credits = await _low_credits(request, user.tenant_id)
        return page

    dependency.__name__ = f"{area.name.replace('-', '_')}_page"
    return dependency


@cache
def _cached_area_page(area_name: str, permission: Permission | None) -> Any:
    area = PORTAL if area_name == PORTAL.name else MISSION_CONTROL
    return _area_page(area, permission)


def area_page(area: Area, permission: Permission | None = None) -> Any:
    return Depends(_cached_area_page(area.name, permission))


def PortalPage(permission: Permission | None = None) -> Any:
    """`page: Annotated[Page, PortalPage(Permission.X)]`: a tenant user with permission X."""
    return Depends(_cached_area_page(PORTAL.name, permission))


def MissionControlPage(permission: Permission | None = None) -> Any:
    """`page: Annotated[Page, MissionControlPage(Permission.X)]`: a platform admin."""
    return Depends(_cached_area_page(MISSION_CONTROL.name, permission))


def public_page(area: Area = PUBLIC) -> Any:
    async def dependency(request: Request) -> Page:
        settings: Settings = request.app.state.settings
        return Page(request=request, settings=settings, area=area, language=language_of(request))

    return Depends(dependency)


PublicPage = public_page()


def validation_message(exc: ValidationError) -> str:
    """The first problem pydantic found, naming the field, for a form shown again."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"])
    return f"{field}: {first['msg']}"


async def attempt(session: AsyncSession, action: Awaitable[T]) -> T | BobError:
    """Run a service call for a form; on a refusal, undo whatever it flushed and return the error,
    so the handler can show the form again with the message (and nothing half-done is committed)."""
    try:
        return await action
    except BobError as exc:
        await session.rollback()
        return exc


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """The page for an error raised while serving a page (403, 404, a bad form)."""
    page: Page | None = getattr(request.state, "page", None)
    if page is None:
        settings: Settings = request.app.state.settings
        area = MISSION_CONTROL if request.url.path.startswith("/mission-control") else PORTAL
        if request.url.path.startswith(("/docs", "/pt-BR/docs", "/ja/docs")):
            area = PUBLIC
        page = Page(request=request, settings=settings, area=area, language=language_of(request))
    titles = {
        400: N_("That request was not right"),
        401: N_("Please log in"),
        403: N_("Not allowed"),
        404: N_("Not found"),
        409: N_("That conflicts with what is there"),
        413: N_("That is too large"),
        422: N_("Please check what you entered"),
        429: N_("Too many attempts"),
    }
    return page.render(
        "error.html",
        status=status,
        title=page.t(titles.get(status, N_("Something went wrong"))),
        message=message,
        status_code=status,
    )
