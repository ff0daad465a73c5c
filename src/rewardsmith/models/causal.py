"""Token log-probabilities from a local causal language model (for likelihood-based rewards).

The prompt and the continuation are tokenized separately and concatenated, so the continuation's
tokens are exactly the tokens of the continuation alone (joint tokenization can merge across the
boundary and shift which tokens "belong" to the answer). One model is loaded per process and
directory. Rewards that use this run as ``cpu`` rewards in the engine's worker processes.

Example:
    >>> kl_from_uniform([math.log(0.5), math.log(0.5)])  # a uniform distribution: no certainty
    0.0
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

from rewardsmith.models.deps import require

__all__ = ["CausalLM", "kl_from_uniform", "load_causal_lm"]


def kl_from_uniform(logprobs: Sequence[float]) -> float:
    """``KL(U ‖ p)`` for a distribution given by the log-probabilities of its ``V`` outcomes:
    ``−log V − (1/V)·Σ log p_j`` (Kang et al. 2025's self-certainty of one token)."""
    size = len(logprobs)
    if size == 0:
        raise ValueError("no log-probabilities")
    return -math.log(size) - math.fsum(logprobs) / size


class CausalLM:
    """A causal LM and its tokenizer; `continuation_logprobs` is what the rewards need."""

    def __init__(self, path: str, device: str = "cpu") -> None:
        require("torch", "rm")
        transformers = require("transformers", "rm")
        transformers.utils.logging.disable_progress_bar()
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(path)
        self.model = transformers.AutoModelForCausalLM.from_pretrained(path).to(device).eval()
        self.device = device

    def _ids(self, prompt: str, continuation: str) -> tuple[list[int], list[int]]:
        context = self.tokenizer(prompt, add_special_tokens=True)["input_ids"]
        target = self.tokenizer(continuation, add_special_tokens=False)["input_ids"]
        # Tokenizers that append an end token to every text (BERT's [SEP]) would put it
        # between prompt and continuation; drop it so the continuation follows the prompt.
        sep = getattr(self.tokenizer, "sep_token_id", None)
        if sep is not None and context and context[-1] == sep:
            context = context[:-1]
        if not context:
            bos = self.tokenizer.bos_token_id
            if bos is None:
                bos = self.tokenizer.eos_token_id
            if bos is None:
                raise ValueError("an empty prompt needs a tokenizer with a BOS or EOS token")
            context = [bos]
        return context, target

    def _log_softmax(self, prompt: str, continuation: str) -> tuple[Any, list[int]]:
        import torch

        context, target = self._ids(prompt, continuation)
        ids = torch.tensor([context + target], device=self.device)
        with torch.inference_mode():
            logits = self.model(input_ids=ids).logits[0].float()
        # The token at position i is predicted by the logits at position i - 1.
        start = len(context) - 1
        rows = torch.log_softmax(logits[start : start + len(target)], dim=-1)
        return rows, target

    def continuation_logprobs(self, prompt: str, continuation: str) -> list[float]:
        """``log p(token_t | prompt, tokens_<t)`` for each token of the continuation."""
        rows, target = self._log_softmax(prompt, continuation)
        return [float(rows[i, token]) for i, token in enumerate(target)]

    def continuation_certainty(self, prompt: str, continuation: str) -> list[float]:
        """Per-token ``KL(U ‖ p)`` over the full vocabulary, for each continuation token."""
        rows, _ = self._log_softmax(prompt, continuation)
        size = rows.shape[-1]
        return [float(v) for v in (-math.log(size) - rows.mean(-1))]


@functools.lru_cache(maxsize=4)
def load_causal_lm(path: str, device: str = "cpu") -> CausalLM:
    """The `CausalLM` for a local directory, loaded once per process."""
    return CausalLM(path, device)
