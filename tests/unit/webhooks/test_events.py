"""The webhook event catalogue: examples, JSON Schemas, strict payload checks and filters."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bob.errors import ValidationFailed
from bob.events import catalogue

NAMES = list(catalogue.CATALOGUE)

EXPECTED_NAMES = [
    "conversation.created",
    "message.created",
    "conversation.handoff_requested",
    "conversation.assigned",
    "conversation.closed",
    "conversation.returned_to_bot",
    "persona.updated",
    "widget.key_rotated",
    "credits.threshold_reached",
    "credits.exhausted",
    "credits.low",
    "pricebook.published",
    "webhook.test",
    "webhook.endpoint_disabled",
]


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    assert ref.startswith("#/$defs/")
    return schema["$defs"][ref.removeprefix("#/$defs/")]  # type: ignore[no-any-return]


def rejected(payload: dict[str, Any]) -> str:
    with pytest.raises(ValueError) as caught:  # noqa: PT011 - the message is checked by callers
        catalogue.validate_payload(payload)
    return str(caught.value)


# ---- the catalogue -------------------------------------------------------------------------


def test_catalogue_lists_every_event_in_documentation_order() -> None:
    assert NAMES == EXPECTED_NAMES
    for name, event in catalogue.CATALOGUE.items():
        assert event.name == name
        assert event.description.strip().endswith(".")
        assert catalogue.is_known(name)


def test_only_the_test_event_is_sent_on_request() -> None:
    on_request = [n for n, e in catalogue.CATALOGUE.items() if not e.tenant_subscribable]
    assert on_request == ["webhook.test"]


def test_the_pricebook_event_says_it_goes_to_the_platform_tenant_only() -> None:
    assert "platform" in catalogue.CATALOGUE["pricebook.published"].description


@pytest.mark.parametrize("name", ["", "conversation", "conversation.*", "*", "Message.Created"])
def test_is_known_only_for_exact_names(name: str) -> None:
    assert not catalogue.is_known(name)


def test_business_id_pattern_matches_the_tenants_rule() -> None:
    from bob.tenants import service as tenants

    assert tenants.BUSINESS_ID.pattern == catalogue.BUSINESS_ID_PATTERN


# ---- examples ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_every_example_validates(name: str) -> None:
    payload = catalogue.example(name)
    assert payload["type"] == name
    assert payload["data"]["business_id"] == "acme-bikes"
    uuid.UUID(payload["data"]["tenant_id"])
    json.dumps(payload)
    catalogue.validate_payload(payload)
    catalogue.CATALOGUE[name].data.model_validate(payload["data"])


def test_examples_are_fixed_and_independent_copies() -> None:
    first = catalogue.example("message.created")
    first["data"]["message"]["content"] = "changed"
    second = catalogue.example("message.created")
    assert second["data"]["message"]["content"] != "changed"
    assert second == catalogue.example("message.created")


def test_example_of_an_unknown_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        catalogue.example("conversation.deleted")


# ---- JSON Schemas --------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_envelope_schema_structure(name: str) -> None:
    schema = catalogue.envelope_schema(name)
    json.loads(json.dumps(schema))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert sorted(schema["required"]) == ["data", "timestamp", "type"]
    assert schema["properties"]["type"] == {"const": name}
    assert schema["properties"]["timestamp"] == {"type": "string", "format": "date-time"}

    data = schema["properties"]["data"]
    assert "$defs" not in data, "definitions belong at the top, where the refs point"
    assert {"tenant_id", "business_id"} <= set(data["required"])
    assert data["properties"]["tenant_id"]["format"] == "uuid"
    assert "pattern" in data["properties"]["business_id"]

    defs = schema.get("$defs", {})
    refs = [node["$ref"] for node in walk(schema) if "$ref" in node]
    for ref in refs:
        assert ref.startswith("#/$defs/")
        assert ref.removeprefix("#/$defs/") in defs
    # Every object in the schema, nested ones too, is as closed as the models.
    for node in walk(schema):
        if node.get("type") == "object" and "properties" in node:
            assert node["additionalProperties"] is False, node.get("title")


@pytest.mark.parametrize("name", NAMES)
def test_schema_describes_every_key_of_the_example(name: str) -> None:
    schema = catalogue.envelope_schema(name)

    def check(node: dict[str, Any], value: Any) -> None:
        node = resolve(schema, node)
        if "anyOf" in node:
            options = [resolve(schema, o) for o in node["anyOf"]]
            if value is None:
                assert {"type": "null"} in options
                return
            node = next(o for o in options if o.get("type") != "null")
        if isinstance(value, dict):
            assert set(value) == set(node["properties"])
            assert set(node["required"]) <= set(value)
            for key, item in value.items():
                check(node["properties"][key], item)
        elif isinstance(value, list):
            for item in value:
                check(node["items"], item)
        elif isinstance(value, bool):
            assert node["type"] == "boolean"
        elif isinstance(value, int):
            assert node["type"] in ("integer", "number")
        elif isinstance(value, float):
            assert node["type"] == "number"
        else:
            assert node["type"] == "string"

    check(schema["properties"]["data"], catalogue.example(name)["data"])


def test_refs_resolve_for_an_event_with_nested_definitions() -> None:
    schema = catalogue.envelope_schema("pricebook.published")
    pricebook = resolve(schema, schema["properties"]["data"]["properties"]["pricebook"])
    plan = resolve(schema, pricebook["properties"]["plans"]["items"])
    assert plan["required"] == [
        "code",
        "name",
        "monthly_price_cents",
        "included_credits",
        "seats",
        "integrations",
        "support",
    ]


def test_envelope_schema_of_an_unknown_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        catalogue.envelope_schema("nope.nope")


# ---- validate_payload ----------------------------------------------------------------------


def test_the_shapes_chat_emits_validate() -> None:
    from bob.chat.lifecycle import conversation_data, message_data
    from bob.chat.models import Channel, Conversation, ConversationStatus, Message, Role
    from bob.db.types import utcnow

    conversation = Conversation(
        id=uuid.uuid4(),
        session_id="s_abc",
        channel=Channel.WIDGET,
        status=ConversationStatus.PENDING_HUMAN,
    )
    message = Message(id=uuid.uuid4(), role=Role.VISITOR, content="Hi", created_at=utcnow())
    payload = {
        "type": "message.created",
        "timestamp": utcnow().isoformat(),
        "data": {
            "tenant_id": str(uuid.uuid4()),
            "business_id": "acme-bikes",
            "conversation": conversation_data(conversation),
            "message": message_data(message),
        },
    }
    catalogue.validate_payload(json.loads(json.dumps(payload)))


def test_timestamp_with_z_is_utc_too() -> None:
    payload = catalogue.example("conversation.created")
    payload["timestamp"] = "2026-03-14T09:30:02Z"
    catalogue.validate_payload(payload)


def test_nullable_fields_accept_null() -> None:
    payload = catalogue.example("conversation.handoff_requested")
    payload["data"]["reason"] = None
    catalogue.validate_payload(payload)
    payload = catalogue.example("widget.key_rotated")
    payload["data"]["widget_key"]["label"] = None
    catalogue.validate_payload(payload)


def test_an_unknown_type_is_rejected() -> None:
    payload = catalogue.example("conversation.created")
    payload["type"] = "conversation.deleted"
    assert "conversation.deleted" in rejected(payload)


def test_a_known_type_with_another_types_data_is_rejected() -> None:
    payload = catalogue.example("conversation.created")
    payload["type"] = "message.created"
    assert "data.message" in rejected(payload)


@pytest.mark.parametrize("key", ["type", "timestamp", "data"])
def test_a_missing_envelope_key_is_rejected(key: str) -> None:
    payload = catalogue.example("conversation.created")
    del payload[key]
    assert key in rejected(payload)


def test_an_extra_envelope_key_is_rejected() -> None:
    payload = catalogue.example("conversation.created")
    payload["id"] = "evt_1"
    assert "unexpected id" in rejected(payload)


def test_a_payload_that_is_not_an_object_is_rejected() -> None:
    assert "object" in rejected([])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("timestamp", "problem"),
    [
        ("2026-03-14T09:30:02", "zone"),  # naive
        ("2026-03-14T09:30:02+01:00", "not UTC"),
        ("2026-03-14", "zone"),
        ("1773480602", "zone"),  # pydantic alone reads this as Unix time
        ("yesterday", "zone"),
        ("2026-02-30T09:30:02+00:00", "zone"),
        (1773480602, "string"),
    ],
)
def test_a_bad_timestamp_is_rejected(timestamp: Any, problem: str) -> None:
    payload = catalogue.example("conversation.created")
    payload["timestamp"] = timestamp
    message = rejected(payload)
    assert message.startswith("timestamp: ")
    assert problem in message


@pytest.mark.parametrize("key", ["tenant_id", "business_id"])
def test_data_without_the_tenant_is_rejected(key: str) -> None:
    payload = catalogue.example("conversation.closed")
    del payload["data"][key]
    assert f"data.{key}" in rejected(payload)


def test_extra_keys_in_data_are_rejected() -> None:
    payload = catalogue.example("conversation.closed")
    payload["data"]["secret"] = "x"
    assert "data.secret" in rejected(payload)


def test_extra_keys_in_nested_objects_are_rejected() -> None:
    payload = catalogue.example("message.created")
    payload["data"]["message"]["engine"] = "openai"
    assert "data.message.engine" in rejected(payload)


def _set(payload: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = payload["data"]
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[last] = value


@pytest.mark.parametrize(
    ("name", "path", "value"),
    [
        ("conversation.created", "tenant_id", "not-a-uuid"),
        ("conversation.created", "tenant_id", "8f14e45fceea467fa0e67b3e4d5c2a10"),  # no dashes
        ("conversation.created", "business_id", "Acme Bikes"),
        ("conversation.created", "business_id", "-acme"),
        ("conversation.created", "conversation.id", 42),
        ("conversation.created", "conversation.status", None),
        ("conversation.created", "conversation", "0b7c6f5e-2d1a-4c3b-9e8f-1a2b3c4d5e6f"),
        ("message.created", "message.created_at", "1773480602"),
        ("message.created", "message.created_at", "2026-03-14T09:30:02"),
        ("message.created", "message.content", None),
        ("conversation.handoff_requested", "reason", 3),
        ("conversation.assigned", "assignee.email", None),
        ("persona.updated", "persona.is_default", "true"),
        ("persona.updated", "persona.is_default", 1),
        ("widget.key_rotated", "widget_key.is_primary", "yes"),
        ("credits.threshold_reached", "credits.granted", "15000"),
        ("credits.threshold_reached", "credits.remaining", 2999.5),
        ("credits.threshold_reached", "credits.threshold", 80),
        ("credits.exhausted", "credits.at_zero", None),
        ("pricebook.published", "pricebook.version", "3"),
        ("pricebook.published", "pricebook.plans", {}),
        ("pricebook.published", "pricebook.plans.0.monthly_price_cents", 29.0),
        ("pricebook.published", "pricebook.plans.2.seats", "unlimited"),
        ("webhook.test", "message", None),
        ("webhook.endpoint_disabled", "endpoint.failing_since", None),
        ("webhook.endpoint_disabled", "reason", None),
    ],
)
def test_wrong_field_types_are_rejected(name: str, path: str, value: Any) -> None:
    payload = catalogue.example(name)
    _set(payload, path, value)
    message = rejected(payload)
    assert message.startswith(f"data.{path}"), message


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("conversation.created", "conversation.session_id"),
        ("message.created", "message.role"),
        ("conversation.assigned", "assignee.name"),
        ("persona.updated", "persona.change"),
        ("credits.exhausted", "credits.remaining"),
        ("pricebook.published", "pricebook.plans.1.support"),
        ("webhook.test", "endpoint.url"),
        ("webhook.endpoint_disabled", "endpoint.disabled_at"),
    ],
)
def test_missing_fields_are_rejected(name: str, path: str) -> None:
    payload = catalogue.example(name)
    *parents, last = path.split(".")
    node = payload["data"]
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    del node[last]
    assert f"data.{path}" in rejected(payload)


def test_data_that_is_not_json_is_rejected() -> None:
    payload = catalogue.example("webhook.test")
    payload["data"]["message"] = {1, 2}
    assert rejected(payload).startswith("data: ")


def test_models_accept_json_strings_in_lax_mode_too() -> None:
    data = catalogue.example("webhook.endpoint_disabled")["data"]
    parsed = catalogue.CATALOGUE["webhook.endpoint_disabled"].data.model_validate(data)
    assert isinstance(parsed.tenant_id, uuid.UUID)  # type: ignore[attr-defined]
    assert parsed.endpoint.failing_since.tzinfo is not None  # type: ignore[attr-defined]


def test_validating_does_not_change_the_payload() -> None:
    payload = catalogue.example("pricebook.published")
    before = copy.deepcopy(payload)
    catalogue.validate_payload(payload)
    assert payload == before


# ---- filters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subscribed", "name", "expected"),
    [
        (["*"], "conversation.created", True),
        (["*"], "pricebook.published", True),
        (["conversation.*"], "conversation.created", True),
        (["conversation.*"], "conversation.handoff_requested", True),
        (["conversation.*"], "message.created", False),
        (["conversation.*"], "conversation", False),
        (["message.created"], "message.created", True),
        (["message.created"], "message.deleted", False),
        (["message"], "message.created", False),
        (["message.*"], "messages.created", False),
        (["credits.exhausted", "persona.*"], "persona.updated", True),
        (["credits.exhausted", "persona.*"], "credits.threshold_reached", False),
        ([], "conversation.created", False),
    ],
)
def test_matches(subscribed: list[str], name: str, expected: bool) -> None:
    assert catalogue.matches(subscribed, name) is expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["*"], ["*"]),
        ([" * "], ["*"]),
        (["conversation.created"], ["conversation.created"]),
        (["conversation.*", "message.created"], ["conversation.*", "message.created"]),
        (["  message.created\n", "message.created"], ["message.created"]),
        (["persona.updated", "credits.*", "persona.updated"], ["persona.updated", "credits.*"]),
        (["message.created", "*", "credits.*"], ["*"]),
        (["webhook.*"], ["webhook.*"]),
        (["webhook.endpoint_disabled"], ["webhook.endpoint_disabled"]),
        (list(EXPECTED_NAMES[:10]), list(EXPECTED_NAMES[:10])),
        (["conversation.created"] * 50, ["conversation.created"]),
    ],
)
def test_check_filter_cleans(given: list[str], expected: list[str]) -> None:
    assert catalogue.check_filter(given) == expected


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ([], ["at least one"]),
        (["conversation.created"] * 51, ["at most 50"]),
        (["conversation.deleted"], ["'conversation.deleted'"]),
        (["nope.*"], ["'nope.*'"]),
        (["conversation"], ["'conversation'"]),
        (["Conversation.Created"], ["'Conversation.Created'"]),
        ([""], ["''"]),
        (["**"], ["'**'"]),
        (["conversation.*.*"], ["'conversation.*.*'"]),
        (["message.created", "a.b", "c", "a.b"], ["'a.b'", "'c'"]),
        (["webhook.test"], ["webhook.test", "on request"]),
    ],
)
def test_check_filter_refuses(given: list[str], named: list[str]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        catalogue.check_filter(given)
    message = caught.value.message
    assert message.startswith("event_types: ")
    for part in named:
        assert part in message
    assert caught.value.fields == [
        {"field": "event_types", "message": message.removeprefix("event_types: ")}
    ]


def test_check_filter_names_each_unknown_entry_once_and_lists_the_known_ones() -> None:
    with pytest.raises(ValidationFailed) as caught:
        catalogue.check_filter(["a.b", "message.created", "a.b"])
    message = caught.value.message
    assert message.count("'a.b'") == 1
    assert "conversation.created" in message
    assert "webhook.endpoint_disabled" in message
    assert "webhook.test" not in message


def test_docs_list_every_event_of_the_catalogue() -> None:
    docs = (Path(__file__).resolve().parents[3] / "docs" / "webhooks.md").read_text()
    documented = {
        line.split("`")[1]
        for line in docs.splitlines()
        if line.startswith("| `") and "." in line.split("`")[1]
    }
    assert {n for n in documented if not n.startswith("BOB_")} == set(catalogue.CATALOGUE)
