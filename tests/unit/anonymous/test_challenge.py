"""The anonymous doors without a database: challenges issued, solved and checked once, and the
plans' default ceilings."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

import altcha
import pytest
from limits.aio.storage import MemoryStorage

from bob.anonymous import challenge
from bob.anonymous import service as anonymous
from bob.billing import pricebook
from bob.errors import Forbidden
from bob.settings import Settings

TENANT = uuid.UUID("8f14e45f-ceea-467f-a0e6-7b3e4d5c2a10")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.model_validate({"data_dir": tmp_path, "secret_key": "unit-" + "k3y9" * 10})


def solved(issued: dict[str, object]) -> str:
    parsed = altcha.Challenge.from_dict(issued)
    solution = altcha.solve_challenge(parsed, timeout=30)
    assert solution is not None
    return altcha.Payload(parsed, solution).to_base64()


async def refusal(
    settings: Settings, storage: MemoryStorage, payload: str | None, **where: str
) -> str:
    door = where.get("door", "widget")
    tenant = uuid.UUID(where.get("tenant", str(TENANT)))
    with pytest.raises(Forbidden) as caught:
        await challenge.verify(
            settings=settings,
            storage=storage,
            tenant_id=tenant,
            door=door,  # type: ignore[arg-type]
            payload=payload,
        )
    return caught.value.code


async def test_a_solution_is_accepted_once(settings: Settings) -> None:
    storage = MemoryStorage()
    payload = solved(challenge.issue(settings=settings, tenant_id=TENANT, door="widget"))
    await challenge.verify(
        settings=settings, storage=storage, tenant_id=TENANT, door="widget", payload=payload
    )
    assert await refusal(settings, storage, payload) == "challenge_used"


def test_issued_challenges_name_their_tenant_and_door_and_need_16_bits(settings: Settings) -> None:
    issued = challenge.issue(settings=settings, tenant_id=TENANT, door="public")
    parameters = issued["parameters"]
    assert isinstance(parameters, dict)
    assert parameters["data"] == {"tenant": str(TENANT), "door": "public"}
    assert parameters["algorithm"] == "SHA-256"
    assert parameters["keyPrefix"] == "0000"
    other = challenge.issue(settings=settings, tenant_id=TENANT, door="public")
    assert other["signature"] != issued["signature"]  # a fresh nonce and salt every time


@pytest.mark.parametrize(
    ("where", "code"),
    [
        ({"door": "public"}, "challenge_invalid"),
        ({"tenant": str(uuid.uuid4())}, "challenge_invalid"),
    ],
)
async def test_a_solution_for_another_door_or_tenant_is_refused(
    settings: Settings, where: dict[str, str], code: str
) -> None:
    payload = solved(challenge.issue(settings=settings, tenant_id=TENANT, door="widget"))
    assert await refusal(settings, MemoryStorage(), payload, **where) == code


async def test_a_challenge_signed_with_another_secret_is_refused(
    settings: Settings, tmp_path: Path
) -> None:
    other = Settings.model_validate({"data_dir": tmp_path, "secret_key": "other-" + "z8" * 20})
    payload = solved(challenge.issue(settings=other, tenant_id=TENANT, door="widget"))
    assert await refusal(settings, MemoryStorage(), payload) == "challenge_invalid"


async def test_a_wrong_counter_is_refused(settings: Settings) -> None:
    payload = solved(challenge.issue(settings=settings, tenant_id=TENANT, door="widget"))
    body = json.loads(base64.b64decode(payload))
    body["solution"]["counter"] += 1
    forged = base64.b64encode(json.dumps(body).encode()).decode()
    assert await refusal(settings, MemoryStorage(), forged) == "challenge_invalid"


@pytest.mark.parametrize("payload", [None, ""])
async def test_no_solution_is_required_not_invalid(settings: Settings, payload: str | None) -> None:
    assert await refusal(settings, MemoryStorage(), payload) == "challenge_required"


def test_every_plan_has_default_ceilings() -> None:
    assert set(anonymous.PLAN_DEFAULTS) == set(pricebook.PLAN_CODES)
    ordered = [anonymous.PLAN_DEFAULTS[code] for code in pricebook.PLAN_CODES]
    assert ordered == sorted(ordered, key=lambda c: (c.per_minute, c.per_day))
    assert anonymous.plan_defaults("legacy-plan") == anonymous.PLAN_DEFAULTS["starter"]
