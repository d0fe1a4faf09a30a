"""The engine interface: (persona, policy, sources, history, message) in, a reply out.

Every engine streams: it yields `TokenDelta`s as text becomes available and ends with exactly
one `EngineResult`. Callers that want the whole reply at once read the stream to its end.
A provider failure or timeout raises `EngineError`; the chat pipeline turns that into a polite
handoff, never a 5xx.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

from bob.text.passage import Passage


@dataclass(frozen=True)
class PersonaView:
    name: str
    description: str = ""
    tone: str = ""
    system_prompt: str = ""


@dataclass(frozen=True)
class Turn:
    role: Literal["visitor", "assistant", "operator"]
    content: str


@dataclass(frozen=True)
class EngineRequest:
    persona: PersonaView
    business_name: str
    language: str  # BCP 47 primary tag the reply should be in, e.g. "en", "pt", "ja"
    message: str
    passages: list[Passage]
    history: list[Turn] = field(default_factory=list)


@dataclass(frozen=True)
class TokenDelta:
    text: str


@dataclass(frozen=True)
class EngineResult:
    """The finished reply. `text` is None when there is no grounded answer (hand over)."""

    text: str | None
    sources: list[Passage]
    engine: str
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    @property
    def grounded(self) -> bool:
        return self.text is not None

    @property
    def total_tokens(self) -> int | None:
        if self.prompt_tokens is None and self.completion_tokens is None:
            return None
        return (self.prompt_tokens or 0) + (self.completion_tokens or 0)


class EngineError(Exception):
    """The engine could not answer: provider down, refused, or too slow."""


class Engine(Protocol):
    name: str

    def stream(self, request: EngineRequest) -> AsyncIterator[TokenDelta | EngineResult]: ...


async def complete(engine: Engine, request: EngineRequest) -> EngineResult:
    """Read an engine's stream to the end and return its result."""
    result: EngineResult | None = None
    async for event in engine.stream(request):
        if isinstance(event, EngineResult):
            result = event
    if result is None:
        raise EngineError(f"engine {engine.name} ended without a result")
    return result
