"""The engine's error family. Every message says what is wrong and what to do about it.

Pages and the CLI catch :class:`RfmError` and show its message; anything else escaping is a bug.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "InputFileError",
    "MappingError",
    "ModelFitError",
    "RfmError",
    "RfmWarning",
]


class RfmError(ValueError):
    """Base class: a problem with the user's input or settings, with an actionable message."""


class InputFileError(RfmError):
    """The file cannot be read as a table (wrong format, empty, corrupt, encrypted, too large)."""


class MappingError(RfmError):
    """Required columns are missing or a mapping names a column the file does not have."""


class ConfigError(RfmError):
    """A setting or a segment rule is invalid."""


class ModelFitError(RfmError):
    """The data cannot support a model fit; the message explains why."""


class RfmWarning(UserWarning):
    """Something the analyst should know about, such as quantile ties that collapsed score bins."""
