"""The guarded httpx client, against a real server on 127.0.0.1 (nothing else is ever reached)."""

from __future__ import annotations

import pytest

from bob.net.client import guarded_client
from bob.net.guard import UnsafeTarget


async def test_an_allowed_host_is_reached(loopback_server: tuple[int, list[str]]) -> None:
    port, seen = loopback_server
    async with guarded_client(allowed_hosts=["localhost"]) as client:
        response = await client.get(f"http://localhost:{port}/models")
    assert (response.status_code, response.text) == (200, "ok")
    assert seen == ["/models"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "2130706433", "[::ffff:127.0.0.1]"])
async def test_private_targets_are_refused_before_connecting(
    loopback_server: tuple[int, list[str]], host: str
) -> None:
    port, seen = loopback_server
    async with guarded_client() as client:
        with pytest.raises(UnsafeTarget):
            await client.get(f"http://{host}:{port}/models")
    assert seen == []


async def test_redirects_are_not_followed(loopback_server: tuple[int, list[str]]) -> None:
    port, seen = loopback_server
    async with guarded_client(allowed_hosts=["127.0.0.1"]) as client:
        response = await client.get(f"http://127.0.0.1:{port}/moved")
    assert response.status_code == 307
    assert seen == ["/moved"]


async def test_allow_private_opens_every_private_host(
    loopback_server: tuple[int, list[str]],
) -> None:
    port, seen = loopback_server
    async with guarded_client(allow_private=True) as client:
        response = await client.get(f"http://127.0.0.1:{port}/x")
    assert response.status_code == 200
    assert seen == ["/x"]
