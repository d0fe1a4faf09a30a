from __future__ import annotations

from dataclasses import replace

import pytest

from bob.engines.base import EngineResult, TokenDelta, complete
from bob.engines.extractive import ExtractiveEngine, select_passages, split_for_streaming
from bob.engines.phrases import SUPPORTED_LANGUAGES, answer_intro
from bob.text.passage import Passage
from tests.engines_data import (
    AVA,
    AVA_FORMAL,
    HOURS,
    HOURS_ITEM,
    PARKING,
    PARKING_ITEM,
    RETURNS_ITEM,
    engine_request,
    passage,
)

ENGINE = ExtractiveEngine(min_score=0.5)


async def events(engine: ExtractiveEngine, **kwargs: object) -> list[TokenDelta | EngineResult]:
    return [event async for event in engine.stream(engine_request(**kwargs))]  # type: ignore[arg-type]


async def test_answers_with_the_covering_passage_and_cites_it() -> None:
    weak = passage("Our cakes are made with butter.", 0.2, item_id=RETURNS_ITEM, chunk_id=9)
    result = await complete(ENGINE, engine_request(passages=[weak, HOURS]))
    assert result.grounded
    assert result.text == "Here's what I found:\n\nWe are open Monday to Friday, 8:00 to 18:00."
    assert result.sources == [HOURS]
    assert result.engine == "extractive"
    assert result.prompt_tokens is None
    assert result.completion_tokens is None
    assert result.total_tokens is None


async def test_passage_text_is_trimmed() -> None:
    padded = passage("\n  We open at eight.  \n", 0.9)
    result = await complete(ENGINE, engine_request(passages=[padded]))
    assert result.text == "Here's what I found:\n\nWe open at eight."


@pytest.mark.parametrize(
    "passages",
    [
        [],
        [passage("We are open Monday to Friday.", 0.49)],
        [passage("Unrelated.", 0.0)],
        [passage("   ", 1.0)],
    ],
    ids=["nothing", "below-threshold", "zero", "blank"],
)
async def test_hands_over_when_the_knowledge_does_not_cover_the_question(
    passages: list[Passage],
) -> None:
    got = await events(ENGINE, passages=passages)
    assert got == [EngineResult(text=None, sources=[], engine="extractive")]


async def test_a_zero_score_never_answers_even_with_a_zero_threshold() -> None:
    result = await complete(
        ExtractiveEngine(min_score=0.0), engine_request(passages=[passage("Anything.", 0.0)])
    )
    assert result.text is None


async def test_a_passage_exactly_at_the_threshold_answers() -> None:
    result = await complete(ENGINE, engine_request(passages=[passage("At the line.", 0.5)]))
    assert result.sources[0].text == "At the line."


async def test_a_second_source_that_adds_nothing_is_left_out() -> None:
    result = await complete(ENGINE, engine_request(passages=[PARKING, HOURS]))
    assert result.sources == [HOURS]
    assert result.text == "Here's what I found:\n\nWe are open Monday to Friday, 8:00 to 18:00."


async def test_two_passages_from_different_items_when_the_second_adds_to_the_first() -> None:
    result = await complete(
        ENGINE,
        engine_request("When are you open, and is there free parking?", [PARKING, HOURS]),
    )
    assert result.sources == [HOURS, PARKING]
    assert result.text == (
        "Here's what I found:\n\n"
        "We are open Monday to Friday, 8:00 to 18:00.\n\n"
        "Free parking is available behind the shop."
    )


async def test_second_passage_needs_eighty_percent_of_the_first() -> None:
    best = passage("Best.", 1.0, item_id=HOURS_ITEM)
    at_ratio = passage("Close.", 0.8, item_id=PARKING_ITEM, chunk_id=2)
    below = passage("Too far.", 0.79, item_id=PARKING_ITEM, chunk_id=3)
    assert select_passages([best, at_ratio], 0.5) == [best, at_ratio]
    assert select_passages([best, below], 0.5) == [best]


async def test_second_passage_must_come_from_another_item() -> None:
    first = passage("Part one.", 1.0, item_id=HOURS_ITEM, chunk_id=1)
    same_item = passage("Part two.", 0.95, item_id=HOURS_ITEM, chunk_id=2)
    other_item = passage("Other item.", 0.9, item_id=PARKING_ITEM, chunk_id=3)
    assert select_passages([first, same_item], 0.5) == [first]
    # The best passage of another item is considered, not merely the runner-up.
    assert select_passages([first, same_item, other_item], 0.5) == [first, other_item]


async def test_never_more_than_two_passages() -> None:
    many = [
        passage("Bread daily.", 1.0, item_id=HOURS_ITEM, chunk_id=1),
        passage("Cakes on order.", 0.99, item_id=PARKING_ITEM, chunk_id=2),
        passage("Pies on Fridays.", 0.98, item_id=RETURNS_ITEM, chunk_id=3),
    ]
    result = await complete(ENGINE, engine_request("bread, cakes or pies?", passages=many))
    assert [p.chunk_id for p in result.sources] == [1, 2]


async def test_the_second_passage_must_also_pass_the_threshold() -> None:
    best = passage("Best.", 0.55, item_id=HOURS_ITEM)
    under = passage("Under.", 0.45, item_id=PARKING_ITEM, chunk_id=2)
    assert select_passages([best, under], 0.5) == [best]


async def test_output_is_deterministic() -> None:
    tie_a = passage("Tie A.", 0.7, item_id=HOURS_ITEM, chunk_id=1)
    tie_b = passage("Tie B.", 0.7, item_id=PARKING_ITEM, chunk_id=2)
    runs = [await events(ENGINE, passages=[tie_a, tie_b, HOURS]) for _ in range(5)]
    assert all(run == runs[0] for run in runs)
    final = runs[0][-1]
    assert isinstance(final, EngineResult)
    assert final.sources == [HOURS]
    assert [await complete(ENGINE, engine_request(passages=[tie_a, tie_b]))] * 2 == [
        await complete(ENGINE, engine_request(passages=[tie_a, tie_b])) for _ in range(2)
    ]


async def test_ties_keep_retrieval_order() -> None:
    tie_a = passage("Tie A.", 0.7, item_id=HOURS_ITEM, chunk_id=1)
    tie_b = passage("Tie B.", 0.7, item_id=PARKING_ITEM, chunk_id=2)
    assert select_passages([tie_a, tie_b], 0.5) == [tie_a, tie_b]
    assert select_passages([tie_b, tie_a], 0.5) == [tie_b, tie_a]


async def test_streams_several_deltas_that_join_to_the_final_text() -> None:
    got = await events(ENGINE, passages=[HOURS, PARKING])
    deltas = [e for e in got if isinstance(e, TokenDelta)]
    result = got[-1]
    assert isinstance(result, EngineResult)
    assert all(isinstance(e, TokenDelta) for e in got[:-1])
    assert len(deltas) > 3
    assert "".join(d.text for d in deltas) == result.text
    assert all(d.text for d in deltas)


async def test_scripts_without_spaces_are_streamed_in_pieces_too() -> None:
    text = "営業時間は月曜日から金曜日の午前八時から午後六時までです。土曜日と日曜日は定休日です。"
    got = await events(ENGINE, passages=[passage(text, 1.0)], language="ja")
    deltas = [e.text for e in got if isinstance(e, TokenDelta)]
    assert len(deltas) > 2
    assert "".join(deltas) == f"{answer_intro(AVA, 'ja')}\n\n{text}"


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
async def test_the_intro_is_in_the_visitors_language(language: str) -> None:
    result = await complete(ENGINE, engine_request(language=language))
    assert result.text is not None
    assert result.text.startswith(answer_intro(AVA, language) + "\n\n")


async def test_the_intro_follows_the_persona_register_and_language_tags() -> None:
    friendly = await complete(ENGINE, engine_request(language="pt-BR"))
    formal = await complete(ENGINE, engine_request(language="pt", persona=AVA_FORMAL))
    assert friendly.text is not None
    assert formal.text is not None
    assert friendly.text.startswith("Olha o que eu encontrei:")
    assert formal.text.startswith("Segue a informação relevante que encontrei:")


def test_split_for_streaming_round_trips() -> None:
    for text in ["", "one", "a  b\n\nc d e f g", "  leading", "x" * 100]:
        assert "".join(split_for_streaming(text)) == text


async def test_a_passage_judged_on_meaning_answers_without_sharing_a_word() -> None:
    # The grounding decision has judged it (similarity measured): a question in Spanish about
    # an English passage covers none of its terms and still gets it.
    judged = Passage(
        chunk_id=9,
        item_id=HOURS_ITEM,
        title="Dogs",
        text="Well-behaved dogs are welcome in our ground-floor rooms.",
        score=0.1,
        coverage=0.0,
        similarity=0.82,
    )
    assert select_passages([judged], 0.5) == [judged]
    assert select_passages([replace(judged, similarity=None)], 0.5) == []
