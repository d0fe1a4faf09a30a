"""Any OpenAI-compatible chat API, through the official SDK, streamed and bounded in time.

The model is told to answer only from the sources and to reply with the handoff marker when they
do not hold the answer. The marker must never reach a visitor, so text that could still turn out
to be (the start of) the marker is held back until it cannot. If the marker appears after some
text was already streamed, the result still has no text: the model said it has no grounded
answer, and the caller replaces whatever was streamed with a handoff.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Collection
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import httpx
import openai
from openai import AsyncOpenAI

from bob.engines.base import EngineError, EngineRequest, EngineResult, TokenDelta
from bob.engines.prompt import HANDOFF_MARKER, build_messages
from bob.net import client as net
from bob.net.guard import UnsafeTarget

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

log = logging.getLogger("bob.engines")

# Local servers (Ollama, llama.cpp, vLLM) need no key, but the SDK refuses to send a request
# without one; a placeholder also stops it from picking up OPENAI_API_KEY from the environment
# and sending the installation's key to a tenant's server.
_NO_KEY = "no-key"
TEMPERATURE = 0.2


class _MarkerGuard:
    """Releases streamed text only once it can no longer be the handoff marker.

    Leading and trailing whitespace is held too, so the released pieces join to the final text.
    """

    def __init__(self) -> None:
        self.text = ""
        self.sent = 0
        self.handoff = False

    def feed(self, piece: str) -> str:
        if self.handoff:
            return ""
        self.text += piece
        if HANDOFF_MARKER in self.text:
            self.handoff = True
            return ""
        return self._release(self._safe_end())

    def _safe_end(self) -> int:
        end = len(self.text.rstrip())
        for size in range(min(len(HANDOFF_MARKER) - 1, end), 0, -1):
            if self.text[end - size : end] == HANDOFF_MARKER[:size]:
                end -= size
                break
        return len(self.text[:end].rstrip())

    def _release(self, end: int) -> str:
        start = self.sent or len(self.text) - len(self.text.lstrip())
        if end <= start:
            return ""
        self.sent = end
        return self.text[start:end]

    def finish(self) -> tuple[str, str | None]:
        """The last piece to stream and the final text (None: hand over)."""
        if self.handoff:
            return "", None
        final = self.text.strip()
        if not final:
            raise EngineError("the provider sent an empty reply")
        if HANDOFF_MARKER.startswith(final):
            # A marker cut short (e.g. by a token limit) is still a refusal, not an answer.
            return "", None
        return self._release(len(self.text.rstrip())), final


def _host(base_url: str) -> str:
    # Only the host goes into logs: the URL could carry credentials in its userinfo.
    return urlsplit(base_url).hostname or "?"


# Tenants with their own endpoint or key each get a client; past this many, the least recently
# used one is closed (once any reply still using it has had its time).
MAX_CLIENTS = 64
ClientKey = tuple[str, str, bool, tuple[str, ...]]


class _Clients:
    """One event loop's SDK clients, one per (base URL, key, guard). Building one costs tens of
    milliseconds of CPU and a new connection, so every reply to the same endpoint reuses it and
    its open connections."""

    def __init__(self) -> None:
        self._open: OrderedDict[ClientKey, AsyncOpenAI] = OrderedDict()

    def get(self, key: ClientKey, timeout_s: float) -> AsyncOpenAI:
        client = self._open.get(key)
        if client is None:
            base_url, api_key, guarded, allowed_hosts = key
            client = AsyncOpenAI(
                base_url=base_url,
                api_key=api_key,
                max_retries=0,
                # The SDK accepts an httpx client, though its annotation names only httpx2's.
                http_client=cast("Any", http_client(guarded=guarded, allowed_hosts=allowed_hosts)),
            )
            self._open[key] = client
            if len(self._open) > MAX_CLIENTS:
                _, oldest = self._open.popitem(last=False)
                # A reply that took it just before cannot outlast its own deadline.
                loop = asyncio.get_running_loop()
                loop.call_later(timeout_s + 1, lambda: loop.create_task(oldest.close()))
        self._open.move_to_end(key)
        return client

    async def close(self) -> None:
        while self._open:
            _, client = self._open.popitem()
            await client.close()


# Per event loop: a client's connections belong to the loop that opened them (the app's; a test
# or the CLI may run several loops, one after another or in threads).
_POOLS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Clients] = weakref.WeakKeyDictionary()


def _clients() -> _Clients:
    loop = asyncio.get_running_loop()
    pool = _POOLS.get(loop)
    if pool is None:
        pool = _POOLS[loop] = _Clients()
    return pool


async def close_clients() -> None:
    """On shutdown: this loop's model clients and their connections."""
    pool = _POOLS.pop(asyncio.get_running_loop(), None)
    if pool is not None:
        await pool.close()


def http_client(*, guarded: bool, allowed_hosts: Collection[str]) -> httpx.AsyncClient | None:
    """The HTTP client the SDK talks through: its own for the installation's endpoint, which the
    operator chose and may be on this machine (Ollama, vLLM); for a URL a tenant chose, one whose
    every connection goes through the network guard and that follows no redirect."""
    if not guarded:
        return None
    return net.guarded_client(allowed_hosts=allowed_hosts)


class OpenAIEngine:
    name = "openai"

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        model: str,
        timeout_s: float,
        *,
        guarded: bool = True,
        allowed_hosts: Collection[str] = (),
    ) -> None:
        """`guarded=False` only for the installation's own endpoint; `allowed_hosts` are the
        operator's BOB_TENANT_ENGINE_ALLOWED_HOSTS."""
        self.base_url = base_url
        self.model = model
        self.timeout_s = timeout_s
        self.guarded = guarded
        self.allowed_hosts = allowed_hosts
        self._key: ClientKey = (
            base_url,
            api_key or _NO_KEY,
            guarded,
            tuple(sorted(allowed_hosts)),
        )

    def __repr__(self) -> str:
        return f"OpenAIEngine(base_url={self.base_url!r}, model={self.model!r})"

    async def stream(self, request: EngineRequest) -> AsyncIterator[TokenDelta | EngineResult]:
        if not request.passages:
            # Nothing to ground an answer on: asking the model would only invite invention.
            yield EngineResult(text=None, sources=[], engine=self.name)
            return
        # One deadline for the whole exchange: the SDK's timeout applies per read, so a server
        # that trickles a token just often enough would otherwise keep the visitor waiting forever.
        # It is applied around each wait on the provider rather than across `yield`, so it never
        # fires inside the caller's code, and it counts only the provider's time: a slow caller
        # (a visitor on a slow connection) moves it on.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        guard = _MarkerGuard()
        model: str | None = None
        prompt_tokens: int | None = None
        completion_tokens: int | None = None
        client = _clients().get(self._key, self.timeout_s)
        try:
            async with asyncio.timeout_at(deadline):
                response = await client.chat.completions.create(
                    model=self.model,
                    messages=cast("list[ChatCompletionMessageParam]", build_messages(request)),
                    stream=True,
                    stream_options={"include_usage": True},
                    temperature=TEMPERATURE,
                    timeout=self.timeout_s,
                )
            try:
                chunks = aiter(response)
                while True:
                    async with asyncio.timeout_at(deadline):
                        chunk = await anext(chunks, None)
                    if chunk is None:
                        break
                    model = model or _str(getattr(chunk, "model", None))
                    usage = getattr(chunk, "usage", None)
                    if usage is not None:
                        prompt_tokens = _int(getattr(usage, "prompt_tokens", None))
                        completion_tokens = _int(getattr(usage, "completion_tokens", None))
                    piece = guard.feed(_content(chunk))
                    if piece:
                        handed_over = loop.time()
                        yield TokenDelta(piece)
                        deadline += loop.time() - handed_over
            finally:
                await response.close()
        except UnsafeTarget as exc:
            raise self._fail(f"refused: {exc.reason}") from None
        except (TimeoutError, openai.APITimeoutError):
            raise self._fail(f"the provider did not answer within {self.timeout_s:g} s") from None
        except openai.APIStatusError as exc:
            raise self._fail(f"the provider answered HTTP {exc.status_code}") from None
        except openai.APIConnectionError as exc:
            # Older SDKs wrap whatever the HTTP client raises, the guard's refusal included.
            if isinstance(exc.__cause__, UnsafeTarget):
                raise self._fail(f"refused: {exc.__cause__.reason}") from None
            raise self._fail("could not connect to the provider") from None
        except openai.APIError:
            # An error event inside an otherwise successful stream.
            raise self._fail("the provider reported an error") from None
        except (openai.OpenAIError, ValueError, TypeError):
            # ValueError covers a data line that is not JSON; TypeError, JSON of the wrong shape.
            raise self._fail("the provider sent a malformed response") from None

        try:
            last, text = guard.finish()
        except EngineError as exc:
            raise self._fail(str(exc)) from None
        if last:
            yield TokenDelta(last)
        yield EngineResult(
            text=text,
            sources=list(request.passages) if text is not None else [],
            engine=self.name,
            model=model or self.model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )

    def _fail(self, reason: str) -> EngineError:
        log.warning(
            "engine failed: %s",
            reason,
            extra={"engine": self.name, "host": _host(self.base_url), "model": self.model},
        )
        return EngineError(reason)


def _content(chunk: Any) -> str:
    for choice in getattr(chunk, "choices", None) or []:
        if getattr(choice, "index", 0) != 0:
            continue
        delta = getattr(choice, "delta", None)
        content = getattr(delta, "content", None)
        if content is not None and not isinstance(content, str):
            raise TypeError("content is not text")
        return content or ""
    return ""


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
