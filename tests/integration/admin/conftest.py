"""Mission Control page tests use the portal's browser-like client."""

from tests.integration.portal.conftest import pages  # noqa: F401  (a fixture)
