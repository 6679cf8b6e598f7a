"""The project's exception hierarchy.

Errors carry enough context (file, line, field, service) for the CLI to print one readable line and exit
non-zero; nothing is turned into a status string, so callers and retry machinery still see the failure.
"""

from __future__ import annotations

from pathlib import Path


class LLMRGError(Exception):
    """Base of every error the project raises on purpose."""


class ConfigError(LLMRGError):
    """Settings are missing or inconsistent."""


class ServiceError(LLMRGError):
    """A local service could not be assembled, started, stopped or reached."""


class GraphWriteError(LLMRGError):
    """A write to Neo4j failed or would break an invariant of the stored graph."""


class DataFormatError(LLMRGError):
    """An input file is malformed; names the file and, where there is one, the 1-based line."""

    def __init__(self, path: Path | str, message: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        self.reason = message
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {message}")


class UnknownDatasetError(LLMRGError):
    """A dataset name that is neither built in nor stored."""
