"""Every exception rewardsmith raises, in one place.

A per-row problem is never an exception that reaches the caller: it becomes a `Score` status.
Exceptions are for whole-batch problems found before or outside scoring::

    RewardsmithError
    ├── SpecError          a spec file or dict is wrong (names the file, the key and the fix)
    ├── RegistryError      a reward name is unknown or registered twice
    ├── InputError         an input file cannot be read at all (names the file and line)
    ├── RewardFailedError  a status whose policy is ``raise`` occurred (names row and term)
    └── EngineError        the engine was used after shutdown or could not start workers

    TransientError         raised by an io reward to ask the engine to retry the call
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


class TransientError(Exception):
    """Raised inside an ``io`` reward for a failure worth retrying (a 503, a dropped connection).

    Connection errors, timeouts and HTTP 429/5xx responses from httpx count as transient too.
    """
