"""Autoguidance (Karras et al. 2024): a weaker version of the network guides it."""

import pytest
import torch

from harness._util import CheckpointError, ConfigError
from harness.cli import main
from harness.config import resolve_config
from harness.core import NULL_LABEL
from harness.runs import AutoGuided, generate, grid_labels, load_trained, train, with_guide
from harness.runs._guide import kept_weights_path

STEPS = ["train.keep_weights_at=[0.5]"]  # step 10 of the smoke budget's 20


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("auto") / "run"
    assert train(resolve_config("baseline", "smoke", STEPS), folder, progress=False, grid=False).status == "finished"
    return folder


def sample(trained, cfg, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return generate(trained.model, trained.diffusion, cfg.sample, grid_labels(1), cfg.data.image_size, g)


@pytest.mark.parametrize("plain, setting, guide_unconditional", [
    ("sample.guidance=1", "sample.unconditional=false", False),  # the digit's label to both: the conditional sample
    ("sample.guidance=0", "sample.unconditional=true", False),  # the null label to both: the w = 0 sample
    # the null label to the guide alone: D(x | null) + w (D(x | y) - D(x | null)) is Ho & Salimans' CFG at w
    ("sample.guidance=3", "sample.guide_unconditional=true", True),
], ids=["conditional", "unconditional", "guide_unconditional"])
def test_a_guide_equal_to_the_main_network_gives_the_sample_without_autoguidance(run, plain: str, setting: str,
                                                                                 guide_unconditional: bool) -> None:
    trained = load_trained(run)
    for p in trained.model.parameters():  # a fresh output layer is zero: give the outputs something to differ by
        torch.nn.init.normal_(p, std=0.05)
    expected = sample(trained, resolve_config("baseline", "smoke", [*STEPS, plain]))
    auto = resolve_config("baseline", "smoke", [*STEPS, "sample.guidance=3", "sample.guidance_method=autoguidance",
                                                "sample.guide_at=0.5", setting])
    trained.model = AutoGuided(trained.model, trained.model, 3.0, guide_unconditional)
    torch.testing.assert_close(sample(trained, auto), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("unconditional, guide_unconditional, main_label, guide_label", [
    (False, False, "digit", "digit"), (True, False, "null", "null"), (False, True, "digit", "null")])
def test_each_network_sees_the_label_its_setting_names(run, unconditional: bool, guide_unconditional: bool,
                                                        main_label: str, guide_label: str) -> None:
    trained = load_trained(run)
    seen = {"main": [], "guide": []}

    def spy(net, name):
        def hook(module, args):
            seen[name].append(args[2].clone())
        net.register_forward_pre_hook(hook)
        return net

    cfg = resolve_config("baseline", "smoke", [*STEPS, "sample.guidance_method=autoguidance", "sample.guide_at=0.5",
                                               f"sample.unconditional={str(unconditional).lower()}",
                                               f"sample.guide_unconditional={str(guide_unconditional).lower()}"])
    trained = with_guide(trained, run, cfg.sample, torch.device("cpu"))
    trained.model.main, trained.model.guide = spy(trained.model.main, "main"), spy(trained.model.guide, "guide")
    sample(trained, cfg)
    labels = {"digit": grid_labels(1), "null": torch.full((10,), NULL_LABEL)}
    for name, label in (("main", main_label), ("guide", guide_label)):
        assert seen[name] and all(torch.equal(y, labels[label]) for y in seen[name]), name


def test_autoguidance_extrapolates_from_the_guide_to_the_main_network() -> None:
    main_net, guide_net = torch.nn.Linear(3, 3), torch.nn.Linear(3, 3)
    x = torch.randn(4, 3)

    class Net(torch.nn.Module):
        def __init__(self, layer):
            super().__init__()
            self.layer = layer

        def forward(self, x, t, y):
            return self.layer(x)

    wrapped = AutoGuided(Net(main_net), Net(guide_net), 2.5)
    g, m = guide_net(x), main_net(x)
    torch.testing.assert_close(wrapped(x, None, None), g + 2.5 * (m - g))


def test_the_guide_at_a_kept_step_is_loaded_and_differs_from_the_final_weights(run) -> None:
    assert kept_weights_path(run, 10).is_file()
    cfg = resolve_config("baseline", "smoke", [*STEPS, "sample.guidance_method=autoguidance", "sample.guide_at=0.5"])
    trained = with_guide(load_trained(run), run, cfg.sample, torch.device("cpu"))
    assert isinstance(trained.model, AutoGuided)
    final = dict(trained.model.main.named_parameters())
    assert any(not torch.equal(p, final[n]) for n, p in trained.model.guide.named_parameters())
    assert sample(trained, cfg).shape == (10, 1, 28, 28)


def test_sampling_with_autoguidance_but_no_guide_is_refused_not_run_as_cfg(run) -> None:
    cfg = resolve_config("baseline", "smoke", [*STEPS, "sample.guidance_method=autoguidance", "sample.guide_at=0.5"])
    with pytest.raises(ConfigError, match="needs the network wrapped with its guide"):
        sample(load_trained(run), cfg)


def test_the_cli_samples_with_a_guide_and_refuses_a_missing_one(run, tmp_path, capsys) -> None:
    out = tmp_path / "s.npz"
    assert main(["sample", str(run), "--out", str(out), "--per-class", "1", "--guidance-method", "autoguidance",
                 "--guide-at", "0.5", "--guidance", "2"]) == 0 and out.is_file()
    assert main(["sample", str(run), "--out", str(out), "--per-class", "1", "--guidance-method", "autoguidance",
                 "--guide-at", "0.5", "--guidance", "2", "--unconditional"]) == 0
    assert "autoguidance of the unconditional model" in capsys.readouterr().out
    assert main(["sample", str(run), "--out", str(out), "--per-class", "1", "--guidance-method", "autoguidance",
                 "--guide-at", "0.5", "--guidance", "2", "--guide-unconditional"]) == 0
    assert "autoguidance by the guide's unconditional pass" in capsys.readouterr().out
    assert main(["sample", str(run), "--out", str(tmp_path / "t.npz"), "--guidance-method", "autoguidance",
                 "--guide-at", "0.25"]) == 2
    assert "sample.guide_at must be a fraction of training whose weights the run keeps (train.keep_weights_at=[0.5])" in capsys.readouterr().err
    assert main(["sample", str(run), "--out", str(tmp_path / "t.npz"), "--guidance-method", "autoguidance",
                 "--guide-run", str(tmp_path / "nothing")]) == 2
    assert "holds no trained run" in capsys.readouterr().err


@pytest.mark.parametrize("overrides, message", [
    (["sample.guidance_method=autoguidance"], "autoguidance needs exactly one guide"),
    (["sample.guidance_method=auto"], "sample.guidance_method must be one of cfg, autoguidance"),
    (["sample.unconditional=true"], "sample.unconditional is for sample.guidance_method=autoguidance; under cfg, "
                                    "unconditional samples are sample.guidance=0"),
    (["sample.guide_unconditional=true"], "sample.guide_unconditional is for sample.guidance_method=autoguidance"),
    (["train.keep_weights_at=[0.99]"], "train.keep_weights_at must be fractions in \\(0, 1\\) of train.steps=20"),
    ([*STEPS, "sample.guidance_method=autoguidance", "sample.guide_at=0.5", "sample.guidance_interval=[0.2, 0.8]"],
     "must be \\[0, 1\\] under autoguidance"),
])
def test_an_invalid_autoguidance_setting_is_refused_in_one_line(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_config("baseline", "smoke", overrides)


def test_a_guide_run_of_another_formulation_is_refused(run, tmp_path) -> None:
    other = tmp_path / "vp"
    train(resolve_config("baseline_v2", "smoke"), other, progress=False, grid=False)
    cfg = resolve_config("baseline", "smoke", [*STEPS, "sample.guidance_method=autoguidance",
                                               f"sample.guide_run={other}"])
    with pytest.raises(CheckpointError, match="cannot guide this run: its diffusion differs"):
        with_guide(load_trained(run), run, cfg.sample, torch.device("cpu"))
