"""Typed errors: the library raises these, the CLI turns them into one-line messages."""

from __future__ import annotations


class StancekitError(Exception):
    """Base class of every error stancekit raises on purpose."""


def _where(path: object | None, line: int | None, field: str | None) -> str:
    """Format a `file:line: field` location prefix (parts that are None are left out)."""
    parts = []
    if path is not None:
        parts.append(str(path) + (f":{line}" if line is not None else ""))
    if field:
        parts.append(f"field '{field}'")
    return ": ".join(parts)


class LocatedError(StancekitError):
    """An error about one place in one input file."""

    def __init__(self, message: str, path: object | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        self.path, self.line, self.field, self.detail = path, line, field, message
        where = _where(path, line, field)
        super().__init__(f"{where}: {message}" if where else message)


class ConfigError(LocatedError, ValueError):
    """A config file or override is unknown, mistyped or out of range.

    `key` is the dotted setting at fault (e.g. `model.C`), so the loader can point at
    the line or `--set` that gave it.
    """

    def __init__(self, message: str, path: object | None = None, line: int | None = None,
                 key: str | None = None) -> None:
        super().__init__(message, path, line)
        self.key = key


class DataError(LocatedError, ValueError):
    """An input article, annotation or sentence file is malformed."""


class LabelError(DataError):
    """A label is unknown or outside the configured label set."""


class TrainingError(StancekitError, ValueError):
    """Training cannot proceed with this data (e.g. an empty split)."""


class ArtifactError(StancekitError, OSError):
    """An artifact is missing, unwritable, tampered with or from another version."""


class ModelNotFoundError(ArtifactError, FileNotFoundError):
    """A model path or name@version does not exist."""


class OutputError(StancekitError, OSError):
    """An output file or directory cannot be written where the user asked."""


class PatternError(StancekitError, ValueError):
    """A configured regular expression does not compile."""


class ParityError(TrainingError):
    """The runtime model does not score as the fitted estimator does (a bug)."""


class ServiceError(StancekitError, OSError):
    """The HTTP service cannot start (e.g. its port is in use)."""
