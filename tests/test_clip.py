"""CLIP scoring runs open_clip's real loading and encoding code on a tiny, randomly initialised model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from harness._util import ConfigError
from harness.config import CLIP_TEMPLATES, DATASETS, resolve_config
from harness.metrics import ClipUnavailable, clip_metrics, encode_images, encode_prompts, load_clip


def test_local_dir_weights_are_loaded_not_reinitialised(tiny_clip_dir: Path) -> None:
    saved = torch.load(tiny_clip_dir / "open_clip_pytorch_model.bin", weights_only=True)
    torch.manual_seed(123)  # a fresh random init would differ from the saved weights
    clip = load_clip(f"local-dir:{tiny_clip_dir}", None, "openai")
    for name, tensor in clip.model.state_dict().items():
        assert torch.equal(tensor, saved[name]), name


def test_metrics_are_in_range_and_consistent(tiny_clip_dir: Path, mnist) -> None:  # noqa: ANN001
    clip = load_clip(f"local-dir:{tiny_clip_dir}", None, "openai")
    images, labels = mnist.test.images[:60], mnist.test.labels[:60]
    emb = encode_images(clip, images)
    text = encode_prompts(clip, CLIP_TEMPLATES, tuple("0123456789"))
    assert emb.shape == (60, 32) and text.shape == (3, 10, 32)
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(60))
    m = clip_metrics(emb, labels, text, CLIP_TEMPLATES, (CLIP_TEMPLATES[2], CLIP_TEMPLATES[1]))
    assert -100 <= m["clip_score"] <= 100 and 0 <= m["clip_zero_shot_acc"] <= 1 and 0 < m["clip_preference"] < 1
    for values in m["per_digit"].values():
        assert sum(values["clip_template_share"].values()) == pytest.approx(1.0)
    again = clip_metrics(encode_images(clip, images), labels, text, CLIP_TEMPLATES, (CLIP_TEMPLATES[2], CLIP_TEMPLATES[1]))
    assert again == m


def test_zero_shot_accuracy_is_exact_for_embeddings_that_equal_the_prompts() -> None:
    """An image whose embedding is its digit's prompt ensemble is classified correctly: checks the argmax wiring."""
    text = torch.nn.functional.normalize(torch.randn(2, 10, 16, generator=torch.Generator().manual_seed(0)), dim=-1)
    labels = torch.tensor([3, 7, 0])
    images = torch.nn.functional.normalize(text.mean(0), dim=-1)[labels]
    m = clip_metrics(images, labels, text, ("a {d}", "b {d}"), ("a {d}", "b {d}"))
    assert m["clip_zero_shot_acc"] == 1.0


def test_missing_weights_say_what_to_set_and_a_bad_path_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    with pytest.raises(ClipUnavailable, match="set eval.clip_weights=PATH .* nothing is downloaded"):
        load_clip("ViT-B-32", None, "openai")
    with pytest.raises(ConfigError, match="eval.clip_weights=/no/such/file.pt does not exist"):
        load_clip("ViT-B-32", "/no/such/file.pt", "openai")
    with pytest.raises(ConfigError, match="holds no open_clip_config.json"):
        load_clip(f"local-dir:{tmp_path}", None, "openai")


def test_prompts_name_each_data_sets_classes_unless_eval_sets_its_own() -> None:
    """eval.clip_templates at its default: the data set's prompts (MNIST's are that default); set: eval's."""
    assert resolve_config().clip_prompts()[0] == CLIP_TEMPLATES
    fashion = resolve_config(overrides=["data.dataset=fashion_mnist", "data.path=/x"])
    templates, preference = fashion.clip_prompts()
    assert templates == DATASETS.get("fashion_mnist").clip_templates and set(preference) <= set(templates)
    own = resolve_config(overrides=["data.dataset=fashion_mnist", "data.path=/x", "eval.clip_templates=['{d} shoe']",
                                    "eval.clip_preference=['{d} shoe', '{d} shoe']"])
    assert own.clip_prompts() == (("{d} shoe",), ("{d} shoe", "{d} shoe"))
    for _, about in DATASETS.items():
        assert all("{d}" in t for t in about.clip_templates) and set(about.clip_preference) <= set(about.clip_templates)
