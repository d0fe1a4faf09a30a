"""The outbound network guard: Bob calls no URL a tenant chose inside a private network.

Server-side request forgery is the risk: a tenant who can make Bob fetch a URL could otherwise
reach Bob's own machine, the operator's internal services or the cloud's metadata service (which
hands out credentials). Every tenant-set URL (webhook endpoints, engine base URLs, ...) goes
through here, twice: when it is saved (`check_url`, so the tenant hears why at once) and on every
connection (`GuardedBackend`), because what a name resolves to can change between the two.
docs/security.md lists the surfaces and the rules.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import typing
import urllib.parse

import httpcore

from bob.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2000
RESOLVE_TIMEOUT = 5.0
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Instance metadata services hand out cloud credentials; no tenant may reach them, even on a
# self-hosted install that allows private targets.
_METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean ...
        "169.254.170.2",  # AWS ECS task credentials
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
        "fd00:ec2::254",  # AWS over IPv6
    )
)
_METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog"})
# Names that only ever mean this machine or the local network, refused before any DNS is asked.
_PRIVATE_NAMES = frozenset({"localhost"})
_PRIVATE_SUFFIXES = (".localhost", ".internal", ".local")

# Linux connects 0.0.0.0 to the local host; the rest of 0.0.0.0/8 means "this network".
_THIS_NETWORK = ipaddress.IPv4Network("0.0.0.0/8")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Not globally routable, yet `is_global` in Python 3.11's tables.
_NOT_GLOBAL_V4 = (ipaddress.IPv4Network("192.0.0.0/24"),)
_NOT_GLOBAL_V6 = (
    ipaddress.IPv6Network("fec0::/10"),  # deprecated site-local, still private in practice
    ipaddress.IPv6Network("3fff::/20"),  # documentation (RFC 9637)
    ipaddress.IPv6Network("64:ff9b:1::/48"),  # local-use NAT64 (RFC 8215)
)

# An ASCII host name (after IDNA) or an IPv4 address in any spelling getaddrinfo accepts.
_HOST = re.compile(r"(?=.{1,253}\Z)[a-z0-9_-]{1,63}(?:\.[a-z0-9_-]{1,63})*\.?\Z")
_SPACE_OR_CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f]")


class UnsafeTarget(Exception):
    """A URL or address Bob refuses to call; str(exc) is the reason a person can read."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address really reaches, when it is a translation or tunnel form."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        # Traffic to a Teredo address goes to the client's NAT address; the server only brokers.
        return address.teredo[1]
    return None


def refusal_reason(address: IPAddress, *, allow_private: bool) -> str | None:
    """None when Bob may call `address`; otherwise a short reason such as 'a loopback address'."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            # Python 3.11 says ::ffff:127.0.0.1 is not loopback and 64:ff9b::a9fe:a9fe is global.
            return refusal_reason(embedded, allow_private=allow_private)
        if address.scope_id is not None:
            # fd00:ec2::254%eth0 compares unequal to fd00:ec2::254, yet reaches the same host.
            address = ipaddress.IPv6Address(int(address))
    if address in _METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_unspecified or (
        isinstance(address, ipaddress.IPv4Address) and address in _THIS_NETWORK
    ):
        return "an unspecified address"
    if allow_private:
        return None
    # Order matters: 3.11 calls 127.0.0.1 and 169.254.1.1 private too, and the narrower name
    # tells the owner more.
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    extra = _NOT_GLOBAL_V4 if isinstance(address, ipaddress.IPv4Address) else _NOT_GLOBAL_V6
    if not address.is_global or any(address in network for network in extra):
        return "not a globally routable address"
    return None


def _ascii_host(host: str) -> str:
    """Lower-case IDNA form, which is what getaddrinfo looks up: nameprep turns a fullwidth
    'localhost' into plain 'localhost'. UnicodeError when it cannot be a host name."""
    return host.lower().encode("idna").decode("ascii")


def _shape(url: str, *, https_only: bool, field: str) -> tuple[str, urllib.parse.SplitResult]:
    if len(url) > MAX_URL_LENGTH:
        raise ValidationFailed(f"{field}: must be at most {MAX_URL_LENGTH} characters")
    # urlsplit silently drops tabs and newlines; refusing them keeps the stored URL the one checked.
    if _SPACE_OR_CONTROL.search(url):
        raise ValidationFailed(f"{field}: must not contain spaces or control characters")
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        raise ValidationFailed(f"{field}: is not a valid URL") from None
    if https_only and parts.scheme != "https":
        raise ValidationFailed(f"{field}: must use https")
    if parts.scheme not in _DEFAULT_PORTS:
        raise ValidationFailed(f"{field}: must be an http(s) URL")
    if "@" in parts.netloc:
        raise ValidationFailed(f"{field}: must not contain a user name or password")
    host = parts.hostname
    if not host:
        raise ValidationFailed(f"{field}: must name a host")
    _check_host(host, bracketed=parts.netloc.startswith("["), field=field)
    try:
        port = parts.port
    except ValueError:
        port = -1
    # 3.11 parses the port with int(), which accepts '+80' and non-ASCII digits.
    port_text = parts.netloc.rpartition("]")[2].rpartition(":")[2] if port is not None else ""
    if port is not None and not (0 < port <= 65535 and port_text.isascii() and port_text.isdigit()):
        raise ValidationFailed(f"{field}: port must be a number from 1 to 65535")
    if "#" in url:
        raise ValidationFailed(f"{field}: must not contain a fragment")
    # Rebuilt by hand: urlunsplit would drop an empty '?' and so change the URL.
    rest = url[len(parts.scheme) + 3 + len(parts.netloc) :]
    normalized = f"{parts.scheme}://{parts.netloc.lower()}{rest}"
    return normalized, urllib.parse.urlsplit(normalized)


def _check_host(host: str, *, bracketed: bool, field: str) -> None:
    if bracketed:
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        # A zone (%eth0) names an interface of this machine; no outside service needs one.
        if not isinstance(literal, ipaddress.IPv6Address) or literal.scope_id is not None:
            raise ValidationFailed(f"{field}: host is not a valid IPv6 address")
        return
    try:
        ascii_host = _ascii_host(host)
    except UnicodeError:
        raise ValidationFailed(f"{field}: host is not a valid host name") from None
    if not _HOST.match(ascii_host):
        raise ValidationFailed(f"{field}: host is not a valid host name")


def check_url_shape(url: str, *, https_only: bool, field: str = "url") -> urllib.parse.SplitResult:
    """Syntax only (no DNS); the result has scheme and host lower-cased."""
    return _shape(url, https_only=https_only, field=field)[1]


def host_key(host: str) -> str:
    """The form in which two spellings of one host compare equal: lower-case IDNA without the
    trailing dot, or an IP address's canonical text (brackets dropped)."""
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        pass
    try:
        return _ascii_host(bare).rstrip(".")
    except UnicodeError:
        return bare.lower().rstrip(".")


def _allowed_keys(allowed_hosts: typing.Iterable[str]) -> frozenset[str]:
    return frozenset(host_key(host) for host in allowed_hosts)


def _check_name(name: str, *, allow_private: bool) -> None:
    bare = name.rstrip(".")
    if bare in _METADATA_HOSTS:
        raise UnsafeTarget(f"{bare} is a cloud metadata host")
    if not allow_private and (bare in _PRIVATE_NAMES or bare.endswith(_PRIVATE_SUFFIXES)):
        raise UnsafeTarget(f"{bare} is a private host name")


async def resolve_and_check(
    host: str,
    port: int,
    *,
    allow_private: bool,
    # A parameter rather than the caller's asyncio.timeout: GuardedBackend passes httpcore's.
    timeout: float = RESOLVE_TIMEOUT,  # noqa: ASYNC109
) -> list[str]:
    """Every address `host` resolves to, each one checked; raises UnsafeTarget when resolution fails
    or ANY address is refused, since whoever controls the DNS chooses which one gets used."""
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        literal: IPAddress | None = ipaddress.ip_address(bare)
    except ValueError:
        literal = None
    if literal is not None:
        reason = refusal_reason(literal, allow_private=allow_private)
        if reason is not None:
            raise UnsafeTarget(f"{bare} is {reason}")
        return [str(literal)]

    try:
        name = _ascii_host(bare)
    except UnicodeError:
        raise UnsafeTarget(f"{host} is not a valid host name") from None
    _check_name(name, allow_private=allow_private)
    # Digit-only and hex spellings (2130706433, 0x7f.1, 127.1) are not literals to ipaddress but
    # are to getaddrinfo, so they go through it and come back as the address they really mean.
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            infos = await loop.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except TimeoutError:
        raise UnsafeTarget(f"{host} did not resolve within {timeout:g} seconds") from None
    except (OSError, UnicodeError):
        raise UnsafeTarget(f"{host} does not resolve") from None

    addresses: list[str] = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        reason = refusal_reason(address, allow_private=allow_private)
        if reason is not None:
            raise UnsafeTarget(f"{host} resolves to {address}, {reason}")
        if str(address) not in addresses:
            addresses.append(str(address))
    if not addresses:
        raise UnsafeTarget(f"{host} does not resolve")
    return addresses


async def check_url(
    url: str,
    *,
    https_only: bool,
    allow_private: bool,
    allowed_hosts: typing.Iterable[str] = (),
    field: str = "url",
) -> str:
    """The URL with scheme and host lower-cased, once its shape and every address are allowed;
    ValidationFailed('<field>: <reason>') otherwise.

    A host on `allowed_hosts` (the operator's list) may resolve to private addresses, as if
    `allow_private` were set for it alone; metadata addresses stay refused."""
    normalized, parts = _shape(url, https_only=https_only, field=field)
    host = parts.hostname or ""
    port = parts.port or _DEFAULT_PORTS[parts.scheme]
    private_ok = allow_private or host_key(host) in _allowed_keys(allowed_hosts)
    try:
        await resolve_and_check(host, port, allow_private=private_ok)
    except UnsafeTarget as exc:
        raise ValidationFailed(f"{field}: {exc.reason}") from None
    return normalized


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves and checks the host itself, then connects to the checked IP, so no second lookup
    (DNS rebinding) can slip in between check and connect. httpcore still hands the original name
    to start_tls, so certificates and SNI are checked against the name, not the IP."""

    def __init__(
        self,
        *,
        allow_private: bool,
        allowed_hosts: typing.Iterable[str] = (),
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._allowed_hosts = _allowed_keys(allowed_hosts)
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        addresses = await resolve_and_check(
            host,
            port,
            allow_private=self._allow_private or host_key(host) in self._allowed_hosts,
            # httpcore passes None for "no connect timeout"; a lookup must still end.
            timeout=RESOLVE_TIMEOUT if timeout is None else timeout,
        )
        # The options may be a one-shot iterator and each attempt needs them.
        options = None if socket_options is None else list(socket_options)
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                raise httpcore.ConnectTimeout(f"connecting to {host} timed out")
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=remaining,
                    local_address=local_address,
                    socket_options=options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                # localhost may list ::1 first while the server only listens on 127.0.0.1.
                failure = exc
        # resolve_and_check never returns an empty list, so `failure` is always set here.
        raise failure or httpcore.ConnectError(f"{host} has no address to connect to")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise UnsafeTarget("Bob does not connect to Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
