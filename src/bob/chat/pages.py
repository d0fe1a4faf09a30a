"""Customer Portal pages: the operator console. The live list of conversations, one
conversation's transcript, and the actions on it (take over, reply, return to Bob, close).

Reading needs chat.read and acting chat.manage, as in the API. The pages follow the tenant's
conversation events over SSE and fetch fresh fragments of themselves when something changes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query
from fastapi.responses import Response

from bob.auth import service as auth
from bob.auth.cookies import SESSION_COOKIE
from bob.auth.permissions import Permission, permissions_for
from bob.chat import conversations
from bob.chat import service as chat
from bob.chat.models import Channel, Conversation, ConversationStatus, Message, Role
from bob.chat.service import Preview
from bob.deps import SessionDep, get_database
from bob.engines.base import PersonaView
from bob.errors import BobError, NotFound, ValidationFailed
from bob.events import outbox
from bob.governance.guardrails import MAX_MESSAGE_CHARS
from bob.knowledge import pages as knowledge_pages
from bob.knowledge.pages import engine_name
from bob.pagination import Cursor
from bob.personas import pages as persona_pages
from bob.text import search
from bob.web import live
from bob.web.page import N_, Page, PortalPage, attempt
from bob.widget.service import WIDGET_LANGUAGES

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25
BASE = "/portal/conversations"
# Every change to a conversation writes one of these.
LIVE_TYPES = (
    "conversation.created",
    "message.created",
    "conversation.handoff_requested",
    "conversation.assigned",
    "conversation.closed",
    "conversation.returned_to_bot",
)
S = ConversationStatus
StatusFilter = Literal["all", "pending_human", "human", "bot", "closed"]
TABS: tuple[tuple[StatusFilter, str], ...] = (
    ("all", N_("All")),
    ("pending_human", N_("Waiting for a person")),
    ("human", N_("With a person")),
    ("bot", N_("With Bob")),
    ("closed", N_("Closed")),
)
STATUS_LABELS = {
    S.PENDING_HUMAN: N_("Waiting for a person"),
    S.HUMAN: N_("With a person"),
    S.BOT: N_("With Bob"),
    S.CLOSED: N_("Closed"),
}
STATUS_BADGES = {S.PENDING_HUMAN: "warn", S.HUMAN: "human", S.BOT: "ok", S.CLOSED: ""}
CHANNEL_LABELS = {
    Channel.WIDGET: N_("Website widget"),
    Channel.PUBLIC: N_("Bob's website"),
    Channel.CONSOLE: N_("API"),
}
ROLE_LABELS = {
    Role.VISITOR: N_("Visitor"),
    Role.ASSISTANT: N_("Bob"),
    Role.OPERATOR: N_("Team"),
    Role.SYSTEM: N_("System"),
}
ReaderPage = Annotated[Page, PortalPage(Permission.CHAT_READ)]
ManagerPage = Annotated[Page, PortalPage(Permission.CHAT_MANAGE)]


@dataclass(frozen=True)
class Row:
    conversation: Conversation
    label: str
    last: Message | None
    assignee: str | None


def visitor_label(page: Page, conversation: Conversation) -> str:
    """What the site told the widget about the visitor, else a short code of the session."""
    for key in ("name", "email"):
        value = conversation.visitor.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return page.t("Visitor {code}", code=conversation.session_id[-6:])


def _labels(page: Page) -> dict[str, Any]:
    return {
        "status_labels": {k: page.t(v) for k, v in STATUS_LABELS.items()},
        "status_badges": STATUS_BADGES,
        "channel_labels": {k: page.t(v) for k, v in CHANNEL_LABELS.items()},
        "role_labels": {k: page.t(v) for k, v in ROLE_LABELS.items()},
    }


# ---- the list -------------------------------------------------------------------------------


async def _list_context(
    page: Page, session: SessionDep, status: StatusFilter, cursor: str | None
) -> dict[str, Any]:
    tenant_id = page.principal_required.tenant_id
    result = await conversations.list_conversations(
        session=session,
        tenant_id=tenant_id,
        limit=PAGE_SIZE,
        cursor=Cursor.decode(cursor) if cursor else None,
        status=None if status == "all" else status,
    )
    last = await conversations.last_messages(
        session=session, conversation_ids=[c.id for c in result.items]
    )
    names = await conversations.user_names(
        session=session, user_ids=[c.assigned_user_id for c in result.items]
    )
    counts = await conversations.status_counts(session=session, tenant_id=tenant_id)
    rows = [
        Row(
            conversation=c,
            label=visitor_label(page, c),
            last=last.get(c.id),
            assignee=names.get(c.assigned_user_id) if c.assigned_user_id else None,
        )
        for c in result.items
    ]
    return {
        "rows": rows,
        "next_cursor": result.next_cursor,
        "shown_status": status,
        "tabs": [
            (key, page.t(label), sum(counts.values()) if key == "all" else counts.get(key, 0))
            for key, label in TABS
        ],
        **_labels(page),
    }


@router.get(BASE)
async def conversation_list(
    page: ReaderPage,
    session: SessionDep,
    status: Annotated[StatusFilter, Query()] = "all",
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    fragment: Annotated[Literal["list"] | None, Query()] = None,
) -> Response:
    context = await _list_context(page, session, status, cursor)
    if fragment:
        return page.render("portal/_conversation_list.html", **context)
    return page.render("portal/conversations.html", **context)


# ---- live updates ---------------------------------------------------------------------------


@router.get(f"{BASE}/events")
async def conversation_events(page: ReaderPage) -> Response:
    """The tenant's conversation events as SSE, for the console's own script."""
    principal = page.principal_required
    request = page.request
    login_id = principal.auth_session.id

    async def still_allowed() -> bool:
        token = request.cookies.get(SESSION_COOKIE) or ""
        db = get_database(request)
        try:
            async with db.transaction() as session:
                login = await auth.resolve_token(
                    session=session, settings=page.settings, token=token
                )
                role = login.user.role
        except BobError:
            return False
        return login.id == login_id and Permission.CHAT_READ in permissions_for(role)

    return live.stream(
        live.follow(
            request,
            read=outbox.reader(
                get_database(request), tenant_id=principal.tenant_id, types=LIVE_TYPES
            ),
            still_allowed=still_allowed,
        )
    )


# ---- one conversation -----------------------------------------------------------------------


async def _conversation_context(
    page: Page, session: SessionDep, conversation_id: uuid.UUID
) -> dict[str, Any]:
    conversation = await conversations.get_conversation(
        session=session,
        tenant_id=page.principal_required.tenant_id,
        conversation_id=conversation_id,
    )
    messages = await conversations.transcript(session=session, conversation=conversation)
    names = await conversations.author_names(session=session, messages=messages)
    assignees = await conversations.user_names(
        session=session, user_ids=[conversation.assigned_user_id]
    )
    me = page.principal_required.user.id
    return {
        "conversation": conversation,
        "label": visitor_label(page, conversation),
        "messages": messages,
        "names": names,
        "assignee": assignees.get(conversation.assigned_user_id)
        if conversation.assigned_user_id
        else None,
        "mine": conversation.assigned_user_id == me and conversation.status == S.HUMAN,
        "can_act": page.can(Permission.CHAT_MANAGE),
        "can_edit_knowledge": page.can(Permission.KNOWLEDGE_MANAGE),
        "base": f"{BASE}/{conversation.id}",
        "max_reply": MAX_MESSAGE_CHARS,
        "reply": "",
        "error": None,
        **_labels(page),
    }


async def _show(
    page: Page,
    session: SessionDep,
    conversation_id: uuid.UUID,
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    context = await _conversation_context(page, session, conversation_id)
    return page.render("portal/conversation.html", status=status, **{**context, **extra})


@router.get(BASE + "/{conversation_id}")
async def conversation_page(
    conversation_id: uuid.UUID,
    page: ReaderPage,
    session: SessionDep,
    fragment: Annotated[Literal["live"] | None, Query()] = None,
) -> Response:
    if fragment:
        context = await _conversation_context(page, session, conversation_id)
        return page.render("portal/_conversation_live.html", **context)
    return await _show(page, session, conversation_id)


async def _after(
    page: Page,
    session: SessionDep,
    conversation_id: uuid.UUID,
    result: object,
    notice: str,
    **form: Any,
) -> Response:
    """303 back to the conversation with `notice`, or the page again saying what was refused."""
    if isinstance(result, NotFound):
        raise result
    if isinstance(result, BobError):
        return await _show(
            page, session, conversation_id, status=result.status_code, error=result.message, **form
        )
    return page.redirect(f"{BASE}/{conversation_id}", notice=notice)


@router.post(BASE + "/{conversation_id}/take-over")
async def take_over(conversation_id: uuid.UUID, page: ManagerPage, session: SessionDep) -> Response:
    principal = page.principal_required
    result = await attempt(
        session,
        conversations.assign(
            session=session,
            tenant=principal.own_tenant,
            actor=principal.actor,
            conversation_id=conversation_id,
            user_id=principal.user.id,
        ),
    )
    notice = page.t("You have this conversation now. Bob stays quiet until you return it.")
    return await _after(page, session, conversation_id, result, notice)


@router.post(BASE + "/{conversation_id}/reply")
async def reply(
    conversation_id: uuid.UUID,
    page: ManagerPage,
    session: SessionDep,
    message: Annotated[str, Form(max_length=MAX_MESSAGE_CHARS * 4)] = "",
) -> Response:
    principal = page.principal_required
    if not message.strip():
        # The service refuses it too; checked here so the refusal reads in the page's language.
        return await _show(
            page,
            session,
            conversation_id,
            status=422,
            error=page.t("Write a reply before sending it."),
            reply=message,
        )
    result = await attempt(
        session,
        conversations.operator_reply(
            session=session,
            tenant=principal.own_tenant,
            actor=principal.actor,
            operator=principal.user,
            conversation_id=conversation_id,
            text=message,
        ),
    )
    notice = page.t("Reply sent.")
    return await _after(page, session, conversation_id, result, notice, reply=message)


@router.post(BASE + "/{conversation_id}/return-to-bot")
async def return_to_bot(
    conversation_id: uuid.UUID, page: ManagerPage, session: SessionDep
) -> Response:
    principal = page.principal_required
    result = await attempt(
        session,
        conversations.return_to_bot(
            session=session,
            tenant=principal.own_tenant,
            actor=principal.actor,
            conversation_id=conversation_id,
        ),
    )
    notice = page.t("Bob answers this conversation again.")
    return await _after(page, session, conversation_id, result, notice)


@router.post(BASE + "/{conversation_id}/close")
async def close(conversation_id: uuid.UUID, page: ManagerPage, session: SessionDep) -> Response:
    principal = page.principal_required
    result = await attempt(
        session,
        conversations.close(
            session=session,
            tenant=principal.own_tenant,
            actor=principal.actor,
            conversation_id=conversation_id,
        ),
    )
    notice = page.t("Conversation closed.")
    return await _after(page, session, conversation_id, result, notice)


# ---- previews: what Bob would answer, on the knowledge and persona pages ---------------------
# Served here because they run the chat pipeline, which stands on knowledge and personas.

KnowledgeManager = Annotated[Page, PortalPage(Permission.KNOWLEDGE_MANAGE)]
PersonaManager = Annotated[Page, PortalPage(Permission.PERSONA_MANAGE)]


def preview_language(page: Page) -> str:
    # The portal's language stands in for the visitor's browser when a question's is unclear.
    primary = page.language.split("-")[0]
    return primary if primary in WIDGET_LANGUAGES else "en"


async def _preview(
    page: Page, session: SessionDep, question: str, persona: PersonaView | None = None
) -> Preview | BobError:
    """Costs what a visitor's message costs, so the forms POST with their CSRF token."""
    # The preview runs its own transactions; the request's session stays unused until it is
    # done (on SQLite an open transaction would hold the write lock the charge needs).
    return await attempt(
        session,
        chat.preview_reply(
            db=get_database(page.request),
            settings=page.settings,
            tenant=page.principal_required.own_tenant,
            message=question,
            language=preview_language(page),
            persona=persona,
        ),
    )


@router.get("/portal/knowledge/preview")
async def knowledge_preview_page(page: KnowledgeManager, session: SessionDep) -> Response:
    return page.render(
        "portal/knowledge_preview.html",
        question="",
        preview=None,
        error=None,
        engine=await engine_name(page, session),
    )


@router.post("/portal/knowledge/preview")
async def knowledge_preview(
    page: KnowledgeManager,
    session: SessionDep,
    question: Annotated[str, Form(max_length=knowledge_pages.TEXT_LIMIT)] = "",
) -> Response:
    result = await _preview(page, session, question)
    refused = result if isinstance(result, BobError) else None
    return page.render(
        "portal/knowledge_preview.html",
        status=refused.status_code if refused else 200,
        question=question,
        preview=None if isinstance(result, BobError) else result,
        terms=search.query_terms(question),
        error=refused.message if refused else None,
        engine=await engine_name(page, session),
    )


@router.post("/portal/persona/preview")
async def persona_preview(
    page: PersonaManager,
    session: SessionDep,
    persona_id: Annotated[uuid.UUID | None, Form()] = None,
    name: Annotated[str, Form(max_length=persona_pages.TEXT_LIMIT)] = "",
    description: Annotated[str, Form(max_length=persona_pages.TEXT_LIMIT)] = "",
    tone: Annotated[str, Form(max_length=persona_pages.TEXT_LIMIT)] = "",
    system_prompt: Annotated[str, Form(max_length=persona_pages.TEXT_LIMIT)] = "",
    question: Annotated[str, Form(max_length=persona_pages.TEXT_LIMIT)] = "",
) -> Response:
    """A reply in the persona as the form has it now, saved or not; nothing is saved."""
    form = persona_pages.PersonaForm(name, description, tone, system_prompt)
    try:
        view = form.view()
    except ValidationFailed as exc:
        result: Preview | BobError = exc
    else:
        result = await _preview(page, session, question, persona=view)
    refused = result if isinstance(result, BobError) else None
    return await persona_pages.render(
        page,
        session,
        await persona_pages.load(page, session, persona_id),
        form=form,
        status=refused.status_code if refused else 200,
        question=question,
        preview=None if isinstance(result, BobError) else result,
        preview_error=refused.message if refused else None,
    )
