"""A passage's units: its sentences, list items and table rows, in order, each knowing the unit a
reader needs before it (a list's lead-in, a table's header). Their vectors are stored beside the
passage's (knowledge/vectors.py) and the extractive engine quotes them (engines/excerpt.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

_ITEM = re.compile(r"^\s{0,3}(?:[-*+\u2022\u30fb]|\d{1,3}[.)])\s+")
_ROW = re.compile(r"^\s*\|.*\|\s*$")
_SEPARATOR_ROW = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
# After ., !, ? or … followed by a space, and after the ideographic full stops, which need none.
_SENTENCE_END = re.compile("(?<=[.!?\u2026])\\s+(?=[^\\s])|(?<=[\u3002\uff01\uff1f])")

Kind = Literal["sentence", "item", "row", "header"]


@dataclass(frozen=True)
class Unit:
    kind: Kind
    text: str
    block: int  # units of one paragraph, list or table share a block number
    # The unit a reader needs before this one: a list's lead-in sentence, a table's header.
    context: int | None = None


def _split_sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(paragraph) if s.strip()]


def split_units(text: str) -> list[Unit]:
    """Sentences, list items and table rows of `text`, in order."""
    units: list[Unit] = []
    block = 0
    paragraph: list[str] = []
    header: int | None = None
    lead: int | None = None
    previous_kind: str | None = None

    def flush_paragraph() -> None:
        nonlocal block, lead
        if not paragraph:
            return
        for sentence in _split_sentences(" ".join(paragraph)):
            units.append(Unit("sentence", sentence, block))
        paragraph.clear()
        # A paragraph ending in ':' introduces what follows (usually a list or a table).
        lead = len(units) - 1 if units and units[-1].text.endswith((":", "\uff1a")) else None
        block += 1

    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            flush_paragraph()
            if previous_kind in ("item", "row"):
                block += 1
                lead = None
            previous_kind = None
            continue
        if _ROW.match(stripped):
            flush_paragraph()
            if _SEPARATOR_ROW.match(stripped):
                continue
            if previous_kind != "row":
                block += 1
                units.append(Unit("header", stripped, block, lead))
                header = len(units) - 1
            else:
                units.append(Unit("row", stripped, block, header))
            previous_kind = "row"
            continue
        if _ITEM.match(line):
            flush_paragraph()
            if previous_kind != "item":
                block += 1
            units.append(Unit("item", stripped, block, lead))
            previous_kind = "item"
            continue
        if previous_kind in ("item", "row"):
            # A line right after a list or table without a blank line starts a new paragraph.
            block += 1
            lead = None
        paragraph.append(stripped)
        previous_kind = "sentence"
    flush_paragraph()
    return units
