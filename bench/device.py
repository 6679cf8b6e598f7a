"""The rest of the base table on a lent GPU machine, in one call: prepared and rehearsed here, run there, collected
here.

A session that holds a GPU (the `device` tool) gets about 15 minutes of it, at most 10 a command, on a machine that
reaches no package index and keeps nothing. So one call does it all: the snapshots and the wheels the GPU image
lacks travel with the working tree (`.device/`, ignored by git, and `.llmrg/bench/snapshots`), the runs train side
by side on CUDA (`bench.reproduce.run_all`) until a deadline that leaves time to pack, and the finished runs come
back in one archive; the runs the deadline stops come back parked (`bench.reproduce.park`, one file each), so the
next call carries them on where they stopped instead of spending its minutes on the same epochs again. Runs already
committed in `bench/results/reproduce/` are not trained again, so each call spends its minutes on what is missing,
in this order: seed 0 of every base model on both datasets, DuoRec + SR-GNN on the plain sequence graph (the paper's
control), SASRec and DuoRec on ML-1M with the sequence-graph control, with every user's reasoning graph from the
released knowledge base (`llmrg-kb`) and with its placebos (the same edges' sources drawn at random,
`llmrg-kb-placebo`; as many edges per user, drawn whole, `llmrg-kb-random`), seeds 1-4 of SASRec and DuoRec, then
the runs that isolate a gap to the paper: on Beauty DuoRec on prefix rows and BERT4Rec at RecBole's mask proportion,
FDSA on both datasets with its item attributes shuffled across items (the placebo for its lead over the paper), and
BERT4Rec on ML-1M with patience 40 (its gap: a model still improving when patience 10 stopped it), and CL4SRec and
DuoRec on ML-1M at SASRec's dropout 0.2 and at the DuoRec repository's max length 50 (both end under our SASRec there
with the DuoRec repository's dropout 0.5 and our max length 200).

    python -m bench.device prepare        # here: snapshots, wheels, manifest; prints the device call to make
    python3 -m bench.device run           # there, inside that call: trains, packs into $OUT
    python -m bench.device collect DIR    # here: DIR is the call's files_at; publishes, rebuilds reproduce.json

Rehearse here before spending device time (a CPU, one epoch, one run):

    python -m bench.device run --device cpu --epochs 1 --only ml-1m-bert4rec-base-seed0 --out /tmp/device-out
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import torch

from bench import reproduce
from bench.machine import checkout_commit, describe, one_line
from bench.paths import RESULTS, ROOT
from gnn import checkpoint

STAGING = ROOT / ".device"
WHEELS = STAGING / "wheels"
MANIFEST = STAGING / "manifest.json"
ARCHIVE = "device-runs.tar.gz"
SUMMARY = "device-summary.json"
FILES_BACK = 8
"""The most files a device call brings back (`/work/.library/device/README.md`): the archive, the summary and one
file per parked checkpoint (5 MiB each on ML-1M, about 14 on Beauty, so together they would outgrow one returned
file's 16 MiB)."""
FILE_BYTES_BACK = 16 * 2**20
BYTES_BACK = 40 * 2**20
"""What the parked checkpoints and the archive may weigh together: under the 64 MiB a call brings back, and small
enough that what comes back, committed, still leaves the next call's working tree under its 64 MiB."""
LAST_RUN = RESULTS / "device.json"
DATASETS = ("beauty", "ml-1m")
DEVICE_PYTHON = "3.12"
"""The GPU image's Python (`/work/.library/device/KINDS.md`), for which the wheels are fetched."""
CARRIED_PACKAGES = (
    "annotated-types",
    "neo4j",
    "pydantic",
    "pydantic-core",
    "pydantic-settings",
    "python-dotenv",
    "pytz",
    "redis",
    "typer",
    "typing-extensions",
    "typing-inspection",
)
"""What `llmrg train --snapshot` imports that the GPU image lacks, or may hold at another version (typer, whose
interface the CLI leans on; typing-extensions, which pydantic wants recent), at the versions installed here.
torch (2.11 there), torch-geometric, numpy, rich, psutil and xxhash are the image's."""
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")
CARRY = (".device", ".llmrg/bench/snapshots")
STAGE_MINUTES = 8.0
"""The device command may run 10 minutes: 8 of training leaves room for installing the wheels and packing."""
DEVICE_COMMAND = (
    "python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "
    ".device/wheels/*.whl && export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 && "
    "python3 -m bench.device run --minutes {minutes:g}"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    prepare_step = steps.add_parser("prepare", help="Here: stage snapshots and wheels, print the device call")
    prepare_step.add_argument("--minutes", type=float, default=STAGE_MINUTES)
    run_step = steps.add_parser("run", help="On the GPU machine: train the queue, pack the results into --out")
    run_step.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or "device-out"))
    run_step.add_argument("--minutes", type=float, default=STAGE_MINUTES, help="Stop the runs still training then")
    run_step.add_argument("--parallel", type=int, default=12, help="Runs side by side on the one GPU")
    run_step.add_argument("--device", choices=("cuda", "cpu"), default="cuda", help="cpu: a rehearsal here")
    run_step.add_argument("--epochs", type=int, default=200, help="Fewer for a rehearsal")
    run_step.add_argument("--only", default=None, help="Comma-separated run names, for a rehearsal")
    run_step.add_argument("--train-dir", type=Path, default=Path("/tmp/llmrg-device-train"))
    collect_step = steps.add_parser("collect", help="Here: publish what a device call brought back")
    collect_step.add_argument("directory", type=Path, help="The call's files_at folder")
    args = parser.parse_args()
    if args.step == "prepare":
        prepare(args.minutes)
    elif args.step == "run":
        only = set(args.only.split(",")) if args.only else None
        run(args.out, args.minutes, args.parallel, args.device, args.epochs, only, args.train_dir)
    else:
        collect(args.directory)


def protocol(**changes: Any) -> argparse.Namespace:
    """`bench.reproduce`'s options for one stage of the queue (its defaults are the reference protocol)."""
    return reproduce.options(**({"datasets": ",".join(DATASETS), "device": "cuda"} | changes))


def queue(device: str = "cuda", epochs: int = 200) -> list[tuple[dict[str, Any], argparse.Namespace]]:
    """Every run the table still wants, most wanted first (see the module docstring)."""
    stages = [
        protocol(),
        protocol(models="duorec", variants="seq"),
        protocol(datasets="ml-1m", models="sasrec", variants="seq"),
        protocol(datasets="ml-1m", models="sasrec,duorec", variants="llmrg-kb,llmrg-kb-placebo,llmrg-kb-random"),
        protocol(models="sasrec,duorec", seeds="1,2,3,4"),
        protocol(datasets="beauty", models="duorec", scheme="prefix"),
        protocol(datasets="beauty", models="bert4rec", mask_prob=0.2),
        protocol(models="fdsa", item_features="shuffled"),
        protocol(datasets="ml-1m", models="bert4rec", patience=40),
        protocol(datasets="ml-1m", models="cl4srec,duorec", dropout=0.2),
        protocol(datasets="ml-1m", models="cl4srec,duorec", max_len=50),
    ]
    jobs = []
    for stage in stages:
        stage.device, stage.epochs = device, epochs
        jobs += [(plan, stage) for plan in reproduce.planned(stage)]
    return jobs


def prepare(minutes: float) -> None:
    """Stage what the device call carries and print the call. Needs the bench's Neo4j only for a snapshot not
    exported yet."""
    WHEELS.mkdir(parents=True, exist_ok=True)
    snapshots = {reproduce.snapshot_of(plan).name: reproduce.snapshot_of(plan) for plan, _ in queue()}
    wheels = [fetch_wheel(package) for package in CARRIED_PACKAGES]
    manifest = {
        "commit": checkout_commit(ROOT),
        "made": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "snapshots": {dataset: sha256(path) for dataset, path in snapshots.items()},
        "wheels": sorted(path.name for path in wheels),
        "python": DEVICE_PYTHON,
    }
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")
    pending = [reproduce.run_name(plan) for plan, args in queue() if not published(plan, args)]
    print(f"staged {len(wheels)} wheels and {len(snapshots)} snapshots in {STAGING.relative_to(ROOT)}/")
    print(f"{len(pending)} runs to train: {', '.join(pending)}")
    print("device call (the run tool): command and carry")
    print(json.dumps({"command": DEVICE_COMMAND.format(minutes=minutes), "carry": list(CARRY), "timeout_s": 600}))


def fetch_wheel(package: str) -> Path:
    """The wheel of `package` at the version installed here, for the device's Python, fetched once."""
    version = importlib.metadata.version(package)
    stem = package.replace("-", "_").lower()
    found = [path for path in WHEELS.glob("*.whl") if path.name.lower().startswith(f"{stem}-{version}-")]
    if found:
        return found[0]
    platforms = [argument for platform in PLATFORMS for argument in ("--platform", platform)]
    pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    target = ["--python-version", DEVICE_PYTHON, "--implementation", "cp", *platforms]
    subprocess.run([*pip, *target, "-d", str(WHEELS), f"{package}=={version}"], check=True)
    found = [path for path in WHEELS.glob("*.whl") if path.name.lower().startswith(f"{stem}-{version}-")]
    if not found:
        raise SystemExit(f"pip fetched no wheel of {package}=={version} into {WHEELS}")
    return found[0]


def published(plan: dict[str, Any], args: argparse.Namespace) -> bool:
    path = reproduce.RUNS / f"{reproduce.run_name(plan)}.json"
    return path.is_file() and reproduce.fits(json.loads(path.read_text()), args)


def run(
    out: Path,
    minutes: float,
    parallel: int,
    device: str,
    epochs: int,
    only: set[str] | None,
    train_dir: Path,
) -> dict[str, Any]:
    """Train the queue until `minutes` have passed and pack what finished into `out` (`ARCHIVE` and `SUMMARY`),
    with the checkpoints of the runs it stopped beside them."""
    started = time.monotonic()
    jobs = [job for job in queue(device, epochs) if only is None or reproduce.run_name(job[0]) in only]
    if only is not None and len(jobs) != len(only):
        known = ", ".join(reproduce.run_name(plan) for plan, _ in queue())
        raise SystemExit(f"--only names runs the queue does not hold; it holds: {known}")
    wanted = {reproduce.snapshot_of(plan, build=False) for plan, _ in jobs}
    missing = sorted(str(path) for path in wanted if not path.is_file())
    if missing:
        raise SystemExit(
            f"no snapshot at {', '.join(missing)}: run `python -m bench.device prepare` where the data is and "
            "carry .llmrg/bench/snapshots"
        )
    manifest = json.loads(MANIFEST.read_text()) if MANIFEST.is_file() else {}
    before = {path.name: path.stat().st_mtime_ns for path in reproduce.RUNS.glob("*.json")}
    deadline = started + minutes * 60
    outcome = reproduce.run_all(jobs, train_dir, parallel, deadline)
    new = [path for path in sorted(reproduce.RUNS.glob("*.json")) if before.get(path.name) != path.stat().st_mtime_ns]
    for path in new:  # the device's copy of the tree has no git history: the commit is the one prepared here
        result = json.loads(path.read_text())
        if not result.get("commit"):
            result["commit"] = manifest.get("commit")
            path.write_text(json.dumps(result, indent=2) + "\n")
    out.mkdir(parents=True, exist_ok=True)  # the archive first: parking may fail, the finished runs may not
    pack(out / ARCHIVE, new, [(reproduce.run_name(plan), reproduce.run_directory(plan, train_dir)) for plan, _ in jobs])
    stopped = [plan for plan, _ in jobs if reproduce.run_name(plan) in outcome["stopped"]]
    brought_back = bring_back_parked(out, stopped, train_dir, BYTES_BACK - (out / ARCHIVE).stat().st_size)
    summary = {
        "benchmark": "device",
        "machine": describe() | {"commit": manifest.get("commit")},
        "device": device,
        "minutes": minutes,
        "parallel": parallel,
        "wall_s": round(time.monotonic() - started, 1),
        "outcome": outcome,
        "published": [path.name for path in new],
        "stopped_progress": {
            reproduce.run_name(plan): stopped_progress(train_dir, plan)
            for plan, _ in jobs
            if reproduce.run_name(plan) in outcome["stopped"]
        },
        "parked": brought_back,
    }
    (out / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"{one_line(summary['machine'])}: {len(outcome['finished'])} finished, {len(outcome['stopped'])} stopped, "
        f"{len(outcome['failed'])} failed, {len(outcome['not_started'])} not started in {summary['wall_s']:.0f} s; "
        f"packed into {out}"
    )
    return summary


def stopped_progress(train_dir: Path, plan: dict[str, Any]) -> dict[str, Any] | None:
    """Where a stopped run had got to: its last whole epoch and best validation so far."""
    path = reproduce.run_directory(plan, train_dir) / "progress.json"
    if not path.is_file():
        return None
    progress = json.loads(path.read_text())
    keys = ("epoch", "epochs", "best_epoch", "best_valid", "epoch_s")
    return {key: progress.get(key) for key in keys}


def bring_back_parked(out: Path, stopped: list[dict[str, Any]], train_dir: Path, budget: int) -> list[str]:
    """Park the runs the deadline stopped and put their checkpoints in `out`, in the queue's order, as many as the
    files a call brings back and `budget` bytes allow, so a later device call carries them on instead of starting
    anew; returns the file names brought back."""
    out.mkdir(parents=True, exist_ok=True)
    brought: list[str] = []
    for path in reproduce.park(stopped, train_dir):
        size = path.stat().st_size
        if len(brought) < FILES_BACK - 2 and size < FILE_BYTES_BACK and size <= budget:  # 2: archive, summary
            shutil.copyfile(path, out / path.name)
            brought.append(path.name)
            budget -= size
        else:
            print(f"{path.name}: not brought back ({size / 2**20:.1f} MiB; a call returns {FILES_BACK} files at most)")
    return brought


def collect_parked(directory: Path, expected: list[str]) -> list[str]:
    """Park here the checkpoints a device call brought back, for runs not published here. Every one is read whole
    before any is written (a truncated transfer stops the collection, naming the file), and each replaces the
    run's older checkpoint of that device, which it carried on from. `expected`: the files the call's summary says
    it brought back; one missing is named."""
    arrived = sorted(directory.glob("*.pt"))
    if missing := sorted(set(expected) - {path.name for path in arrived}):
        print(f"parked on the device but not brought back: {', '.join(missing)}")
    wanted = [path for path in arrived if not (reproduce.RUNS / f"{path.name.rsplit('.', 2)[0]}.json").is_file()]
    for path in wanted:
        try:
            checkpoint.load(path, torch.device("cpu"))
        except reproduce.UNREADABLE_CHECKPOINT as error:
            raise SystemExit(f"{path}: not a whole checkpoint ({error}); nothing parked from this call") from error
    reproduce.PARKED.mkdir(parents=True, exist_ok=True)
    for path in wanted:
        temporary = reproduce.PARKED / f".{path.name}.tmp"
        shutil.copyfile(path, temporary)
        os.replace(temporary, reproduce.PARKED / path.name)
    return [path.name for path in wanted]


def pack(archive: Path, published_runs: list[Path], runs: list[tuple[str, Path]]) -> None:
    """One archive (the device returns at most 8 files): each published run, and every run's progress and log."""
    with tarfile.open(archive, "w:gz") as tar:
        for path in published_runs:
            tar.add(path, arcname=f"published/{path.name}")
        for name, directory in runs:
            for file in ("progress.json", "train.log"):
                if (directory / file).is_file():
                    tar.add(directory / file, arcname=f"runs/{name}/{file}")


def collect(directory: Path) -> dict[str, Any]:
    """Park the stopped runs a device call brought back, publish its finished runs (a run already published here is
    kept, not replaced; either way its parked checkpoints go), keep the call's summary in `LAST_RUN`, and rebuild
    `bench/results/reproduce.json`."""
    archive, summary_file = directory / ARCHIVE, directory / SUMMARY
    for path in (archive, summary_file):
        if not path.is_file():
            raise SystemExit(f"{path}: missing; give the folder the device call's files came back to (files_at)")
    summary = json.loads(summary_file.read_text())
    parked = collect_parked(directory, summary.get("parked", []))  # first: a truncated checkpoint stops it all
    reproduce.RUNS.mkdir(parents=True, exist_ok=True)
    added, kept = [], []
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            if not (member.isfile() and member.name.startswith("published/") and member.name.endswith(".json")):
                continue
            name = Path(member.name).name
            extracted = tar.extractfile(member)
            assert extracted is not None  # a regular file
            content = extracted.read()
            json.load(io.BytesIO(content))  # a truncated transfer stops here, before anything is written
            target = reproduce.RUNS / name
            if target.is_file() and target.read_bytes() != content:
                kept.append(name)
                continue
            target.write_bytes(content)
            added.append(name)
    for name in added + kept:  # published now: a checkpoint parked here for it is stale
        reproduce.drop_parked(name.removesuffix(".json"), json.loads((reproduce.RUNS / name).read_text()))
    record = summary | {"collected": added, "kept_existing": kept, "collected_parked": parked}
    LAST_RUN.write_text(json.dumps(record, indent=2) + "\n")
    print(f"published {len(added)} run(s): {', '.join(added) or 'none'}")
    if parked:
        print(f"parked {len(parked)} stopped run(s) to carry on in a later call: {', '.join(parked)}")
    if kept:
        print(f"kept the runs already published here under the same names: {', '.join(kept)}")
    for kind in ("stopped", "failed", "not_started"):
        if summary["outcome"][kind]:
            print(f"{kind.replace('_', ' ')} on the device: {', '.join(summary['outcome'][kind])}")
    return reproduce.write_summary(reproduce.collect())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


if __name__ == "__main__":
    main()
