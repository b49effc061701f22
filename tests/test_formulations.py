"""Every formulation, loss weighting, noise sampling and ODE sampler against closed forms: Gaussian data, whose
ideal denoiser is known exactly (Karras et al. 2022, app. B.3), and the point mass."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from torch import Tensor

from harness._util import ConfigError
from harness.analyses.difficulty._recognition import noised_predictions
from harness.config import DiffusionConfig, TrainConfig, config_hash, resolve_config
from harness.core import FORMULATIONS, LOSS_WEIGHTINGS, SAMPLERS, Denoiser, Diffusion, Objective
from harness.runs import build_model, generate, network_passes

MU, SD = 0.3, 0.4  # the Gaussian data x0 ~ N(MU, SD^2) of the exactness tests
FORMS = FORMULATIONS.names()
BEST = {"vp": ("ddim", "uniform"), "edm": ("heun", "karras"), "flow": ("heun", "uniform")}  # sampler, spacing


def diffusion(name: str) -> Diffusion:
    return Diffusion(DiffusionConfig(formulation=name))


def training_times(d: Diffusion, n: int, seed: int = 0) -> Tensor:
    return d.times(n, torch.Generator().manual_seed(seed))


def ideal(d: Diffusion) -> Denoiser:
    """E[x0 | x_t] and E[eps | x_t] for x0 ~ N(MU, SD^2): the best any network can do."""
    def denoise(x: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        a, s = d.coefficients(t, x)
        x0 = MU + a * SD**2 / (a**2 * SD**2 + s**2) * (x - a * MU)
        return x0, (x - a * x0) / s
    return denoise


@pytest.mark.parametrize("name", FORMS)
def test_the_target_maps_back_to_x0_and_eps(name: str) -> None:
    """A perfect network output recovers the x0 and eps that made x_t, in every formulation."""
    d, g = diffusion(name), torch.Generator().manual_seed(0)
    x0, eps = torch.rand(64, 1, 4, 4, generator=g) * 2 - 1, torch.randn(64, 1, 4, 4, generator=g)
    t = training_times(d, 64)
    x_t = d.q_sample(x0, t, eps)
    got_x0, got_eps = d.to_x0_eps(d.target(x0, eps, t), x_t, t)
    torch.testing.assert_close(got_x0, x0, atol=2e-3, rtol=0)
    torch.testing.assert_close(got_eps, eps, atol=5e-3, rtol=0)


@pytest.mark.parametrize("name", FORMS)
def test_the_loss_minimiser_is_the_exact_denoiser_on_gaussian_data(name: str) -> None:
    """The MSE-optimal output is E[target | x_t], linear in x_t for Gaussian data: fitted by least squares over a
    million draws at each of four noise levels, it must denoise to the closed-form E[x0 | x_t]."""
    d, g = diffusion(name), torch.Generator().manual_seed(1)
    levels = d.levels(BEST[name][1], 6).t[1:5]
    for level in levels:
        n = 1_000_000
        t = level.expand(n)
        x0 = (MU + SD * torch.randn(n, 1, 1, 1, generator=g, dtype=torch.float64))
        eps = torch.randn(n, 1, 1, 1, generator=g, dtype=torch.float64)
        x_t = d.q_sample(x0, t, eps)
        target = d.target(x0, eps, t).double()
        design = torch.stack([torch.ones(n, dtype=torch.float64), x_t.flatten()], 1)  # (N, 2)
        coef = torch.linalg.lstsq(design, target.flatten()[:, None]).solution  # E[target | x_t] = c0 + c1 x_t
        probe = torch.linspace(-2, 2, 9, dtype=torch.float64).view(-1, 1, 1, 1) * float(d.coefficients(t[:1], x_t)[1])
        fitted = (coef[0] + coef[1] * probe.flatten()).view_as(probe)
        x0_hat, _ = d.to_x0_eps(fitted, probe, t[:9])
        exact, _ = ideal(d)(probe, t[:9])
        torch.testing.assert_close(x0_hat, exact, atol=0.01, rtol=0)


def ode_error(name: str, sampler: str, steps: int) -> float:
    """Max |sample - exact| over 256 starting points: for Gaussian data the probability-flow ODE keeps each
    point's standard score z, so it ends exactly at MU + SD z."""
    d = diffusion(name)
    levels = d.levels(BEST[name][1], steps)
    x = levels.scale[0] * torch.randn(256, 1, 1, 1, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    a, s = d.coefficients(levels.t[:1], x)
    z = (x - a * MU) / (a**2 * SD**2 + s**2).sqrt()
    out = SAMPLERS.get(sampler)(ideal(d), x, levels, torch.Generator(), 0.0, None)
    return float((out - (MU + SD * z)).abs().max())


@pytest.mark.parametrize("name", ["edm", "flow"])
@pytest.mark.parametrize("sampler, order", [("euler", 1), ("heun", 2)])
def test_ode_samplers_converge_to_the_exact_distribution_at_their_order(name: str, sampler: str, order: int) -> None:
    errors = [ode_error(name, sampler, steps) for steps in (16, 32, 64, 128)]
    ratios = [a / b for a, b in zip(errors, errors[1:])]
    # halving the step divides a p-th order solver's error by about 2^p
    assert all(2**order * 0.8 < r < 2**order * 1.5 for r in ratios), (errors, ratios)


@pytest.mark.parametrize("name", ["edm", "flow"])
def test_ddim_is_euler_and_dpmpp_2m_converges_under_the_continuous_formulations(name: str) -> None:
    """DDIM is the Euler step of the ODE in sigma = s/a (Karras et al. 2022, sec. 4), and flow's linear path is
    that ODE's, so the two samplers agree; DPM-Solver++ runs through the same variance-preserving view."""
    for steps in (3, 10):
        assert ode_error(name, "ddim", steps) == pytest.approx(ode_error(name, "euler", steps), rel=1e-9)
    assert ode_error(name, "dpmpp_2m", 64) < 0.01 < ode_error(name, "dpmpp_2m", 8)


@pytest.mark.parametrize("name", FORMS)
def test_every_sampler_of_every_formulation_returns_a_perfectly_denoised_point_mass(name: str) -> None:
    """If the data is one image x*, the ideal denoiser says x0 = x*; every sampler, stochastic ones included,
    must end there."""
    d = diffusion(name)
    target = torch.full((4, 1, 2, 2), 0.25, dtype=torch.float64)

    def oracle(x_t: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        a, s = d.coefficients(t, x_t)
        return target, (x_t - a * target) / s

    for sampler in d.samplers:
        for steps in (1, 4, 9):
            levels = d.levels(d.spacings[0], steps)
            x = levels.scale[0] * torch.randn(target.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
            out = SAMPLERS.get(sampler)(oracle, x, levels, torch.Generator().manual_seed(0), 0.5, None)
            torch.testing.assert_close(out, target, msg=f"{sampler}, {steps} levels")


@pytest.mark.parametrize("name", ["edm", "flow"])
def test_churn_is_stochastic_and_reproducible_and_zero_churn_is_the_ode(name: str) -> None:
    d = diffusion(name)
    levels = d.levels(BEST[name][1], 6)
    x = levels.scale[0] * torch.randn(8, 1, 1, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    run = lambda churn, seed: SAMPLERS.get("heun")(ideal(d), x, levels, torch.Generator().manual_seed(seed), churn, None)
    torch.testing.assert_close(run(0.0, 1), run(0.0, 2))
    torch.testing.assert_close(run(10.0, 1), run(10.0, 1))
    assert not torch.allclose(run(10.0, 1), run(10.0, 2))


def test_min_snr_and_edm_weightings_match_their_papers() -> None:
    """Hang et al. 2023 sec. 3.4: min(SNR, gamma)/SNR on eps, min(SNR, gamma)/(SNR + 1) on v; Karras et al. 2022:
    lambda(sigma) c_out(sigma)^2 = 1, so the edm weighting leaves edm's own loss unweighted."""
    t = torch.tensor([0, 100, 300, 600, 999])
    for prediction, denominator in (("eps", lambda snr: snr), ("v", lambda snr: snr + 1), ("x0", lambda snr: 1.0)):
        d = Diffusion(DiffusionConfig(prediction=prediction))
        snr = d.alpha_bar[t] / (1 - d.alpha_bar[t])
        got = Objective(d, TrainConfig(loss_weighting="min_snr", min_snr_gamma=5.0)).weights(t)
        torch.testing.assert_close(got.double(), snr.clamp(max=5.0) / denominator(snr), rtol=1e-6, atol=0)
    edm = diffusion("edm")
    sigma = torch.tensor([0.002, 0.1, 0.5, 3.0, 80.0], dtype=torch.float64)
    torch.testing.assert_close(Objective(edm, TrainConfig(loss_weighting="edm")).weights(sigma).double(),
                               torch.ones(5, dtype=torch.float64), rtol=1e-6, atol=0)
    assert Objective(edm, TrainConfig()).weights(sigma) is None  # uniform: no multiplier at all


@pytest.mark.parametrize("name", FORMS)
@pytest.mark.parametrize("weighting", LOSS_WEIGHTINGS.names())
def test_every_weighting_is_finite_at_the_ends_of_every_formulation(name: str, weighting: str) -> None:
    d = diffusion(name)
    ends = d.time_range()
    t = torch.tensor([ends.lo, ends.hi], dtype=torch.long if not d.continuous else torch.float64)
    if name == "flow":
        t = torch.tensor([0.0, 1.0], dtype=torch.float64)  # SNR infinite and zero
    w = Objective(d, TrainConfig(loss_weighting=weighting)).weights(t)
    assert w is None or bool(torch.isfinite(w).all() and (w >= 0).all()), w


def test_noise_samplings_follow_their_papers_distributions() -> None:
    g = torch.Generator().manual_seed(0)
    sigma = Objective(diffusion("edm"), TrainConfig(noise_sampling="lognormal")).draw(200_000, g)
    assert float(sigma.log().mean()) == pytest.approx(-1.2, abs=0.01)
    assert float(sigma.log().std()) == pytest.approx(1.2, abs=0.01)
    t = Objective(diffusion("flow"), TrainConfig(noise_sampling="logit_normal", logit_mean=0.5)).draw(200_000, g)
    logit = (t / (1 - t)).log()
    assert float(logit.mean()) == pytest.approx(0.5, abs=0.01) and float(logit.std()) == pytest.approx(1.0, abs=0.01)
    log_sigma = Objective(diffusion("edm"), TrainConfig()).draw(200_000, g).log()  # uniform: ln sigma uniform
    assert float(log_sigma.min()) >= math.log(0.002) and float(log_sigma.max()) <= math.log(80.0)
    assert float(log_sigma.mean()) == pytest.approx((math.log(0.002) + math.log(80.0)) / 2, abs=0.02)


def combinations() -> list[tuple[str, str, str]]:
    return [(f, w, n) for f in FORMS for w in LOSS_WEIGHTINGS.names() for n in FORMULATIONS.get(f).noise_samplings]


@pytest.mark.parametrize("form, weighting, sampling", combinations())
def test_every_valid_combination_trains_forward_and_backward(form: str, weighting: str, sampling: str) -> None:
    cfg = resolve_config("baseline", "smoke", ["model.channels=[8, 16]", "model.embed_dim=16",
                                               f"diffusion.formulation={form}", f"train.loss_weighting={weighting}",
                                               f"train.noise_sampling={sampling}",
                                               f"sample.sampler={BEST[form][0]}", f"sample.spacing={BEST[form][1]}"])
    model = build_model(cfg)
    objective = Objective(Diffusion(cfg.diffusion), cfg.train)
    g = torch.Generator().manual_seed(0)
    x0, y = torch.rand(8, 1, 28, 28, generator=g) * 2 - 1, torch.arange(8)
    t = objective.draw(8, g)
    loss = objective.loss(model, x0, t, torch.randn(x0.shape, generator=g), y)
    loss.backward()
    assert math.isfinite(float(loss.detach()))
    assert all(p.grad is not None and bool(torch.isfinite(p.grad).all()) for p in model.parameters() if p.requires_grad)


def tiny_samples(form: str) -> np.ndarray:
    cfg = resolve_config("baseline_v1", "smoke", ["model.channels=[8, 16]", "model.embed_dim=16", "sample.steps=6",
                                                  f"diffusion.formulation={form}", f"sample.sampler={BEST[form][0]}",
                                                  f"sample.spacing={BEST[form][1]}", "sample.guidance=2"])
    model = build_model(cfg)
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.2, generator=torch.Generator().manual_seed(p.numel()))
    images = generate(model, Diffusion(cfg.diffusion), cfg.sample, torch.tensor([1, 7]), 28,
                      torch.Generator().manual_seed(0))
    return torch.stack([images.mean(dim=(1, 2, 3)), images.std(dim=(1, 2, 3))]).numpy()


# Recorded from this implementation (torch 2.x, CPU): a change means a formulation, its preconditioning or its
# sampler changed behaviour; the closed-form tests above say which part is right.
GOLDEN = {"vp": [[-0.02922, -0.05768], [0.99779, 0.99588]], "edm": [[0.10797, 0.08367], [0.66659, 0.67774]],
          "flow": [[-0.03029, -0.0537], [0.71892, 0.72022]]}  # [means, stds] of two guided samples


@pytest.mark.parametrize("form", FORMS)
def test_golden_values_on_a_tiny_fixed_unet(form: str) -> None:
    np.testing.assert_allclose(tiny_samples(form), GOLDEN[form], atol=1e-4)


@pytest.mark.parametrize("overrides, message", [
    (["sample.sampler=euler"], "sample.sampler must be one of ddim, ddpm, dpmpp_2m under diffusion.formulation=vp"),
    (["diffusion.formulation=flow", "sample.spacing=karras"], "sample.spacing must be one of uniform under "
                                                              "diffusion.formulation=flow"),
    (["train.noise_sampling=logit_normal"], "train.noise_sampling must be one of uniform under diffusion.formulation=vp"),
    (["diffusion.formulation=edm", "sample.spacing=karras", "train.noise_sampling=logit_normal"],
     "train.noise_sampling must be one of uniform, lognormal under diffusion.formulation=edm"),
    (["diffusion.formulation=flow", "model.time_embedding=learned"], "model.time_embedding must be sinusoidal or none"),
    (["train.loss_weighting=minsnr"], "did you mean 'min_snr'"),
    (["train.noise_sampling=lognorm"], "did you mean 'lognormal'"),
    (["diffusion.formulation=edm", "diffusion.sigma_min=90"], "must satisfy 0 < sigma_min < sigma_max"),
])
def test_combinations_a_formulation_cannot_use_are_refused_naming_the_valid_ones(overrides: list[str],
                                                                                  message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        resolve_config("baseline_v2", "smoke", overrides)


@pytest.mark.parametrize("form", ["edm", "flow"])
def test_vps_prediction_target_is_unused_by_the_continuous_formulations(form: str) -> None:
    """edm and flow fix their own network output, as they fix their own noise levels: the baseline's v prediction
    (like its cosine schedule) carries over to them unused, so a study can vary the formulation around it."""
    x0, eps, t = torch.randn(4, 1, 8, 8), torch.randn(4, 1, 8, 8), torch.tensor([0.1, 0.3, 0.6, 0.9])
    made = [Diffusion(DiffusionConfig(formulation=form, prediction=p, schedule=s))
            for p, s in (("eps", "linear"), ("v", "cosine"), ("x0", "sigmoid"))]
    times = made[0].time_at(t)
    for d in made[1:]:
        torch.testing.assert_close(d.q_sample(x0, times, eps), made[0].q_sample(x0, times, eps))
        torch.testing.assert_close(d.target(x0, eps, times), made[0].target(x0, eps, times))


def test_new_fields_at_their_defaults_leave_every_existing_hash_alone() -> None:
    """A config that does not touch the formulation fields hashes as before they existed (tests/test_config.py pins
    the values); setting one changes the hash."""
    base = resolve_config("baseline", "quick")
    assert config_hash(base) != config_hash(resolve_config("baseline", "quick", ["train.loss_weighting=min_snr"]))
    assert config_hash(base) != config_hash(resolve_config("edm", "quick"))


@pytest.mark.parametrize("name", FORMS)
def test_the_forward_analysis_noises_real_digits_in_every_formulation(name: str) -> None:
    """The difficulty analysis's forward direction: levels from the least to the most noise, the images it shows
    the classifier in the variance-preserving view (pure noise at the end: unit variance, no digit left)."""
    d = diffusion(name)
    times = d.forward_grid(11)
    fractions = [d.fraction(t) for t in times]
    assert fractions == sorted(fractions) and fractions[0] == pytest.approx(0, abs=1e-3)
    assert fractions[-1] == pytest.approx(1, abs=2e-3)  # vp: (T - 1) / T
    alpha_bar, _ = d.variance_preserving(torch.tensor(times))
    assert float(alpha_bar[0]) > 0.99 and float(alpha_bar[-1]) < 0.02
    seen: list[Tensor] = []
    images = torch.full((64, 1, 28, 28), 0.5)
    noised_predictions(lambda x: seen.append(x) or torch.zeros(len(x), dtype=torch.long), images, d, times,
                       torch.Generator().manual_seed(0))
    assert len(seen) == len(times)
    last = seen[-1].float() / 127.5 - 1  # uint8 back to [-1, 1]: N(0, 1) clipped, mean 0 whatever the digit
    assert abs(float(last.mean())) < 0.05 and float(seen[0].float().mean()) == pytest.approx(191, abs=3)


def test_guidance_and_its_interval_count_the_evaluations_of_every_formulation() -> None:
    """Heun over 10 flow levels (t = 1.0, 0.9, ..., 0.1) evaluates 19 times; guided at t <= 0.55, levels
    0.5..0.1 run two passes at both of their evaluations: 19 + 10 passes per sample."""
    cfg = resolve_config("flow", "smoke", ["sample.steps=10", "sample.guidance=3",
                                           "sample.guidance_interval=[0, 0.55]"])
    d = Diffusion(cfg.diffusion)
    assert network_passes(cfg.sample, d) == 29
    assert network_passes(cfg.sample, d, conditional=False) == 19
    edm = resolve_config("edm", "smoke", ["sample.steps=6", "sample.guidance=3"])
    assert network_passes(edm.sample, Diffusion(edm.diffusion)) == 2 * 11
