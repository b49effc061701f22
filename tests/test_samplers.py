import numpy as np
import pytest
import torch
from samplingnets import AffineNet, T, setup, tiny_unet
from torch import Tensor

from harness.config import DiffusionConfig
from harness.core import SAMPLERS, Denoiser, Diffusion, Step
from harness.runs import generate, guided_denoiser

VP_SAMPLERS = Diffusion(DiffusionConfig()).samplers
VP_SPACINGS = Diffusion(DiffusionConfig()).spacings


@torch.no_grad()
def run(name: str, steps: int, eta: float, seed: int = 1, trajectory: list[Step] | None = None) -> Tensor:
    diffusion, x, labels = setup()
    denoise = guided_denoiser(AffineNet().double(), diffusion, labels, guidance=1.0, clip_x0=False)
    levels = diffusion.levels("uniform", steps)
    return SAMPLERS.get(name)(denoise, x, levels, torch.Generator().manual_seed(seed), eta, trajectory)


def reference_ddpm(seed: int = 1) -> np.ndarray:
    """Ho et al. 2020, Algorithm 2, in its own form: x <- (x - beta/sqrt(1-ab) eps) / sqrt(alpha) + sigma z."""
    diffusion, x, labels = setup()
    betas, ab = diffusion.betas.numpy(), diffusion.alpha_bar.numpy()
    x, g = x.numpy(), torch.Generator().manual_seed(seed)
    for t in range(T - 1, -1, -1):
        eps = 0.25 * x + 0.0625 * t / T + 0.015625 * labels.numpy().reshape(-1, 1, 1, 1)
        x = (x - betas[t] / np.sqrt(1 - ab[t]) * eps) / np.sqrt(1 - betas[t])
        if t > 0:
            sigma2 = betas[t] * (1 - ab[t - 1]) / (1 - ab[t])
            x = x + np.sqrt(sigma2) * torch.randn(x.shape, generator=g, dtype=torch.float64).numpy()
    return x


def reference_ddim(steps: int) -> np.ndarray:
    """Song et al. 2021, eq. 12 with eta = 0, written out step by step."""
    diffusion, x, labels = setup()
    ab, x = diffusion.alpha_bar.numpy(), x.numpy()
    ts = diffusion.levels("uniform", steps).t.tolist()
    for i, t in enumerate(ts):
        prev = ab[ts[i + 1]] if i + 1 < len(ts) else 1.0
        eps = 0.25 * x + 0.0625 * t / T + 0.015625 * labels.numpy().reshape(-1, 1, 1, 1)
        x0 = (x - np.sqrt(1 - ab[t]) * eps) / np.sqrt(ab[t])
        x = np.sqrt(prev) * x0 + np.sqrt(1 - prev) * eps
    return x


def test_ddpm_matches_algorithm_2() -> None:
    np.testing.assert_allclose(run("ddpm", T, 0.0).numpy(), reference_ddpm(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("steps", [1, 5, T])
def test_ddim_matches_eq_12(steps: int) -> None:
    np.testing.assert_allclose(run("ddim", steps, 0.0).numpy(), reference_ddim(steps), rtol=1e-9, atol=1e-9)


def test_ddim_with_eta_1_is_ddpm() -> None:
    """DDIM's eta = 1 is the DDPM posterior (Song et al. 2021, sec. 4.1): same draws, same samples."""
    torch.testing.assert_close(run("ddim", 7, 1.0), run("ddpm", 7, 0.0))


def tiny_unet_samples(sampler: str) -> Tensor:
    model, cfg = tiny_unet(sampler)
    images = generate(model, Diffusion(cfg.diffusion), cfg.sample, torch.tensor([1, 7]), 28, torch.Generator().manual_seed(0))
    return torch.stack([images.mean(dim=(1, 2, 3)), images.std(dim=(1, 2, 3))])


# Recorded from this implementation (torch 2.15, CPU): a change means the U-Net, guidance or a sampler
# changed behaviour. The hand-checkable references above say which; these say that something did.
GOLDEN = {"ddim": [[-0.00653, -0.02865], [0.77936, 0.78043]], "ddpm": [[-0.05853, -0.0725], [0.76865, 0.74901]],
          "dpmpp_2m": [[-0.00652, -0.02864], [0.77935, 0.78046]]}  # [means, stds]


@pytest.mark.parametrize("sampler", VP_SAMPLERS)
def test_golden_values_on_a_tiny_fixed_unet(sampler: str) -> None:
    np.testing.assert_allclose(tiny_unet_samples(sampler).numpy(), GOLDEN[sampler], atol=1e-4)


@pytest.mark.parametrize("name", VP_SAMPLERS)
@pytest.mark.parametrize("steps", [1, 4, T])
def test_every_sampler_returns_a_perfectly_denoised_point_mass(name: str, steps: int) -> None:
    """If the data is one image x*, the ideal denoiser says x0 = x*; every sampler must end there."""
    diffusion, x, _ = setup()
    target = torch.full_like(x, 0.25)

    def oracle(x_t: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        a, s = diffusion.coefficients(t, x_t)
        return target, (x_t - a * target) / s

    out = SAMPLERS.get(name)(oracle, x, diffusion.levels("uniform", steps), torch.Generator().manual_seed(0), 0.5, None)
    torch.testing.assert_close(out, target)


@pytest.mark.parametrize("name", VP_SAMPLERS)
def test_every_sampler_is_deterministic_under_a_generator_and_records_its_trajectory(name: str) -> None:
    trajectory: list[Step] = []
    a = run(name, 6, 0.5, seed=3, trajectory=trajectory)
    torch.testing.assert_close(a, run(name, 6, 0.5, seed=3))
    assert [s.t for s in trajectory] == setup()[0].levels("uniform", 6).t.tolist()
    assert all(s.x_t.shape == s.x0.shape == a.shape for s in trajectory)


@pytest.mark.parametrize("name", VP_SPACINGS)
@pytest.mark.parametrize("T_, steps", [(1000, 50), (1000, 1000), (100, 7), (20, 20), (10, 1)])
def test_every_spacing_is_strictly_descending_within_range(name: str, T_: int, steps: int) -> None:
    ts = Diffusion(DiffusionConfig(timesteps=T_)).levels(name, steps).t
    assert len(ts) == steps and ts.dtype == torch.long
    assert int(ts.min()) >= 0 and int(ts.max()) <= T_ - 1
    assert bool((ts[1:] < ts[:-1]).all())


def gaussian_denoiser(alpha_bar: Tensor, mu: float = 0.5, s: float = 0.3) -> Denoiser:
    """The exact E[x0 | x_t] for data x0 ~ N(mu, s^2): an ideal network, so only the solver errs."""
    def denoise(x: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        a = alpha_bar[t].view(-1, 1, 1, 1).to(x.dtype)
        x0 = mu + a.sqrt() * s**2 / (a * s**2 + 1 - a) * (x - a.sqrt() * mu)
        return x0, (x - a.sqrt() * x0) / (1 - a).sqrt()
    return denoise


def test_dpmpp_2m_follows_the_probability_flow_ode_closer_than_ddim_and_converges_faster() -> None:
    alpha_bar = Diffusion(DiffusionConfig(timesteps=1000)).alpha_bar
    denoise, g = gaussian_denoiser(alpha_bar), torch.Generator()
    x = torch.randn((64, 1, 2, 2), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    diffusion = Diffusion(DiffusionConfig(timesteps=1000))
    exact = SAMPLERS.get("ddim")(denoise, x, diffusion.levels("uniform", 1000), g, 0.0, None)

    def error(sampler: str, spacing: str, steps: int) -> float:
        out = SAMPLERS.get(sampler)(denoise, x, diffusion.levels(spacing, steps), g, 0.0, None)
        return float((out - exact).abs().max())

    for steps in (10, 20, 40):
        assert error("dpmpp_2m", "quadratic", steps) < 0.6 * error("ddim", "quadratic", steps)
    assert error("dpmpp_2m", "uniform", 20) / error("dpmpp_2m", "uniform", 40) > 3  # DDIM's ratio is 2 (first order)
