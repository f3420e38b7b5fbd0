"""User-facing errors.

Every error a user can cause (bad file, unknown setting, missing model) is a ``ReproError``. The CLI prints
its message, without a traceback, and exits with status 2. Messages name the culprit (file and line, the
setting, the model id) and say how to fix it.
"""

from __future__ import annotations

from pathlib import Path


class ReproError(Exception):
    """Base class of all errors that are the user's to fix."""


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
    """A model id cannot be resolved to weights on this machine."""


def choose(value: str, allowed, what: str) -> str:
    """Return ``value`` if it is one of ``allowed``; otherwise raise a ConfigError listing them."""
    allowed = list(allowed)
    if value not in allowed:
        raise ConfigError(f"unknown {what} {value!r}; allowed: {', '.join(map(str, allowed))}")
    return value
