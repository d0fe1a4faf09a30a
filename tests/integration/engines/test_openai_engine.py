"""The OpenAI engine against a real OpenAI-compatible HTTP server on 127.0.0.1.

Most tests call it as a tenant's URL whose host the operator allowed, so every request goes
through the network guard's HTTP client; the installation's own endpoint has tests of its own."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from openai import AsyncOpenAI

from bob.engines.base import EngineError, EngineResult, TokenDelta, Turn, complete
from bob.engines.openai import OpenAIEngine, close_clients
from tests.engines_data import HOURS, PARKING, engine_request
from tests.engines_server import HOST, FakeOpenAI, unused_port

API_KEY = "sk-test-do-not-leak-1234567890"


def engine_at(fake: FakeOpenAI, *, timeout_s: float = 5.0, api_key: str | None = API_KEY):
    return OpenAIEngine(
        base_url=fake.base_url,
        api_key=api_key,
        model="tiny-model",
        timeout_s=timeout_s,
        allowed_hosts=[HOST],
    )


async def collect(engine: OpenAIEngine, **kwargs) -> list[TokenDelta | EngineResult]:
    return [event async for event in engine.stream(engine_request(**kwargs))]


def split(events: list[TokenDelta | EngineResult]) -> tuple[list[str], EngineResult]:
    *deltas, result = events
    assert isinstance(result, EngineResult)
    assert all(isinstance(d, TokenDelta) for d in deltas)
    return [d.text for d in deltas if isinstance(d, TokenDelta)], result


async def test_a_streamed_grounded_answer(fake_openai: FakeOpenAI) -> None:
    fake_openai.chunks = ["We are ", "open ", "Monday to Friday", ", 8:00 to 18:00."]
    history = [Turn("visitor", "Hi"), Turn("operator", "Sam here.")]
    events = await collect(
        engine_at(fake_openai), passages=[HOURS, PARKING], history=history, language="de"
    )
    deltas, result = split(events)

    assert deltas == ["We are", " open", " Monday to Friday", ", 8:00 to 18:00."]
    assert result.text == "We are open Monday to Friday, 8:00 to 18:00."
    assert result.sources == [HOURS, PARKING]
    assert result.engine == "openai"
    assert result.model == "fake-model-1"
    assert (result.prompt_tokens, result.completion_tokens, result.total_tokens) == (42, 7, 49)

    [request] = fake_openai.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.body["model"] == "tiny-model"
    assert request.body["stream"] is True
    assert request.body["stream_options"] == {"include_usage": True}
    assert request.body["temperature"] == 0.2
    system = request.system_prompt
    assert "Always mention that our bread is baked fresh every morning." in system
    assert "You are Ava, the assistant of Sunny Bakery." in system
    assert "Answer only from the numbered sources below" in system
    assert "[[HANDOFF]]" in system
    assert "Reply in German (de)" in system
    assert "[1] Opening hours\nWe are open Monday to Friday, 8:00 to 18:00." in system
    assert "[2] Parking" in system
    assert request.body["messages"][1:] == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "(team member) Sam here."},
        {"role": "user", "content": "When are you open?"},
    ]


async def test_deltas_arrive_while_the_server_is_still_sending(fake_openai: FakeOpenAI) -> None:
    fake_openai.scenario = "trickle"
    fake_openai.delay = 0.15
    fake_openai.chunks = ["One", " two", " three", " four."]
    arrivals: list[tuple[float, str]] = []
    started = time.monotonic()
    async for event in engine_at(fake_openai).stream(engine_request()):
        if isinstance(event, TokenDelta):
            arrivals.append((time.monotonic() - started, event.text))
    assert [text for _, text in arrivals] == ["One", " two", " three", " four."]
    # The first words reach the caller before the last one is even sent.
    assert arrivals[0][0] < arrivals[-1][0] - 0.3


@pytest.mark.parametrize(
    "chunks",
    [
        ["[[HANDOFF]]"],
        ["[[", "HAND", "OFF", "]]"],
        ["\n  [[HANDOFF]]  \n"],
        ["Sorry, that is not in my sources. ", "[[HANDOFF]]"],
    ],
    ids=["whole", "split", "whitespace", "after-text"],
)
async def test_the_handoff_marker_means_no_answer_and_never_leaks(
    fake_openai: FakeOpenAI, chunks: list[str]
) -> None:
    fake_openai.chunks = chunks
    deltas, result = split(await collect(engine_at(fake_openai)))
    assert result.text is None
    assert not result.grounded
    assert result.sources == []
    # Tokens were spent even so: usage is still reported for billing.
    assert result.prompt_tokens == 42
    assert not any("[" in delta or "HANDOFF" in delta for delta in deltas)


async def test_text_that_only_starts_like_the_marker_is_an_answer(
    fake_openai: FakeOpenAI,
) -> None:
    fake_openai.chunks = ["[", "[1]] says we open at 8."]
    deltas, result = split(await collect(engine_at(fake_openai)))
    assert result.text == "[[1]] says we open at 8."
    assert "".join(deltas) == result.text


async def test_no_passages_means_no_call(fake_openai: FakeOpenAI) -> None:
    deltas, result = split(await collect(engine_at(fake_openai), passages=[]))
    assert deltas == []
    assert result == EngineResult(text=None, sources=[], engine="openai")
    assert fake_openai.requests == []


async def test_without_a_key_a_placeholder_is_sent_not_the_environments(
    fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment")
    result = await complete(engine_at(fake_openai, api_key=None), engine_request())
    assert result.grounded
    assert fake_openai.requests[0].headers["authorization"] == "Bearer no-key"


@pytest.mark.parametrize("status", [500, 401, 429])
async def test_http_errors_raise_engine_error_without_retrying(
    fake_openai: FakeOpenAI, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    fake_openai.scenario = "status"
    fake_openai.status = status
    caplog.set_level(logging.DEBUG)
    with pytest.raises(EngineError, match=f"HTTP {status}") as raised:
        await complete(engine_at(fake_openai), engine_request())
    assert len(fake_openai.requests) == 1
    assert API_KEY not in str(raised.value)
    assert API_KEY not in caplog.text
    assert any(r.name == "bob.engines" for r in caplog.records)


@pytest.mark.parametrize("guarded", [True, False], ids=["tenant", "installation"])
async def test_connection_refused(guarded: bool) -> None:
    engine = OpenAIEngine(
        base_url=f"http://{HOST}:{unused_port()}/v1",
        api_key=API_KEY,
        model="m",
        timeout_s=2,
        guarded=guarded,
        allowed_hosts=[HOST],
    )
    started = time.monotonic()
    with pytest.raises(EngineError, match="could not connect"):
        await complete(engine, engine_request())
    assert time.monotonic() - started < 2


# ---- whose URL it is: the operator's or a tenant's -----------------------------------------


async def test_the_installations_own_endpoint_may_be_loopback(fake_openai: FakeOpenAI) -> None:
    engine = OpenAIEngine(
        base_url=fake_openai.base_url, api_key=API_KEY, model="m", timeout_s=5, guarded=False
    )
    result = await complete(engine, engine_request())
    assert result.text == "Hello there."
    assert len(fake_openai.requests) == 1


def tenant_engine(base_url: str, allowed_hosts: list[str]) -> OpenAIEngine:
    return OpenAIEngine(
        base_url=base_url, api_key=API_KEY, model="m", timeout_s=5, allowed_hosts=allowed_hosts
    )


@pytest.mark.parametrize(
    ("host", "allowed_hosts", "reason"),
    [
        (HOST, [], "127.0.0.1 is a loopback address"),
        ("localhost", [], "localhost is a private host name"),
        ("2130706433", [HOST], "2130706433 resolves to 127.0.0.1, a loopback address"),
        ("[::ffff:127.0.0.1]", [HOST], "::ffff:127.0.0.1 is a loopback address"),
        (HOST, ["localhost"], "127.0.0.1 is a loopback address"),
    ],
)
async def test_a_tenant_url_to_a_refused_address_never_reaches_it(
    fake_openai: FakeOpenAI,
    host: str,
    allowed_hosts: list[str],
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = tenant_engine(f"http://{host}:{fake_openai.port}/v1", allowed_hosts)
    with pytest.raises(EngineError) as raised:
        await complete(engine, engine_request())
    assert str(raised.value) == f"refused: {reason}"
    assert fake_openai.requests == []
    assert API_KEY not in caplog.text


async def test_a_tenant_url_is_not_redirected(fake_openai: FakeOpenAI) -> None:
    fake_openai.scenario = "redirect"
    with pytest.raises(EngineError, match="HTTP 307"):
        await complete(engine_at(fake_openai), engine_request())
    assert len(fake_openai.requests) == 1


async def test_a_server_that_hangs_times_out(fake_openai: FakeOpenAI) -> None:
    fake_openai.scenario = "hang"
    started = time.monotonic()
    with pytest.raises(EngineError, match=r"within 0\.5 s"):
        await complete(engine_at(fake_openai, timeout_s=0.5), engine_request())
    assert 0.4 < time.monotonic() - started < 1.5


async def test_a_server_that_trickles_tokens_times_out_overall(fake_openai: FakeOpenAI) -> None:
    # Each token arrives well within the SDK's per-read timeout; only the overall deadline stops it.
    fake_openai.scenario = "trickle"
    fake_openai.delay = 0.2
    fake_openai.chunks = [f" word{i}" for i in range(30)]
    received: list[str] = []

    async def read() -> None:
        async for event in engine_at(fake_openai, timeout_s=0.5).stream(engine_request()):
            if isinstance(event, TokenDelta):
                received.append(event.text)

    started = time.monotonic()
    with pytest.raises(EngineError, match=r"within 0\.5 s"):
        await read()
    assert 0.4 < time.monotonic() - started < 1.5
    assert 0 < len(received) < 30


async def test_the_deadline_does_not_fire_inside_the_callers_code(
    fake_openai: FakeOpenAI,
) -> None:
    # A slow consumer (e.g. a slow visitor connection) must not be cancelled by the engine.
    fake_openai.chunks = ["a", " b", " c"]
    stream = engine_at(fake_openai, timeout_s=0.5).stream(engine_request())
    first = await anext(stream)
    assert isinstance(first, TokenDelta)
    await asyncio.sleep(0.7)
    rest = [event async for event in stream]
    assert isinstance(rest[-1], EngineResult)


async def test_malformed_sse_raises_engine_error(fake_openai: FakeOpenAI) -> None:
    fake_openai.scenario = "malformed"
    with pytest.raises(EngineError, match="malformed"):
        await complete(engine_at(fake_openai), engine_request())


async def test_an_error_event_mid_stream_raises_engine_error(fake_openai: FakeOpenAI) -> None:
    fake_openai.scenario = "error"
    with pytest.raises(EngineError, match="reported an error"):
        await complete(engine_at(fake_openai), engine_request())


@pytest.mark.parametrize("chunks", [[], [""], ["  ", "\n"]], ids=["none", "empty", "blank"])
async def test_an_empty_reply_raises_engine_error(
    fake_openai: FakeOpenAI, chunks: list[str]
) -> None:
    fake_openai.chunks = chunks
    with pytest.raises(EngineError, match="empty reply"):
        await complete(engine_at(fake_openai), engine_request())


async def test_the_repr_does_not_show_the_key(fake_openai: FakeOpenAI) -> None:
    engine = engine_at(fake_openai)
    assert API_KEY not in repr(engine)
    assert API_KEY not in str(vars(engine).get("base_url"))


async def test_the_fake_server_also_answers_without_streaming(fake_openai: FakeOpenAI) -> None:
    fake_openai.chunks = ["Plain", " JSON"]
    async with AsyncOpenAI(base_url=fake_openai.base_url, api_key="k", max_retries=0) as client:
        completion = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}]
        )
    assert completion.choices[0].message.content == "Plain JSON"
    assert completion.usage is not None
    assert completion.usage.total_tokens == 49
    assert fake_openai.requests[0].body.get("stream") in (None, False)


async def test_replies_to_one_endpoint_share_a_client_and_its_connection(
    fake_openai: FakeOpenAI,
) -> None:
    await close_clients()  # this loop starts with no client
    for _ in range(3):
        # A new engine per reply, as the pipeline builds one: the client outlives it.
        await collect(engine_at(fake_openai), passages=[HOURS])
    ports = {request.client_port for request in fake_openai.requests}
    assert len(fake_openai.requests) == 3
    assert len(ports) == 1
    assert None not in ports

    # Another key is another client, on a connection of its own.
    await collect(engine_at(fake_openai, api_key="sk-another-tenant-0987654321"), passages=[HOURS])
    other = fake_openai.requests[-1]
    assert other.headers["authorization"] == "Bearer sk-another-tenant-0987654321"
    assert other.client_port not in ports

    # Closed on shutdown: the next reply opens a new one.
    await close_clients()
    await collect(engine_at(fake_openai), passages=[HOURS])
    assert fake_openai.requests[-1].client_port not in ports | {other.client_port}
