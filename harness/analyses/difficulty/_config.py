"""What `harness difficulty` analyses and how: one small frozen config with the defaults the issue asks for."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..._util import RESULTS, ConfigError
from ...config import RunConfig, resolve_config
from ...metrics import PRC_NEIGHBORHOOD
from ._estimates import rankable

MIN_PER_CLASS = PRC_NEIGHBORHOOD + 2  # k-NN recall needs k neighbours besides each sample
DEFAULT_GUIDANCE = (0.0, 1.0, 3.0, 5.0, 7.0, 9.0)  # report 002's sweep, and beyond it


@dataclass(frozen=True)
class DifficultyConfig:
    preset: str = "baseline"  # the trained configuration analysed
    budget: str = "quick"  # compute budget of its training and sample counts
    overrides: tuple[str, ...] = ()  # dotted config overrides applied to every seed
    seeds: tuple[int, ...] = (0, 1, 2)  # training seeds; each is a separately trained network
    samples_per_class: int | None = None  # generated digits per class and seed; None = the budget's eval count
    guidance: tuple[float, ...] = DEFAULT_GUIDANCE  # w values of the fidelity-diversity frontier
    frontier_per_class: int | None = None  # digits per class, seed and w on the frontier; None = a quarter of the above
    thresholds: tuple[float, ...] = (0.5, 0.9)  # recognisable = informedness stays at this share of the finished samples'
    forward_points: int = 21  # timesteps 0..T-1 at which real digits are noised (forward direction)
    forward_per_class: int = 100  # real test digits per class noised at each of those timesteps
    chance_margin: float = 0.05  # "at chance": classifier accuracy within this of 1/10
    # the per-digit metric that orders digits from easiest to hardest; informedness, not accuracy, since the
    # reference classifier calls failed samples of any digit "8", which inflates 8's accuracy
    rank_by: str = "informedness"
    replicates: int = 1000  # bootstrap replicates
    results: Path = field(default=RESULTS)  # trained networks go to results/runs/<hash>/

    def __post_init__(self) -> None:
        if len(self.seeds) < 1 or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"--seeds must be distinct training seeds (at least 3 for useful intervals), got {list(self.seeds)}")
        if not self.guidance or any(w < 0 for w in self.guidance):
            raise ConfigError(f"--guidance must be one or more scales >= 0, got {list(self.guidance)}")
        if not all(0 < t <= 1 for t in self.thresholds) or list(self.thresholds) != sorted(self.thresholds):
            raise ConfigError(f"thresholds must be increasing shares in (0, 1], got {list(self.thresholds)}")
        for name in ("samples_per_class", "frontier_per_class"):
            value = getattr(self, name)
            if value is not None and value < MIN_PER_CLASS:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= {MIN_PER_CLASS} (recall needs "
                                  f"{PRC_NEIGHBORHOOD} neighbours per sample), got {value}")
        if self.rank_by not in (valid := rankable(self.thresholds)):  # before hours of training, not after
            raise ConfigError(f"--rank-by {self.rank_by}: not a per-digit difficulty; valid: {', '.join(valid)}")
        if self.forward_points < 2 or self.forward_per_class < 2 or self.replicates < 100:
            raise ConfigError("forward_points and forward_per_class must be >= 2 and replicates >= 100")

    def run_config(self, seed: int) -> RunConfig:
        """The training config of one seed (validated: a bad preset or override fails before any work)."""
        return resolve_config(self.preset, self.budget, [*self.overrides, f"train.seed={seed}"])

    @property
    def per_class(self) -> int:
        return self.samples_per_class or self.run_config(self.seeds[0]).eval.samples_per_class

    @property
    def frontier_count(self) -> int:
        return self.frontier_per_class or max(MIN_PER_CLASS, self.per_class // 4)

    def out_dir(self) -> Path:
        """results/difficulty/ at the quick budget and baseline preset on MNIST; otherwise a folder named after
        them (and the data set, so that an analysis on Fashion-MNIST never overwrites MNIST's)."""
        dataset = self.run_config(self.seeds[0]).data.dataset
        suffix = "" if (self.preset, self.budget) == ("baseline", "quick") else f"-{self.preset}-{self.budget}"
        return self.results / f"difficulty{suffix}{'' if dataset == 'mnist' else '-' + dataset}"
