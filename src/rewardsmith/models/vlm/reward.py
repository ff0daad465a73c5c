"""The ``vlm.clip`` reward: a CLIP-family model scores a row's image against a text.

Each row carries an image (``image_field``: a path, bytes, a ``data:`` URL or an array) and is
scored against the spec's ``goal`` prompt, or, without one, against the row's own text (the
completion, or the prompt and completion: an (image, question, answer) triple for a multimodal
reward). The value is `goal_baseline_reward`: cosine similarity at α = 0, the goal-baseline
regularised reward with a ``baseline`` prompt and α > 0.

Like ``rm``, ``vlm.clip`` is an ``io`` reward: each call queues its row, and one batch per model
runs in a background thread (decoding, then one image forward pass and one text forward pass);
the engine submits a batch's rows together, so up to ``concurrency`` rows share a pass. The
model loads once per process; text embeddings are kept per batcher. For a running
normalisation, give the term ``transform = { kind = "zscore" }``.

Example spec term::

    [[terms]]
    name = "kneeling"
    use = "vlm.clip"
    params = { model = "openai/clip-vit-base-patch32", goal = "a humanoid robot kneeling",
               baseline = "a humanoid robot", alpha = 0.5, concurrency = 64 }
"""

from __future__ import annotations

import asyncio
import re
import threading
import weakref
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from rewardsmith.core.params import CheckedParam, PositiveInt
from rewardsmith.core.reward import reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.models.vlm.encoder import ClipEncoder, ImageError, load_clip, load_image
from rewardsmith.models.vlm.goal import goal_baseline_reward

__all__ = ["ClipModelRef", "Strength", "clip_reward"]

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


class ClipModelRef(str, CheckedParam):
    """A ``save_pretrained`` directory (with ``config.json``) or a Hugging Face id."""

    base: ClassVar[Any] = str

    @classmethod
    def check(cls, value: Any, data: dict[str, Any]) -> Any:
        path = Path(value)
        if path.is_dir():
            if not (path / "config.json").is_file():
                raise ValueError(f"{value!r} is a directory without config.json: not a saved model")
            return value
        if not _HUB_ID.match(value):
            raise ValueError(
                f"{value!r} is neither a model directory nor a Hugging Face id like 'org/name'"
            )
        return value


class Strength(float, CheckedParam):
    """The goal-baseline regularisation strength α, in [0, 1]; α > 0 needs ``baseline``."""

    base: ClassVar[Any] = float

    @classmethod
    def check(cls, value: Any, data: dict[str, Any]) -> Any:
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {value}")
        if value > 0 and data.get("baseline") is None:
            raise ValueError("alpha > 0 needs a baseline prompt (param 'baseline')")
        return value


_encoders: dict[tuple[str, str], ClipEncoder] = {}
_encoders_lock = threading.Lock()


def _encoder(model: str, device: str) -> ClipEncoder:
    with _encoders_lock:
        found = _encoders.get((model, device))
        if found is None:
            found = _encoders[(model, device)] = load_clip(model, device=device)
        return found


_Key = tuple[str, str, str | None, float, int]  # model, device, baseline, alpha, batch size
_Item = tuple[Any, str, "asyncio.Future[float | str]"]


class _Batcher:
    """Collects rows for one model and setting on one event loop and scores them in batches."""

    TEXT_CACHE: ClassVar[int] = 4096

    def __init__(self, key: _Key) -> None:
        self.model, self.device, self.baseline, self.alpha, self.batch_size = key
        self.pending: list[_Item] = []
        self.running = False
        self.task: asyncio.Task[None] | None = None
        self.texts: OrderedDict[str, np.ndarray] = OrderedDict()
        # One thread per batcher: torch calls for one model and setting never overlap.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rewardsmith-vlm")

    def submit(self, image: Any, text: str) -> asyncio.Future[float | str]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[float | str] = loop.create_future()
        self.pending.append((image, text, future))
        if not self.running:
            self.running = True
            # A short pause lets the other rows of the engine's batch join this one.
            loop.call_later(0.005, self._start_drain, loop)
        return future

    def _start_drain(self, loop: asyncio.AbstractEventLoop) -> None:
        self.task = loop.create_task(self._drain())  # keep a reference: loops hold tasks weakly

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.pending:
                batch = [item for item in self.pending[: self.batch_size] if not item[2].done()]
                del self.pending[: self.batch_size]
                if not batch:
                    continue
                try:
                    results = await loop.run_in_executor(self.executor, self._score, batch)
                except Exception as exc:
                    for *_, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (*_, future), result in zip(batch, results, strict=True):
                    if not future.done():  # the engine may have timed the row out
                        future.set_result(result)
        finally:
            self.running = False

    def _score(self, batch: list[_Item]) -> list[float | str]:
        """One value per row, or the reason its image could not be read."""
        results: list[float | str] = []
        frames: list[np.ndarray] = []
        goals: list[str] = []
        where: list[int] = []
        for position, (image, text, _) in enumerate(batch):
            try:
                frames.append(load_image(image))
            except ImageError as exc:
                results.append(str(exc))
                continue
            results.append(0.0)
            goals.append(text)
            where.append(position)
        if not frames:
            return results
        encoder = _encoder(self.model, self.device)
        images = encoder.embed_images(frames)
        goal = np.stack([self._text(encoder, text) for text in goals])
        baseline = self._text(encoder, self.baseline) if self.baseline is not None else None
        values = goal_baseline_reward(images, goal, baseline, alpha=self.alpha)
        for position, value in zip(where, values, strict=True):
            results[position] = float(value)
        return results

    def _text(self, encoder: ClipEncoder, text: str) -> np.ndarray:
        found = self.texts.get(text)
        if found is None:
            found = self.texts[text] = encoder.embed_texts([text])[0]
            if len(self.texts) > self.TEXT_CACHE:
                self.texts.popitem(last=False)
        return found


# Batchers per event loop: their futures belong to that loop.
_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[_Key, _Batcher]] = (
    weakref.WeakKeyDictionary()
)


def _batcher(key: _Key) -> _Batcher:
    per_loop = _batchers.setdefault(asyncio.get_running_loop(), {})
    found = per_loop.get(key)
    if found is None:
        found = per_loop[key] = _Batcher(key)
    return found


@reward(
    "vlm.clip", kind="io", version="1", reads=("prompt", "completion", "extra"), timeout_s=300.0
)
async def clip_reward(
    sample: Sample,
    *,
    model: ClipModelRef,
    goal: str | None = None,
    baseline: str | None = None,
    alpha: Strength = 0.0,  # type: ignore[assignment]
    image_field: str = "image",
    text: Literal["completion", "prompt_completion"] = "completion",
    device: str = "auto",
    batch_size: PositiveInt = 32,
) -> Score:
    """How well the row's image matches a text, by a CLIP-family model (VLM-RM).

    Args:
        sample: the row; its ``image_field`` holds the image.
        model: a ``save_pretrained`` directory (model and processor) or a Hugging Face id.
        goal: the goal prompt every image is scored against; unset: the row's own ``text``.
        baseline: the baseline prompt of goal-baseline regularisation.
        alpha: regularisation strength in [0, 1]; 0 is plain cosine similarity.
        image_field: row field with the image (path, bytes, ``data:`` URL, array or lists).
        text: without ``goal``: score against the ``completion``, or ``prompt_completion``
            (prompt and completion joined by a newline).
        device: ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``.
        batch_size: most rows per forward pass.

    Returns:
        ``ok`` with ``1 − ½‖(αP + (1−α)I)(x − g)‖²`` (cosine similarity for α = 0, so in
        [−1, 1]); ``error`` when the row has no readable image.

    Known failure modes:
        CLIP rewards are zero-shot: they rank states only as well as the model tells the
        prompts apart, and are known to reward frames that merely look like the caption
        (texture, colour, a written word in the frame). Check the ranking on a few labelled
        frames before training on it (docs/models.md). Absolute values differ between models
        and prompts; normalise (``transform = { kind = "zscore" }``) before mixing with other
        terms. Text beyond the model's context (77 tokens for CLIP) is truncated.

    Example:
        >>> clip_reward.kind, clip_reward.name
        ('io', 'vlm.clip')
    """
    image = sample.extra.get(image_field)
    if image is None:
        return Score.fail("error", f"row has no image in field {image_field!r}")
    if goal is not None:
        target = goal
    elif text == "completion":
        target = sample.completion_text
    else:
        target = f"{sample.prompt_text}\n{sample.completion_text}"
    key: _Key = (str(model), device, baseline, float(alpha), int(batch_size))
    result = await _batcher(key).submit(image, target)
    if isinstance(result, str):
        return Score.fail("error", result)
    return Score(value=result)
