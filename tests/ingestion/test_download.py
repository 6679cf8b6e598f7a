"""Downloads of the public originals, served from a loopback HTTP server built from the shared copies."""

from __future__ import annotations

import functools
import http.server
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from core.errors import ServiceError
from ingestion import beauty, registry
from tests.conftest import SHARED_DATA, make_settings
from tests.ingestion.test_readers import raw_ml1m_folder

pytestmark = pytest.mark.unit


class CountingHandler(http.server.SimpleHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        CountingHandler.requests.append(self.path)
        super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    root = tmp_path / "www"
    root.mkdir()
    CountingHandler.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(CountingHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_ml1m_zip_is_downloaded_once_and_read_in_raw_format(tmp_path: Path, http_root: tuple[Path, str]) -> None:
    root, base = http_root
    raw = raw_ml1m_folder(tmp_path / "raw")
    with zipfile.ZipFile(root / "ml-1m.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("ratings.dat", "movies.dat", "users.dat"):
            archive.write(raw / name, f"ml-1m/{name}")
    settings = make_settings(
        paths={"data_dir": tmp_path / "no-data-here", "cache_dir": tmp_path / "cache"},
        ingest={"ml1m_url": f"{base}/ml-1m.zip"},
    )
    bundle = registry.read_builtin(settings, "ml-1m")
    assert (len(bundle.users), len(bundle.items), bundle.interaction_count) == (6040, 3416, 999_611)
    assert registry.read_builtin(settings, "ml-1m-all").interaction_count == 1_000_209
    assert CountingHandler.requests == ["/ml-1m.zip"]
    assert not list((tmp_path / "cache").rglob("*.partial"))


def test_beauty_originals_are_downloaded_and_attribute_names_derived(
    tmp_path: Path, http_root: tuple[Path, str]
) -> None:
    root, base = http_root
    for folder, names in (("s3rec", (beauty.SEQUENCES_FILE, beauty.ATTRIBUTES_FILE)), ("p5", (beauty.DATAMAPS_FILE,))):
        (root / folder).mkdir()
        for name in names:
            (root / folder / name).write_bytes((SHARED_DATA / "beauty" / name).read_bytes())
    settings = make_settings(
        paths={"data_dir": None, "cache_dir": tmp_path / "cache"},
        ingest={"beauty_base_urls": f"{base}/s3rec/,{base}/p5/"},
    )
    bundle = registry.read_builtin(settings, "beauty")
    shared = beauty.read_beauty(SHARED_DATA / "beauty", "beauty")
    assert bundle.histories == shared.histories
    assert [(i.id, i.attributes) for i in bundle.items] == [(i.id, i.attributes) for i in shared.items]
    assert all(item.title is None for item in bundle.items)
    registry.read_builtin(settings, "beauty")
    assert sorted(CountingHandler.requests) == [
        "/p5/datamaps.json",
        "/s3rec/Beauty.txt",
        "/s3rec/Beauty_item2attributes.json",
    ]


def test_failed_download_leaves_no_partial_file(tmp_path: Path, http_root: tuple[Path, str]) -> None:
    _, base = http_root
    settings = make_settings(
        paths={"data_dir": None, "cache_dir": tmp_path / "cache"}, ingest={"ml1m_url": f"{base}/missing.zip"}
    )
    with pytest.raises(ServiceError, match=r"missing\.zip failed"):
        registry.read_builtin(settings, "ml-1m")
    assert not list((tmp_path / "cache").rglob("*"))[1:]
