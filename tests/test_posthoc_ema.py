"""Post-hoc EMA (Karras et al. 2024): the power-function profiles, their reconstruction, and a run's snapshots."""

import numpy as np
import pytest
import torch

from harness._util import CheckpointError, ConfigError
from harness.config import resolve_config
from harness.nn import PowerEMA, coefficients, combine, gamma_of, profile, sigma_rel_of
from harness.runs import load_trained, train
from harness.runs._posthoc import SNAPSHOTS, posthoc_weights


@pytest.mark.parametrize("sigma_rel, gamma", [(0.05, 16.97), (0.10, 6.94)])
def test_gamma_of_sigma_rel_matches_the_papers_pairs_and_inverts_eq_3(sigma_rel: float, gamma: float) -> None:
    # Karras et al. 2024 pair sigma_rel 0.05 and 0.10 with gamma 16.97 and 6.94
    assert gamma_of(sigma_rel) == pytest.approx(gamma, abs=0.01)
    assert sigma_rel_of(gamma_of(sigma_rel)) == pytest.approx(sigma_rel, rel=1e-12)


@pytest.mark.parametrize("gamma", [0.5, 3.0, 16.97])
def test_the_update_rule_gives_each_step_exactly_its_profile_weight(gamma: float) -> None:
    weights = torch.randn(30, 4, dtype=torch.float64)  # (steps, parameters): a synthetic trajectory theta_1..theta_30
    net = torch.nn.Linear(4, 1, bias=False).double()
    ema = PowerEMA(net, [sigma_rel_of(gamma)])
    for step in range(30):
        net.weight.data.copy_(weights[step])
        ema.update(net, step)
    w = profile(gamma, 30, 30)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    torch.testing.assert_close(ema.models[0].weight.data[0], (torch.from_numpy(w)[:, None] * weights).sum(0))


def synthetic_snapshots(sigma_rels: list[float], steps: int, every: int) -> tuple[list, list, torch.Tensor]:
    """Snapshots of the tracked profiles of a random weight trajectory: ((gamma, step) list, states, trajectory)."""
    torch.manual_seed(0)
    trajectory = torch.randn(steps, 6, dtype=torch.float64).cumsum(0)  # a random walk, as weights drift
    net = torch.nn.Linear(6, 1, bias=False).double()
    ema = PowerEMA(net, sigma_rels)
    profiles, states = [], []
    for step in range(steps):
        net.weight.data.copy_(trajectory[step])
        ema.update(net, step)
        if (step + 1) % every == 0:
            for g, m in zip(ema.gammas, ema.models):
                profiles.append((g, step + 1))
                states.append({k: v.clone() for k, v in m.state_dict().items()})
    return profiles, states, trajectory


def test_a_tracked_length_reconstructs_to_that_profiles_own_weights() -> None:
    profiles, states, _ = synthetic_snapshots([0.05, 0.10], steps=200, every=20)
    x = coefficients(profiles, gamma_of(0.10), 200)
    last = len(states) - 1  # the 0.10 profile's snapshot at step 200
    assert np.abs(x - np.eye(len(states))[last]).max() < 1e-9
    torch.testing.assert_close(combine(states, x)["weight"], states[last]["weight"], rtol=0, atol=1e-9)


@pytest.mark.parametrize("sigma_rel", [0.03, 0.07, 0.15])
def test_an_untracked_length_is_reconstructed_close_to_its_true_ema(sigma_rel: float) -> None:
    steps = 400
    profiles, states, trajectory = synthetic_snapshots([0.05, 0.10], steps=steps, every=20)
    truth = (torch.from_numpy(profile(gamma_of(sigma_rel), steps, steps))[:, None] * trajectory).sum(0)
    rebuilt = combine(states, coefficients(profiles, gamma_of(sigma_rel), steps))["weight"][0]
    spread = trajectory[-steps // 2:].std(0)  # how far the weights move over the averaged span
    assert ((rebuilt - truth).abs() / spread).max() < 0.05


def test_training_writes_bounded_snapshots_resumes_exactly_and_samples_any_length(tmp_path) -> None:
    overrides = ["train.ema_profiles=[0.05, 0.1]", "train.ema_snapshot_every=5", "train.checkpoint_every=10"]
    cfg = resolve_config("baseline", "smoke", overrides)
    whole = train(cfg, tmp_path / "whole", progress=False, grid=False)
    assert whole.status == "finished" and whole.ema_snapshot_bytes > 0
    assert len(list((tmp_path / "whole" / SNAPSHOTS).glob("step_*.pt"))) == 4  # steps 5, 10, 15, 20
    # a run stopped after its step-10 checkpoint and resumed ends with the same tracked profiles and snapshots
    def stop(step: int, mse: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(Exception, match="interrupted|KeyboardInterrupt"):
        train(cfg, tmp_path / "halves", progress=False, grid=False, on_validation=stop)
    assert train(cfg, tmp_path / "halves", progress=False, grid=False).status == "finished"
    for length in (0.05, 0.08):
        a, b = (posthoc_weights(tmp_path / d, length, 20) for d in ("whole", "halves"))
        for key in a:
            torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    trained = load_trained(tmp_path / "whole", ema_length=0.08)
    assert trained.ema and trained.step == 20
    with pytest.raises(CheckpointError, match="holds no post-hoc EMA snapshots"):
        posthoc_weights(tmp_path / "nothing", 0.08, 20)


@pytest.mark.parametrize("overrides, message", [
    (["sample.ema_length=0.08"], "sample.ema_length needs post-hoc EMA snapshots: set train.ema_profiles"),
    (["train.ema_profiles=[0.3]"], "train.ema_profiles must be distinct sigma_rel values in \\(0, 0.28\\)"),
    (["train.ema_profiles=[0.05]", "train.ema_snapshot_every=1", "train.steps=500"],
     "would keep 500 snapshots of each profile, more than 100; give at least 5 steps"),
])
def test_an_invalid_post_hoc_ema_setting_is_refused_in_one_line(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_config("baseline", "smoke", overrides)
