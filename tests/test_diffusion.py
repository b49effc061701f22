import pytest
import torch

from harness.config import DiffusionConfig
from harness.core import PREDICTIONS, Diffusion


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


@pytest.mark.parametrize("precision", [None, torch.bfloat16])
def test_network_loss_is_loss_terms_of_the_network_on_q_sample_under_autocast(precision: torch.dtype | None) -> None:
    diffusion = Diffusion(DiffusionConfig(timesteps=100))
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(4, 1, 8, 8, generator=g), torch.randn(4, 1, 8, 8, generator=g)
    t, y = torch.tensor([0, 10, 50, 99]), torch.tensor([1, 2, 3, 4])
    seen: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.dtype]] = []

    def network(x_t: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        seen.append((x_t, t, y, (x_t @ x_t.transpose(-1, -2)).dtype))  # a matmul shows autocast's dtype
        return x_t * 0.5

    loss = diffusion.network_loss(network, x0, t, eps, y, precision)
    x_t = diffusion.q_sample(x0, t, eps)
    assert loss.shape == (4,)
    torch.testing.assert_close(loss, diffusion.loss_terms(x_t * 0.5, x0, t, eps))
    (seen_x, seen_t, seen_y, dtype), = seen
    torch.testing.assert_close(seen_x, x_t)
    assert torch.equal(seen_t, t) and torch.equal(seen_y, y) and dtype == (precision or torch.float32)
