"""User-facing errors.

Every error a user can cause (bad file, unknown setting, missing model) is a ``ReproError``. The CLI prints
its message, without a traceback, and exits with status 2. Messages name the culprit (file and line, the
setting, the model id) and say how to fix it.
"""

from __future__ import annotations

from pathlib import Path


class ReproError(Exception):
    """Base class of all errors that are the user's to fix.

    ``must_fix``: a row that stops with this error could not run for a reason the user has to fix (data missing
    or broken, a bad setting), so ``reproduce`` ends with :data:`EXIT_NOT_RUN`. False for rows that do not run
    here by design (weights not reachable offline, not implemented in this suite): those are listed, exit 0.
    """

    must_fix = True


EXIT_USAGE = 2  # a ReproError stopped the command (bad setting, file, model): one line, no traceback
EXIT_NOT_RUN = 3  # `reproduce` finished, but a selected table or row could not run for a reason to fix


class ConfigError(ReproError, ValueError):
    """An unknown or inconsistent setting (profile, pooling, objective, ...)."""


class DataError(ReproError):
    """A data file is missing, truncated or malformed."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        self.path = Path(path) if path is not None else None
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}"
            if line is not None:
                where += f", line {line}"
            where += ": "
        super().__init__(where + message)


class ModelNotAvailable(ReproError):
    """A model id cannot be resolved to weights on this machine, or a row is not implemented in this suite (by
    design: listed as not run, not a failure)."""

    must_fix = False


class BrokenModel(DataError):
    """A model's files are there but unreadable (truncated weights, checksum mismatch): re-download them."""


class RecordError(DataError, ValueError):
    """A result record under the results folder cannot be read (truncated, not JSON, not a record)."""


def must_fix(error: BaseException) -> bool:
    """Whether ``error`` is one the user has to fix (see :attr:`ReproError.must_fix`)."""
    return bool(getattr(error, "must_fix", True))


def choose(value: str, allowed, what: str) -> str:
    """Return ``value`` if it is one of ``allowed``; otherwise raise a ConfigError listing them."""
    allowed = list(allowed)
    if value not in allowed:
        raise ConfigError(f"unknown {what} {value!r}; allowed: {', '.join(map(str, allowed))}")
    return value
