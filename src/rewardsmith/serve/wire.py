"""Request and response bodies of the reward server, as msgspec types, and their validation.

Decoding, validating and encoding a 64-sample body costs ~30 µs with msgspec (ARCHITECTURE.md),
so the hot path never touches pydantic. Every validation problem names the row and the field.
"""

from __future__ import annotations

from typing import Any

import msgspec

from rewardsmith.core.errors import RewardsmithError
from rewardsmith.core.sample import Sample, SampleError
from rewardsmith.core.score import Score
from rewardsmith.core.spec import TermSpec

__all__ = [
    "RESERVED_LOG_NAMES",
    "ErrorBody",
    "Problem",
    "Reply",
    "RewardRequest",
    "RewardResponse",
    "ScoreRequest",
    "ScoreResponse",
    "WireError",
    "WireScore",
    "completion_from_query",
    "decode",
    "encode",
    "label_reference",
    "openrlhf_answer",
    "samples_from_rows",
    "unapplied_terms_warnings",
    "wire_score",
]


class ScoreRequest(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /v1/score``: rows as in a JSONL file (``completion`` required)."""

    samples: list[dict[str, Any]]


class WireScore(msgspec.Struct):
    """One row's result: the training reward (null when masked), status, reason, components."""

    id: str
    reward: float | None
    status: str
    reason: str
    components: dict[str, float]


class ScoreResponse(msgspec.Struct):
    """``POST /v1/score`` answer: one score per sample, in order, the batch's status counts, and
    warnings about the request (e.g. a spec term that applied to none of its rows)."""

    scores: list[WireScore]
    status_counts: dict[str, int]
    warnings: list[str] = msgspec.field(default_factory=list)


class RewardRequest(msgspec.Struct):
    """``POST /get_reward``: OpenRLHF's remote reward protocol.

    ``query`` is prompt + response as the trainer decoded it (special tokens included);
    ``prompts`` the prompts, ``labels`` the references, ``tasks`` the rows' tasks (routing to
    terms with ``when``), each one per query when present. An empty label (null, or text that is
    only whitespace) means the row has no reference.
    """

    query: list[str]
    prompts: list[str] | None = None
    labels: list[Any] | None = None
    tasks: list[str | None] | None = None


class RewardResponse(msgspec.Struct):
    """``POST /get_reward`` answer, as OpenRLHF reads it."""

    rewards: list[float | None]
    scores: list[float | None]
    extra_logs: dict[str, list[float]]
    warnings: list[str] = msgspec.field(default_factory=list)


class Problem(msgspec.Struct):
    """One thing wrong with a request: where (row and field) and what."""

    field: str
    message: str
    row: int | None = None


class ErrorBody(msgspec.Struct):
    """Every 4xx/5xx answer: a one-line ``error`` and, for 422, each problem found."""

    error: str
    problems: list[Problem] = msgspec.field(default_factory=list)


Reply = tuple[int, bytes, bytes, list[tuple[bytes, bytes]]]
"""A route's answer: status, body, content type, extra headers."""


class WireError(RewardsmithError):
    """A request the server refuses: the HTTP status and the body to send."""

    def __init__(
        self,
        status: int,
        error: str,
        problems: list[Problem] | None = None,
        headers: dict[str, str] | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.body = ErrorBody(error=error, problems=problems or [])
        self.headers = headers or {}
        self.reason = reason or str(status)
        """The ``reason`` label of ``rewardsmith_rejected_total`` (default: the status code)."""


_encoder = msgspec.json.Encoder()
_MAX_PROBLEMS = 20


def encode(value: Any) -> bytes:
    return _encoder.encode(value)


MAX_DEPTH = 64
"""Deepest nesting of arrays and objects inside a row (or label) the server accepts. Real
references (test cases, schemas, chat messages) stay far below it; a row nested ~1,000 deep
would exhaust Python's recursion limit in whatever touches it next (hashing, pickling to a
worker, a reward) and fail the whole batch."""


def decode(body: bytes, kind: type[Any], *, max_depth: int = MAX_DEPTH) -> Any:
    """Decode a body into ``kind``; malformed JSON, a wrong shape, or nesting deeper than
    ``max_depth`` inside a row is a 422 naming the field."""
    try:
        value = msgspec.json.decode(body, type=kind)
    except RecursionError:
        # msgspec gives up near 1,000 levels by raising, not with a DecodeError.
        message = f"nested deeper than this server accepts ({max_depth} levels)"
        raise WireError(422, f"request body is {message}", [Problem("<body>", message)]) from None
    except msgspec.ValidationError as exc:
        # msgspec says "Expected `array`, got `int` - at `$.samples[3]`": keep the path.
        message = str(exc)
        field = message.rsplit(" - at ", 1)[-1].strip("`") if " - at " in message else "<body>"
        raise WireError(
            422, f"invalid request body: {message}", [Problem(field=field, message=message)]
        ) from None
    except msgspec.DecodeError as exc:
        raise WireError(
            422, f"request body is not valid JSON: {exc}", [Problem("<body>", str(exc))]
        ) from None
    for field, items, rows in _nested_fields(value):
        for index, item in enumerate(items):
            where = _too_deep(item, max_depth, name_field=rows)
            if where is not None:
                name = f"{field}[{index}]{where}"
                message = f"nested deeper than {max_depth} levels of arrays and objects"
                raise WireError(422, f"{name}: {message}", [Problem(name, message, row=index)])
    return value


def _nested_fields(value: Any) -> list[tuple[str, list[Any], bool]]:
    """The lists of free-form values in a decoded request: (field, items, items are rows)."""
    if isinstance(value, ScoreRequest):
        return [("samples", value.samples, True)]
    if isinstance(value, RewardRequest):
        return [("labels", value.labels or [], False)]
    return []


def _too_deep(value: Any, max_depth: int, *, name_field: bool = True) -> str | None:
    """Where ``value`` nests past ``max_depth`` (``.reference``, or ``""`` for the row itself),
    or None. Iterative, so a deep value cannot exhaust the recursion limit here."""
    if not isinstance(value, dict | list):
        return None
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        node, depth, where = stack.pop()
        if depth > max_depth:
            return where
        children = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in children:
            if isinstance(child, dict | list):
                # Name the row's top-level field: what a user can find in their data.
                top = f".{key}" if depth == 1 and name_field else ""
                stack.append((child, depth + 1, where or top))
    return None


def samples_from_rows(
    rows: list[dict[str, Any]], field: str = "samples", *, default_task: str | None = None
) -> list[Sample]:
    """Validate every row into a `Sample`; any bad row makes the whole request a 422.

    ``default_task`` is the task of rows that carry none (the ``?task=`` query parameter).
    """
    samples: list[Sample] = []
    problems: list[Problem] = []
    for index, row in enumerate(rows):
        if default_task is not None and row.get("task") is None:
            row = {**row, "task": default_task}
        try:
            samples.append(Sample.from_row(row, index))
        except SampleError as exc:
            problems.append(
                Problem(field=f"{field}[{index}].{exc.field}", message=exc.reason, row=index)
            )
    if problems:
        raise WireError(422, _summary(problems), problems[:_MAX_PROBLEMS])
    return samples


def completion_from_query(query: str, prompt: str, end_tokens: tuple[str, ...]) -> str | None:
    """The response inside an OpenRLHF query: the text after the prompt, end markers stripped.

    The trainer decodes prompt and response tokens together, so a BOS token may come before
    the prompt; the prompt is looked for from the start. None when the prompt is not there.
    """
    if prompt:
        start = 0 if query.startswith(prompt) else query.find(prompt)
        if start < 0:
            return None
        text = query[start + len(prompt) :]
    else:
        text = query
    stripped = True
    while stripped:
        stripped = False
        text = text.rstrip()
        for token in end_tokens:
            if token and text.endswith(token):
                text = text[: -len(token)]
                stripped = True
    return text


def label_reference(label: Any) -> Any:
    """The reference an OpenRLHF label stands for: None when the label is empty (null, or text
    that is only whitespace), so rewards that need a reference answer ``invalid_reference``
    (masked by the default policy) instead of comparing against nothing."""
    if label is None or (isinstance(label, str) and not label.strip()):
        return None
    return label


def unapplied_terms_warnings(samples: list[Sample], terms: list[TermSpec]) -> list[str]:
    """One warning per term with ``when`` that applies to none of ``samples``: over HTTP this
    almost always means the rows were sent without their ``task``."""
    if not samples:
        return []
    tasks = sorted({str(sample.task) for sample in samples})
    warnings = []
    for term in terms:
        if term.when is None or any(term.applies_to(sample.task) for sample in samples):
            continue
        wanted = term.when if isinstance(term.when, list) else [term.when]
        warnings.append(
            f"term {term.name!r} applies only to task {' or '.join(map(repr, wanted))}, and no "
            f"row of this request has it (tasks sent: {', '.join(tasks)}); it scored no row. "
            "Send each row's task: a 'task' field per row, 'tasks' in /get_reward, or ?task=..."
        )
    return warnings


RESERVED_LOG_NAMES = frozenset({"masked", "failed"})
"""Term names that `openrlhf_answer` cannot log as ``rewardsmith/<term>``: its own flags."""


def openrlhf_answer(
    scores: list[Score],
    term_names: list[str],
    masked_reward: float | None,
    warnings: list[str] | None = None,
) -> RewardResponse:
    """OpenRLHF's answer for scored rows: ``rewards`` (= ``scores``) and numeric ``extra_logs``.

    A masked row's reward is ``masked_reward`` (None: null, which OpenRLHF refuses loudly).
    OpenRLHF stacks each ``extra_logs`` key across samples, so every key is on every row: a
    term that did not apply, or was masked, logs 0.0 there; ``rewardsmith/masked`` and
    ``rewardsmith/failed`` say which rows those were, and the run log has each status.
    """
    rewards = [score.value if score.value is not None else masked_reward for score in scores]
    logs: dict[str, list[float]] = {
        "rewardsmith/masked": [float(score.value is None) for score in scores],
        "rewardsmith/failed": [
            float(score.status not in ("ok", "not_applicable")) for score in scores
        ],
    }
    for name in term_names:
        logs[f"rewardsmith/{name}"] = [score.components.get(name, 0.0) for score in scores]
    return RewardResponse(
        rewards=rewards, scores=list(rewards), extra_logs=logs, warnings=list(warnings or [])
    )


def wire_score(row_id: str, score: Score) -> WireScore:
    return WireScore(
        id=row_id,
        reward=score.value,
        status=score.status,
        reason=score.reason,
        components=score.components,
    )


def _summary(problems: list[Problem]) -> str:
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{first.field}: {first.message}{more}"
