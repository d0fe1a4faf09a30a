from __future__ import annotations

import pytest

from bob.errors import ValidationFailed
from bob.widget.models import WidgetKey, WidgetKeyOrigin
from bob.widget.origins import (
    MAX_ORIGINS,
    normalize_origin,
    normalize_origins,
    patterns_matching,
    request_origin,
)
from bob.widget.service import key_allows


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://example.com", "https://example.com"),
        ("https://EXAMPLE.com", "https://example.com"),
        ("HTTPS://Example.COM", "https://example.com"),
        ("https://example.com/", "https://example.com"),
        ("https://example.com:443", "https://example.com"),
        ("http://example.com:80", "http://example.com"),
        ("http://example.com:443", "http://example.com:443"),
        ("https://example.com:80", "https://example.com:80"),
        ("https://example.com:8443/", "https://example.com:8443"),
        ("  https://example.com  ", "https://example.com"),
        ("https://example.com.", "https://example.com"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
        ("https://BÜCHER.example", "https://xn--bcher-kva.example"),
        ("https://*.example.com", "https://*.example.com"),
        ("https://*.Example.com:8443", "https://*.example.com:8443"),
        ("https://*.bücher.example", "https://*.xn--bcher-kva.example"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("http://127.0.0.1:5173", "http://127.0.0.1:5173"),
        ("https://my_host.example.com", "https://my_host.example.com"),
    ],
)
def test_normalize_origin(given: str, expected: str) -> None:
    assert normalize_origin(given) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "example.com",
        "//example.com",
        "ftp://x.com",
        "ws://x.com",
        "javascript:alert(1)",
        "data:text/html,hi",
        "https://",
        "https://x.com/path",
        "https://x.com/path/",
        "https://x.com?q=1",
        "https://x.com#top",
        "https://user@x.com",
        "https://user:pw@x.com",
        "https://@x.com",
        "https://x.com:99999",
        "https://x.com:port",
        "https://*",
        "https://*.",
        "https://*.com",
        "https://*.*.example.com",
        "https://a.*.example.com",
        "https://a*.example.com",
        "https://*example.com",
        "https://.example.com",
        "https://exa mple.com",
        "https://exa<mple.com",
        "https://[::1]:8080",
        "https://" + "a" * 64 + ".com",
        "https://" + ".".join(["a" * 63] * 5) + ".com",
    ],
)
def test_normalize_origin_refuses_what_is_not_an_origin(value: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        normalize_origin(value)
    assert raised.value.message.startswith("allowed_origins: ")
    assert raised.value.status_code == 422


def test_normalize_origin_names_the_given_field() -> None:
    with pytest.raises(ValidationFailed, match=r"^origin: "):
        normalize_origin("ftp://x.com", field="origin")


def test_longest_valid_host_fits_the_column() -> None:
    host = ".".join(["a" * 63] * 3 + ["b" * 61])  # 253 characters
    origin = normalize_origin(f"https://*.{host}:65535")
    assert len(origin) <= 300
    with pytest.raises(ValidationFailed):
        normalize_origin(f"https://{host}c")


def test_normalize_origins_sorts_and_deduplicates() -> None:
    assert normalize_origins(
        [
            "https://b.example.com",
            "https://B.example.com:443/",
            "http://a.example.com",
            "https://*.example.com",
            "https://a.example.com",
        ]
    ) == [
        "http://a.example.com",
        "https://*.example.com",
        "https://a.example.com",
        "https://b.example.com",
    ]
    assert normalize_origins([]) == []


def test_normalize_origins_limits_the_count_and_refuses_any_bad_one() -> None:
    many = [f"https://s{n}.example.com" for n in range(MAX_ORIGINS)]
    assert len(normalize_origins(many)) == MAX_ORIGINS
    with pytest.raises(ValidationFailed, match="allowed_origins"):
        normalize_origins([*many, "https://one-more.example.com"])
    with pytest.raises(ValidationFailed, match="allowed_origins"):
        normalize_origins(["https://fine.example.com", "https://x.com/path"])


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("https://shop.example.com", "https://shop.example.com"),
        ("https://Shop.Example.com:443", "https://shop.example.com"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
        (None, None),
        ("", None),
        ("null", None),
        ("not an origin", None),
        ("ftp://x.com", None),
        ("https://x.com/path", None),
        ("https://user@x.com", None),
        ("https://x.com:99999", None),
        ("https://*.example.com", None),
        ("https://*.example.com:8443", None),
    ],
)
def test_request_origin(header: str | None, expected: str | None) -> None:
    assert request_origin(header) == expected


def test_patterns_matching_lists_the_origin_and_its_parent_wildcards() -> None:
    assert patterns_matching("https://a.b.example.com:8443") == [
        "https://a.b.example.com:8443",
        "https://*.b.example.com:8443",
        "https://*.example.com:8443",
    ]
    assert patterns_matching("https://shop.example.com") == [
        "https://shop.example.com",
        "https://*.example.com",
    ]
    assert patterns_matching("http://shop.example.com") == [
        "http://shop.example.com",
        "http://*.example.com",
    ]


@pytest.mark.parametrize(
    "origin",
    [
        "https://example.com",
        "https://a.b.example.com:8443",
        "https://x.y.z.example.com",
        "http://localhost:3000",
        "https://example.com.evil.net",
    ],
)
def test_patterns_matching_never_offers_a_top_level_wildcard(origin: str) -> None:
    patterns = patterns_matching(origin)
    assert patterns[0] == origin
    for pattern in patterns[1:]:
        host = pattern.partition("://")[2].partition(":")[0]
        assert host.startswith("*.")
        assert host.count(".") >= 2, pattern
    hosts = {p.partition("://")[2].partition(":")[0] for p in patterns}
    assert hosts.isdisjoint({"*.com", "*.net", "*"})


def test_a_bare_domain_matches_only_itself() -> None:
    assert patterns_matching("https://example.com") == ["https://example.com"]
    assert patterns_matching("http://localhost") == ["http://localhost"]


def _key(*origins: str) -> WidgetKey:
    key = WidgetKey(key="pk_live_" + "x" * 32, label="test", status="active")
    key.origins = [WidgetKeyOrigin(origin=o) for o in normalize_origins(list(origins))]
    return key


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://shop.example.com", True),
        ("https://a.b.example.com", True),
        ("https://Shop.Example.com:443", True),
        ("https://example.com", False),
        ("http://shop.example.com", False),
        ("https://shop.example.com:8443", False),
        ("https://evil-example.com", False),
        ("https://example.com.evil.net", False),
        ("https://shopexample.com", False),
        ("https://shop.example.co", False),
        ("null", False),
        (None, False),
    ],
)
def test_a_wildcard_allows_subdomains_only(origin: str | None, allowed: bool) -> None:
    key = _key("https://*.example.com")
    assert key_allows(key, request_origin(origin)) is allowed


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://shop.example.com", True),
        ("https://shop.example.com:443", True),
        ("https://www.shop.example.com", False),
        ("https://example.com", False),
        ("http://shop.example.com", False),
        ("https://shop.example.com:8443", False),
        ("http://localhost:3000", True),
        ("http://localhost:3001", False),
        ("http://localhost", False),
    ],
)
def test_an_exact_origin_allows_only_itself(origin: str, allowed: bool) -> None:
    key = _key("https://shop.example.com", "http://localhost:3000")
    assert key_allows(key, request_origin(origin)) is allowed


def test_a_wildcard_with_a_port_allows_that_port_only() -> None:
    key = _key("https://*.example.com:8443")
    assert key_allows(key, "https://a.b.example.com:8443")
    assert not key_allows(key, "https://a.b.example.com")
    assert not key_allows(key, "https://example.com:8443")


def test_an_empty_allow_list_allows_nothing() -> None:
    key = _key()
    assert key.allowed_origins == []
    for origin in ("https://example.com", "http://localhost:3000", None):
        assert not key_allows(key, origin)
