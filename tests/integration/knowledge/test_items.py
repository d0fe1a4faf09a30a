from __future__ import annotations

import uuid

import httpx
import pytest

from bob.auth.permissions import Role
from bob.db.session import Database
from bob.settings import Settings
from tests.factories import bearer, make_member, make_tenant
from tests.integration.knowledge.conftest import Business


async def test_create_read_update_delete(business: Business, client: httpx.AsyncClient) -> None:
    created = await business.add(
        "  Opening hours ",
        "We open at 9.",
        tags=["info", "info", "hours"],
        source_url="https://shop.example.com/hours",
    )
    assert created["title"] == "Opening hours"
    assert created["tags"] == ["info", "hours"]
    assert created["source_url"] == "https://shop.example.com/hours"
    url = f"/api/knowledge/{created['id']}"

    read = await client.get(url, headers=business.owner)
    assert read.status_code == 200
    assert read.json()["content"] == "We open at 9."

    patched = await client.patch(
        url, json={"content": "We open at 10.", "tags": ["hours"]}, headers=business.owner
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["content"] == "We open at 10."
    assert patched.json()["title"] == "Opening hours"
    assert patched.json()["source_url"] == "https://shop.example.com/hours"

    cleared = await client.patch(url, json={"source_url": None}, headers=business.owner)
    assert cleared.json()["source_url"] is None
    assert cleared.json()["tags"] == ["hours"]

    deleted = await client.delete(url, headers=business.owner)
    assert deleted.status_code == 204
    assert (await client.get(url, headers=business.owner)).status_code == 404
    assert (await client.delete(url, headers=business.owner)).status_code == 404


async def test_every_change_is_audited(business: Business, client: httpx.AsyncClient) -> None:
    item = await business.add("Parking", "Free parking behind the shop.")
    await client.patch(
        f"/api/knowledge/{item['id']}", json={"title": "Car park"}, headers=business.owner
    )
    await client.delete(f"/api/knowledge/{item['id']}", headers=business.owner)
    await client.post(
        "/api/knowledge/import",
        files={"file": ("faq.txt", b"Hello", "text/plain")},
        headers=business.owner,
    )
    audit = await client.get("/api/audit", headers=business.owner)
    entries = {e["action"]: e for e in audit.json()["items"]}
    assert entries["knowledge.created"]["target_id"] == item["id"]
    assert entries["knowledge.updated"]["data"]["title"] == ["Parking", "Car park"]
    assert entries["knowledge.deleted"]["data"]["title"] == "Car park"
    assert entries["knowledge.imported"]["data"]["items"] == 1
    assert entries["knowledge.imported"]["actor_label"] == business.made.owner_email


async def test_list_pages_and_filters_by_title_and_tag(
    business: Business, client: httpx.AsyncClient
) -> None:
    await business.add("Opening hours", "9 to 5", tags=["info"])
    await business.add("Returns 100%_policy", "30 days", tags=["policy", "info"])
    await business.add("Shipping", "Worldwide", tags=["policy"])

    first = await client.get("/api/knowledge", params={"limit": 2}, headers=business.owner)
    assert first.status_code == 200
    page = first.json()
    assert [i["title"] for i in page["items"]] == ["Shipping", "Returns 100%_policy"]
    second = await client.get(
        "/api/knowledge", params={"limit": 2, "cursor": page["next_cursor"]}, headers=business.owner
    )
    assert [i["title"] for i in second.json()["items"]] == ["Opening hours"]
    assert second.json()["next_cursor"] is None

    async def titles(**params: str) -> set[str]:
        response = await client.get("/api/knowledge", params=params, headers=business.owner)
        assert response.status_code == 200, response.text
        return {i["title"] for i in response.json()["items"]}

    assert await titles(q="HOURS") == {"Opening hours"}
    assert await titles(q="100%_") == {"Returns 100%_policy"}
    assert await titles(q="%") == {"Returns 100%_policy"}
    assert await titles(tag="policy") == {"Returns 100%_policy", "Shipping"}
    assert await titles(tag="info", q="open") == {"Opening hours"}
    assert await titles(tag="nope") == set()

    bad = await client.get(
        "/api/knowledge", params={"cursor": "bm90LWpzb24"}, headers=business.owner
    )
    assert bad.status_code == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"content": "x"}, "title"),
        ({"title": "", "content": "x"}, "title"),
        ({"title": "   ", "content": "x"}, "title"),
        ({"title": "t" * 301, "content": "x"}, "title"),
        ({"title": "t"}, "content"),
        ({"title": "t", "content": ""}, "content"),
        ({"title": "t", "content": "x" * 100_001}, "content"),
        ({"title": "t", "content": "x", "tags": [f"t{n}" for n in range(21)]}, "tags"),
        ({"title": "t", "content": "x", "tags": ["x" * 51]}, "tags.0"),
        ({"title": "t", "content": "x", "source_url": "ftp://example.com"}, "source_url"),
        ({"title": "t", "content": "x", "source_url": "javascript:alert(1)"}, "source_url"),
    ],
)
async def test_validation_errors_name_the_field(
    business: Business, client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    response = await client.post("/api/knowledge", json=body, headers=business.owner)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert [f["field"] for f in error["fields"]] == [field]


async def test_update_validates_too(business: Business, client: httpx.AsyncClient) -> None:
    item = await business.add("Hours", "9 to 5")
    response = await client.patch(
        f"/api/knowledge/{item['id']}", json={"title": " "}, headers=business.owner
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "title"


async def test_another_tenants_items_are_not_found(
    business: Business, client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    theirs = await business.add("Secret recipe", "Zebracorn sauce: two spoons of paprika.")
    other = await make_tenant(db, settings)
    mine = await bearer(client, other.owner_email)
    url = f"/api/knowledge/{theirs['id']}"
    assert (await client.get(url, headers=mine)).status_code == 404
    patched = await client.patch(url, json={"title": "Stolen"}, headers=mine)
    assert patched.status_code == 404
    assert (await client.delete(url, headers=mine)).status_code == 404
    assert (await client.get(f"/api/knowledge/{uuid.uuid4()}", headers=mine)).status_code == 404
    listed = await client.get("/api/knowledge", headers=mine)
    assert listed.json()["items"] == []
    searched = await client.get(
        "/api/knowledge/search", params={"q": "zebracorn sauce recipe"}, headers=mine
    )
    assert searched.json()["hits"] == []
    # Untouched for its owner.
    still = await client.get(url, headers=business.owner)
    assert still.json()["title"] == "Secret recipe"


async def test_viewers_read_agents_write_strangers_are_refused(
    business: Business, client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    item = await business.add("Hours", "We open at 9.")
    url = f"/api/knowledge/{item['id']}"
    tenant = business.made.tenant
    viewer = await bearer(client, (await make_member(db, settings, tenant, Role.VIEWER)).email)
    agent = await bearer(client, (await make_member(db, settings, tenant, Role.AGENT)).email)
    upload = {"file": ("faq.txt", b"Hello", "text/plain")}

    for method, path in [("GET", "/api/knowledge"), ("GET", url), ("GET", "/api/knowledge/search")]:
        response = await client.request(method, path, params={"q": "open"}, headers=viewer)
        assert response.status_code == 200, (method, path, response.text)
    writes = [
        ("POST", "/api/knowledge", {"json": {"title": "t", "content": "c"}}),
        ("PATCH", url, {"json": {"title": "t"}}),
        ("DELETE", url, {}),
        ("POST", "/api/knowledge/import", {"files": upload}),
    ]
    for method, path, kwargs in writes:
        response = await client.request(method, path, headers=viewer, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 403, (method, path, response.text)
        assert "knowledge.manage" in response.json()["error"]["message"]
        anonymous = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
        assert anonymous.status_code == 401, (method, path, anonymous.text)
    assert (await client.get("/api/knowledge")).status_code == 401
    assert (await client.get("/api/knowledge/search", params={"q": "open"})).status_code == 401

    for method, path, kwargs in writes:
        response = await client.request(method, path, headers=agent, **kwargs)  # type: ignore[arg-type]
        assert response.status_code in (200, 201, 204), (method, path, response.text)
