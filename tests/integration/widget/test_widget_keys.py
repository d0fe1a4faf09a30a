from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bob.auth.permissions import Role
from bob.db.session import Database
from bob.errors import Unauthorized
from bob.events.models import Event
from bob.settings import Settings
from bob.widget import service as widget
from tests.factories import TenantWithOwner, bearer, make_admin, make_member, make_tenant

KEYS = "/api/customer-portal/widget/keys"
KEY_VALUE = re.compile(r"^pk_live_[A-Za-z0-9_-]{32}$")


async def _owner(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> tuple[TenantWithOwner, dict[str, str]]:
    made = await make_tenant(db, settings)
    return made, await bearer(client, made.owner_email)


async def _keys(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get(KEYS, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _primary(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    primaries = [k for k in await _keys(client, headers) if k["is_primary"]]
    assert len(primaries) == 1, primaries
    return primaries[0]


async def _create(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    origins: list[str] | None = None,
    label: str = "Shop",
) -> dict[str, Any]:
    response = await client.post(
        KEYS, json={"label": label, "allowed_origins": origins or []}, headers=headers
    )
    assert response.status_code == 201, response.text
    key: dict[str, Any] = response.json()
    return key


async def _events(db: Database, tenant_id: uuid.UUID, type: str) -> list[Event]:
    async with db.transaction() as s:
        rows = await s.scalars(
            select(Event)
            .where(Event.tenant_id == tenant_id, Event.type == type)
            .order_by(Event.created_at)
        )
        return list(rows)


async def test_a_new_tenant_has_one_primary_key_that_allows_nothing(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    _, owner = await _owner(client, db, settings)
    keys = await _keys(client, owner)
    assert len(keys) == 1
    primary = keys[0]
    assert primary["is_primary"] is True
    assert primary["status"] == "active"
    assert KEY_VALUE.fullmatch(primary["key"]), primary["key"]
    assert primary["allowed_origins"] == []
    assert primary["revoked_at"] is None
    assert primary["rotated_at"] is None
    # Each tenant has a key of its own.
    _, other = await _owner(client, db, settings)
    assert (await _primary(client, other))["key"] != primary["key"]


async def test_created_keys_get_normalised_origins(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    _, owner = await _owner(client, db, settings)
    primary = await _primary(client, owner)
    key = await _create(
        client,
        owner,
        [
            "https://Shop.Example.COM:443/",
            "https://shop.example.com",
            " https://shop.example.com ",
            "http://localhost:8080",
            "http://www.example.com:80",
            "https://bücher.example",
            "HTTPS://*.Example.com",
            "https://example.com.",
        ],
    )
    assert key["allowed_origins"] == [
        "http://localhost:8080",
        "http://www.example.com",
        "https://*.example.com",
        "https://example.com",
        "https://shop.example.com",
        "https://xn--bcher-kva.example",
    ]
    assert key["is_primary"] is False
    assert key["status"] == "active"
    assert key["label"] == "Shop"
    assert KEY_VALUE.fullmatch(key["key"])
    assert key["key"] != primary["key"]
    datetime.fromisoformat(key["created_at"])

    listed = {k["id"]: k for k in await _keys(client, owner)}
    assert set(listed) == {primary["id"], key["id"]}
    assert listed[key["id"]] == key
    # The primary comes first.
    assert (await _keys(client, owner))[0]["id"] == primary["id"]


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("https://EXAMPLE.com", "https://example.com"),
        ("https://example.com:443", "https://example.com"),
        ("http://example.com:80/", "http://example.com"),
        ("https://example.com:8443/", "https://example.com:8443"),
        ("http://example.com:443", "http://example.com:443"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
        ("https://*.example.com", "https://*.example.com"),
        ("https://*.Example.com:8443", "https://*.example.com:8443"),
        ("http://127.0.0.1:5173", "http://127.0.0.1:5173"),
    ],
)
async def test_one_origin_is_normalised(
    client: httpx.AsyncClient, db: Database, settings: Settings, given: str, stored: str
) -> None:
    _, owner = await _owner(client, db, settings)
    assert (await _create(client, owner, [given]))["allowed_origins"] == [stored]


INVALID_ORIGINS = [
    "example.com",
    "ftp://x.com",
    "https://x.com/path",
    "https://x.com?q=1",
    "https://x.com#top",
    "https://user@x.com",
    "https://user:pw@x.com",
    "https://@x.com",
    "https://*.com",
    "https://*",
    "https://*.*.example.com",
    "https://a*.example.com",
    "https://x.com:99999",
    "https://exa mple.com",
    "https://exa<mple.com",
    "https://" + ".".join(["a" * 63] * 5) + ".com",
    "javascript:alert(1)",
    "",
]


@pytest.mark.parametrize("origin", INVALID_ORIGINS)
async def test_invalid_origins_are_422_naming_allowed_origins(
    client: httpx.AsyncClient, db: Database, settings: Settings, origin: str
) -> None:
    _, owner = await _owner(client, db, settings)
    created = await client.post(
        KEYS,
        json={"label": "bad", "allowed_origins": ["https://fine.example.com", origin]},
        headers=owner,
    )
    assert created.status_code == 422, created.text
    error = created.json()["error"]
    assert error["code"] == "validation_error"
    assert "allowed_origins" in error["message"]

    primary = await _primary(client, owner)
    patched = await client.patch(
        f"{KEYS}/{primary['id']}", json={"allowed_origins": [origin]}, headers=owner
    )
    assert patched.status_code == 422, patched.text
    assert "allowed_origins" in patched.json()["error"]["message"]
    assert await _keys(client, owner) == [primary]


async def test_origins_must_be_a_list_of_strings(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    _, owner = await _owner(client, db, settings)
    for value in ("https://example.com", [1], ["https://a.example.com"] * 101):
        response = await client.post(KEYS, json={"allowed_origins": value}, headers=owner)
        assert response.status_code == 422, (value, response.text)
        assert "allowed_origins" in response.json()["error"]["message"]
    assert len(await _keys(client, owner)) == 1


async def test_patch_changes_label_and_replaces_origins(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    _, owner = await _owner(client, db, settings)
    key = await _create(client, owner, ["https://d.example.com", "https://c.example.com"])
    path = f"{KEYS}/{key['id']}"

    relabelled = await client.patch(path, json={"label": "  Storefront  "}, headers=owner)
    assert relabelled.status_code == 200, relabelled.text
    assert relabelled.json()["label"] == "Storefront"
    assert relabelled.json()["allowed_origins"] == [
        "https://c.example.com",
        "https://d.example.com",
    ]

    replaced = await client.patch(
        path,
        json={"allowed_origins": ["https://d.example.com", "https://B.example.com:443"]},
        headers=owner,
    )
    assert replaced.status_code == 200, replaced.text
    body = replaced.json()
    # Kept and added origins come back sorted, the dropped one is gone.
    assert body["allowed_origins"] == ["https://b.example.com", "https://d.example.com"]
    assert body["label"] == "Storefront"
    assert body["key"] == key["key"]
    assert body["id"] == key["id"]

    listed = {k["id"]: k for k in await _keys(client, owner)}
    assert listed[key["id"]]["allowed_origins"] == [
        "https://b.example.com",
        "https://d.example.com",
    ]
    assert listed[key["id"]]["label"] == "Storefront"

    emptied = await client.patch(path, json={"allowed_origins": []}, headers=owner)
    assert emptied.status_code == 200
    assert emptied.json()["allowed_origins"] == []
    assert emptied.json()["label"] == "Storefront"

    # Origins on the primary key can be set too; other keys are unaffected.
    primary = await _primary(client, owner)
    set_primary = await client.patch(
        f"{KEYS}/{primary['id']}",
        json={"allowed_origins": ["https://Shop.example.com"]},
        headers=owner,
    )
    assert set_primary.status_code == 200
    assert set_primary.json()["allowed_origins"] == ["https://shop.example.com"]
    assert {k["id"]: k for k in await _keys(client, owner)}[key["id"]]["allowed_origins"] == []


async def test_rotate_gives_a_new_value_for_the_same_key(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made, owner = await _owner(client, db, settings)
    key = await _create(client, owner, ["https://shop.example.com"])
    rotated = await client.post(f"{KEYS}/{key['id']}/rotate", headers=owner)
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    assert KEY_VALUE.fullmatch(body["key"])
    assert body["key"] != key["key"]
    assert body["id"] == key["id"]
    assert body["allowed_origins"] == ["https://shop.example.com"]
    assert body["label"] == key["label"]
    assert body["status"] == "active"
    assert body["rotated_at"] is not None

    # The old value stops working at once; the new one resolves to the same key.
    async with db.transaction() as s:
        with pytest.raises(Unauthorized):
            await widget.resolve_key(session=s, value=key["key"])
        access = await widget.resolve_key(session=s, value=body["key"])
        assert str(access.key.id) == key["id"]
        assert access.tenant.id == made.tenant.id

    events = await _events(db, made.tenant.id, "widget.key_rotated")
    assert len(events) == 1
    payload = events[0].payload
    assert payload["type"] == "widget.key_rotated"
    datetime.fromisoformat(payload["timestamp"])
    assert payload["data"]["tenant_id"] == str(made.tenant.id)
    assert payload["data"]["business_id"] == made.tenant.business_id
    assert payload["data"]["widget_key"]["id"] == key["id"]
    assert body["key"] not in str(payload)

    # The primary key rotates too.
    primary = await _primary(client, owner)
    again = await client.post(f"{KEYS}/{primary['id']}/rotate", headers=owner)
    assert again.status_code == 200
    assert again.json()["key"] != primary["key"]
    assert again.json()["is_primary"] is True
    assert len(await _events(db, made.tenant.id, "widget.key_rotated")) == 2


async def test_revoking_keys(client: httpx.AsyncClient, db: Database, settings: Settings) -> None:
    made, owner = await _owner(client, db, settings)
    primary = await _primary(client, owner)
    key = await _create(client, owner, ["https://shop.example.com"])
    path = f"{KEYS}/{key['id']}"

    revoked = await client.delete(path, headers=owner)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    assert revoked.json()["revoked_at"] is not None
    twice = await client.delete(path, headers=owner)
    assert twice.status_code == 200
    assert twice.json()["status"] == "revoked"
    assert twice.json()["revoked_at"] == revoked.json()["revoked_at"]
    listed = {k["id"]: k for k in await _keys(client, owner)}
    assert listed[key["id"]]["status"] == "revoked"
    async with db.transaction() as s:
        with pytest.raises(Unauthorized):
            await widget.resolve_key(session=s, value=key["key"])

    for response in (
        await client.patch(path, json={"label": "back"}, headers=owner),
        await client.patch(path, json={"allowed_origins": []}, headers=owner),
        await client.post(f"{path}/rotate", headers=owner),
    ):
        assert response.status_code == 409, response.text
        assert response.json()["error"]["code"] == "key_revoked"
    after = {k["id"]: k for k in await _keys(client, owner)}[key["id"]]
    assert after["key"] == key["key"]
    assert after["label"] == key["label"]
    assert after["allowed_origins"] == ["https://shop.example.com"]
    assert await _events(db, made.tenant.id, "widget.key_rotated") == []

    refused = await client.delete(f"{KEYS}/{primary['id']}", headers=owner)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "primary_key"
    assert (await _primary(client, owner))["status"] == "active"

    # A key created after revocations is not primary: the tenant still has its primary.
    newer = await _create(client, owner)
    assert newer["is_primary"] is False


async def test_admins_manage_widget_keys(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    admin = await make_member(db, settings, made.tenant, Role.ADMIN)
    headers = await bearer(client, admin.email)
    key = await _create(client, headers, ["https://shop.example.com"])
    path = f"{KEYS}/{key['id']}"
    assert (await client.patch(path, json={"label": "x"}, headers=headers)).status_code == 200
    assert (await client.post(f"{path}/rotate", headers=headers)).status_code == 200
    assert (await client.delete(path, headers=headers)).status_code == 200
    assert len(await _keys(client, headers)) == 2


@pytest.mark.parametrize("role", [Role.AGENT, Role.VIEWER])
async def test_agents_and_viewers_cannot_see_or_change_keys(
    client: httpx.AsyncClient, db: Database, settings: Settings, role: Role
) -> None:
    made, owner = await _owner(client, db, settings)
    key = await _create(client, owner, ["https://shop.example.com"])
    before = await _keys(client, owner)
    member = await make_member(db, settings, made.tenant, role)
    headers = await bearer(client, member.email)
    path = f"{KEYS}/{key['id']}"
    for method, url, body in [
        ("GET", KEYS, None),
        ("POST", KEYS, {"label": "mine", "allowed_origins": ["https://evil.example"]}),
        ("PATCH", path, {"allowed_origins": ["https://evil.example"]}),
        ("POST", f"{path}/rotate", None),
        ("DELETE", path, None),
    ]:
        response = await client.request(method, url, json=body, headers=headers)
        assert response.status_code == 403, (method, url, response.text)
        assert "widget.manage" in response.json()["error"]["message"]
    assert await _keys(client, owner) == before


async def test_anonymous_is_refused_and_a_platform_admin_sees_only_the_platform_keys(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    _, owner = await _owner(client, db, settings)
    key = await _create(client, owner)
    before = await _keys(client, owner)
    admin = await make_admin(db, settings)
    admin_headers = await bearer(client, admin.email, admin=True)
    path = f"{KEYS}/{key['id']}"
    for method, url, body in [
        ("GET", KEYS, None),
        ("POST", KEYS, {"label": "x"}),
        ("PATCH", path, {"label": "x"}),
        ("POST", f"{path}/rotate", None),
        ("DELETE", path, None),
    ]:
        anonymous = await client.request(method, url, json=body)
        assert anonymous.status_code == 401, (method, url, anonymous.text)
    # An admin acts for the platform tenant: a business's key is not found there.
    platform_keys = await client.get(KEYS, headers=admin_headers)
    assert platform_keys.status_code == 200
    assert key["id"] not in {k["id"] for k in platform_keys.json()["items"]}
    for method, url, body in [
        ("PATCH", path, {"label": "x"}),
        ("POST", f"{path}/rotate", None),
        ("DELETE", path, None),
    ]:
        as_admin = await client.request(method, url, json=body, headers=admin_headers)
        assert as_admin.status_code == 404, (method, url, as_admin.text)
    assert await _keys(client, owner) == before


async def test_another_tenants_key_is_404_and_unchanged(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    a, a_owner = await _owner(client, db, settings)
    b, b_owner = await _owner(client, db, settings)
    b_extra = await _create(client, b_owner, ["https://b.example.com"])
    b_before = await _keys(client, b_owner)
    a_before = await _keys(client, a_owner)
    assert {k["id"] for k in a_before}.isdisjoint({k["id"] for k in b_before})

    for key in b_before:
        path = f"{KEYS}/{key['id']}"
        for response in (
            await client.patch(
                path,
                json={"label": "stolen", "allowed_origins": ["https://evil.example"]},
                headers=a_owner,
            ),
            await client.post(f"{path}/rotate", headers=a_owner),
            await client.delete(path, headers=a_owner),
        ):
            assert response.status_code == 404, response.text
            assert response.json()["error"]["code"] == "not_found"

    assert await _keys(client, b_owner) == b_before
    assert await _keys(client, a_owner) == a_before
    assert b_extra in b_before
    assert await _events(db, b.tenant.id, "widget.key_rotated") == []
    assert await _events(db, a.tenant.id, "widget.key_rotated") == []


async def test_every_change_is_audited(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made, owner = await _owner(client, db, settings)
    key = await _create(client, owner, ["https://a.example.com"], label="Shop")
    path = f"{KEYS}/{key['id']}"
    await client.patch(
        path, json={"label": "Store", "allowed_origins": ["https://b.example.com"]}, headers=owner
    )
    # A PATCH that changes nothing records nothing.
    await client.patch(path, json={"label": "Store"}, headers=owner)
    await client.post(f"{path}/rotate", headers=owner)
    await client.delete(path, headers=owner)
    await client.delete(path, headers=owner)  # already revoked: nothing new

    log = await client.get("/api/audit", headers=owner)
    assert log.status_code == 200
    entries = [e for e in log.json()["items"] if e["action"].startswith("widget.")]
    assert [e["action"] for e in entries] == [
        "widget.key_revoked",
        "widget.key_rotated",
        "widget.key_updated",
        "widget.key_created",
    ]
    assert all(e["target_type"] == "widget_key" for e in entries)
    assert all(e["target_id"] == key["id"] for e in entries)
    assert all(e["actor_label"] == made.owner_email for e in entries)
    created, updated = entries[3], entries[2]
    assert created["data"]["label"] == "Shop"
    assert created["data"]["allowed_origins"] == ["https://a.example.com"]
    assert updated["data"]["label"] == ["Shop", "Store"]
    assert updated["data"]["allowed_origins"] == [
        ["https://a.example.com"],
        ["https://b.example.com"],
    ]
