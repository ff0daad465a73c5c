"""Reward code from a language model: find it in the reply, and screen it before it runs.

The screen is a first, cheap line of defence that gives a readable reason ("imports socket",
"calls open"); it is not the security boundary. Code that passes it still runs only in the
sandbox (`rewardsmith.sandbox`: no network, no host files, unprivileged, CPU, memory and wall
limits), which contains what a static check cannot see (``getattr`` tricks, hangs, bombs).

Example:
    >>> reply = "Here:\\n```python\\nimport socket\\ndef compute_reward(o, a, n):\\n    return 0.0\\n```"
    >>> source = extract_code(reply)
    >>> screen_code(source)
    ["imports module 'socket' (line 1); allowed: collections, functools, itertools, math, operator, statistics"]
"""

from __future__ import annotations

import ast
import re

__all__ = ["ALLOWED_MODULES", "ENTRY_POINT", "FORBIDDEN_NAMES", "extract_code", "screen_code"]

ENTRY_POINT = "compute_reward"
"""The function every candidate must define: ``compute_reward(obs, action, next_obs)``."""

ALLOWED_MODULES = frozenset(
    {"math", "statistics", "itertools", "functools", "collections", "operator"}
)
"""Pure computation only: no files, processes, network, introspection or time."""

FORBIDDEN_NAMES = frozenset(
    {
        "open", "exec", "eval", "compile", "__import__", "globals", "locals", "vars",
        "getattr", "setattr", "delattr", "input", "breakpoint", "help", "exit", "quit",
        "memoryview", "__builtins__", "__loader__", "__spec__",
    }
)  # fmt: skip
"""Builtins that reach files, code loading or the interpreter's internals."""

_FENCE = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n(.*?)```", re.S | re.I)


def extract_code(reply: str) -> str | None:
    """The last fenced block that defines `ENTRY_POINT`, else the reply itself if it does;
    ``None`` when the reply has no such code."""
    marker = f"def {ENTRY_POINT}"
    blocks = [block for block in _FENCE.findall(reply) if marker in block]
    if blocks:
        return str(blocks[-1]).strip("\n") + "\n"
    if marker in reply and "```" not in reply:
        return reply.strip("\n") + "\n"
    return None


def screen_code(source: str, *, max_chars: int = 20_000) -> list[str]:
    """Reasons to refuse ``source`` without running it (empty when it may run)."""
    if len(source) > max_chars:
        return [f"code is {len(source)} characters; the limit is {max_chars}"]
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return [f"syntax error: {exc.msg} (line {exc.lineno})"]
    reasons: list[str] = []
    allowed = ", ".join(sorted(ALLOWED_MODULES))
    for node in ast.walk(tree):
        line = getattr(node, "lineno", "?")
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] not in ALLOWED_MODULES:
                    reasons.append(
                        f"imports module {alias.name!r} (line {line}); allowed: {allowed}"
                    )
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level or module.split(".")[0] not in ALLOWED_MODULES:
                reasons.append(f"imports from {module or '.'!r} (line {line}); allowed: {allowed}")
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            reasons.append(f"uses {node.id!r} (line {line}): no file, code or interpreter access")
        elif isinstance(node, ast.Attribute) and node.attr.startswith("__"):
            reasons.append(f"reads attribute {node.attr!r} (line {line}): no dunder access")
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            reasons.append(f"uses {type(node).__name__.lower()} (line {line}): keep rewards pure")
    defined = [
        node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == ENTRY_POINT
    ]
    if not defined:
        reasons.append(f"defines no top-level function {ENTRY_POINT}(obs, action, next_obs)")
    elif len(defined[0].args.args) != 3 and not defined[0].args.vararg:
        reasons.append(f"{ENTRY_POINT} must take three arguments: (obs, action, next_obs)")
    return reasons
