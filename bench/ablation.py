"""The paper's ablation for DuoRec, on the users that have reasoning graphs: base, + plain sequence graph,
LLMRG, LLMRG w/o divergent extension, LLMRG w/o verification; `base` is the named baseline.

One command, two phases:

1. reasoning: the first `--users` users of the dataset, in id order, through the optimised engine with every
   module on (divergent extension, self-verification, knowledge base) and the local LLM. Positions already
   reasoned are skipped, so an interrupted run resumes; `--fresh` drops the dataset's chains first.
   `--reason-minutes` stops starting new users after that long: the users reasoned by then are the ablation's.
   Its cost (users, LLM calls, tokens, seconds) goes to `ablation-<dataset>-reasoning.json`, which a later
   `--skip-reasoning` run puts into its result, so the phases can run in separate sittings.
2. training: DuoRec in each variant on every user of the dataset, with reasoning graphs where they exist, scored
   on the reasoned users (`llmrg train --evaluate-reasoned-only`; `--train-users reasoned` trains on those users
   alone, `--reasoned-only`), the same seeds, early stopping on every user's valid NDCG@10, test metrics by full
   ranking. Trained on a few dozen users, a model learns nothing of the dataset (every variant scored 0 on 26
   ML-1M users), so only the scoring is confined to the users a variant can differ on. Each LLMRG variant is
   compared with the base on the same users, pairwise (exact McNemar test on HR@10 hits), besides the Wilson
   intervals of each rate. "w/o verification" comes from the same reasoning run: its graphs also admit the
   chains verification rejected, so the variants differ only in which chains enter the graphs. (The paper
   reasons again without verification, so there divergent extension also continues the chains verification
   would have rejected; here it continues only verified ones.)

With the 0.5B model on 2 cores a user costs 20 s (last 4 positions) to 3 minutes (every position of a 20-item
window), so a run here covers tens of users, where the paper used thousands: the JSON records the test users
and each HR@10's 95% Wilson interval, and the README states both (and whether the intervals overlap).

A chain is stamped with the last position its prompt showed and is seen only by longer prefixes, so reasoning
about a user's last few positions alone (`--max-targets` up to the steps per call) puts every chain at the test
position, where no row sees it: the bench counts the rows that see an edge and warns. For the same reason the
window ends before the test item (`--holdout 1`): a chain about it would be stamped at the test position and
seen by no row.
Run: `python -m bench.ablation --users 100 --history-length 20 --epochs 15` (every position of the window); on
ML-1M, `LLMRG_TRAIN_MAX_LEN='{"ml-1m": 50}'` (the DuoRec paper's input length) makes an epoch ~5x cheaper here.
Training on every user costs what the base model's reproduction does per epoch and variant (minutes on Beauty,
about an hour on ML-1M here), so on this machine few epochs fit.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.graph_server import bench_neo4j, ensure_dataset
from bench.machine import describe, one_line
from bench.paper import PAPER, VARIANT_LABELS
from bench.paths import RESULTS
from bench.statistics import paired_hits, wilson_interval
from core import vocabulary
from core.settings import for_dataset

MODEL = "duorec"
METRICS = ("hr@5", "hr@10", "ndcg@5", "ndcg@10")
VARIANTS = ("base", "seq", "llmrg", "llmrg-no-div", "llmrg-no-verify")


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-1m")
    parser.add_argument("--users", type=int, default=200, help="reason for the first N users by id")
    parser.add_argument("--max-targets", type=int, default=0, help="last N positions per user (0 = all)")
    parser.add_argument("--history-length", type=int, default=0, help="l_tru for the run (0 = the settings')")
    parser.add_argument(
        "--holdout", type=int, default=1, help="leave each history's last N items out of reasoning (1 = the test item)"
    )
    parser.add_argument("--reason-minutes", type=float, default=0.0, help="start no new user after this (0 = none)")
    parser.add_argument("--fresh", action="store_true", help="drop the dataset's chains before reasoning")
    parser.add_argument(
        "--skip-reasoning",
        action="store_true",
        help="train on the chains already stored (pass the reasoning run's --max-targets, --history-length and "
        "--holdout, which the JSON records)",
    )
    parser.add_argument("--reason-only", action="store_true", help="stop after the reasoning phase")
    parser.add_argument(
        "--train-users",
        choices=("all", "reasoned"),
        default="all",
        help="train on every user (scored on the reasoned ones) or on the reasoned users only",
    )
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--epochs", type=int, default=200)
    args = parser.parse_args()

    with bench_neo4j(writes=not args.skip_reasoning) as (settings, db):
        from reasoning.options import ReasoningOptions

        ensure_dataset(db, settings, args.dataset)
        reasoning_settings = ReasoningOptions(
            verify=True,
            kb=True,
            divergent=True,
            max_targets=args.max_targets,
            history_length=args.history_length or None,
            holdout=args.holdout,
        ).apply(settings)
        phase_one = RESULTS / f"ablation-{args.dataset}-reasoning.json"
        if args.skip_reasoning:
            reasoning = json.loads(phase_one.read_text()) if phase_one.is_file() else None
        else:
            reasoning = reason(db, reasoning_settings, args)
            RESULTS.mkdir(exist_ok=True)
            phase_one.write_text(json.dumps(reasoning, indent=2) + "\n")  # read back by --skip-reasoning
        if args.reason_only:
            return {"reasoning": reasoning}
        graphs = describe_graphs(db, settings, args.dataset, args.train_users == "all")
        if not graphs["rows_seeing_edges"]["llmrg"]["train"]:
            Console(stderr=True).print(
                "[red]no training row sees a reasoning edge[/red] (rows per stage: "
                f"{graphs['rows_seeing_edges']['llmrg']}); the LLMRG variants would differ from one another only "
                "by their initialisation. Reason about earlier positions (a larger --max-targets, or 0)."
            )
        runs = train_variants(db, settings, args)
    return write(args, reasoning_settings, reasoning, graphs, runs)


def reason(db: Any, settings: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Phase 1: reason user by user with one engine (a local LLM of this run's own, stopped before training)."""
    from bench.own_llm import own_llm_server
    from reasoning import store
    from reasoning.run import build_engine

    if args.fresh:
        store.delete_chains(db, args.dataset)
    listed = db.run("reasoning/list_users", dataset=args.dataset, limit=args.users)
    users = [int(row["id"]) for row in listed]
    started = time.perf_counter()
    done = 0
    with own_llm_server(settings) as settings:
        engine = build_engine(db, settings, args.dataset)
        for user in users:
            if args.reason_minutes and time.perf_counter() - started > 60 * args.reason_minutes:
                break
            engine.reason_user(user)
            done += 1
            stats = engine.stats
            print(
                f"user {user}: {done}/{len(users)} done, {stats.llm.calls} LLM calls, "
                f"{stats.chains_verified} verified / {stats.chains_rejected} rejected, "
                f"{time.perf_counter() - started:.0f} s",
                flush=True,
            )
    return engine.stats.as_json() | {"users_asked": len(users), "wall_s": time.perf_counter() - started}


def describe_graphs(db: Any, settings: Any, dataset: str, train_on_all: bool) -> dict[str, Any]:
    """What the variants' graphs hold: users in the ablation, chains by kind and status, edges per graph kind, and
    the rows trained and scored (training rows of every user when `train_on_all`)."""
    from gnn import pipeline
    from gnn.export import export_dataset, reasoned_users

    users = reasoned_users(db, dataset)
    coverage = db.run("stats/reasoning_coverage", dataset=dataset)[0]
    outcomes: dict[str, dict[str, int]] = {}
    for row in coverage["outcomes"]:
        outcomes.setdefault(str(row["kind"]), {})[str(row["status"])] = int(row["chains"])
    described: dict[str, Any] = {
        "users": len(users),
        "users_reasoned": int(coverage["users"]),
        "last_user_reasoned": coverage["last_user"],
        "chains_by_status": outcomes,
        "chains": {},
        "edges": {},
    }
    for name in ("llmrg", "llmrg-no-verify"):
        export = export_dataset(db, dataset, statuses=vocabulary.variant(name).statuses)
        described["chains"][name] = dict(export.chain_links)
        described.setdefault("rows_seeing_edges", {})[name] = pipeline.rows_seeing_edges(
            export, vocabulary.variant(name).graph_kinds, users
        )  # users without chains see no edge, so counting the reasoned users counts every trained row
        described["edges"][name] = {
            kind: sum(int(edges.src.numel()) for user, edges in by_user.items() if user in users)
            for kind, by_user in export.edges.items()
        }
    sequences = export.data.sequences
    trained = sequences if train_on_all else users
    scored = [user for user in users if len(sequences[user]) >= 3]
    described["users"] = len(scored)
    described["users_trained"] = len(trained)
    described["rows"] = {
        "train": sum(max(0, len(sequences[user]) - 3) for user in trained),  # rows predict positions 1 .. n - 3
        "valid": len(scored),
        "test": len(scored),
    }
    return described


def train_variants(db: Any, settings: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    from gnn import pipeline

    training = settings.updated(train={"epochs": args.epochs})
    runs = []
    for name in VARIANTS:
        for seed in (int(seed) for seed in args.seeds.split(",")):
            result = pipeline.run_training(
                pipeline.Neo4jSource(db),
                training,
                args.dataset,
                MODEL,
                vocabulary.variant(name),
                seed,
                args.epochs,
                reasoned_only=args.train_users == "reasoned",
                evaluate_reasoned_only=args.train_users == "all",
                resume=False,
            )
            runs.append(
                {
                    "variant": name,
                    "seed": seed,
                    "test": result["test"],
                    "valid": result["valid"],
                    "users": result["users"],
                    "scored_users": result["scored_users"],
                    "all_users": result["all_users"],
                    "test_ranks": result["test_ranks"],
                    "epochs_run": result["epochs_run"],
                    "best_epoch": result["best_epoch"],
                    "epoch_s": result["epoch_s"],
                    "peak_memory_mb": result["peak_memory_mb"],
                }
            )
    return runs


def summarise(runs: list[dict[str, Any]], test_users: int) -> dict[str, dict[str, Any]]:
    """Per variant: mean and std over seeds of each test metric, the HR@10 standard error and 95% Wilson interval
    over the test users (binomial; the sampling noise a difference must clear), and the change against `base`."""
    summary: dict[str, dict[str, Any]] = {}
    for name in VARIANTS:
        mine = [run for run in runs if run["variant"] == name]
        if not mine:
            continue
        mean = {metric: statistics.fmean(run["test"][metric] for run in mine) for metric in METRICS}
        std = {
            metric: statistics.stdev([run["test"][metric] for run in mine]) if len(mine) > 1 else None
            for metric in METRICS
        }
        hr10 = mean["hr@10"]
        summary[name] = {
            "label": VARIANT_LABELS[name],
            "seeds": len(mine),
            "mean": mean,
            "std": std,
            "hr@10_standard_error": math.sqrt(hr10 * (1 - hr10) / test_users) if test_users else None,
            "hr@10_interval95": list(wilson_interval(hr10, test_users)),
            "epoch_s": statistics.fmean(run["epoch_s"] for run in mine),
            "all_users_hr@10": statistics.fmean(run["all_users"]["test"]["hr@10"] for run in mine)
            if all(run.get("all_users") for run in mine)
            else None,
        }
    base = summary.get("base")
    for name, entry in summary.items():
        entry["paired_vs_base"] = paired_vs_base(runs, name) if base and name != "base" else None
        entry["vs_base"] = (
            {
                metric: entry["mean"][metric] / base["mean"][metric] - 1 if base["mean"][metric] else None
                for metric in METRICS
            }
            if base
            else None
        )
    return summary


def paired_vs_base(runs: list[dict[str, Any]], name: str, k: int = 10) -> list[dict[str, Any]]:
    """Per seed, the variant against the base on the same test users: users only the variant hits at `k`, users
    only the base hits, and the exact McNemar p-value (two-sided). Users both or neither hit carry no information
    about the difference, which is why this test resolves more than comparing the two rates' intervals."""
    ranks_of = {(run["variant"], run["seed"]): run.get("test_ranks") for run in runs}
    paired = []
    for run in runs:
        base = ranks_of.get(("base", run["seed"]))
        if run["variant"] != name or not run.get("test_ranks") or not base:
            continue
        try:
            paired.append({"seed": run["seed"], **paired_hits(run["test_ranks"], base, k)})
        except ValueError as exc:
            raise ValueError(f"{name} seed {run['seed']} was scored on other users than the base ({exc})") from None
    return paired


def paper_gains(dataset: str) -> dict[str, dict[str, float]]:
    """The paper's relative gains over its DuoRec base (GPT-4 LLMRG and the plain sequence graph)."""
    base = PAPER.get((dataset, MODEL, "base"))
    if base is None:
        return {}
    return {
        variant: {metric: PAPER[(dataset, MODEL, variant)][metric] / base[metric] - 1 for metric in METRICS}
        for variant in ("seq", "llmrg")
        if (dataset, MODEL, variant) in PAPER
    }


def write(
    args: argparse.Namespace,
    settings: Any,
    reasoning: dict[str, Any] | None,
    graphs: dict[str, Any],
    runs: list[dict[str, Any]],
) -> dict[str, Any]:
    machine = describe()
    test_users = graphs["users"]
    summary = summarise(runs, test_users)
    payload = {
        "benchmark": "ablation",
        "dataset": args.dataset,
        "model": MODEL,
        "machine": machine,
        "baseline": "base",
        "llm": settings.llm.model,
        "reasoning_settings": {
            "max_targets": settings.reasoning.max_targets,
            "history_length": for_dataset(settings.reasoning.history_length, args.dataset),
            "holdout": settings.reasoning.holdout,
            "prompt_version": settings.reasoning.prompt_version,
            "tau": for_dataset(settings.verify.tau, args.dataset),
        },
        "reasoning": reasoning,
        "graphs": graphs,
        "protocol": {
            "epochs": args.epochs,
            "seeds": args.seeds,
            "test_users": test_users,
            "train_users": args.train_users,
            "max_len": for_dataset(settings.train.max_len, args.dataset),
        },
        "summary": summary,
        "paper_gains": paper_gains(args.dataset),
        "runs": runs,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"ablation-{args.dataset}.json").write_text(json.dumps(payload, indent=2) + "\n")
    table = Table(
        title=f"DuoRec ablation on {args.dataset}, {test_users} users with reasoning graphs — {one_line(machine)}"
    )
    columns = ("variant", "HR@5", "HR@10", "95% interval", "NDCG@5", "NDCG@10", "HR@10 vs base", "gained / lost (p)")
    for column in (*columns, "s/epoch"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for entry in summary.values():
        mean, change = entry["mean"], entry["vs_base"] or {}
        paired = entry["paired_vs_base"] or []
        table.add_row(
            entry["label"],
            *(f"{mean[metric]:.4f}" for metric in ("hr@5", "hr@10")),
            "{:.3f} to {:.3f}".format(*entry["hr@10_interval95"]),
            *(f"{mean[metric]:.4f}" for metric in ("ndcg@5", "ndcg@10")),
            "-" if change.get("hr@10") is None else f"{change['hr@10']:+.1%}",
            ", ".join(f"{t['only_variant']} / {t['only_base']} ({t['p_value']:.2f})" for t in paired) or "-",
            f"{entry['epoch_s']:.1f}",
        )
    Console(width=140).print(table)
    return payload


if __name__ == "__main__":
    main()
