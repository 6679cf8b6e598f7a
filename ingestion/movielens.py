"""MovieLens-1M: titles, genres and user attributes, from either of two layouts.

1. The shared layout: `ml-1m_sequences_{5core,all}.txt` (sequence format) beside GroupLens'
   `movies.dat` and `users.dat`.
2. GroupLens' raw `ml-1m.zip` layout: `ratings.dat` (`UserID::MovieID::Rating::Timestamp`), ordered
   here by timestamp per user (ties keep file order), and 5-core applied as the SASRec preprocessing
   does: one pass dropping movies with fewer than 5 ratings.

GroupLens' `.dat` files are ISO-8859-1, so accented titles ("Misérables") decode correctly.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from core.errors import DataFormatError
from ingestion.records import DatasetBundle, ItemRecord, UserHistory, UserRecord
from ingestion.sequences import check_items_known, read_sequences
from ingestion.textfiles import numbered_lines, parse_int

VARIANTS = ("5core", "all")
MIN_ITEM_INTERACTIONS = 5
GROUPLENS_ENCODING = "latin-1"

OCCUPATIONS = (
    "other",
    "academic/educator",
    "artist",
    "clerical/admin",
    "college/grad student",
    "customer service",
    "doctor/health care",
    "executive/managerial",
    "farmer",
    "homemaker",
    "K-12 student",
    "lawyer",
    "programmer",
    "retired",
    "sales/marketing",
    "scientist",
    "self-employed",
    "technician/engineer",
    "tradesman/craftsman",
    "unemployed",
    "writer",
)
AGE_GROUPS = {1: "under 18", 18: "18-24", 25: "25-34", 35: "35-44", 45: "45-49", 50: "50-55", 56: "56+"}


def read_movies(path: Path) -> dict[int, ItemRecord]:
    movies: dict[int, ItemRecord] = {}
    for number, line in numbered_lines(path, GROUPLENS_ENCODING):
        if not line.strip():
            continue
        fields = line.split("::")
        if len(fields) != 3:
            raise DataFormatError(path, f"expected `MovieID::Title::Genres`, found {len(fields)} fields", number)
        movie = parse_int(fields[0], path=path, line=number, field="MovieID")
        genres = tuple(("genre", genre) for genre in sorted(set(fields[2].split("|"))) if genre)
        movies[movie] = ItemRecord(id=movie, title=fields[1].strip(), attributes=genres)
    return movies


def read_users(path: Path) -> dict[int, UserRecord]:
    users: dict[int, UserRecord] = {}
    for number, line in numbered_lines(path, GROUPLENS_ENCODING):
        if not line.strip():
            continue
        fields = line.split("::")
        if len(fields) != 5:
            raise DataFormatError(
                path, f"expected `UserID::Gender::Age::Occupation::Zip-code`, found {len(fields)} fields", number
            )
        user = parse_int(fields[0], path=path, line=number, field="UserID")
        age = parse_int(fields[2], path=path, line=number, field="Age")
        occupation = parse_int(fields[3], path=path, line=number, field="Occupation")
        if fields[1] not in ("M", "F"):
            raise DataFormatError(path, f"Gender {fields[1]!r} is neither M nor F", number)
        if age not in AGE_GROUPS:
            raise DataFormatError(path, f"Age {age} is not a GroupLens age group {sorted(AGE_GROUPS)}", number)
        if occupation >= len(OCCUPATIONS):
            raise DataFormatError(path, f"Occupation {occupation} is not in 0..{len(OCCUPATIONS) - 1}", number)
        users[user] = UserRecord(
            id=user,
            properties={
                "gender": fields[1],
                "age": age,
                "age_group": AGE_GROUPS[age],
                "occupation": occupation,
                "occupation_name": OCCUPATIONS[occupation],
                "zip": fields[4].strip(),
            },
        )
    return users


def read_ratings(path: Path) -> tuple[tuple[UserHistory, ...], dict[int, int]]:
    """Histories from raw `ratings.dat`: each user's movies ordered by timestamp (stable on ties)."""
    rated: dict[int, list[tuple[int, int]]] = defaultdict(list)
    first_line: dict[int, int] = {}
    for number, line in numbered_lines(path, GROUPLENS_ENCODING):
        if not line.strip():
            continue
        fields = line.split("::")
        if len(fields) != 4:
            raise DataFormatError(
                path, f"expected `UserID::MovieID::Rating::Timestamp`, found {len(fields)} fields", number
            )
        user = parse_int(fields[0], path=path, line=number, field="UserID")
        movie = parse_int(fields[1], path=path, line=number, field="MovieID")
        timestamp = parse_int(fields[3], path=path, line=number, field="Timestamp")
        rated[user].append((timestamp, movie))
        first_line.setdefault(user, number)
    histories = tuple(
        UserHistory(user=user, items=tuple(movie for _, movie in sorted(rated[user], key=lambda pair: pair[0])))
        for user in sorted(rated)
    )
    return histories, first_line


def keep_frequent_items(histories: tuple[UserHistory, ...], minimum: int) -> tuple[UserHistory, ...]:
    """One pass of item k-core: drop items with fewer than `minimum` interactions (users are kept)."""
    counts = Counter(item for history in histories for item in history.items)
    kept = (UserHistory(h.user, tuple(i for i in h.items if counts[i] >= minimum)) for h in histories)
    return tuple(history for history in kept if history.items)


def read_ml1m(folder: Path, variant: str, name: str) -> DatasetBundle:
    if variant not in VARIANTS:
        raise DataFormatError(folder, f"unknown ML-1M variant {variant!r}; expected one of {VARIANTS}")
    movies_path, users_path = folder / "movies.dat", folder / "users.dat"
    sequences_path = folder / f"ml-1m_sequences_{variant}.txt"
    if sequences_path.is_file():
        histories, line_of_user = read_sequences(sequences_path)
        source_path = sequences_path
    elif (folder / "ratings.dat").is_file():
        source_path = folder / "ratings.dat"
        histories, line_of_user = read_ratings(source_path)
        if variant == "5core":
            histories = keep_frequent_items(histories, MIN_ITEM_INTERACTIONS)
    else:
        raise DataFormatError(folder, f"has neither {sequences_path.name} nor ratings.dat")
    movies = read_movies(movies_path)
    users = read_users(users_path)
    check_items_known(source_path, histories, line_of_user, set(movies), movies_path)
    for history in histories:
        if history.user not in users:
            raise DataFormatError(
                source_path, f"user {history.user} is missing from {users_path}", line_of_user[history.user]
            )
    used_items = sorted({item for history in histories for item in history.items})
    return DatasetBundle(
        name=name,
        source=str(source_path),
        variant=variant,
        items=tuple(movies[item] for item in used_items),
        users=tuple(users[history.user] for history in histories),
        histories=histories,
    )
