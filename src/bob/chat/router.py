"""The three chat doors and the operator console API.

Doors only decide which tenant, which channel and which conversation; everything else is the
pipeline in chat/service.py. The rules for origins and CORS are in docs/REQUEST_FLOWS.md.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from bob.anonymous import challenge
from bob.anonymous.schemas import ChallengeRead
from bob.auth.deps import OptionalPrincipal, Principal, Require, check_permission
from bob.auth.permissions import Permission
from bob.chat import admission, conversations
from bob.chat import service as chat
from bob.chat import visitor_cookie as visitor_cookies
from bob.chat.models import Channel, Conversation, Message
from bob.chat.schemas import (
    AssignRequest,
    ChatReplyRead,
    ConsoleMessage,
    ConversationDetail,
    ConversationPage,
    ConversationRead,
    HistoryRead,
    MessageRead,
    OperatorReply,
    PublicChatRequest,
    SessionCreate,
    SessionCreated,
    SourceRef,
    WidgetChatRequest,
)
from bob.deps import Caller, LimiterDep, SessionDep, SettingsDep, client_ip, get_database, lets_in
from bob.engines import phrases
from bob.errors import Forbidden, NotFound, Unauthorized, ValidationFailed, validation_problem
from bob.openapi import problems
from bob.pagination import PageDep
from bob.settings import Settings
from bob.tenants import service as tenants
from bob.tenants.models import Tenant
from bob.text.search import guess_language
from bob.widget import door
from bob.widget.door import WidgetCaller
from bob.widget.origins import request_origin

log = logging.getLogger("bob.chat")
router = APIRouter(tags=["chat"])
ChatManager = Annotated[Principal, Require(Permission.CHAT_MANAGE)]
ChatReader = Annotated[Principal, Require(Permission.CHAT_READ)]
REPLY_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "model": ChatReplyRead,
        "description": "The reply; with `Accept: text/event-stream` an SSE stream of `token`, "
        "`sources` and `done` (the same body) events, or `error`.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}
# What the anonymous doors refuse beyond their callers (which openapi.py infers only for logins).
DOOR_1_REFUSALS = problems(403, 404, 409)
DOOR_2_REFUSALS = problems(401, 403, 404, 409, 429)


def _language(request: Request, message: str) -> str:
    """The message's own language when it is clear, else the browser's preference, else en."""
    guessed = guess_language(message)
    if guessed is not None:
        return guessed
    header = request.headers.get("accept-language", "")
    first = header.split(",")[0].split(";")[0].strip()
    if first and first != "*":
        return phrases.language_of(first)
    return "en"


def _wants_stream(request: Request) -> bool:
    return "text/event-stream" in request.headers.get("accept", "")


def _sse(event: str, data: object) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def _respond(
    request: Request,
    settings: Settings,
    chat_input: chat.ChatInput,
    headers: dict[str, str],
    *,
    visitor_cookie: bool = False,
) -> Response:
    """Run the pipeline and answer as JSON or as an SSE stream."""
    db = get_database(request)
    plan = await chat.prepare(db=db, settings=settings, chat=chat_input)
    # Phase one has passed, so a presented token is this conversation's own: refreshing its
    # cookie keeps the conversations a visitor still uses among the ones the browser keeps.
    cookie_token = (plan.visitor_token or chat_input.visitor_token) if visitor_cookie else None

    def remember(answer: Response) -> Response:
        if cookie_token is not None:
            visitor_cookies.remember(
                answer,
                request=request,
                settings=settings,
                tenant_id=chat_input.tenant.id,
                session_id=plan.session_id,
                token=cookie_token,
            )
        return answer

    if not _wants_stream(request):
        reply = await chat.collect(db=db, settings=settings, plan=plan)
        return remember(JSONResponse(reply.body(), headers=headers))

    async def stream() -> AsyncIterator[str]:
        try:
            async for event in chat.run(db=db, settings=settings, plan=plan):
                if isinstance(event, chat.Token):
                    yield _sse("token", {"text": event.text})
                elif isinstance(event, chat.Sources):
                    yield _sse("sources", event.sources)
                else:
                    yield _sse("done", event.reply.body())
        except Exception:
            # The status line has gone out already; the stream itself must carry the failure.
            log.exception("chat stream failed")
            yield _sse(
                "error",
                {"code": "internal_error", "message": "the reply could not be completed"},
            )

    return remember(
        StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={**headers, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    )


# ---- door 1: Bob's own site -------------------------------------------------------------


def _own_origins(request: Request, settings: Settings) -> set[str | None]:
    own = {request_origin(settings.public_origin)}
    if not settings.is_production:
        # A developer may open the demo as localhost or 127.0.0.1 without setting
        # BOB_PUBLIC_URL; production answers only its configured public origin.
        own.add(request_origin(f"{request.url.scheme}://{request.headers.get('host', '')}"))
    return own


@lets_in(Caller("same_origin"))
def same_origin(request: Request, settings: SettingsDep) -> None:
    """Door 1 serves only pages of Bob's own site: a browser says so in Origin and
    Sec-Fetch-Site (a business's site uses the widget door and its key)."""
    refused = Forbidden(
        f"POST /api/chat only serves pages on {settings.public_origin}; a business's own "
        "website embeds the widget, which talks to /api/widget/chat with its widget key",
        code="cross_origin",
    )
    origin = request.headers.get("origin")
    if origin is not None and request_origin(origin) not in _own_origins(request, settings):
        raise refused
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise refused


SameOrigin = Depends(same_origin)


async def _public_tenant(request: Request, settings: Settings, business_id: str | None) -> Tenant:
    async with get_database(request).transaction() as session:
        tenant = await tenants.get_tenant_by_business_id(
            session=session, business_id=business_id or settings.platform_business_id
        )
    return tenant.ensure_serving()


@router.post(
    "/api/chat",
    responses={**REPLY_DOC, **DOOR_1_REFUSALS},
    summary="Door 1: anonymous chat on Bob's own site",
    dependencies=[SameOrigin],
)
async def public_chat(
    body: PublicChatRequest, request: Request, settings: SettingsDep, limiter: LimiterDep
) -> Response:
    headers = await limiter.consume(
        limiter.parse(settings.chat_limit_per_ip),
        "chat",
        "ip",
        client_ip(request) or "unknown",
        message="too many messages from this address; wait a moment",
    )
    tenant = await _public_tenant(request, settings, body.business_id)
    chat_input = chat.ChatInput(
        tenant=tenant,
        channel=Channel.PUBLIC,
        message=body.message,
        session_id=body.session_id,
        visitor_token=visitor_cookies.presented_token(
            request, tenant_id=tenant.id, session_id=body.session_id
        ),
        require_visitor_token=True,
        language=_language(request, body.message),
        origin=request_origin(request.headers.get("origin")),
    )
    await admission.admit(
        db=get_database(request),
        settings=settings,
        limiter=limiter,
        chat_input=chat_input,
        solution=request.headers.get("x-altcha"),
    )
    return await _respond(request, settings, chat_input, headers, visitor_cookie=True)


@router.get(
    "/api/chat/transcript",
    response_model=HistoryRead,
    responses=problems(403, 404),
    summary="Door 1: the visitor's own transcript (X-Visitor-Token or the visitor cookie), "
    "e.g. to see a person's reply",
    dependencies=[SameOrigin],
)
async def public_transcript(
    request: Request,
    response: Response,
    settings: SettingsDep,
    session_id: Annotated[str, Query(min_length=1, max_length=128)],
    business_id: Annotated[str | None, Query(max_length=63)] = None,
) -> HistoryRead:
    tenant = await _public_tenant(request, settings, business_id)
    async with get_database(request).transaction() as session:
        conversation = await conversations.get_by_session(
            session=session, tenant_id=tenant.id, session_id=session_id
        )
        if conversation.channel != Channel.PUBLIC:
            raise NotFound(f"no conversation with session_id {session_id!r}")
        token = visitor_cookies.presented_token(request, tenant_id=tenant.id, session_id=session_id)
        chat.check_visitor(conversation, token, required=True)
        # One visitor's transcript, chosen by a cookie: no cache may keep it for another.
        response.headers["Cache-Control"] = "private, no-store"
        return await _history(session, conversation, visitor_view=True)


@router.get(
    "/api/chat/challenge",
    response_model=ChallengeRead,
    responses=problems(403, 404),
    summary="Door 1: a proof-of-work challenge for a new conversation on Bob's own site",
)
async def public_challenge(
    request: Request,
    response: Response,
    settings: SettingsDep,
    business_id: Annotated[str | None, Query(max_length=63)] = None,
) -> ChallengeRead:
    tenant = await _public_tenant(request, settings, business_id)
    response.headers["Cache-Control"] = "no-store"
    return ChallengeRead(**challenge.issue(settings=settings, tenant_id=tenant.id, door="public"))


# ---- door 2: the widget on a business's site ----------------------------------------------


@router.options("/api/widget/chat", include_in_schema=False)
async def widget_chat_preflight(request: Request) -> Response:
    return await door.preflight(request)


@router.options("/api/widget/history", include_in_schema=False)
async def widget_history_preflight(request: Request) -> Response:
    return await door.preflight(request)


@router.options("/api/widget/challenge", include_in_schema=False)
async def widget_challenge_preflight(request: Request) -> Response:
    return await door.preflight(request)


@router.get(
    "/api/widget/challenge",
    response_model=ChallengeRead,
    responses=problems(401, 403),
    summary="Door 2: a proof-of-work challenge for a new widget conversation",
)
async def widget_challenge(caller: WidgetCaller, settings: SettingsDep) -> Response:
    issued = challenge.issue(settings=settings, tenant_id=caller.access.tenant.id, door="widget")
    return JSONResponse(issued, headers={**caller.cors, "Cache-Control": "no-store"})


@router.post(
    "/api/widget/chat",
    responses={**REPLY_DOC, **DOOR_2_REFUSALS},
    summary="Door 2: the embedded widget (X-Widget-Key, allowed Origin)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": WidgetChatRequest.model_json_schema()}},
        }
    },
)
async def widget_chat(
    request: Request, caller: WidgetCaller, settings: SettingsDep, limiter: LimiterDep
) -> Response:
    try:
        body = WidgetChatRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        # Parsed here rather than by FastAPI, after the caller is known, so the error carries
        # this origin's CORS headers; the widget door has always answered a malformed body
        # with 422.
        problem = validation_problem(exc.errors())
        raise ValidationFailed(problem.message, fields=problem.fields) from None
    per_ip = await limiter.consume(
        limiter.parse(settings.chat_limit_per_ip),
        "chat",
        "ip",
        client_ip(request) or "unknown",
        message="too many messages from this address; wait a moment",
    )
    per_key = await limiter.consume(
        limiter.parse(settings.widget_limit_per_key),
        "chat",
        "key",
        str(caller.access.key.id),
        message="this site's assistant is very busy; try again shortly",
    )
    # Report the limit this caller will meet first.
    headers = min(per_ip, per_key, key=lambda h: int(h["RateLimit-Remaining"]))
    chat_input = chat.ChatInput(
        tenant=caller.access.tenant,
        channel=Channel.WIDGET,
        message=body.message,
        session_id=body.session_id,
        visitor_token=request.headers.get("x-visitor-token"),
        require_visitor_token=True,
        language=_language(request, body.message),
        origin=caller.origin,
        visitor=dict(body.visitor or {}),
    )
    await admission.admit(
        db=get_database(request),
        settings=settings,
        limiter=limiter,
        chat_input=chat_input,
        solution=request.headers.get("x-altcha"),
    )
    return await _respond(request, settings, chat_input, {**headers, **caller.cors})


@router.get(
    "/api/widget/history",
    response_model=HistoryRead,
    responses=problems(401, 403, 404),
    summary="The widget's transcript",
)
async def widget_history(
    caller: WidgetCaller,
    session_id: Annotated[str, Query(min_length=1, max_length=128)],
    request: Request,
) -> Response:
    tenant = caller.access.tenant
    async with get_database(request).transaction() as session:
        conversation = await conversations.get_by_session(
            session=session, tenant_id=tenant.id, session_id=session_id
        )
        if conversation.channel != Channel.WIDGET:
            raise NotFound(f"no conversation with session_id {session_id!r}")
        token = request.headers.get("x-visitor-token")
        chat.check_visitor(conversation, token, required=True)
        history = await _history(session, conversation, visitor_view=True)
    return JSONResponse(history.model_dump(mode="json"), headers=caller.cors)


# ---- door 3: authenticated callers ----------------------------------------------------------


DOOR_3_LOGIN = (
    "door 3 is for logged-in callers: send 'Authorization: Bearer <token>' (from POST "
    "/api/auth/login or POST /api/customers/auth/login) or the session cookie with its "
    "X-CSRF-Token header. From a public page use POST /api/chat (pages on Bob's own site) or "
    "POST /api/widget/chat (the widget on a business's site) instead"
)


@lets_in(Caller("permission", Permission.CHAT_MANAGE.value))
async def door_3_caller(principal: OptionalPrincipal) -> Principal:
    """A login holding chat.manage; an anonymous caller is told which door is theirs."""
    if principal is None:
        raise Unauthorized(DOOR_3_LOGIN)
    check_permission(principal, Permission.CHAT_MANAGE)
    return principal


Door3Caller = Annotated[Principal, Depends(door_3_caller)]


async def _door_3_tenant(
    session: AsyncSession, principal: Principal, business_id: str | None
) -> tuple[Tenant, bool]:
    """The tenant of the login, or for a platform admin the business whose Bob they try (a
    preview, charged to no one). The second value says which."""
    own = principal.own_tenant
    if business_id is None or business_id == own.business_id:
        return own, False
    if not principal.is_platform_admin:
        raise Forbidden(
            "business_id is for platform admins trying a business's Bob; your calls act for "
            "your own business (leave it out)"
        )
    tenant = await tenants.get_tenant_by_business_id(session=session, business_id=business_id)
    return tenant.ensure_serving(), True


@router.post("/api/chat/session", status_code=status.HTTP_201_CREATED, responses=problems(404))
async def create_session(
    body: SessionCreate, request: Request, principal: Door3Caller, session: SessionDep
) -> SessionCreated:
    tenant, preview = await _door_3_tenant(session, principal, body.business_id)
    conversation = await conversations.start_console_session(
        session=session,
        tenant=tenant,
        visitor=body.visitor or {},
        metadata=body.metadata or {},
        language=_language(request, ""),
        preview_for=principal if preview else None,
    )
    return SessionCreated(session_id=conversation.session_id)


@router.post(
    "/api/chat/message",
    # 404: the conversation was deleted while the reply was being made.
    responses={**REPLY_DOC, **problems(404, 409)},
    summary="Door 3: authenticated chat",
)
async def console_message(
    body: ConsoleMessage, request: Request, principal: Door3Caller, settings: SettingsDep
) -> Response:
    async with get_database(request).transaction() as session:
        tenant, preview = await _door_3_tenant(session, principal, body.business_id)
        if preview:
            # Only a conversation opened as a preview is one: it carries the note and the audit.
            await conversations.get_preview(
                session=session, tenant_id=tenant.id, session_id=body.session_id
            )
    chat_input = chat.ChatInput(
        tenant=tenant,
        channel=Channel.CONSOLE,
        message=body.message,
        session_id=body.session_id,
        language=_language(request, body.message),
        free=preview,
    )
    return await _respond(request, settings, chat_input, {})


async def _history(
    session: Any, conversation: Conversation, *, visitor_view: bool = False
) -> HistoryRead:
    messages = await conversations.transcript(
        session=session, conversation=conversation, include_system=not visitor_view
    )
    names = await conversations.author_names(session=session, messages=messages)
    return HistoryRead(
        session_id=conversation.session_id,
        conversation_status=conversation.status,
        messages=[_message(m, names) for m in messages],
    )


def _message(message: Message, names: dict[uuid.UUID, str]) -> MessageRead:
    return MessageRead(
        id=message.id,
        role=message.role,
        content=message.content,
        sources=[SourceRef(**s) for s in message.sources],
        author_name=names.get(message.author_user_id) if message.author_user_id else None,
        created_at=message.created_at,
    )


@router.get("/api/chat/history/{session_id}", responses=problems(403, 404))
async def chat_history(
    session_id: str,
    principal: ChatReader,
    session: SessionDep,
    business_id: Annotated[str | None, Query(min_length=1, max_length=63)] = None,
) -> HistoryRead:
    """`business_id`: a platform admin reading a preview they opened with that business."""
    tenant, preview = await _door_3_tenant(session, principal, business_id)
    find = conversations.get_preview if preview else conversations.get_by_session
    conversation = await find(session=session, tenant_id=tenant.id, session_id=session_id)
    return await _history(session, conversation)


# ---- operator console -----------------------------------------------------------------------


def _conversation(conversation: Conversation, last: Message | None = None) -> ConversationRead:
    return ConversationRead(
        id=conversation.id,
        session_id=conversation.session_id,
        channel=conversation.channel,
        status=conversation.status,
        language=conversation.language,
        assigned_user_id=conversation.assigned_user_id,
        origin=conversation.origin,
        created_at=conversation.created_at,
        last_message_at=conversation.last_message_at,
        handoff_at=conversation.handoff_at,
        closed_at=conversation.closed_at,
        last_message=_message(last, {}) if last is not None else None,
    )


async def _detail(session: Any, conversation: Conversation) -> ConversationDetail:
    messages = await conversations.transcript(session=session, conversation=conversation)
    names = await conversations.author_names(session=session, messages=messages)
    base = _conversation(conversation)
    return ConversationDetail(
        **base.model_dump(),
        visitor=conversation.visitor,
        metadata=conversation.metadata_,
        messages=[_message(m, names) for m in messages],
    )


@router.get("/api/conversations", tags=["conversations"])
async def list_conversations(
    principal: ChatManager,
    session: SessionDep,
    page: PageDep,
    status_filter: Annotated[
        Literal["bot", "pending_human", "human", "closed"] | None, Query(alias="status")
    ] = None,
    channel: Annotated[Literal["public", "widget", "console"] | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> ConversationPage:
    result = await conversations.list_conversations(
        session=session,
        tenant_id=principal.tenant_id,
        limit=page.limit,
        cursor=page.cursor,
        status=status_filter,
        channel=channel,
        q=q,
    )
    last = await conversations.last_messages(
        session=session, conversation_ids=[c.id for c in result.items]
    )
    return ConversationPage(
        items=[_conversation(c, last.get(c.id)) for c in result.items],
        next_cursor=result.next_cursor,
    )


@router.get("/api/conversations/{conversation_id}", tags=["conversations"])
async def get_conversation(
    conversation_id: uuid.UUID, principal: ChatManager, session: SessionDep
) -> ConversationDetail:
    conversation = await conversations.get_conversation(
        session=session, tenant_id=principal.tenant_id, conversation_id=conversation_id
    )
    return await _detail(session, conversation)


@router.post("/api/conversations/{conversation_id}/reply", tags=["conversations"])
async def reply(
    conversation_id: uuid.UUID,
    body: OperatorReply,
    principal: ChatManager,
    session: SessionDep,
) -> ConversationDetail:
    await conversations.operator_reply(
        session=session,
        tenant=principal.own_tenant,
        actor=principal.actor,
        operator=principal.user,
        conversation_id=conversation_id,
        text=body.message,
    )
    conversation = await conversations.get_conversation(
        session=session, tenant_id=principal.tenant_id, conversation_id=conversation_id
    )
    return await _detail(session, conversation)


@router.post("/api/conversations/{conversation_id}/assign", tags=["conversations"])
async def assign(
    conversation_id: uuid.UUID,
    body: AssignRequest,
    principal: ChatManager,
    session: SessionDep,
) -> ConversationRead:
    conversation = await conversations.assign(
        session=session,
        tenant=principal.own_tenant,
        actor=principal.actor,
        conversation_id=conversation_id,
        user_id=body.user_id,
    )
    return _conversation(conversation)


@router.post("/api/conversations/{conversation_id}/handoff", tags=["conversations"])
async def handoff(
    conversation_id: uuid.UUID,
    principal: ChatManager,
    session: SessionDep,
) -> ConversationRead:
    conversation = await conversations.request_handoff(
        session=session,
        tenant=principal.own_tenant,
        actor=principal.actor,
        conversation_id=conversation_id,
    )
    return _conversation(conversation)


@router.post("/api/conversations/{conversation_id}/close", tags=["conversations"])
async def close(
    conversation_id: uuid.UUID,
    principal: ChatManager,
    session: SessionDep,
) -> ConversationRead:
    conversation = await conversations.close(
        session=session,
        tenant=principal.own_tenant,
        actor=principal.actor,
        conversation_id=conversation_id,
    )
    return _conversation(conversation)


@router.post(
    "/api/conversations/{conversation_id}/return-to-bot",
    tags=["conversations"],
    responses=problems(409),
)
async def return_to_bot(
    conversation_id: uuid.UUID,
    principal: ChatManager,
    session: SessionDep,
) -> ConversationRead:
    conversation = await conversations.return_to_bot(
        session=session,
        tenant=principal.own_tenant,
        actor=principal.actor,
        conversation_id=conversation_id,
    )
    return _conversation(conversation)
