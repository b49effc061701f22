"""The classic EMA of weights: its warm-up ceiling, and the step from which a decay takes effect."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from harness.nn import EMA, warm_up, warmed_up_at


@pytest.mark.parametrize("decay, step", [(0.9, 80), (0.99, 890), (0.995, 1790), (0.999, 8990), (0.9999, 89990),
                                         (0.05, 0)])
def test_the_warm_up_reaches_a_decay_at_its_closed_form_step(decay: float, step: int) -> None:
    """(1 + k) / (10 + k) >= decay from k = (10 decay - 1) / (1 - decay) on, and not one step earlier."""
    assert warmed_up_at(decay) == step
    assert warm_up(step) >= decay and (step == 0 or warm_up(step - 1) < decay)


def _averaged(decay: float, steps: int) -> torch.Tensor:
    """The EMA of a weight that takes the values 0, 1, ..., steps - 1, one per update."""
    net = nn.Linear(1, 1, bias=False)
    ema = EMA(net, decay)
    for k in range(steps):
        net.weight.data.fill_(float(k))
        ema.update(net, k)
    return ema.model.weight.data.clone()


def test_decays_the_warm_up_never_reaches_average_the_same_weights() -> None:
    """Over 600 updates the ceiling ends at 600/609 (0.985): 0.99 and 0.995 are the same average, 0.98 is not."""
    assert torch.equal(_averaged(0.99, 600), _averaged(0.995, 600))
    assert not torch.equal(_averaged(0.98, 600), _averaged(0.99, 600))
    assert not torch.equal(_averaged(0.99, 1000), _averaged(0.995, 1000))  # 0.99 takes effect from step 890
