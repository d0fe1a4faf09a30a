"""The life of a conversation: every status change, what it stamps, and the event it emits.

    bot ──hand_off──▶ pending_human ──assign──▶ human
     ▲                     │                      │
     └──── return_to_bot ◀─┴──────────────────────┘
    any ──close──▶ closed ──reopen (the visitor writes again)──▶ bot

Each function changes one conversation inside the caller's transaction and writes the event of
the change to the outbox there (events/outbox.py), so a rolled-back change sends nothing. The
events' data are built from the catalogue's models (events/catalogue.py), so what is sent is
what the catalogue publishes. Who acted is the caller's to write to the audit log
(chat/conversations.py), which knows them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bob.auth.models import User
from bob.chat.models import Conversation, ConversationStatus, Message
from bob.db.types import utcnow
from bob.events import catalogue, outbox
from bob.tenants.models import Tenant

S = ConversationStatus
# A person has the conversation (or is asked for): the bot keeps quiet.
WITH_PEOPLE = (S.PENDING_HUMAN, S.HUMAN)


# Built through the catalogue's models, so a field the catalogue does not publish fails here,
# and written as they always were (UUIDs as text, times by isoformat).
def conversation_data(conversation: Conversation) -> dict[str, Any]:
    event = catalogue.EventConversation(
        id=conversation.id,
        session_id=conversation.session_id,
        channel=conversation.channel,
        status=conversation.status,
    )
    return {**event.model_dump(), "id": str(event.id)}


def message_data(message: Message) -> dict[str, Any]:
    event = catalogue.EventMessage(
        id=message.id, role=message.role, content=message.content, created_at=message.created_at
    )
    return {**event.model_dump(), "id": str(event.id), "created_at": event.created_at.isoformat()}


def _assignee(user: User) -> dict[str, Any]:
    event = catalogue.EventAssignee(id=user.id, email=user.email, name=user.name)
    return {**event.model_dump(), "id": str(event.id)}


async def _emit(
    session: AsyncSession, tenant: Tenant, conversation: Conversation, type: str, **data: Any
) -> None:
    await outbox.emit(
        session=session,
        tenant=tenant,
        type=type,
        data={"conversation": conversation_data(conversation), **data},
    )


async def started(session: AsyncSession, tenant: Tenant, conversation: Conversation) -> None:
    """A new conversation was stored (by a visitor's first message or door 3's session)."""
    await session.flush()
    await _emit(session, tenant, conversation, "conversation.created")


def reopen(conversation: Conversation) -> None:
    """A visitor writes into a closed conversation: Bob answers it again (no event; the
    message's own event says it)."""
    if conversation.status == S.CLOSED:
        conversation.status = S.BOT
        conversation.closed_at = None


async def messages_added(
    session: AsyncSession,
    tenant: Tenant,
    conversation: Conversation,
    messages: Sequence[Message],
    *,
    handoff_reason: str | None = None,
    hand_off: bool = False,
    at: datetime | None = None,
) -> None:
    """Messages were stored; with `hand_off`, the turn also asks for a person. A consumer reads
    the messages first, then the handoff, and every event shows the status after the turn."""
    at = at or utcnow()
    conversation.last_message_at = at
    handed_off = hand_off and conversation.status == S.BOT
    if handed_off:
        conversation.status = S.PENDING_HUMAN
        conversation.handoff_at = at
    await session.flush()
    for message in messages:
        await _emit(session, tenant, conversation, "message.created", message=message_data(message))
    if handed_off:
        await _emit(
            session, tenant, conversation, "conversation.handoff_requested", reason=handoff_reason
        )


async def hand_off(
    session: AsyncSession, tenant: Tenant, conversation: Conversation, *, reason: str
) -> bool:
    """Ask for a person; False when one has it or is asked for already."""
    if conversation.status in WITH_PEOPLE:
        return False
    conversation.status = S.PENDING_HUMAN
    conversation.handoff_at = utcnow()
    conversation.closed_at = None
    await session.flush()
    await _emit(session, tenant, conversation, "conversation.handoff_requested", reason=reason)
    return True


async def assign(
    session: AsyncSession, tenant: Tenant, conversation: Conversation, user: User
) -> bool:
    """`user` has the conversation now; False when they already had it."""
    if conversation.assigned_user_id == user.id and conversation.status == S.HUMAN:
        return False
    conversation.assigned_user_id = user.id
    conversation.status = S.HUMAN
    conversation.closed_at = None
    await session.flush()
    await _emit(session, tenant, conversation, "conversation.assigned", assignee=_assignee(user))
    return True


async def close(session: AsyncSession, tenant: Tenant, conversation: Conversation) -> bool:
    """False when it was closed already."""
    if conversation.status == S.CLOSED:
        return False
    conversation.status = S.CLOSED
    conversation.closed_at = utcnow()
    await session.flush()
    await _emit(session, tenant, conversation, "conversation.closed")
    return True


async def return_to_bot(session: AsyncSession, tenant: Tenant, conversation: Conversation) -> bool:
    """Bob answers again; False when it already did. A closed conversation is the caller's to
    refuse (it reopens only when the visitor writes)."""
    if conversation.status == S.BOT:
        return False
    conversation.status = S.BOT
    conversation.assigned_user_id = None
    await session.flush()
    await _emit(session, tenant, conversation, "conversation.returned_to_bot")
    return True
