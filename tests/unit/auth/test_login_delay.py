from __future__ import annotations

import pytest

from bob.auth.service import login_delay


@pytest.mark.parametrize(
    ("failures", "expected"),
    [(0, 0.0), (49, 0.0), (50, 0.5), (51, 1.0), (55, 3.0), (58, 4.5), (59, 5.0), (500, 5.0)],
)
def test_the_wait_starts_at_the_ceiling_and_grows_to_its_cap(
    failures: int, expected: float
) -> None:
    assert login_delay(failures, ceiling=50, step_s=0.5, max_s=5.0) == pytest.approx(expected)


def test_a_cap_of_zero_turns_the_wait_off() -> None:
    assert login_delay(1000, ceiling=1, step_s=0.5, max_s=0.0) == 0.0
