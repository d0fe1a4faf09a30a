# Japanese questions are written in Japanese on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import pytest

from bob.text import answer_types


@pytest.mark.parametrize(
    ("question", "kinds"),
    [
        ("How much is a tooth extraction?", {"price"}),
        ("qto é o sinal pra reservar", {"price"}),
        ("valor da diária em janeiro", {"price"}),
        ("¿Cuánto cuesta una limpieza dental?", {"price"}),
        ("パンク修理っていくらですか？", {"price"}),
        ("What time does the pub close?", {"time"}),
        ("q hora cierra recepcion", {"time"}),
        ("how long does it take to get a crown made", {"duration"}),
        ("quanto tempo demora pra chegar?", {"duration"}),
        ("whats ur phone number", {"contact"}),
        ("Can I bring my dog?", set()),
        ("¿Aceptan mascotas?", set()),
    ],
)
def test_what_a_question_asks_for(question: str, kinds: set[str]) -> None:
    assert answer_types.asked(question) == kinds


@pytest.mark.parametrize(
    ("text", "kind", "holds"),
    [
        ("Crowns start at $1,150.", "price", True),
        ("Diárias a partir de R$ 320.", "price", True),
        ("パンク修理は1,100円です。", "price", True),
        ("Wi-Fi is free throughout the inn.", "price", True),
        ("The extraction is done here under local anaesthetic.", "price", False),
        ("Reception is open from 8:00 to 23:00.", "time", True),
        ("We open at 9 am on Saturdays.", "time", True),
        ("The Anchor is a five-minute walk away.", "time", False),
        ("Both take two visits about 2 weeks apart.", "duration", True),
        ("a bridge replaces one or more missing teeth", "duration", False),
        ("Call us on 01632 960 448.", "contact", True),
        ("Write to hello@clinic.example.", "contact", True),
        ("Ask at the front desk.", "contact", False),
    ],
)
def test_whether_a_text_states_a_kind_of_fact(text: str, kind: str, holds: bool) -> None:
    assert answer_types.holds(text, kind) is holds  # type: ignore[arg-type]


def test_a_question_asking_nothing_in_particular_misses_nothing() -> None:
    assert not answer_types.missing("Can I bring my dog?", "Dogs are welcome.")
    assert answer_types.missing("How much is parking?", "There is a car park behind the inn.")
    assert not answer_types.missing("How much is parking?", "Parking costs £6 a day.")
