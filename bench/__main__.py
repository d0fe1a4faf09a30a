"""Run every benchmark and write bench/RESULTS.md.

`python -m bench quality credits` runs only the named sections and replaces just those sections
of bench/RESULTS.md (a section is named after its module: bench/quality/run.py is `quality`).
"""

from __future__ import annotations

import platform
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench import credits, dense, lexical, scale, webhooks, widget_size
from bench.quality import run as quality

SECTIONS = [
    widget_size.run,
    credits.run,
    webhooks.run,
    lexical.run,
    dense.run,
    scale.run,
    quality.run,
]


def _name(section: Callable[[], str]) -> str:
    return section.__module__.removeprefix("bench.").removesuffix(".run")


def _splice(document: str, section: str) -> str:
    """`document` with the section of the same `## ` heading replaced, or the section added."""
    header, *sections = re.split(r"(?m)^(?=## )", document)
    heading = section.split("\n", 1)[0]
    replaced = [section if s.split("\n", 1)[0] == heading else s for s in sections]
    if section not in replaced:
        replaced.append(section)
    return header.rstrip("\n") + "\n\n" + "\n\n".join(s.rstrip("\n") for s in replaced) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    names = list(sys.argv[1:] if argv is None else argv)
    known = {_name(section): section for section in SECTIONS}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"no section {', '.join(unknown)}; the sections: {', '.join(known)}")
    header = (
        "# Benchmark results\n\n"
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"Python {platform.python_version()}. Regenerate with `make bench`.\n\n"
    )
    path = Path(__file__).parent / "RESULTS.md"
    if names:
        document = path.read_text() if path.exists() else header
        for name in names:
            document = _splice(document, known[name]())
        path.write_text(document)
    else:
        path.write_text(header + "\n".join(section() for section in SECTIONS))
    print(path.read_text())


if __name__ == "__main__":
    main()
