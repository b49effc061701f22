"""The reference MNIST classifier's recipe: its network and how it is trained on the train split.

Only what decides its weights lives here: `_reference.classifier_key` hashes this file's code, so an edit
to it retires the shipped weights (the classifier is then trained anew) until `harness classifier --ship`.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data import Split, to_model_range

EPOCHS = 3  # passes over the 50k training digits; $HARNESS_CLASSIFIER_EPOCHS overrides
BATCH = 128
LR = 2e-3
SEED = 0
FEATURE_DIM = 128  # width of the penultimate layer (the feature space of FID/KID and diversity)


class ReferenceClassifier(nn.Module):
    """A small CNN: two conv pairs with BatchNorm and max-pooling, then a 128-d feature layer.

    Takes (B, 1, 28, 28) in [-1, 1]; `features` gives the (B, 128) penultimate activations.
    """

    def __init__(self) -> None:
        super().__init__()

        def conv(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

        self.body = nn.Sequential(*conv(1, 32), *conv(32, 32), nn.MaxPool2d(2),  # (B, 32, 14, 14)
                                  *conv(32, 64), *conv(64, 64), nn.MaxPool2d(2),  # (B, 64, 7, 7)
                                  nn.Flatten(), nn.Dropout(0.25), nn.Linear(64 * 49, FEATURE_DIM), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(0.25), nn.Linear(FEATURE_DIM, 10))

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)  # (B, 128)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))  # (B, 10) logits


def fit(train: Split, progress: bool, epochs: int = EPOCHS) -> ReferenceClassifier:
    """Adam with a one-cycle learning rate and +-2 pixel random shifts, `epochs` passes."""
    torch.manual_seed(SEED)
    g = torch.Generator().manual_seed(SEED)
    model = ReferenceClassifier()
    x_all, y_all = to_model_range(train.images, False), train.labels
    steps = epochs * (len(y_all) // BATCH)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=steps)
    model.train()
    t0 = time.perf_counter()
    for epoch in range(epochs):
        order = torch.randperm(len(y_all), generator=g)
        for idx in order[: len(order) // BATCH * BATCH].split(BATCH):
            loss = F.cross_entropy(model(random_shift(x_all[idx], g)), y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        if progress:
            print(f"reference classifier: epoch {epoch + 1}/{epochs} done, {time.perf_counter() - t0:.0f} s", flush=True)
    return model.eval()


def random_shift(x: Tensor, g: torch.Generator, max_shift: int = 2) -> Tensor:
    """Translate each image by up to `max_shift` pixels (background fills in)."""
    padded = F.pad(x, (max_shift,) * 4, value=-1.0)
    dx, dy = torch.randint(0, 2 * max_shift + 1, (2,), generator=g).tolist()
    return padded[..., dy : dy + x.shape[-2], dx : dx + x.shape[-1]]
