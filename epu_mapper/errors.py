"""Errors a user may see. The CLI and the app print their message, never a traceback."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class EpuMapperError(Exception):
    """Base class: the message is written for the person running the tool."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file, located by file, line and column."""

    file: str
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.column}: {self.message}"


class DirectoryValidationError(EpuMapperError):
    """A directory file has problems; ``problems`` lists every one of them."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class DataDirectoryError(EpuMapperError):
    """The raw data directory is unset, missing, or lacks a file."""


class BuildMissingError(EpuMapperError):
    """A built table is missing: the message names the command that builds it."""

    def __init__(self, what: str, path: Path, command: str):
        self.what, self.path, self.command = what, path, command
        super().__init__(f"{what} has not been built yet (looked for {path}). Run: {command}")


class BuildDamagedError(BuildMissingError):
    """A built file exists but cannot be read (truncated, garbage, wrong columns, unreadable).

    The message names the file, what went wrong and the command that rebuilds it; the app
    shows a "Rebuild" action for it (a :class:`BuildMissingError`, so every page guard that
    offers a build offers this one too).
    """

    def __init__(self, what: str, path: Path, command: str, reason: str):
        self.reason = reason
        super().__init__(what, path, command)
        EpuMapperError.__init__(
            self, f"{what} is damaged or unreadable ({path}: {reason}). Rebuild it: {command}")


class PostcodeError(EpuMapperError):
    """A postcode is malformed or cannot be placed."""
