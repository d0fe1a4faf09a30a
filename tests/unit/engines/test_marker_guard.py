"""The hold-back that keeps the handoff marker from ever reaching a visitor."""

from __future__ import annotations

import pytest

from bob.engines.base import EngineError
from bob.engines.openai import _MarkerGuard


def run(pieces: list[str]) -> tuple[list[str], str | None]:
    guard = _MarkerGuard()
    released = [guard.feed(piece) for piece in pieces]
    last, text = guard.finish()
    return [r for r in [*released, last] if r], text


@pytest.mark.parametrize(
    "pieces",
    [
        ["[[HANDOFF]]"],
        ["[", "[", "H", "A", "N", "D", "O", "F", "F", "]", "]"],
        ["  \n[[HAND", "OFF]]\n "],
        ["I do not know. ", "[[HAND", "OFF]]"],
        ["[[HANDOFF]] Sorry, I cannot help."],
        ["[[HAND"],
    ],
)
def test_the_marker_means_no_text_and_never_leaks(pieces: list[str]) -> None:
    released, text = run(pieces)
    assert text is None
    assert not any("[" in piece for piece in released)


def test_text_is_held_only_while_it_could_be_the_marker() -> None:
    guard = _MarkerGuard()
    assert guard.feed("[[HA") == ""
    assert guard.feed("PPY") == "[[HAPPY"
    assert guard.feed(" days") == " days"
    assert guard.finish() == ("", "[[HAPPY days")


def test_whitespace_at_either_end_is_held_so_pieces_join_to_the_text() -> None:
    pieces = ["\n ", "Hello ", "there ", "[1]", "\n\n"]
    released, text = run(pieces)
    assert text == "Hello there [1]"
    assert "".join(released) == text
    assert released[0] == "Hello"


def test_a_bracket_at_the_end_is_released_once_the_reply_ends() -> None:
    released, text = run(["See source [", "[1]]"])
    assert text == "See source [[1]]"
    assert "".join(released) == text


@pytest.mark.parametrize("pieces", [[], [""], ["  ", "\n"]])
def test_an_empty_reply_is_an_error(pieces: list[str]) -> None:
    with pytest.raises(EngineError, match="empty"):
        run(pieces)
