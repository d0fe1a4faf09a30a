"""The operator side of conversations: list, read, take over, reply, hand back, close."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bob import audit
from bob.audit import Actor
from bob.auth.deps import Principal
from bob.auth.models import User
from bob.auth.permissions import Permission, permissions_for
from bob.chat import lifecycle
from bob.chat.models import Channel, Conversation, ConversationStatus, Message, Role
from bob.chat.service import new_session_id
from bob.db.types import utcnow
from bob.errors import Conflict, NotFound, ValidationFailed
from bob.governance import guardrails
from bob.pagination import Cursor, Page, like_pattern
from bob.personas import service as personas
from bob.tenants.models import Tenant


async def get_conversation(
    *, session: AsyncSession, tenant_id: uuid.UUID, conversation_id: uuid.UUID
) -> Conversation:
    conversation = await session.scalar(
        select(Conversation).where(
            Conversation.id == conversation_id, Conversation.tenant_id == tenant_id
        )
    )
    if conversation is None:
        raise NotFound(f"no conversation {conversation_id}")
    return conversation


async def get_by_session(
    *, session: AsyncSession, tenant_id: uuid.UUID, session_id: str
) -> Conversation:
    conversation = await session.scalar(
        select(Conversation).where(
            Conversation.tenant_id == tenant_id, Conversation.session_id == session_id
        )
    )
    if conversation is None:
        raise NotFound(f"no conversation with session_id {session_id!r}")
    return conversation


async def transcript(
    *, session: AsyncSession, conversation: Conversation, include_system: bool = True
) -> list[Message]:
    query = select(Message).where(Message.conversation_id == conversation.id)
    if not include_system:
        query = query.where(Message.role != Role.SYSTEM)
    rows = await session.scalars(query.order_by(Message.created_at, Message.id))
    return list(rows)


async def author_names(*, session: AsyncSession, messages: list[Message]) -> dict[uuid.UUID, str]:
    ids = {m.author_user_id for m in messages if m.author_user_id is not None}
    return await user_names(session=session, user_ids=ids)


async def user_names(
    *, session: AsyncSession, user_ids: Collection[uuid.UUID | None]
) -> dict[uuid.UUID, str]:
    """Team members' names as the console shows them (the name, else the email's local part)."""
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.name, User.email).where(User.id.in_(ids)))
    return {row.id: row.name or row.email.split("@")[0] for row in rows}


async def status_counts(*, session: AsyncSession, tenant_id: uuid.UUID) -> dict[str, int]:
    """How many of the tenant's conversations are in each status (absent: none)."""
    rows = await session.execute(
        select(Conversation.status, func.count())
        .where(Conversation.tenant_id == tenant_id)
        .group_by(Conversation.status)
    )
    return dict(rows.all())


async def list_conversations(
    *,
    session: AsyncSession,
    tenant_id: uuid.UUID,
    limit: int,
    cursor: Cursor | None,
    status: str | None = None,
    channel: str | None = None,
    q: str | None = None,
) -> Page[Conversation]:
    query = select(Conversation).where(Conversation.tenant_id == tenant_id)
    if status:
        query = query.where(Conversation.status == status)
    if channel:
        query = query.where(Conversation.channel == channel)
    if q:
        pattern = like_pattern(q)
        query = query.where(
            or_(
                func.lower(Conversation.session_id).like(pattern, escape="\\"),
                exists().where(
                    Message.conversation_id == Conversation.id,
                    func.lower(Message.content).like(pattern, escape="\\"),
                ),
            )
        )
    if cursor is not None:
        at = cursor.as_datetime("at")
        after_id = cursor.as_uuid("id")
        query = query.where(
            or_(
                Conversation.last_message_at < at,
                (Conversation.last_message_at == at) & (Conversation.id < after_id),
            )
        )
    rows = list(
        (
            await session.scalars(
                query.order_by(Conversation.last_message_at.desc(), Conversation.id.desc()).limit(
                    limit + 1
                )
            )
        ).all()
    )
    return Page.of(
        rows,
        limit=limit,
        cursor_for=lambda c: {"at": c.last_message_at.isoformat(), "id": str(c.id)},
    )


async def last_messages(
    *, session: AsyncSession, conversation_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Message]:
    if not conversation_ids:
        return {}
    newest = (
        select(Message.conversation_id, func.max(Message.created_at).label("at"))
        .where(Message.conversation_id.in_(conversation_ids))
        .group_by(Message.conversation_id)
        .subquery()
    )
    rows = await session.scalars(
        select(Message).join(
            newest,
            (Message.conversation_id == newest.c.conversation_id)
            & (Message.created_at == newest.c.at),
        )
    )
    return {m.conversation_id: m for m in rows}


async def start_console_session(
    *,
    session: AsyncSession,
    tenant: Tenant,
    visitor: dict[str, object],
    metadata: dict[str, object],
    language: str,
    preview_for: Principal | None = None,
) -> Conversation:
    """Door 3's `POST /api/chat/session`: a conversation the caller then writes into.

    `preview_for`: a platform admin trying this business's Bob (support, a sales demo). The
    transcript opens with a note saying so, the replies are charged to no one, and both the
    business's audit log and the platform's record it."""
    persona = await personas.get_default(session=session, tenant_id=tenant.id)
    conversation = Conversation(
        tenant_id=tenant.id,
        session_id=new_session_id(),
        channel=Channel.CONSOLE,
        status=ConversationStatus.BOT,
        persona_id=persona.id if persona else None,
        language=language,
        visitor=visitor,
        metadata_=metadata,
    )
    session.add(conversation)
    await lifecycle.started(session, tenant, conversation)
    if preview_for is not None:
        await _mark_preview(session, tenant, conversation, preview_for)
    return conversation


async def get_preview(
    *, session: AsyncSession, tenant_id: uuid.UUID, session_id: str
) -> Conversation:
    conversation = await get_by_session(session=session, tenant_id=tenant_id, session_id=session_id)
    if conversation.channel != Channel.CONSOLE or "preview_by" not in conversation.metadata_:
        raise NotFound(
            f"no preview conversation {session_id!r}: open one with POST /api/chat/session "
            "and this business_id"
        )
    return conversation


PREVIEW_NOTE = (
    "Preview: {email}, a platform admin, is trying this business's Bob from Mission Control. "
    "Its replies are not charged."
)


async def _mark_preview(
    session: AsyncSession, tenant: Tenant, conversation: Conversation, admin: Principal
) -> None:
    conversation.metadata_ = {**conversation.metadata_, "preview_by": admin.user.email}
    session.add(
        Message(
            tenant_id=tenant.id,
            conversation_id=conversation.id,
            role=Role.SYSTEM,
            content=PREVIEW_NOTE.format(email=admin.user.email),
            created_at=utcnow(),
        )
    )
    for log in (tenant.id, admin.tenant_id):
        await audit.record(
            session,
            log,
            admin.actor,
            "chat.preview_started",
            target=("conversation", conversation.id),
            data={"business_id": tenant.business_id, "session_id": conversation.session_id},
        )


async def operator_reply(
    *,
    session: AsyncSession,
    tenant: Tenant,
    actor: Actor,
    operator: User,
    conversation_id: uuid.UUID,
    text: str,
) -> Message:
    """A team member writes to the visitor; writing takes the conversation over from the bot."""
    conversation = await get_conversation(
        session=session, tenant_id=tenant.id, conversation_id=conversation_id
    )
    content = guardrails.check_input(text)
    not_yet_human = (
        conversation.assigned_user_id is None or conversation.status != ConversationStatus.HUMAN
    )
    if not_yet_human and await lifecycle.assign(session, tenant, conversation, operator):
        await audit.record(
            session,
            tenant.id,
            actor,
            "conversation.taken_over",
            target=("conversation", conversation.id),
        )
    message = Message(
        tenant_id=tenant.id,
        conversation_id=conversation.id,
        role=Role.OPERATOR,
        content=content,
        author_user_id=operator.id,
        created_at=utcnow(),
    )
    session.add(message)
    await lifecycle.messages_added(session, tenant, conversation, [message], at=message.created_at)
    return message


async def assign(
    *,
    session: AsyncSession,
    tenant: Tenant,
    actor: Actor,
    conversation_id: uuid.UUID,
    user_id: uuid.UUID,
) -> Conversation:
    conversation = await get_conversation(
        session=session, tenant_id=tenant.id, conversation_id=conversation_id
    )
    user = await session.scalar(select(User).where(User.id == user_id, User.tenant_id == tenant.id))
    if user is None:
        raise NotFound(f"no team member {user_id}")
    if not user.is_active or Permission.CHAT_MANAGE not in permissions_for(user.role):
        raise ValidationFailed(
            f"user_id: {user.email} cannot take conversations (inactive, or role {user.role})"
        )
    if await lifecycle.assign(session, tenant, conversation, user):
        await audit.record(
            session,
            tenant.id,
            actor,
            "conversation.assigned",
            target=("conversation", conversation.id),
            data={"assignee": user.email},
        )
    return conversation


async def request_handoff(
    *,
    session: AsyncSession,
    tenant: Tenant,
    actor: Actor,
    conversation_id: uuid.UUID,
) -> Conversation:
    conversation = await get_conversation(
        session=session, tenant_id=tenant.id, conversation_id=conversation_id
    )
    if await lifecycle.hand_off(session, tenant, conversation, reason="operator"):
        await audit.record(
            session,
            tenant.id,
            actor,
            "conversation.handoff",
            target=("conversation", conversation.id),
        )
    return conversation


async def close(
    *,
    session: AsyncSession,
    tenant: Tenant,
    actor: Actor,
    conversation_id: uuid.UUID,
) -> Conversation:
    conversation = await get_conversation(
        session=session, tenant_id=tenant.id, conversation_id=conversation_id
    )
    if await lifecycle.close(session, tenant, conversation):
        await audit.record(
            session,
            tenant.id,
            actor,
            "conversation.closed",
            target=("conversation", conversation.id),
        )
    return conversation


async def return_to_bot(
    *,
    session: AsyncSession,
    tenant: Tenant,
    actor: Actor,
    conversation_id: uuid.UUID,
) -> Conversation:
    conversation = await get_conversation(
        session=session, tenant_id=tenant.id, conversation_id=conversation_id
    )
    if conversation.status == ConversationStatus.CLOSED:
        raise Conflict("the conversation is closed", code="conversation_closed")
    if await lifecycle.return_to_bot(session, tenant, conversation):
        await audit.record(
            session,
            tenant.id,
            actor,
            "conversation.returned_to_bot",
            target=("conversation", conversation.id),
        )
    return conversation
