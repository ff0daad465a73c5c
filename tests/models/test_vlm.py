"""VLM rewards: the goal-baseline maths on hand-made embeddings, image reading, and the real
transformers loading code on a tiny CLIP saved to a temporary directory (no hub here)."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rewardsmith
from rewardsmith import SpecError, load_spec
from rewardsmith.models.vlm import (
    GoalReward,
    ImageError,
    goal_baseline_reward,
    load_clip,
    load_image,
)

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
PIL_Image = pytest.importorskip("PIL.Image")

WORDS = "a photo of red green blue square circle robot kneeling humanoid standing on the left right"


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


# -- the maths ------------------------------------------------------------------------------


def test_alpha_zero_is_plain_cosine_similarity() -> None:
    rng = np.random.default_rng(0)
    images, goal, baseline = rng.normal(size=(6, 5)), rng.normal(size=5), rng.normal(size=5)
    cosines = [_unit(x) @ _unit(goal) for x in images]
    assert goal_baseline_reward(images, goal) == pytest.approx(cosines)
    # The baseline plays no part at α = 0.
    assert goal_baseline_reward(images, goal, baseline, alpha=0.0) == pytest.approx(cosines)


def test_alpha_one_is_the_projection_onto_the_baseline_goal_line() -> None:
    rng = np.random.default_rng(1)
    images, goal, baseline = rng.normal(size=(6, 5)), rng.normal(size=5), rng.normal(size=5)
    g, b = _unit(goal), _unit(baseline)
    d = _unit(g - b)
    projection = np.outer(d, d)
    expected = [1 - 0.5 * np.sum((projection @ (_unit(x) - g)) ** 2) for x in images]
    assert goal_baseline_reward(images, goal, baseline, alpha=1.0) == pytest.approx(expected)
    # ... which is 1 − ½((x − g)·d)²: only the part along the line counts.
    along = [(_unit(x) - g) @ d for x in images]
    assert goal_baseline_reward(images, goal, baseline, alpha=1.0) == pytest.approx(
        [1 - 0.5 * a**2 for a in along]
    )


@pytest.mark.parametrize("alpha", [0.25, 0.5, 0.9])
def test_intermediate_alpha_is_the_papers_matrix_formula(alpha: float) -> None:
    rng = np.random.default_rng(2)
    images, goal, baseline = rng.normal(size=(4, 3)), rng.normal(size=3), rng.normal(size=3)
    g, b = _unit(goal), _unit(baseline)
    d = _unit(g - b)
    m = alpha * np.outer(d, d) + (1 - alpha) * np.eye(3)
    expected = [1 - 0.5 * np.sum((m @ (_unit(x) - g)) ** 2) for x in images]
    assert goal_baseline_reward(images, goal, baseline, alpha=alpha) == pytest.approx(expected)


def test_projection_ignores_what_goal_and_baseline_share() -> None:
    # Axis 0 is the goal ("kneeling"), axis 1 the baseline ("a robot"), axis 2 a distractor
    # (e.g. background colour) that both prompts lack. Two frames equally far along the goal
    # direction but with different distractors tie at α = 1, not at α = 0.
    goal, baseline = np.array([1.0, 1.0, 0.0]), np.array([0.0, 1.0, 0.0])
    frames = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.3], [0.0, 1.0, 0.0]])
    plain = goal_baseline_reward(frames, goal, baseline, alpha=0.0)
    projected = goal_baseline_reward(frames, goal, baseline, alpha=1.0)
    assert plain[0] > plain[1] > plain[2]
    assert projected[0] > projected[2] and projected[1] > projected[2]


def test_bad_inputs_are_errors() -> None:
    x = np.ones((1, 2))
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\]"):
        goal_baseline_reward(x, np.ones(2), np.zeros(2), alpha=1.5)
    with pytest.raises(ValueError, match="needs a baseline"):
        goal_baseline_reward(x, np.ones(2), alpha=0.5)
    with pytest.raises(ValueError, match="identical"):
        goal_baseline_reward(x, np.ones(2), 2 * np.ones(2), alpha=0.5)
    with pytest.raises(ValueError, match="zero"):
        goal_baseline_reward(np.zeros((1, 2)), np.ones(2))


# -- images ---------------------------------------------------------------------------------


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    PIL_Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_images_from_paths_bytes_data_urls_arrays_and_lists(tmp_path: Path) -> None:
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 10
    raw = _png(rgb)
    (tmp_path / "frame.png").write_bytes(raw)
    url = "data:image/png;base64," + base64.b64encode(raw).decode()
    for source in (
        tmp_path / "frame.png",
        str(tmp_path / "frame.png"),
        raw,
        url,
        rgb,
        rgb.tolist(),
    ):
        assert np.array_equal(load_image(source), rgb)
    assert np.array_equal(load_image(rgb / 255.0), rgb)  # floats are intensities in [0, 1]
    rgba = np.dstack([rgb, np.full((2, 3), 7, dtype=np.uint8)])
    assert np.array_equal(load_image(rgba), rgb)
    grey = load_image(np.array([[0, 255]], dtype=np.uint8))
    assert grey.shape == (1, 2, 3) and grey[0, 1].tolist() == [255, 255, 255]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (b"not a png", "cannot decode"),
        ("/nonexistent/frame.png", "cannot read image file"),
        ("data:image/png,abc", "base64"),
        ("data:image/png;base64,@@@", "not valid base64"),
        (np.zeros((2, 2, 5)), "HxW"),
        (np.array([[np.nan, 0.0]]), "NaN"),
        ([["a", "b"]], "numeric"),
    ],
)
def test_unreadable_images_say_why(source: Any, message: str) -> None:
    with pytest.raises(ImageError, match=message):
        load_image(source)


# -- a tiny real CLIP --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised CLIP (2 layers, 32-dim) with a word-level tokenizer and a CLIP
    image processor, written with save_pretrained like any downloaded checkpoint."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    vocab = {"<pad>": 0, "<unk>": 1, "<s>": 2, "</s>": 3}
    for word in WORDS.split():
        vocab.setdefault(word, len(vocab))
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    # CLIP pools the text at the end-of-text token: without it every text would pool position 0.
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 2), ("</s>", 3)]
    )
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token="<pad>",
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        model_max_length=16,
    )
    text = {
        "vocab_size": len(vocab),
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "max_position_embeddings": 16,
        "pad_token_id": 0,
        "bos_token_id": 2,
        "eos_token_id": 3,
    }
    vision = {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "image_size": 32,
        "patch_size": 8,
    }
    torch.manual_seed(0)
    config = transformers.CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)
    model = transformers.CLIPModel(config)
    processor = transformers.CLIPProcessor(
        image_processor=transformers.CLIPImageProcessor(
            size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
        ),
        tokenizer=fast,
    )
    directory = tmp_path_factory.mktemp("tiny-clip")
    model.save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory


def _frames(count: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size=(40, 48, 3), dtype=np.uint8) for _ in range(count)]


def test_load_clip_matches_the_models_own_embeddings(tiny_clip: Path) -> None:
    encoder = load_clip(tiny_clip, device="cpu")
    frames = _frames(3)
    texts = ["a photo of a red square", "a robot kneeling"]
    images, embedded = encoder.embed_images(frames), encoder.embed_texts(texts)
    assert images.shape == (3, 16) and embedded.shape == (2, 16)
    # The model's forward pass returns normalised embeddings of the same inputs.
    model = transformers.CLIPModel.from_pretrained(tiny_clip).eval()
    processor = transformers.CLIPProcessor.from_pretrained(tiny_clip)
    inputs = processor(text=texts, images=frames, return_tensors="pt", padding=True)
    with torch.no_grad():
        out = model(**inputs)
    assert np.allclose(_rows(images), out.image_embeds.numpy(), atol=1e-5)
    assert np.allclose(_rows(embedded), out.text_embeds.numpy(), atol=1e-5)


def _rows(array: np.ndarray) -> np.ndarray:
    return array / np.linalg.norm(array, axis=1, keepdims=True)


def test_goal_reward_batches_frames_without_changing_values(tiny_clip: Path) -> None:
    encoder = load_clip(tiny_clip, device="cpu")
    calls: list[int] = []
    original = encoder.embed_images

    def counting(images: Any) -> np.ndarray:
        calls.append(len(images))
        return original(images)

    encoder.embed_images = counting  # type: ignore[method-assign]
    frames = _frames(5, seed=3)
    kwargs = {"goal": "a robot kneeling", "baseline": "a robot", "alpha": 0.5}
    batched = GoalReward(encoder, batch_size=2, **kwargs)(frames)  # type: ignore[arg-type]
    assert calls == [2, 2, 1]
    one_pass = GoalReward(encoder, batch_size=32, **kwargs)(frames)  # type: ignore[arg-type]
    assert calls[3:] == [5]
    assert batched == pytest.approx(one_pass, abs=1e-6)
    text = encoder.embed_texts(["a robot kneeling", "a robot"])
    expected = goal_baseline_reward(original(frames), text[0], text[1], alpha=0.5)
    assert one_pass == pytest.approx(expected, abs=1e-6)


def test_a_model_without_image_text_features_is_refused(tmp_path: Path) -> None:
    config = transformers.BertConfig(
        vocab_size=10,
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=1,
        intermediate_size=8,
    )
    transformers.BertModel(config).save_pretrained(tmp_path)
    from rewardsmith.models.vlm.encoder import ClipEncoder

    with pytest.raises(ValueError, match="not a CLIP-family"):
        ClipEncoder(transformers.AutoModel.from_pretrained(tmp_path), None, "cpu")


# -- the vlm.clip spec reward -------------------------------------------------------------------


def test_vlm_clip_scores_rows_with_images(tiny_clip: Path, tmp_path: Path) -> None:
    frames = _frames(3, seed=5)
    (tmp_path / "f0.png").write_bytes(_png(frames[0]))
    rows = [
        {"completion": "", "image": str(tmp_path / "f0.png")},
        {"completion": "", "image": _png(frames[1])},
        {"completion": "", "image": frames[2].tolist()},
        {"completion": "", "image": b"broken"},
        {"completion": ""},
    ]
    params = {"goal": "a robot kneeling", "baseline": "a robot", "alpha": 0.5}
    term = {"model": str(tiny_clip), "device": "cpu", **params}
    scores = rewardsmith.score(
        rows, {"terms": [{"name": "clip", "use": "vlm.clip", "params": term}]}
    )
    expected = GoalReward(load_clip(tiny_clip, device="cpu"), **params)(frames)  # type: ignore[arg-type]
    assert [s.value for s in scores[:3]] == pytest.approx(expected.tolist(), abs=1e-5)
    assert scores[3].status == "error" and "cannot decode" in scores[3].reason
    assert scores[4].status == "error" and "no image in field 'image'" in scores[4].reason


def test_vlm_clip_without_a_goal_scores_image_text_pairs(tiny_clip: Path) -> None:
    frames = _frames(2, seed=7)
    answers = ["a red square on the left", "a green circle"]
    rows = [
        {"prompt": "what is shown", "completion": answer, "picture": frame}
        for frame, answer in zip(frames, answers, strict=True)
    ]
    spec = {
        "terms": [
            {
                "name": "clip",
                "use": "vlm.clip",
                "params": {"model": str(tiny_clip), "image_field": "picture", "device": "cpu"},
            }
        ]
    }
    scores = rewardsmith.score(rows, spec, workers=1)
    encoder = load_clip(tiny_clip, device="cpu")
    images, texts = encoder.embed_images(frames), encoder.embed_texts(answers)
    cosines = [_unit(images[i]) @ _unit(texts[i]) for i in range(2)]
    assert [s.value for s in scores] == pytest.approx(cosines, abs=1e-5)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"alpha": 1.5, "baseline": "a robot"}, r"alpha must be in \[0, 1\]"),
        ({"alpha": 0.5}, "needs a baseline"),
        ({"model": "/no/such/dir/../x"}, "neither a model directory"),
    ],
)
def test_bad_vlm_params_fail_when_the_spec_loads(
    tiny_clip: Path, params: dict[str, Any], message: str
) -> None:
    term = {"name": "clip", "use": "vlm.clip", "params": {"model": str(tiny_clip), **params}}
    with pytest.raises(SpecError, match=message):
        load_spec({"terms": [term]})


def test_a_directory_without_a_config_is_not_a_model(tmp_path: Path) -> None:
    term = {"name": "clip", "use": "vlm.clip", "params": {"model": str(tmp_path)}}
    with pytest.raises(SpecError, match=r"without config\.json"):
        load_spec({"terms": [term]})


def test_vlm_clip_is_registered_with_typed_params() -> None:
    import typing

    found = rewardsmith.get_reward("vlm.clip")
    assert found.kind == "io"
    fields = found.params_model().model_fields
    assert set(fields) >= {"model", "goal", "baseline", "alpha", "image_field", "batch_size"}
    assert all(field.annotation is not typing.Any for field in fields.values())


def test_auto_device_is_cpu_without_cuda_and_cuda_gives_the_cpu_values(tiny_clip: Path) -> None:
    encoder = load_clip(tiny_clip)  # device="auto"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert encoder.device == expected
    if not torch.cuda.is_available():
        return
    frames = _frames(4, seed=11)
    on_gpu = GoalReward(encoder, "a robot kneeling", "a robot", alpha=0.5)(frames)
    on_cpu = GoalReward(
        load_clip(tiny_clip, device="cpu"), "a robot kneeling", "a robot", alpha=0.5
    )(frames)
    assert on_gpu == pytest.approx(on_cpu, abs=1e-4)
