from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from bob.db.session import Database
from bob.settings import Settings
from tests.factories import bearer, make_admin, make_tenant


async def test_every_response_has_a_request_id_and_security_headers(
    client: httpx.AsyncClient,
) -> None:
    for response in [
        await client.get("/api/health"),
        await client.get("/no/such/path"),
        await client.post("/api/auth/login", content=b"{"),
        await client.get("/"),
    ]:
        assert len(response.headers["x-request-id"]) >= 16
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert response.headers["x-frame-options"] == "DENY"


async def test_widget_paths_may_be_framed(client: httpx.AsyncClient) -> None:
    response = await client.get("/widget/anything.js")
    assert "x-frame-options" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_sane_incoming_request_id_is_kept_and_a_hostile_one_replaced(
    client: httpx.AsyncClient,
) -> None:
    kept = await client.get("/api/health", headers={"X-Request-ID": "lb-1234.abc"})
    assert kept.headers["x-request-id"] == "lb-1234.abc"
    replaced = await client.get(
        "/api/health", headers={b"X-Request-ID": b"x" * 300 + b"\xe9<script>"}
    )
    assert replaced.headers["x-request-id"] != "x" * 300
    assert len(replaced.headers["x-request-id"]) == 32


async def test_errors_have_one_shape(client: httpx.AsyncClient) -> None:
    not_found = await client.get("/api/nothing-here")
    assert not_found.status_code == 404
    assert not_found.json()["error"]["code"] == "not_found"
    assert "/api/nothing-here" in not_found.json()["error"]["message"]
    wrong_method = await client.delete("/api/health")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    "body", [b"{", b"not json", b'{"email": "a@example.com", "password": }', b"\xff\xfe"]
)
async def test_malformed_json_is_400_not_500(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post(
        "/api/auth/login", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert response.json()["error"]["code"] in {"invalid_json", "validation_error"}


async def test_422_names_the_field(client: httpx.AsyncClient) -> None:
    missing = await client.post("/api/auth/login", json={"email": "a@example.com"})
    assert missing.status_code == 422
    error = missing.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"].startswith("password:")
    assert error["fields"][0]["field"] == "password"
    bad_email = await client.post("/api/auth/login", json={"email": "nope", "password": "x"})
    assert bad_email.json()["error"]["fields"][0]["field"] == "email"
    wrong_type = await client.post("/api/auth/login", json=["a", "list"])
    assert wrong_type.status_code == 422


async def test_oversized_bodies_are_413(client: httpx.AsyncClient, settings: Settings) -> None:
    big = b'{"email": "' + b"a" * (settings.max_body_bytes + 10) + b'"}'
    declared = await client.post(
        "/api/auth/login", content=big, headers={"Content-Type": "application/json"}
    )
    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "payload_too_large"
    assert declared.headers["x-request-id"]

    async def chunks() -> AsyncIterator[
        bytes
    ]:  # no Content-Length: the limit is enforced while reading
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b"a" * 65536

    streamed = await client.post(
        "/api/auth/login", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413


async def test_unicode_and_injection_attempts_are_just_data(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    admin = await make_admin(db, settings)
    headers = await bearer(client, admin.email, admin=True)
    made = await make_tenant(db, settings, name="Ōsaka 🍜 Café")
    for q in ["' OR 1=1 --", "%", "_", "Ōsaka", "🍜", "a\\b"]:
        response = await client.get("/api/admin/tenants", params={"q": q}, headers=headers)
        assert response.status_code == 200, q
    found = await client.get("/api/admin/tenants", params={"q": "Café"}, headers=headers)
    assert made.tenant.name in [t["name"] for t in found.json()["items"]]
    injected = await client.get("/api/admin/tenants", params={"q": "' OR 1=1 --"}, headers=headers)
    assert injected.json()["items"] == []


async def test_health_reports_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["version"]
    assert set(body) == {"status", "version", "database", "worker", "embeddings"}
    assert set(body["worker"]) == {"backlog", "lag_seconds"}


async def test_health_is_503_when_the_database_is_unreachable(tmp_path) -> None:
    from bob.main import create_app
    from tests.conftest import make_settings

    # Nothing listens on port 1 of the loopback interface.
    url = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
    app = create_app(make_settings(url, tmp_path))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bob.localhost") as c:
        response = await c.get("/api/health")
    await app.state.db.dispose()
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
    assert "nobody" not in response.text  # no connection details leak


async def test_demo_page_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<main" in response.text
    assert "/api/health" in response.text


async def test_every_page_runs_only_its_own_scripts(client: httpx.AsyncClient) -> None:
    pages = ["/", "/invite/not-a-real-token", "/portal/login", "/docs", "/portal/no-such-page"]
    for path in pages:
        response = await client.get(path, headers={"Accept": "text/html"})
        assert response.headers["content-type"].startswith("text/html"), path
        policy = response.headers["content-security-policy"]
        assert "script-src 'self';" in policy, path
        assert "frame-ancestors 'none'" in policy, path
    # Answers that are not pages need no script policy, only the refusal to be framed.
    api = await client.get("/api/health")
    assert api.headers["content-security-policy"] == "frame-ancestors 'none'"


async def test_openapi_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for seed in ["/api/auth/login", "/api/customers/auth/login", "/api/customer/auth/login"]:
        assert seed in paths


async def test_nul_characters_are_refused_before_reaching_the_database(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    admin = await make_admin(db, settings)
    headers = await bearer(client, admin.email, admin=True)
    in_query = await client.get("/api/admin/tenants", params={"q": "a\x00b"}, headers=headers)
    assert in_query.status_code == 400
    assert in_query.json()["error"]["code"] == "invalid_characters"
    in_json = await client.post(
        "/api/admin/tenants",
        content=b'{"name": "Evil\\u0000Corp", "owner_email": "nul@example.com"}',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert in_json.status_code == 400
    assert "NUL" in in_json.json()["error"]["message"]
    # An escaped backslash followed by "u0000" is ordinary text.
    literal = await client.post(
        "/api/admin/tenants",
        content=b'{"name": "Slash\\\\u0000", "owner_email": "literal@example.com"}',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert literal.status_code == 201, literal.text
    assert literal.json()["tenant"]["name"] == "Slash\\u0000"


async def test_unexpected_errors_are_500_with_the_error_shape_and_request_id(
    app: FastAPI,
) -> None:
    async def boom() -> None:
        raise RuntimeError("secret internal detail")

    app.add_api_route("/api/test-boom", boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://bob.localhost") as c:
        response = await c.get("/api/test-boom", headers={"X-Request-ID": "trace-500"})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "secret internal detail" not in response.text
    assert response.headers["x-request-id"] == "trace-500"
