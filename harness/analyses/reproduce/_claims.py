"""Every claim of the five reports (../shared/reports/README.md indexes them), as data: who said it,
what it says, which experiment tests it, and how. Claims that cannot be measured say why."""

from __future__ import annotations

from dataclasses import dataclass

from ...core import CLASSES
from . import _kinds as k

ACC = "class_acc"
# Hardest / easiest digits are judged by the reference classifier's informedness on generated digits
# (accuracy minus the share of other digits called this one): it calls failed samples of any digit "8",
# so 8's accuracy alone would rank it easiest whenever samples fail.
DIGIT_QUALITY = "informedness"


@dataclass(frozen=True)
class Claim:
    id: str  # report number and a short name
    text: str  # the claim, close to the report's words
    experiment: str  # what tests it (a results folder or analysis)
    test: k.Test  # Evidence -> Finding


@dataclass(frozen=True)
class Unmeasurable:
    id: str
    text: str
    why: str  # why no experiment can test it as stated


CLAIMS: tuple[Claim, ...] = (
    Claim("000-hardest", "5 and 8 come out worst", "difficulty", k.digits_contrast((5, 8), DIGIT_QUALITY, -1)),
    Claim("001-easiest", "0 and 1 are the easiest digits", "difficulty", k.digits_contrast((0, 1), DIGIT_QUALITY, +1)),
    Claim("001-hardest", "5 and 8 are the hardest digits", "difficulty", k.digits_contrast((5, 8), DIGIT_QUALITY, -1)),
    Claim("002-best", "the best digits are 0, 4, 7 and 9", "difficulty", k.digits_contrast((0, 4, 7, 9), DIGIT_QUALITY, +1)),
    Claim("002-worst", "the worst digits are 2, 1 and 5", "difficulty", k.digits_contrast((1, 2, 5), DIGIT_QUALITY, -1)),
    Claim("002-clip-0-vs-2", "CLIP calls 0 'photo' far more than 2 (70.6% vs 35.8%)", "difficulty (CLIP)",
          k.digits_contrast((0,), "clip_preference", +1)),
    Claim("004-clip-high", "CLIP scores are highest for 0, 1 and 7", "difficulty (CLIP)",
          k.digits_contrast((0, 1, 7), "clip_score", +1)),
    Claim("004-clip-low", "CLIP scores are lowest for 5 and 8", "difficulty (CLIP)",
          k.digits_contrast((5, 8), "clip_score", -1)),
    Claim("000-clip-filter", "keeping the CLIP top scorers per class raises quality (also 004)", "difficulty (CLIP)",
          k.clip_filtering(0.5)),
    Claim("001-recognisable", "digits become recognisable 40-60% through denoising", "difficulty",
          k.recognised_within(tuple(CLASSES), 0.40, 0.60)),
    Claim("002-recognisable", "recognition becomes possible 70-80% through denoising", "difficulty",
          k.recognised_within(tuple(CLASSES), 0.70, 0.80)),
    Claim("002-recognisable-1-7", "1 and 7 become recognisable earlier, at 60-65%", "difficulty",
          k.recognised_within((1, 7), 0.60, 0.65)),
    Claim("003-recognisable", "an image becomes recognisable after 70-80% of the reverse steps", "difficulty",
          k.recognised_within(tuple(CLASSES), 0.70, 0.80)),
    Claim("004-recognisable", "digits become recognisable after 60-70% of the reverse steps", "difficulty",
          k.recognised_within(tuple(CLASSES), 0.60, 0.70)),
    Claim("004-recognisable-1-7", "1 and 7 emerge earlier, around 50%", "difficulty",
          k.recognised_within((1, 7), 0.45, 0.55)),
    Claim("002-forward-chance", "a classifier on noised digits falls to chance at about 50-60% noise",
          "forward noising, report 002's schedule (linear, T = 100)", k.forward_chance_within(0.50, 0.60)),
    Claim("002-guidance-diversity", "w > 5 reduces diversity noticeably", "difficulty (guidance frontier)",
          k.guidance_diversity(7.0, 5.0)),
    Claim("002-guidance-identical", "w > 7 gives near-identical samples of a digit", "difficulty (guidance frontier)",
          k.guidance_near_identical(9.0, 0.25)),
    Claim("002-T100-cheap", "T = 100 instead of 1000 costs little quality (~3%) for a 10x speed-up",
          "timesteps study + DDPM timing", k.cheap_timesteps(0.05, 5.0)),
    Claim("003-T300", "T = 300 gives faint digits where T = 100 gives blobs (nothing else changed)", "timesteps study",
          k.study_effect("timesteps", "diffusion.timesteps", 300, 100, ACC, +1, "class_acc(T=300) - class_acc(T=100)")),
    Claim("003-T500", "T = 500 sharpens the digits of T = 300", "timesteps study",
          k.study_effect("timesteps", "diffusion.timesteps", 500, 300, ACC, +1, "class_acc(T=500) - class_acc(T=300)")),
    Claim("003-ema", "EMA weights give cleaner samples than the raw weights", "ema study",
          k.study_effect("ema", "sample.use_ema", False, True, "fid", +1, "FID(raw) - FID(EMA)")),
    Claim("002-cosine", "the cosine schedule's values explode beyond step 50 (T = 100)", "schedule_t100 study",
          k.unstable_schedule("schedule_t100", "diffusion.schedule", "cosine", "linear")),
    Claim("004-skip", "skip connections sharpen 3 and 9", "skip study",
          k.study_effect("skip", "model.skip", True, False, ["class_acc_3", "class_acc_9"], +1,
                         "class_acc of 3 and 9: skip - no skip")),
    Claim("002-bottleneck", "conditioning only at the bottleneck (report 002's design) gives worse digits",
          "conditioning study",
          k.study_effect("conditioning", "model.conditioning", "bottleneck", "every_block", ACC, -1,
                         "class_acc(bottleneck) - class_acc(every block)")),
)

UNMEASURABLE: tuple[Unmeasurable, ...] = (
    Unmeasurable("000-emerge", "digits emerge 30-50 steps into sampling",
                 "the report gives no number of steps, so '30-50 steps' is no fraction of the process"),
    Unmeasurable("002-loss-blobs", "loss 0.08 -> 0.01 yet blob-like samples",
                 "an observation of one training run of another network; `harness train --preset report002` shows "
                 "that system's loss and samples"),
    Unmeasurable("003-val-loss", "val loss 0.0635 (epoch 3) -> 0.0454 (epoch 47)",
                 "a log of one run of an unspecified width; not a claim about a design choice"),
    Unmeasurable("004-epochs", "epochs 1-3 static, 4-8 outlines, 9-15 clear digits",
                 "a visual log of one run; `train_log.csv` and samples.png of any run give the measured course"),
)
