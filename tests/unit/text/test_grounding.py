from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from bob.text import grounding
from bob.text.passage import Passage

ITEM_A, ITEM_B = uuid.uuid4(), uuid.uuid4()


def passage(
    coverage: float,
    similarity: float | None,
    item: uuid.UUID = ITEM_A,
    *,
    relative: float | None = None,
    text: str = "x",
    language: str | None = None,
) -> Passage:
    return Passage(
        chunk_id=1,
        item_id=item,
        title="t",
        text=text,
        score=grounding.fused_score(coverage, similarity),
        language=language,
        coverage=coverage,
        similarity=similarity,
        relative=relative,
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
    best = passage(0.0, 0.91, relative=3.5)
    assert grounding.grounded([best, passage(0.0, 0.80, ITEM_B, relative=1.0)], "balanced")


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


def test_a_passage_without_the_kind_of_fact_asked_for_is_less_likely_to_answer() -> None:
    # "How much is an extraction?" against a passage about extractions that names no price.
    priced = passage(0.8, 0.88, relative=3.0, text="An extraction costs 90 EUR.")
    unpriced = passage(0.8, 0.88, relative=3.0, text="We extract teeth under local anaesthetic.")
    runner_up = passage(0.2, 0.82, ITEM_B, relative=1.5)
    question = "How much is an extraction?"
    assert grounding.confidence([priced, runner_up], question) > grounding.confidence(
        [unpriced, runner_up], question
    )
    # Without embeddings too, a passage that lacks the asked fact does not answer.
    assert grounding.grounded([replace(priced, similarity=None)], question=question)
    assert not grounding.grounded([replace(unpriced, similarity=None)], question=question)


def test_similarities_across_languages_are_read_on_their_own_scale() -> None:
    # multilingual-e5 puts a Spanish question and the English passage that answers it lower
    # than two English texts; the decision learned how much lower.
    english = passage(0.0, 0.82, relative=3.0, language="en")
    runner_up = passage(0.0, 0.80, ITEM_B, relative=2.0, language="en")
    same = grounding.confidence([english, runner_up], "Can I bring my dog to the hotel?", "en")
    other = grounding.confidence([english, runner_up], "¿Se admiten perros en el hotel?", "es")
    assert other > same


def test_a_passage_with_every_term_of_the_question_answers() -> None:
    # "And on Saturday?" after a question about opening hours: one word, weak in meaning.
    hours = passage(1.0, 0.81, relative=1.0, text="On Saturday we open from 9:00 to 13:00.")
    other = passage(0.0, 0.80, ITEM_B, relative=0.8)
    assert grounding.grounded([hours, other], "strict", question="And on Saturday?")
    # Unless it lacks the kind of fact the question asks for.
    assert not grounding.grounded(
        [replace(hours, text="We are open on Saturday."), other],
        "strict",
        question="What time do you open on Saturday?",
    )
