"""The outbound network guard. Nothing here connects anywhere but loopback: public addresses
are only classified, and lookups that would need DNS go through a fake getaddrinfo."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any

import httpcore
import pytest

from bob.errors import ValidationFailed
from bob.net.guard import (
    GuardedBackend,
    UnsafeTarget,
    check_url,
    check_url_shape,
    host_key,
    refusal_reason,
    resolve_and_check,
)
from tests.fake_dns import FakeDns, answers, fake_dns

__all__ = ["fake_dns"]  # the fixture

METADATA = "a cloud metadata address"
UNSPECIFIED = "an unspecified address"
LOOPBACK = "a loopback address"
PRIVATE = "a private address"
LINK_LOCAL = "a link-local address"
MULTICAST = "a multicast address"
RESERVED = "a reserved address"
NOT_GLOBAL = "not a globally routable address"

# A Teredo address whose (bit-inverted) client part is 127.0.0.1.
TEREDO_LOOPBACK = "2001:0:4136:e378:8000:63bf:80ff:fffe"

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
    "2002:808:808::1",  # 6to4 of 8.8.8.8
]

# Refused whatever allow_private says.
ALWAYS_REFUSED = [
    ("169.254.169.254", METADATA),
    ("169.254.170.2", METADATA),
    ("100.100.100.200", METADATA),
    ("192.0.0.192", METADATA),
    ("fd00:ec2::254", METADATA),
    ("fd00:ec2::254%eth0", METADATA),
    ("::ffff:169.254.169.254", METADATA),
    ("64:ff9b::a9fe:a9fe", METADATA),
    ("2002:a9fe:a9fe::1", METADATA),
    ("::ffff:100.100.100.200", METADATA),
    ("0.0.0.0", UNSPECIFIED),  # noqa: S104 - a value to classify, nothing binds to it
    ("0.1.2.3", UNSPECIFIED),
    ("::", UNSPECIFIED),
    ("::ffff:0.0.0.0", UNSPECIFIED),
]

# Refused only when private targets are not allowed.
PRIVATE_ONLY = [
    ("127.0.0.1", LOOPBACK),
    ("127.255.255.254", LOOPBACK),
    ("::1", LOOPBACK),
    ("::ffff:127.0.0.1", LOOPBACK),
    ("64:ff9b::7f00:1", LOOPBACK),
    ("2002:7f00:1::1", LOOPBACK),
    (TEREDO_LOOPBACK, LOOPBACK),
    ("10.0.0.5", PRIVATE),
    ("172.16.0.1", PRIVATE),
    ("172.31.255.254", PRIVATE),
    ("192.168.1.1", PRIVATE),
    ("fc00::1", PRIVATE),
    ("fd12:3456:789a::1", PRIVATE),
    ("::ffff:10.0.0.5", PRIVATE),
    ("::ffff:192.168.0.1", PRIVATE),
    ("192.0.2.1", PRIVATE),  # documentation
    ("198.51.100.7", PRIVATE),  # documentation
    ("203.0.113.9", PRIVATE),  # documentation
    ("2001:db8::1", PRIVATE),  # documentation
    ("198.18.0.1", PRIVATE),  # benchmarking
    ("169.254.1.1", LINK_LOCAL),
    ("169.254.169.253", LINK_LOCAL),
    ("fe80::1", LINK_LOCAL),
    ("fe80::1%eth0", LINK_LOCAL),
    ("::ffff:169.254.1.1", LINK_LOCAL),
    ("224.0.0.1", MULTICAST),
    ("239.255.255.250", MULTICAST),
    ("ff02::1", MULTICAST),
    ("ff0e::1", MULTICAST),
    ("::7f00:1", RESERVED),  # deprecated IPv4-compatible form
    ("4000::1", RESERVED),
    ("100.64.0.1", NOT_GLOBAL),  # shared address space (carrier-grade NAT)
    ("100.127.255.254", NOT_GLOBAL),
]

# Refused, but Python releases disagree on which category (3.11.7 even calls them global).
REFUSED_ANY_REASON = [
    "192.0.0.100",
    "fec0::1",
    "3fff::1",
    "64:ff9b:1::1",
    "255.255.255.255",
    "240.0.0.1",
]


@pytest.mark.parametrize("address", PUBLIC)
@pytest.mark.parametrize("allow_private", [False, True])
def test_public_addresses_are_allowed(address: str, allow_private: bool) -> None:
    assert refusal_reason(ipaddress.ip_address(address), allow_private=allow_private) is None


@pytest.mark.parametrize(("address", "reason"), ALWAYS_REFUSED)
@pytest.mark.parametrize("allow_private", [False, True])
def test_metadata_and_unspecified_are_always_refused(
    address: str, reason: str, allow_private: bool
) -> None:
    assert refusal_reason(ipaddress.ip_address(address), allow_private=allow_private) == reason


@pytest.mark.parametrize(("address", "reason"), PRIVATE_ONLY)
def test_private_addresses_are_refused_by_default(address: str, reason: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address), allow_private=False) == reason


@pytest.mark.parametrize(("address", "reason"), PRIVATE_ONLY)
def test_private_addresses_are_allowed_when_asked(address: str, reason: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address), allow_private=True) is None


@pytest.mark.parametrize("address", REFUSED_ANY_REASON)
def test_non_global_addresses_python_misses_are_refused(address: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address), allow_private=False) is not None


# ---- URL shape -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "https_only", "expected"),
    [
        ("https://example.com/hook", True, "https://example.com/hook"),
        ("HTTPS://Example.COM/Hook?Token=AbC", True, "https://example.com/Hook?Token=AbC"),
        ("https://example.com:8443/x", True, "https://example.com:8443/x"),
        ("https://example.com:443", True, "https://example.com:443"),
        ("https://example.com./x", True, "https://example.com./x"),
        ("https://[2001:DB8::1]:8443/x", True, "https://[2001:db8::1]:8443/x"),
        ("https://Bücher.example/x", True, "https://bücher.example/x"),
        ("https://hooks_1.example.com/x", True, "https://hooks_1.example.com/x"),
        ("http://example.com/", False, "http://example.com/"),
        ("https://example.com/", False, "https://example.com/"),
        # Shape only: these are refused later, by resolve_and_check.
        ("http://127.0.0.1:8080/", False, "http://127.0.0.1:8080/"),
        ("http://2130706433/", False, "http://2130706433/"),
        ("http://0x7f.1/", False, "http://0x7f.1/"),
    ],
)
def test_good_url_shapes(url: str, https_only: bool, expected: str) -> None:
    assert check_url_shape(url, https_only=https_only).geturl() == expected


@pytest.mark.parametrize(
    ("url", "https_only", "message"),
    [
        ("http://example.com/", True, "url: must use https"),
        ("ftp://example.com/", True, "url: must use https"),
        ("ftp://example.com/", False, "url: must be an http(s) URL"),
        ("javascript:alert(1)", False, "url: must be an http(s) URL"),
        ("example.com/hook", False, "url: must be an http(s) URL"),
        ("", False, "url: must be an http(s) URL"),
        ("https://user:secret@example.com/", True, "url: must not contain a user name or password"),
        ("https://user@example.com/", True, "url: must not contain a user name or password"),
        ("https://@example.com/", True, "url: must not contain a user name or password"),
        ("https:///hook", True, "url: must name a host"),
        ("https://:8443/hook", True, "url: must name a host"),
        ("https:hook", True, "url: must name a host"),
        ("https://example.com/#top", True, "url: must not contain a fragment"),
        ("https://example.com/#", True, "url: must not contain a fragment"),
        ("https://example.com:0/", True, "url: port must be a number from 1 to 65535"),
        ("https://example.com:65536/", True, "url: port must be a number from 1 to 65535"),
        ("https://example.com:https/", True, "url: port must be a number from 1 to 65535"),
        ("https://example.com:+443/", True, "url: port must be a number from 1 to 65535"),
        ("https://example.com:\u0664\u0664\u0663/", True, "url: port must be"),
        ("https://example.com/" + "a" * 2000, True, "url: must be at most 2000 characters"),
        ("https://exa mple.com/", True, "url: must not contain spaces or control characters"),
        ("https://example.com/a\r\nX-Evil: 1", True, "url: must not contain spaces or control"),
        ("https://example.com/\ta", True, "url: must not contain spaces or control characters"),
        (" https://example.com/", True, "url: must not contain spaces or control characters"),
        ("https://ex!ample.com/", True, "url: host is not a valid host name"),
        ("https://a..b/", True, "url: host is not a valid host name"),
        ("https://" + "a" * 64 + ".com/", True, "url: host is not a valid host name"),
        ("https://evil.com\\.localhost/", True, "url: host is not a valid host name"),
        ("https://[fe80::1%25eth0]/", True, "url: host is not a valid IPv6 address"),
        ("https://[127.0.0.1]/", True, "url: is not a valid URL"),
        ("https://[::1/", True, "url: is not a valid URL"),
    ],
)
def test_bad_url_shapes(url: str, https_only: bool, message: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_url_shape(url, https_only=https_only)
    assert caught.value.message.startswith(message)


def test_url_of_exactly_the_limit_is_accepted() -> None:
    url = "https://example.com/"
    url += "a" * (2000 - len(url))
    assert check_url_shape(url, https_only=True).geturl() == url


# ---- Resolution (only names that resolve locally, without DNS) -------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://localhost/", "url: localhost is a private host name"),
        ("http://LocalHost:8080/x", "url: localhost is a private host name"),
        ("http://localhost./", "url: localhost is a private host name"),
        ("http://bob.localhost/", "url: bob.localhost is a private host name"),
        ("http://db.internal/", "url: db.internal is a private host name"),
        ("http://printer.local/", "url: printer.local is a private host name"),
        ("http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/", "url: localhost is a"),
        ("http://127.0.0.1/", "url: 127.0.0.1 is a loopback address"),
        ("http://127.0.0.1:8080/hook", "url: 127.0.0.1 is a loopback address"),
        ("http://[::1]/", "url: ::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "url: ::ffff:127.0.0.1 is a loopback address"),
        ("http://[::ffff:7f00:1]/", "url: ::ffff:7f00:1 is a loopback address"),
        ("http://10.0.0.5/", "url: 10.0.0.5 is a private address"),
        # Not literals to ipaddress, but getaddrinfo reads them as 127.0.0.1.
        ("http://2130706433/", "url: 2130706433 resolves to 127.0.0.1, a loopback address"),
        ("http://0x7f.1/", "url: 0x7f.1 resolves to 127.0.0.1, a loopback address"),
        ("http://127.1/", "url: 127.1 resolves to 127.0.0.1, a loopback address"),
        ("http://0x7f000001/", "url: 0x7f000001 resolves to 127.0.0.1, a loopback address"),
        ("http://017700000001/", "url: 017700000001 resolves to 127.0.0.1, a loopback address"),
        ("http://0xa9fea9fe/", "url: 0xa9fea9fe resolves to 169.254.169.254, a cloud metadata"),
    ],
)
async def test_local_targets_are_refused(url: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await check_url(url, https_only=False, allow_private=False)
    assert caught.value.message.startswith(message)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://169.254.169.254/latest/meta-data",
            "url: 169.254.169.254 is a cloud metadata address",
        ),
        ("http://[fd00:ec2::254]/", "url: fd00:ec2::254 is a cloud metadata address"),
        ("http://[::ffff:a9fe:a9fe]/", "url: ::ffff:a9fe:a9fe is a cloud metadata address"),
        ("http://2852039166/", "url: 2852039166 resolves to 169.254.169.254, a cloud metadata"),
        ("http://metadata.google.internal/", "url: metadata.google.internal is a cloud metadata"),
        ("http://Metadata.Google.Internal./", "url: metadata.google.internal is a cloud metadata"),
        ("http://metadata.goog/", "url: metadata.goog is a cloud metadata host"),
        ("http://0.0.0.0:8000/", "url: 0.0.0.0 is an unspecified address"),
        ("http://[::]/", "url: :: is an unspecified address"),
        ("http://0/", "url: 0 resolves to 0.0.0.0, an unspecified address"),
    ],
)
@pytest.mark.parametrize("allow_private", [False, True])
async def test_metadata_is_refused_even_when_private_is_allowed(
    url: str, message: str, allow_private: bool
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await check_url(url, https_only=False, allow_private=allow_private)
    assert caught.value.message.startswith(message)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://LOCALHOST:8080/Hook", "http://localhost:8080/Hook"),
        ("http://127.0.0.1/", "http://127.0.0.1/"),
        ("http://[::1]:9000/", "http://[::1]:9000/"),
        ("http://2130706433/", "http://2130706433/"),
        ("http://10.0.0.5/", "http://10.0.0.5/"),
    ],
)
async def test_private_targets_are_allowed_when_asked(url: str, expected: str) -> None:
    assert await check_url(url, https_only=False, allow_private=True) == expected


async def test_https_only_is_checked_before_any_lookup() -> None:
    with pytest.raises(ValidationFailed, match=r"^url: must use https$"):
        await check_url("http://localhost/", https_only=True, allow_private=True)


async def test_resolve_returns_the_checked_addresses() -> None:
    assert await resolve_and_check("2130706433", 80, allow_private=True) == ["127.0.0.1"]
    assert await resolve_and_check("[::1]", 80, allow_private=True) == ["::1"]
    addresses = await resolve_and_check("localhost", 80, allow_private=True)
    assert addresses
    assert all(ipaddress.ip_address(a).is_loopback for a in addresses)


async def test_a_name_that_does_not_resolve_is_refused() -> None:
    # .invalid never resolves (RFC 6761); without network the lookup fails or times out.
    with pytest.raises(UnsafeTarget, match=r"^nonexistent\.invalid (does not|did not) resolve"):
        await resolve_and_check("nonexistent.invalid", 443, allow_private=False, timeout=2.0)


async def test_messages_name_the_field_they_are_about() -> None:
    with pytest.raises(ValidationFailed, match=r"^base_url: must use https$"):
        await check_url(
            "http://example.com/v1", https_only=True, allow_private=False, field="base_url"
        )
    with pytest.raises(ValidationFailed, match=r"^base_url: 127\.0\.0\.1 is a loopback address$"):
        await check_url(
            "http://127.0.0.1/v1", https_only=False, allow_private=False, field="base_url"
        )


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("LocalHost.", "localhost"),
        ("vLLM.Internal", "vllm.internal"),
        ("B\u00fccher.Example", "xn--bcher-kva.example"),
        ("[::1]", "::1"),
        ("0:0::1", "::1"),
        ("[FD00::A]", "fd00::a"),
        ("10.0.0.5", "10.0.0.5"),
    ],
)
def test_host_key_makes_spellings_of_one_host_equal(host: str, key: str) -> None:
    assert host_key(host) == key


@pytest.mark.parametrize(
    ("url", "allowed", "expected"),
    [
        ("http://localhost:8080/v1", ["localhost"], "http://localhost:8080/v1"),
        ("http://LOCALHOST:8080/v1", ["LocalHost."], "http://localhost:8080/v1"),
        ("http://127.0.0.1:8080/v1", ["127.0.0.1"], "http://127.0.0.1:8080/v1"),
        ("http://[::1]:8080/v1", ["[::1]"], "http://[::1]:8080/v1"),
    ],
)
async def test_an_allowed_host_may_be_private(url: str, allowed: list[str], expected: str) -> None:
    assert (
        await check_url(url, https_only=False, allow_private=False, allowed_hosts=allowed)
        == expected
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        # The list names hosts, not what they resolve to: another spelling is another host.
        ("http://127.0.0.1/v1", "url: 127.0.0.1 is a loopback address"),
        ("http://2130706433/v1", "url: 2130706433 resolves to 127.0.0.1, a loopback address"),
        ("http://foo.localhost/v1", "url: foo.localhost is a private host name"),
    ],
)
async def test_hosts_not_on_the_list_stay_refused(url: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await check_url(url, https_only=False, allow_private=False, allowed_hosts=["localhost"])
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://metadata.google.internal/",
            "url: metadata.google.internal is a cloud metadata host",
        ),
        ("http://169.254.169.254/", "url: 169.254.169.254 is a cloud metadata address"),
        ("http://[fd00:ec2::254]/", "url: fd00:ec2::254 is a cloud metadata address"),
        ("http://0.0.0.0/", "url: 0.0.0.0 is an unspecified address"),
    ],
)
async def test_the_allowed_list_never_opens_metadata(url: str, message: str) -> None:
    allowed = ["metadata.google.internal", "169.254.169.254", "fd00:ec2::254", "0.0.0.0"]  # noqa: S104
    with pytest.raises(ValidationFailed) as caught:
        await check_url(url, https_only=False, allow_private=False, allowed_hosts=allowed)
    assert caught.value.message == message


async def test_an_allowed_name_is_judged_by_what_it_resolves_to(fake_dns: FakeDns) -> None:
    fake_dns(answers("10.0.0.5"))
    url = "https://vllm.example.com/v1"
    assert (
        await check_url(
            url, https_only=True, allow_private=False, allowed_hosts=["vllm.example.com"]
        )
        == url
    )
    fake_dns(answers("10.0.0.5", "169.254.169.254"))
    with pytest.raises(ValidationFailed, match=r"resolves to 169\.254\.169\.254, a cloud metadata"):
        await check_url(
            url, https_only=True, allow_private=False, allowed_hosts=["vllm.example.com"]
        )


def test_unsafe_target_carries_its_reason() -> None:
    exc = UnsafeTarget("example.internal resolves to 10.0.0.5, a private address")
    assert exc.reason == str(exc) == "example.internal resolves to 10.0.0.5, a private address"


# ---- Resolution with a fake getaddrinfo (stands in for an attacker's DNS) -------------------


async def test_public_name_is_allowed(fake_dns: FakeDns) -> None:
    looked_up = fake_dns(answers("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"))
    url = await check_url("https://Hooks.Example.com/in", https_only=True, allow_private=False)
    assert url == "https://hooks.example.com/in"
    assert looked_up == ["hooks.example.com"]


async def test_normalizing_keeps_everything_but_scheme_and_host(
    fake_dns: FakeDns,
) -> None:
    fake_dns(answers("93.184.215.14"))
    url = await check_url(
        "HTTPS://Bücher.Example:8443/In/%2E%2E/?", https_only=True, allow_private=False
    )
    # urlunsplit would have dropped the empty query; the URL stored is the URL checked.
    assert url == "https://bücher.example:8443/In/%2E%2E/?"


async def test_one_private_answer_refuses_the_name(
    fake_dns: FakeDns,
) -> None:
    fake_dns(answers("93.184.215.14", "10.0.0.5"))
    with pytest.raises(UnsafeTarget) as caught:
        await resolve_and_check("example.com", 443, allow_private=False)
    assert caught.value.reason == "example.com resolves to 10.0.0.5, a private address"


async def test_one_metadata_answer_refuses_the_name_even_when_private_is_allowed(
    fake_dns: FakeDns,
) -> None:
    fake_dns(answers("10.0.0.5", "169.254.169.254"))
    with pytest.raises(ValidationFailed) as caught:
        await check_url("https://example.com/", https_only=True, allow_private=True)
    assert caught.value.message == (
        "url: example.com resolves to 169.254.169.254, a cloud metadata address"
    )


async def test_private_names_are_refused_before_dns(
    fake_dns: FakeDns,
) -> None:
    looked_up = fake_dns(answers("93.184.215.14"))
    with pytest.raises(UnsafeTarget, match=r"^example\.internal is a private host name$"):
        await resolve_and_check("example.internal", 443, allow_private=False)
    with pytest.raises(UnsafeTarget, match="cloud metadata host"):
        await resolve_and_check("metadata.google.internal", 80, allow_private=True)
    assert looked_up == []


async def test_no_answers_is_refused(fake_dns: FakeDns) -> None:
    fake_dns(answers())
    with pytest.raises(UnsafeTarget, match=r"^example\.com does not resolve$"):
        await resolve_and_check("example.com", 443, allow_private=False)


async def test_lookup_failure_is_refused(fake_dns: FakeDns) -> None:
    async def fail(host: str) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    fake_dns(fail)
    with pytest.raises(ValidationFailed, match=r"^url: example\.com does not resolve$"):
        await check_url("https://example.com/", https_only=True, allow_private=False)


async def test_slow_lookup_is_refused(fake_dns: FakeDns) -> None:
    async def hang(host: str) -> list[str]:
        await asyncio.sleep(10)
        return ["93.184.215.14"]

    fake_dns(hang)
    with pytest.raises(UnsafeTarget, match=r"^example\.com did not resolve within 0\.05 seconds$"):
        await resolve_and_check("example.com", 443, allow_private=False, timeout=0.05)


# ---- GuardedBackend against a real loopback server --------------------------------------


async def test_guarded_backend_reaches_loopback_when_allowed(
    loopback_server: tuple[int, list[str]],
) -> None:
    port, seen = loopback_server
    async with httpcore.AsyncConnectionPool(
        network_backend=GuardedBackend(allow_private=True)
    ) as pool:
        response = await pool.request("GET", f"http://localhost:{port}/hook")
    assert response.status == 200
    assert response.content == b"ok"
    assert seen == ["/hook"]


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "2130706433", "[::ffff:127.0.0.1]"])
async def test_guarded_backend_refuses_loopback_before_connecting(
    loopback_server: tuple[int, list[str]], host: str
) -> None:
    port, seen = loopback_server
    async with httpcore.AsyncConnectionPool(
        network_backend=GuardedBackend(allow_private=False)
    ) as pool:
        with pytest.raises(UnsafeTarget):
            await pool.request("GET", f"http://{host}:{port}/hook")
    assert seen == []


async def test_guarded_backend_reaches_an_allowed_host(
    loopback_server: tuple[int, list[str]],
) -> None:
    port, seen = loopback_server
    backend = GuardedBackend(allow_private=False, allowed_hosts=["localhost"])
    async with httpcore.AsyncConnectionPool(network_backend=backend) as pool:
        response = await pool.request("GET", f"http://localhost:{port}/allowed")
        # The same server under a name that is not on the list.
        with pytest.raises(UnsafeTarget, match=r"^127\.0\.0\.1 is a loopback address$"):
            await pool.request("GET", f"http://127.0.0.1:{port}/other")
    assert response.status == 200
    assert seen == ["/allowed"]


# ---- GuardedBackend with a recording inner backend (no real connections) -----------------


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self, tls_names: list[str | None]) -> None:
        self.tls_names = tls_names

    async def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
    ) -> httpcore.AsyncNetworkStream:
        self.tls_names.append(server_hostname)
        raise httpcore.ConnectError("handshake not possible in a test")

    async def aclose(self) -> None:
        pass


class _Recorder(httpcore.AsyncNetworkBackend):
    def __init__(self, *, refuse: frozenset[str] = frozenset()) -> None:
        self.connected: list[str] = []
        self.tls_names: list[str | None] = []
        self.slept: list[float] = []
        self.refuse = refuse

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append(host)
        if host in self.refuse:
            raise httpcore.ConnectError("connection refused")
        return _Stream(self.tls_names)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


async def test_guarded_backend_connects_to_the_checked_ip(
    fake_dns: FakeDns,
) -> None:
    fake_dns(answers("93.184.215.14"))
    inner = _Recorder()
    backend = GuardedBackend(allow_private=False, inner=inner)
    stream = await backend.connect_tcp("hooks.example.com", 443, timeout=5)
    assert isinstance(stream, _Stream)
    # The inner backend gets the IP, so it cannot look the name up again and get another answer.
    assert inner.connected == ["93.184.215.14"]


async def test_guarded_backend_uses_the_name_for_tls(
    fake_dns: FakeDns,
) -> None:
    fake_dns(answers("93.184.215.14"))
    inner = _Recorder()
    async with httpcore.AsyncConnectionPool(
        network_backend=GuardedBackend(allow_private=False, inner=inner)
    ) as pool:
        with pytest.raises(httpcore.ConnectError):
            await pool.request("POST", "https://hooks.example.com/in", content=b"{}")
    assert inner.connected == ["93.184.215.14"]
    assert inner.tls_names == ["hooks.example.com"]


async def test_guarded_backend_refuses_mixed_answers_before_connecting(
    fake_dns: FakeDns,
) -> None:
    fake_dns(answers("93.184.215.14", "127.0.0.1"))
    inner = _Recorder()
    backend = GuardedBackend(allow_private=False, inner=inner)
    with pytest.raises(UnsafeTarget, match=r"resolves to 127\.0\.0\.1, a loopback address$"):
        await backend.connect_tcp("rebind.example.com", 443)
    assert inner.connected == []


async def test_guarded_backend_tries_the_next_address(
    fake_dns: FakeDns,
) -> None:
    fake_dns(answers("2606:2800:21f:cb07:6820:80da:af6b:8b2c", "93.184.215.14"))
    inner = _Recorder(refuse=frozenset({"2606:2800:21f:cb07:6820:80da:af6b:8b2c"}))
    backend = GuardedBackend(allow_private=False, inner=inner)
    await backend.connect_tcp("hooks.example.com", 443, timeout=5)
    assert inner.connected == ["2606:2800:21f:cb07:6820:80da:af6b:8b2c", "93.184.215.14"]


async def test_guarded_backend_reports_the_last_failure(
    fake_dns: FakeDns,
) -> None:
    fake_dns(answers("93.184.215.14"))
    inner = _Recorder(refuse=frozenset({"93.184.215.14"}))
    backend = GuardedBackend(allow_private=False, inner=inner)
    with pytest.raises(httpcore.ConnectError, match="connection refused"):
        await backend.connect_tcp("hooks.example.com", 443)


async def test_guarded_backend_connects_an_allowed_host_to_its_checked_private_ip(
    fake_dns: FakeDns,
) -> None:
    fake_dns(answers("10.0.0.5"))
    inner = _Recorder()
    backend = GuardedBackend(allow_private=False, allowed_hosts=["VLLM.example.com."], inner=inner)
    await backend.connect_tcp("vllm.example.com", 8000, timeout=5)
    with pytest.raises(UnsafeTarget, match=r"^other\.example\.com resolves to 10\.0\.0\.5"):
        await backend.connect_tcp("other.example.com", 8000, timeout=5)
    assert inner.connected == ["10.0.0.5"]


async def test_guarded_backend_never_connects_an_allowed_host_to_metadata(
    fake_dns: FakeDns,
) -> None:
    fake_dns(answers("169.254.169.254"))
    inner = _Recorder()
    backend = GuardedBackend(
        allow_private=False,
        allowed_hosts=["vllm.example.com", "metadata.google.internal"],
        inner=inner,
    )
    with pytest.raises(UnsafeTarget, match="a cloud metadata address"):
        await backend.connect_tcp("vllm.example.com", 80, timeout=5)
    with pytest.raises(UnsafeTarget, match="a cloud metadata host"):
        await backend.connect_tcp("metadata.google.internal", 80, timeout=5)
    assert inner.connected == []


async def test_guarded_backend_refuses_unix_sockets() -> None:
    inner = _Recorder()
    backend = GuardedBackend(allow_private=True, inner=inner)
    with pytest.raises(UnsafeTarget, match="Unix sockets"):
        await backend.connect_unix_socket("/var/run/docker.sock")


async def test_guarded_backend_sleeps_through_the_inner_backend() -> None:
    inner = _Recorder()
    await GuardedBackend(allow_private=False, inner=inner).sleep(0.25)
    assert inner.slept == [0.25]


async def test_guarded_backend_defaults_to_anyio() -> None:
    backend = GuardedBackend(allow_private=True)
    await backend.sleep(0)
