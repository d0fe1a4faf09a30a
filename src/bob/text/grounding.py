"""Fusing the two kinds of evidence, and deciding whether they are strong enough to answer.

Full-text search says how much of the question's wording a passage holds (IDF-weighted
coverage); the embedder says how close in meaning it is (cosine similarity). Neither is enough
alone: "Do you take credit cards?" shares no word with "We accept MC/VISA", and "Do you do dental
implants?" shares "dental" with every passage of a dentist. The fused score ranks; the decision
looks at the best passage's evidence and its lead over the best passage of another item, and a
tenant chooses how sure Bob must be (strict, balanced, helpful).

The constants were fitted on the development split of bench/quality (labelled messages to
invented businesses in en, pt-BR, es and ja; `python -m bench.quality.calibrate`) and are
reported on its held-out split.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from bob.text import answer_types
from bob.text.passage import Passage
from bob.text.search import analyser_language, guess_language

Strictness = Literal["strict", "balanced", "helpful"]
STRICTNESS: tuple[Strictness, ...] = ("strict", "balanced", "helpful")
DEFAULT_STRICTNESS: Strictness = "balanced"

# multilingual-e5 puts every pair of texts between ~0.7 and 1: below the floor nothing is
# related, at the ceiling a passage restates the question.
SIMILARITY_FLOOR = 0.80
SIMILARITY_CEILING = 0.92
# How much the meaning counts against the wording in the fused score (best top-1 item on the
# development split: 91 % of answerable questions, against 86 % for wording alone).
MEANING_WEIGHT = 0.7
# Where a passage was not among the nearest in meaning, or nothing was embedded.
_UNRELATED = 0.75
# A tenant with a handful of passages has no spread to measure a passage against; the best
# passage then counts as standing out as much as a typical best passage does on the benchmark.
_TYPICAL_RELATIVE = 2.0

# A logistic model of "the best passage answers the question", fitted on the development
# split: weights for the fused score, the similarity, the coverage, the best item's lead over
# the next item in fused score and in similarity, the similarity relative to the tenant's other
# passages, whether the question is in another language than the passage (alone and times the
# similarity), whether the passage lacks the kind of fact asked for, and the similarity of its
# closest unit and that unit's lead over the next item's.
_WEIGHTS = (1.727, 9.484, 1.88, -0.252, -13.486, 0.982, 0.947, 1.175, -2.562, 15.625, 28.141)
_INTERCEPT = -25.765
# The probability a tenant's strictness asks for. On the held-out split, balanced (with the
# full-coverage rule below) answered 72 % of answerable questions, 1 % from a wrong item, and
# 13 % of unanswerable ones and injections (before the guardrails, which hand every injection
# off).
CONFIDENCE: dict[Strictness, float] = {"strict": 0.75, "balanced": 0.55, "helpful": 0.45}
# A best passage that holds every one of the question's terms (and the kind of fact it asks for)
# answers whatever the model says: on the benchmark that was right 80 times out of 81 ("And on
# Saturday?" after a question about opening hours is one word, and no sentence is close to it).
FULL_COVERAGE = 0.99
# Without embeddings the decision rests on wording alone: the share of the question's
# (IDF-weighted) terms the best passage must hold.
COVERAGE_ONLY: dict[Strictness, float] = {"strict": 0.7, "balanced": 0.5, "helpful": 0.4}


def meaning(similarity: float) -> float:
    """Cosine similarity rescaled to 0..1 over the range where it tells passages apart."""
    scaled = (similarity - SIMILARITY_FLOOR) / (SIMILARITY_CEILING - SIMILARITY_FLOOR)
    return min(1.0, max(0.0, scaled))


def fused_score(coverage: float, similarity: float | None) -> float:
    if similarity is None:
        return coverage
    return MEANING_WEIGHT * meaning(similarity) + (1 - MEANING_WEIGHT) * coverage


def _runner_up(passages: Sequence[Passage]) -> Passage | None:
    best = passages[0]
    return next((p for p in passages[1:] if p.item_id != best.item_id), None)


def _other_language(question: str, language: str | None, passage: Passage) -> bool:
    asked = guess_language(question) or language
    if asked is None or passage.language is None:
        return False
    return analyser_language(asked) != analyser_language(passage.language)


def features(
    passages: Sequence[Passage], question: str = "", language: str | None = None
) -> tuple[float, ...]:
    """The evidence the decision weighs, for the best of `passages` (ranked, best first) as an
    answer to `question` (its language, when known, is `language`)."""
    best = passages[0]
    runner_up = _runner_up(passages)
    similarity = best.similarity if best.similarity is not None else _UNRELATED
    other_score = runner_up.score if runner_up is not None else 0.0
    other_similarity = (
        runner_up.similarity
        if runner_up is not None and runner_up.similarity is not None
        else _UNRELATED
    )
    # Across languages the model's similarities are lower for right and wrong passages alike;
    # the decision learns how much lower.
    crossing = float(_other_language(question, language, best))
    # The closest sentence, list item or table row: one line of a long passage can restate the
    # question when the passage as a whole is only loosely about it.
    closest = best.best_similarity if best.best_similarity is not None else _UNRELATED
    other_closest = (
        runner_up.best_similarity
        if runner_up is not None and runner_up.best_similarity is not None
        else _UNRELATED
    )
    return (
        best.score,
        similarity,
        best.coverage,
        best.score - other_score,
        similarity - other_similarity,
        best.relative if best.relative is not None else _TYPICAL_RELATIVE,
        crossing,
        crossing * similarity,
        # "How much is X?" answered by a passage about X that names no price.
        float(answer_types.missing(question, best.text)),
        closest,
        closest - other_closest,
    )


def confidence(
    passages: Sequence[Passage], question: str = "", language: str | None = None
) -> float:
    """The probability (0..1) that the best of `passages` (ranked, best first) answers."""
    evidence = features(passages, question, language)
    logit = _INTERCEPT + sum(w * x for w, x in zip(_WEIGHTS, evidence, strict=True))
    return 1 / (1 + math.exp(-logit))


def grounded(
    passages: Sequence[Passage],
    strictness: Strictness = DEFAULT_STRICTNESS,
    *,
    question: str = "",
    language: str | None = None,
) -> bool:
    """Whether the best passage (passages are ranked, best first) is strong enough to answer
    `question` (in `language`, when known)."""
    if not passages:
        return False
    if passages[0].similarity is None:
        # Without meaning, wording alone decides: the IDF-weighted share of the question's
        # terms a passage holds, and a passage without the asked kind of fact does not count.
        return any(
            p.coverage >= COVERAGE_ONLY[strictness] and not answer_types.missing(question, p.text)
            for p in passages
        )
    best = passages[0]
    if best.coverage >= FULL_COVERAGE and not answer_types.missing(question, best.text):
        return True
    return confidence(passages, question, language) >= CONFIDENCE[strictness]
