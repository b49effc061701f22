import pytest
import torch

from harness.config import DiffusionConfig
from harness.diffusion import PREDICTIONS, Diffusion


@pytest.mark.parametrize("name", PREDICTIONS.names())
def test_prediction_target_maps_back_to_x0_and_eps(name: str) -> None:
    """A perfect network output recovers the x0 and eps that made x_t, for every parametrisation."""
    d = Diffusion(DiffusionConfig(prediction=name))
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.rand(8, 1, 28, 28, generator=g) * 2 - 1, torch.randn(8, 1, 28, 28, generator=g)
    t = torch.tensor([0, 1, 10, 100, 500, 900, 998, 999])
    a, s = d.coefficients(t, x0)
    x_t = d.q_sample(x0, t, eps)
    got_x0, got_eps = d.prediction.to_x0_eps(d.prediction.target(x0, eps, a, s), x_t, a, s)
    torch.testing.assert_close(got_x0, x0, atol=2e-3, rtol=0)
    torch.testing.assert_close(got_eps, eps, atol=2e-3, rtol=0)
    assert float(d.loss_terms(d.prediction.target(x0, eps, a, s), x0, t, eps).max()) < 1e-10


def test_q_sample_matches_eq4_moments() -> None:
    d = Diffusion(DiffusionConfig())
    x0 = torch.full((20_000, 1, 1, 1), 0.5)
    t = torch.full((20_000,), 300)
    x_t = d.q_sample(x0, t, torch.randn(x0.shape, generator=torch.Generator().manual_seed(1)))
    ab = d.alpha_bar[300].item()
    assert x_t.mean().item() == pytest.approx(ab**0.5 * 0.5, abs=0.02)
    assert x_t.var().item() == pytest.approx(1 - ab, rel=0.05)


def test_terminal_signal_reports_what_is_left_at_T() -> None:
    assert Diffusion(DiffusionConfig(timesteps=100)).terminal_signal == pytest.approx(0.603, abs=1e-3)
    assert Diffusion(DiffusionConfig(timesteps=1000)).terminal_signal < 0.01
