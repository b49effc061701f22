import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import smoke_overrides

from harness._util import ConfigError, DataError
from harness.cli import main
from harness.config import resolve_config
from harness.data import Mnist
from harness.metrics import (
    HIGHER,
    LOWER,
    METRICS,
    MNIST_EXTRACTOR,
    NEITHER,
    NETWORK,
    PRC_NEIGHBORHOOD,
    SAMPLES,
    LoadedClassifier,
    better,
    columns,
    default_metrics,
    evaluate,
    extract_features,
    fidelity,
    flat_figures,
    parse_metrics,
    reference_features,
)
from harness.runs import load_samples, save_samples, train


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("eval") / "run"
    train(resolve_config("baseline", "smoke", smoke_overrides()), out, progress=False, grid=False)
    return out


def test_evaluate_writes_every_metric_overall_and_per_digit(smoke_run: Path, classifier: LoadedClassifier) -> None:
    result = evaluate(smoke_run, {"fid", "kid", "prc", "class_acc", "class_score", "speed", "mse"},
                      samples_per_class=5)
    saved = json.loads((smoke_run / "metrics.json").read_text())
    assert saved == json.loads(json.dumps(result))
    assert result["samples"]["count"] == 50
    for key in ("fid", "kid", "precision", "recall", "class_acc", "confidence", "diversity", "class_score",
                "class_kl", "class_score_reference", "mse"):
        assert np.isfinite(result[key]), key
    assert sorted(result["per_digit"]) == [str(d) for d in range(10)]
    assert all({"class_acc", "fid", "kid", "diversity_ratio"} <= set(v) for v in result["per_digit"].values())
    assert len(result["mse_buckets"]) == 10 and result["mse"] == pytest.approx(
        np.mean([b["mse"] for b in result["mse_buckets"]]))
    assert result["speed"]["parameters"] > 0 and result["speed"]["sampling_images_per_s"] > 0


def test_real_digits_as_samples_score_like_real_data(smoke_run: Path, mnist: Mnist, classifier: LoadedClassifier,
                                                     tmp_path: Path) -> None:
    path = tmp_path / "real.npz"
    save_samples(path, mnist.val.images[:2000], mnist.val.labels[:2000])
    real = evaluate(smoke_run, {"fid", "class_acc", "class_score"}, samples=path)
    fake = evaluate(smoke_run, {"fid", "class_acc", "class_score"}, samples_per_class=20)
    assert real["class_acc"] > 0.98 and fake["class_acc"] < 0.5  # 20 smoke steps draw no digits yet
    assert real["class_score"] > 9.5 and fake["class_score"] < 5
    assert real["fid"] < 0.05 * fake["fid"]


def test_the_same_samples_give_the_same_numbers(smoke_run: Path, mnist: Mnist, classifier: LoadedClassifier,
                                                tmp_path: Path) -> None:
    path = tmp_path / "s.npz"
    save_samples(path, mnist.val.images[:500], mnist.val.labels[:500])
    first = evaluate(smoke_run, {"fid", "kid", "prc", "class_acc"}, samples=path)
    assert evaluate(smoke_run, {"fid", "kid", "prc", "class_acc"}, samples=path) == first


@pytest.mark.parametrize("images, labels, message", [
    (np.zeros((4, 28, 28), np.float32), np.zeros(4, np.int64), "state their range: --range=0,1 or --range=-1,1"),
    (np.zeros((4, 32, 32), np.uint8), np.zeros(4, np.int64), "images must be (N, 28, 28) or (N, 1, 28, 28)"),
    (np.zeros((4, 28, 28), np.int32), np.zeros(4, np.int64), "images must be uint8, or float in a stated range"),
    (np.zeros((4, 28, 28), np.uint8), np.zeros(3, np.int64), "labels must be (4,) integers"),
    (np.zeros((4, 28, 28), np.uint8), np.full(4, 12), "labels must be digits 0-9"),
])
def test_bad_sample_files_are_named(images: np.ndarray, labels: np.ndarray, message: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, images=images, labels=labels)
    with pytest.raises(DataError) as e:
        load_samples(path)
    assert message in str(e.value)


def test_unknown_metric_is_rejected_with_the_valid_list() -> None:
    with pytest.raises(ConfigError,
                       match="unknown metric fidd; valid: mse, fid, kid, class_acc, class_score, prc, clip, speed"):
        parse_metrics("fid,fidd")


def test_cli_evaluate_prints_a_table(smoke_run: Path, classifier: LoadedClassifier,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", str(smoke_run), "--metrics", "class_acc,fid", "--per-class", "3"]) == 0
    out = capsys.readouterr().out
    assert "samples: 30 (generated: dpmpp_2m" in out and "digit" in out and "metrics.json" in out
    assert main(["evaluate", str(smoke_run), "--metrics", "bogus"]) == 2


def test_too_few_samples_per_digit_for_precision_recall_leave_it_out_there_and_say_so(
        smoke_run: Path, classifier: LoadedClassifier, tmp_path: Path) -> None:
    result = evaluate(smoke_run, {"fid", "prc"}, samples_per_class=2, out=tmp_path / "m.json")
    assert 0 <= result["precision"] <= 1 and "fid" in result["per_digit"]["0"]  # overall: 20 digits are enough
    assert "precision" not in result["per_digit"]["0"]
    assert any("left out for digit(s) 0, 1, 2" in c for c in result["cautions"])


def test_eval_reference_compares_with_the_validation_digits_so_selection_leaves_the_test_digits_alone(
        smoke_run: Path, mnist: Mnist, classifier: LoadedClassifier, tmp_path: Path) -> None:
    path = tmp_path / "val.npz"
    save_samples(path, mnist.val.images[:1000], mnist.val.labels[:1000])
    test = evaluate(smoke_run, {"fid", "class_acc"}, samples=path, out=tmp_path / "a.json")
    val = evaluate(smoke_run, {"fid", "class_acc"}, samples=path, overrides=["eval.reference=validation"],
                   out=tmp_path / "b.json")
    assert (test["reference"], val["reference"]) == ("test", "validation")
    # the same samples' FID recomputed by torch-fidelity against each split's features: each names its own split
    generated = extract_features(mnist.val.images[:1000], MNIST_EXTRACTOR, classifier.path)
    for result, split in ((test, "test"), (val, "validation")):
        assert result["fid"] == pytest.approx(fidelity(generated, reference_features(classifier, mnist, split),
                                                       {"fid"})["fid"], rel=1e-6)
    assert val["fid"] != test["fid"] and val["class_acc"] == test["class_acc"]  # the classifier judges alike
    assert val["per_digit"]["3"]["diversity_ratio"] != test["per_digit"]["3"]["diversity_ratio"]


def test_use_ema_false_evaluates_the_raw_weights(smoke_run: Path, classifier: LoadedClassifier, tmp_path: Path) -> None:
    ema = evaluate(smoke_run, {"mse"}, out=tmp_path / "a.json")
    raw = evaluate(smoke_run, {"mse"}, overrides=["sample.use_ema=false"], out=tmp_path / "b.json")
    assert ema["ema_weights"] is True and raw["ema_weights"] is False
    assert ema["mse"] != raw["mse"]


@pytest.mark.parametrize("name", METRICS.names())
def test_every_registered_metric_writes_the_figures_it_declares(name: str, smoke_run: Path, classifier: LoadedClassifier,
                                                                tiny_clip_dir: Path, tmp_path: Path) -> None:
    metric = METRICS.get(name)
    assert metric.doc and metric.needs in (SAMPLES, NETWORK) and all(c.better in (HIGHER, LOWER, NEITHER)
                                                                   for c in metric.columns)
    overrides = [f"eval.clip_model=local-dir:{tiny_clip_dir}"] if name == "clip" else []
    result = evaluate(smoke_run, {name}, samples_per_class=PRC_NEIGHBORHOOD + 2, overrides=overrides,
                      out=tmp_path / "metrics.json")
    figures = flat_figures(result)
    for column in metric.columns:
        if column.overall:
            assert math.isfinite(figures[column.key]), (name, column.key)
        if column.per_digit:
            assert all(column.key in result["per_digit"][str(d)] for d in range(10)), (name, column.key)
    assert ("samples" in result) == (metric.needs == SAMPLES)  # a network-only metric draws nothing
    if name == "speed":
        assert result["speed"]["sampling_images_per_s"] > 0 and result["speed"]["parameters"] > 0


def test_the_registry_s_columns_are_unique_and_its_directions_are_read_per_digit_too() -> None:
    keys = [c.key for c in columns()]
    assert len(keys) == len(set(keys))
    assert better("fid") == better("fid_3") == LOWER and better("class_acc_0") == HIGHER and better("nothing") == NEITHER
    assert default_metrics().split(",") == [n for n in METRICS.names() if n != "clip"]
