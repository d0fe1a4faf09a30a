from __future__ import annotations

import gzip
import json
import re
import uuid

import httpx
import pytest

from bob.auth.permissions import Role
from bob.db.session import Database
from bob.settings import Settings
from bob.widget import bundle
from tests.factories import bearer, make_admin, make_member, make_tenant

SITE = "https://shop.example.com"
BUDGET_GZIP_BYTES = 15 * 1024


def baked_config(script: str) -> dict[str, object]:
    """The JSON object the server passed to the widget function."""
    match = re.search(r"\)\((\{.*\}), document\.currentScript\);\s*$", script, re.S)
    assert match, script[-300:]
    config: dict[str, object] = json.loads(match.group(1))
    return config


async def _tenant(client: httpx.AsyncClient, db: Database, settings: Settings):
    made = await make_tenant(db, settings)
    owner = await bearer(client, made.owner_email)
    return made, owner


async def test_tenant_bundle_bakes_in_public_config_and_caches_briefly(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made, owner = await _tenant(client, db, settings)
    response = await client.get(f"/widget/{made.tenant.id}/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/javascript")
    assert response.headers["cache-control"] == "public, max-age=60"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["cross-origin-resource-policy"] == "cross-origin"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    config = baked_config(response.text)
    key = (await client.get("/api/customer-portal/widget/keys", headers=owner)).json()["items"][0]
    assert config["key"] == key["key"]
    assert config["apiBase"] == settings.public_url
    assert config["tenantId"] == str(made.tenant.id)
    assert config["persona"] == {"name": "Bob"}
    assert config["appearance"] == {
        "position": "bottom-right",
        "color": "#0b5cad",
        "launcherLabel": None,
        "openOnLoad": False,
    }

    etag = response.headers["etag"]
    again = await client.get(f"/widget/{made.tenant.id}/widget.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    changed = await client.put(
        "/api/customer-portal/widget",
        json={"color": "#AA3300", "position": "bottom-left", "greeting": {"en": "Howdy!"}},
        headers=owner,
    )
    assert changed.status_code == 200, changed.text
    fresh = await client.get(f"/widget/{made.tenant.id}/widget.js", headers={"If-None-Match": etag})
    assert fresh.status_code == 200
    assert fresh.headers["etag"] != etag
    config = baked_config(fresh.text)
    assert config["appearance"]["color"] == "#aa3300"  # type: ignore[index]
    assert config["appearance"]["position"] == "bottom-left"  # type: ignore[index]
    assert config["greeting"] == {"en": "Howdy!"}


async def test_bundle_size_budget(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made, _ = await _tenant(client, db, settings)
    bundle = (await client.get(f"/widget/{made.tenant.id}/widget.js")).content
    loader = (await client.get("/widget/loader.js")).content
    assert len(gzip.compress(bundle, 9)) <= BUDGET_GZIP_BYTES
    assert len(gzip.compress(loader, 9)) <= BUDGET_GZIP_BYTES


@pytest.mark.parametrize("which", ["unknown", "garbage", "suspended"])
async def test_unavailable_bundle_is_404_javascript_that_only_warns(
    client: httpx.AsyncClient, db: Database, settings: Settings, which: str
) -> None:
    made, _ = await _tenant(client, db, settings)
    tenant_id: str = {"unknown": str(uuid.uuid4()), "garbage": "not-a-uuid"}.get(
        which, str(made.tenant.id)
    )
    if which == "suspended":
        admin = await make_admin(db, settings)
        await client.post(
            f"/api/admin/tenants/{made.tenant.id}/suspend",
            headers=await bearer(client, admin.email, admin=True),
        )
    response = await client.get(f"/widget/{tenant_id}/widget.js")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/javascript")
    assert response.text.startswith("console.warn(")
    assert not re.search(r"pk_live_[A-Za-z0-9_-]{32}", response.text)


async def test_both_scripts_are_javascript_in_utf_8_and_answer_head(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made, _ = await _tenant(client, db, settings)
    for path in (f"/widget/{made.tenant.id}/widget.js", "/widget/loader.js"):
        got = await client.get(path)
        assert got.headers["content-type"] == "application/javascript; charset=utf-8"
        head = await client.head(path)
        assert head.status_code == 200, path
        assert head.content == b""
        for name in ("content-type", "content-length", "etag", "cache-control"):
            assert head.headers[name] == got.headers[name], (path, name)
        assert int(head.headers["content-length"]) == len(got.content)
    missing = await client.head(f"/widget/{uuid.uuid4()}/widget.js")
    assert missing.status_code == 404
    assert missing.content == b""
    assert missing.headers["content-type"] == "application/javascript; charset=utf-8"


async def test_both_scripts_include_the_shared_renderer_and_solver_once(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made, _ = await _tenant(client, db, settings)
    shared = [path.read_text(encoding="utf-8").strip() for path in bundle.SHARED_SOURCES]
    for path in (f"/widget/{made.tenant.id}/widget.js", "/widget/loader.js"):
        got = await client.get(path)
        assert got.headers["content-type"] == "application/javascript; charset=utf-8"
        for source in shared:
            assert got.text.count(source) == 1, path
        assert got.text.count("var BobMarkdown =") == 1
        assert got.text.count("subtle.digest") == 1  # the widget has no solver of its own
        head = await client.head(path)
        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
        assert head.headers["etag"] == got.headers["etag"]
        assert int(head.headers["content-length"]) == len(got.content)
    widget = bundle.WIDGET_SOURCE.read_text(encoding="utf-8")
    assert "BobMarkdown.render(" in widget
    assert "BobProofOfWork.solve" in widget


async def test_legacy_loader_carries_no_key(client: httpx.AsyncClient) -> None:
    response = await client.get("/widget/loader.js")
    assert response.status_code == 200
    config = baked_config(response.text)
    assert config == {"apiBase": "http://bob.localhost:8000"}
    assert not re.search(r"pk_live_[A-Za-z0-9_-]{32}", response.text)
    assert "data-widget-key" in response.text  # it reads the key from its own tag


async def test_widget_code_is_the_tenant_tag_without_a_key(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made, owner = await _tenant(client, db, settings)
    response = await client.get("/api/customer-portal/widget-code", headers=owner)
    assert response.status_code == 200
    body = response.json()
    bundle_url = f"{settings.public_url}/widget/{made.tenant.id}/widget.js"
    assert body["tenant_id"] == str(made.tenant.id)
    assert body["bundle_url"] == bundle_url
    assert body["script_tag"] == f'<script src="{bundle_url}" async></script>'
    assert "pk_live_" not in body["script_tag"]
    assert body["widget_key"].startswith("pk_live_")
    assert body["allowed_origins"] == []
    assert body["widget_key"] in body["loader_tag"]
    agent = await make_member(db, settings, made.tenant, Role.AGENT)
    refused = await client.get(
        "/api/customer-portal/widget-code", headers=await bearer(client, agent.email)
    )
    assert refused.status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"color": "blue"}, "color"),
        ({"color": "#12345"}, "color"),
        ({"position": "top-left"}, "position"),
        ({"language": "xx"}, "language"),
        ({"launcher_label": "x" * 41}, "launcher_label"),
        ({"greeting": {"tlh": "nuqneH"}}, "greeting"),
        ({"greeting": {"en": "x" * 501}}, "greeting"),
        ({"open_on_load": "sometimes"}, "open_on_load"),
    ],
)
async def test_appearance_validation_names_the_field(
    client: httpx.AsyncClient, db: Database, settings: Settings, body: dict[str, object], field: str
) -> None:
    _, owner = await _tenant(client, db, settings)
    response = await client.put("/api/customer-portal/widget", json=body, headers=owner)
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["message"]
    current = await client.get("/api/customer-portal/widget", headers=owner)
    assert current.json()["color"] == "#0b5cad"


async def test_appearance_changes_are_audited_and_scoped(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made, owner = await _tenant(client, db, settings)
    other, other_owner = await _tenant(client, db, settings)
    response = await client.put(
        "/api/customer-portal/widget",
        json={"launcher_label": "Ask us", "open_on_load": True, "language": "pt"},
        headers=owner,
    )
    assert response.json()["launcher_label"] == "Ask us"
    assert response.json()["open_on_load"] is True
    untouched = await client.get("/api/customer-portal/widget", headers=other_owner)
    assert untouched.json()["launcher_label"] is None
    audit = await client.get(
        "/api/audit", params={"action": "widget.settings_updated"}, headers=owner
    )
    assert audit.json()["items"][0]["data"]["launcher_label"] == [None, "Ask us"]
    assert other.tenant.id != made.tenant.id


async def test_widget_config_answers_allowed_origins_only(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    _, owner = await _tenant(client, db, settings)
    key = (await client.get("/api/customer-portal/widget/keys", headers=owner)).json()["items"][0]
    await client.patch(
        f"/api/customer-portal/widget/keys/{key['id']}",
        json={"allowed_origins": [SITE]},
        headers=owner,
    )
    allowed = await client.get(
        "/api/widget/config", headers={"X-Widget-Key": key["key"], "Origin": SITE}
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == SITE
    assert allowed.json()["persona"] == {"name": "Bob"}
    assert set(allowed.json()) == {
        "tenant_id",
        "persona",
        "appearance",
        "greeting",
        "language",
        "challenge",
    }
    assert allowed.json()["challenge"] is False
    copied = await client.get(
        "/api/widget/config",
        headers={"X-Widget-Key": key["key"], "Origin": "https://copycat.example.net"},
    )
    assert copied.status_code == 403
    assert "access-control-allow-origin" not in copied.headers
    preflight = await client.options(
        "/api/widget/config",
        headers={"Origin": SITE, "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == SITE


async def test_null_for_a_required_setting_is_422(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    _, owner = await _tenant(client, db, settings)
    for field in ("open_on_load", "position", "color", "language"):
        response = await client.put(
            "/api/customer-portal/widget", json={field: None}, headers=owner
        )
        assert response.status_code == 422, (field, response.text)
        assert field in response.json()["error"]["message"]
    cleared = await client.put(
        "/api/customer-portal/widget", json={"launcher_label": None}, headers=owner
    )
    assert cleared.status_code == 200
