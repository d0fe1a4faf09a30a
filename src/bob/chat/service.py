"""The one chat pipeline every door feeds.

resolve conversation → input checks → (a human has it: store and stop) → credits → knowledge
→ prompt → engine → output checks → store reply, usage and events → respond.

Reads happen in one short transaction and everything stored in another; the engine runs
between them, so no transaction (and on SQLite no write lock) is held while a model thinks.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bob.auth.tokens import hash_opaque_token
from bob.billing import metering
from bob.chat import lifecycle, person_requests
from bob.chat.models import Channel, Conversation, ConversationStatus, Message, Role
from bob.db.session import Database
from bob.db.types import utcnow
from bob.engines import phrases
from bob.engines import service as engines
from bob.engines.base import (
    Engine,
    EngineError,
    EngineRequest,
    EngineResult,
    PersonaView,
    TokenDelta,
    Turn,
    complete,
)
from bob.errors import Conflict, Forbidden, NotFound
from bob.governance import guardrails
from bob.knowledge import service as knowledge
from bob.knowledge import vectors
from bob.personas import service as personas
from bob.settings import Settings
from bob.tenants.models import Tenant
from bob.text import grounding
from bob.text.passage import Passage
from bob.text.search import guess_language

log = logging.getLogger("bob.chat")
HISTORY_TURNS = 10
PASSAGES = 5
# A question longer than this is embedded by its start; e5 reads at most 512 tokens anyway.
MAX_EMBEDDED = 2000


# ---- what flows out of the pipeline -------------------------------------------------------


@dataclass(frozen=True)
class ChatReply:
    """The reply body every door returns (API.md): one shape for JSON and for SSE `done`."""

    session_id: str
    conversation_id: uuid.UUID
    message_id: uuid.UUID
    reply: str | None
    persona_name: str
    handoff: bool
    sources: list[dict[str, str | None]]
    conversation_status: str
    credits_used: int
    visitor_token: str | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "session_id": self.session_id,
            "message_id": str(self.message_id),
            "reply": self.reply,
            "persona": {"name": self.persona_name},
            "handoff": self.handoff,
            "sources": self.sources,
            "conversation_status": self.conversation_status,
            "credits_used": self.credits_used,
        }
        if self.visitor_token is not None:
            body["visitor_token"] = self.visitor_token
        return body


@dataclass(frozen=True)
class Token:
    text: str


@dataclass(frozen=True)
class Sources:
    sources: list[dict[str, str | None]]


@dataclass(frozen=True)
class Done:
    reply: ChatReply


ChatEvent = Token | Sources | Done


# ---- what flows in ------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatInput:
    tenant: Tenant
    channel: Channel
    message: str
    session_id: str | None = None
    visitor_token: str | None = None
    # The anonymous doors insist on the token (door 1 also reads it from its visitor cookie) for
    # an existing conversation: knowing a session id is not enough to read or write one.
    require_visitor_token: bool = False
    language: str = "en"
    origin: str | None = None
    # A platform admin trying a business's Bob: the business is not charged for it.
    free: bool = False
    visitor: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Plan:
    """Everything phase one decided; phase two runs the engine and stores the outcome."""

    input: ChatInput
    message: str
    session_id: str
    conversation_id: uuid.UUID | None
    status: str
    language: str
    persona: PersonaView
    persona_id: uuid.UUID | None
    # None: a human has the conversation, store the visitor's message and stop.
    engine: Engine | None = None
    request: EngineRequest | None = None
    fixed_reply: str | None = None  # a sentence Bob says without the engine (handoff)
    handoff: bool = False
    handoff_reason: str | None = None
    # A new visitor conversation's token, made here rather than when it is stored so that a door
    # can hand it to the browser (a cookie) before a streamed reply starts.
    visitor_token: str | None = None


def _at_zero_reply(persona: PersonaView, language: str, at_zero: str) -> str:
    if at_zero == "message_only":
        return phrases.unavailable_message(persona, language)
    return phrases.handoff_message(persona, language)


def _out_of_credits(plan: _Plan, at_zero: str) -> str:
    plan.fixed_reply = _at_zero_reply(plan.persona, plan.language, at_zero)
    if at_zero == "message_only":
        plan.handoff, plan.handoff_reason = False, None
    else:
        plan.handoff, plan.handoff_reason = True, "credits"
    return plan.fixed_reply


def new_session_id() -> str:
    return "sess_" + secrets.token_urlsafe(16)


def _sources(passages: list[Passage]) -> list[dict[str, str | None]]:
    seen: dict[uuid.UUID, dict[str, str | None]] = {}
    for passage in passages:
        seen.setdefault(
            passage.item_id,
            {"title": passage.title, "id": str(passage.item_id), "source_url": passage.source_url},
        )
    return list(seen.values())


def _persona_view(persona: Any) -> PersonaView:
    if persona is None:
        return PersonaView(name="Bob")
    return PersonaView(
        name=persona.name,
        description=persona.description,
        tone=persona.tone,
        system_prompt=persona.system_prompt,
    )


async def find_conversation(
    *, session: AsyncSession, tenant_id: uuid.UUID, session_id: str
) -> Conversation | None:
    return await session.scalar(
        select(Conversation).where(
            Conversation.tenant_id == tenant_id, Conversation.session_id == session_id
        )
    )


def check_visitor(conversation: Conversation, presented: str | None, *, required: bool) -> None:
    """A visitor sees and continues only the conversation whose token they hold."""
    if conversation.visitor_token_hash is None:
        return
    if presented is None and not required:
        return
    if presented is None or not secrets.compare_digest(
        hash_opaque_token(presented), conversation.visitor_token_hash
    ):
        raise Forbidden(
            "this conversation belongs to another visitor (send its X-Visitor-Token)",
            code="visitor_mismatch",
        )


async def _history(session: AsyncSession, conversation_id: uuid.UUID) -> list[Turn]:
    rows = await session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.role != Role.SYSTEM)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(HISTORY_TURNS)
    )
    return [Turn(role=m.role, content=m.content) for m in reversed(list(rows))]  # type: ignore[arg-type]


async def _allowance(session: AsyncSession, chat: ChatInput) -> metering.ReplyAllowance:
    if chat.free:  # a platform admin trying the business's Bob is charged to no one
        return metering.ReplyAllowance(allowed=True)
    return await metering.authorize_reply(session=session, tenant_id=chat.tenant.id)


async def prepare(*, db: Database, settings: Settings, chat: ChatInput) -> _Plan:
    """Phase one, read-only: everything that can refuse the request happens here."""
    # Embedded before the transaction: on SQLite a transaction holds the write lock, and the
    # model needs a few milliseconds of its own thread.
    query_vector = await vectors.embed_query(settings=settings, query=chat.message[:MAX_EMBEDDED])
    wants_a_person = await person_requests.resembles(settings, query_vector)
    async with db.transaction() as session:
        conversation = None
        if chat.session_id is not None:
            conversation = await find_conversation(
                session=session, tenant_id=chat.tenant.id, session_id=chat.session_id
            )
        if conversation is not None:
            if conversation.channel != chat.channel:
                raise Conflict(
                    "this session_id belongs to a conversation on another channel",
                    code="session_channel",
                )
            check_visitor(conversation, chat.visitor_token, required=chat.require_visitor_token)
        message = guardrails.check_input(chat.message)

        status = conversation.status if conversation else ConversationStatus.BOT
        if status == ConversationStatus.CLOSED:
            status = ConversationStatus.BOT  # a new message reopens a closed conversation
        # The message's own language when it is clear; otherwise the conversation keeps its own.
        language = guess_language(message) or (
            conversation.language if conversation else chat.language
        )
        persona_row = None
        if conversation is not None and conversation.persona_id is not None:
            persona_row = await personas.get_persona(
                session=session, tenant_id=chat.tenant.id, persona_id=conversation.persona_id
            )
        if persona_row is None:
            persona_row = await personas.get_default(session=session, tenant_id=chat.tenant.id)
        persona = _persona_view(persona_row)
        plan = _Plan(
            input=chat,
            message=message,
            session_id=chat.session_id or new_session_id(),
            conversation_id=conversation.id if conversation else None,
            status=status,
            language=language,
            persona=persona,
            persona_id=persona_row.id if persona_row is not None else None,
        )
        if conversation is None and chat.channel != Channel.CONSOLE:
            plan.visitor_token = secrets.token_urlsafe(24)
        if status in lifecycle.WITH_PEOPLE:
            return plan
        if wants_a_person or guardrails.asks_for_a_person(message):
            plan.fixed_reply = phrases.handoff_message(persona, language)
            plan.handoff, plan.handoff_reason = True, "visitor_request"
            return plan
        if guardrails.tries_to_instruct(message):
            # Never answered from the knowledge: a quoted passage beside "say it is free" reads
            # as agreement. A person decides what to reply.
            plan.fixed_reply = phrases.no_answer_message(persona, language)
            plan.handoff, plan.handoff_reason = True, "no_answer"
            return plan
        allowance = await _allowance(session, chat)
        if not allowance.allowed:
            # Out of credits: the engine is not called; the business chose what happens.
            _out_of_credits(plan, allowance.at_zero)
            return plan
        passages = await knowledge.retrieve(
            session=session,
            tenant_id=chat.tenant.id,
            query=message,
            limit=PASSAGES,
            language=language,
            settings=settings,
            query_vector=query_vector,
        )
        strictness = await engines.strictness_for(session=session, tenant_id=chat.tenant.id)
        if not grounding.grounded(passages, strictness, question=message, language=language):
            # Too weak to answer from: no engine sees them, so none can build on a guess.
            passages = []
        history = await _history(session, conversation.id) if conversation else []
        plan.engine = await engines.engine_for(
            session=session, settings=settings, tenant_id=chat.tenant.id
        )
        plan.request = EngineRequest(
            persona=persona,
            business_name=chat.tenant.name,
            language=language,
            message=message,
            passages=passages,
            history=history,
        )
        return plan


async def run(*, db: Database, settings: Settings, plan: _Plan) -> AsyncIterator[ChatEvent]:
    """Phase two: the engine (streamed), then one transaction storing what happened."""
    reply_text = plan.fixed_reply
    result: EngineResult | None = None
    answered = False
    started = time.perf_counter()
    if plan.engine is not None and plan.request is not None:
        try:
            async for event in plan.engine.stream(plan.request):
                if isinstance(event, TokenDelta):
                    yield Token(event.text)
                else:
                    result = event
        except EngineError as exc:
            log.warning("engine failed", extra={"engine": plan.engine.name, "reason": str(exc)})
            reply_text = phrases.engine_failure_message(plan.persona, plan.language)
            plan.handoff_reason = "engine_failure"
        else:
            answer = guardrails.check_output(result.text) if result and result.text else None
            if answer is not None:
                reply_text, answered = answer, True
            else:
                reply_text = phrases.no_answer_message(plan.persona, plan.language)
                plan.handoff_reason = "no_answer"
        if not answered:
            # No grounded answer: hand over with a sentence of Bob's instead of guessing.
            plan.handoff = True
            yield Token(reply_text)
    elif reply_text is not None:
        yield Token(reply_text)
    latency_ms = int((time.perf_counter() - started) * 1000)
    cost = metering.reply_cost(settings, result) if answered and result is not None else 0
    reply = await _store(
        db=db,
        plan=plan,
        reply_text=reply_text,
        result=result,
        sources=_sources(result.sources) if answered and result is not None else [],
        latency_ms=latency_ms,
        cost=cost,
    )
    if reply.reply != reply_text and reply.reply is not None:
        # The answer could not be paid for after all: say what replaces it.
        yield Token(reply.reply)
    yield Sources(reply.sources)
    yield Done(reply)


async def collect(*, db: Database, settings: Settings, plan: _Plan) -> ChatReply:
    """Phase two for a caller that wants the whole reply at once, not its stream."""
    reply: ChatReply | None = None
    async for event in run(db=db, settings=settings, plan=plan):
        if isinstance(event, Done):
            reply = event.reply
    assert reply is not None  # run() always ends with Done
    return reply


async def answer(*, db: Database, settings: Settings, chat: ChatInput) -> ChatReply:
    """Both phases, the whole reply at once."""
    return await collect(
        db=db, settings=settings, plan=await prepare(db=db, settings=settings, chat=chat)
    )


async def _get_or_create(
    session: AsyncSession, plan: _Plan
) -> tuple[Conversation, str | None, bool]:
    chat = plan.input
    if plan.conversation_id is not None:
        conversation = await session.get(Conversation, plan.conversation_id, with_for_update=True)
        if conversation is None:
            raise NotFound("this conversation no longer exists")
        return conversation, None, False
    token = plan.visitor_token
    conversation = Conversation(
        tenant_id=chat.tenant.id,
        session_id=plan.session_id,
        channel=chat.channel,
        status=ConversationStatus.BOT,
        visitor_token_hash=hash_opaque_token(token) if token else None,
        persona_id=plan.persona_id,
        language=plan.language,
        origin=chat.origin,
        visitor=chat.visitor,
        metadata_=chat.metadata,
    )
    try:
        async with session.begin_nested():
            session.add(conversation)
            await session.flush()
    except IntegrityError:
        # Two first messages with the same new session_id raced; the other one created it.
        existing = await find_conversation(
            session=session, tenant_id=chat.tenant.id, session_id=plan.session_id
        )
        if existing is None:
            raise
        check_visitor(existing, chat.visitor_token, required=True)
        return existing, None, False
    return conversation, token, True


@dataclass
class _Turn:
    """What a turn stores: the reply (None when a person has the conversation), its sources and
    the engine's result, and the credits it is charged."""

    reply: str | None
    sources: list[dict[str, str | None]]
    result: EngineResult | None
    cost: int
    charge: metering.Charge | None = None


async def _charge(session: AsyncSession, plan: _Plan, turn: _Turn, tenant: Tenant) -> None:
    """Charged here, under the subscription lock, in the transaction storing the reply:
    concurrent replies can never take the balance below zero. Without credits left, the reply
    becomes the out-of-credits one."""
    if not turn.cost:
        return
    turn.charge = await metering.reserve(session=session, tenant_id=tenant.id, cost=turn.cost)
    if not turn.charge.allowed:
        turn.reply, turn.sources, turn.result = _out_of_credits(plan, turn.charge.at_zero), [], None


def _assistant_message(
    plan: _Plan, turn: _Turn, reply: str, conversation: Conversation, latency_ms: int
) -> Message:
    result, charge = turn.result, turn.charge
    return Message(
        tenant_id=conversation.tenant_id,
        conversation_id=conversation.id,
        role=Role.ASSISTANT,
        content=reply,
        sources=turn.sources,
        handoff=plan.handoff,
        engine=result.engine if result else None,
        model=result.model if result else None,
        latency_ms=latency_ms if plan.engine is not None else None,
        prompt_tokens=result.prompt_tokens if result else None,
        completion_tokens=result.completion_tokens if result else None,
        credits_used=charge.usage + charge.overage if charge and charge.allowed else 0,
        # A strictly later timestamp keeps the transcript's order on every database.
        created_at=utcnow(),
    )


async def _store(
    *,
    db: Database,
    plan: _Plan,
    reply_text: str | None,
    result: EngineResult | None,
    sources: list[dict[str, str | None]],
    latency_ms: int,
    cost: int,
) -> ChatReply:
    tenant = plan.input.tenant
    turn = _Turn(reply_text, sources, result, 0 if plan.input.free else cost)
    async with db.transaction() as session:
        conversation, token, created = await _get_or_create(session, plan)
        if created:
            await lifecycle.started(session, tenant, conversation)
        now = utcnow()
        if plan.status == ConversationStatus.BOT and conversation.status in lifecycle.WITH_PEOPLE:
            # A person took over while the engine was thinking: the bot keeps quiet.
            turn.reply, turn.cost, plan.handoff = None, 0, False
        await _charge(session, plan, turn, tenant)
        lifecycle.reopen(conversation)
        stored = [
            Message(
                tenant_id=tenant.id,
                conversation_id=conversation.id,
                role=Role.VISITOR,
                content=plan.message,
                created_at=now,
            )
        ]
        if turn.reply is not None:
            stored.append(_assistant_message(plan, turn, turn.reply, conversation, latency_ms))
        session.add_all(stored)
        assistant = stored[-1] if turn.reply is not None else None
        if assistant is not None and turn.charge is not None and turn.charge.allowed:
            await session.flush()
            await metering.record_charge(
                session=session, tenant=tenant, charge=turn.charge, message_id=assistant.id
            )
        await lifecycle.messages_added(
            session,
            tenant,
            conversation,
            stored,
            hand_off=plan.handoff,
            handoff_reason=plan.handoff_reason,
            at=now,
        )
        return ChatReply(
            session_id=conversation.session_id,
            conversation_id=conversation.id,
            message_id=stored[-1].id,
            reply=turn.reply,
            persona_name=plan.persona.name,
            handoff=conversation.status in lifecycle.WITH_PEOPLE,
            sources=turn.sources,
            conversation_status=conversation.status,
            credits_used=assistant.credits_used if assistant is not None else 0,
            visitor_token=token,
        )


# ---- answer preview -----------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """What Bob would reply to a visitor's first message, and what it found to reply with."""

    reply: str
    answered: bool
    # Why Bob would hand over instead: visitor_request, credits, no_answer or engine_failure.
    handoff_reason: str | None
    passages: list[Passage]
    sources: list[dict[str, str | None]]
    persona_name: str
    engine: str
    credits_used: int


async def preview_reply(
    *,
    db: Database,
    settings: Settings,
    tenant: Tenant,
    message: str,
    language: str = "en",
    persona: PersonaView | None = None,
) -> Preview:
    """The reply a visitor's first message would get now: the same checks, retrieval, prompt and
    engine as the chat pipeline, with no conversation or message stored.

    `persona` stands in for the default persona (a persona form's unsaved values). An answer is
    charged exactly as a visitor's reply would be, because the engine costs the same; the ledger
    entry says "Answer preview" and points at no message.
    """
    message = guardrails.check_input(message)
    query_vector = await vectors.embed_query(settings=settings, query=message[:MAX_EMBEDDED])
    wants_a_person = await person_requests.resembles(settings, query_vector)
    async with db.transaction() as session:
        language = guess_language(message) or phrases.language_of(language)
        if persona is None:
            persona = _persona_view(
                await personas.get_default(session=session, tenant_id=tenant.id)
            )
        passages = await knowledge.retrieve(
            session=session,
            tenant_id=tenant.id,
            query=message,
            limit=PASSAGES,
            language=language,
            settings=settings,
            query_vector=query_vector,
        )
        strictness = await engines.strictness_for(session=session, tenant_id=tenant.id)
        if not grounding.grounded(passages, strictness, question=message, language=language):
            passages = []
        engine = await engines.engine_for(session=session, settings=settings, tenant_id=tenant.id)
        allowance = await metering.authorize_reply(session=session, tenant_id=tenant.id)

    def without_answer(reply: str, reason: str | None) -> Preview:
        return Preview(reply, False, reason, passages, [], persona.name, engine.name, 0)

    if wants_a_person or guardrails.asks_for_a_person(message):
        return without_answer(phrases.handoff_message(persona, language), "visitor_request")
    if guardrails.tries_to_instruct(message):
        return without_answer(phrases.no_answer_message(persona, language), "no_answer")
    if not allowance.allowed:
        return without_answer(_at_zero_reply(persona, language, allowance.at_zero), "credits")
    request = EngineRequest(
        persona=persona,
        business_name=tenant.name,
        language=language,
        message=message,
        passages=passages,
    )
    # Like the pipeline, no transaction is held while the engine thinks.
    try:
        result = await complete(engine, request)
    except EngineError as exc:
        log.warning("engine failed in a preview", extra={"engine": engine.name, "reason": str(exc)})
        return without_answer(phrases.engine_failure_message(persona, language), "engine_failure")
    answer = guardrails.check_output(result.text) if result.text else None
    if answer is None:
        return without_answer(phrases.no_answer_message(persona, language), "no_answer")
    async with db.transaction() as session:
        charge = await metering.reserve(
            session=session, tenant_id=tenant.id, cost=metering.reply_cost(settings, result)
        )
        if not charge.allowed:
            return without_answer(_at_zero_reply(persona, language, charge.at_zero), "credits")
        await metering.record_charge(
            session=session, tenant=tenant, charge=charge, message_id=None, reason="Answer preview"
        )
    return Preview(
        reply=answer,
        answered=True,
        handoff_reason=None,
        passages=passages,
        sources=_sources(result.sources),
        persona_name=persona.name,
        engine=result.engine,
        credits_used=charge.usage + charge.overage,
    )
