"""Measurements of trained models and their samples: a registry of metrics (`METRICS`) and `evaluate`."""

from ._classes import class_metrics, class_score, digit_metrics, mean_pairwise_distance
from ._classifier import ReferenceClassifier, fit
from ._clip import (
    LOGIT_SCALE,
    ClipUnavailable,
    clip_metrics,
    encode_images,
    encode_prompts,
    load_clip,
    per_sample_clip,
    preference_share,
)
from ._context import Evaluation, reference_features
from ._evaluate import default_metrics, evaluate, parse_metrics, save_digit_grid
from ._features import INCEPTION, MNIST_EXTRACTOR, extract_features
from ._fidelity import PRC_NEIGHBORHOOD, fidelity
from ._reference import (
    SHIPPED_DIR,
    LoadedClassifier,
    accuracy_on,
    class_probabilities,
    load_or_train,
    predict,
    ship,
    training_epochs,
)
from ._registry import (
    HIGHER,
    LOWER,
    METRICS,
    NEITHER,
    NETWORK,
    SAMPLES,
    Column,
    Metric,
    better,
    columns,
    flat_figures,
    metric,
)
from ._score import INTERVAL_KEYS, bootstrap_intervals, sample_metrics, score, score_config, score_files
from ._speed import (
    TrainSpeed,
    best_rate,
    finished,
    measure_sampling,
    measure_train_step,
    step_profile,
    synchronize,
    timed,
    timed_generate,
    train_step,
)

__all__ = ["HIGHER", "INCEPTION", "LOGIT_SCALE", "LOWER", "METRICS", "MNIST_EXTRACTOR", "NEITHER", "NETWORK",
           "PRC_NEIGHBORHOOD", "SAMPLES", "SHIPPED_DIR", "accuracy_on", "best_rate", "bootstrap_intervals",
           "INTERVAL_KEYS", "better", "class_metrics", "class_probabilities", "class_score", "clip_metrics",
           "ClipUnavailable", "Column", "columns", "default_metrics", "digit_metrics", "encode_images",
           "encode_prompts", "evaluate", "Evaluation", "extract_features", "fidelity", "finished", "fit",
           "flat_figures", "load_clip", "load_or_train", "LoadedClassifier", "mean_pairwise_distance",
           "measure_sampling", "measure_train_step", "step_profile", "Metric", "metric", "parse_metrics",
           "per_sample_clip", "predict", "preference_share", "reference_features", "ReferenceClassifier",
           "sample_metrics", "save_digit_grid", "score", "score_config", "score_files", "ship", "synchronize", "timed",
           "timed_generate", "train_step", "training_epochs", "TrainSpeed"]
