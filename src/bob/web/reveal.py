"""Values a page shows once, after the redirect that follows the form: a new signing secret, an
invite link.

The value waits in a cookie for at most two minutes, sealed with the installation secret, bound
to the login session and sent only to the one page that shows it. That page deletes it as it
shows it, so a reload shows it no more, and the browser never resubmits the form that made it.
"""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi.responses import Response

from bob.auth import tokens
from bob.web.page import Page

COOKIE = "bob_once"
TTL_SECONDS = 120
_PURPOSE = "portal-show-once"


def remember(page: Page, response: Response, path: str, **values: str | bool) -> None:
    """Have the page at `path` show `values` the next time it is opened (and only then)."""
    sealed = tokens.encrypt(
        page.settings.secret,
        _PURPOSE,
        json.dumps(
            {
                "session": str(page.principal_required.auth_session.id),
                "path": path,
                "until": time.time() + TTL_SECONDS,
                "values": values,
            }
        ),
    )
    response.set_cookie(
        COOKIE,
        sealed,
        max_age=TTL_SECONDS,
        path=path,
        httponly=True,
        samesite="strict",
        secure=page.settings.secure_cookies,
    )


def take(page: Page) -> dict[str, Any]:
    """What the current page was asked to show once; empty when nothing (or no longer)."""
    sealed = page.request.cookies.get(COOKIE)
    if not sealed or page.principal is None:
        return {}
    try:
        kept = json.loads(tokens.decrypt(page.settings.secret, _PURPOSE, sealed))
    except (tokens.SecretUnreadable, ValueError):
        return {}
    if (
        not isinstance(kept, dict)
        or kept.get("session") != str(page.principal.auth_session.id)
        or kept.get("path") != page.request.url.path
        or not isinstance(kept.get("until"), int | float)
        or kept["until"] < time.time()
        or not isinstance(kept.get("values"), dict)
    ):
        return {}
    values: dict[str, Any] = kept["values"]
    return values


def forget(page: Page, response: Response) -> None:
    """Delete the cookie on the response that showed it."""
    if COOKIE in page.request.cookies:
        response.delete_cookie(
            COOKIE,
            path=page.request.url.path,
            httponly=True,
            samesite="strict",
            secure=page.settings.secure_cookies,
        )
