"""Bad input typed at the command line: each must print one line naming the problem, exit 2, and write nothing."""

from __future__ import annotations

import dataclasses
import gzip
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ..config import resolve_config
from ..runs import CHECKPOINT, train
from ..studies import load_spec, study_dir
from ._invoke import Invoke
from ._snapshot import changes, snapshot
from ._specs import drill_spec


@dataclass(frozen=True)
class BadInput:
    """One mistake a user can make: the command line, and a fragment the error line must contain."""

    what: str  # the mistake, as the reliability report lists it
    argv: tuple[str, ...]  # `harness` arguments; {s} stands for the sandbox folder
    expect: str  # part of the one-line message (names the problem or the fix)

    def command(self, sandbox: Path) -> list[str]:
        return [a.replace("{s}", str(sandbox)) for a in self.argv]


@dataclass
class Outcome:
    """What a bad input did: exit status, what it printed, what it changed on disk."""

    case: BadInput
    status: int
    stderr: list[str]
    changed: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        found = []
        if self.status != 2:
            found.append(f"exit status {self.status}, expected 2")
        if len(self.stderr) != 1 or not self.stderr[0].startswith("harness: error: "):
            found.append(f"{len(self.stderr)} lines on stderr, expected one 'harness: error: ...' line")
        if not any(self.case.expect in line for line in self.stderr):
            found.append(f"message lacks {self.case.expect!r}")
        return found + self.changed

    @property
    def ok(self) -> bool:
        return not self.problems


def _train(*args: str) -> tuple[str, ...]:
    return ("train", "--budget", "smoke", "--out", "{s}/new-run", "--quiet", *args)


def _study(*args: str) -> tuple[str, ...]:
    return ("ablate", "{s}/tiny.yaml", "--quiet", *args)


BAD_INPUTS: tuple[BadInput, ...] = (
    BadInput("malformed YAML config", ("train", "--config", "{s}/malformed.yaml", "--out", "{s}/new-run"), "not valid YAML"),
    BadInput("missing config file", ("train", "--config", "{s}/nothere.yaml", "--out", "{s}/new-run"), "no such file"),
    BadInput("malformed YAML spec", ("ablate", "{s}/malformed.yaml"), "not valid YAML"),
    BadInput("unknown key in a config file", ("train", "--config", "{s}/unknown_key.yaml", "--out", "{s}/new-run"),
             "unknown key model.chanels"),
    BadInput("unknown key in --set", _train("--set", "model.skipp=false"), "unknown key model.skipp"),
    BadInput("--set without '='", _train("--set", "model.skip"), "must look like section.field=value"),
    BadInput("wrong type: text for a number", _train("--set", "train.lr=fast"), "train.lr: expected a number"),
    BadInput("wrong type: text for a flag", _train("--set", "model.skip=maybe"), "expected true or false"),
    BadInput("wrong type on an option", ("sample", "{s}/run", "--out", "{s}/s.npz", "--steps", "many"), "invalid int value"),
    BadInput("negative T", _train("--set", "diffusion.timesteps=-5"), "diffusion.timesteps must be >= 2"),
    BadInput("guidance < 0", ("sample", "{s}/run", "--out", "{s}/s.npz", "--guidance", "-1"), "sample.guidance must be >= 0"),
    BadInput("steps larger than T", ("sample", "{s}/run", "--out", "{s}/s.npz", "--steps", "5000"),
             "sample.steps must be <= diffusion.timesteps"),
    BadInput("batch larger than the data", _train("--set", "train.batch_size=100000"), "larger than the 50000 training digits"),
    BadInput("unknown schedule", _train("--set", "diffusion.schedule=cosin"), "did you mean 'cosine'"),
    BadInput("unknown formulation", _train("--set", "diffusion.formulation=edn"), "did you mean 'edm'"),
    BadInput("sampler the formulation cannot use", _train("--preset", "baseline_v2", "--set", "sample.sampler=heun"),
             "sample.sampler must be one of ddim, ddpm, dpmpp_2m under diffusion.formulation=vp"),
    BadInput("spacing the formulation cannot use", ("train", "--preset", "edm", "--budget", "smoke", "--out",
                                                    "{s}/new-run", "--set", "sample.spacing=uniform"),
             "sample.spacing must be one of karras under diffusion.formulation=edm"),
    BadInput("noise sampling the formulation cannot use", ("train", "--preset", "flow", "--budget", "smoke", "--out",
                                                            "{s}/new-run", "--set", "train.noise_sampling=lognormal"),
             "train.noise_sampling must be one of uniform, logit_normal under diffusion.formulation=flow"),
    BadInput("unknown sampler", ("sample", "{s}/run", "--out", "{s}/s.npz", "--sampler", "ddpn"), "did you mean 'ddpm'"),
    BadInput("patch that does not divide the image", _train("--set", "model.backbone=dit", "--set", "model.patch_size=3"),
             "model.patch_size must divide the 28-pixel image side"),
    BadInput("autoguidance without a guide", ("sample", "{s}/run", "--out", "{s}/s.npz", "--guidance-method",
                                              "autoguidance"), "autoguidance needs exactly one guide"),
    BadInput("autoguidance by weights the run did not keep", ("sample", "{s}/run", "--out", "{s}/s.npz",
             "--guidance-method", "autoguidance", "--guide-at", "0.5"), "must be a fraction of training whose weights"),
    BadInput("an unconditional model guided without autoguidance", ("sample", "{s}/run", "--out", "{s}/s.npz",
             "--unconditional"), "sample.unconditional is for sample.guidance_method=autoguidance"),
    BadInput("an unconditional guide without autoguidance", ("sample", "{s}/run", "--out", "{s}/s.npz",
             "--guide-unconditional"), "sample.guide_unconditional is for sample.guidance_method=autoguidance"),
    BadInput("post-hoc EMA length out of range", ("sample", "{s}/run", "--out", "{s}/s.npz", "--ema-length", "0.5"),
             "--ema-length must be a sigma_rel in (0, 0.28)"),
    BadInput("post-hoc EMA length of a run without snapshots", ("sample", "{s}/run", "--out", "{s}/s.npz",
                                                               "--ema-length", "0.1"), "holds no post-hoc EMA snapshots"),
    BadInput("unknown preset", ("train", "--preset", "basline", "--out", "{s}/new-run"), "did you mean 'baseline'"),
    BadInput("unknown budget", ("train", "--budget", "smok", "--out", "{s}/new-run"), "did you mean 'smoke'"),
    BadInput("unknown metric", ("evaluate", "{s}/run", "--metrics", "fid,clp"), "unknown metric clp"),
    BadInput("study spec with an empty grid", ("ablate", "{s}/empty_grid.yaml"), "the grid would be empty"),
    BadInput("study name escaping results/", ("ablate", "{s}/escape.yaml"), "name must be lower-case"),
    BadInput("missing spec file", ("ablate", "{s}/nothere.yaml"), "no such file"),
    BadInput("study varying an EMA decay its steps never reach", ("ablate", "{s}/idle_ema.yaml"),
             "never takes effect in 600 steps"),
    BadInput("ablation spec given to tune", ("tune", "{s}/tiny.yaml"), "is an ablation grid"),
    BadInput("--workers 0", _study("--workers", "0", "--results", "{s}/new-results"), "--workers must be >= 1"),
    BadInput("a data set that is not bundled, without its folder", _train("--set", "data.dataset=fashion_mnist"),
             "data.path must name the folder of Fashion-MNIST's IDX files"),
    BadInput("a data set folder that does not exist", _train("--set", "data.dataset=kmnist", "--set",
                                                             "data.path={s}/nothere"), "put train-images-idx3-ubyte.gz"),
    BadInput("unknown data set", _train("--set", "data.dataset=fashion"), "did you mean 'fashion_mnist'"),
    BadInput("missing MNIST file", _train("--set", "data.path={s}/missing.pkl.gz"), "does not exist"),
    BadInput("corrupt MNIST file", _train("--set", "data.path={s}/corrupt.pkl.gz"), "is corrupt"),
    BadInput("missing run folder", ("sample", "{s}/nothere", "--out", "{s}/s.npz"), "no checkpoint at"),
    BadInput("truncated checkpoint", ("sample", "{s}/truncated", "--out", "{s}/s.npz"), "truncated or corrupt"),
    BadInput("config-reference given a file", ("config-reference", "{s}/docs.md"), "unrecognized arguments"),
    BadInput("negative samples per digit", ("sample", "{s}/run", "--per-class", "-5", "--out", "{s}/s.npz"),
             "--per-class must be at least 1"),
    BadInput("checkpoint of an incompatible config", ("train", "--budget", "smoke", "--out", "{s}/run",
                                                      "--set", "model.channels=[16, 32]"), "holds a run of another config"),
    BadInput("results folder is a file", _study("--results", "{s}/results-file"), "is a file, not a results folder"),
    BadInput("results folder with a corrupt study.db", _study("--results", "{s}/corrupt-db"), "cannot open the study database"),
    BadInput("results folder with a damaged spec.json", ("report", "tiny", "--results", "{s}/damaged"), "is not readable JSON"),
    BadInput("dashboard of a study never run", ("dashboard", "tiny", "--results", "{s}/new-results"), "holds no study"),
    BadInput("dashboard of a study whose database is elsewhere", ("dashboard", "tiny", "--results", "{s}/other"),
             "has no study.db; give --storage URL"),
    BadInput("dashboard on a port that does not exist", ("dashboard", "tiny", "--results", "{s}/other", "--port",
                                                         "70000"), "--port must be a TCP port, 1 to 65535"),
    BadInput("two studies into one results folder", _study("--results", "{s}/other"), "holds results of a different spec"),
    BadInput("storage that is not a URL", _study("--storage", "nonsense", "--results", "{s}/new-results"),
             "is not a SQLAlchemy URL"),
    BadInput("sample file with the wrong shape", ("evaluate", "{s}/run", "--samples", "{s}/wrong_shape.npz",
                                                  "--metrics", "class_acc"), "images must be (N, 28, 28) or (N, 1, 28, 28)"),
    BadInput("sample file with the wrong dtype", ("evaluate", "{s}/run", "--samples", "{s}/wrong_dtype.npz",
                                                  "--metrics", "class_acc"), "images must be uint8, or float"),
    BadInput("sample file of float images without their range", ("evaluate", "{s}/run", "--samples",
                                                                 "{s}/float_images.npz", "--metrics", "class_acc"),
             "state their range"),
    BadInput("sample file that is not an .npz", ("evaluate", "{s}/run", "--samples", "{s}/not_npz.npz",
                                                 "--metrics", "class_acc"), "is not an .npz archive"),
    BadInput("score: float images outside the stated range", ("score", "{s}/float_images.npz", "--range=-1,1",
                                                               "--json", "{s}/scores.json"), "outside the stated range"),
    BadInput("score: a range samples are not written in", ("score", "{s}/float_images.npz", "--range", "0,255"),
             "is not a range samples are written in"),
    BadInput("score: a PNG folder not sorted or named by class", ("score", "{s}/unnamed-pngs"),
             "is not named by its class"),
    BadInput("score: a metric that needs a network", ("score", "{s}/float_images.npz", "--metrics", "mse"),
             "mse needs a trained network"),
    BadInput("a reference split that does not exist", ("evaluate", "{s}/run", "--metrics", "fid", "--set",
                                                       "eval.reference=train"),
             "eval.reference must be one of test, validation"),
    BadInput("time to quality judged on no digits", ("time-to-quality", "--budget", "smoke", "--per-class", "0",
                                                     "--results", "{s}/new-results"), "--per-class must be >= 1"),
    BadInput("speed timing no steps", ("speed", "--budget", "smoke", "--steps", "0", "--results", "{s}/new-results"),
             "--steps must be >= 1"),
    BadInput("speed: a negative profile length", ("speed", "--budget", "smoke", "--profile", "-1", "--results",
                                                   "{s}/new-results"), "--profile must be >= 0"),
    BadInput("score: a sample file that does not exist", ("score", "{s}/absent.npz"), "does not exist"),
    BadInput("CLIP weights path that does not exist", ("evaluate", "{s}/run", "--metrics", "clip",
                                                       "--set", "eval.clip_weights={s}/nothere.pt"), "does not exist"),
)


def prepare_sandbox(root: Path) -> Path:
    """The files the cases point at: a trained smoke run, damaged copies of it, bad YAML, bad results folders."""
    root.mkdir(parents=True, exist_ok=True)
    # the vp recipe: the cases about T (steps larger than T) need a discrete-time run, and flow has no T
    cfg = resolve_config("baseline_v2", "smoke", ["train.steps=4", "train.val_images=32", "sample.grid_per_class=1"])
    train(cfg, root / "run", progress=False, grid=False)
    texts = {"malformed.yaml": "model: {channels: [32, 64\n", "unknown_key.yaml": "model:\n  chanels: [32, 64]\n",
             "empty_grid.yaml": "name: empty\nvary:\n  model.skip: []\n",
             "escape.yaml": "name: ../../outside\nvary:\n  model.skip: [true, false]\n",
             "idle_ema.yaml": "name: idle_ema\nvary:\n  train.ema_decay: [0.99, 0.999]\nbudget: quick\n",
             "tiny.yaml": drill_spec("tiny"), "results-file": "a file where a folder belongs\n",
             "damaged/tiny/spec.json": "{not json", "corrupt-db/tiny/study.db": "not a database\n"}
    for name, text in texts.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    _write_other_spec(root)
    (root / "corrupt.pkl.gz").write_bytes(gzip.compress(b"these bytes are no pickle"))
    shutil.copytree(root / "run", root / "truncated")
    whole = (root / "run" / CHECKPOINT).read_bytes()
    (root / "truncated" / CHECKPOINT).write_bytes(whole[: len(whole) // 2])
    np.savez(root / "wrong_shape.npz", images=np.zeros((10, 32, 32), np.uint8), labels=np.arange(10))
    np.savez(root / "wrong_dtype.npz", images=np.zeros((10, 28, 28), np.int32), labels=np.arange(10))
    np.savez(root / "float_images.npz", images=np.linspace(0, 2, 10 * 28 * 28, dtype=np.float32).reshape(10, 28, 28),
             labels=np.arange(10))
    (root / "unnamed-pngs").mkdir()
    Image.new("L", (28, 28)).save(root / "unnamed-pngs" / "digit.png")
    (root / "not_npz.npz").write_text("not an archive\n")
    return root


def _write_other_spec(root: Path) -> None:
    """results folder `other/` already holds a study named 'tiny' made from different seeds."""
    spec = load_spec(root / "tiny.yaml")
    folder = study_dir(spec, root / "other")
    folder.mkdir(parents=True)
    other = {**json.loads(json.dumps(dataclasses.asdict(spec))), "seeds": [7]}
    (folder / "spec.json").write_text(json.dumps(other))


def try_bad_input(case: BadInput, sandbox: Path, invoke: Invoke) -> Outcome:
    """Run one case in `sandbox` and record what it printed and changed."""
    before = snapshot(sandbox)
    status, _, stderr = invoke(case.command(sandbox))
    lines = [line.replace(str(sandbox), "{s}") for line in stderr.splitlines() if line.strip()]
    return Outcome(case, status, lines, changes(before, snapshot(sandbox)))
