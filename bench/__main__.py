"""Run every benchmark and write bench/RESULTS.md."""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from pathlib import Path

from bench import credits, webhooks, widget_size

SECTIONS = [widget_size.run, credits.run, webhooks.run]


def main() -> None:
    header = (
        "# Benchmark results\n\n"
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"Python {platform.python_version()}. Regenerate with `make bench`.\n\n"
    )
    body = "\n".join(section() for section in SECTIONS)
    path = Path(__file__).parent / "RESULTS.md"
    path.write_text(header + body)
    print(path.read_text())


if __name__ == "__main__":
    main()
