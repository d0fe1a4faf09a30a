"""Recognising a request for a person by its meaning, beside the patterns of governance/guardrails.

The patterns know the usual ways to ask ("can I talk to a human", "me passa pra um atendente");
visitors find others ("is anyone there? like an actual person", 「店員さんに相談したいのですが」).
The question's embedding is compared with a few requests written in every widget language;
one that restates a request closely enough is handed to the team like a matched pattern.

The threshold sits above every answerable and unanswerable question of bench/quality (highest:
0.91, 「スタッフ募集はしていますか」) and catches, alone, 28 of its 60 requests for a person;
the patterns catch all 60, so this is a second net, set where it does not take questions away
from answers ("Alguém da equipe pode falar comigo?" is one it catches and they miss). It runs
with the local model only, the one the threshold was measured with.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt

from bob.knowledge import embeddings
from bob.knowledge.embeddings import EmbeddingError
from bob.knowledge.vectors import QueryVector
from bob.settings import Settings

log = logging.getLogger(__name__)

THRESHOLD = 0.925

EXAMPLES = (
    # English
    "I want to talk to a person",
    "Can I speak to a human, please?",
    "Put me through to someone from the team",
    "I'd like to talk to a real person, not a bot",
    "Can someone from the front desk call me back?",
    "Let me talk to customer service",
    # Portuguese
    "Quero falar com um atendente",
    "me passa pra um humano",
    "chama alguém da equipe",
    "tem alguma pessoa de verdade aí?",
    "posso falar com a recepção?",
    # Spanish
    "Quiero hablar con una persona",
    "necesito hablar con recepción",
    "pásame con un agente, por favor",
    "¿me atiende alguien del equipo?",
    "quiero hablar con un humano",
    # Japanese
    "担当者と話したいです",
    "スタッフの方と話したいです",
    "人間のオペレーターにつないでください",
    "お店の人に直接聞きたいです",
    # The widget's other languages
    "Je voudrais parler à quelqu'un de l'équipe",
    "Ich möchte mit einem Menschen sprechen",
    "Vorrei parlare con un operatore",
    "Ik wil met een medewerker praten",
    "Chcę porozmawiać z człowiekiem",
)

# The examples embedded, per embedding model; built once per process (two requests racing to
# build it only embed the examples twice).
_examples: dict[str, npt.NDArray[np.float32]] = {}


async def _matrix(settings: Settings, model: str) -> npt.NDArray[np.float32] | None:
    found = _examples.get(model)
    if found is not None:
        return found
    embedder = embeddings.embedder_for(settings)
    # The threshold holds for the model it was measured with; another model's similarities sit
    # elsewhere (some put every pair above 0.9), so with it the patterns decide alone.
    if embedder is None or embedder.model != model or embedder.backend != "local":
        return None
    try:
        # As questions: a visitor's message is compared with other messages.
        rows = [await embedder.query(example) for example in EXAMPLES]
    except EmbeddingError as exc:
        log.warning("person-request examples not embedded (%s)", exc)
        return None
    matrix = np.vstack(rows).astype(np.float32)
    _examples[model] = matrix
    return matrix


async def prepare(settings: Settings) -> None:
    """Embed the examples now (at start), not during a visitor's first message."""
    embedder = embeddings.embedder_for(settings)
    if embedder is not None and embedder.backend == "local":
        await _matrix(settings, embedder.model)


async def resembles(settings: Settings, question: QueryVector | None) -> bool:
    """Whether the embedded message restates a request for a person."""
    if question is None:
        return False
    examples = await _matrix(settings, question.model)
    if examples is None or examples.shape[1] != len(question.vector):
        return False
    return float((examples @ question.vector).max()) >= THRESHOLD
