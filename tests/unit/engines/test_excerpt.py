from __future__ import annotations

from bob.engines.excerpt import excerpt
from bob.text import answer_types
from bob.text.search import index_tokens, question_terms
from bob.text.units import split_units

HOURS = """Our shop is open every day except public holidays. We are on Harbour Street, next to \
the ferry terminal.

Opening hours:
- Monday to Friday: 9:00 to 19:00
- Saturday: 9:00 to 14:00
- Sunday: 10:00 to 13:00

In summer we stay open one hour longer on weekdays. Parking is free for customers behind the \
building."""

PRICES = """Every visit starts with a short check of your teeth and gums, and the dentist \
explains the options before any treatment begins.

| Treatment | Price |
|---|---|
| Cleaning | 80 EUR |
| Whitening | 250 EUR |
| Filling | from 95 EUR |

Prices include VAT. We send the invoice by e-mail after the visit."""


def answer(text: str, question: str) -> str:
    return excerpt(
        text,
        question_terms(question),
        tokens=index_tokens,
        wanted=answer_types.asked(question),
    )


def test_units_keep_lists_and_tables_apart_from_sentences() -> None:
    units = split_units(HOURS)
    kinds = [u.kind for u in units]
    assert kinds == [
        "sentence",
        "sentence",
        "sentence",
        "item",
        "item",
        "item",
        "sentence",
        "sentence",
    ]
    # Each list item knows the sentence that introduces the list.
    assert all(units[u.context].text == "Opening hours:" for u in units if u.kind == "item")  # type: ignore[index]


def test_a_list_item_answers_with_its_lead_in() -> None:
    assert answer(HOURS, "When do you close on Saturdays?") == (
        "Opening hours:\n- Saturday: 9:00 to 14:00"
    )


def test_one_sentence_answers_a_one_fact_question() -> None:
    assert answer(HOURS, "Is parking free?") == (
        "Parking is free for customers behind the building."
    )


def test_a_table_row_keeps_its_header() -> None:
    assert answer(PRICES, "How much is whitening?") == (
        "| Treatment | Price |\n| --- | --- |\n| Whitening | 250 EUR |"
    )


def test_a_passage_matched_on_meaning_alone_answers_with_its_opening() -> None:
    got = answer(HOURS, "zzz")
    assert got.startswith("Our shop is open every day except public holidays.")
    assert "Parking" not in got


def test_a_short_passage_is_kept_whole() -> None:
    short = "Returns are free within 30 days. Keep the receipt."
    assert answer(short, "Can I send back boots?") == short


def test_japanese_sentences_are_split_on_the_full_stop() -> None:
    text = "チェックインは15時からです。チェックアウトは10時までです。" * 6
    units = split_units(text)
    assert units[0].text == "チェックインは15時からです。"
    assert len(units) == 12


RATES = """| Room | Low season (March to November) | High season (December to February) |
|---|---|---|
| Double room | 120 EUR | 180 EUR |
| Family room | 160 EUR | 240 EUR |

Rates are per room and night, for two people, breakfast included. An extra bed costs 30 EUR a \
night. Over New Year the minimum stay is four nights."""

RENTALS = """We rent camping gear for the weekend, from Friday to Monday, to anyone with an ID:

| Item | Price per weekend |
|---|---|
| Two-person tent | 45 EUR |
| Sleeping bag | 20 EUR |
| Camping stove | 15 EUR |

Bring everything back clean and dry; we charge 10 EUR for cleaning otherwise. Book at least \
two days ahead in summer."""


def test_a_price_question_is_answered_by_the_row_with_the_price() -> None:
    # "rates" and "room" are in the sentence too, but only the rows state a price.
    got = answer(RATES, "what are the room rates in January")
    assert "| Double room | 120 EUR | 180 EUR |" in got
    assert got.startswith("| Room |")


def test_a_lead_in_brings_its_table_with_the_rows() -> None:
    got = answer(RENTALS, "how much to rent a tent for the weekend?")
    assert "| Two-person tent | 45 EUR |" in got
    assert got.index("We rent camping gear") < got.index("| Item |") < got.index("45 EUR")


def test_a_duration_question_prefers_the_sentence_with_the_duration() -> None:
    text = (
        "A crown covers and protects a damaged tooth; a bridge replaces missing teeth by "
        "anchoring to the teeth on either side. Both need two visits about 2 weeks apart: one "
        "to prepare the tooth, one to fit the crown. Crowns start at 900 EUR. Ask us about a "
        "payment plan if you need one."
    )
    got = answer(text, "how long does it take to get a crown made")
    assert "2 weeks apart" in got


def test_a_row_the_question_does_not_single_out_brings_its_table() -> None:
    got = answer(RATES, "what are the rates in January")
    assert "| Double room | 120 EUR | 180 EUR |" in got
    assert "| Family room | 160 EUR | 240 EUR |" in got
    # A question that names the row gets that row alone.
    assert "Double room" not in answer(RATES, "family room rates")
