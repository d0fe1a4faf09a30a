"""Mission Control: the live feed of conversations across every tenant, newest first.

The page shows the latest events; the stream (server-sent events from the events table, see
`bob.web.live`) adds each new one as it commits. What a message said is not part of the feed:
it shows that conversations happen, where and how they end, not what visitors wrote.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import Response

from bob.admin import service as admin
from bob.auth import service as auth
from bob.auth.cookies import SESSION_COOKIE
from bob.auth.permissions import Permission
from bob.deps import SessionDep, get_database
from bob.errors import BobError
from bob.events import outbox
from bob.events.models import Event
from bob.web import live
from bob.web.page import N_, MissionControlPage, Page

router = APIRouter(include_in_schema=False)
Reader = Annotated[Page, MissionControlPage(Permission.PLATFORM_READ)]
TYPES = (
    "conversation.created",
    "message.created",
    "conversation.handoff_requested",
    "conversation.assigned",
    "conversation.closed",
)
RECENT = 30
CHANNELS = {"public": N_("Bob's website"), "widget": N_("Widget"), "console": N_("Console")}
MESSAGES = {
    "visitor": N_("The visitor wrote"),
    "assistant": N_("Bob replied"),
    "operator": N_("A team member replied"),
    "system": N_("System message"),
}
REASONS = {
    "visitor_request": N_("the visitor asked for a person"),
    "no_answer": N_("Bob had no answer"),
    "engine_failure": N_("the engine failed"),
    "credits": N_("out of credits"),
    "operator": N_("the team asked"),
}


def _part(value: Any, key: str) -> dict[str, Any]:
    found = value.get(key) if isinstance(value, dict) else None
    return found if isinstance(found, dict) else {}


def describe(page: Page, event: Event, tenant_name: str | None) -> dict[str, Any]:
    """One line of the feed, in the page's language: the same for the page and the stream."""
    data = _part(event.payload, "data")
    conversation = _part(data, "conversation")
    kind = event.type.split(".", 1)[-1]
    if event.type == "conversation.created":
        what = page.t("New conversation")
    elif event.type == "message.created":
        role = str(_part(data, "message").get("role", ""))
        what = page.t(MESSAGES.get(role, N_("New message")))
        kind = f"message-{role}" if role in MESSAGES else "message"
    elif event.type == "conversation.handoff_requested":
        reason = REASONS.get(str(data.get("reason")))
        what = (
            page.t("Handed to a person: {reason}", reason=page.t(reason))
            if reason
            else page.t("Handed to a person")
        )
    elif event.type == "conversation.assigned":
        what = page.t("Taken by a team member")
    else:
        what = page.t("Closed")
    channel = CHANNELS.get(str(conversation.get("channel")))
    at: datetime = event.created_at
    return {
        "id": str(event.id),
        "type": event.type,
        "kind": kind,
        "at": at.isoformat(),
        "when": page.translator.when(at),
        "tenant_id": str(event.tenant_id),
        "tenant": tenant_name or str(data.get("business_id") or event.tenant_id),
        "what": what,
        "channel": page.t(channel) if channel else "",
        "conversation": str(conversation.get("id") or "")[:8],
    }


async def _recent(page: Page, session: SessionDep) -> list[dict[str, Any]]:
    events = await admin.recent_events(session=session, types=TYPES, limit=RECENT)
    names = await admin.tenant_names(session=session, tenant_ids={e.tenant_id for e in events})
    return [describe(page, e, names.get(e.tenant_id)) for e in events]


@router.get("/mission-control/live")
async def live_page(page: Reader, session: SessionDep) -> Response:
    return page.render("admin/live.html", items=await _recent(page, session), types=TYPES)


@router.get("/mission-control/live/recent")
async def recent(page: Reader, session: SessionDep) -> Response:
    """The latest lines alone: the script merges them in whenever the stream (re)connects."""
    return page.render("admin/_feed_items.html", items=await _recent(page, session))


@router.get("/mission-control/live/events")
async def events(page: Reader) -> Response:
    db = get_database(page.request)
    token = page.request.cookies.get(SESSION_COOKIE, "")
    names: dict[uuid.UUID, str] = {}

    async def present(event: Event) -> dict[str, Any]:
        if event.tenant_id not in names:
            async with db.transaction() as session:
                names.update(
                    await admin.tenant_names(session=session, tenant_ids={event.tenant_id})
                )
        return describe(page, event, names.get(event.tenant_id))

    async def still_allowed() -> bool:
        try:
            async with db.transaction() as session:
                await auth.resolve_token(session=session, settings=page.settings, token=token)
        except BobError:
            return False
        return True

    return live.stream(
        live.follow(
            page.request,
            read=outbox.reader(db, tenant_id=None, types=TYPES),
            present=present,
            still_allowed=still_allowed,
        )
    )
