"""Readers: every bad-input case names the file and line; good input gives exact records."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import DataFormatError, UnknownDatasetError
from ingestion import beauty, movielens
from ingestion.item_table import read_item_table
from ingestion.registry import builtin_name, read_custom
from ingestion.sequences import read_sequences
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.unit


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_sequences_parse_in_order_and_skip_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "s.txt", "1 10 11 12\n\n2 11 10\n")
    histories, lines = read_sequences(path)
    assert [(h.user, h.items) for h in histories] == [(1, (10, 11, 12)), (2, (11, 10))]
    assert lines == {1: 1, 2: 3}


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("1 10 11\n2 10 x7\n", 2, "item id 'x7' is not an integer"),
        ("1 10 11\nu2 10\n", 2, "user id 'u2' is not an integer"),
        ("1 10 11\n2\n", 2, "user 2 has no items"),
        ("1 10 11\n2 10\n1 12\n", 3, "user 1 already appeared on line 1"),
        ("1 10 -4\n", 1, "item id -4 is negative"),
        (b"1 10 11\n2 10 \xff 11\n", 2, "cannot decode byte 0xff at column 6"),
    ],
)
def test_sequences_bad_input_names_file_and_line(tmp_path: Path, content: str | bytes, line: int, message: str) -> None:
    path = write(tmp_path / "bad.txt", content)
    with pytest.raises(DataFormatError) as caught:
        read_sequences(path)
    assert caught.value.line == line
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"{path}:{line}: ")


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_sequence_file_is_an_error(tmp_path: Path, content: str) -> None:
    path = write(tmp_path / "empty.txt", content)
    with pytest.raises(DataFormatError, match="file is empty"):
        read_sequences(path)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match=r"nope\.txt: file not found"):
        read_sequences(tmp_path / "nope.txt")


def test_item_table_reads_titles_and_attribute_columns(tmp_path: Path) -> None:
    path = write(
        tmp_path / "items.tsv",
        "item_id\ttitle\tgenres\tbrand\textra\n10\tCafé Noir\tDrama|Comedy\tAcme\tx\n11\t\t\t\ty\n",
    )
    items = read_item_table(path)
    assert [(i.id, i.title, i.attributes) for i in items] == [
        (10, "Café Noir", (("brand", "Acme"), ("genre", "Comedy"), ("genre", "Drama"))),
        (11, None, ()),
    ]


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("id\ttitle\n1\tA\n", 1, "no `item_id` column"),
        ("item_id\ttitle\n1\tA\n2\n", 3, "expected 2 tab-separated fields, found 1"),
        ("item_id\ttitle\n1\tA\n1\tB\n", 3, "item 1 already appeared on line 2"),
        ("item_id\ttitle\nten\tA\n", 2, "item_id 'ten' is not an integer"),
    ],
)
def test_item_table_bad_input(tmp_path: Path, content: str, line: int, message: str) -> None:
    path = write(tmp_path / "items.tsv", content)
    with pytest.raises(DataFormatError) as caught:
        read_item_table(path)
    assert (caught.value.line, message in str(caught.value)) == (line, True)


def test_custom_dataset_rejects_items_missing_from_the_table(tmp_path: Path) -> None:
    sequences = write(tmp_path / "s.txt", "1 10 11\n2 11 12\n")
    items = write(tmp_path / "items.tsv", "item_id\ttitle\n10\tA\n11\tB\n")
    with pytest.raises(DataFormatError) as caught:
        read_custom("mine", sequences, items)
    assert caught.value.line == 2
    assert f"item 12 of user 2 is missing from the item table {items}" in str(caught.value)


def test_custom_dataset_without_item_table(tmp_path: Path) -> None:
    bundle = read_custom("mine", write(tmp_path / "s.txt", "7 3 1 3\n"), None)
    assert (bundle.interaction_count, [i.id for i in bundle.items], bundle.histories[0].items) == (3, [1, 3], (3, 1, 3))


@pytest.mark.parametrize(("name", "message"), [("ml-1m", "built-in"), ("Bad Name", "must match")])
def test_custom_dataset_names(tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(UnknownDatasetError, match=message):
        read_custom(name, write(tmp_path / "s.txt", "1 2\n"), None)


def test_unknown_builtin_dataset_lists_the_known_ones() -> None:
    with pytest.raises(UnknownDatasetError, match=r"unknown dataset 'ml-20m'; built-in datasets are \['beauty'"):
        builtin_name("ml-20m", None)
    assert builtin_name("ml-1m", "all") == "ml-1m-all"
    assert builtin_name("ml-1m", None) == "ml-1m"


def test_movies_dat_is_iso_8859_1() -> None:
    movies = movielens.read_movies(SHARED_DATA / "ml-1m" / "movies.dat")
    assert len(movies) == 3883
    assert movies[73].title == "Misérables, Les (1995)"
    assert movies[1].attributes == (("genre", "Animation"), ("genre", "Children's"), ("genre", "Comedy"))
    assert len({name for m in movies.values() for _, name in m.attributes}) == 18


def test_users_dat_attributes() -> None:
    users = movielens.read_users(SHARED_DATA / "ml-1m" / "users.dat")
    assert len(users) == 6040
    assert users[1].properties == {
        "gender": "F",
        "age": 1,
        "age_group": "under 18",
        "occupation": 10,
        "occupation_name": "K-12 student",
        "zip": "48067",
    }


def test_users_dat_bad_gender(tmp_path: Path) -> None:
    path = write(tmp_path / "users.dat", "1::F::1::10::48067\n2::X::56::16::70072\n")
    with pytest.raises(DataFormatError, match=r"users.dat:2: Gender 'X'"):
        movielens.read_users(path)


def raw_ml1m_folder(folder: Path) -> Path:
    """A GroupLens-layout folder: ratings.dat rebuilt from the shared full sequences with timestamps that
    encode the order, written shuffled with some same-second ties, plus the original movies/users files."""
    folder.mkdir()
    lines = []
    for line in (SHARED_DATA / "ml-1m" / "ml-1m_sequences_all.txt").read_text().splitlines():
        user, *items = line.split()
        for position, item in enumerate(items):
            lines.append((int(user), position, f"{user}::{item}::4::{978300000 + position}\n"))
    lines.sort(key=lambda row: (row[1] % 7, -row[0], row[1]))  # scrambled file order, stable per user
    (folder / "ratings.dat").write_text("".join(text for _, _, text in lines), encoding="latin-1")
    for name in ("movies.dat", "users.dat"):
        (folder / name).write_bytes((SHARED_DATA / "ml-1m" / name).read_bytes())
    return folder


def test_raw_grouplens_layout_reproduces_the_shared_sequences(tmp_path: Path) -> None:
    folder = raw_ml1m_folder(tmp_path / "ml-1m")
    for variant, filename in (("all", "ml-1m_sequences_all.txt"), ("5core", "ml-1m_sequences_5core.txt")):
        bundle = movielens.read_ml1m(folder, variant, "ml-1m")
        expected, _ = read_sequences(SHARED_DATA / "ml-1m" / filename)
        assert bundle.histories == expected
    assert (len(bundle.users), len(bundle.items), bundle.interaction_count) == (6040, 3416, 999_611)


def test_ratings_ties_keep_file_order(tmp_path: Path) -> None:
    path = write(tmp_path / "ratings.dat", "1::30::5::200\n1::20::5::100\n1::10::5::200\n1::40::5::100\n")
    histories, _ = movielens.read_ratings(path)
    assert histories[0].items == (20, 40, 30, 10)


def test_beauty_attribute_names_are_recovered_from_datamaps() -> None:
    folder = SHARED_DATA / "beauty"
    item_attributes = beauty.read_item_attributes(folder / beauty.ATTRIBUTES_FILE)
    derived = beauty.derive_attribute_names(folder / beauty.DATAMAPS_FILE, item_attributes)
    assert derived == beauty.read_attribute_names(folder / beauty.NAMES_FILE)
    assert sum(kind == "brand" for kind, _ in derived.values()) == 435


def test_beauty_bundle_has_unescaped_titles_and_attributes() -> None:
    bundle = beauty.read_beauty(SHARED_DATA / "beauty", "beauty")
    assert (len(bundle.users), len(bundle.items), bundle.interaction_count) == (22_363, 12_101, 198_502)
    assert sum(item.title is None for item in bundle.items) == 15
    assert not any("&amp;" in (item.title or "") or "&#39;" in (item.title or "") for item in bundle.items)
    first = bundle.items[0]
    assert first.title == "OPI Nail Lacquer, Simmer and Shimmer, 0.5-Fluid Ounce"
    assert first.attributes == (
        ("brand", "OPI"),
        ("category", "Makeup"),
        ("category", "Nail Polish"),
        ("category", "Nails"),
    )
    assert len(bundle.attributes) == 637
