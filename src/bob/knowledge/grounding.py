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

from bob.engines.base import Passage

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

# A logistic model of "the best passage answers the question", fitted on the development
# split: weights for the fused score, the similarity, the coverage, and the best item's lead
# over the next item in fused score and in similarity.
_WEIGHTS = (1.516, 10.398, 1.024, 2.628, 19.328)
_INTERCEPT = -10.786
# The probability a tenant's strictness asks for. On the held-out split, balanced answered
# 64 % of answerable questions with no wrong item and 13 % of unanswerable ones.
CONFIDENCE: dict[Strictness, float] = {"strict": 0.8, "balanced": 0.6, "helpful": 0.5}
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


def features(passages: Sequence[Passage]) -> tuple[float, ...]:
    """The evidence the decision weighs, for the best of `passages` (ranked, best first)."""
    best = passages[0]
    runner_up = _runner_up(passages)
    similarity = best.similarity if best.similarity is not None else _UNRELATED
    other_score = runner_up.score if runner_up is not None else 0.0
    other_similarity = (
        runner_up.similarity
        if runner_up is not None and runner_up.similarity is not None
        else _UNRELATED
    )
    return (
        best.score,
        similarity,
        best.coverage,
        best.score - other_score,
        similarity - other_similarity,
    )


def confidence(passages: Sequence[Passage]) -> float:
    """The probability (0..1) that the best of `passages` (ranked, best first) answers."""
    logit = _INTERCEPT + sum(w * x for w, x in zip(_WEIGHTS, features(passages), strict=True))
    return 1 / (1 + math.exp(-logit))


def grounded(passages: Sequence[Passage], strictness: Strictness = DEFAULT_STRICTNESS) -> bool:
    """Whether the best passage (passages are ranked, best first) is strong enough to answer."""
    if not passages:
        return False
    # A passage that holds the question's own words, weighted by rarity, answers as it did
    # before meaning was measured; meaning adds the answers that wording alone misses.
    if max(p.coverage for p in passages) >= COVERAGE_ONLY[strictness]:
        return True
    if passages[0].similarity is None:
        return False
    return confidence(passages) >= CONFIDENCE[strictness]
