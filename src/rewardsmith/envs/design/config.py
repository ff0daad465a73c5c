"""`DesignConfig`: the settings of one reward-design run (model, rounds, training, limits)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DesignConfig"]


@dataclass(frozen=True)
class DesignConfig:
    """Settings of one design run."""

    task: str
    """What the agent must achieve, in words, for the language model."""
    endpoint: str
    """OpenAI-compatible base URL, ending before ``/chat/completions``."""
    model: str = "default"
    """Model name sent with each request."""
    iterations: int = 3
    """Rounds of (ask, evaluate, reflect)."""
    candidates: int = 4
    """Chat requests per round."""
    temperature: float = 1.0
    """Sampling temperature (candidates in a round should differ)."""
    max_tokens: int = 1024
    """Completion length limit per request."""
    api_key_env: str | None = "OPENAI_API_KEY"
    """Environment variable holding the API key, if any."""
    http_timeout_s: float = 120.0
    """Per-request timeout."""
    episodes: int = 300
    """Q-learning episodes per training run."""
    seeds: int = 2
    """Training runs per candidate (success is averaged)."""
    eval_episodes: int = 5
    """Greedy evaluation episodes per training run."""
    gamma: float = 0.95
    """Discount of the learner and of the reward distances."""
    time_limit_s: float = 2.0
    """CPU seconds for one candidate's reward code (all transitions at once)."""
    memory_mb: int = 256
    """Memory of one candidate's reward code."""
    stop_at: float | None = None
    """Stop after a round whose best success rate reaches this."""
    seed: int = 0
    """First training seed."""

    def __post_init__(self) -> None:
        if not self.task.strip():
            raise ValueError("task must describe what the agent should achieve")
        if not self.endpoint.startswith(("http://", "https://")):
            raise ValueError(f"endpoint must be an http(s) URL, got {self.endpoint!r}")
        for name in ("iterations", "candidates", "episodes", "seeds", "eval_episodes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
