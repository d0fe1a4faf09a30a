"""Calibrating the grounding decision (src/bob/text/grounding.py) on the development split.

For every answerable, unanswerable and injection message, retrieval's ranked passages and their
evidence (fused score, similarity, coverage, lead over the next item) are recorded; a logistic
regression of "the best passage comes from a right item" is fitted on the development split,
and the decision as grounding.py now has it is reported per strictness on both splits.

`python -m bench.quality.calibrate` prints the fitted weights and those figures.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bench.quality.run import Business, Question, load_businesses, running_bob, set_up
from bob.knowledge import service as knowledge
from bob.knowledge import vectors
from bob.text import grounding
from bob.text.passage import Passage
from bob.text.search import guess_language


@dataclass(frozen=True)
class Case:
    question: Question
    passages: list[Passage]
    item_ids: dict[str, str]
    language: str | None = None


async def collect(businesses: list[Business], split: str = "dev") -> list[Case]:
    cases: list[Case] = []
    async with running_bob({"embeddings": "local"}) as (client, db, settings):
        for business in businesses:
            tenant = await set_up(client, db, settings, business)
            me = (await client.get("/api/auth/me", headers=tenant.headers)).json()
            tenant_id = uuid.UUID(me["tenant"]["id"])
            for question in business.questions:
                if question.split != split and split != "all":
                    continue
                if question.category == "person":
                    continue
                # As the chat pipeline does: the message's own language, else the browser's.
                language = guess_language(question.text) or question.language or business.language
                vector = await vectors.embed_query(settings=settings, query=question.text)
                async with db.transaction() as session:
                    passages = await knowledge.retrieve(
                        session=session,
                        tenant_id=tenant_id,
                        query=question.text,
                        limit=5,
                        language=language,
                        settings=settings,
                        query_vector=vector,
                    )
                cases.append(Case(question, passages, tenant.item_ids, language))
    return cases


def fit(cases: list[Case], split: str = "dev") -> tuple[npt.NDArray[np.float64], float]:
    """Logistic regression of "the best passage is from a right item" on the evidence."""
    rows = [
        (grounding.features(c.passages, c.question.text, c.language), _right(c))
        for c in cases
        if c.passages and c.question.split == split
    ]
    x = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows], dtype=float)
    mean, spread = x.mean(0), x.std(0) + 1e-9
    z = (x - mean) / spread
    weights, intercept = np.zeros(z.shape[1]), 0.0
    for _ in range(3000):
        p = 1 / (1 + np.exp(-(z @ weights + intercept)))
        weights -= 0.5 * (z.T @ (p - y) / len(y) + 0.01 * weights)
        intercept -= 0.5 * float((p - y).mean())
    # Back to the raw features, as grounding.py uses them.
    return weights / spread, intercept - float((weights * mean / spread).sum())


def _right(case: Case) -> bool:
    best = case.passages[0]
    return (
        case.question.category == "answerable"
        and case.item_ids.get(str(best.item_id)) in case.question.answer_ids
    )


def report(cases: list[Case], split: str) -> None:
    for strictness in grounding.STRICTNESS:
        counts = {"correct": 0, "wrong": 0, "answerable": 0, "leaked": 0, "other": 0}
        for case in (c for c in cases if c.question.split == split):
            answered = grounding.grounded(
                case.passages, strictness, question=case.question.text, language=case.language
            )
            if case.question.category == "answerable":
                counts["answerable"] += 1
                if answered:
                    counts["correct" if _right(case) else "wrong"] += 1
            else:
                counts["other"] += 1
                counts["leaked"] += int(answered)
        print(split, strictness, counts)


def sweep(
    cases: list[Case], weights: npt.NDArray[np.float64], intercept: float, split: str
) -> None:
    """What each probability threshold would give with the fitted weights: answerable answered
    right and wrong, unanswerable and injections answered (all in % of their kind)."""
    chosen = [c for c in cases if c.question.split == split and c.passages]
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        right = wrong = leaked = answerable = other = 0
        for case in chosen:
            evidence = np.array(
                grounding.features(case.passages, case.question.text, case.language)
            )
            answered = 1 / (1 + math.exp(-(float(evidence @ weights) + intercept))) >= threshold
            if case.question.category == "answerable":
                answerable += 1
                right += int(answered and _right(case))
                wrong += int(answered and not _right(case))
            else:
                other += 1
                leaked += int(answered)
        print(
            f"{split} p>={threshold}: right {100 * right / answerable:.0f}% wrong "
            f"{100 * wrong / answerable:.1f}% unanswerable answered {100 * leaked / other:.0f}%"
        )


def main() -> None:
    cases = asyncio.run(collect(load_businesses(), "all"))
    weights, intercept = fit(cases)
    print("weights", np.round(weights, 3).tolist(), "intercept", round(intercept, 3))
    for split in ("dev", "test"):
        sweep(cases, weights, intercept, split)
    print("with the constants in grounding.py now:")
    for split in ("dev", "test"):
        report(cases, split)


if __name__ == "__main__":
    main()
