from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from bob.schemas import WriteModel


class WebhookEndpointCreate(WriteModel):
    url: str = Field(
        max_length=2000, description="Where deliveries are POSTed (https in production)."
    )
    event_types: list[str] = Field(
        default_factory=lambda: ["*"],
        max_length=50,
        description='Event types to receive: names from the catalogue, "group.*", or "*" for all.',
    )
    description: str = Field("", max_length=500)
    enabled: bool = True


class WebhookEndpointUpdate(WriteModel):
    url: str | None = Field(None, max_length=2000)
    event_types: list[str] | None = Field(None, max_length=50)
    description: str | None = Field(None, max_length=500)
    enabled: bool | None = Field(
        None, description="Enabling a disabled endpoint also clears its failure history."
    )


class WebhookEndpointRead(BaseModel):
    id: uuid.UUID
    url: str
    event_types: list[str]
    description: str
    enabled: bool
    disabled_at: datetime | None
    disabled_reason: str | None = Field(
        description="Why Bob switched the endpoint off (after 5 days of failures); null when a "
        "team member did, or it is enabled."
    )
    failing_since: datetime | None = Field(
        description="First failure of the current run of failures; null when healthy."
    )
    secret_rotated_at: datetime | None
    previous_secret_expires_at: datetime | None = Field(
        description="Until then deliveries also carry a signature made with the previous secret."
    )
    created_at: datetime
    updated_at: datetime


class WebhookEndpointWithSecret(WebhookEndpointRead):
    secret: str = Field(
        description="The signing secret (`whsec_…`). Shown only now: store it with the receiver."
    )


class WebhookEndpointPage(BaseModel):
    items: list[WebhookEndpointRead]
    next_cursor: str | None = None


class WebhookAttemptRead(BaseModel):
    number: int
    attempted_at: datetime
    succeeded: bool
    status_code: int | None
    latency_ms: int
    response_body: str | None = Field(description="The first 1 KB of the receiver's answer.")
    error: str | None


class WebhookDeliveryRead(BaseModel):
    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    webhook_id: str = Field(description="The `webhook-id` header: the same on every retry.")
    status: str = Field(description="pending, succeeded or failed (after the last retry).")
    attempt_count: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    created_at: datetime
    payload: dict[str, Any]
    attempts: list[WebhookAttemptRead]


class WebhookDeliveryPage(BaseModel):
    items: list[WebhookDeliveryRead]
    next_cursor: str | None = None


class WebhookEventTypeRead(BaseModel):
    type: str
    description: str
    json_schema: dict[str, Any] = Field(
        serialization_alias="schema", description="JSON Schema of the whole payload."
    )
    example: dict[str, Any]


class WebhookEventTypePage(BaseModel):
    items: list[WebhookEventTypeRead]
    next_cursor: str | None = None
