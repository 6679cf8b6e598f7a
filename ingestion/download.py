"""Cached downloads of the public dataset originals, for users without the project's offline copies.

Files land under `<cache>/downloads` via a `.partial` name and an atomic rename, so an interrupted
download is never mistaken for a finished one; a second call finds the cached file and makes no request.
"""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from core.errors import ServiceError

CHUNK = 1 << 16


def fetch(url: str, destination: Path, *, timeout_s: float) -> Path:
    """Download `url` to `destination` unless it is already there."""
    if destination.is_file():
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with Progress(
                TextColumn(f"download {destination.name}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                transient=True,
            ) as progress:
                task = progress.add_task("download", total=total)
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    progress.advance(task, len(chunk))
    except (urllib.error.URLError, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise ServiceError(f"downloading {url} failed ({exc}); put the files in LLMRG_DATA_DIR instead") from None
    partial.rename(destination)
    return destination


def extract_zip(archive: Path, folder: Path, required: tuple[str, ...]) -> Path:
    """Unpack `archive` into `folder` once (via a temporary folder), checking the members that must exist."""
    if all((folder / name).is_file() for name in required):
        return folder
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = {Path(name).name: name for name in bundle.namelist() if not name.endswith("/")}
            missing = [name for name in required if name not in members]
            if missing:
                raise ServiceError(f"{archive} lacks {missing}; delete it to download again")
            staging.mkdir(parents=True)
            for name in members:
                with bundle.open(members[name]) as source, open(staging / name, "wb") as target:
                    shutil.copyfileobj(source, target)
    except zipfile.BadZipFile:
        raise ServiceError(f"{archive} is not a valid zip file; delete it to download again") from None
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return folder
