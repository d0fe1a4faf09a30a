"""Every operation in the OpenAPI schema, fuzzed in-process by schemathesis: no answer may be a
5xx, carry a status the schema does not document, or differ from the documented body, content
type or headers.

A few examples per operation and identity (a tenant owner, a platform admin), derandomized, so a
run is the same every time and stays short; positive and negative (schema-breaking) cases, some
of the positive ones with ids of real objects, so handlers get past their 404s. The run has its
own SQLite database because schemathesis drives the app from an event loop of its own, which the
shared test database cannot be used from.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bob.db import migrate
from bob.main import create_app
from tests.conftest import make_settings
from tests.factories import PASSWORD

# BOB_FUZZ_EXAMPLES digs deeper, for a run by hand.
EXAMPLES_PER_OPERATION = int(os.environ.get("BOB_FUZZ_EXAMPLES", "20"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
ADMIN_EMAIL = "fuzz-admin@example.com"
# Nothing the fuzzer sends may make Bob call out: every URL a body carries points at a closed
# port on this machine, which the test settings allow as a webhook and engine target.
LOOPBACK_URL = "http://127.0.0.1:9/fuzz"
# Not fuzzed, and why. Besides these, an operation that only answers with a live stream
# (text/event-stream) is left out: it never ends, so fuzzing it would only wait. The chat doors'
# streamed replies are not asked for either (no case sends Accept: text/event-stream); their JSON
# answers are fuzzed, and the streams have tests of their own.
SKIPPED: dict[tuple[str, str], str] = {
    ("POST", "/api/auth/logout"): "it ends the login every later request of the run uses",
}
# Bounds a request that does not answer, so a hang fails the run instead of stalling it.
TIMEOUT_S = 30


@dataclass
class Api:
    app: FastAPI
    schema: Any
    tokens: dict[str, str]
    ids: dict[str, dict[str, str]]


def _call(
    client: asgi.ASGIClient, method: str, path: str, token: str = "", body: Any = None
) -> Any:
    headers = {"Authorization": token} if token else {}
    response = client.request(method, path, json=body, headers=headers)
    assert response.status_code < 300, (method, path, response.status_code, response.text)
    return response.json()


def _login(client: asgi.ASGIClient, path: str, email: str) -> str:
    body = {"email": email, "password": PASSWORD}
    return "Bearer " + str(_call(client, "POST", path, body=body)["access_token"])


def _seed(client: asgi.ASGIClient) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Two businesses and a few objects of the first, so fuzzed ids can name real things."""
    admin = _login(client, "/api/auth/login", ADMIN_EMAIL)

    def business(name: str) -> Any:
        body = {
            "name": name,
            "owner_email": f"owner@{name}.example.com",
            "owner_password": PASSWORD,
        }
        return _call(client, "POST", "/api/admin/tenants", admin, body)["tenant"]

    shop, other = business("fuzz"), business("other")
    owner = _login(client, "/api/customers/auth/login", "owner@fuzz.example.com")

    def add(path: str, body: Any = None) -> Any:
        return _call(client, "POST", path, owner, {} if body is None else body)

    item = add("/api/knowledge", {"title": "Hours", "content": "We open at nine on weekdays."})
    endpoint = add("/api/webhooks/endpoints", {"url": LOOPBACK_URL})
    session_id = add("/api/chat/session")["session_id"]
    add("/api/chat/message", {"session_id": session_id, "message": "When do you open?"})
    member = add("/api/customers/team", {"email": "agent@fuzz.example.com", "role": "agent"})
    owner_ids = {
        "item_id": item["id"],
        "persona_id": add("/api/personas", {"name": "Fuzzy"})["id"],
        "key_id": add("/api/customer-portal/widget/keys", {"label": "fuzz"})["id"],
        "endpoint_id": endpoint["id"],
        "delivery_id": add(f"/api/webhooks/endpoints/{endpoint['id']}/test")["id"],
        "user_id": member["id"],
        "session_id": session_id,
        "conversation_id": _call(client, "GET", "/api/conversations", owner)["items"][0]["id"],
        "business_id": shop["business_id"],
    }
    # The admin works on the other business, so a fuzzed suspension leaves the owner working.
    admin_ids = {"tenant_id": other["id"], "business_id": other["business_id"], "version": "1"}
    return {"owner": owner, "admin": admin}, {"owner": owner_ids, "admin": admin_ids}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    settings = make_settings(
        f"sqlite+aiosqlite:///{data_dir / 'bob.db'}",
        data_dir,
        bootstrap_admin_email=ADMIN_EMAIL,
        bootstrap_admin_password=PASSWORD,
        allow_signup=True,
        # Limits would answer most requests with 429 after the first few: raised, they still
        # count, so the limiter runs.
        login_limit_per_ip="100000/minute",
        login_limit_per_account="100000/minute",
        signup_limit_per_ip="100000/minute",
        chat_limit_per_ip="100000/minute",
        widget_limit_per_key="100000/minute",
        openai_base_url="http://127.0.0.1:9/v1",
        tenant_engine_allowed_hosts=["127.0.0.1"],
        webhook_allow_private_networks=True,
        # Search by words only: loading the embedding model would only slow the run.
        embeddings="off",
    )
    migrate.upgrade(settings)
    app = create_app(settings)
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    # Seeded through schemathesis's own client: the app then lives in one event loop throughout.
    with asgi.get_client(cast(Any, app)) as client:
        tokens, ids = _seed(client)
    yield Api(app, schema, tokens, ids)
    asgi.shutdown_lifespans()


def _pin_urls(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: LOOPBACK_URL if "url" in str(k).lower() and isinstance(v, str) else _pin_urls(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_pin_urls(v) for v in value]
    return value


def _cases(operation: Any, ids: dict[str, str]) -> st.SearchStrategy[Any]:
    known = {p.name: ids[p.name] for p in operation.path_parameters if p.name in ids}
    strategies = [operation.as_strategy(schemathesis.GenerationMode.POSITIVE)]
    if known:
        strategies.append(
            operation.as_strategy(schemathesis.GenerationMode.POSITIVE, path_parameters=known)
        )
    if operation.path_parameters or operation.query or operation.body:
        strategies.append(operation.as_strategy(schemathesis.GenerationMode.NEGATIVE))
    return st.one_of(strategies)


def _fuzz(operation: Any, token: str, ids: dict[str, str]) -> str | None:
    headers = {"Authorization": token}

    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @hypothesis.given(case=_cases(operation, ids))
    def run(case: Any) -> None:
        if isinstance(case.body, dict | list):
            case.body = _pin_urls(case.body)
        response = case.call(headers=headers, timeout=TIMEOUT_S)
        case.validate_response(response, checks=CHECKS, headers=headers)

    try:
        run()
    # Check failures come as a BaseExceptionGroup; any failure of one operation is reported
    # together with the others'.
    except (Exception, BaseExceptionGroup) as exc:
        return f"{operation.label}\n{exc}"
    return None


def _streams_only(document: dict[str, Any], method: str, path: str) -> bool:
    responses = document["paths"][path][method.lower()]["responses"]
    success = [r.get("content", {}) for status, r in responses.items() if status.startswith("2")]
    return bool(success) and all(set(c) == {"text/event-stream"} for c in success)


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_every_operation_answers_as_documented(api: Api, who: str) -> None:
    document = api.app.openapi()
    failures = []
    for result in api.schema.get_all_operations():
        operation = result.ok()
        method, path = operation.method.upper(), operation.path
        if (method, path) in SKIPPED or _streams_only(document, method, path):
            continue
        failure = _fuzz(operation, api.tokens[who], api.ids[who])
        if failure is not None:
            failures.append(failure)
    assert not failures, f"{len(failures)} operations failed:\n\n" + "\n\n".join(failures)


def test_the_run_covers_every_operation(api: Api) -> None:
    documented = {
        (method.upper(), path)
        for path, item in api.app.openapi()["paths"].items()
        for method in item
        if method != "parameters"
    }
    fuzzed = {(op.ok().method.upper(), op.ok().path) for op in api.schema.get_all_operations()}
    assert fuzzed == documented
    assert set(SKIPPED) <= documented, "a skipped operation is gone: drop it from SKIPPED"
