"""An httpx client for URLs a tenant chose: every connection goes through the guard.

Webhook delivery speaks httpcore directly; libraries that want an httpx client (the OpenAI SDK,
and later website sources or tenants' embedding endpoints) get one from `guarded_client`.
"""

from __future__ import annotations

import typing

import httpcore
import httpx

from bob.net.guard import GuardedBackend

DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (request and error mapping, streamed responses) over a connection
    pool whose network backend is the guard. AsyncHTTPTransport takes no network backend, so its
    pool is replaced once it is built."""

    def __init__(self, *, backend: GuardedBackend, limits: httpx.Limits = DEFAULT_LIMITS) -> None:
        super().__init__(limits=limits)
        # Fail loudly if a new httpx keeps its pool elsewhere: assigning `_pool` would then
        # leave the real, unguarded pool in use.
        if not isinstance(self._pool, httpcore.AsyncConnectionPool):
            raise TypeError("httpx.AsyncHTTPTransport no longer keeps its pool in `_pool`")
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


def guarded_client(
    *,
    allow_private: bool = False,
    allowed_hosts: typing.Iterable[str] = (),
    limits: httpx.Limits = DEFAULT_LIMITS,
) -> httpx.AsyncClient:
    """A client that connects only where the guard allows. It follows no redirect, so a request
    goes to the URL that was checked when it was saved and nowhere else."""
    backend = GuardedBackend(allow_private=allow_private, allowed_hosts=allowed_hosts)
    return httpx.AsyncClient(
        transport=GuardedTransport(backend=backend, limits=limits),
        follow_redirects=False,
        # No proxy or .netrc credentials from the environment: they are the operator's, and a
        # proxy would make the connection, out of the guard's sight.
        trust_env=False,
    )
