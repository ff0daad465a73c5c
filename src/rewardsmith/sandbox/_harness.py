"""The program's side of a run: run a script, or serve calls to a loaded module (stdlib only).

Loaded by path into the zygote (see `_zygote`), so it runs inside every confined program
process, where the program can patch it at will. Nothing here decides a verdict: it only moves
the program's output and returned values (as plain data, `_wire`) to the grader, which judges
them against expected values it never sends.
"""

from __future__ import annotations

import builtins
import json
import os
import sys
import traceback
import types
from typing import Any

FD_REQ, FD_RESP = 4, 5
wire: Any = None  # the `_wire` module, set by the zygote: this file cannot import it


class _Quitter:
    """``exit``/``quit`` as the ``site`` module defines them (absent under ``python -S``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Use {self.name}() or Ctrl-D (i.e. EOF) to exit"

    def __call__(self, code: object = None) -> None:
        raise SystemExit(code)


def install_site_builtins() -> None:
    """What ``site`` adds to builtins and programs rely on: ``exit()`` and ``quit()``."""
    builtins.exit = _Quitter("exit")  # type: ignore[assignment]
    builtins.quit = _Quitter("quit")  # type: ignore[assignment]


def run_script(source: str) -> None:
    sys.argv = ["main.py"]
    namespace = _fresh_module("__main__", "main.py")
    code = 0
    try:
        exec(compile(source, "main.py", "exec"), namespace)
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException:  # report the program's error as python would
        traceback.print_exc()
        code = 1
    code = _shutdown(code)
    _flush_and_exit(code)


def _shutdown(code: int) -> int:
    """Finish as the interpreter would: wait for non-daemon threads, then run atexit handlers.

    A program that prints from a thread it never joins, or from an atexit handler, is correct
    Python; ``os._exit`` alone would drop that output.
    """
    try:
        threading = sys.modules.get("threading")
        if threading is not None:
            threading._shutdown()  # type: ignore[attr-defined]
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException:
        traceback.print_exc()
    atexit = sys.modules.get("atexit")
    if atexit is not None:
        try:
            atexit._run_exitfuncs()
        except SystemExit as exc:  # an atexit handler's exit() sets the code, as in CPython
            code = _exit_code(exc)
        except BaseException:
            traceback.print_exc()
    return code


def serve_calls(source: str) -> None:
    """Load the program as a module, then answer call requests read from FD_REQ one per line."""
    namespace = _fresh_module("solution", "solution.py")
    try:
        exec(compile(source, "solution.py", "exec"), namespace)
    except BaseException as exc:  # the program failed to load: every call fails
        _respond({"error": describe(exc), "phase": "load"})
        _flush_and_exit(1)
    with open(FD_REQ, "rb", closefd=False) as requests:
        for line in requests:  # one request per line; a session's pipe stays open between calls
            try:
                name, args, kwargs = wire.loads(line)
                target = _resolve(namespace, name)
                value = target(*args, **kwargs)
                message = {"ok": wire.encode(value)}
            except BaseException as exc:  # SystemExit in the function is an error too
                message = {"error": describe(exc)}
            _respond(message)
    _flush_and_exit(0)


def _fresh_module(name: str, filename: str) -> dict:
    """A real module in sys.modules, so pickle (multiprocessing) finds the program's functions."""
    module = types.ModuleType(name)
    module.__file__ = filename
    module.__builtins__ = builtins  # type: ignore[attr-defined]
    sys.modules[name] = module
    return module.__dict__


def _resolve(namespace: dict, name: str):  # type: ignore[no-untyped-def]
    head, _, method = name.partition(".")
    target = namespace[head]
    if method:  # "Solution.twoSum": call the method on a fresh instance, as LeetCode does
        target = getattr(target(), method)
    return target


def _respond(message: dict) -> None:
    data = json.dumps(message, allow_nan=False, separators=(",", ":")).encode() + b"\n"
    view = memoryview(data)
    while view:
        written = os.write(FD_RESP, view)
        view = view[written:]


def describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:500]


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code & 0xFF
    print(exc.code, file=sys.stderr)
    return 1


def _flush_and_exit(code: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is None or getattr(stream, "closed", False):
                continue  # closed by the program: already flushed, as CPython sees it
            stream.flush()
        except BaseException:  # a full output file: the grader sees its size
            code = code or 1
    os._exit(code)
