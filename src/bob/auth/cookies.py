"""The login session as cookies, for browsers: one HttpOnly cookie naming the server-side session,
and one the pages' own scripts read and echo in X-CSRF-Token. Set by the API's login and the
pages' login and signup alike, cleared by both logouts."""

from __future__ import annotations

from fastapi import Response

from bob.auth import service as auth
from bob.settings import Settings

SESSION_COOKIE = "bob_session"
CSRF_COOKIE = "bob_csrf"
CSRF_HEADER = "X-CSRF-Token"


def set_session_cookies(response: Response, settings: Settings, result: auth.LoginResult) -> None:
    common = {"max_age": result.expires_in, "samesite": "lax", "secure": settings.secure_cookies}
    response.set_cookie(SESSION_COOKIE, result.token, httponly=True, path="/", **common)  # type: ignore[arg-type]
    # Readable by the portal's own scripts, which echo it in X-CSRF-Token.
    if result.csrf_token:
        response.set_cookie(CSRF_COOKIE, result.csrf_token, httponly=False, path="/", **common)  # type: ignore[arg-type]


def clear_session_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
