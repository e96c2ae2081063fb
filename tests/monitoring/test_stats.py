"""The Wilson interval and the total-variation distance."""

from __future__ import annotations

import pytest

from triage.monitoring.stats import total_variation, wilson


def test_wilson_matches_published_values_and_stays_in_bounds() -> None:
    # Newcombe (1998), table I: 81 of 263 -> 0.2553-0.3662; 15 of 148 -> 0.0624-0.1605; 0 of 20 -> 0-0.1611
    assert wilson(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    assert wilson(15, 148) == pytest.approx((0.0624, 0.1605), abs=1e-4)
    assert wilson(0, 20) == pytest.approx((0.0, 0.1611), abs=1e-4)
    assert wilson(20, 20) == pytest.approx((0.8389, 1.0), abs=1e-4)
    assert wilson(0, 0) == (0.0, 1.0)
    low, high = wilson(3, 4)
    assert low < 0.75 < high


@pytest.mark.parametrize(("successes", "n"), [(5, 4), (-1, 4), (0, -1)])
def test_wilson_refuses_impossible_counts(successes: int, n: int) -> None:
    with pytest.raises(ValueError, match="successes <= n"):
        wilson(successes, n)


def test_total_variation() -> None:
    assert total_variation({"a": 5, "b": 5}, {"a": 50, "b": 50}) == 0
    assert total_variation({"a": 1}, {"b": 7}) == 1
    assert total_variation({"a": 3, "b": 1}, {"a": 1, "b": 1}) == pytest.approx(0.25)
    assert total_variation({}, {"a": 1}) is None
