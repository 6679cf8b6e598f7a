"""A user's own item table: a UTF-8 TSV with a header row.

Columns: `item_id` (required), `title` (optional), and attribute columns `genre`/`genres`,
`category`/`categories`, `brand`, whose cells hold `|`-separated values. Other columns are ignored.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import DataFormatError
from ingestion.records import ItemRecord
from ingestion.textfiles import numbered_lines, parse_int

ATTRIBUTE_COLUMNS = {
    "genre": "genre",
    "genres": "genre",
    "category": "category",
    "categories": "category",
    "brand": "brand",
}


def read_item_table(path: Path) -> tuple[ItemRecord, ...]:
    lines = numbered_lines(path)
    _, header_line = next(lines)
    header = [column.strip().lower() for column in header_line.split("\t")]
    if "item_id" not in header:
        raise DataFormatError(path, f"header has no `item_id` column (found {header})", 1)
    id_column = header.index("item_id")
    title_column = header.index("title") if "title" in header else None
    attribute_columns = [
        (index, ATTRIBUTE_COLUMNS[name]) for index, name in enumerate(header) if name in ATTRIBUTE_COLUMNS
    ]
    items: dict[int, ItemRecord] = {}
    seen_on: dict[int, int] = {}
    for number, line in lines:
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != len(header):
            raise DataFormatError(path, f"expected {len(header)} tab-separated fields, found {len(cells)}", number)
        item_id = parse_int(cells[id_column], path=path, line=number, field="item_id")
        if item_id in items:
            raise DataFormatError(path, f"item {item_id} already appeared on line {seen_on[item_id]}", number)
        title = cells[title_column].strip() if title_column is not None else ""
        attributes = tuple(
            sorted(
                {
                    (kind, value.strip())
                    for index, kind in attribute_columns
                    for value in cells[index].split("|")
                    if value.strip()
                }
            )
        )
        items[item_id] = ItemRecord(id=item_id, title=title or None, attributes=attributes)
        seen_on[item_id] = number
    if not items:
        raise DataFormatError(path, "item table has a header but no rows")
    return tuple(items.values())
