"""Billing without a database: monthly periods, what a reply costs, pricebook validation."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bob.billing import metering, pricebook, subscriptions
from bob.engines.base import EngineResult
from bob.errors import ValidationFailed
from bob.settings import Settings


def at(year: int, month: int, day: int, hour: int = 9, minute: int = 30) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# ---- add_months: periods anchored on the start day -------------------------------------------


@pytest.mark.parametrize(
    ("anchor", "months", "expected"),
    [
        (at(2027, 1, 31), 1, at(2027, 2, 28)),  # a shorter month: its last day
        (at(2028, 1, 31), 1, at(2028, 2, 29)),  # leap year
        (at(2026, 12, 15), 1, at(2027, 1, 15)),  # December rolls into next year
        (at(2026, 12, 31), 1, at(2027, 1, 31)),
        (at(2027, 1, 31), 2, at(2027, 3, 31)),  # anchored on the 31st, not on Feb 28
        (at(2027, 1, 31), 3, at(2027, 4, 30)),
        (at(2026, 11, 21), 12, at(2027, 11, 21)),
        (at(2028, 2, 29), 12, at(2029, 2, 28)),
        (at(2026, 3, 31), -1, at(2026, 2, 28)),
        (at(2026, 1, 15), -1, at(2025, 12, 15)),
        (at(2026, 5, 10), 0, at(2026, 5, 10)),
        (at(2026, 1, 30), 25, at(2028, 2, 29)),
    ],
)
def test_add_months(anchor: datetime, months: int, expected: datetime) -> None:
    assert subscriptions.add_months(anchor, months) == expected


def test_periods_follow_the_anchor_not_the_previous_end() -> None:
    anchor = at(2027, 1, 31, 23, 59)
    ends = [subscriptions.add_months(anchor, n) for n in range(1, 7)]
    assert [(e.month, e.day) for e in ends] == [
        (2, 28),
        (3, 31),
        (4, 30),
        (5, 31),
        (6, 30),
        (7, 31),
    ]
    # Chaining month by month would drift to the 28th; the anchor keeps the 31st.
    chained = subscriptions.add_months(subscriptions.add_months(anchor, 1), 1)
    assert chained.day == 28
    assert subscriptions.add_months(anchor, 2).day == 31


def test_add_months_keeps_time_of_day_and_timezone() -> None:
    plus_two = timezone(timedelta(hours=2))
    anchor = datetime(2026, 8, 31, 23, 45, 12, 345678, tzinfo=plus_two)
    moved = subscriptions.add_months(anchor, 1)
    assert moved == datetime(2026, 9, 30, 23, 45, 12, 345678, tzinfo=plus_two)
    assert moved.tzinfo is plus_two


# ---- reply_cost --------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=tmp_path,
        model_credit_multipliers={"gpt-4o": 3, "gpt-4o-mini": 1},
    )


def openai_result(
    model: str | None, prompt: int | None, completion: int | None, *, text: str | None = "ok"
) -> EngineResult:
    return EngineResult(
        text=text,
        sources=[],
        engine="openai",
        model=model,
        prompt_tokens=prompt,
        completion_tokens=completion,
    )


@pytest.mark.parametrize(
    ("model", "prompt", "completion", "cost"),
    [
        ("gpt-4o", 1200, 300, 6),  # ceil(1,500 / 1,000) = 2, times 3
        ("gpt-4o", 1000, 0, 3),  # exactly 1,000 tokens: 1 times 3
        ("gpt-4o", 1000, 1, 6),  # one more token starts the next thousand
        ("gpt-4o", 0, 0, 1),  # never free: at least 1
        ("gpt-4o", None, None, 1),  # a provider that reports no usage
        ("gpt-4o", 7, None, 3),
        ("gpt-4o-mini", 2500, 0, 3),
        ("llama3.1", 2500, 0, 3),  # models not listed: multiplier 1
        (None, 1500, 0, 2),
        ("GPT-4O", 1500, 0, 2),  # names are matched exactly
    ],
)
def test_openai_reply_cost(
    settings: Settings,
    model: str | None,
    prompt: int | None,
    completion: int | None,
    cost: int,
) -> None:
    assert metering.reply_cost(settings, openai_result(model, prompt, completion)) == cost


def test_an_extractive_reply_costs_one_whatever_it_says(settings: Settings) -> None:
    for tokens in (None, 0, 50_000):
        result = EngineResult(
            text="An answer", sources=[], engine="extractive", prompt_tokens=tokens
        )
        assert metering.reply_cost(settings, result) == 1


def test_no_multipliers_means_one_credit_per_thousand_tokens(tmp_path: Path) -> None:
    plain = Settings(_env_file=None, data_dir=tmp_path)
    assert plain.model_credit_multipliers == {}
    assert metering.reply_cost(plain, openai_result("gpt-4o", 4000, 1)) == 5


def test_multipliers_are_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOB_MODEL_CREDIT_MULTIPLIERS", " gpt-4o = 3 , llama3.1:8b=2,")
    settings = Settings(_env_file=None, data_dir=tmp_path)
    assert settings.model_credit_multipliers == {"gpt-4o": 3, "llama3.1:8b": 2}
    assert metering.reply_cost(settings, openai_result("llama3.1:8b", 1001, 0)) == 4


@pytest.mark.parametrize("value", ["gpt-4o=0", "gpt-4o", "=3", "gpt-4o=x", "gpt-4o=-1"])
def test_bad_multipliers_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("BOB_MODEL_CREDIT_MULTIPLIERS", value)
    with pytest.raises(ValidationError, match="model_credit_multipliers"):
        Settings(_env_file=None, data_dir=tmp_path)


# ---- check_plans -------------------------------------------------------------------------------

PLANS: list[dict[str, Any]] = [
    {
        "code": "starter",
        "name": "Starter",
        "monthly_price_cents": 7900,
        "included_credits": 15000,
        "seats": 3,
        "integrations": 1,
        "support": "email",
    },
    {
        "code": "pro",
        "name": "Pro",
        "monthly_price_cents": 24900,
        "included_credits": 75000,
        "seats": 10,
        "integrations": 3,
        "support": "priority",
    },
    {
        "code": "enterprise",
        "name": "Enterprise",
        "monthly_price_cents": 89900,
        "included_credits": 250000,
        "seats": None,
        "integrations": 10,
        "support": "dedicated",
    },
]


def test_check_plans_orders_trims_and_drops_unknown_fields() -> None:
    given = copy.deepcopy(PLANS[::-1])
    given[0]["name"] = "  Enterprise "
    given[1]["colour"] = "gold"
    assert pricebook.check_plans(given) == PLANS
    # Free plans and zero integrations are allowed; only seats must be at least 1.
    free = copy.deepcopy(PLANS)
    free[0].update(monthly_price_cents=0, included_credits=0, integrations=0, seats=1)
    assert pricebook.check_plans(free)[0]["monthly_price_cents"] == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"seats": 0}, "plans[1].seats"),
        ({"seats": 2.0}, "plans[1].seats"),
        ({"seats": False}, "plans[1].seats"),
        ({"included_credits": -5}, "plans[1].included_credits"),
        ({"included_credits": None}, "plans[1].included_credits"),
        ({"monthly_price_cents": 249.0}, "plans[1].monthly_price_cents"),
        ({"integrations": "3"}, "plans[1].integrations"),
        ({"code": "Pro"}, "plans[1].code"),
        ({"name": "x" * 61}, "plans[1].name"),
        ({"support": ""}, "plans[1].support"),
    ],
)
def test_check_plans_names_the_field(change: dict[str, Any], field: str) -> None:
    plans = copy.deepcopy(PLANS)
    plans[1].update(change)
    with pytest.raises(ValidationFailed) as raised:
        pricebook.check_plans(plans)
    assert raised.value.message.startswith(field + ":")


def test_check_plans_wants_each_plan_once() -> None:
    with pytest.raises(ValidationFailed, match="got starter, pro, pro"):
        pricebook.check_plans([PLANS[0], PLANS[1], PLANS[1]])
    with pytest.raises(ValidationFailed, match=r"got starter, pro\)$"):
        pricebook.check_plans(PLANS[:2])
    with pytest.raises(ValidationFailed, match="plans: a non-empty list"):
        pricebook.check_plans([])
    with pytest.raises(ValidationFailed, match=r"plans\[0\]: must be an object"):
        pricebook.check_plans(["starter"])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("reported", "multiplier"),
    [
        ("gpt-4o", 3),
        ("gpt-4o-2024-08-06", 3),
        ("gpt-4o-mini-2024-07-18", 1),
        ("gpt-4omega", 1),
        ("llama3", 1),
        (None, 1),
    ],
)
def test_dated_model_names_find_their_multiplier(reported: str | None, multiplier: int) -> None:
    from bob.billing.metering import model_multiplier
    from bob.settings import Settings

    settings = Settings.model_validate(
        {"model_credit_multipliers": "gpt-4o=3,gpt-4o-mini=1", "secret_key": "x" * 40}
    )
    assert model_multiplier(settings, reported) == multiplier
