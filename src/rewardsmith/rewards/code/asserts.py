"""Rewriting assert-based tests into independent calls, and running what cannot be rewritten.

``assert f(1, [2]) == 3`` becomes a call case: the sandbox calls ``f(1, [2])`` and the grader
compares the returned data with ``3``, so the program never sees ``3``. HumanEval's shape (a
``check(candidate)`` function called as ``check(f)``) is understood: ``candidate`` stands for
``f`` inside ``check``. Recognised forms::

    assert CALL == LITERAL          assert LITERAL == CALL        assert CALL is True/False/None
    assert CALL                     assert not CALL               assert abs(CALL - LITERAL) < TOL
    assert math.isclose(CALL, LITERAL)                            (and math.fabs, <=)

Everything else (loops, helper variables, asserts on computed values) stays in a *residual
script* that runs in the grader's process, never in the sandbox: the names it takes from the
program (``candidate``, helpers such as ``poly``) are proxies that call into a sandboxed session
and return plain data. The program therefore cannot patch the asserts, the builtins they use,
or the comparison, and cannot read the expected values in them.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
from typing import Any, Final, Literal

__all__ = ["CallCase", "Rewritten", "rewrite_asserts"]

Compare = Literal["eq", "is", "truthy", "falsy", "close"]
_BUILTIN_NAMES: Final = frozenset(dir(builtins))


@dataclasses.dataclass(frozen=True)
class CallCase:
    """One independent call and what its result must satisfy."""

    fn: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    expected: Any = None
    compare: Compare = "eq"
    tol: float = 0.0
    inclusive: bool = False
    from_json: bool = False
    source: str = ""


@dataclasses.dataclass(frozen=True)
class Rewritten:
    cases: list[CallCase]
    residual: str | None
    """Source of what could not be rewritten (None when nothing checks anything any more)."""
    free_names: tuple[str, ...]
    """Names the residual script takes from the program."""


def rewrite_asserts(source: str) -> Rewritten:
    """Split assert-based tests into call cases and a residual script.

    Raises `SyntaxError` when the tests do not parse.

    Example:
        >>> r = rewrite_asserts("def check(candidate):\\n    assert candidate(2) == 4\\ncheck(sq)")
        >>> r.cases[0].fn, r.cases[0].args, r.cases[0].expected, r.residual
        ('sq', (2,), 4, None)
    """
    tree = ast.parse(source)
    bound = _bound_names(tree)
    free = sorted(_loaded_names(tree) - bound - _BUILTIN_NAMES)
    aliases = _candidate_aliases(tree, bound)
    cases: list[CallCase] = []

    def rewrite_body(body: list[ast.stmt], names: dict[str, str]) -> list[ast.stmt]:
        kept: list[ast.stmt] = []
        for statement in body:
            if isinstance(statement, ast.Assert):
                if _always_true(statement.test):
                    continue
                case = _to_case(
                    statement.test, names, ast.get_source_segment(source, statement) or ""
                )
                if case is not None:
                    cases.append(case)
                    continue
            kept.append(statement)
        return kept

    module_names = {name: name for name in free}
    tree.body = rewrite_body(tree.body, module_names)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in aliases:
            param, target = aliases[node.name]
            node.body = rewrite_body(node.body, {**module_names, param: target}) or [ast.Pass()]
    has_checks = any(isinstance(node, ast.Assert | ast.Raise) for node in ast.walk(tree))
    residual = ast.unparse(tree) if has_checks else None
    return Rewritten(cases=cases, residual=residual, free_names=tuple(free))


def _candidate_aliases(tree: ast.Module, bound: set[str]) -> dict[str, tuple[str, str]]:
    """``def check(candidate)`` called at module level as ``check(f)``, with ``f`` from the
    program: maps ``check`` to ``("candidate", "f")``. Only a function called exactly once."""
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    calls: dict[str, list[str]] = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id in defs
            and len(node.value.args) == 1
            and not node.value.keywords
            and isinstance(node.value.args[0], ast.Name)
            and node.value.args[0].id not in bound
        ):
            calls.setdefault(node.value.func.id, []).append(node.value.args[0].id)
    aliases = {}
    for name, targets in calls.items():
        params = defs[name].args
        if (
            len(targets) == 1
            and len(params.args) == 1
            and not params.vararg
            and not params.kwonlyargs
        ):
            aliases[name] = (params.args[0].arg, targets[0])
    return aliases


def _to_case(test: ast.expr, names: dict[str, str], text: str) -> CallCase | None:
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        left, op, right = test.left, test.ops[0], test.comparators[0]
        if isinstance(op, ast.Eq | ast.Is):
            compare: Compare = "eq" if isinstance(op, ast.Eq) else "is"
            for call_node, literal in ((left, right), (right, left)):
                call = _call(call_node, names)
                ok, expected = _literal(literal)
                if call is not None and ok:
                    if compare == "is" and expected not in (True, False, None):
                        return None
                    return CallCase(*call, expected=expected, compare=compare, source=text)
        if isinstance(op, ast.Lt | ast.LtE):
            inner = _abs_argument(left)
            ok, tol = _literal(right)
            if (
                inner is not None
                and ok
                and type(tol) in (int, float)
                and isinstance(inner, ast.BinOp)
                and isinstance(inner.op, ast.Sub)
            ):
                call = _call(inner.left, names)
                ok, expected = _literal(inner.right)
                if call is not None and ok and type(expected) in (int, float):
                    return CallCase(
                        *call,
                        expected=expected,
                        compare="close",
                        tol=float(tol),
                        inclusive=isinstance(op, ast.LtE),
                        source=text,
                    )
        return None
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        call = _call(test.operand, names)
        return CallCase(*call, compare="falsy", source=text) if call is not None else None
    if isinstance(test, ast.Call):
        if _is_isclose(test.func) and len(test.args) == 2 and not test.keywords:
            call = _call(test.args[0], names)
            ok, expected = _literal(test.args[1])
            if call is not None and ok and type(expected) in (int, float):
                return CallCase(*call, expected=expected, compare="close", tol=-1.0, source=text)
            return None
        call = _call(test, names)
        return CallCase(*call, compare="truthy", source=text) if call is not None else None
    return None


def _call(
    node: ast.expr, names: dict[str, str]
) -> tuple[str, tuple[Any, ...], dict[str, Any]] | None:
    """``f(<literals>)`` where ``f`` comes from the program: (name, args, kwargs)."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        return None
    target = names.get(node.func.id)
    if target is None:
        return None
    args = []
    for arg in node.args:
        ok, value = _literal(arg)
        if not ok or isinstance(arg, ast.Starred):
            return None
        args.append(value)
    kwargs = {}
    for keyword in node.keywords:
        ok, value = _literal(keyword.value)
        if not ok or keyword.arg is None:
            return None
        kwargs[keyword.arg] = value
    return target, tuple(args), kwargs


def _literal(node: ast.expr) -> tuple[bool, Any]:
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def _abs_argument(node: ast.expr) -> ast.expr | None:
    if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords:
        func = node.func
        if isinstance(func, ast.Name) and func.id == "abs":
            return node.args[0]
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "fabs"
            and isinstance(func.value, ast.Name)
            and func.value.id == "math"
        ):
            return node.args[0]
    return None


def _is_isclose(func: ast.expr) -> bool:
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "isclose"
        and isinstance(func.value, ast.Name)
        and func.value.id == "math"
    )


def _always_true(test: ast.expr) -> bool:
    ok, value = _literal(test)
    return ok and bool(value)


def _bound_names(tree: ast.Module) -> set[str]:
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            bound.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            bound.update(node.names)
    return bound


def _loaded_names(tree: ast.Module) -> set[str]:
    return {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }
