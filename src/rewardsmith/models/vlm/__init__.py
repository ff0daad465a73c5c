"""Vision-language rewards: CLIP-family models as zero-shot reward models (VLM-RMs).

- `goal_baseline_reward`: the VLM-RM formula on embeddings (plain cosine at α = 0, projection
  onto the baseline→goal direction at α = 1);
- `GoalReward`: a goal (and baseline) prompt and an encoder; scores batches of frames;
- `load_clip` / `ClipEncoder`: any CLIP-family model from a directory or a Hugging Face id;
- the ``vlm.clip`` spec reward (`rewardsmith.models.vlm.reward`) for rows carrying an image;
- the Gymnasium wrappers live in `rewardsmith.envs.vlm` (docs/models.md).

Needs the ``[vlm]`` extra (torch, transformers, Pillow) to load a model; the maths needs only
numpy.
"""

from rewardsmith.models.vlm.encoder import (
    ClipEncoder,
    ImageError,
    ImageLike,
    ImageTextEncoder,
    load_clip,
    load_image,
)
from rewardsmith.models.vlm.goal import GoalReward, goal_baseline_reward, unit_rows

__all__ = [
    "ClipEncoder",
    "GoalReward",
    "ImageError",
    "ImageLike",
    "ImageTextEncoder",
    "goal_baseline_reward",
    "load_clip",
    "load_image",
    "unit_rows",
]
