"""The OpenAPI schema documents what each operation can answer (bob/openapi.py); the fuzzing in
test_openapi_schemathesis.py checks the app against it."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import pytest
from fastapi import FastAPI

from bob.auth.deps import Principal, Require
from bob.auth.permissions import Permission
from bob.deps import LimiterDep

JSON = dict[str, Any]


async def _document(client: httpx.AsyncClient) -> JSON:
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    document: JSON = response.json()
    return document


def _operations(document: JSON) -> list[tuple[str, str, JSON]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method != "parameters"
    ]


def _resolve(document: JSON, schema: JSON) -> JSON:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


async def test_errors_are_documented_in_bobs_own_shape(client: httpx.AsyncClient) -> None:
    document = await _document(client)
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            if int(status) < 400 or "application/json" not in response.get("content", {}):
                continue
            if (method, path, status) == ("GET", "/api/health", "503"):
                continue  # the health body itself, saying what is down
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (method, path)
            assert response["description"], (method, path, status)
            if status == "429":
                assert response["headers"]["Retry-After"]["required"] is True


@pytest.mark.parametrize(
    ("method", "path", "statuses"),
    [
        ("GET", "/api/customers/team", {"200", "400", "401", "403", "422"}),
        ("POST", "/api/customers/team", {"201", "400", "401", "403", "409", "413", "422"}),
        ("GET", "/api/auth/me", {"200", "401", "403"}),
        ("POST", "/api/auth/login", {"200", "400", "401", "403", "413", "422", "429"}),
        (
            "GET",
            "/api/webhooks/endpoints/{endpoint_id}",
            {"200", "400", "401", "403", "404", "422"},
        ),
        ("GET", "/api/pricebook", {"200"}),
        ("GET", "/widget/loader.js", {"200", "304"}),
        # A bare string in the path cannot be invalid; NUL in it is still refused.
        ("GET", "/widget/{tenant_id}/widget.js", {"200", "304", "400", "404"}),
    ],
)
async def test_each_operation_lists_the_statuses_it_can_answer(
    client: httpx.AsyncClient, method: str, path: str, statuses: set[str]
) -> None:
    operation = (await _document(client))["paths"][path][method.lower()]
    assert set(operation["responses"]) == statuses


async def test_content_types_are_the_real_ones(client: httpx.AsyncClient) -> None:
    paths = (await _document(client))["paths"]
    for script in ("/widget/{tenant_id}/widget.js", "/widget/loader.js"):
        assert list(paths[script]["get"]["responses"]["200"]["content"]) == [
            "application/javascript"
        ]
        assert "head" not in paths[script]
    missing = paths["/widget/{tenant_id}/widget.js"]["get"]["responses"]["404"]
    assert list(missing["content"]) == ["application/javascript"]
    for door in ("/api/chat", "/api/widget/chat", "/api/chat/message"):
        content = paths[door]["post"]["responses"]["200"]["content"]
        assert set(content) == {"application/json", "text/event-stream"}, door
    # Pages are HTML for people, not operations of the API.
    assert not [p for p in paths if p == "/" or p.startswith(("/portal", "/docs", "/invite"))]


async def test_every_json_body_refuses_unknown_fields(client: httpx.AsyncClient) -> None:
    document = await _document(client)
    bodies = 0
    for method, path, operation in _operations(document):
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            bodies += 1
            schema = _resolve(document, content["application/json"]["schema"])
            assert schema.get("additionalProperties") is False, (method, path)
    assert bodies >= 30


async def test_a_route_added_later_is_documented_from_its_dependencies(app: FastAPI) -> None:
    async def later(
        thing_id: int,
        principal: Annotated[Principal, Require(Permission.TEAM_MANAGE)],
        limiter: LimiterDep,
    ) -> None: ...

    app.add_api_route("/api/later/{thing_id}", later, methods=["DELETE"])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bob.localhost") as client:
        operation = (await _document(client))["paths"]["/api/later/{thing_id}"]["delete"]
    assert set(operation["responses"]) == {"200", "400", "401", "403", "404", "422", "429"}
