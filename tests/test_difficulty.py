"""The difficulty analysis at the smoke budget (real MNIST, real classifier, two tiny trained networks),
and the bootstrap and recognition helpers on their own."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from harness._util import ConfigError
from harness.analyses.difficulty import (
    DifficultyConfig,
    Estimate,
    Resampler,
    called_rates,
    contrast,
    first_reach,
    pairwise_mean_statistic,
    recognition_estimates,
    relative_levels,
    run_difficulty,
    significant_pairs,
    step_fractions,
)
from harness.cli import main


def test_writes_the_report_tables_and_plots(analysed) -> None:  # noqa: ANN001
    result, path = analysed
    folder = path.parent
    assert folder.name == "difficulty-baseline-smoke"
    for name in ("per_digit.csv", "significant_pairs.csv", "recognition.csv", "forward.csv", "frontier.csv"):
        assert (folder / name).stat().st_size > 0
    for plot in ("heatmap", "bars", "recognition", "forward", "frontier"):
        assert (folder / "plots" / f"{plot}.png").stat().st_size > 1000
    text = path.read_text()
    assert "at the smoke budget" in text and "Time on this machine" in text
    digits = pd.read_csv(folder / "per_digit.csv")
    assert sorted(digits["digit"]) == list(range(10)) and list(digits["rank"]) == sorted(digits["rank"])


def test_every_interval_contains_its_point_estimate(analysed) -> None:  # noqa: ANN001
    result, _ = analysed
    estimates = {**result.estimates, **{f"frontier w={w}: {k}": e for w, es in result.frontier.items() for k, e in es.items()}}
    for name, e in estimates.items():
        low, high = e.interval()
        for d in range(10):
            if math.isfinite(e.point[d]) and math.isfinite(low[d]):
                assert low[d] - 1e-9 <= e.point[d] <= high[d] + 1e-9, (name, d, low[d], e.point[d], high[d])


def test_every_curve_interval_contains_its_point_at_every_step(analysed) -> None:  # noqa: ANN001
    result, _ = analysed
    curves = {**{f"accuracy {on}": e for on, e in result.curves.items()},
              **{f"informedness {on}": e for on, e in result.informedness.items()}, "forward": result.forward.accuracy}
    for name, e in curves.items():
        low, high = e.interval()
        assert low.shape == e.point.shape, name
        assert (low - 1e-9 <= e.point).all() and (e.point <= high + 1e-9).all(), name


def test_recognition_fractions_lie_in_0_1_and_grow_with_the_threshold(analysed) -> None:  # noqa: ANN001
    result, _ = analysed
    for on in ("xt", "x0"):
        early, late = result.estimates[f"recognised_{on}_50"], result.estimates[f"recognised_{on}_90"]
        for e in (early, late):
            finite = e.replicates[np.isfinite(e.replicates)]
            assert ((finite >= 0) & (finite <= 1)).all()
        both = np.isfinite(early.replicates) & np.isfinite(late.replicates)
        assert (early.replicates[both] <= late.replicates[both] + 1e-12).all()
        both = np.isfinite(early.point) & np.isfinite(late.point)  # NaN: the finished samples do not show the digit
        assert (early.point[both] <= late.point[both] + 1e-12).all()
    curve = result.curves["xt"].point
    assert curve.shape == (10, len(result.timesteps) + 1) and ((curve >= 0) & (curve <= 1)).all()
    j = result.informedness["xt"].point  # accuracy minus a false-alarm rate: within [-1, accuracy]
    assert j.shape == curve.shape and ((j >= -1) & (j <= curve + 1e-12)).all()


def test_forward_accuracy_starts_high_and_the_chance_point_is_a_fraction(analysed) -> None:  # noqa: ANN001
    f = analysed[0].forward
    assert f.timesteps[0] == 0 and f.accuracy.point[-1, 0] > 0.9  # the classifier on clean test digits
    assert (np.diff(f.noise_std) > 0).all()
    chance = f.at_chance.point[-1]
    assert math.isnan(chance) or 0 <= chance <= 1


def test_a_rerun_reuses_every_measure(analysed) -> None:  # noqa: ANN001
    result, _ = analysed
    measures = sorted((result.cfg.out_dir() / "measures").glob("*.pt"))
    before = [p.stat().st_mtime_ns for p in measures]
    again = run_difficulty(result.cfg, progress=False)
    assert [p.stat().st_mtime_ns for p in measures] == before
    np.testing.assert_allclose(again.estimates["class_acc"].point, result.estimates["class_acc"].point)


def test_bad_settings_are_named() -> None:
    with pytest.raises(ConfigError, match="distinct"):
        DifficultyConfig(seeds=(0, 0))
    with pytest.raises(ConfigError, match="increasing"):
        DifficultyConfig(thresholds=(0.9, 0.5))
    with pytest.raises(ConfigError, match="must be >= 5"):
        DifficultyConfig(samples_per_class=2)
    with pytest.raises(ConfigError, match="rank-by diversity: not a per-digit difficulty; valid: class_acc"):
        DifficultyConfig(rank_by="diversity")


def test_cli_rejects_a_bad_list_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["difficulty", "--seeds", "a,b"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "comma-separated list of ints" in err


def test_first_reach_golden_values() -> None:
    fractions = step_fractions(4)
    curves = np.array([[1.0, 0.2, 0.5, 0.9, 1.0],  # starts high (noise called this digit), dips, recovers
                       [0.0, 0.0, 0.0, 0.5, 1.0],
                       [1.0, 1.0, 1.0, 1.0, 1.0]])
    np.testing.assert_allclose(first_reach(curves, fractions, 0.9 * curves[:, -1]), [0.75, 0.95, 0.0])


def test_a_digit_the_finished_samples_do_not_show_is_never_recognised() -> None:
    fractions = step_fractions(2)
    curves = np.array([[0.0, 0.5, 1.0], [0.3, 0.1, 0.0], [0.2, 0.1, -0.1]])
    np.testing.assert_allclose(first_reach(curves, fractions, relative_levels(curves, 0.9)), [0.9, np.nan, np.nan])


def test_recognition_golden_values_on_known_trajectories() -> None:
    labels = torch.arange(10).repeat_interleave(6)  # (60,)
    switch = 1 + labels % 3  # digit d is called d from step 1 + d % 3 on, called 8 (as noise is) before
    steps = torch.arange(5)[:, None]  # 4 sampler steps and the finished sample
    on = torch.where(steps >= switch[None], labels[None], torch.full_like(labels, 8)[None])  # (5, 60)
    measures = [{"labels": labels, "on_xt": on, "on_x0": on} for _ in range(2)]
    _, informedness, reached = recognition_estimates(measures, Resampler(2, 20), (0.5, 0.9))
    expected_90 = (switch[::6].double() - 1 + 0.9).numpy() / 4  # J jumps 0 -> 1 within the step before the switch
    expected_90[8] = (2 + 0.55) / 4  # 8's J (hits 1, false alarms 1 - share switched): 0, 4/9, 7/9, 1, 1
    np.testing.assert_allclose(informedness["xt"].point[8], [0, 4 / 9, 7 / 9, 1, 1])
    np.testing.assert_allclose(reached["recognised_xt_90"].point, expected_90)
    np.testing.assert_allclose(reached["recognised_x0_50"].point[:3], [0.125, 0.375, 0.625])
    assert np.allclose(reached["recognised_xt_90"].replicates, expected_90[:, None])  # every sample alike


def test_informedness_is_zero_where_every_image_is_called_one_digit() -> None:
    labels = np.repeat(np.arange(10), 4)  # (40,) 4 samples per digit
    noise = np.full(40, 8)  # step 0: everything called 8, as the reference classifier calls pure noise
    finished = labels.copy()
    finished[0] = 3  # one 0 read as a 3
    (hit, hit_reps), (alarm, alarm_reps) = called_rates(np.stack([noise, finished], 1), labels, range(10),
                                                        Resampler(1, 50))
    assert hit[8, 0] == 1 and alarm[8, 0] == 1 and (hit[:, 0] - alarm[:, 0] == 0).all()
    golden = np.ones(10)
    golden[0], golden[3] = 0.75, 1 - 1 / 36  # a 0 missed; 1 of the 36 other digits called 3
    np.testing.assert_allclose(hit[:, 1] - alarm[:, 1], golden)
    assert hit_reps.shape == (10, 2, 50) and (hit_reps[:, 0] - alarm_reps[:, 0] == 0).all()  # class sizes kept


def test_pairwise_statistic_never_pairs_a_sample_with_its_copy() -> None:
    rng = np.random.default_rng(0)
    points = rng.normal(size=(6, 3))
    distances = np.linalg.norm(points[:, None] - points[None], axis=-1)
    point, replicate = pairwise_mean_statistic(distances)
    np.testing.assert_allclose(replicate(np.ones((1, 6))), [point])
    twice_first = np.array([[2.0, 0, 1, 1, 1, 1]])  # sample 0 drawn twice, 1 not at all
    keep = [0, 2, 3, 4, 5]
    expected = distances[np.ix_(keep, keep)].sum() / (5 * 4)
    weights_sum = np.einsum("ri,ij,rj->r", twice_first, distances, twice_first) / (36 - 8)
    np.testing.assert_allclose(replicate(twice_first), weights_sum)
    assert replicate(twice_first)[0] > expected * 0.5  # no spurious zero pairs pulling it towards 0


def test_significant_pairs_and_contrasts() -> None:
    r = Resampler(3, replicates=500)
    rng = np.random.default_rng(1)
    spread = Estimate(np.arange(10) / 10.0, np.arange(10)[:, None] / 10.0 + rng.normal(0, 0.01, (10, 500)))
    pairs = significant_pairs(spread)
    assert (9, 0, pairs[0][2]) in pairs and all(a > b for a, b, _ in pairs)
    flat = Estimate(np.zeros(10), rng.normal(0, 0.1, (10, 500)))
    assert significant_pairs(flat) == []
    effect, low, high = contrast(spread, [8, 9], list(range(8)))
    assert low <= effect <= high and low > 0
    assert r.seed_draw.shape == (500, 3)
