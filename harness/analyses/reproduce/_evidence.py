"""The experiments behind the claims, each run (or resumed) once per `harness reproduce`: the difficulty
analysis, the ablation studies, report 002's forward noising, and DDPM sampling speed against T."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from ..._util import SPECS, mean_ci95
from ...config import resolve_config, with_overrides
from ...core import Diffusion
from ...data import load_mnist
from ...metrics import load_or_train, measure_sampling
from ...runs import load_trained
from ...studies import RUN, load_spec, run_study, study_dir, trials_frame, write_report
from ..difficulty import (
    DifficultyConfig,
    DifficultyResult,
    ForwardResult,
    forward_recognition,
    run_difficulty,
    write_difficulty,
)

SPEED_PER_CLASS = 1  # digits per class timed for DDPM sampling speed (10 images, every step)


@dataclass
class Evidence:
    """Runs each experiment the first time a claim asks for it; results are files, so reruns resume."""

    budget: str  # compute budget of every experiment
    results: Path  # results root
    progress: bool = True
    ran: dict[str, str] = field(default_factory=dict)  # experiment -> where its results are
    _studies: dict[str, tuple[pd.DataFrame, Path]] = field(default_factory=dict, init=False)  # name -> (trials, folder)

    @cached_property
    def difficulty_config(self) -> DifficultyConfig:
        """The default analysis (baseline, seeds 0-2) at this budget."""
        return DifficultyConfig(budget=self.budget, results=self.results)

    @cached_property
    def difficulty(self) -> DifficultyResult:
        result = run_difficulty(self.difficulty_config, self.progress)
        self.ran["difficulty"] = str(write_difficulty(result))
        return result

    def study(self, name: str) -> pd.DataFrame:
        """trials.csv of the shipped spec `name` at this budget (run now for whatever is missing)."""
        if name not in self._studies:
            spec = load_spec(SPECS / f"{name}.yaml").at_budget(self.budget)
            study = run_study(spec, self.results, progress=self.progress)
            folder = study_dir(spec, self.results)
            self.ran[name] = str(write_report(study, spec, folder))
            self._studies[name] = (trials_frame(study, spec), folder)
        return self._studies[name][0]

    @cached_property
    def forward_report002(self) -> ForwardResult:
        """The forward experiment on report 002's own schedule (linear 1e-4..0.02, T = 100)."""
        cfg = resolve_config("report002", self.budget)
        data = load_mnist(cfg.data)
        classifier = load_or_train(data, self.progress)
        d = self.difficulty_config
        self.ran["forward (report 002 schedule)"] = "computed in this run (classifier only)"
        return forward_recognition(classifier.model, data.test, Diffusion(cfg.diffusion), d.forward_points,
                                   d.forward_per_class, d.chance_margin, d.replicates)

    def ddpm_speed(self, timesteps: int) -> tuple[float, float, float]:
        """Images/s of DDPM over all T steps for the timesteps study's networks at T (mean, 95% CI over seeds)."""
        trials = self.study("timesteps")
        done = trials[(trials["state"] == "COMPLETE") & (trials["diffusion.timesteps"] == timesteps)]
        rates = []
        folder = self._studies["timesteps"][1]
        for run in done[RUN].unique():
            trained = load_trained(folder / run)
            cfg = with_overrides(trained.cfg, ["sample.sampler=ddpm", f"sample.steps={timesteps}"], ("sample",))
            rates.append(measure_sampling(trained.model, trained.diffusion, cfg, SPEED_PER_CLASS).images_per_s)
        return mean_ci95(rates)
