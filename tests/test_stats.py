"""stats: Student-t intervals over seeds and the exact rank test bench-against judges runs with (golden values)."""

from __future__ import annotations

import math

import pytest

from harness._util import interval_text, mean_ci95, p_greater


def test_the_t_interval_of_three_values_is_mean_plus_minus_t2_s_over_root_3() -> None:
    mean, low, high = mean_ci95([1.0, 2.0, 3.0])
    assert mean == 2.0 and high - mean == pytest.approx(4.303 * 1.0 / math.sqrt(3))
    assert mean_ci95([5.0])[0] == 5.0 and math.isnan(mean_ci95([5.0])[1])
    assert interval_text(*mean_ci95([1.0, 2.0, 3.0])) == "2 [-0.484, 4.48]"


@pytest.mark.parametrize("xs, ys, p", [
    ([2, 3, 4], [1, 1.5, 1.7], 1 / 20),  # 3 and 3, every x above every y: the smallest p there is
    ([5, 6, 7, 8], [1, 2, 3, 4], 1 / 70),  # 4 and 4 separated: 1 / C(8, 4)
    ([0.271, 0.270, 0.399], [0.193, 0.206, 0.306], 4 / 20),  # two pairs the wrong way (U = 7 of 9): 4 of 20 splits reach it
    ([1, 1, 1], [1, 1, 1], 1.0),  # all tied: no evidence either way
    ([2], [1], 1 / 2),  # one run a side can never be significant
])
def test_the_rank_test_counts_the_splits_at_least_as_extreme(xs: list[float], ys: list[float], p: float) -> None:
    assert p_greater(xs, ys) == pytest.approx(p)


def test_the_rank_test_is_one_sided() -> None:
    assert p_greater([1, 1.5, 1.7], [2, 3, 4]) == 1.0  # xs below ys: nothing says they exceed them
