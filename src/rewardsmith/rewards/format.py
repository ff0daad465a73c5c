"""Format rewards: ``format.tags`` (``<think>…</think><answer>…</answer>``) and ``json_schema``.

Both judge the shape of a completion, not its correctness: a completion in the wrong shape is
``ok`` with value 0.0 (the shape *is* the thing being rewarded), never ``parse_error``.

Example:
    >>> from rewardsmith import Sample
    >>> tag_format(Sample(id="1", completion="<think>2+2</think>\\n<answer>4</answer>")).value
    1.0
    >>> json_schema(Sample(id="2", completion='{"a": 1}', reference={"required": ["a"]})).components
    {'parses': 1.0, 'valid': 1.0}
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any, ClassVar, Final, Literal

import jsonschema
import referencing.exceptions

from rewardsmith.core.params import CheckedParam
from rewardsmith.core.reward import reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score

__all__ = ["json_schema", "tag_format"]

_TAG_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{0,63}")


class TagNames(tuple[str, ...], CheckedParam):
    """One or more distinct tag names such as ``["think", "answer"]``."""

    base: ClassVar[Any] = tuple[str, ...]

    @classmethod
    def check(cls, value: Any, data: dict[str, Any]) -> Any:
        if not value:
            raise ValueError("give at least one tag name")
        for name in value:
            if not _TAG_NAME.fullmatch(name):
                raise ValueError(
                    f"{name!r} is not a tag name (letters, digits, '_', '.', ':', '-')"
                )
        if len(set(value)) != len(value):
            raise ValueError(f"tag names repeat: {list(value)}")
        return value


@functools.lru_cache(maxsize=64)
def _markers(tags: tuple[str, ...]) -> tuple[tuple[str, str, str], ...]:
    """(name, opening, closing) per tag, built once per tag list rather than per row."""
    return tuple((name, f"<{name}>", f"</{name}>") for name in tags)


@reward("format.tags", inline=True, version="1", reads=("prompt", "completion"))
def tag_format(
    sample: Sample,
    *,
    tags: TagNames = ("think", "answer"),  # type: ignore[assignment]
    mode: Literal["strict", "search"] = "strict",
    prefilled: Literal["auto", "always", "never"] = "auto",
    require_content: bool = True,
) -> Score:
    """1.0 when the completion has each tag exactly once, in order; else 0.0 with the reason.

    Args:
        sample: the sample; its prompt is read only to detect a prefilled opening tag.
        tags: tag names in the order they must appear, e.g. ``["think", "answer"]``.
        mode: ``strict``: the completion is the tag blocks and nothing else (whitespace between
            them allowed). ``search``: other text may surround and separate the blocks.
        prefilled: whether the completion starts inside the first tag because the prompt
            already ends with its opening (``<think>`` added by a chat template). ``auto``
            detects it from the prompt text ending with ``<think>``; use ``always`` when the
            template adds it but the stored prompt does not show it. A prefilled completion that
            opens the tag again has it twice and scores 0.
        require_content: every block must hold non-whitespace text.

    Returns:
        ``ok`` with 1.0 or 0.0; the reason names the first problem (a missing, repeated or
        misordered tag, empty content, text outside the blocks in strict mode).

    Known failure modes:
        Only the named tags are checked: ``<think>x</think><answer>y</answer>`` with gibberish
        inside scores 1, so pair this term with a correctness term (and ideally gate this one on
        it, or weight it low). Tags are matched exactly: ``<Think>`` or ``<think >`` is plain
        text (fails strict mode, is ignored in search mode). With ``prefilled="auto"`` and a
        chat prompt, only the last prompt message is inspected; a generation prompt added by the
        template is invisible, hence ``always``.

    Example:
        >>> from rewardsmith import Sample
        >>> s = Sample(id="1", prompt="2+2?\\n<think>", completion="ok</think><answer>4</answer>")
        >>> tag_format(s).value, tag_format(s, prefilled="never").reason
        (1.0, '<think> missing')
        >>> tag_format(Sample(id="2", completion="<think></think><answer></answer>")).reason
        '<think> block is empty'
    """
    text = sample.completion_text
    markers = _markers(tags if type(tags) is tuple else tuple(tags))
    first_opening = markers[0][1]
    is_prefilled = prefilled == "always" or (
        prefilled == "auto" and _ends_with(sample.prompt_text, first_opening)
    )
    if is_prefilled:
        text = first_opening + text
    info = {"prefilled": is_prefilled}
    spans: list[tuple[int, int]] = []
    for name, opening, closing in markers:
        opens = text.count(opening)
        if opens != 1:
            return Score(value=0.0, reason=_count_problem(opening, opens), info=info)
        closes = text.count(closing)
        if closes != 1:
            return Score(value=0.0, reason=_count_problem(closing, closes), info=info)
        start, end = text.find(opening), text.find(closing)
        if end < start:
            return Score(value=0.0, reason=f"{closing} before {opening}", info=info)
        if spans and start < spans[-1][1]:
            previous = tags[len(spans) - 1]
            return Score(value=0.0, reason=f"<{name}> opens before </{previous}> closes", info=info)
        if require_content:
            inside = start + len(opening)
            if inside == end or text[inside:end].isspace():  # `not strip()` without a copy
                return Score(value=0.0, reason=f"{opening} block is empty", info=info)
        spans.append((start, end + len(closing)))
    if mode == "strict":
        # The text before, between and after the blocks must be blank.
        previous_end = 0
        for start, end in spans:
            if start > previous_end and not text[previous_end:start].isspace():
                break
            previous_end = end
        else:
            if previous_end == len(text) or text[previous_end:].isspace():
                return Score(value=1.0, info=info)
        return Score(value=0.0, reason="text outside the tag blocks (strict mode)", info=info)
    return Score(value=1.0, info=info)


def _count_problem(marker: str, count: int) -> str:
    return f"{marker} {'missing' if count == 0 else f'appears {count} times'}"


def _ends_with(prompt: str, opening: str) -> bool:
    """``prompt.rstrip().endswith(opening)`` without copying a long prompt to strip it."""
    if prompt.endswith(opening):
        return True
    return bool(prompt) and prompt[-1].isspace() and prompt.rstrip().endswith(opening)


# -- json_schema -------------------------------------------------------------------------------


def _schema_problem(schema: Any) -> str | None:
    if not isinstance(schema, dict):
        return f"a JSON schema must be an object, got {type(schema).__name__}"
    try:
        _validator(json.dumps(schema, sort_keys=True), False)
    except jsonschema.exceptions.SchemaError as exc:
        return (
            f"invalid JSON schema: {exc.message} (at {'/'.join(map(str, exc.path)) or 'top level'})"
        )
    return None


class SchemaParam(dict[str, Any], CheckedParam):
    """A JSON Schema object that passes its meta-schema."""

    base: ClassVar[Any] = dict[str, Any]

    @classmethod
    def check(cls, value: Any, data: dict[str, Any]) -> Any:
        problem = _schema_problem(value)
        if problem:
            raise ValueError(problem)
        return value


def _reference_schema(reference: Any) -> dict[str, Any] | str:
    """The schema in a reference (an object, or JSON text of one), or the problem as text."""
    schema = reference
    if isinstance(reference, str):
        try:
            schema = json.loads(reference)
        except ValueError as exc:
            return f"the reference is a string but not JSON: {exc}"
    if reference is None:
        return "no schema: give a 'json_schema' param or a schema object as the reference"
    return _schema_problem(schema) or schema


def _check_json_reference(reference: Any) -> str | None:
    if reference is None:
        return None  # the schema may come from the spec's params
    found = _reference_schema(reference)
    return found if isinstance(found, str) else None


@functools.lru_cache(maxsize=256)
def _validator(schema_json: str, check_formats: bool) -> Any:
    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER if check_formats else None)


_FENCE: Final = "```"


def _fenced_block(text: str) -> str | None:
    """The body of the last fenced code block tagged ``json`` (or untagged), or None."""
    close = text.rfind(_FENCE)
    if close < 0:
        return None
    opening = text.rfind(_FENCE, 0, close)
    if opening < 0:
        return None
    header_end = text.find("\n", opening, close)
    if header_end < 0:
        return None
    language = text[opening + len(_FENCE) : header_end].strip().lower()
    if language not in ("", "json"):
        return None
    return text[header_end + 1 : close]


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key[:40]!r}")
        seen[key] = value
    return seen


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse(text: str, reject_duplicate_keys: bool) -> tuple[Any, str | None]:
    try:
        return json.loads(
            text,
            parse_constant=_no_constant,
            object_pairs_hook=_no_duplicates if reject_duplicate_keys else None,
        ), None
    except RecursionError:
        return None, "JSON nested too deeply"
    except ValueError as exc:  # JSONDecodeError, duplicate keys, NaN, >4300-digit integers
        return None, f"not JSON: {str(exc)[:200]}"


@reward(
    "json_schema",
    inline=False,  # schema `pattern`s run Python regexes on the completion: may backtrack
    version="1",
    reads=("completion", "reference"),
    timeout_s=10.0,
    check_reference=_check_json_reference,
)
def json_schema(
    sample: Sample,
    *,
    json_schema: SchemaParam | None = None,
    source: Literal["auto", "whole", "fenced"] = "auto",
    reject_duplicate_keys: bool = True,
    check_formats: bool = False,
) -> Score:
    """1.0 when the completion is JSON that validates against a JSON Schema.

    The schema comes from the ``json_schema`` param (checked when the spec loads) or else from the
    reference (a schema object, or JSON text of one). The ``$schema`` keyword picks the draft;
    without it Draft 2020-12 applies. Remote ``$ref`` URLs are never fetched.

    Args:
        sample: the sample.
        json_schema: the JSON Schema; overrides the reference. (Not named ``schema``, which
            pydantic reserves.)
        source: where the JSON is: ``whole`` (the completion, stripped), ``fenced`` (the last
            ```` ```json ```` or untagged fenced block) or ``auto`` (the last such block when
            there is one, else the whole completion).
        reject_duplicate_keys: an object with a repeated key does not parse (parsers disagree on
            which value wins, which a policy can exploit).
        check_formats: enforce ``format`` keywords (``email``, ``date``...) as assertions.

    Returns:
        ``ok`` with value = ``valid``, components ``parses`` and ``valid`` (0.0 or 1.0), and the
        first validation error as the reason; ``invalid_reference`` when the schema is missing,
        not an object, not a valid schema, or has a ``$ref`` that cannot be resolved.

    Known failure modes:
        A loose schema is a loose reward: ``{}`` accepts any JSON, and a schema without
        ``required`` or ``additionalProperties: false`` accepts ``{}``. Trailing text after the
        JSON fails ``whole`` (use ``auto``/``fenced`` for chatty models). In ``auto`` mode a
        fenced block inside prose wins even when the prose also holds JSON. A fence inside a JSON
        string can cut the block short. NaN/Infinity and integers over 4300 digits are rejected as
        non-JSON. Schema ``pattern`` keywords run Python regexes on the completion, hence this
        reward runs in a killable worker, not inline.

    Example:
        >>> from rewardsmith import Sample
        >>> schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
        >>> reply = 'Here:\\n```json\\n{"n": "five"}\\n```'
        >>> score = json_schema(Sample(id="1", completion=reply), json_schema=schema)
        >>> score.value, score.components, score.reason
        (0.0, {'parses': 1.0, 'valid': 0.0}, "at n: 'five' is not of type 'integer'")
    """
    schema: dict[str, Any] | None = json_schema
    if schema is None:
        found = _reference_schema(sample.reference)
        if isinstance(found, str):
            return Score.fail("invalid_reference", found)
        schema = found
    else:
        problem = _schema_problem(schema)  # when called directly, bypassing spec validation
        if problem:
            return Score.fail("invalid_reference", problem)
    text = sample.completion_text
    block = _fenced_block(text) if source != "whole" else None
    if source == "fenced" and block is None:
        return _shape(False, False, "no ```json fenced block")
    payload = block if block is not None else text
    instance, problem = _parse(payload.strip(), reject_duplicate_keys)
    if problem is not None:
        return _shape(False, False, problem)
    validator = _validator(json.dumps(schema, sort_keys=True), check_formats)
    try:
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    except referencing.exceptions.Unresolvable as exc:
        return Score.fail("invalid_reference", f"schema $ref cannot be resolved: {exc}")
    except RecursionError:
        return _shape(True, False, "JSON nested too deeply to validate")
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "top level"
        return _shape(True, False, f"at {where}: {error.message[:300]}")
    return _shape(True, True, "")


def _shape(parses: bool, valid: bool, reason: str) -> Score:
    return Score(
        value=float(valid),
        reason=reason,
        components={"parses": float(parses), "valid": float(valid)},
    )
