"""Numbers for reading: a mean shows as many digits as its interval allows, and tables escape their cells."""

from __future__ import annotations

import math

import pytest

from harness._util import markdown_table, with_interval


@pytest.mark.parametrize(("mean", "half", "text"), [
    (1184.3, 390.2, "1184 ± 390"),  # the examples
    (0.6873, 0.2012, "0.687 ± 0.20"),
    (3302.0, 3512.0, "3302 ± 3500"),
    (0.687, 0.0996, "0.687 ± 0.10"),  # rounding carries into a third digit: one digit fewer
    (12.3456, 0.01234, "12.3456 ± 0.012"),
    (5.0, 0.0, "5 ± 0"),
    (0.5, math.nan, "0.5 (one seed)"),
    (math.nan, 1.0, "n/a"),
])
def test_a_mean_shows_the_precision_of_its_interval(mean: float, half: float, text: str) -> None:
    assert with_interval(mean, half) == text


def test_a_table_has_its_rule_and_escapes_a_pipe_inside_a_cell() -> None:
    assert markdown_table(["a", "b"], [[1, "x | y"]]) == ["| a | b |", "|---|---|", "| 1 | x \\| y |"]
