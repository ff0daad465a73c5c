"""The command line is one package: only `rewardsmith.cli` imports typer or rich, and no other
module prints (ARCHITECTURE.md: faces are thin; library functions return data or report through
a callback that the face renders).

Read from the source with `ast`, so an import inside a function or under ``if TYPE_CHECKING``
counts, and a ``print(`` in a docstring or an example does not.
"""

from __future__ import annotations

import ast
from pathlib import Path

import rewardsmith

SRC = Path(rewardsmith.__file__).parent
CLI = SRC / "cli"
FACE_LIBRARIES = {"typer", "rich", "click"}

# Modules outside cli/ that may call print(), each with why. Keep it short: a new entry needs
# a reason a reviewer accepts, and a stale one fails `test_every_print_exception_still_prints`.
PRINT_EXCEPTIONS: dict[str, str] = {
    "sandbox/__main__.py": (
        "`python -m rewardsmith.sandbox`: a script entry point whose job is to write the "
        "sandbox's self-check to stdout on machines without the CLI's dependencies in use"
    ),
    "sandbox/_harness.py": (
        "runs inside the sandboxed child, standing in for the interpreter: CPython prints a "
        "non-integer SystemExit code to stderr, and the graded program must see the same"
    ),
}


def _library_modules() -> list[Path]:
    return sorted(path for path in SRC.rglob("*.py") if CLI not in path.parents)


def _tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(), str(path))


def _imported_roots(tree: ast.AST) -> set[str]:
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


def _print_lines(tree: ast.AST) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "print"
    ]


def test_the_scan_sees_the_cli_package() -> None:
    # A guard on the guard: if the path logic broke, every test below would pass vacuously.
    cli_modules = sorted(CLI.rglob("*.py"))
    assert len(cli_modules) > 5
    assert any("typer" in _imported_roots(_tree(path)) for path in cli_modules)
    assert len(_library_modules()) > 100


def test_only_the_cli_imports_typer_or_rich() -> None:
    wrong = [
        f"{path.relative_to(SRC)} imports {', '.join(sorted(found))}"
        for path in _library_modules()
        if (found := _imported_roots(_tree(path)) & FACE_LIBRARIES)
    ]
    assert wrong == [], "move the rendering into rewardsmith/cli/"


def test_no_library_module_prints() -> None:
    wrong = [
        f"{path.relative_to(SRC)}:{line}"
        for path in _library_modules()
        if path.relative_to(SRC).as_posix() not in PRINT_EXCEPTIONS
        for line in _print_lines(_tree(path))
    ]
    assert wrong == [], "return data or take an `emit` callback; let rewardsmith/cli/ print"


def test_every_print_exception_still_prints() -> None:
    stale = [name for name in PRINT_EXCEPTIONS if not _print_lines(_tree(SRC / name))]
    assert stale == [], "drop these from PRINT_EXCEPTIONS"


def test_no_cli_module_outside_the_cli_package() -> None:
    # The old homes (audit/cli.py, models/cli.py, cli_common.py, ...) must not come back.
    strays = [
        str(path.relative_to(SRC)) for path in _library_modules() if "cli" in path.stem.split("_")
    ]
    assert strays == []
