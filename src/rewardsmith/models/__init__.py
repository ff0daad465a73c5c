"""Learned and judged rewards: Bradley-Terry reward models, process reward models, implicit DPO
rewards, LLM judges and rubric graders, likelihood and self-certainty rewards.

Each reward registers under its spec name when its module is imported (the registry does this
lazily): ``rm`` (`rewardsmith.models.bt.reward`), ``prm`` (`rewardsmith.models.prm`),
``dpo.implicit`` (`rewardsmith.models.implicit`), ``likelihood``
(`rewardsmith.models.likelihood`), ``self_certainty`` (`rewardsmith.models.certainty`),
``judge`` (`rewardsmith.models.judge.reward`) and ``judge.rubric``
(`rewardsmith.models.judge.rubric`). Nothing here imports torch, transformers or httpx until a
model is trained or loaded or a judge is called: they come with the ``[rm]`` and ``[judge]``
extras.

Python API for reward models (``rewardsmith rm train`` / ``rm score`` on the command line)::

    from rewardsmith.models.bt import load_pairs, train_reward_model, load_reward_model, TrainConfig
"""
