from dataclasses import replace

import pytest
import torch
from samplingnets import AffineNet, T, setup, tiny_unet

from harness._util import ConfigError, NumericalError, host, native_bf16
from harness.config import DiffusionConfig, SampleConfig
from harness.core import Diffusion
from harness.runs import generate, guided_denoiser, network_passes


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
    diffusion = Diffusion(DiffusionConfig(timesteps=1000))
    assert diffusion.guided_at(t, (0.25, 0.6)) is expected
    assert diffusion.guided_at(t, (0.0, 1.0))


@pytest.mark.parametrize("guidance, interval, passes", [(3.0, (0.0, 1.0), 100), (3.0, (0.0, 0.5), 75),
                                                         (3.0, (0.5, 1.0), 75), (1.0, (0.0, 0.5), 50)])
def test_network_passes_count_two_per_guided_step(guidance: float, interval: tuple[float, float], passes: int) -> None:
    # uniform spacing of 50 steps over T = 1000 visits t = 999, 979, ..., 0: 25 of them in each half
    cfg = SampleConfig(steps=50, guidance=guidance, guidance_interval=interval)
    diffusion = Diffusion(DiffusionConfig(timesteps=1000))
    assert network_passes(cfg, diffusion) == passes
    assert network_passes(cfg, diffusion, conditional=False) == 50


def test_generate_with_a_guidance_interval_calls_the_network_with_one_pass_outside_it() -> None:
    diffusion = Diffusion(DiffusionConfig(timesteps=T))
    net, calls = AffineNet(), []
    net.register_forward_hook(lambda m, inp, out: calls.append(inp[0].shape[0]))
    cfg = SampleConfig(steps=4, batch_size=3, guidance_interval=(0.0, 0.5))  # visits t = 19, 13, 6, 0
    generate(net, diffusion, cfg, torch.arange(3), 2, torch.Generator().manual_seed(0))
    assert calls == [3, 3, 6, 6]
    assert sum(calls) == 3 * network_passes(cfg, diffusion)


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
    monkeypatch.setattr(host, "cpuinfo", lambda field: "fpu sse avx2" if field == "flags" else "Some CPU")
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
