"""The shared sequence-file format: one line per user, `user item item ...`, oldest first."""

from __future__ import annotations

from pathlib import Path

from core.errors import DataFormatError
from ingestion.records import UserHistory
from ingestion.textfiles import numbered_lines, parse_int


def read_sequences(path: Path) -> tuple[tuple[UserHistory, ...], dict[int, int]]:
    """All histories of a sequence file, and the line each user's history came from.

    Blank lines are skipped; a user without items, a repeated user or a non-integer id is an error.
    """
    histories: list[UserHistory] = []
    line_of_user: dict[int, int] = {}
    for number, line in numbered_lines(path):
        fields = line.split()
        if not fields:
            continue
        user = parse_int(fields[0], path=path, line=number, field="user id")
        if len(fields) < 2:
            raise DataFormatError(path, f"user {user} has no items (expected `user item item ...`)", number)
        if user in line_of_user:
            raise DataFormatError(path, f"user {user} already appeared on line {line_of_user[user]}", number)
        items = tuple(parse_int(text, path=path, line=number, field="item id") for text in fields[1:])
        line_of_user[user] = number
        histories.append(UserHistory(user=user, items=items))
    if not histories:
        raise DataFormatError(path, "file has no user lines")
    return tuple(histories), line_of_user


def check_items_known(
    path: Path, histories: tuple[UserHistory, ...], line_of_user: dict[int, int], known: set[int], table: Path
) -> None:
    """Every item of every history is in the item table, else an error at the first offending line."""
    for history in histories:
        for item in history.items:
            if item not in known:
                raise DataFormatError(
                    path,
                    f"item {item} of user {history.user} is missing from the item table {table}",
                    line_of_user[history.user],
                )
