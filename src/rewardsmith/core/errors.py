"""Every exception rewardsmith raises derives from `RewardsmithError`, defined here.

A per-row problem is never an exception that reaches the caller: it becomes a `Score` status.
Exceptions are for whole-batch problems found before or outside scoring, and for the internal
signals a module raises and catches itself. The tree (classes defined elsewhere are named by
module; a second base keeps old ``except ValueError`` and the like working)::

    RewardsmithError
    ├── SpecError                  a spec file or dict is wrong (names the file, key and fix)
    ├── RegistryError              a reward name is unknown or registered twice
    ├── InputError                 an input file cannot be read at all (names file and line)
    │   ├── io.runlog.RunLockedError        another process is writing the run
    │   └── io.runlog.RewardVersionError    --resume met a run scored by another version
    ├── RewardFailedError          a status whose policy is ``raise`` occurred (row and term)
    ├── EngineError                the engine was used after shutdown or could not start
    ├── TransientError             an io reward asks the engine to retry the call
    ├── core.sample.SampleError            a row cannot become a Sample (ValueError)
    ├── core.formula.FormulaError          a formula does not parse or fails (ValueError)
    ├── shaping.transforms.TransformError  one row cannot be transformed (ValueError)
    ├── engine.batcher.QueueFullError      the micro-batcher's queue is full
    ├── sandbox.SandboxError               the sandbox itself failed (RuntimeError)
    │   └── sandbox.SandboxRefused         a required protection is missing here
    ├── serve.wire.WireError               an HTTP request is wrong (carries the status)
    ├── serve.limits.ClientDisconnected    the client went away mid-request
    ├── client.ServerError                 the reward server refused a request
    │   └── client.ServerUnavailable       ... or could not be reached
    ├── models.deps.MissingDependencyError an optional extra is missing (ImportError)
    ├── models.judge.client.JudgeResponseError   a judge's reply is not a chat completion
    ├── models.vlm.encoder.ImageError      an image cannot be read (ValueError)
    ├── rewards.code.reference.InvalidReferenceError   code tests are malformed (ValueError)
    ├── rewards.code.grade.ReferenceProblem            the tests pass non-plain data
    └── rewards.math: tokens.ParseError, evaluate.EvalError (└── TooLarge)

Only `sandbox._wire.PlainDataError` stays outside: the sandbox loads that module by path in a
process that cannot import rewardsmith, and the error never leaves `sandbox.launcher`.
tests/core/test_errors.py checks that every other public exception class joins the tree.
"""

from __future__ import annotations

__all__ = [
    "EngineError",
    "InputError",
    "RegistryError",
    "RewardFailedError",
    "RewardsmithError",
    "SpecError",
    "TransientError",
]


class RewardsmithError(Exception):
    """Base class of every error raised by rewardsmith."""


class SpecError(RewardsmithError, ValueError):
    """A spec is invalid; the message names the source, the key and what to change."""


class RegistryError(RewardsmithError, LookupError):
    """A reward name is unknown (with suggestions) or was registered twice."""


class InputError(RewardsmithError, ValueError):
    """An input file cannot be read at all; the message names the file and line."""


class RewardFailedError(RewardsmithError, RuntimeError):
    """A term ended with a status whose policy is ``raise``."""


class EngineError(RewardsmithError, RuntimeError):
    """The engine cannot run work (shut down, or workers failed to start)."""


class TransientError(RewardsmithError):
    """Raised inside an ``io`` reward for a failure worth retrying (a 503, a dropped connection).

    Connection errors, timeouts and HTTP 429/5xx responses from httpx count as transient too.
    """
