"""Bob: a self-hostable, multi-tenant governed AI front office."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bob")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"
