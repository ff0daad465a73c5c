"""Images and texts into one embedding space: CLIP-family models through transformers.

`ImageTextEncoder` is the small protocol the VLM rewards need (a batch of RGB frames in, a batch
of texts in, one embedding row each). `ClipEncoder` implements it with any transformers model
that has ``get_image_features`` and ``get_text_features`` (CLIP, OpenCLIP conversions, SigLIP,
...), loaded by `load_clip` from a local directory or a Hugging Face id with ``AutoModel`` and
``AutoProcessor``. `load_image` turns what a row may carry (a path, bytes, a ``data:`` URL, an
array or nested lists) into an ``(H, W, 3)`` uint8 array.

torch, transformers and Pillow come with the ``[vlm]`` extra and are imported on first use.

Example:
    >>> load_image([[[0, 0, 0], [255, 255, 255]]]).shape
    (1, 2, 3)
    >>> load_image(np.ones((2, 2), dtype=np.float32))[0, 0].tolist()
    [255, 255, 255]
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rewardsmith.core.errors import RewardsmithError
from rewardsmith.models.deps import require

__all__ = ["ClipEncoder", "ImageError", "ImageLike", "ImageTextEncoder", "load_clip", "load_image"]

ImageLike = str | bytes | Path | np.ndarray | Sequence[Any]
"""A path, raw file bytes, a ``data:image/...;base64,`` URL, an HxW(x3|4) array or nested lists."""


class ImageError(RewardsmithError, ValueError):
    """An image cannot be read or has the wrong shape; the message says which and why."""


@runtime_checkable
class ImageTextEncoder(Protocol):
    """Embeds RGB frames and texts into the same space (one row per input)."""

    def embed_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """``(n, d)`` embeddings of ``n`` ``(H, W, 3)`` uint8 frames."""
        ...

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """``(n, d)`` embeddings of ``n`` texts."""
        ...


def load_image(image: ImageLike) -> np.ndarray:
    """An ``(H, W, 3)`` uint8 RGB array from a path, bytes, ``data:`` URL, array or lists.

    Float arrays are read as intensities in [0, 1]; grey images are repeated to three channels
    and an alpha channel is dropped.

    Raises:
        ImageError: the file cannot be read or decoded, or the array has no image shape.
    """
    if isinstance(image, bytes):
        return _decode(image, "bytes")
    if isinstance(image, str) and image.startswith("data:"):
        header, _, payload = image.partition(",")
        if ";base64" not in header:
            raise ImageError("a data: URL image must be base64-encoded (data:image/png;base64,...)")
        try:
            return _decode(base64.b64decode(payload, validate=True), "data: URL")
        except binascii.Error as exc:
            raise ImageError(f"data: URL is not valid base64: {exc}") from None
    if isinstance(image, str | Path):
        try:
            raw = Path(image).read_bytes()
        except OSError as exc:
            raise ImageError(
                f"cannot read image file {str(image)!r}: {exc.strerror or exc}"
            ) from None
        return _decode(raw, repr(str(image)))
    try:
        array = np.asarray(image)
    except (TypeError, ValueError) as exc:
        raise ImageError(f"not an image: {type(image).__name__} ({exc})") from None
    return _as_rgb(array)


def _decode(raw: bytes, where: str) -> np.ndarray:
    pil = require("PIL.Image", "vlm")
    try:
        with pil.open(io.BytesIO(raw)) as opened:
            return np.asarray(opened.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError) as exc:  # PIL's UnidentifiedImageError is an OSError
        raise ImageError(f"cannot decode image from {where}: {exc}") from None


def _as_rgb(array: np.ndarray) -> np.ndarray:
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_
    ):
        raise ImageError(f"an image array must be numeric, got dtype {array.dtype}")
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4) or 0 in array.shape:
        raise ImageError(f"an image array must be HxW, HxWx3 or HxWx4, got shape {array.shape}")
    array = array[:, :, :3]
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise ImageError("a float image array has NaN or infinite values")
        # Floats are intensities in [0, 1] (what most renderers and torchvision produce).
        return np.clip(np.rint(array * 255.0), 0, 255).astype(np.uint8)
    return np.clip(array, 0, 255).astype(np.uint8)


class ClipEncoder:
    """A transformers CLIP-family model and its processor, as an `ImageTextEncoder`.

    Calls run under ``torch.inference_mode`` on the model's device; inputs beyond the model's
    text length are truncated by the processor.
    """

    def __init__(self, model: Any, processor: Any, device: str) -> None:
        for method in ("get_image_features", "get_text_features"):
            if not hasattr(model, method):
                raise ValueError(
                    f"{type(model).__name__} has no {method}: not a CLIP-family (image-text) model"
                )
        self.model = model
        self.processor = processor
        self.device = device

    def embed_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """``(n, d)`` image embeddings (not normalised)."""
        torch = require("torch", "vlm")
        inputs = self.processor(images=list(images), return_tensors="pt")
        with torch.inference_mode():
            pixels = inputs["pixel_values"].to(self.device, dtype=self._dtype())
            features = self.model.get_image_features(pixel_values=pixels)
        return _features(features)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """``(n, d)`` text embeddings (not normalised)."""
        torch = require("torch", "vlm")
        inputs = self.processor(
            text=list(texts), return_tensors="pt", padding=True, truncation=True
        )
        with torch.inference_mode():
            tensors = {key: value.to(self.device) for key, value in inputs.items()}
            features = self.model.get_text_features(**tensors)
        return _features(features)

    def _dtype(self) -> Any:
        return next(self.model.parameters()).dtype


def _features(output: Any) -> np.ndarray:
    # transformers 5 returns a model output whose pooler_output is the projected embedding;
    # earlier versions return the tensor itself.
    tensor = output if hasattr(output, "detach") else output.pooler_output
    return np.asarray(tensor.detach().float().cpu().numpy(), dtype=np.float64)


def load_clip(model: str | Path, *, device: str = "auto") -> ClipEncoder:
    """Load a CLIP-family model and its processor from a local directory or a Hugging Face id.

    Args:
        model: a directory written by ``save_pretrained`` (model and processor) or a hub id
            such as ``openai/clip-vit-base-patch32`` (downloaded, or read from the local hub
            cache when offline).
        device: ``auto`` (CUDA when available, else CPU), ``cpu``, ``cuda`` or ``cuda:N``.

    Raises:
        MissingDependencyError: torch, transformers or Pillow is missing (``[vlm]`` extra).
        ValueError: the model has no image-text feature methods.
        OSError: transformers cannot find or read the model (its own message).
    """
    torch = require("torch", "vlm")
    transformers = require("transformers", "vlm")
    require("PIL.Image", "vlm")  # the CLIP image processors resize with Pillow
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    loaded = transformers.AutoModel.from_pretrained(str(model))
    processor = transformers.AutoProcessor.from_pretrained(str(model))
    loaded.eval().to(device)
    return ClipEncoder(loaded, processor, device)
