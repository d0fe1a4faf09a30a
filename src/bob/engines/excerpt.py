"""The part of a passage that answers a question: its sentences, list items or table rows.

A visitor who asks when the shop closes on Saturdays wants the Saturday line, not the whole
opening-hours page. A passage is cut into units (sentences, list items, table rows), each unit is
scored by the weighted share of the question's terms it holds, and the best units are kept in
their original order with what they need to be read alone: a list item keeps the sentence that
introduces the list, a table row keeps the table's header.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

# A passage this short is already one fact; cutting it would only lose context.
SHORT_PASSAGE_CHARS = 240
MAX_UNITS = 3
# Another unit joins the best one only when it holds a good part of what the best one holds
# and something the best one lacks.
COMPANION_RATIO = 0.5
# A lead-in sentence or a table header that answers best brings the list or table it introduces.
MAX_FOLLOWERS = 6

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


def _score(
    terms: Sequence[str], weights: Mapping[str, float], tokens: Callable[[str], list[str]]
) -> Callable[[str], tuple[float, frozenset[str]]]:
    total = sum(weights.get(t, 1.0) for t in terms) or 1.0

    def score(text: str) -> tuple[float, frozenset[str]]:
        found = frozenset(terms).intersection(tokens(text))
        return sum(weights.get(t, 1.0) for t in found) / total, found

    return score


def _render(units: Sequence[Unit], chosen: Sequence[int]) -> str:
    lines: list[str] = []
    last_block: int | None = None
    last: int | None = None
    for index in chosen:
        unit = units[index]
        if unit.kind == "sentence" and last_block == unit.block and lines:
            lines[-1] = f"{lines[-1]} {unit.text}"
        else:
            # A lead-in stays right above its list; separate blocks get a blank line.
            if last_block is not None and unit.block != last_block and unit.context != last:
                lines.append("")
            lines.append(unit.text)
            if unit.kind == "header":
                cells = unit.text.strip().strip("|").split("|")
                lines.append("|" + "|".join(" --- " for _ in cells) + "|")
        last_block = unit.block
        last = index
    return "\n".join(lines).strip()


def excerpt(
    text: str,
    terms: Sequence[str],
    *,
    tokens: Callable[[str], list[str]],
    weights: Mapping[str, float] | None = None,
    max_units: int = MAX_UNITS,
) -> str:
    """The units of `text` that answer a question with search `terms`, ready to show.

    `tokens` turns text into search tokens the same way the question's terms were made;
    `weights` (e.g. inverse document frequencies) make rare terms count more. With no unit
    holding any term, the passage matched on meaning rather than words: its opening units, which
    usually state what the passage is about, are returned.
    """
    text = text.strip()
    units = split_units(text)
    if len(text) <= SHORT_PASSAGE_CHARS or len(units) <= 2:
        return text
    score = _score(terms, weights or {}, tokens)
    scored = [score(unit.text) for unit in units]
    order = sorted(range(len(units)), key=lambda i: (-scored[i][0], i))
    best = order[0]
    if scored[best][0] <= 0:
        return _render(units, list(range(min(2, len(units)))))
    picked = [best]
    covered = set(scored[best][1])
    for index in order[1:]:
        if len(picked) >= max_units:
            break
        value, found = scored[index]
        if value < COMPANION_RATIO * scored[best][0] or found <= covered:
            continue
        picked.append(index)
        covered |= found
    chosen = set(picked)
    for index in picked:
        # "We rent this gear for the weekend:" answers "how much to rent a tent?" only with
        # the list below it.
        followers = [i for i, u in enumerate(units) if u.context == index]
        relevant = [i for i in followers if scored[i][0] > 0]
        chosen.update((relevant or followers)[:MAX_FOLLOWERS])
    for index in picked:
        context = units[index].context
        while context is not None and context not in chosen:
            chosen.add(context)
            context = units[context].context
    return _render(units, sorted(chosen))
