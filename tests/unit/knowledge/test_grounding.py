from __future__ import annotations

import uuid

import pytest

from bob.engines.base import Passage
from bob.knowledge import grounding

ITEM_A, ITEM_B = uuid.uuid4(), uuid.uuid4()


def passage(coverage: float, similarity: float | None, item: uuid.UUID = ITEM_A) -> Passage:
    return Passage(
        chunk_id=1,
        item_id=item,
        title="t",
        text="x",
        score=grounding.fused_score(coverage, similarity),
        coverage=coverage,
        similarity=similarity,
    )


def test_meaning_rescales_the_range_where_similarity_tells_passages_apart() -> None:
    assert grounding.meaning(0.5) == 0.0
    assert grounding.meaning(grounding.SIMILARITY_FLOOR) == 0.0
    assert grounding.meaning(grounding.SIMILARITY_CEILING) == 1.0
    assert grounding.meaning(0.99) == 1.0
    assert 0 < grounding.meaning(0.86) < 1


def test_without_a_similarity_the_score_is_the_coverage() -> None:
    assert grounding.fused_score(0.4, None) == 0.4


def test_a_passage_close_in_meaning_but_sharing_no_word_can_answer() -> None:
    # "Do you take credit cards?" against "We accept MC/VISA": no shared word.
    assert grounding.grounded([passage(0.0, 0.91), passage(0.0, 0.80, ITEM_B)], "balanced")


def test_one_common_word_and_a_loose_meaning_do_not_answer() -> None:
    assert not grounding.grounded([passage(0.3, 0.83), passage(0.3, 0.82, ITEM_B)], "balanced")


def test_two_items_equally_close_are_not_a_clear_answer() -> None:
    clear = [passage(0.5, 0.88), passage(0.2, 0.80, ITEM_B)]
    tied = [passage(0.5, 0.88), passage(0.5, 0.88, ITEM_B)]
    assert grounding.confidence(clear) > grounding.confidence(tied)


@pytest.mark.parametrize(
    "evidence",
    [[passage(0.5, 0.87), passage(0.2, 0.83, ITEM_B)], [passage(0.7, None)]],
    ids=["hybrid", "wording-only"],
)
def test_stricter_settings_never_answer_what_looser_ones_refuse(evidence: list[Passage]) -> None:
    answers = [grounding.grounded(evidence, s) for s in ("strict", "balanced", "helpful")]
    assert answers == sorted(answers)


def test_nothing_found_never_answers() -> None:
    assert not grounding.grounded([], "helpful")


def test_without_embeddings_the_decision_rests_on_coverage() -> None:
    assert grounding.grounded([passage(0.5, None)], "balanced")
    assert not grounding.grounded([passage(0.49, None)], "balanced")
    assert not grounding.grounded([passage(0.6, None)], "strict")
