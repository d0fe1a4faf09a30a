"""The webhook event catalogue: every event Bob sends, the shape of its `data`, and a JSON Schema.

Every payload is `{"type": ..., "timestamp": ..., "data": {...}}`; `data` always carries the
tenant's `tenant_id` and `business_id` next to the objects the event is about.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

from bob.errors import ValidationFailed

MAX_FILTER_ENTRIES = 50
ENVELOPE_KEYS = ("type", "timestamp", "data")
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# Mirrors bob.tenants.service.BUSINESS_ID (a test keeps them equal); importing it here would tie
# this dependency-free catalogue to the database layer.
BUSINESS_ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
_UUID_TEXT = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_DATE_TIME_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}")


# Pydantic alone also reads "1700000000" as a time and a UUID without dashes; JSON Schema's
# `date-time` and `uuid` formats do not, and receivers validate against the schema. Parsing here
# (not leaving strings to pydantic) keeps strict JSON validation working: strict mode accepts
# strings for these types only straight from JSON, not from a validator.
def _uuid_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if not _UUID_TEXT.match(value):
        raise ValueError("not a UUID in its 8-4-4-4-12 form")
    return uuid.UUID(value)


def _date_time_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if not _DATE_TIME_TEXT.match(value):
        raise ValueError("not an ISO-8601 date-time")
    return datetime.fromisoformat(value)


Id = Annotated[uuid.UUID, BeforeValidator(_uuid_text)]
Timestamp = Annotated[AwareDatetime, BeforeValidator(_date_time_text)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EventData(_Strict):
    tenant_id: Id = Field(description="The tenant the event belongs to.")
    business_id: str = Field(
        pattern=BUSINESS_ID_PATTERN, description="The tenant's public slug, e.g. `acme-bikes`."
    )


# ---- the objects events carry ----------------------------------------------------------------


class EventConversation(_Strict):
    id: Id
    session_id: str = Field(description="The visitor's session the conversation belongs to.")
    channel: str = Field(description="Where it happens: `public`, `widget` or `console`.")
    status: str = Field(
        description="Who answers now: `bot`, `pending_human` (waiting for a person), "
        "`human` (a team member took over) or `closed`."
    )


class EventMessage(_Strict):
    id: Id
    role: str = Field(description="Who wrote it: `visitor`, `assistant` or `operator`.")
    content: str
    created_at: Timestamp


class EventAssignee(_Strict):
    id: Id
    email: str
    name: str | None


class EventPersona(_Strict):
    id: Id
    name: str
    is_default: bool
    change: str = Field(
        description="What happened: `created`, `updated`, `default_set` or `deleted`."
    )


class EventWidgetKey(_Strict):
    id: Id
    label: str | None
    is_primary: bool


class CreditsThreshold(_Strict):
    granted: int = Field(description="Credits granted for the current period.")
    remaining: int
    threshold: float = Field(
        ge=0, le=1, description="The share of the granted credits used when this fires, e.g. 0.8."
    )


class CreditsExhausted(_Strict):
    granted: int = Field(description="Credits granted for the current period.")
    remaining: int
    at_zero: str = Field(
        description="What Bob does now, as the tenant chose: `handoff`, `message_only` or "
        "`overage`."
    )


class CreditsLow(_Strict):
    granted: int = Field(description="Credits granted for the current period.")
    remaining: int = Field(description="The balance the reply left.")
    threshold: int = Field(
        ge=0,
        description="The tenant's alert threshold in credits (by default 10% of the plan's "
        "monthly credits); the event fires when the balance reaches it.",
    )


class PricebookPlan(_Strict):
    code: str
    name: str
    monthly_price_cents: int
    included_credits: int
    seats: int | None = Field(description="null means unlimited.")
    integrations: int
    support: str


class EventPricebook(_Strict):
    version: int
    plans: list[PricebookPlan]


class EventEndpoint(_Strict):
    id: Id
    url: str


class DisabledEndpoint(EventEndpoint):
    failing_since: Timestamp
    disabled_at: Timestamp


# ---- each event's data -----------------------------------------------------------------------


class ConversationData(EventData):
    conversation: EventConversation


class MessageCreatedData(EventData):
    conversation: EventConversation
    message: EventMessage


class HandoffRequestedData(EventData):
    conversation: EventConversation
    reason: str | None = Field(
        description="Why, when known: `visitor_request`, `no_answer`, `engine_failure`, "
        "`credits` or `operator`."
    )


class ConversationAssignedData(EventData):
    conversation: EventConversation
    assignee: EventAssignee


class PersonaUpdatedData(EventData):
    persona: EventPersona


class WidgetKeyRotatedData(EventData):
    widget_key: EventWidgetKey


class CreditsThresholdData(EventData):
    credits: CreditsThreshold


class CreditsExhaustedData(EventData):
    credits: CreditsExhausted


class CreditsLowData(EventData):
    credits: CreditsLow


class PricebookPublishedData(EventData):
    pricebook: EventPricebook


class WebhookTestData(EventData):
    endpoint: EventEndpoint
    message: str


class EndpointDisabledData(EventData):
    endpoint: DisabledEndpoint
    reason: str


@dataclass(frozen=True)
class EventType:
    name: str
    description: str  # for the API docs: when it fires, in one or two plain sentences
    data: type[BaseModel]
    # False for events sent on request to one endpoint, which no filter can ask for.
    tenant_subscribable: bool = True


def _catalogue(*types: EventType) -> dict[str, EventType]:
    return {t.name: t for t in types}


CATALOGUE: dict[str, EventType] = _catalogue(
    EventType(
        "conversation.created",
        "A visitor started a conversation, on any channel.",
        ConversationData,
    ),
    EventType(
        "message.created",
        "A message was added to a conversation: the visitor's, the assistant's reply or a team "
        "member's.",
        MessageCreatedData,
    ),
    EventType(
        "conversation.handoff_requested",
        "A conversation now waits for a person: the visitor asked, the assistant could not "
        "answer, or a team member requested it.",
        HandoffRequestedData,
    ),
    EventType(
        "conversation.assigned",
        "A team member took a conversation, or it was assigned to one; the bot stays quiet from "
        "then on.",
        ConversationAssignedData,
    ),
    EventType(
        "conversation.closed",
        "A conversation was closed. A new visitor message reopens it.",
        ConversationData,
    ),
    EventType(
        "conversation.returned_to_bot",
        "A team member gave a conversation back to the assistant, which answers again.",
        ConversationData,
    ),
    EventType(
        "persona.updated",
        "A persona was created, changed, made the default or deleted; `persona.change` says which.",
        PersonaUpdatedData,
    ),
    EventType(
        "widget.key_rotated",
        "A widget key was replaced by a new value; the old value stopped working at once.",
        WidgetKeyRotatedData,
    ),
    EventType(
        "credits.threshold_reached",
        "The tenant has used a set share (`credits.threshold`) of the credits granted for the "
        "current period. Sent once per period.",
        CreditsThresholdData,
    ),
    EventType(
        "credits.exhausted",
        "The tenant has no credits left for the current period; `at_zero` says what Bob does "
        "now. Sent once per period.",
        CreditsExhaustedData,
    ),
    EventType(
        "credits.low",
        "The tenant's remaining credits fell to its alert threshold or below. Sent once each "
        "time the balance crosses it, and again only after it went back above or a new period "
        "started.",
        CreditsLowData,
    ),
    EventType(
        "pricebook.published",
        "A new pricebook version was published. Sent only to the endpoints of the platform "
        "(installation) tenant.",
        PricebookPublishedData,
    ),
    EventType(
        "webhook.test",
        'Sent by "send test event", only to the endpoint it was asked for, whatever that '
        "endpoint's filter.",
        WebhookTestData,
        tenant_subscribable=False,
    ),
    EventType(
        "webhook.endpoint_disabled",
        "An endpoint that had failed for 5 days was disabled. Sent to the tenant's other "
        "endpoints that subscribe to it.",
        EndpointDisabledData,
    ),
)

GROUPS = frozenset(name.split(".", 1)[0] for name in CATALOGUE)
_TIMESTAMP: TypeAdapter[datetime] = TypeAdapter(Timestamp)


def is_known(name: str) -> bool:
    return name in CATALOGUE


def _event(name: str) -> EventType:
    try:
        return CATALOGUE[name]
    except KeyError:
        raise ValueError(f"type: unknown event type {name!r}") from None


def envelope_schema(name: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a whole `name` payload, with every $def at the top."""
    event = _event(name)
    data = event.data.model_json_schema(ref_template="#/$defs/{model}")
    defs = data.pop("$defs", {})
    schema: dict[str, Any] = {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": name,
        "description": event.description,
        "type": "object",
        "properties": {
            "type": {"const": name},
            "timestamp": {"type": "string", "format": "date-time"},
            "data": data,
        },
        "required": list(ENVELOPE_KEYS),
        "additionalProperties": False,
    }
    if defs:
        schema["$defs"] = defs
    return schema


def _problems(error: ValidationError) -> str:
    return "; ".join(
        ".".join(["data", *(str(part) for part in e["loc"])]) + f": {e['msg']}"
        for e in error.errors()
    )


def validate_payload(payload: dict[str, Any]) -> None:
    """Raise ValueError naming what is wrong unless `payload` is exactly what Bob may send."""
    if not isinstance(payload, dict):
        raise ValueError("payload: must be an object")
    missing = [key for key in ENVELOPE_KEYS if key not in payload]
    if missing:
        raise ValueError(f"payload: missing {', '.join(missing)}")
    extra = sorted(set(payload) - set(ENVELOPE_KEYS))
    if extra:
        raise ValueError(f"payload: unexpected {', '.join(map(str, extra))}")
    name = payload["type"]
    if not isinstance(name, str):
        raise ValueError("type: must be a string")
    event = _event(name)
    timestamp = payload["timestamp"]
    if not isinstance(timestamp, str):
        raise ValueError("timestamp: must be an ISO-8601 string")
    try:
        moment = _TIMESTAMP.validate_json(json.dumps(timestamp), strict=True)
    except ValidationError:
        raise ValueError(f"timestamp: {timestamp!r} is not an ISO-8601 time with a zone") from None
    if moment.utcoffset() != timedelta(0):
        raise ValueError(f"timestamp: {timestamp!r} is not UTC")
    try:
        data = json.dumps(payload["data"])
    except (TypeError, ValueError):
        raise ValueError("data: not serialisable as JSON") from None
    try:
        # Strict JSON mode: ids and times arrive as strings, but "5" is no number and 1 no bool.
        event.data.model_validate_json(data, strict=True)
    except ValidationError as error:
        raise ValueError(_problems(error)) from None


def matches(subscribed: list[str], name: str) -> bool:
    """Whether an endpoint's filter asks for `name`: "*", "<group>.*", or the exact name."""
    group = f"{name.split('.', 1)[0]}.*" if "." in name else None
    return any(entry in ("*", name, group) for entry in subscribed)


def _filter_problem(message: str) -> ValidationFailed:
    text = f"event_types: {message}"
    return ValidationFailed(text, fields=[{"field": "event_types", "message": message}])


def check_filter(subscribed: list[str]) -> list[str]:
    """A user's filter, cleaned: known names or groups only, no duplicates, "*" alone."""
    if not isinstance(subscribed, list) or not subscribed:
        raise _filter_problem('give at least one event type, or "*" for all')
    if len(subscribed) > MAX_FILTER_ENTRIES:
        raise _filter_problem(f"at most {MAX_FILTER_ENTRIES} entries")
    cleaned: list[str] = []
    unknown: list[str] = []
    on_request: list[str] = []
    for raw in subscribed:
        entry = raw.strip() if isinstance(raw, str) else repr(raw)
        if entry in cleaned or entry in unknown or entry in on_request:
            continue
        if entry == "*" or (entry.endswith(".*") and entry[:-2] in GROUPS):
            cleaned.append(entry)
        elif entry in CATALOGUE and not CATALOGUE[entry].tenant_subscribable:
            on_request.append(entry)
        elif entry in CATALOGUE:
            cleaned.append(entry)
        else:
            unknown.append(entry)
    if unknown:
        known = ", ".join(name for name, t in CATALOGUE.items() if t.tenant_subscribable)
        raise _filter_problem(
            f"unknown {', '.join(repr(e) for e in unknown)}; "
            f'use "*", "<group>.*" or one of: {known}'
        )
    if on_request:
        raise _filter_problem(
            f"{', '.join(on_request)} is sent on request to one endpoint; no filter can ask for it"
        )
    return ["*"] if "*" in cleaned else cleaned


# ---- examples for the docs and the API -------------------------------------------------------

_TENANT = {"tenant_id": "8f14e45f-ceea-467f-a0e6-7b3e4d5c2a10", "business_id": "acme-bikes"}
_TIMESTAMP_EXAMPLE = "2026-03-14T09:30:02.418000+00:00"
_CONVERSATION = {
    "id": "0b7c6f5e-2d1a-4c3b-9e8f-1a2b3c4d5e6f",
    "session_id": "s_4K9vQm2xTq7LwZ3n",
    "channel": "widget",
    "status": "bot",
}
_ENDPOINT = {
    "id": "5e2d9c1b-7a4f-4e3d-8c2b-9f0e1d2c3b4a",
    "url": "https://hooks.acme-bikes.example/bob",
}

_EXAMPLE_DATA: dict[str, dict[str, Any]] = {
    "conversation.created": {"conversation": _CONVERSATION},
    "message.created": {
        "conversation": _CONVERSATION,
        "message": {
            "id": "3c9a1e7d-5b2f-4d8a-b6c4-2e1f0a9b8c7d",
            "role": "assistant",
            "content": "Our workshop is open Monday to Saturday, 9:00 to 18:00.",
            "created_at": "2026-03-14T09:30:02.401000+00:00",
        },
    },
    "conversation.handoff_requested": {
        "conversation": {**_CONVERSATION, "status": "pending_human"},
        "reason": "visitor_request",
    },
    "conversation.assigned": {
        "conversation": {**_CONVERSATION, "status": "human"},
        "assignee": {
            "id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
            "email": "maria@acme-bikes.example",
            "name": "Maria Lopez",
        },
    },
    "conversation.closed": {"conversation": {**_CONVERSATION, "status": "closed"}},
    "conversation.returned_to_bot": {"conversation": {**_CONVERSATION, "status": "bot"}},
    "persona.updated": {
        "persona": {
            "id": "6d5c4b3a-2f1e-4d0c-9b8a-7f6e5d4c3b2a",
            "name": "Workshop assistant",
            "is_default": True,
            "change": "updated",
        }
    },
    "widget.key_rotated": {
        "widget_key": {
            "id": "9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c5b",
            "label": "Main website",
            "is_primary": True,
        }
    },
    "credits.threshold_reached": {
        "credits": {"granted": 15000, "remaining": 3000, "threshold": 0.8}
    },
    "credits.exhausted": {"credits": {"granted": 15000, "remaining": 0, "at_zero": "handoff"}},
    "credits.low": {"credits": {"granted": 15000, "remaining": 1499, "threshold": 1500}},
    "pricebook.published": {
        "pricebook": {
            "version": 3,
            "plans": [
                {
                    "code": "starter",
                    "name": "Starter",
                    "monthly_price_cents": 2900,
                    "included_credits": 2000,
                    "seats": 2,
                    "integrations": 1,
                    "support": "email",
                },
                {
                    "code": "pro",
                    "name": "Pro",
                    "monthly_price_cents": 9900,
                    "included_credits": 15000,
                    "seats": 10,
                    "integrations": 5,
                    "support": "priority email",
                },
                {
                    "code": "enterprise",
                    "name": "Enterprise",
                    "monthly_price_cents": 49900,
                    "included_credits": 100000,
                    "seats": None,
                    "integrations": 50,
                    "support": "dedicated",
                },
            ],
        }
    },
    "webhook.test": {
        "endpoint": _ENDPOINT,
        "message": "This is a test event from Bob.",
    },
    "webhook.endpoint_disabled": {
        "endpoint": {
            **_ENDPOINT,
            "failing_since": "2026-03-09T09:12:40+00:00",
            "disabled_at": "2026-03-14T09:30:02.418000+00:00",
        },
        "reason": "every delivery failed for 5 days",
    },
}


def example(name: str) -> dict[str, Any]:
    """A realistic `name` payload with fixed ids and times, for the docs and the API."""
    _event(name)
    return {
        "type": name,
        "timestamp": _TIMESTAMP_EXAMPLE,
        "data": copy.deepcopy({**_TENANT, **_EXAMPLE_DATA[name]}),
    }
