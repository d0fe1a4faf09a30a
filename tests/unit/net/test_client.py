"""The guarded httpx client, against a real server on 127.0.0.1 (nothing else is ever reached)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from bob.net.client import guarded_client
from bob.net.guard import UnsafeTarget


class _Handler(http.server.BaseHTTPRequestHandler):
    seen: list[str]

    def do_GET(self) -> None:
        self.seen.append(self.path)
        if self.path == "/moved":
            # Another path on the same loopback server: were it followed, `seen` would show it.
            self.send_response(307)
            self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean


@pytest.fixture
def server() -> Iterator[tuple[int, list[str]]]:
    seen: list[str] = []
    handler = type("Handler", (_Handler,), {"seen": seen})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], seen
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


async def test_an_allowed_host_is_reached(server: tuple[int, list[str]]) -> None:
    port, seen = server
    async with guarded_client(allowed_hosts=["localhost"]) as client:
        response = await client.get(f"http://localhost:{port}/models")
    assert (response.status_code, response.text) == (200, "ok")
    assert seen == ["/models"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "2130706433", "[::ffff:127.0.0.1]"])
async def test_private_targets_are_refused_before_connecting(
    server: tuple[int, list[str]], host: str
) -> None:
    port, seen = server
    async with guarded_client() as client:
        with pytest.raises(UnsafeTarget):
            await client.get(f"http://{host}:{port}/models")
    assert seen == []


async def test_redirects_are_not_followed(server: tuple[int, list[str]]) -> None:
    port, seen = server
    async with guarded_client(allowed_hosts=["127.0.0.1"]) as client:
        response = await client.get(f"http://127.0.0.1:{port}/moved")
    assert response.status_code == 307
    assert seen == ["/moved"]


async def test_allow_private_opens_every_private_host(server: tuple[int, list[str]]) -> None:
    port, seen = server
    async with guarded_client(allow_private=True) as client:
        response = await client.get(f"http://127.0.0.1:{port}/x")
    assert response.status_code == 200
    assert seen == ["/x"]
