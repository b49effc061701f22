"""Feature extractors for FID/KID/precision/recall, registered with torch-fidelity.

`harness-mnist` is the reference classifier's 128-d penultimate layer (the default: it knows digits);
torch-fidelity's `inception-v3-compat` is used only with a local weights file, never downloaded.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch
from torch import Tensor

from .._util import ConfigError
from ..data import to_model_range
from ._classifier import FEATURE_DIM
from ._reference import network_from

MNIST_EXTRACTOR = "harness-mnist"
INCEPTION = "inception-v3-compat"
INCEPTION_LAYER = "2048"


@functools.cache
def _register_mnist_extractor() -> None:
    """Register the harness-mnist extractor with torch-fidelity, once; torch-fidelity is imported only here and
    in `fidelity`, when features are extracted, so that commands which only list things stay light."""
    import torch_fidelity
    from torch_fidelity.feature_extractor_base import FeatureExtractorBase
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    class MnistClassifierFeatures(FeatureExtractorBase):
        """torch-fidelity extractor over the reference classifier: uint8 (B, 1|3, 28, 28) -> (B, 128) features."""

        def __init__(self, name: str, features_list: list[str], feature_extractor_weights_path: str | None = None,
                     **kwargs: object) -> None:
            super().__init__(name, features_list)
            if feature_extractor_weights_path is None:
                raise ConfigError("the harness-mnist feature extractor needs the reference classifier's weights file "
                                  "(`harness classifier` prints where it is)")
            self.model = network_from(torch.load(feature_extractor_weights_path, map_location="cpu", weights_only=True))

        @staticmethod
        def get_provided_features_list() -> tuple[str, ...]:
            return (str(FEATURE_DIM), "logits")

        @staticmethod
        def get_default_feature_layer_for_metric(metric: str) -> str:
            return str(FEATURE_DIM)

        @staticmethod
        def can_be_compiled() -> bool:
            return False

        @staticmethod
        def get_dummy_input_for_compile() -> Tensor:
            return torch.zeros(1, 1, 28, 28, dtype=torch.uint8)

        def forward(self, x: Tensor) -> tuple[Tensor, ...]:
            if x.dtype != torch.uint8:
                raise ValueError("harness-mnist expects uint8 images")
            feats = self.model.features(to_model_range(x[:, 0], pad_to_32=False))  # (B, 128)
            out = {str(FEATURE_DIM): feats, "logits": self.model.head(feats)}
            return tuple(out[name] for name in self.features_list)

    if MNIST_EXTRACTOR not in FEATURE_EXTRACTORS_REGISTRY:
        torch_fidelity.register_feature_extractor(MNIST_EXTRACTOR, MnistClassifierFeatures)


@torch.inference_mode()
def extract_features(images_u8: Tensor, extractor: str, weights_path: Path, batch: int = 1000) -> Tensor:
    """(N, 28, 28) uint8 -> (N, D) float64 features of `extractor`, built by torch-fidelity."""
    if extractor == INCEPTION:
        layer, channels = INCEPTION_LAYER, 3
        if not Path(weights_path).is_file():
            raise ConfigError(f"Inception weights {weights_path} do not exist; give a local "
                              f"pt_inception-2015-12-05 file (nothing is downloaded) or use the default harness-mnist features")
    elif extractor == MNIST_EXTRACTOR:
        layer, channels = str(FEATURE_DIM), 1
    else:
        raise ConfigError(f"unknown feature extractor {extractor!r}; valid: {MNIST_EXTRACTOR}, {INCEPTION}")
    from torch_fidelity.utils import create_feature_extractor

    _register_mnist_extractor()
    model = create_feature_extractor(extractor, [layer], cuda=False, verbose=False,
                                     feature_extractor_weights_path=str(weights_path))
    out = [model(chunk.unsqueeze(1).expand(-1, channels, -1, -1).contiguous())[0] for chunk in images_u8.split(batch)]
    return torch.cat(out).double()
