"""The embedders themselves: the local model really embeds, in any language; a model that cannot
load leaves Bob searching by words, with one warning; the stored format and the matrix cache."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import numpy as np
import pytest

from bob.knowledge import embeddings, vectors
from bob.knowledge.embeddings import LocalEmbedder
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def local() -> LocalEmbedder:
    return LocalEmbedder()


async def test_questions_and_passages_are_unit_vectors_of_the_model(local: LocalEmbedder) -> None:
    question = await local.query("When do you open on Saturdays?")
    passages = await local.passages(["Saturday hours: 10:00 to 16:00.", "We ship worldwide."])
    assert question.shape == (384,)
    assert question.dtype == np.float32
    assert passages.shape == (2, 384)
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)
    assert local.model == embeddings.LOCAL_MODEL
    # More passages than one call takes come back in order.
    many = [f"Locker number {n} is on floor {n % 3}." for n in range(11)]
    together = await local.passages(many)
    alone = await local.passages(many[9:10])
    assert np.allclose(together[9], alone[0], atol=1e-4)


async def test_similar_texts_are_closer_than_unrelated_ones(local: LocalEmbedder) -> None:
    question = await local.query("How long does delivery take?")
    shipping, refund, cake = await local.passages(
        [
            "Parcels usually arrive within three to five working days.",
            "Refunds are paid back to the card used for the purchase.",
            "Mix the flour and the butter, then bake for forty minutes.",
        ]
    )
    assert question @ shipping > max(question @ refund, question @ cake) + 0.03


async def test_a_question_finds_its_answer_in_another_language(local: LocalEmbedder) -> None:
    question = await local.query("Do you accept pets?")
    pets, unrelated = await local.passages(
        [
            "Aceitamos animais de estimação em todos os quartos do hotel.",
            "The car park closes at midnight and reopens at six.",
        ]
    )
    assert question @ pets > question @ unrelated + 0.03


def test_a_model_that_cannot_load_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="not found"):
        LocalEmbedder(tmp_path / "no-such-model.bin")


def test_unloadable_local_model_means_words_only_and_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "missing-model.bin"
    settings = make_settings("sqlite+aiosqlite://", tmp_path, embeddings_local_model=str(missing))
    with caplog.at_level(logging.WARNING, logger="bob.embeddings"):
        assert embeddings.embedder_for(settings) is None
        assert embeddings.embedder_for(settings) is None
        state = embeddings.status(settings)
    assert (state.backend, state.status, state.model) == ("local", "unavailable", None)
    assert state.reason == "the local embedding model cannot load (FileNotFoundError)"
    # The path stays in the log: the reason is shown on the unauthenticated health check.
    assert str(missing) not in state.reason
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "words only" in warnings[0].getMessage()
    assert str(missing) in warnings[0].getMessage()


def test_off_has_no_embedder(tmp_path: Path) -> None:
    settings = make_settings("sqlite+aiosqlite://", tmp_path, embeddings="off")
    assert embeddings.embedder_for(settings) is None
    assert embeddings.status(settings).as_dict() == {
        "backend": "off",
        "status": "off",
        "model": None,
        "reason": None,
    }


def test_the_chat_key_goes_only_to_the_chat_endpoint(tmp_path: Path) -> None:
    def endpoint(**values: object) -> tuple[str, str | None]:
        settings = make_settings("sqlite+aiosqlite://", tmp_path, **values)
        return embeddings.openai_endpoint(settings)

    chat = {"openai_base_url": "https://llm.example.com/v1/", "openai_api_key": "chat-key"}
    assert endpoint(**chat) == ("https://llm.example.com/v1", "chat-key")
    assert endpoint(**chat, embeddings_base_url="https://llm.example.com/v1") == (
        "https://llm.example.com/v1",
        "chat-key",
    )
    assert endpoint(**chat, embeddings_base_url="https://vectors.example.com/v1") == (
        "https://vectors.example.com/v1",
        None,
    )
    assert endpoint(
        **chat, embeddings_base_url="https://vectors.example.com/v1", embeddings_api_key="own"
    ) == ("https://vectors.example.com/v1", "own")


def test_stored_vectors_are_half_size_and_nearly_exact() -> None:
    rng = np.random.default_rng(7)
    vector = embeddings.normalise(rng.standard_normal(384))
    blob = vectors.encode(vector)
    assert len(blob) == 384 * 2
    restored = vectors.decode(blob, 384)
    assert restored.dtype == np.float32
    assert np.abs(restored - vector).max() < 1e-3
    assert abs(float(restored @ vector) - 1.0) < 1e-3


def test_the_cache_drops_the_least_recently_used_tenant() -> None:
    def matrix(rows: int) -> vectors._Matrix:
        return vectors._Matrix(
            1, np.arange(rows, dtype=np.int64), np.zeros((rows, 4), dtype=np.float32)
        )

    a, b, c = ((uuid.uuid4(), "m", 4) for _ in range(3))
    cache = vectors.MatrixCache(max_bytes=matrix(10).nbytes * 2)
    cache.put(a, matrix(10))
    cache.put(b, matrix(10))
    assert cache.get(a) is not None  # a is now the most recently used
    cache.put(c, matrix(10))
    assert cache.get(b) is None
    assert cache.get(a) is not None
    assert cache.get(c) is not None
    # One tenant larger than the whole budget is still kept: it is about to be searched.
    cache.put(b, matrix(100))
    assert cache.get(b) is not None
    assert cache.get(a) is None
