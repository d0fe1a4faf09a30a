"""A fake getaddrinfo for the network guard's tests: it stands in for any DNS (an attacker's
included), so names that would need a real lookup never leave the machine.

Use the `fake_dns` fixture (re-export it from a conftest, or import it into a test module) and
give it a resolver, e.g. `fake_dns(answers("93.184.215.14"))`.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

Resolver = Callable[[str], Awaitable[list[str]]]
FakeDns = Callable[[Resolver], list[str]]


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    """Install `resolver` as the running loop's getaddrinfo; returns the names looked up."""
    looked_up: list[str] = []

    def install(resolver: Resolver) -> list[str]:
        async def getaddrinfo(
            self: asyncio.AbstractEventLoop, host: str, port: int, **kwargs: Any
        ) -> list[tuple[Any, ...]]:
            looked_up.append(host)
            answers = await resolver(host)
            return [
                (
                    socket.AF_INET6 if ":" in a else socket.AF_INET,
                    socket.SOCK_STREAM,
                    socket.IPPROTO_TCP,
                    "",
                    (a, port, 0, 0) if ":" in a else (a, port),
                )
                for a in answers
            ]

        # Patched on the class: monkeypatch then restores it exactly.
        monkeypatch.setattr(type(asyncio.get_running_loop()), "getaddrinfo", getaddrinfo)
        return looked_up

    return install


def answers(*addresses: str) -> Resolver:
    async def resolve(host: str) -> list[str]:
        return list(addresses)

    return resolve
