"""Checkers of verifiable instructions, registered by their IFEval id.

A checker is a function ``(text, context, **kwargs) -> Verdict``. Its keyword parameters are the
instruction's kwargs as IFEval names them (``num_words``, ``relation``...), typed: the registry
builds a pydantic model from the signature, so a reference with a missing, unknown or mistyped
kwarg is reported before the checker runs. ``None`` values are dropped first, because the
Hugging Face release of IFEval stores every kwarg of every instruction, unused ones as null.

Example:
    >>> checker = get_checker("punctuation:no_comma")
    >>> checker.check("No commas here.", Context(), {})
    Verdict(followed=True, detail='')
    >>> get_checker("punctuation:no_coma")
    Traceback (most recent call last):
    ...
    KeyError: "unknown instruction 'punctuation:no_coma'; did you mean 'punctuation:no_comma' or 'punctuation:punctuation_dot'?"
"""

from __future__ import annotations

import difflib
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, NamedTuple

import pydantic

from rewardsmith.core.params import CheckedParam

__all__ = [
    "CHECKERS",
    "Checker",
    "Context",
    "Phrase",
    "Phrases",
    "Relation",
    "Verdict",
    "checker",
    "compare",
    "get_checker",
]

Relation = Literal["less than", "at least"]
"""How a count compares with its target, as IFEval words it."""


class Phrase(str, CheckedParam):
    """Text that is not blank (a blank keyword or end phrase would match everything)."""

    base: ClassVar[Any] = str

    @classmethod
    def check(cls, value: Any, data: dict[str, Any]) -> Any:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class Phrases(list[str], CheckedParam):
    """A non-empty list of non-blank texts."""

    base: ClassVar[Any] = list[str]

    @classmethod
    def check(cls, value: Any, data: dict[str, Any]) -> Any:
        if not value:
            raise ValueError("give at least one")
        if any(not item.strip() for item in value):
            raise ValueError("an item is blank")
        return value


class Verdict(NamedTuple):
    """Whether an instruction was followed, and what was measured (for the score's reason)."""

    followed: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Context:
    """What a checker may need beyond the response text.

    Attributes:
        prompt: the prompt as text.
        keywords_in_code: whether required keywords may be found inside code (fenced blocks and
            inline code spans). Forbidden words and upper bounds always look at the whole text.
        ifeval_compat: follow the official IFEval checker where rewardsmith deliberately
            differs (each checker's docstring says where).
    """

    prompt: str = ""
    keywords_in_code: bool = False
    ifeval_compat: bool = False


def compare(count: int, relation: Relation, target: int) -> bool:
    """``count < target`` for ``less than``, ``count >= target`` for ``at least``."""
    return count < target if relation == "less than" else count >= target


@dataclass(frozen=True, slots=True)
class Checker:
    """A registered checker: its IFEval id, function and kwargs model."""

    id: str
    fn: Callable[..., Verdict]
    model: type[pydantic.BaseModel] = field(repr=False)

    def validate(self, kwargs: Any) -> dict[str, Any] | str:
        """The validated kwargs, or what is wrong with them as text."""
        if kwargs is None:
            kwargs = {}
        if not isinstance(kwargs, dict):
            return f"kwargs must be an object, got {type(kwargs).__name__}"
        given = {k: v for k, v in kwargs.items() if v is not None}
        try:
            validated = self.model.model_validate(given)
        except pydantic.ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"]) or "kwargs"
            return f"{where}: {error['msg']}"
        return {name: getattr(validated, name) for name in self.model.model_fields}

    def check(self, text: str, context: Context, kwargs: dict[str, Any]) -> Verdict:
        """Run the checker on validated kwargs."""
        return self.fn(text, context, **kwargs)


CHECKERS: dict[str, Checker] = {}
"""Every registered checker by id, filled as the family modules import."""


def checker(instruction_id: str) -> Callable[[Callable[..., Verdict]], Callable[..., Verdict]]:
    """Register a checker under an IFEval instruction id."""

    def wrap(fn: Callable[..., Verdict]) -> Callable[..., Verdict]:
        if instruction_id in CHECKERS:
            raise ValueError(f"instruction {instruction_id!r} is registered twice")
        CHECKERS[instruction_id] = Checker(instruction_id, fn, _kwargs_model(fn, instruction_id))
        return fn

    return wrap


def get_checker(instruction_id: str) -> Checker:
    """The checker for an id; KeyError with the closest ids when it is unknown."""
    found = CHECKERS.get(instruction_id)
    if found is None:
        close = difflib.get_close_matches(instruction_id, list(CHECKERS), n=2)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise KeyError(f"unknown instruction {instruction_id!r}{hint}")
    return found


def _kwargs_model(fn: Callable[..., Any], instruction_id: str) -> type[pydantic.BaseModel]:
    hints = typing.get_type_hints(fn)
    fields: dict[str, Any] = {}
    for parameter in list(inspect.signature(fn).parameters.values())[2:]:
        default = ... if parameter.default is inspect.Parameter.empty else parameter.default
        fields[parameter.name] = (hints.get(parameter.name, Any), default)
    config = pydantic.ConfigDict(extra="forbid", strict=False)
    name = "".join(part.title() for part in instruction_id.replace(":", "_").split("_"))
    return pydantic.create_model(f"{name}Kwargs", __config__=config, **fields)
