"""A small OpenAI-compatible HTTP server for engine tests, on 127.0.0.1 only.

It speaks the real wire protocol (`POST /v1/chat/completions`, JSON or `text/event-stream` with
`data: {chunk}` lines and `data: [DONE]`), so the official SDK is exercised end to end. It runs
under uvicorn in a thread of its own, records every request it gets, and behaves according to
`scenario`, which each test sets:

- "stream"     stream `chunks` (JSON when the request does not ask for a stream)
- "status"     answer HTTP `status` with an OpenAI-style error body
- "hang"       accept the request and never answer
- "trickle"    stream `chunks`, waiting `delay` seconds before each one
- "malformed"  one good chunk, then a data line that is not JSON
- "error"      one good chunk, then an error event, as providers send when failing mid-stream
- "redirect"   answer 307 to the same path (a client that follows it asks again, and again)

`POST /v1/embeddings` answers every input with a bag-of-words vector (each word hashed into one
of `embedding_dim` dimensions), so texts sharing words are similar; with scenario "status" it
answers HTTP `status` like the chat route.

Use the `fake_openai` fixture (tests/integration/engines/conftest.py re-exports it).
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

HOST = "127.0.0.1"
DEFAULT_MODEL = "fake-model-1"


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    # The client's side of the TCP connection: the same port means a reused connection.
    client_port: int | None = None

    @property
    def system_prompt(self) -> str:
        return str(self.body["messages"][0]["content"])


@dataclass
class FakeOpenAI:
    port: int = 0
    scenario: str = "stream"
    chunks: list[str] = field(default_factory=lambda: ["Hello", " there", "."])
    status: int = 500
    delay: float = 0.0
    model: str = DEFAULT_MODEL
    prompt_tokens: int = 42
    completion_tokens: int = 7
    embedding_dim: int = 64
    requests: list[RecordedRequest] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    def reset(self) -> None:
        self.scenario = "stream"
        self.chunks = ["Hello", " there", "."]
        self.status = 500
        self.delay = 0.0
        self.model = DEFAULT_MODEL
        self.embedding_dim = 64
        self.requests.clear()

    # ---- wire format -----------------------------------------------------------------------

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    def _usage(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }

    async def _events(self, body: dict[str, Any]) -> AsyncIterator[str]:
        def line(data: dict[str, Any]) -> str:
            return f"data: {json.dumps(data)}\n\n"

        yield line(self._chunk({"role": "assistant", "content": ""}))
        if self.scenario == "malformed":
            yield line(self._chunk({"content": "Half an answer"}))
            yield 'data: {"id": "chatcmpl-fake", "choices": [{"delta": \n\n'
            yield "data: [DONE]\n\n"
            return
        if self.scenario == "error":
            yield line(self._chunk({"content": "Half an answer"}))
            yield line({"error": {"message": "the model crashed", "type": "server_error"}})
            return
        for text in self.chunks:
            if self.delay:
                await asyncio.sleep(self.delay)
            yield line(self._chunk({"content": text}))
        yield line(self._chunk({}, finish="stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            usage_chunk = self._chunk({})
            usage_chunk["choices"] = []
            usage_chunk["usage"] = self._usage()
            yield line(usage_chunk)
        yield "data: [DONE]\n\n"

    def _completion(self) -> dict[str, Any]:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(self.chunks)},
                    "finish_reason": "stop",
                }
            ],
            "usage": self._usage(),
        }

    async def chat_completions(self, request: Request) -> Response:
        body = json.loads(await request.body())
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.url.path,
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
                client_port=request.client.port if request.client else None,
            )
        )
        if self.scenario == "status":
            error = {"message": f"fake error {self.status}", "type": "fake", "code": None}
            return JSONResponse({"error": error}, status_code=self.status)
        if self.scenario == "redirect":
            return Response(status_code=307, headers={"location": request.url.path})
        if self.scenario == "hang":
            # Until the client gives up; uvicorn cancels what is left when the server stops.
            while (await request.receive())["type"] != "http.disconnect":
                pass
            return Response(status_code=503)
        if not body.get("stream"):
            return JSONResponse(self._completion())
        return StreamingResponse(self._events(body), media_type="text/event-stream")

    def bag_of_words(self, text: str) -> list[float]:
        vector = [0.0] * self.embedding_dim
        for word in re.findall(r"\w+", text.lower()):
            vector[zlib.crc32(word.encode()) % self.embedding_dim] += 1.0
        return vector

    async def embeddings(self, request: Request) -> Response:
        body = json.loads(await request.body())
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.url.path,
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
            )
        )
        if self.scenario == "status":
            error = {"message": f"fake error {self.status}", "type": "fake", "code": None}
            return JSONResponse({"error": error}, status_code=self.status)
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        return JSONResponse(
            {
                "object": "list",
                "model": body["model"],
                "data": [
                    {"object": "embedding", "index": index, "embedding": self.bag_of_words(text)}
                    for index, text in enumerate(inputs)
                ],
                "usage": {"prompt_tokens": len(inputs), "total_tokens": len(inputs)},
            }
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat_completions, methods=["POST"]),
                Route("/v1/embeddings", self.embeddings, methods=["POST"]),
            ]
        )


def unused_port() -> int:
    """A port nothing listens on (for "connection refused")."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class _Running:
    fake: FakeOpenAI
    server: uvicorn.Server
    thread: threading.Thread


def start(fake: FakeOpenAI | None = None) -> _Running:
    fake = fake or FakeOpenAI()
    # Binding here, before the thread starts, avoids racing another process for a free port.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    fake.port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        fake.app(), log_level="warning", lifespan="off", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the fake OpenAI server did not start")
        time.sleep(0.01)
    return _Running(fake, server, thread)


def stop(running: _Running) -> None:
    running.server.should_exit = True
    running.thread.join(timeout=10)


@pytest.fixture(scope="session")
def fake_openai_server() -> Iterator[FakeOpenAI]:
    running = start()
    try:
        yield running.fake
    finally:
        stop(running)


@pytest.fixture
def fake_openai(fake_openai_server: FakeOpenAI) -> FakeOpenAI:
    """The shared fake server, reset to a plain streamed answer for this test."""
    fake_openai_server.reset()
    return fake_openai_server
