"""The part of a passage that answers a question: its sentences, list items or table rows.

A visitor who asks when the shop closes on Saturdays wants the Saturday line, not the whole
opening-hours page. A passage is cut into units (sentences, list items, table rows), each unit is
scored by the weighted share of the question's terms it holds, plus a bonus when it states the
kind of fact the question asks for (a price for "how much", a time for "what time"), and the
best units are kept in their original order with what they need to be read alone: a list item
keeps the sentence that introduces the list, a table row keeps the table's header.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from bob.text import answer_types, grounding
from bob.text.answer_types import AnswerType
from bob.text.search import Term
from bob.text.units import Unit, split_units

# A passage this short is already one fact; cutting it would only lose context.
SHORT_PASSAGE_CHARS = 240
MAX_UNITS = 3
# Another unit joins the best one only when it holds a good part of what the best one holds
# and something the best one lacks.
COMPANION_RATIO = 0.5
# A lead-in sentence or a table header that answers best brings the list or table it introduces.
MAX_FOLLOWERS = 6
# What stating the asked kind of fact is worth, against the share of the question's terms (0..1):
# "valor da diária em janeiro" is answered by the table row with the prices, not by the sentence
# that repeats "diária".
TYPE_BONUS = 0.5
# What a unit's closeness in meaning to the question is worth (grounding.meaning, 0..1), where
# its units were embedded: "What forms of payment do you take?" is answered by "We accept Visa,
# Mastercard…", which shares none of its words, rather than by "Payment is due on the day".
MEANING_WEIGHT = 1.0


def _score(
    terms: Sequence[Term],
    weights: Mapping[str, float],
    tokens: Callable[[str], list[str]],
    wanted: frozenset[AnswerType],
) -> Callable[[str, float | None], tuple[float, frozenset[str]]]:
    total = sum(weights.get(t.key, 1.0) for t in terms) or 1.0

    def score(text: str, similarity: float | None) -> tuple[float, frozenset[str]]:
        present = set(tokens(text))
        found = frozenset(t.key for t in terms if t.found_in(present))
        value = sum(weights.get(key, 1.0) for key in found) / total
        if any(answer_types.holds(text, kind) for kind in wanted):
            value += TYPE_BONUS
        if similarity is not None:
            value += MEANING_WEIGHT * grounding.meaning(similarity)
        return value, found

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
    terms: Sequence[Term],
    *,
    tokens: Callable[[str], list[str]],
    weights: Mapping[str, float] | None = None,
    wanted: frozenset[AnswerType] = frozenset(),
    similarities: Sequence[float] = (),
    max_units: int = MAX_UNITS,
) -> str:
    """The units of `text` that answer a question with search `terms`, ready to show.

    `tokens` turns text into search tokens the same way the question's terms were made;
    `weights` (e.g. inverse document frequencies) make rare terms count more; `wanted` are the
    kinds of fact the question asks for (text/answer_types.py); `similarities` are the
    question's to each unit, in `split_units` order, where they were measured. With no unit
    holding any of that, its opening units, which usually state what the passage is about, are
    returned.
    """
    text = text.strip()
    units = split_units(text)
    if len(text) <= SHORT_PASSAGE_CHARS or len(units) <= 2:
        return text
    score = _score(terms, weights or {}, tokens, wanted)
    # Measured on the units as they were split when the passage was indexed; a passage split
    # differently since then is scored on its words alone.
    measured = list(similarities) if len(similarities) == len(units) else [None] * len(units)
    scored = [score(unit.text, near) for unit, near in zip(units, measured, strict=True)]
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
    if units[best].kind == "row":
        # A row picked for what it states (a price) but no more about the question than its
        # neighbours ("the daily rate in January" against a table of rooms by season): the
        # question does not single it out, so the table answers, not the first row.
        siblings = [
            i for i, u in enumerate(units) if u.kind == "row" and u.block == units[best].block
        ]
        if all(scored[i][1] == scored[best][1] for i in siblings):
            chosen.update(siblings[:MAX_FOLLOWERS])
    # "We rent this gear for the weekend:" answers "how much to rent a tent?" only with the
    # list or table below it, and a table's header only with its rows.
    leads = list(picked)
    while leads:
        index = leads.pop()
        followers = [i for i, u in enumerate(units) if u.context == index and i not in chosen]
        relevant = [i for i in followers if scored[i][0] > 0]
        added = (relevant or followers)[:MAX_FOLLOWERS]
        chosen.update(added)
        leads.extend(i for i in added if units[i].kind == "header")
    for index in sorted(chosen):
        context = units[index].context
        while context is not None and context not in chosen:
            chosen.add(context)
            context = units[context].context
    return _render(units, sorted(chosen))
