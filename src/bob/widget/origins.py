"""Allowed origins: exact `scheme://host[:port]`, or `scheme://*.domain` for its subdomains."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from bob.errors import ValidationFailed

_DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_ORIGINS = 100
# An ASCII host name (after IDNA) or IPv4 address: dot-separated labels, 253 characters at most.
_HOST = re.compile(r"(?=.{1,253}\Z)[a-z0-9_-]{1,63}(?:\.[a-z0-9_-]{1,63})*\Z")


def normalize_origin(value: str, *, field: str = "allowed_origins") -> str:
    raw = value.strip()
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise ValidationFailed(f"{field}: {value!r} is not an origin") from None
    if parts.scheme not in _DEFAULT_PORTS:
        raise ValidationFailed(f"{field}: {value!r} must start with http:// or https://")
    if (
        "@" in parts.netloc
        or parts.username
        or parts.password
        or parts.query
        or parts.fragment
        or parts.path
        not in {
            "",
            "/",
        }
    ):
        raise ValidationFailed(
            f"{field}: {value!r} must be only scheme://host[:port], without path or query"
        )
    host = (parts.hostname or "").rstrip(".")
    wildcard = host.startswith("*.")
    bare = host[2:] if wildcard else host
    if not bare or "*" in bare:
        raise ValidationFailed(f"{field}: {value!r} has no valid host")
    try:
        bare = bare.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValidationFailed(f"{field}: {value!r} has no valid host") from None
    if not _HOST.match(bare):
        raise ValidationFailed(f"{field}: {value!r} has no valid host")
    if wildcard and bare.count(".") < 1:
        # `https://*.com` would allow every site under a top-level domain.
        raise ValidationFailed(f"{field}: {value!r} is too broad; name a domain like *.example.com")
    host = f"*.{bare}" if wildcard else bare
    if port is not None and port != _DEFAULT_PORTS[parts.scheme]:
        host = f"{host}:{port}"
    if ":" in bare and not bare.startswith("["):
        raise ValidationFailed(f"{field}: {value!r} has no valid host")
    return f"{parts.scheme}://{host}"


def normalize_origins(values: list[str]) -> list[str]:
    if len(values) > MAX_ORIGINS:
        raise ValidationFailed(f"allowed_origins: at most {MAX_ORIGINS} origins per key")
    return sorted({normalize_origin(v) for v in values})


def request_origin(value: str | None) -> str | None:
    """The Origin header in the normalised form, or None when absent, `null` or malformed."""
    if not value or value == "null":
        return None
    try:
        origin = normalize_origin(value)
    except ValidationFailed:
        return None
    return None if "*" in origin else origin


def patterns_matching(origin: str) -> list[str]:
    """Every stored pattern that would allow `origin`: itself and wildcards of its parents."""
    scheme, _, rest = origin.partition("://")
    host, colon, port = rest.partition(":")
    suffix = f"{colon}{port}"
    labels = host.split(".")
    patterns = [origin]
    # *.example.com allows shop.example.com and a.b.example.com, never example.com itself.
    for start in range(1, len(labels) - 1):
        patterns.append(f"{scheme}://*.{'.'.join(labels[start:])}{suffix}")
    return patterns
