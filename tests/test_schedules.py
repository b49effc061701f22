import pytest
import torch

from harness.core import SCHEDULES

BETA_RANGE = (1e-4, 0.02)


@pytest.mark.parametrize("name", SCHEDULES.names())
@pytest.mark.parametrize("T", [10, 100, 300, 1000])
def test_every_schedule_gives_valid_betas_and_decreasing_alpha_bar(name: str, T: int) -> None:
    betas = SCHEDULES.get(name)(T, *BETA_RANGE)
    assert betas.shape == (T,) and betas.dtype == torch.float64
    assert bool((betas > 0).all()) and bool((betas < 1).all())
    alpha_bar = torch.cumprod(1 - betas, 0)
    assert bool((alpha_bar[1:] < alpha_bar[:-1]).all())
    assert alpha_bar[0] > 0.95  # t = 1 keeps almost all of the signal


@pytest.mark.parametrize("name", ["linear_scaled", "cosine"])
@pytest.mark.parametrize("T", [100, 1000])
def test_t_aware_schedules_end_near_pure_noise_at_any_T(name: str, T: int) -> None:
    alpha_bar = torch.cumprod(1 - SCHEDULES.get(name)(T, *BETA_RANGE), 0)
    assert alpha_bar[-1].sqrt() < 0.01


def test_linear_at_T100_leaves_sixty_percent_of_the_signal() -> None:
    """Why report 002/003 saw blobs at T=100: sqrt(alpha_bar_T) is about 0.6, far from pure noise.

    By hand: sum(beta) = 1.005, sum(beta^2)/2 = 0.0067, alpha_bar_T ~ exp(-1.0117), sqrt = 0.603.
    """
    alpha_bar = torch.cumprod(1 - SCHEDULES.get("linear")(100, *BETA_RANGE), 0)
    assert alpha_bar[-1].sqrt().item() == pytest.approx(0.603, abs=1e-3)


# Golden values: betas at t = 1, 500 and 1000 for T = 1000, worked out by hand from each formula
# (e.g. sigmoid: sigmoid(-6) * 0.0199 + 1e-4 = 1.49205e-4; cosine at t=500: 1 - exp(-2 tan(a) da)).
GOLDEN = {
    "linear": (1.0e-4, 1.004004e-2, 2.0e-2),
    "linear_scaled": (1.0e-4, 1.004004e-2, 2.0e-2),
    "quadratic": (1.0e-4, 5.7222e-3, 2.0e-2),
    "sigmoid": (1.49205e-4, 1.002012e-2, 1.99508e-2),
    "cosine": (4.128e-5, 3.1456e-3, 0.999),
}


@pytest.mark.parametrize("name", SCHEDULES.names())
def test_golden_values(name: str) -> None:
    betas = SCHEDULES.get(name)(1000, *BETA_RANGE)
    got = (betas[0].item(), betas[499].item(), betas[-1].item())
    assert got == pytest.approx(GOLDEN[name], rel=1e-3)
