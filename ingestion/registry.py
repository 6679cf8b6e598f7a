"""Dataset names and where their files come from.

Built-in datasets are read from `LLMRG_DATA_DIR` (the project's offline copies by default) and, when
that folder lacks them, from the public originals downloaded once into the cache. Users' own data comes
as a sequence file plus an optional item table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from core.errors import UnknownDatasetError
from core.settings import Settings
from ingestion import beauty, download, movielens
from ingestion.item_table import read_item_table
from ingestion.records import DatasetBundle, ItemRecord, UserRecord
from ingestion.sequences import check_items_known, read_sequences

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class BuiltinDataset:
    name: str
    folder: str
    description: str
    variant: str | None = None


BUILTINS = {
    dataset.name: dataset
    for dataset in (
        BuiltinDataset("ml-1m", "ml-1m", "MovieLens-1M, item 5-core (the paper's version)", "5core"),
        BuiltinDataset("ml-1m-all", "ml-1m", "MovieLens-1M, all 1,000,209 ratings", "all"),
        BuiltinDataset("beauty", "beauty", "Amazon Beauty 5-core with brand and category attributes"),
    )
}


def builtin_name(dataset: str, variant: str | None) -> str:
    """`ml-1m` + variant `all` is stored as `ml-1m-all`, so the two never mix in one dataset."""
    if dataset == "ml-1m" and variant not in (None, "5core"):
        if variant != "all":
            raise UnknownDatasetError(f"unknown ML-1M variant {variant!r}; expected 5core or all")
        return "ml-1m-all"
    if variant is not None and dataset != "ml-1m":
        raise UnknownDatasetError(f"--variant applies to ml-1m only, not {dataset!r}")
    if dataset not in BUILTINS:
        raise UnknownDatasetError(
            f"unknown dataset {dataset!r}; built-in datasets are {sorted(BUILTINS)}, "
            "or bring your own with --name NAME --sequences FILE [--items TSV]"
        )
    return dataset


def read_builtin(settings: Settings, name: str) -> DatasetBundle:
    dataset = BUILTINS[name]
    if dataset.folder == "ml-1m":
        return movielens.read_ml1m(_ml1m_folder(settings, dataset), dataset.variant or "5core", name)
    return beauty.read_beauty(_beauty_folder(settings), name)


def _ml1m_folder(settings: Settings, dataset: BuiltinDataset) -> Path:
    if settings.paths.data_dir is not None:
        folder = settings.paths.data_dir / "ml-1m"
        shared = folder / f"ml-1m_sequences_{dataset.variant}.txt"
        if (shared.is_file() or (folder / "ratings.dat").is_file()) and (folder / "movies.dat").is_file():
            return folder
    archive = download.fetch(
        settings.ingest.ml1m_url,
        settings.paths.cache_dir / "downloads" / "ml-1m.zip",
        timeout_s=settings.ingest.download_timeout_s,
    )
    return download.extract_zip(archive, settings.paths.cache_dir / "ml-1m", ("ratings.dat", "movies.dat", "users.dat"))


def _beauty_folder(settings: Settings) -> Path:
    if settings.paths.data_dir is not None and (settings.paths.data_dir / "beauty" / beauty.SEQUENCES_FILE).is_file():
        return settings.paths.data_dir / "beauty"
    folder = settings.paths.cache_dir / "beauty"
    s3rec_base, p5_base = (url.strip() for url in settings.ingest.beauty_base_urls.split(",", 1))
    for base, filename in (
        (s3rec_base, beauty.SEQUENCES_FILE),
        (s3rec_base, beauty.ATTRIBUTES_FILE),
        (p5_base, beauty.DATAMAPS_FILE),
    ):
        download.fetch(
            base.rstrip("/") + "/" + filename, folder / filename, timeout_s=settings.ingest.download_timeout_s
        )
    return folder


def read_custom(name: str, sequences: Path, items: Path | None) -> DatasetBundle:
    """A user's own dataset: a sequence file and, optionally, an item table every item must appear in."""
    if not NAME_PATTERN.match(name):
        raise UnknownDatasetError(f"dataset name {name!r} must match {NAME_PATTERN.pattern}")
    if name in BUILTINS:
        raise UnknownDatasetError(f"{name!r} is a built-in dataset; choose another --name for your own data")
    histories, line_of_user = read_sequences(sequences)
    used = sorted({item for history in histories for item in history.items})
    if items is not None:
        table = {record.id: record for record in read_item_table(items)}
        check_items_known(sequences, histories, line_of_user, set(table), items)
        item_records = tuple(table[item] for item in used)
    else:
        item_records = tuple(ItemRecord(id=item, title=None) for item in used)
    return DatasetBundle(
        name=name,
        source=str(sequences),
        variant=None,
        items=item_records,
        users=tuple(UserRecord(id=history.user) for history in histories),
        histories=histories,
    )
