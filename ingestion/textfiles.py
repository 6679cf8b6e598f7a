"""Reading text files line by line with errors that name the file and line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from core.errors import DataFormatError


def numbered_lines(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """(1-based line number, line without its line ending) for every line of a non-empty file.

    Decoding is strict and per line, so an undecodable byte is reported at its line and column instead of
    being replaced silently; ISO-8859-1 files (GroupLens `movies.dat`) pass `encoding="latin-1"`.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataFormatError(path, "file not found") from None
    except IsADirectoryError:
        raise DataFormatError(path, "is a directory, expected a file") from None
    if not data.strip():
        raise DataFormatError(path, "file is empty")
    for number, raw in enumerate(data.splitlines(), start=1):
        try:
            line = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise DataFormatError(
                path, f"cannot decode byte 0x{raw[exc.start]:02x} at column {exc.start + 1} as {encoding}", number
            ) from None
        yield number, line


def parse_int(text: str, *, path: Path, line: int, field: str) -> int:
    """A non-negative integer id, or an error naming the field."""
    try:
        value = int(text)
    except ValueError:
        raise DataFormatError(path, f"{field} {text!r} is not an integer", line) from None
    if value < 0:
        raise DataFormatError(path, f"{field} {value} is negative", line)
    return value
