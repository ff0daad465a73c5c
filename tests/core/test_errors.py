"""One error tree: every public exception class in the package derives from RewardsmithError."""

from __future__ import annotations

import ast
import builtins
import importlib
from pathlib import Path

import pytest

import rewardsmith
from rewardsmith.core.errors import RewardsmithError

SRC = Path(rewardsmith.__file__).parent

# Loaded by path inside the sandbox's processes, which cannot import rewardsmith (and the
# zygote and harness do things at import): their errors stay plain, and never leave the sandbox.
OUTSIDE_THE_TREE = {
    "rewardsmith.sandbox._wire",
    "rewardsmith.sandbox._zygote",
    "rewardsmith.sandbox._harness",
    "rewardsmith.sandbox._confine",
}


def _public_classes() -> list[tuple[str, str]]:
    """(module, class name) for every public class defined at the top of a module."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        parts = ["rewardsmith", *path.relative_to(SRC).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        module = ".".join(parts)
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                found.append((module, node.name))
    return found


def _exception_classes() -> list[type[BaseException]]:
    classes = []
    for module_name, name in _public_classes():
        if module_name in OUTSIDE_THE_TREE:
            continue
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # an optional extra that is not installed here
            continue
        value = getattr(module, name, None)
        if isinstance(value, type) and issubclass(value, BaseException):
            classes.append(value)
    return classes


EXCEPTIONS = _exception_classes()


def test_the_scan_finds_the_errors_defined_outside_core() -> None:
    names = {cls.__name__ for cls in EXCEPTIONS}
    assert {"SandboxError", "WireError", "FormulaError", "SampleError", "ServerError"} <= names


@pytest.mark.parametrize("cls", EXCEPTIONS, ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_every_public_exception_joins_the_tree(cls: type[BaseException]) -> None:
    assert issubclass(cls, RewardsmithError)


@pytest.mark.parametrize("cls", EXCEPTIONS, ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_no_exception_shadows_a_builtin(cls: type[BaseException]) -> None:
    assert not hasattr(builtins, cls.__name__)


def test_one_class_per_exception_name() -> None:
    by_name: dict[str, set[str]] = {}
    for cls in EXCEPTIONS:
        by_name.setdefault(cls.__name__, set()).add(f"{cls.__module__}.{cls.__qualname__}")
    assert {name: places for name, places in by_name.items() if len(places) > 1} == {}


def test_errors_keep_the_builtin_base_callers_catch() -> None:
    from rewardsmith.core.formula import FormulaError
    from rewardsmith.models.deps import MissingDependencyError
    from rewardsmith.sandbox import SandboxError

    assert issubclass(SandboxError, RuntimeError)
    assert issubclass(FormulaError, ValueError)
    assert issubclass(MissingDependencyError, ImportError)
