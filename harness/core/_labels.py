"""Class labels of a class-conditional model, and the null label that classifier-free guidance trains with."""

from __future__ import annotations

NUM_CLASSES = 10  # MNIST's digits 0-9
CLASSES = range(NUM_CLASSES)  # every class label, in order
NULL_LABEL = NUM_CLASSES  # the label the network sees when the condition is dropped (Ho & Salimans 2022)
