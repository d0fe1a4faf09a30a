"""Builders for engine requests and passages, shared by the engine tests."""

from __future__ import annotations

import uuid

from bob.engines.base import EngineRequest, PersonaView, Turn
from bob.text.passage import Passage

HOURS_ITEM = uuid.UUID("00000000-0000-0000-0000-00000000a001")
PARKING_ITEM = uuid.UUID("00000000-0000-0000-0000-00000000a002")
RETURNS_ITEM = uuid.UUID("00000000-0000-0000-0000-00000000a003")

AVA = PersonaView(
    name="Ava",
    description="The front desk of Sunny Bakery.",
    tone="warm and cheerful",
    system_prompt="Always mention that our bread is baked fresh every morning.",
)
AVA_FORMAL = PersonaView(name="Ava", tone="formal and precise")


def passage(
    text: str,
    score: float,
    *,
    item_id: uuid.UUID = HOURS_ITEM,
    chunk_id: int = 1,
    title: str = "Opening hours",
    source_url: str | None = None,
) -> Passage:
    return Passage(
        chunk_id=chunk_id,
        item_id=item_id,
        title=title,
        text=text,
        score=score,
        source_url=source_url,
    )


HOURS = passage("We are open Monday to Friday, 8:00 to 18:00.", 1.0, chunk_id=1)
PARKING = passage(
    "Free parking is available behind the shop.",
    0.9,
    item_id=PARKING_ITEM,
    chunk_id=2,
    title="Parking",
    source_url="https://sunny.example.com/parking",
)


def engine_request(
    message: str = "When are you open?",
    passages: list[Passage] | None = None,
    *,
    persona: PersonaView = AVA,
    language: str = "en",
    history: list[Turn] | None = None,
) -> EngineRequest:
    return EngineRequest(
        persona=persona,
        business_name="Sunny Bakery",
        language=language,
        message=message,
        passages=[HOURS] if passages is None else passages,
        history=history or [],
    )
