"""`llmrg demo`: the whole main job on a small default, one step after another, saying what each did.

Once the services are up (the CLI starts them), the demo runs the same library calls as the individual
commands: ingest a dataset, import the released knowledge base (`data/kb/`, when the checkout has one), reason
for a few dozen users on the Celery workers with the configured LLM on top of it, export and train a short
LLMRG run, recommend with reasons for the best-explained user, and print the commands that reach the same
model and graph afterwards. Training runs go to their own folder (`<state dir>/demo/<plan>/train`), so a demo never
touches (or resumes from) a real training run. A summary is written beside them as JSON.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from core import gateway, vocabulary
from core.errors import ServiceError
from core.gateway import Neo4jGateway
from core.settings import Settings
from ingestion import loader, registry
from llmrg import browser
from reasoning import kb_transfer
from reasoning.options import ReasoningOptions
from reasoning.run import select_users
from workers import follow
from workers.app import create_app
from workers.fanout import start_reason_run

RELEASED_KNOWLEDGE_BASE = Path(__file__).resolve().parents[1] / "data" / "kb" / "ml-1m.jsonl.gz"

FAST_PROFILE: tuple[tuple[str, str, str, str | int], ...] = (
    ("LLMRG_LLM_WEIGHTS", "llm", "weights", "qwen2.5-coder-0.5b"),
    ("LLMRG_LLM_MODEL", "llm", "model", "qwen2.5-coder-0.5b-instruct"),
    ("LLMRG_REASON_PROMPT_VERSION", "reasoning", "prompt_version", "v3"),
    ("LLMRG_REASON_PREMISE_WINDOW", "reasoning", "premise_window", 10),
    ("LLMRG_VERIFY_STYLE", "verify", "style", "numbered"),
)
"""(variable, area, field, value): the demo's reasoning. The defaults (the 1.5B, prompt v4, lettered questions)
are what tells real chains from placebo (docs/RESULTS.md), at about 3x the LLM time, which the demo's 15 minutes
on 2 cores cannot hold; the 0.5B with v3's numbered questions is the profile it was sized with. A setting the
user chose (any value other than its default, from the environment or an env file) is kept."""


def fast_profile(settings: Settings) -> tuple[Settings, dict[str, str]]:
    """`settings` with the demo's fast reasoning profile wherever a field is at its default, and the variables
    that say so, for the worker processes the demo starts (they read the environment)."""
    areas: dict[str, dict[str, Any]] = {}
    variables = {}
    for variable, area, name, value in FAST_PROFILE:
        current = getattr(settings, area)
        if getattr(current, name) == type(current).model_fields[name].default:
            areas.setdefault(area, {})[name] = value
            variables[variable] = str(value)
    return settings.updated(**areas), variables


@dataclass(frozen=True)
class DemoPlan:
    """How big the demo is. The default is sized to finish within 15 minutes on 2 cores with the packaged 0.5B
    model, services and install included (measured in docs/RESULTS.md); `tiny()` is what the test suite runs."""

    name: str = "default"
    dataset: str = "ml-1m"
    users: int = 24
    """Reasoning for the first N users by id, one Celery task each."""
    history_length: int = 20
    """l_tru for the demo's reasoning (the method's default is 50 on ML-1M)."""
    max_targets: int = 4
    """Positions reasoned about per user: the last N of the window."""
    holdout: int = 1
    """The window ends before each user's test item, so the chains are stamped where the test row sees them (a
    chain stamped at the test position is seen by no row, and the LLMRG model would train like its base)."""
    require_test_edges: bool = True
    """Fail when no test row sees a reasoning edge: the run would not show LLMRG at all."""
    knowledge_base: str | None = str(RELEASED_KNOWLEDGE_BASE)
    """A knowledge-base file imported before reasoning (skipped when absent)."""
    model: str = "sasrec"
    epochs: int = 3
    train_rows: int = 300_000
    """A seeded subset of the training targets (the full protocol trains on all 993,571 of ML-1M)."""
    windows_per_batch: int = 32
    """A quarter of the reference batch, so a capped epoch still makes enough optimiser steps: 300,000 targets make
    353 steps (22 s on 2 cores, test HR@10 0.15); 50,000 targets at 128 windows made about 8, HR@10 0.04."""
    max_len: int = 50
    k: int = 10
    seed: int = 0
    reasoning_timeout_s: float = 1800.0

    @classmethod
    def tiny(cls) -> DemoPlan:
        # three users with one step each may get no verified chain from a 0.5B model: reported, not required
        return cls(
            name="tiny",
            users=3,
            history_length=10,
            max_targets=1,
            epochs=1,
            train_rows=2_000,
            windows_per_batch=8,
            k=5,
            require_test_edges=False,
        )


@dataclass
class DemoStep:
    name: str
    seconds: float
    summary: dict[str, Any]


@dataclass
class DemoReport:
    plan: DemoPlan
    steps: list[DemoStep] = field(default_factory=list)
    folder: Path | None = None

    def as_json(self) -> dict[str, Any]:
        summaries = {step.name: step.summary for step in self.steps}
        return {
            "plan": asdict(self.plan),
            "explained_items": summaries.get("recommend", {}).get("explained"),
            "kb_imported": summaries.get("knowledge_base", {}).get("imported"),
            "commands": follow_up_commands(self) if "recommend" in summaries else [],
            "seconds": round(sum(step.seconds for step in self.steps), 1),
            "steps": {step.name: {"seconds": round(step.seconds, 1), **step.summary} for step in self.steps},
            "folder": str(self.folder) if self.folder else None,
        }


def demo_folder(settings: Settings, plan: DemoPlan) -> Path:
    return settings.paths.state_dir / "demo" / plan.name


def training_settings(settings: Settings, plan: DemoPlan) -> Settings:
    """The demo's short training run, in the demo's own folder."""
    return settings.updated(
        train={
            "dir": demo_folder(settings, plan) / "train",
            "max_rows": plan.train_rows,
            "windows_per_batch": plan.windows_per_batch,
            "max_len": {"*": plan.max_len},
        }
    )


def run_demo(settings: Settings, plan: DemoPlan, console: Console, *, progress: bool = True) -> DemoReport:
    """Every step after the services are up; raises on the first step that fails (its message names it).
    Progress bars go to stdout, so `--json` turns them off."""
    report = DemoReport(plan=plan, folder=demo_folder(settings, plan))

    def step(name: str, doing: str, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        console.rule(f"[bold]{name}[/]: {escape(doing)}")
        started = time.perf_counter()
        summary = work()
        report.steps.append(DemoStep(name, time.perf_counter() - started, summary))
        console.print(f"{name} done in {report.steps[-1].seconds:.1f} s", highlight=False)
        return summary

    with gateway.open_gateway(settings) as db:
        step("ingest", f"loading {plan.dataset} into Neo4j", lambda: _ingest(db, settings, plan, progress))
        step("knowledge_base", "importing the released knowledge base", lambda: _import_knowledge_base(db, plan))
        reasoned = step(
            "reason",
            f"reasoning for {plan.users} users on the Celery workers",
            lambda: _reason(db, settings, plan, console, progress),
        )["users"]
        step(
            "train",
            f"a short LLMRG {plan.model} run ({plan.epochs} epochs on {plan.train_rows:,} training targets)",
            lambda: _train(db, settings, plan, console, progress),
        )
        recommended = step(
            "recommend",
            f"top {plan.k} for the best-explained user",
            lambda: _recommend(db, settings, plan, reasoned, console),
        )
    report.steps.append(DemoStep("browser", 0.0, _browser(settings, plan, recommended["user"])))
    assert report.folder is not None
    report.folder.mkdir(parents=True, exist_ok=True)
    (report.folder / "summary.json").write_text(json.dumps(report.as_json(), indent=2) + "\n", encoding="utf-8")
    return report


def _ingest(db: Neo4jGateway, settings: Settings, plan: DemoPlan, progress: bool) -> dict[str, Any]:
    bundle = registry.read_builtin(settings, registry.builtin_name(plan.dataset, None))
    ingested = loader.ensure_stored(db, settings, bundle, show_progress=progress)
    return {
        "users": ingested.users,
        "items": ingested.items,
        "interactions": ingested.interactions,
        "already_stored": ingested.already_stored,
    }


def _reason(db: Neo4jGateway, settings: Settings, plan: DemoPlan, console: Console, progress: bool) -> dict[str, Any]:
    # The released knowledge base's item-pair edges were made by the packaged 1.5B model: the demo's 0.5B
    # reasoning reuses them (a model's lookups otherwise find only its own chains and edges).
    options = ReasoningOptions(
        max_targets=plan.max_targets,
        history_length=plan.history_length,
        holdout=plan.holdout,
        kb_any_model=True if plan.knowledge_base else None,
    )
    users = select_users(db, plan.dataset, plan.users, None)
    run_id = start_reason_run(create_app(settings), db, plan.dataset, users, options)
    record = follow.follow_run(db, run_id, show_progress=progress, timeout_s=plan.reasoning_timeout_s, console=console)
    if record["users_done"] == 0:
        raise ServiceError(
            f"reasoning run {run_id} finished no user ({record['status']}); see `llmrg runs --run {run_id}`"
        )
    keys = (
        "run_id",
        "status",
        "users_done",
        "users_failed",
        "llm_calls",
        "kb_hits",
        "kb_edge_hits",
        "kb_edge_hits_warm_start",
        "prompt_tokens",
        "completion_tokens",
        "chains_verified",
        "chains_rejected",
        "divergent_chains",
    )
    return {key: record.get(key) for key in keys} | {"users": users}


def _train(db: Neo4jGateway, settings: Settings, plan: DemoPlan, console: Console, progress: bool) -> dict[str, Any]:
    from gnn import pipeline

    result = pipeline.run_training(
        pipeline.Neo4jSource(db),
        training_settings(settings, plan),
        plan.dataset,
        plan.model,
        vocabulary.variant("llmrg"),
        plan.seed,
        plan.epochs,
        resume=False,
        progress=progress,
    )
    # The demo reasons about the positions just before each user's test item, so the test rows see the chains
    # (rows_seeing_edges says how many rows of each stage do).
    seeing = result["rows_seeing_edges"]
    if plan.require_test_edges and not (seeing and seeing["test"]):
        raise ServiceError(
            f"no test row sees a reasoning edge (rows_seeing_edges {seeing}): verification accepted no chain the "
            "test rows can see, so the LLMRG model trained exactly like its base; see `llmrg runs` for the run"
        )
    if seeing is not None and not seeing["train"]:
        console.print(
            f"[yellow]warning:[/yellow] no training row sees a reasoning edge (rows per stage: {seeing}): the LLMRG "
            "model trained like its base; only the test rows read the reasoning graphs"
        )
    keys = ("test", "valid", "epoch_s", "rows_seeing_edges")
    return {key: result[key] for key in keys}


def _import_knowledge_base(db: Neo4jGateway, plan: DemoPlan) -> dict[str, Any]:
    path = Path(plan.knowledge_base) if plan.knowledge_base else None
    if path is None or not path.is_file():
        return {"file": None, "imported": 0, "chains": 0, "edges": 0, "created": 0, "merged": 0}
    report = kb_transfer.import_knowledge_base(db, path, plan.dataset)
    return {"file": str(path), "imported": report.chains + report.edges} | report.as_json()


def _recommend(
    db: Neo4jGateway, settings: Settings, plan: DemoPlan, reasoned: list[int], console: Console
) -> dict[str, Any]:
    from gnn.recommend import Recommender, describe_explanation, explanation_sentence

    picked = db.run("recommend/most_explained_user", dataset=plan.dataset, users=reasoned)
    user, accepted = int(picked[0]["user"]), int(picked[0]["chains"])
    trained = training_settings(settings, plan)
    recommender = Recommender.load(db, trained, plan.dataset, plan.model, vocabulary.variant("llmrg"), plan.seed)
    answer = recommender.recommend(db, user, plan.k)
    table = Table("#", "item", "title", "score", "why", title=f"user {user} ({accepted} accepted chains)")
    for rank, entry in enumerate(answer["items"], start=1):
        table.add_row(
            str(rank),
            str(entry["item"]),
            escape(entry["title"]),
            f"{entry['score']:.3f}",
            escape(describe_explanation(entry["explanation"])),
        )
    console.print(table)
    why_chosen = Table("t", "kind", "chain, with the reason on each link", "score", title=f"user {user}'s chains")
    for chain in db.run("queries/chains_for_user", dataset=plan.dataset, user=user):
        path = {"path": [{"title": title} for title in chain["titles"]], "reasons": chain["reasons"]}
        why_chosen.add_row(
            str(chain["t"]),
            chain["kind"],
            escape(describe_explanation(path)),
            "-" if chain["score"] is None else f"{chain['score']:.0f}",
        )
    if why_chosen.row_count:
        console.print(why_chosen)
    else:
        console.print(f"user {user} has no accepted chains yet: verification rejected what the model proposed")
    explained = [entry for entry in answer["items"] if entry["explanation"] is not None]
    sentences = [f"{entry['title']}: {explanation_sentence(entry['explanation'])}" for entry in explained[:2]]
    return {
        "user": user,
        "accepted_chains": accepted,
        "explained": len(explained),
        "sentences": sentences,
        "ms": answer["ms"],
        "items": answer["items"],
    }


def _browser(settings: Settings, plan: DemoPlan, user: int) -> dict[str, Any]:
    script = browser.query_script("reasoning_graph", {"dataset": plan.dataset, "user": user})
    return {
        "url": browser.open_url(settings),
        "query_url": browser.open_url(settings, script),
        "query": script,
        "username": settings.neo4j.username,
        "password": browser.password_hint(settings),
    }


def print_report(report: DemoReport, console: Console) -> None:
    """What the demo did, how long each step took, and where everything is."""
    table = Table("step", "seconds", "what happened", title=f"llmrg demo ({report.plan.name})")
    described = {
        "ingest": lambda s: (
            f"{s['users']:,} users, {s['items']:,} items, {s['interactions']:,} interactions"
            + (" (already stored)" if s.get("already_stored") else "")
        ),
        "knowledge_base": lambda s: (
            f"{s['chains']:,} chains and {s['edges']:,} causal edges from {s['file']} ({s['created']:,} new)"
            if s["file"]
            else "no released knowledge base in this checkout (data/kb/): reasoning starts from nothing"
        ),
        "reason": lambda s: (
            f"run {s['run_id']}: {s['users_done']} users done, {s['users_failed']} failed; {s['llm_calls']} LLM calls; "
            f"{s['chains_verified']} chains accepted, {s['chains_rejected']} rejected; {s['kb_hits']} knowledge-base "
            f"chain hits, {s['kb_edge_hits']} edge hits"
        ),
        "train": lambda s: (
            f"test HR@10 {s['test']['hr@10']:.4f}, NDCG@10 {s['test']['ndcg@10']:.4f} ({s['epoch_s']:.1f} s/epoch)"
        ),
        "recommend": lambda s: (
            f"user {s['user']}: {len(s['items'])} items, {s['explained']} with a reasoning path, {s['ms']:.0f} ms"
        ),
        "browser": lambda s: f"log in as {s['username']}; password in {s['password']}",
    }
    for step in report.steps:
        table.add_row(step.name, f"{step.seconds:.1f}", escape(described[step.name](step.summary)))
    console.print(table)
    summaries = {step.name: step.summary for step in report.steps}
    recommended = summaries.get("recommend", {})
    if recommended.get("sentences"):
        console.print(f"\nWhy, for user {recommended['user']}:", highlight=False)
    for sentence in recommended.get("sentences", []):
        console.print(f"  {escape(sentence)}", highlight=False, soft_wrap=True)
    browser_step = summaries["browser"]
    assert report.folder is not None
    console.print(
        f"\nSummary: {report.folder / 'summary.json'}   model: {report.folder / 'train'}\n"
        "Recommend and explore with the demo's model (copy as printed):\n"
        + "\n".join(f"  {command}" for command in follow_up_commands(report))
        + f"\nNeo4j Browser: {browser_step['url']}\n"
        f"The demo user's reasoning graph, ready to run (sets the parameters, then run the query alone):\n"
        f"{browser_step['query_url']}\n"
        "More in docs/BROWSER.md; the query library: `llmrg query --list`.",
        highlight=False,
        soft_wrap=True,
    )


def follow_up_commands(report: DemoReport) -> list[str]:
    """Shell commands that reach the demo's model and graph afterwards (its model lives in the demo's own
    training folder, which `llmrg recommend` reads through LLMRG_TRAIN_DIR)."""
    plan = report.plan
    user = next(step.summary["user"] for step in report.steps if step.name == "recommend")
    assert report.folder is not None
    train_dir = shlex.quote(str(report.folder / "train"))
    return [
        f"LLMRG_TRAIN_DIR={train_dir} llmrg recommend --dataset {plan.dataset} --user {user} -k {plan.k} "
        f"--model {plan.model} --llmrg --seed {plan.seed}",
        f"llmrg query chains_for_user --param dataset={plan.dataset} --param user={user}",
    ]
