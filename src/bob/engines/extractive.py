"""The embedded engine: answers by quoting the tenant's best matching passages, or not at all."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from bob.engines.base import EngineRequest, EngineResult, TokenDelta
from bob.engines.excerpt import excerpt
from bob.engines.phrases import answer_intro
from bob.text import answer_types, search
from bob.text.passage import Passage
from bob.text.search import Term

MAX_PASSAGES = 2
# A second passage is added only when it is nearly as relevant as the first; a much weaker one
# would dilute a good answer with loosely related text.
SECOND_PASSAGE_RATIO = 0.8
_WORDS_PER_DELTA = 3
# Scripts without spaces (Japanese) would otherwise arrive as one delta per passage.
_MAX_TOKEN_CHARS = 8
_TOKEN = re.compile(r"\S+\s*|\s+")


def select_passages(passages: list[Passage], min_score: float) -> list[Passage]:
    """The passages to answer with: the best one, and the best from another item if close to it.

    Passages measured in meaning as well as wording (`similarity` set) come from retrieval's
    calibrated grounding decision, which has already judged them as a whole: a question in
    another language shares no word with the passage that answers it. Passages judged on wording
    alone must cover `min_score` of the question, and one that covers none of its terms never
    qualifies, whatever `min_score` is. Ties keep the order retrieval gave, so the choice is
    deterministic.
    """
    qualified = [
        p
        for p in passages
        if p.text.strip()
        and (p.similarity is not None or (max(p.score, p.coverage) >= min_score and p.score > 0))
    ]
    if not qualified:
        return []
    ranked = sorted(qualified, key=lambda p: -p.score)
    best = ranked[0]
    chosen = [best]
    for candidate in ranked[1:]:
        if candidate.item_id == best.item_id:
            continue
        if candidate.score >= SECOND_PASSAGE_RATIO * best.score and candidate.score > 0:
            chosen.append(candidate)
        break
    return chosen[:MAX_PASSAGES]


def split_for_streaming(text: str) -> list[str]:
    """Pieces of a few words each; joined, they give back `text` exactly."""
    tokens: list[str] = []
    for token in _TOKEN.findall(text):
        tokens.extend(
            token[i : i + _MAX_TOKEN_CHARS] for i in range(0, len(token), _MAX_TOKEN_CHARS)
        )
    return [
        "".join(tokens[i : i + _WORDS_PER_DELTA]) for i in range(0, len(tokens), _WORDS_PER_DELTA)
    ]


class ExtractiveEngine:
    name = "extractive"

    def __init__(self, min_score: float) -> None:
        self.min_score = min_score

    async def stream(self, request: EngineRequest) -> AsyncIterator[TokenDelta | EngineResult]:
        chosen = select_passages(request.passages, self.min_score)
        if not chosen:
            yield EngineResult(text=None, sources=[], engine=self.name)
            return
        wanted = answer_types.asked(request.message)
        excerpts: list[str] = []
        answered: set[Term] = set()
        sources: list[Passage] = []
        for passage in chosen:
            # The question's terms as this passage's language analyses them, so that a unit's
            # words and the question's meet in one form whatever language either is in.
            terms = search.question_terms(
                request.message, passage.language, question_language=request.language
            )

            def tokens(text: str, language: str | None = passage.language) -> list[str]:
                return search.index_tokens(text, language)

            quoted = excerpt(
                passage.text,
                terms,
                tokens=tokens,
                wanted=wanted,
                similarities=passage.unit_similarities,
            )
            present = set(tokens(quoted))
            found = {term for term in terms if term.found_in(present)}
            if sources and found <= answered:
                # A second source that holds nothing the first lacks only makes the reply longer.
                continue
            excerpts.append(quoted)
            sources.append(passage)
            answered |= found
        intro = answer_intro(request.persona, request.language, quoted_language=sources[0].language)
        text = "\n\n".join([intro, *excerpts])
        for piece in split_for_streaming(text):
            yield TokenDelta(piece)
        yield EngineResult(text=text, sources=sources, engine=self.name)
