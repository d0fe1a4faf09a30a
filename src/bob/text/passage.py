"""What retrieval hands the engines: a passage of the tenant's knowledge and the evidence for it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Passage:
    """A retrieved piece of the tenant's knowledge.

    `score` (0..1) is retrieval's fused evidence (text/grounding.py), computed the
    same way on every database, so the extractive engine's decisions do not depend on it.
    """

    chunk_id: int
    item_id: uuid.UUID
    title: str
    text: str
    score: float
    source_url: str | None = None
    # The language the passage is written in (a primary tag such as "es"), when known.
    language: str | None = None
    # The evidence behind `score`: the IDF-weighted share of the question's terms the passage
    # holds (0..1), and its cosine similarity in meaning to the question (None: not measured).
    coverage: float = 0.0
    similarity: float | None = None
    # The similarity in standard deviations above the tenant's passages' mean for this question
    # (knowledge/vectors.py DenseHit.relative); None: not measured.
    relative: float | None = None
    # The question's similarity to each of the passage's units (sentences, list items, table
    # rows, in `split_units` order); empty when not measured or the passage is one unit.
    unit_similarities: tuple[float, ...] = ()

    @property
    def best_similarity(self) -> float | None:
        """The closest of the passage and its units to the question."""
        if self.similarity is None:
            return None
        return max((self.similarity, *self.unit_similarities))
