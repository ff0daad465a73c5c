"""LLM judges over OpenAI-compatible chat endpoints: pointwise, reference-based and pairwise
verdicts (``judge``), rubric grading (``judge.rubric``), guards against known judge exploits,
and token/cost budgets (`rewardsmith.models.judge.budget.usage`). httpx comes with ``[judge]``.
"""
