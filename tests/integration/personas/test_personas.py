from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bob.auth.permissions import Role
from bob.db.session import Database
from bob.events.models import Event
from bob.settings import Settings
from tests.factories import TenantWithOwner, bearer, make_admin, make_member, make_tenant

PERSONAS = "/api/personas"
SEED = {
    "name": "Ada",
    "description": "Answers questions about opening hours.",
    "tone": "warm and precise",
    "systemPrompt": "You are Ada, the front desk of a small bakery.",
}


async def _owner(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> tuple[TenantWithOwner, dict[str, str]]:
    made = await make_tenant(db, settings)
    return made, await bearer(client, made.owner_email)


async def _personas(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get(PERSONAS, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _default(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    defaults = [p for p in await _personas(client, headers) if p["is_default"]]
    assert len(defaults) == 1, defaults
    return defaults[0]


async def _create(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: str
) -> dict[str, Any]:
    response = await client.post(PERSONAS, json={**SEED, **fields}, headers=headers)
    assert response.status_code == 201, response.text
    persona: dict[str, Any] = response.json()
    return persona


async def _events(db: Database, tenant_id: uuid.UUID) -> list[Event]:
    async with db.transaction() as s:
        rows = await s.scalars(
            select(Event)
            .where(Event.tenant_id == tenant_id, Event.type == "persona.updated")
            .order_by(Event.created_at)
        )
        return list(rows)


async def test_a_new_tenant_has_exactly_one_default_persona(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made, owner = await _owner(client, db, settings)
    items = await _personas(client, owner)
    assert len(items) == 1
    default = items[0]
    assert default["is_default"] is True
    assert default["name"] == "Bob"
    assert default["systemPrompt"]
    assert "system_prompt" not in default
    fetched = await client.get(f"{PERSONAS}/{default['id']}", headers=owner)
    assert fetched.status_code == 200
    assert fetched.json() == default
    # Creating the tenant's default is not a change anybody made: no persona event yet.
    assert await _events(db, made.tenant.id) == []


@pytest.mark.parametrize("prompt_key", ["systemPrompt", "system_prompt"])
async def test_create_with_the_published_seed_object(
    client: httpx.AsyncClient, db: Database, settings: Settings, prompt_key: str
) -> None:
    _, owner = await _owner(client, db, settings)
    body = {k: v for k, v in SEED.items() if k != "systemPrompt"}
    body[prompt_key] = "Speak like a lighthouse keeper."
    created = await client.post(PERSONAS, json=body, headers=owner)
    assert created.status_code == 201, created.text
    persona = created.json()
    assert persona["name"] == SEED["name"]
    assert persona["description"] == SEED["description"]
    assert persona["tone"] == SEED["tone"]
    assert persona["systemPrompt"] == "Speak like a lighthouse keeper."
    assert "system_prompt" not in persona
    assert persona["is_default"] is False
    uuid.UUID(persona["id"])

    fetched = await client.get(f"{PERSONAS}/{persona['id']}", headers=owner)
    assert fetched.status_code == 200
    assert fetched.json() == persona
    items = await _personas(client, owner)
    assert {p["id"] for p in items} >= {persona["id"]}
    assert len(items) == 2
    assert [p["name"] for p in items if p["is_default"]] == ["Bob"]


async def test_list_is_paginated(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    _, owner = await _owner(client, db, settings)
    for n in range(2):
        await _create(client, owner, name=f"Persona {n}")
    first = await client.get(PERSONAS, params={"limit": 2}, headers=owner)
    assert first.status_code == 200
    page = first.json()
    assert len(page["items"]) == 2
    assert page["next_cursor"]
    rest = await client.get(
        PERSONAS, params={"limit": 2, "cursor": page["next_cursor"]}, headers=owner
    )
    assert rest.status_code == 200
    assert rest.json()["next_cursor"] is None
    ids = [p["id"] for p in page["items"] + rest.json()["items"]]
    assert len(ids) == len(set(ids)) == 3


async def test_patch_changes_only_the_given_fields(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    _, owner = await _owner(client, db, settings)
    persona = await _create(client, owner)
    path = f"{PERSONAS}/{persona['id']}"

    renamed = await client.patch(
        path, json={"name": "Grace", "systemPrompt": "Be brief."}, headers=owner
    )
    assert renamed.status_code == 200, renamed.text
    body = renamed.json()
    assert body["name"] == "Grace"
    assert body["systemPrompt"] == "Be brief."
    assert body["description"] == SEED["description"]
    assert body["tone"] == SEED["tone"]
    assert body["is_default"] is False

    snake = await client.patch(
        path, json={"system_prompt": "Be briefer.", "tone": "dry"}, headers=owner
    )
    assert snake.status_code == 200, snake.text
    assert snake.json()["systemPrompt"] == "Be briefer."
    assert snake.json()["tone"] == "dry"

    fetched = (await client.get(path, headers=owner)).json()
    assert fetched["name"] == "Grace"
    assert fetched["systemPrompt"] == "Be briefer."
    assert fetched["tone"] == "dry"
    assert fetched["description"] == SEED["description"]


async def test_setting_the_default_moves_it(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    _, owner = await _owner(client, db, settings)
    old = await _default(client, owner)
    new = await _create(client, owner)

    moved = await client.post(f"{PERSONAS}/{new['id']}/default", headers=owner)
    assert moved.status_code == 200, moved.text
    assert moved.json()["id"] == new["id"]
    assert moved.json()["is_default"] is True
    assert (await _default(client, owner))["id"] == new["id"]
    old_now = (await client.get(f"{PERSONAS}/{old['id']}", headers=owner)).json()
    assert old_now["is_default"] is False

    # Again: still exactly one default, the same one.
    again = await client.post(f"{PERSONAS}/{new['id']}/default", headers=owner)
    assert again.status_code == 200
    assert (await _default(client, owner))["id"] == new["id"]

    # And back, through a third persona in between.
    third = await _create(client, owner, name="Third")
    assert (await client.post(f"{PERSONAS}/{third['id']}/default", headers=owner)).is_success
    assert (await client.post(f"{PERSONAS}/{old['id']}/default", headers=owner)).is_success
    assert (await _default(client, owner))["id"] == old["id"]
    assert sum(p["is_default"] for p in await _personas(client, owner)) == 1


async def test_the_default_cannot_be_deleted_but_another_can(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made, owner = await _owner(client, db, settings)
    default = await _default(client, owner)
    refused = await client.delete(f"{PERSONAS}/{default['id']}", headers=owner)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "default_persona"
    assert (await client.get(f"{PERSONAS}/{default['id']}", headers=owner)).status_code == 200
    assert await _events(db, made.tenant.id) == []

    other = await _create(client, owner)
    deleted = await client.delete(f"{PERSONAS}/{other['id']}", headers=owner)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert (await client.get(f"{PERSONAS}/{other['id']}", headers=owner)).status_code == 404
    assert (await client.delete(f"{PERSONAS}/{other['id']}", headers=owner)).status_code == 404
    assert [p["id"] for p in await _personas(client, owner)] == [default["id"]]

    # Once another persona is the default, the old default may go.
    replacement = await _create(client, owner, name="Replacement")
    await client.post(f"{PERSONAS}/{replacement['id']}/default", headers=owner)
    gone = await client.delete(f"{PERSONAS}/{default['id']}", headers=owner)
    assert gone.status_code == 204
    assert [p["id"] for p in await _personas(client, owner)] == [replacement["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "   "}, "name"),
        ({"description": "no name"}, "name"),
        ({"name": "Ok", "tone": "t" * 201}, "tone"),
        ({"name": "Ok", "systemPrompt": "p" * 8001}, "systemPrompt"),
    ],
)
async def test_create_validation_names_the_field(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    body: dict[str, str],
    field: str,
) -> None:
    _, owner = await _owner(client, db, settings)
    response = await client.post(PERSONAS, json=body, headers=owner)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["message"]
    assert field in {f["field"] for f in error["fields"]}
    assert len(await _personas(client, owner)) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": ""}, "name"), ({"name": "x" * 101}, "name"), ({"name": " \t "}, "name")],
)
async def test_patch_validation_names_the_field(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    body: dict[str, str],
    field: str,
) -> None:
    _, owner = await _owner(client, db, settings)
    default = await _default(client, owner)
    response = await client.patch(f"{PERSONAS}/{default['id']}", json=body, headers=owner)
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["message"]
    assert (await _default(client, owner))["name"] == "Bob"


async def test_a_name_of_exactly_100_characters_is_fine_and_is_trimmed(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    _, owner = await _owner(client, db, settings)
    assert (await _create(client, owner, name="n" * 100))["name"] == "n" * 100
    assert (await _create(client, owner, name="  Spaced  "))["name"] == "Spaced"


@pytest.mark.parametrize("role", [Role.AGENT, Role.VIEWER])
async def test_agents_and_viewers_read_but_cannot_change_personas(
    client: httpx.AsyncClient, db: Database, settings: Settings, role: Role
) -> None:
    made, owner = await _owner(client, db, settings)
    default = await _default(client, owner)
    other = await _create(client, owner)
    member = await make_member(db, settings, made.tenant, role)
    headers = await bearer(client, member.email)

    assert {p["id"] for p in await _personas(client, headers)} == {default["id"], other["id"]}
    fetched = await client.get(f"{PERSONAS}/{default['id']}", headers=headers)
    assert fetched.status_code == 200
    assert fetched.json()["name"] == "Bob"

    for method, path, body in [
        ("POST", PERSONAS, SEED),
        ("PATCH", f"{PERSONAS}/{default['id']}", {"name": "Hacked"}),
        ("DELETE", f"{PERSONAS}/{other['id']}", None),
        ("POST", f"{PERSONAS}/{other['id']}/default", None),
    ]:
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, (method, path, response.text)
        assert "persona.manage" in response.json()["error"]["message"]

    after = await _personas(client, owner)
    assert {p["id"] for p in after} == {default["id"], other["id"]}
    assert (await _default(client, owner))["name"] == "Bob"
    assert (await _default(client, owner))["id"] == default["id"]
    assert await _events(db, made.tenant.id) != []  # only the owner's create
    assert len(await _events(db, made.tenant.id)) == 1


async def test_admins_manage_personas(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    admin = await make_member(db, settings, made.tenant, Role.ADMIN)
    headers = await bearer(client, admin.email)
    persona = await _create(client, headers)
    moved = await client.post(f"{PERSONAS}/{persona['id']}/default", headers=headers)
    assert moved.status_code == 200
    assert (await _default(client, headers))["id"] == persona["id"]


async def test_anonymous_callers_get_401(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    _, owner = await _owner(client, db, settings)
    default = await _default(client, owner)
    for method, path, body in [
        ("GET", PERSONAS, None),
        ("GET", f"{PERSONAS}/{default['id']}", None),
        ("POST", PERSONAS, SEED),
        ("PATCH", f"{PERSONAS}/{default['id']}", {"name": "Anon"}),
        ("DELETE", f"{PERSONAS}/{default['id']}", None),
        ("POST", f"{PERSONAS}/{default['id']}/default", None),
    ]:
        response = await client.request(method, path, json=body)
        assert response.status_code == 401, (method, path, response.text)
    assert (await _default(client, owner))["name"] == "Bob"
    assert len(await _personas(client, owner)) == 1


async def test_a_platform_admin_manages_the_platform_personas_not_a_business(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made, owner = await _owner(client, db, settings)
    default = await _default(client, owner)
    admin = await make_admin(db, settings)
    headers = await bearer(client, admin.email, admin=True)
    platform = await client.get(PERSONAS, headers=headers)
    assert platform.status_code == 200
    assert default["id"] not in {p["id"] for p in platform.json()["items"]}
    for method, path, body in [
        ("GET", f"{PERSONAS}/{default['id']}", None),
        ("PATCH", f"{PERSONAS}/{default['id']}", {"name": "Admin"}),
        ("DELETE", f"{PERSONAS}/{default['id']}", None),
        ("POST", f"{PERSONAS}/{default['id']}/default", None),
    ]:
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status_code == 404, (method, path, response.text)
    assert await _personas(client, owner) == [default]
    assert await _events(db, made.tenant.id) == []


async def test_another_tenants_persona_is_404_and_untouched(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    a, a_owner = await _owner(client, db, settings)
    b, b_owner = await _owner(client, db, settings)
    b_default = await _default(client, b_owner)
    b_other = await _create(client, b_owner, name="B's other")
    a_default = await _default(client, a_owner)
    b_before = await _personas(client, b_owner)

    assert {p["id"] for p in await _personas(client, a_owner)} == {a_default["id"]}
    for persona in (b_default, b_other):
        path = f"{PERSONAS}/{persona['id']}"
        assert (await client.get(path, headers=a_owner)).status_code == 404
        patched = await client.patch(path, json={"name": "Stolen"}, headers=a_owner)
        assert patched.status_code == 404
        assert patched.json()["error"]["code"] == "not_found"
        assert (await client.delete(path, headers=a_owner)).status_code == 404
        assert (await client.post(f"{path}/default", headers=a_owner)).status_code == 404

    assert await _personas(client, b_owner) == b_before
    assert await _default(client, a_owner) == a_default
    assert await _events(db, a.tenant.id) == []
    assert len(await _events(db, b.tenant.id)) == 1  # B's own create


async def test_every_change_is_audited_and_emits_persona_updated(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made, owner = await _owner(client, db, settings)
    old_default = await _default(client, owner)
    persona = await _create(client, owner)
    path = f"{PERSONAS}/{persona['id']}"
    assert (await client.patch(path, json={"tone": "crisp"}, headers=owner)).is_success
    # A PATCH that changes nothing records nothing.
    assert (await client.patch(path, json={"tone": "crisp"}, headers=owner)).is_success
    assert (await client.post(f"{path}/default", headers=owner)).is_success
    old_path = f"{PERSONAS}/{old_default['id']}"
    assert (await client.delete(old_path, headers=owner)).status_code == 204

    log = await client.get("/api/audit", headers=owner)
    assert log.status_code == 200
    entries = [e for e in log.json()["items"] if e["action"].startswith("persona.")]
    # Newest first.
    assert [(e["action"], e["target_id"]) for e in entries] == [
        ("persona.deleted", old_default["id"]),
        ("persona.default_set", persona["id"]),
        ("persona.updated", persona["id"]),
        ("persona.created", persona["id"]),
    ]
    assert all(e["target_type"] == "persona" for e in entries)
    assert all(e["actor_label"] == made.owner_email for e in entries)
    assert entries[2]["data"]["fields"] == ["tone"]
    assert entries[3]["data"]["name"] == SEED["name"]

    events = await _events(db, made.tenant.id)
    assert len(events) == 4
    changes = []
    for event in events:
        payload = event.payload
        assert payload["type"] == "persona.updated"
        datetime.fromisoformat(payload["timestamp"])
        data = payload["data"]
        assert data["tenant_id"] == str(made.tenant.id)
        assert data["business_id"] == made.tenant.business_id
        changes.append((data["persona"]["id"], data["persona"]["change"]))
    assert changes == [
        (persona["id"], "created"),
        (persona["id"], "updated"),
        (persona["id"], "default_set"),
        (old_default["id"], "deleted"),
    ]
    assert events[2].payload["data"]["persona"]["is_default"] is True
