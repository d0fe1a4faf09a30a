from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from bob.schemas import WriteModel

# Generous at the door; the pipeline's own check (1..4,000 characters after trimming) names
# the real limit. This bound only keeps absurd bodies from being parsed into memory twice.
_MESSAGE = Field(max_length=20_000)
SESSION_ID = Field(None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")


class PublicChatRequest(WriteModel):
    message: str = _MESSAGE
    session_id: str | None = SESSION_ID
    business_id: str | None = Field(None, max_length=63)


VisitorInfo = dict[
    Annotated[str, Field(max_length=50)],
    Annotated[str, Field(max_length=500)] | int | float | bool,
]


class WidgetChatRequest(WriteModel):
    message: str = _MESSAGE
    session_id: str | None = SESSION_ID
    visitor: VisitorInfo | None = Field(
        None, max_length=20, description="What the site told the widget with Bob.identify()."
    )


# Platform admins only: the business whose Bob to try (a preview charged to no one); everyone
# else acts for the tenant of their login.
TryBusiness = Annotated[str | None, Field(min_length=1, max_length=63)]


class SessionCreate(WriteModel):
    visitor: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    business_id: TryBusiness = None


class SessionCreated(BaseModel):
    session_id: str


class ConsoleMessage(WriteModel):
    session_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")
    message: str = _MESSAGE
    business_id: TryBusiness = None


class PersonaName(BaseModel):
    name: str


class SourceRef(BaseModel):
    title: str
    id: str
    source_url: str | None = Field(
        None, description="The page the knowledge item came from (http or https), if any."
    )


class ChatReplyRead(BaseModel):
    session_id: str
    message_id: uuid.UUID
    reply: str | None
    persona: PersonaName
    handoff: bool
    sources: list[SourceRef]
    conversation_status: str
    credits_used: int
    visitor_token: str | None = Field(
        None, description="Doors 1 and 2, first reply of a new conversation only."
    )


class MessageRead(BaseModel):
    id: uuid.UUID
    role: str
    content: str
    sources: list[SourceRef] = []
    author_name: str | None = None
    created_at: datetime


class HistoryRead(BaseModel):
    session_id: str
    conversation_status: str
    messages: list[MessageRead]


class ConversationRead(BaseModel):
    id: uuid.UUID
    session_id: str
    channel: str
    status: str
    language: str
    assigned_user_id: uuid.UUID | None
    origin: str | None
    created_at: datetime
    last_message_at: datetime
    handoff_at: datetime | None
    closed_at: datetime | None
    last_message: MessageRead | None = None


class ConversationPage(BaseModel):
    items: list[ConversationRead]
    next_cursor: str | None


class ConversationDetail(ConversationRead):
    visitor: dict[str, Any]
    metadata: dict[str, Any]
    messages: list[MessageRead]


class OperatorReply(WriteModel):
    message: str = _MESSAGE


class AssignRequest(WriteModel):
    user_id: uuid.UUID
