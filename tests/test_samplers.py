import re
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from harness import devices
from harness.config import DiffusionConfig, RunConfig, SampleConfig
from harness.devices import native_bf16
from harness.diffusion import Diffusion
from harness.errors import ConfigError, NumericalError
from harness.generate import generate, guided_at, guided_denoiser, network_passes
from harness.samplers import SAMPLERS, SPACINGS, Denoiser, Step

T = 20


class AffineNet(nn.Module):
    """A fixed tiny 'network': out = x / 4 + (t / T) / 16 + y / 64 (exact in binary), checkable by hand."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(0.25))
        self.class_embed = nn.Embedding(11, 1)  # marks the net as conditional for guided_denoiser

    def forward(self, x: Tensor, t: Tensor, y: Tensor) -> Tensor:
        return self.w * x + 0.0625 * (t.to(x.dtype) / T).view(-1, 1, 1, 1) + 0.015625 * y.to(x.dtype).view(-1, 1, 1, 1)


def setup(seed: int = 0) -> tuple[Diffusion, Tensor, Tensor]:
    diffusion = Diffusion(DiffusionConfig(schedule="linear_scaled", timesteps=T))
    x = torch.randn(4, 1, 2, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return diffusion, x, torch.tensor([0, 3, 7, 9])


@torch.no_grad()
def run(name: str, steps: int, eta: float, seed: int = 1, trajectory: list[Step] | None = None) -> Tensor:
    diffusion, x, labels = setup()
    denoise = guided_denoiser(AffineNet().double(), diffusion, labels, guidance=1.0, clip_x0=False)
    ts = SPACINGS.get("uniform")(T, steps)
    return SAMPLERS.get(name)(denoise, x, diffusion.alpha_bar, ts, torch.Generator().manual_seed(seed), eta, trajectory)


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
    ts = SPACINGS.get("uniform")(T, steps).tolist()
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


def tiny_unet(sampler: str = "ddim", *overrides: str) -> tuple[nn.Module, RunConfig]:
    """A fixed, non-trivial 2-level U-Net: every weight drawn from one seed."""
    from harness.checkpoint import build_model
    from harness.presets import resolve_config

    cfg = resolve_config("baseline", "smoke", ["model.channels=[8, 16]", "model.embed_dim=16", "diffusion.timesteps=50",
                                               f"sample.sampler={sampler}", "sample.steps=10", "sample.guidance=3",
                                               *overrides])
    model = build_model(cfg)
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.2, generator=torch.Generator().manual_seed(p.numel()))
    return model, cfg


def tiny_unet_samples(sampler: str) -> Tensor:
    model, cfg = tiny_unet(sampler)
    images = generate(model, Diffusion(cfg.diffusion), cfg.sample, torch.tensor([1, 7]), 28, torch.Generator().manual_seed(0))
    return torch.stack([images.mean(dim=(1, 2, 3)), images.std(dim=(1, 2, 3))])


# Recorded from this implementation (torch 2.15, CPU): a change means the U-Net, guidance or a sampler
# changed behaviour. The hand-checkable references above say which; these say that something did.
GOLDEN = {"ddim": [[-0.00653, -0.02865], [0.77936, 0.78043]], "ddpm": [[-0.05853, -0.0725], [0.76865, 0.74901]],
          "dpmpp_2m": [[-0.00652, -0.02864], [0.77935, 0.78046]]}  # [means, stds]


@pytest.mark.parametrize("sampler", SAMPLERS.names())
def test_golden_values_on_a_tiny_fixed_unet(sampler: str) -> None:
    np.testing.assert_allclose(tiny_unet_samples(sampler).numpy(), GOLDEN[sampler], atol=1e-4)


@pytest.mark.parametrize("name", SAMPLERS.names())
@pytest.mark.parametrize("steps", [1, 4, T])
def test_every_sampler_returns_a_perfectly_denoised_point_mass(name: str, steps: int) -> None:
    """If the data is one image x*, the ideal denoiser says x0 = x*; every sampler must end there."""
    diffusion, x, _ = setup()
    target = torch.full_like(x, 0.25)

    def oracle(x_t: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        a, s = diffusion.coefficients(t, x_t)
        return target, (x_t - a * target) / s

    ts = SPACINGS.get("uniform")(T, steps)
    out = SAMPLERS.get(name)(oracle, x, diffusion.alpha_bar, ts, torch.Generator().manual_seed(0), 0.5, None)
    torch.testing.assert_close(out, target)


@pytest.mark.parametrize("name", SAMPLERS.names())
def test_every_sampler_is_deterministic_under_a_generator_and_records_its_trajectory(name: str) -> None:
    trajectory: list[Step] = []
    a = run(name, 6, 0.5, seed=3, trajectory=trajectory)
    torch.testing.assert_close(a, run(name, 6, 0.5, seed=3))
    assert [s.t for s in trajectory] == SPACINGS.get("uniform")(T, 6).tolist()
    assert all(s.x_t.shape == s.x0.shape == a.shape for s in trajectory)


@pytest.mark.parametrize("name", SPACINGS.names())
@pytest.mark.parametrize("T_, steps", [(1000, 50), (1000, 1000), (100, 7), (20, 20), (10, 1)])
def test_every_spacing_is_strictly_descending_within_range(name: str, T_: int, steps: int) -> None:
    ts = SPACINGS.get(name)(T_, steps)
    assert len(ts) == steps and ts.dtype == torch.long
    assert int(ts.min()) >= 0 and int(ts.max()) <= T_ - 1
    assert bool((ts[1:] < ts[:-1]).all())


def test_guidance_batches_both_passes_into_one_call_and_combines_them() -> None:
    diffusion, x, labels = setup()
    net, calls = AffineNet().double(), []
    net.register_forward_hook(lambda m, inp, out: calls.append(inp[0].shape[0]))
    t = torch.full((4,), 10)
    with torch.no_grad():
        x0_w, eps_w = guided_denoiser(net, diffusion, labels, guidance=3.0, clip_x0=False)(x, t)
        assert calls == [8]
        cond = net(x, t, labels)
        uncond = net(x, t, torch.full_like(labels, 10))
    torch.testing.assert_close(eps_w, uncond + 3.0 * (cond - uncond))


@pytest.mark.parametrize("w, label", [(0.0, 10), (1.0, None)])
def test_guidance_0_is_unconditional_and_1_is_conditional_with_one_pass(w: float, label: int | None) -> None:
    diffusion, x, labels = setup()
    net, calls = AffineNet().double(), []
    net.register_forward_hook(lambda m, inp, out: calls.append(inp[2].tolist()))
    guided_denoiser(net, diffusion, labels, guidance=w)(x, torch.full((4,), 10))
    assert calls == [[label] * 4 if label is not None else labels.tolist()]


def test_a_guidance_interval_guides_inside_it_and_runs_the_conditional_pass_alone_outside() -> None:
    diffusion, x, labels = setup()  # T = 20: the interval [0.25, 0.5] holds t = 5..10
    net, calls = AffineNet().double(), []
    net.register_forward_hook(lambda m, inp, out: calls.append(inp[2].tolist()))
    denoise = guided_denoiser(net, diffusion, labels, guidance=3.0, clip_x0=False, interval=(0.25, 0.5))
    guided, plain = [labels.tolist() + [10] * 4], [labels.tolist()]  # one batched call of both passes, or one pass
    with torch.no_grad():
        for t in (4, 5, 10, 11):
            calls.clear()
            _, eps = denoise(x, torch.full((4,), t))
            assert calls == (guided if t in (5, 10) else plain)
            cond = net(x, torch.full((4,), t), labels)
            uncond = net(x, torch.full((4,), t), torch.full_like(labels, 10))
            torch.testing.assert_close(eps, uncond + 3.0 * (cond - uncond) if t in (5, 10) else cond)


@pytest.mark.parametrize("t, expected", [(0, False), (249, False), (250, True), (600, True), (601, False), (999, False)])
def test_guided_at_is_the_closed_interval_of_t_over_T(t: int, expected: bool) -> None:
    assert guided_at(t, 1000, (0.25, 0.6)) is expected
    assert guided_at(t, 1000, (0.0, 1.0))


@pytest.mark.parametrize("guidance, interval, passes", [(3.0, (0.0, 1.0), 100), (3.0, (0.0, 0.5), 75),
                                                         (3.0, (0.5, 1.0), 75), (1.0, (0.0, 0.5), 50)])
def test_network_passes_count_two_per_guided_step(guidance: float, interval: tuple[float, float], passes: int) -> None:
    # uniform spacing of 50 steps over T = 1000 visits t = 999, 979, ..., 0: 25 of them in each half
    cfg = SampleConfig(steps=50, guidance=guidance, guidance_interval=interval)
    assert network_passes(cfg, 1000) == passes
    assert network_passes(cfg, 1000, conditional=False) == 50


def test_generate_with_a_guidance_interval_calls_the_network_with_one_pass_outside_it() -> None:
    diffusion = Diffusion(DiffusionConfig(timesteps=T))
    net, calls = AffineNet(), []
    net.register_forward_hook(lambda m, inp, out: calls.append(inp[0].shape[0]))
    cfg = SampleConfig(steps=4, batch_size=3, guidance_interval=(0.0, 0.5))  # visits t = 19, 13, 6, 0
    generate(net, diffusion, cfg, torch.arange(3), 2, torch.Generator().manual_seed(0))
    assert calls == [3, 3, 6, 6]
    assert sum(calls) == 3 * network_passes(cfg, T)


@pytest.mark.parametrize("interval, guidance, rule", [((0.5, 0.2), 3.0, "0 <= lo < hi <= 1"),
                                                      ((0.0, 1.5), 3.0, "0 <= lo < hi <= 1"),
                                                      ((0.2,), 3.0, "two fractions of T"),
                                                      ((0.2, 0.5), 0.0, "when sample.guidance is 0")])
def test_a_bad_guidance_interval_names_the_field_and_the_rule(interval: tuple, guidance: float, rule: str) -> None:
    with pytest.raises(ConfigError, match=rf"sample\.guidance_interval .*{re.escape(rule)}"):
        SampleConfig(guidance=guidance, guidance_interval=interval)


def test_generate_is_reproducible_and_in_range() -> None:
    diffusion = Diffusion(DiffusionConfig(timesteps=T))
    cfg = SampleConfig(steps=4, batch_size=3)
    labels = torch.arange(5)
    a = generate(AffineNet(), diffusion, cfg, labels, 2, torch.Generator().manual_seed(0))
    b = generate(AffineNet(), diffusion, cfg, labels, 2, torch.Generator().manual_seed(0))
    assert a.shape == (5, 1, 2, 2) and torch.equal(a, b)
    assert float(a.abs().max()) <= 1.0


def test_network_calls_split_to_eval_batch_draw_the_same_samples() -> None:
    diffusion = Diffusion(DiffusionConfig(timesteps=T))
    net, calls = AffineNet(), []
    net.register_forward_hook(lambda m, inp, out: calls.append(inp[0].shape[0]))
    draw = lambda n: generate(net, diffusion, SampleConfig(steps=2, batch_size=3, eval_batch=n), torch.arange(5), 2,
                              torch.Generator().manual_seed(0))
    whole = draw(0)  # 0: the device's best, 128 on CPU: each guided batch (6, then 4 images) in one call
    assert calls == [6, 6, 4, 4]
    calls.clear()
    assert torch.equal(draw(4), whole) and calls == [4, 2, 4, 2, 4, 4]


def test_a_unet_split_into_calls_of_two_matches_one_call() -> None:
    model, cfg = tiny_unet("ddim", "sample.batch_size=3")
    draw = lambda n: generate(model, Diffusion(cfg.diffusion), replace(cfg.sample, eval_batch=n), torch.arange(5), 28,
                              torch.Generator().manual_seed(0))
    torch.testing.assert_close(draw(2), draw(0), atol=1e-5, rtol=0)


def test_compiled_sampling_draws_the_eager_samples_at_every_batch_size() -> None:
    # batches of 3 and 2: one dynamic-batch compile serves both; one level keeps the compile short for CI
    model, cfg = tiny_unet("ddim", "sample.batch_size=3", "model.channels=[8]")
    draw = lambda c: generate(model, Diffusion(cfg.diffusion), replace(cfg.sample, compile=c), torch.arange(5), 28,
                              torch.Generator().manual_seed(0))
    torch.testing.assert_close(draw(True), draw(False), atol=1e-4, rtol=0)


def test_compiled_sampling_without_a_cpp_compiler_says_so_before_sampling(monkeypatch: pytest.MonkeyPatch) -> None:
    from torch._inductor import cpp_builder

    def no_compiler() -> str:
        raise RuntimeError("no working C++ compiler found")

    monkeypatch.setattr(cpp_builder, "get_cpp_compiler", no_compiler)
    model, cfg = tiny_unet("ddim", "sample.compile=true")
    with pytest.raises(ConfigError, match=r"sample.compile=true needs a C\+\+ compiler .* or set sample.compile=false"):
        generate(model, Diffusion(cfg.diffusion), cfg.sample, torch.arange(2), 28, torch.Generator().manual_seed(0))


@pytest.mark.skipif(not native_bf16(torch.device("cpu")), reason="this CPU has no native bf16 (AVX512-BF16 or AMX)")
def test_bf16_sampling_draws_the_fp32_samples_to_bf16_rounding() -> None:
    model, cfg = tiny_unet("ddim", "sample.batch_size=3")
    seen = []
    model.register_forward_hook(lambda m, inp, out: seen.append(out.dtype))
    draw = lambda p: generate(model, Diffusion(cfg.diffusion), replace(cfg.sample, precision=p), torch.arange(5), 28,
                              torch.Generator().manual_seed(0))
    fp32, bf16 = draw("fp32"), draw("bf16")
    assert set(seen) == {torch.float32, torch.bfloat16} and bf16.dtype == torch.float32
    assert 0 < float((bf16 - fp32).abs().max()) < 0.1  # bf16 keeps 8 bits of mantissa: close, not equal


def test_bf16_sampling_is_refused_where_bf16_is_emulated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "_cpuinfo", lambda field: "fpu sse avx2" if field == "flags" else "Some CPU")
    model, cfg = tiny_unet("ddim", "sample.precision=bf16")
    with pytest.raises(ConfigError, match=r"sample.precision=bf16 needs native bfloat16 .*Some CPU .* use "
                                          r"sample.precision=fp32"):
        generate(model, Diffusion(cfg.diffusion), cfg.sample, torch.arange(2), 28, torch.Generator().manual_seed(0))


def test_generate_refuses_non_finite_samples_instead_of_clamping_them_to_digits() -> None:
    net = AffineNet()
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(float("nan"))  # a network whose training diverged
    cfg = SampleConfig(steps=4, batch_size=5)
    with pytest.raises(NumericalError, match=r"NaN/inf in 5 of 5 images \(ddim, 4 steps"):
        generate(net, Diffusion(DiffusionConfig(timesteps=T)), cfg, torch.arange(5), 2, torch.Generator().manual_seed(0))


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
    exact = SAMPLERS.get("ddim")(denoise, x, alpha_bar, SPACINGS.get("uniform")(1000, 1000), g, 0.0, None)

    def error(sampler: str, spacing: str, steps: int) -> float:
        out = SAMPLERS.get(sampler)(denoise, x, alpha_bar, SPACINGS.get(spacing)(1000, steps), g, 0.0, None)
        return float((out - exact).abs().max())

    for steps in (10, 20, 40):
        assert error("dpmpp_2m", "quadratic", steps) < 0.6 * error("ddim", "quadratic", steps)
    assert error("dpmpp_2m", "uniform", 20) / error("dpmpp_2m", "uniform", 40) > 3  # DDIM's ratio is 2 (first order)
