"""What the metrics of one evaluation share: the samples, the data, the reference classifier and the features,
each computed once, when the first metric asks for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import torch

from .._util import ConfigError, cache_dir, file_digest, saved_or_computed
from ..config import RunConfig
from ..data import Mnist, Split
from ..runs import TrainedModel
from ._features import MNIST_EXTRACTOR, extract_features
from ._reference import LoadedClassifier, class_probabilities, load_or_train, predict
from ._speed import SampleSpeed


@dataclass
class Evaluation:
    """One evaluation's inputs; the expensive shared parts are cached properties."""

    cfg: RunConfig  # the run's config with this evaluation's sample.* / eval.* overrides
    data: Mnist  # the data set the run trained on (eval.reference names the split the samples are compared with)
    trained: TrainedModel | None = None  # the network, for metrics that need it
    run_dir: Path | None = None  # the run's folder (train_result.json)
    images: torch.Tensor | None = None  # (N, 28, 28) uint8 samples, for metrics that need them
    labels: torch.Tensor | None = None  # (N,) their intended digits
    sample_speed: SampleSpeed | None = None  # timed while drawing `images`, when this evaluation drew them
    cautions: list[str] = field(default_factory=list)  # notes the metrics add for the user

    def samples(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.images is None or self.labels is None:
            raise ConfigError("this metric needs samples; evaluate draws them unless --samples gives a file")
        return self.images, self.labels

    def network(self) -> TrainedModel:
        if self.trained is None:
            raise ConfigError("this metric needs the trained network; score a run folder, not a sample file")
        return self.trained

    @cached_property
    def classifier(self) -> LoadedClassifier:
        return load_or_train(self.data)

    @property
    def real(self) -> Split:
        """The real digits the samples are compared with: the split eval.reference names."""
        return self.data.split(self.cfg.eval.reference)

    @cached_property
    def classifier_real_features(self) -> torch.Tensor:
        """The reference classifier's features of the real digits (cached on disk, see reference_features)."""
        return reference_features(self.classifier, self.data, self.cfg.eval.reference)

    @cached_property
    def classifier_real_probabilities(self) -> torch.Tensor:
        """The reference classifier's (N, 10) probabilities of the real digits, from their cached features."""
        return class_probabilities(self.classifier.model, self.classifier_real_features)

    @cached_property
    def predictions(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The reference classifier's (probabilities (N, 10), features (N, 128)) of the samples."""
        return predict(self.classifier.model, self.samples()[0])

    @cached_property
    def real_features(self) -> torch.Tensor:
        """Features of the real digits in the space of eval.feature_extractor (FID, KID, precision/recall)."""
        if self.cfg.eval.feature_extractor == MNIST_EXTRACTOR:
            return self.classifier_real_features
        return extract_features(self.real.images, self.cfg.eval.feature_extractor, self.extractor_weights)

    @cached_property
    def generated_features(self) -> torch.Tensor:
        return extract_features(self.samples()[0], self.cfg.eval.feature_extractor, self.extractor_weights)

    @property
    def extractor_weights(self) -> Path:
        if self.cfg.eval.feature_extractor == MNIST_EXTRACTOR:
            return self.classifier.path
        return Path(self.cfg.eval.inception_weights or "")


def reference_features(classifier: LoadedClassifier, data: Mnist, split: str = "test") -> torch.Tensor:
    """torch-fidelity features of one split's digits (test: the 10k test digits), cached on disk under the digest
    of the classifier's weights and of the data file (a shipped and a locally trained classifier of one key have
    different weights)."""
    path = cache_dir() / f"{split}-features-{file_digest(classifier.path)[:16]}-{data.digest[:16]}.pt"
    return saved_or_computed(path, lambda: {"features": extract_features(data.split(split).images, MNIST_EXTRACTOR,
                                                                          classifier.path)})["features"]
