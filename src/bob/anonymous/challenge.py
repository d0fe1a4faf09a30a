"""Proof-of-work challenges for the anonymous doors: ALTCHA v2 challenges, issued and checked here.

A challenge is signed with a key derived from the installation secret and names its tenant and
door, so one issued for another business, or for the other door, does not pass. A solution is
accepted once: the challenge's signature is remembered in the rate limiter's storage (Redis when
configured, so every process sees it) until the challenge expires.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

import altcha
from limits.aio.storage import Storage

from bob.errors import Forbidden
from bob.settings import Settings, derive_key

Door = Literal["public", "widget"]
HEADER = "X-Altcha"
ALGORITHM = "SHA-256"
COST = 1
# 16 bits: about 65,000 SHA-256 digests on average, a second or two in a browser, milliseconds
# in a native loop. It prices scripted conversation starts; the ceilings are the hard bound.
KEY_PREFIX = "0000"
# Long enough for a widget that solves on page load to still hold a valid solution when the
# visitor writes; an expired one is fetched again.
TTL_S = 15 * 60
# A real payload is about 600 characters; anything much longer is not one.
MAX_PAYLOAD = 4096
_USED = "altcha-used"


def _key(settings: Settings) -> bytes:
    return derive_key(settings.secret, "altcha")


def _data(tenant_id: uuid.UUID, door: Door) -> dict[str, str]:
    return {"tenant": str(tenant_id), "door": door}


def issue(*, settings: Settings, tenant_id: uuid.UUID, door: Door) -> dict[str, Any]:
    """A fresh signed challenge, as ALTCHA's clients expect it: `{parameters, signature}`."""
    challenge = altcha.create_challenge(
        ALGORITHM,
        COST,
        key_prefix=KEY_PREFIX,
        expires_at=int(time.time()) + TTL_S,
        data=_data(tenant_id, door),
        hmac_secret=_key(settings),
    )
    issued: dict[str, Any] = challenge.to_dict()
    return issued


def _refused(reason: str, *, door: Door, code: str = "challenge_invalid") -> Forbidden:
    where = "/api/widget/challenge" if door == "widget" else "/api/chat/challenge"
    return Forbidden(
        f"{reason}; this business asks a new conversation to solve a challenge first: "
        f"GET {where}, solve it and send the solution as the {HEADER} header",
        code=code,
    )


async def verify(
    *,
    settings: Settings,
    storage: Storage,
    tenant_id: uuid.UUID,
    door: Door,
    payload: str | None,
) -> None:
    """Accept a solved challenge of this tenant and door once; refuse with 403 otherwise."""
    if not payload:
        raise _refused("no challenge solution", door=door, code="challenge_required")
    if len(payload) > MAX_PAYLOAD:
        raise _refused(f"the {HEADER} header is too long to be a solution", door=door)
    try:
        parsed = altcha.Payload.from_base64(payload)
        result = altcha.verify_solution(parsed, _key(settings))
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise _refused(f"the {HEADER} header is not a challenge solution", door=door) from None
    if result.expired:
        raise _refused("the challenge expired", door=door)
    if not result.verified:
        raise _refused("the challenge solution is not valid", door=door)
    parameters = parsed.challenge.parameters
    if parameters.data != _data(tenant_id, door):
        raise _refused("the challenge was issued for another business or door", door=door)
    expires_at = parameters.expires_at if isinstance(parameters.expires_at, int) else 0
    keep = max(1, expires_at - int(time.time()) + 1)
    # One atomic increment: of two requests racing with one solution, exactly one sees 1.
    uses = await storage.incr(f"{_USED}/{parsed.challenge.signature}", keep)
    if uses > 1:
        raise _refused("this challenge solution was used already", door=door, code="challenge_used")
