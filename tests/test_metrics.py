"""The metrics measure what they claim: sanity checks on real MNIST with the real reference classifier."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import numpy as np
import pytest
import torch

from harness._util import ConfigError
from harness.data import Mnist, Split
from harness.metrics import (
    MNIST_EXTRACTOR,
    LoadedClassifier,
    ReferenceClassifier,
    _reference as reference,
    accuracy_on,
    best_rate,
    class_metrics,
    class_probabilities,
    class_score,
    digit_metrics,
    extract_features,
    fidelity,
    fit,
    load_or_train,
    mean_pairwise_distance,
    predict,
    training_epochs,
)


def features(images: torch.Tensor, c: LoadedClassifier) -> torch.Tensor:
    return extract_features(images, MNIST_EXTRACTOR, c.path)


@pytest.fixture(scope="module")
def test_features(classifier: LoadedClassifier, mnist: Mnist) -> torch.Tensor:
    return features(mnist.test.images, classifier)


def noisy(images: torch.Tensor, sigma: float, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = images.float() / 255.0 + sigma * torch.randn(images.shape, generator=g)
    return (x.clamp(0, 1) * 255).round().to(torch.uint8)


def test_the_shipped_classifier_is_this_recipes_and_reaches_99_percent(classifier: LoadedClassifier,
                                                                       mnist: Mnist) -> None:
    shipped = sorted(p.name for p in reference.SHIPPED_DIR.glob("*.pt"))
    assert shipped == [reference.weights_name(mnist.digest)], (
        f"harness/metrics/weights holds {shipped}, not the weights of this recipe and data: "
        f"run `{reference.SHIP_COMMAND}` and commit that folder")
    assert classifier.origin == "shipped" and classifier.path.parent == reference.SHIPPED_DIR
    assert classifier.test_accuracy >= 0.99  # 3 epochs
    again = load_or_train(mnist, progress=False)
    assert again.origin == "shipped" and again.test_accuracy == classifier.test_accuracy


def test_fit_learns_digits_in_48_steps(mnist: Mnist, mnist_1k: Mnist) -> None:
    """The recipe really trains: a fresh network from 48 batches of real digits (the shipped one had 1,170)."""
    model = fit(Split(mnist.train.images[:48 * 128], mnist.train.labels[:48 * 128]), progress=False, epochs=1)
    assert accuracy_on(model, mnist_1k.test) > 0.8  # 32 steps: 82%, 64 steps: 95%


@pytest.fixture(scope="module")
def mnist_1k(mnist: Mnist) -> Mnist:
    """MNIST with only the first 1,000 test digits, for tests that need some classifier's accuracy, not its value."""
    return dataclasses.replace(mnist, test=Split(mnist.test.images[:1000], mnist.test.labels[:1000]))


@pytest.fixture
def nothing_shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty shipped folder and cache, as after a change to the recipe: the classifier is trained into the cache."""
    monkeypatch.setattr(reference, "SHIPPED_DIR", tmp_path / "weights")
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_corrupt_cache_is_retrained_not_trusted(classifier: LoadedClassifier, mnist_1k: Mnist, nothing_shipped: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(reference, "fit", lambda train, progress, epochs: calls.append(epochs) or classifier.model)
    target = nothing_shipped / classifier.path.name
    nothing_shipped.mkdir()
    target.write_bytes(b"truncated")
    reloaded = load_or_train(mnist_1k, progress=False)
    assert calls == [training_epochs()] and reloaded.trained_now and reloaded.path == target
    assert torch.load(target, weights_only=True)["test_accuracy"] == reloaded.test_accuracy > 0.98
    assert load_or_train(mnist_1k, progress=False).origin == "cache"


def test_an_unreadable_shipped_file_is_an_error_not_another_judge(mnist: Mnist, nothing_shipped: Path) -> None:
    reference.SHIPPED_DIR.mkdir()
    (reference.SHIPPED_DIR / reference.weights_name(mnist.digest)).write_bytes(b"a git-lfs pointer")
    with pytest.raises(ConfigError, match=r"shipped reference classifier .* is unreadable .*git checkout -- .*"
                                          r"harness classifier --ship"):
        load_or_train(mnist, progress=False)
    assert not nothing_shipped.exists()  # nothing was trained in its place


def test_ship_writes_the_weights_under_their_key_and_retires_the_old(mnist_1k: Mnist, nothing_shipped: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    reference.SHIPPED_DIR.mkdir()
    (reference.SHIPPED_DIR / "classifier-0123456789abcdef.pt").write_bytes(b"an older recipe's weights")
    monkeypatch.setattr(reference, "fit", lambda train, progress, epochs: ReferenceClassifier().eval())
    shipped = reference.ship(mnist_1k, progress=False)
    assert [p.name for p in reference.SHIPPED_DIR.iterdir()] == [reference.weights_name(mnist_1k.digest)]
    loaded = load_or_train(mnist_1k, progress=False)
    assert loaded.origin == "shipped" and loaded.path == shipped.path
    assert loaded.test_accuracy == shipped.test_accuracy < 0.5  # an untrained network, measured on the test digits
    monkeypatch.setenv("HARNESS_CLASSIFIER_EPOCHS", "1")
    with pytest.raises(ConfigError, match="only the default 3-epoch classifier is shipped; unset HARNESS_CLASSIFIER_EPOCHS"):
        reference.ship(mnist_1k, progress=False)


def test_accuracy_on_real_test_digits_matches_the_classifiers_own(classifier: LoadedClassifier, mnist: Mnist) -> None:
    probs, feats = predict(classifier.model, mnist.test.images)
    m = class_metrics(probs, feats, mnist.test.labels, feats, mnist.test.labels)
    assert m["class_acc"] == pytest.approx(classifier.test_accuracy, abs=3e-4)  # other CPUs may round 1-2 digits apart
    assert all(v["diversity_ratio"] == pytest.approx(1.0) for v in m["per_digit"].values())


def one_hot(classes: torch.Tensor, p: float = 1.0) -> torch.Tensor:
    """(N, 10) probabilities: p on each sample's class, the rest spread evenly over the other nine."""
    probs = torch.full((len(classes), 10), (1 - p) / 9, dtype=torch.float64)
    probs[torch.arange(len(classes)), classes] = p
    return probs


def test_the_class_score_and_kl_take_their_closed_forms_at_the_extremes() -> None:
    real = torch.arange(1000) % 10  # MNIST-like proportions: each digit a tenth
    confident = one_hot(torch.arange(500) % 10)  # every sample one sure digit, the ten equally often
    m = digit_metrics(confident, confident, real)
    assert m["class_score"] == m["class_score_reference"] == pytest.approx(10.0)
    assert m["class_kl"] == pytest.approx(0.0, abs=1e-12)
    undecided = torch.full((500, 10), 0.1, dtype=torch.float64)  # no digit told apart: the score's floor
    assert class_score(undecided) == pytest.approx(1.0)
    sevens = one_hot(torch.full((500,), 7))  # one sure digit only: KL(q || r) = log(1 / r_7), score 1
    m = digit_metrics(sevens, confident, real)
    assert m["class_kl"] == pytest.approx(np.log(10)) and m["class_score"] == pytest.approx(1.0)
    two = one_hot(torch.arange(500) % 2)  # two sure digits, equally often: exp(log 2)
    assert class_score(two) == pytest.approx(2.0)


def test_real_digits_score_near_ten_and_noise_the_floor_though_the_classifier_is_sure_of_it(
        classifier: LoadedClassifier, mnist: Mnist, test_features: torch.Tensor) -> None:
    probs, _ = predict(classifier.model, mnist.test.images)
    assert torch.allclose(class_probabilities(classifier.model, test_features), probs, atol=1e-5)
    m = digit_metrics(probs, probs, mnist.test.labels)
    assert m["class_score"] > 9.5 and m["class_kl"] < 0.005
    scores = [class_score(predict(classifier.model, noisy(mnist.test.images, s))[0]) for s in (0.1, 0.3, 0.6)]
    assert m["class_score"] > scores[0] > scores[1] > scores[2] == pytest.approx(1.0, abs=0.01)
    sure = predict(classifier.model, noisy(mnist.test.images, 0.6))[0].max(1).values  # why no "confident share"
    assert float((sure > 0.9).double().mean()) > 0.9


def test_fid_of_held_out_real_digits_is_near_zero_and_kid_of_a_set_with_itself_is_zero(
        classifier: LoadedClassifier, mnist: Mnist, test_features: torch.Tensor) -> None:
    test = test_features
    val = features(mnist.val.images[:2000], classifier)
    real = fidelity(val, test, {"fid", "prc"})
    bad = fidelity(features(noisy(mnist.val.images[:2000], 0.5), classifier), test, {"fid"})
    assert real["fid"] < 0.02 * bad["fid"]  # 0.002 measured (8.4 against 4,216)
    assert real["precision"] > 0.8 and real["recall"] > 0.8  # k=3 manifolds of two real samples overlap ~85-90%
    assert abs(fidelity(test[:3000], test[:3000], {"kid"})["kid"]) < 1e-3 * bad["fid"]


def test_fid_rises_monotonically_with_added_noise(classifier: LoadedClassifier, mnist: Mnist,
                                                 test_features: torch.Tensor) -> None:
    test = test_features
    fids = [fidelity(features(noisy(mnist.val.images[:1000], s), classifier), test, {"fid"})["fid"]
            for s in (0.0, 0.1, 0.2, 0.4, 0.8)]  # 15, 310, 1446, 3427, 5847 measured
    assert fids == sorted(fids) and fids[-1] > 10 * fids[0]


def test_per_digit_fid_separates_digits(classifier: LoadedClassifier, mnist: Mnist) -> None:
    def digit(split, d: int) -> torch.Tensor:  # noqa: ANN001
        return features(split.of_digit(d).images, classifier)

    same = fidelity(digit(mnist.val, 3), digit(mnist.test, 3), {"fid"})["fid"]
    other = fidelity(digit(mnist.val, 3), digit(mnist.test, 8), {"fid"})["fid"]
    assert other > 20 * same


def test_kid_adapts_its_subset_size_to_small_sets(classifier: LoadedClassifier, mnist: Mnist) -> None:
    small = features(mnist.val.images[:50], classifier)
    out = fidelity(small, features(mnist.test.images[:400], classifier), {"kid"})
    assert out["kid_subset_size"] == 50 and np.isfinite(out["kid"])


def test_metrics_are_deterministic(classifier: LoadedClassifier, mnist: Mnist, test_features: torch.Tensor) -> None:
    a = features(mnist.val.images[:500], classifier)
    b = features(mnist.val.images[:500], classifier)
    ref = test_features[:1000]
    assert fidelity(a, ref, {"fid", "kid", "prc"}) == fidelity(b, ref, {"fid", "kid", "prc"})


def test_inception_features_need_a_local_file(mnist: Mnist, tmp_path: Path) -> None:
    from harness._util import ConfigError
    from harness.metrics import INCEPTION

    with pytest.raises(ConfigError, match="Inception weights .* do not exist; give a local"):
        extract_features(mnist.test.images[:2], INCEPTION, tmp_path / "missing.pth")


def test_diversity_is_zero_for_copies_and_grows_with_spread() -> None:
    same = torch.ones(10, 4)
    assert mean_pairwise_distance(same) == 0.0
    spread = torch.randn(200, 4, generator=torch.Generator().manual_seed(0))
    assert mean_pairwise_distance(2 * spread) == pytest.approx(2 * mean_pairwise_distance(spread))


@pytest.mark.parametrize("text", ["0", "two", "-1"])
def test_a_bad_classifier_epochs_variable_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    from harness._util import ConfigError

    monkeypatch.setenv("HARNESS_CLASSIFIER_EPOCHS", text)
    with pytest.raises(ConfigError, match=f"HARNESS_CLASSIFIER_EPOCHS must be a whole number >= 1, got '{text}'"):
        training_epochs()


def test_precision_recall_of_too_few_samples_names_the_minimum() -> None:
    few = torch.randn(3, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    with pytest.raises(ConfigError, match=r"more than 3 generated digits .* got 3: raise eval.samples_per_class"):
        fidelity(few, torch.randn(50, 8, dtype=torch.float64), {"prc"})
    assert set(fidelity(torch.cat([few, few + 1]), torch.randn(50, 8, dtype=torch.float64), {"prc"})) == {"precision", "recall"}


def test_the_matmul_peak_is_its_fastest_window_not_the_mean_over_a_slow_spell() -> None:
    # a fake clock: each call costs 1 s in a slow spell, then 0.5 s; 4 s in all
    costs, now = iter([1.0, 1.0, 0.5, 0.5, 0.5, 0.5]), [0.0]

    def work() -> None:
        now[0] += next(costs)

    best = best_rate(work, flop=10.0, seconds=4.0, windows=2, device=torch.device("cpu"), clock=lambda: now[0])
    assert best == 20.0  # the second window: 4 calls of 10 FLOP in 2 s
    costs, now[0] = iter([1.0, 1.0, 0.5, 0.5, 0.5, 0.5]), 0.0
    one_window = best_rate(work, flop=10.0, seconds=4.0, windows=1, device=torch.device("cpu"), clock=lambda: now[0])
    assert one_window == 15.0  # 6 calls in 4 s: a single window reads the spell into the peak


def test_workers_starting_together_train_the_classifier_once(mnist_1k: Mnist, nothing_shipped: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    calls = []

    def slow_fit(train, progress, epochs):  # noqa: ANN001, ANN202: holds the lock while the other worker asks
        calls.append(epochs)
        time.sleep(0.5)
        return ReferenceClassifier().eval()

    monkeypatch.setattr(reference, "fit", slow_fit)
    loaded = []
    workers = [threading.Thread(target=lambda: loaded.append(load_or_train(mnist_1k, False)))
               for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(calls) == 1 and sorted(c.trained_now for c in loaded) == [False, True]
    assert loaded[0].path == loaded[1].path and loaded[0].test_accuracy == loaded[1].test_accuracy


def test_the_classifier_key_follows_the_recipe_s_code_not_its_comments_or_docstrings() -> None:
    source = inspect.getsource(reference.recipe)
    assert reference.recipe_code(source) == reference.recipe_code(
        source.replace('"""The reference', '"""Reworded: the reference').replace("BATCH = 128", "BATCH = 128  # a note"))
    assert reference.recipe_code(source) != reference.recipe_code(source.replace("BATCH = 128", "BATCH = 64"))
