"""Amazon Beauty 5-core (the S3-Rec / P5 preprocessing): titles, brand and category attributes.

Attributes are S3-Rec's 637 filtered ids (`Beauty_item2attributes.json`): the brand first, then the
category path, keeping attributes found on at least 5 items. Their names come from
`Beauty_attribute_names.tsv` when present, else they are recovered from P5's `datamaps.json` exactly as
that file was made: P5 attributes with `attributeid2num >= 5`, in id order, are S3-Rec ids 1..637, and an
attribute that only ever appears first in an item's list is a brand. Titles (`Beauty_items.tsv`) are
HTML-unescaped; the downloaded originals carry none, so items then have no title.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from core.errors import DataFormatError
from ingestion.records import DatasetBundle, ItemRecord, UserRecord
from ingestion.sequences import check_items_known, read_sequences
from ingestion.textfiles import numbered_lines, parse_int

MIN_ATTRIBUTE_ITEMS = 5
SEQUENCES_FILE = "Beauty.txt"
ATTRIBUTES_FILE = "Beauty_item2attributes.json"
NAMES_FILE = "Beauty_attribute_names.tsv"
ITEMS_FILE = "Beauty_items.tsv"
DATAMAPS_FILE = "datamaps.json"


def _load_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataFormatError(path, "file not found") from None
    except UnicodeDecodeError as exc:
        raise DataFormatError(path, f"not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise DataFormatError(path, f"invalid JSON: {exc.msg} (column {exc.colno})", exc.lineno) from None


def read_item_attributes(path: Path) -> dict[int, list[int]]:
    raw = _load_json(path)
    if not isinstance(raw, dict):
        raise DataFormatError(path, "expected a JSON object {item_id: [attribute_id, ...]}")
    table: dict[int, list[int]] = {}
    for key, values in raw.items():
        if not key.isdigit() or not isinstance(values, list) or not all(isinstance(v, int) for v in values):
            raise DataFormatError(path, f'entry {key!r} is not `"item_id": [int, ...]`')
        table[int(key)] = values
    return table


def read_attribute_names(path: Path) -> dict[int, tuple[str, str]]:
    """attr_id -> (kind, name) from `attr_id<TAB>name<TAB>kind` rows after a header."""
    names: dict[int, tuple[str, str]] = {}
    for number, line in numbered_lines(path):
        if number == 1 or not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != 3 or cells[2] not in ("brand", "category"):
            raise DataFormatError(path, "expected `attr_id<TAB>name<TAB>brand|category`", number)
        names[parse_int(cells[0], path=path, line=number, field="attr_id")] = (cells[2], cells[1])
    return names


def derive_attribute_names(datamaps: Path, item_attributes: dict[int, list[int]]) -> dict[int, tuple[str, str]]:
    """Recover S3-Rec attribute names and kinds from P5's datamaps (see the module docstring)."""
    raw = _load_json(datamaps)
    if not isinstance(raw, dict) or "attributeid2num" not in raw or "id2attribute" not in raw:
        raise DataFormatError(datamaps, "missing `attributeid2num` / `id2attribute`")
    frequent = sorted(int(key) for key, count in raw["attributeid2num"].items() if count >= MIN_ATTRIBUTE_ITEMS)
    seen_after_first = {attr for values in item_attributes.values() for attr in values[1:]}
    return {
        s3rec_id: ("category" if s3rec_id in seen_after_first else "brand", raw["id2attribute"][str(p5_id)])
        for s3rec_id, p5_id in enumerate(frequent, start=1)
    }


def read_titles(path: Path) -> dict[int, str]:
    titles: dict[int, str] = {}
    lines = numbered_lines(path)
    _, header = next(lines)
    columns = header.split("\t")
    if "item_id" not in columns or "title" not in columns:
        raise DataFormatError(path, f"header lacks item_id/title (found {columns})", 1)
    id_column, title_column = columns.index("item_id"), columns.index("title")
    for number, line in lines:
        cells = line.split("\t")
        if len(cells) != len(columns):
            raise DataFormatError(path, f"expected {len(columns)} tab-separated fields, found {len(cells)}", number)
        title = html.unescape(cells[title_column]).strip()
        if title:
            titles[parse_int(cells[id_column], path=path, line=number, field="item_id")] = title
    return titles


def read_beauty(folder: Path, name: str) -> DatasetBundle:
    sequences_path = folder / SEQUENCES_FILE
    histories, line_of_user = read_sequences(sequences_path)
    attributes_path = folder / ATTRIBUTES_FILE
    item_attributes = read_item_attributes(attributes_path)
    if (folder / NAMES_FILE).is_file():
        attribute_names = read_attribute_names(folder / NAMES_FILE)
    else:
        attribute_names = derive_attribute_names(folder / DATAMAPS_FILE, item_attributes)
    titles = read_titles(folder / ITEMS_FILE) if (folder / ITEMS_FILE).is_file() else {}

    check_items_known(sequences_path, histories, line_of_user, set(item_attributes), attributes_path)
    items = []
    for item in sorted({item for history in histories for item in history.items}):
        unknown = [attr for attr in item_attributes[item] if attr not in attribute_names]
        if unknown:
            raise DataFormatError(attributes_path, f"item {item} has attribute ids {unknown} with no name")
        attributes = tuple(sorted({attribute_names[attr] for attr in item_attributes[item]}))
        items.append(ItemRecord(id=item, title=titles.get(item), attributes=attributes))
    return DatasetBundle(
        name=name,
        source=str(sequences_path),
        variant="5core",
        items=tuple(items),
        users=tuple(UserRecord(id=history.user) for history in histories),
        histories=histories,
    )
