"""One rendering per benchmark: its JSON (`bench/results/NAME.json`) as the markdown `docs/RESULTS.md` shows.

Pure functions of the JSON, so every figure in the docs comes from a benchmark's output and none is typed by
hand; `reports.results_doc` assembles them into the document.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.machine import one_line
from bench.paper import PAPER, VARIANT_LABELS
from bench.reason import KB_STAGE, TARGETS, summarise
from bench.reproduce import stalled_runs, variant_label
from bench.server_metrics import describe_bottleneck
from bench.statistics import wilson_interval
from gnn.evaluate import STALLED_BELOW

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def ingest_section(result: dict[str, Any]) -> str:
    lines = [
        f"Full ML-1M 5-core into an empty Neo4j {result['neo4j']['version']} (heap {result['neo4j']['heap']}, "
        f"page cache {result['neo4j']['pagecache']}, batch {result['batch_size']:,}) on "
        f"{one_line(result['machine'])}, commit `{result['machine']['commit']}`:",
        "",
        "| stage | interactions | seconds | interactions/s | Python peak RSS | Neo4j peak RSS |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, stage in result["stages"].items():
        neo4j_rss = f"{stage['neo4j_peak_rss_mib']:,.0f} MiB" if "neo4j_peak_rss_mib" in stage else "-"
        lines.append(
            f"| {name} | {stage['interactions']:,} | {stage['seconds']:.1f} | "
            f"{stage['interactions_per_s']:,.0f} | {stage['peak_rss_mib']:,.0f} MiB | {neo4j_rss} |"
        )
    batched = result["stages"]["batched (UNWIND)"]
    lines += [
        "",
        f"Batched loading is **{result['speedup_vs_baseline']:.0f}x** the naive rate (target >= "
        f"{result['targets']['speedup_at_least']:.0f}x) and loads all {batched['interactions']:,} interactions in "
        f"**{batched['seconds']:.1f} s** (target < {result['targets']['batched_seconds_below']:.0f} s). "
        "Produced by `make bench` (`python -m bench.ingest`); raw numbers in `bench/results/ingest.json`.",
        "",
        "![ingestion rates](bench/results/ingest.png)",
    ]
    return "\n".join(lines)


def workers_section(result: dict[str, Any]) -> str:
    overhead = result["overhead"]
    throughput = result["throughput"]
    lines = [
        f"Reasoning on Celery workers, ML-1M, last {result['settings']['reason_max_targets']} positions per user, "
        f"knowledge base and divergent extension off, on {one_line(result['machine'])}, "
        f"commit `{result['machine']['commit']}`:",
        "",
        "| measure | value |",
        "|---|---:|",
    ]
    for row in overhead.values():
        latency = f"scripted model answering in {row['latency_ms']} ms"
        lines += [
            f"| in-process, s/user ({latency}, {row['users']} users) | {row['in_process_s_per_user']:.3f} |",
            f"| on one worker, s/user (same users, same model) | {row['workers_s_per_user']:.3f} |",
            f"| queue overhead per task, {row['latency_ms']} ms model (target < "
            f"{result['targets']['overhead_below']:.0%}) | {row['overhead']:+.1%} "
            f"({1000 * row['overhead_s_per_user']:.0f} ms) |",
        ]
    for key in sorted(throughput):
        row = throughput[key]
        lines += [
            f"| {row['workers']} worker process(es), {result['model']}: users/min | {row['users_per_min']:.2f} |",
            f"| {row['workers']} worker process(es): LLM server busy seconds per wall second (summed over its "
            f"slots) | {row['llm_server_utilisation']:.0%} |",
        ]
    lines += [
        "",
        f"Two workers give **{result['speedup_2_vs_1_workers']:.2f}x** the throughput of one; the bottleneck is "
        f"{describe_bottleneck(throughput['1']['llm_server_utilisation'])}. Produced by `make bench-workers` "
        "(`python -m bench.workers`); raw numbers in "
        "`bench/results/workers.json`.",
    ]
    return "\n".join(lines)


def export_section(result: dict[str, Any]) -> str:
    driver = f"neo4j driver {result['neo4j_driver']}" + (" with the Rust extension" if result["rust_extension"] else "")
    return "\n".join(
        [
            f"Whole ML-1M interaction graph from Neo4j into the trainer's tensors ({driver}) on "
            f"{one_line(result['machine'])}, commit `{result['machine']['commit']}`:",
            "",
            "| stage | seconds | interactions/s |",
            "|---|---:|---:|",
            f"| floor: the same sequences built from the dataset file | {result['floor_s']:.2f} | "
            f"{result['floor_edges_per_s']:,.0f} |",
            f"| export from Neo4j (`gnn.export`) | {result['export_s']:.2f} | {result['export_edges_per_s']:,.0f} |",
            "",
            f"The export takes **{result['export_over_floor']:.2f}x** the floor (target <= "
            f"{result['targets']['export_over_floor_at_most']:.0f}x; identical sequences: "
            f"{result['identical_sequences']}). Produced by `make bench` (`python -m bench.export`); raw numbers in "
            "`bench/results/export.json`.",
        ]
    )


def run_machines(result: dict[str, Any]) -> str:
    """The machines that trained a reproduce.json's runs; a run without one is the collecting machine's."""
    machines = sorted({one_line(run.get("machine") or result["machine"]) for run in result["runs"]})
    return "; ".join(machines)


def trained_on(run: dict[str, Any], result: dict[str, Any]) -> str:
    """The processor that did a run's arithmetic: its machine's GPU when it trained on CUDA, else the CPU."""
    machine = run.get("machine") or result["machine"]
    return str(machine.get("gpu") if run.get("device") == "cuda" and machine.get("gpu") else machine["cpu"])


def run_commits(result: dict[str, Any]) -> str:
    """The commits that trained a reproduce.json's runs (merged runs keep their own)."""
    commits = sorted({str(run.get("commit", result["machine"]["commit"])) for run in result["runs"]})
    return ", ".join(f"`{commit}`" for commit in commits)


def unreproduced(result: dict[str, Any]) -> list[str]:
    """`dataset/model` of each base model the paper reports, or the run asked for, that has no run yet: a run
    over one dataset must not read as the whole reproduction."""
    ran = {f"{run['dataset']}/{run['model']}" for run in result["runs"]}
    wanted = {f"{dataset}/{model}" for dataset, model, variant in PAPER if variant == "base"}
    return sorted((wanted | set(result.get("not_run") or [])) - ran)


def excludes_history(runs: list[dict[str, Any]]) -> bool:
    """Whether every run left the user's history items out of the ranking (runs made before the field existed
    did)."""
    return bool(runs) and all(run.get("exclude_history", True) for run in runs)


def ranking_convention(runs: list[dict[str, Any]]) -> str:
    """How the runs ranked: with the user's history items (the paper's and RecBole's convention for sequential
    models) or without them (`LLMRG_TRAIN_EXCLUDE_HISTORY`); runs made before the field existed excluded them."""
    excluded = {bool(run.get("exclude_history", True)) for run in runs}
    if excluded == {False}:
        return "history items kept in the ranking (the paper's and RecBole's convention)"
    if excluded == {True}:
        return "history items left out of the ranking (not the paper's convention; it can read higher)"
    return "mixed ranking conventions (see each run's exclude_history in the JSON)"


def reproduce_section(result: dict[str, Any], pop: dict[str, Any] | None = None) -> str:
    """The per-run table; `pop`: the most-popular baseline per dataset (`bench.popularity`), to name the runs that
    stalled at its level."""
    protocol = result["protocol"]
    lines = [
        f"Base models on the leave-one-out split, full ranking with {ranking_convention(result['runs'])}, at most "
        f"{protocol['epochs']} epochs"
        + (f" over {protocol['max_train_rows']:,} training rows" if protocol["max_train_rows"] else "")
        + f", seed(s) {protocol['seeds']}, on {run_machines(result)}, commit(s) {run_commits(result)}"
        ' (test metrics of the best validation epoch; the paper\'s "Original" numbers beside them):',
        "",
        "| dataset | model | variant | seed | HR@10 | paper | NDCG@10 | paper | best epoch | epochs | s/epoch "
        "| peak MiB | trained on |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in result["runs"]:
        paper = PAPER.get((run["dataset"], run["model"], run["variant"])) or {}
        peak = run.get("peak_rss_mib") or run["peak_memory_mb"]
        lines.append(
            f"| {run['dataset']} | {run['model']} | {variant_label(run)} | {run.get('seed', 0)} | "
            f"{run['test']['hr@10']:.4f} | {paper.get('hr@10', float('nan')):.4f} | {run['test']['ndcg@10']:.4f} | "
            f"{paper.get('ndcg@10', float('nan')):.4f} | {run.get('best_epoch', '-')} | {run['epochs_run']} | "
            f"{run['epoch_s']:.0f} | {peak:,.0f} | {trained_on(run, result)} |".replace("nan", "-")
        )
    missing = unreproduced(result)
    paired = paired_sentences(result)
    stuck = stalled_runs(result["runs"], pop or {})
    lines += [
        "",
        *([paired, ""] if paired else []),
        *(
            [
                f"Stalled at the popularity level (best valid NDCG@10 under {STALLED_BELOW}x the most-popular "
                f"baseline's, so early stopping ended them before they learned order): {stuck}.",
                "",
            ]
            if stuck
            else []
        ),
        (f"Not run yet: {', '.join(missing)}. " if missing else "")
        + "Produced by `python -m bench.reproduce`; each run's result in `bench/results/reproduce/`, the table's "
        "numbers in `bench/results/reproduce.json`.",
    ]
    return "\n".join(lines)


def paired_sentences(result: dict[str, Any]) -> str:
    """Each variant against its base (and a knowledge-base variant against its controls, `bench.reproduce.CONTROLS`,
    and a run under another protocol against the same run under the reference protocol) on the same test users and
    seed: the users only one of them hits at 10, with the exact McNemar p-value, which
    resolves differences the two rates' intervals cannot, and the mean per-user NDCG@10 difference with its paired
    bootstrap interval (hits moved up inside the top 10)."""
    said = []
    for row in result.get("rows") or []:
        against = [("base", "the base", row.get("paired_vs_base") or [])] + [
            (VARIANT_LABELS[control], "the control", pairs)
            for control, pairs in (row.get("paired_vs_controls") or {}).items()
        ]
        against += [("the reference protocol", "the reference", row.get("paired_vs_reference") or [])]
        name = VARIANT_LABELS[row["variant"]] + (f" ({row['protocol']})" if row.get("protocol") else "")
        said += [
            f"{row['dataset']} {row['model']} {name} against {label}, seed {pair['seed']}: "
            f"{pair['only_variant']} test users hit at 10 by it alone and {pair['only_base']} by {other} alone "
            f"(exact McNemar p {pair['p_value']:.2g})" + _ndcg_difference(pair)
            for label, other, pairs in against
            for pair in pairs
        ]
    return "Paired on the same test users: " + "; ".join(said) + "." if said else ""


def _ndcg_difference(pair: dict[str, Any]) -> str:
    if "ndcg@10_difference" not in pair:
        return ""
    low, high = pair["ndcg@10_ci95"]
    return f", NDCG@10 {pair['ndcg@10_difference']:+.4f} [{low:+.4f}, {high:+.4f}] per user (paired bootstrap)"


SUPERSEDED_PROMPTS = {
    "v2": "its verification batched a chain's masks into one call, where one question showed the item another "
    "hid, so chains could pass by copying; v3 fixed that, see the verification batching section",
}
"""Prompt versions the engine no longer runs that committed results were made with, and why such a figure is not
today's engine's."""


def _prompt_caveat(version: str) -> str:
    why = SUPERSEDED_PROMPTS.get(version)
    return f" (an earlier prompt version: {why})" if why else ""


def ablation_section(result: dict[str, Any]) -> str:
    """The DuoRec ablation on the users with reasoning graphs (bench/results/ablation-<dataset>.json)."""
    settings, graphs, protocol = result["reasoning_settings"], result["graphs"], result["protocol"]
    chains, edges = graphs["chains"], graphs["edges"]
    outcomes = graphs["chains_by_status"].get("reasoning", {})
    proposed = sum(outcomes.values())
    train_on_all = protocol.get("train_users", "reasoned") == "all"
    scored = (
        f"the {graphs['users']} users (of the {graphs['users_reasoned']} reasoned for, ids up to "
        f"{graphs['last_user_reasoned']}) that hold a verified reasoning chain"
    )
    lines = [
        f"DuoRec on {result['dataset']}, "
        + (
            f"trained on all {graphs['users_trained']:,} users (reasoning graphs where they exist) and scored on "
            if train_on_all
            else "trained and tested on "
        )
        + f"{scored}, at most {protocol['epochs']} epochs"
        + (f", inputs of at most {protocol['max_len']} items" if "max_len" in protocol else "")
        + f", seed(s) {protocol['seeds']}, on {one_line(result['machine'])}, commit `{result['machine']['commit']}`. "
        f"Reasoning: {result['llm']}, prompts {settings['prompt_version']}"
        + _prompt_caveat(settings["prompt_version"])
        + ", "
        + (f"last {settings['max_targets']} position(s)" if settings["max_targets"] else "every position")
        + f" of a {settings['history_length']}-item window{_holdout(settings.get('holdout', 0))}, "
        f"τ = {settings['tau']:.0f}: "
        f"{outcomes.get('verified', 0)} of {proposed} proposed reasoning chains verified "
        f"({_rate(outcomes.get('verified', 0) / proposed if proposed else None)})"
        + _reasoning_cost(result.get("reasoning"))
        + ". The graphs hold "
        f"{chains['llmrg']['rea']} verified reasoning and {chains['llmrg']['div']} divergent chain links "
        f"({edges['llmrg']['rea']} and {edges['llmrg']['div']} edges); without verification "
        f"{chains['llmrg-no-verify']['rea']} and {chains['llmrg-no-verify']['div']} "
        f"({edges['llmrg-no-verify']['rea']} and {edges['llmrg-no-verify']['div']} edges). Rows whose prefix sees "
        f"at least one LLMRG edge: {_stages(graphs['rows_seeing_edges']['llmrg'], graphs.get('rows'))}; without "
        f"verification {_stages(graphs['rows_seeing_edges']['llmrg-no-verify'], graphs.get('rows'))}.",
        "",
        "| variant | HR@5 | HR@10 | HR@10 95% interval | NDCG@5 | NDCG@10 | HR@10 vs base | NDCG@10 vs base | "
        + ("hits gained / lost vs base (p) | HR@10 all users | " if train_on_all else "")
        + "paper vs base |",
        "|---|---:|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if train_on_all else "") + "---:|",
    ]
    gains = result.get("paper_gains") or {}
    summary = result["summary"]
    intervals = {name: wilson_interval(entry["mean"]["hr@10"], graphs["users"]) for name, entry in summary.items()}
    for name, entry in result["summary"].items():
        mean, change = entry["mean"], entry["vs_base"] or {}
        paper = gains.get(name)
        low, high = intervals[name]
        lines.append(
            f"| {entry['label']} | {mean['hr@5']:.4f} | {mean['hr@10']:.4f} | "
            f"{low:.3f} to {high:.3f} | "
            f"{mean['ndcg@5']:.4f} | {mean['ndcg@10']:.4f} | {_change(change.get('hr@10'))} | "
            f"{_change(change.get('ndcg@10'))} | "
            + (f"{_paired(entry.get('paired_vs_base'))} | {_all_users_hr10(entry)} | " if train_on_all else "")
            + (f"HR@10 {paper['hr@10']:+.1%}, NDCG@10 {paper['ndcg@10']:+.1%}" if paper else "-")
            + " |"
        )
    told_apart = max(low for low, _ in intervals.values()) > min(high for _, high in intervals.values())
    paired = [test for entry in summary.values() for test in entry.get("paired_vs_base") or []]
    lines += [
        "",
        ("" if told_apart else "All the HR@10 intervals overlap: this run does not tell the variants apart. ")
        + (
            "No variant differs from the base at p < 0.05 on the same users. "
            if paired and min(test["p_value"] for test in paired) >= 0.05
            else ""
        )
        + f"HR@10 95% interval: the Wilson score interval over the {graphs['users']} test users (one test row each); "
        "variants whose intervals overlap are not told apart by this run. "
        + (
            "Hits gained / lost: the test users this variant hits at 10 and the base misses, and the reverse (the "
            "same users, so the pairs are compared), with the exact McNemar p-value; per seed. HR@10 all users: the "
            "same model over every user, which says whether it learned the dataset. "
            if train_on_all
            else ""
        )
        + "Without verification the graphs also take "
        "the chains verification rejected in the same run (the paper reasons again, so its divergent extension "
        'also continues them). "paper vs base": the paper\'s relative gain with GPT-4 '
        "(it reports no w/o-divergent or w/o-verification numbers in the design doc). Produced by "
        f"`python -m bench.ablation`; raw numbers in `bench/results/ablation-{result['dataset']}.json`.",
    ]
    return "\n".join(lines)


def _reasoning_cost(reasoning: dict[str, Any] | None) -> str:
    """The reasoning phase's cost, when the result carries it (from the same run or its phase-1 file)."""
    if not reasoning or not reasoning.get("users"):
        return ""
    users = reasoning["users"]
    return (
        f"; the reasoning took {reasoning['wall_s']:,.0f} s for {users} users ({reasoning['wall_s'] / users:.0f} s "
        f"and {reasoning['llm_calls'] / users:.1f} LLM calls per user)"
    )


def _paired(tests: list[dict[str, Any]] | None) -> str:
    if not tests:
        return "-"
    return ", ".join(f"{test['only_variant']} / {test['only_base']} (p {test['p_value']:.2f})" for test in tests)


def _all_users_hr10(entry: dict[str, Any]) -> str:
    rate = entry.get("all_users_hr@10")
    return "-" if rate is None else f"{rate:.4f}"


def _stages(rows: dict[str, int], of: dict[str, int] | None) -> str:
    def part(stage: str) -> str:
        return f"{rows[stage]:,}" + (f" of {of[stage]:,}" if of else "")

    return f"{part('train')} training, {part('valid')} validation, {part('test')} test"


def _holdout(items: int) -> str:
    if not items:
        return ""
    return " ending before each user's test item" if items == 1 else f" ending {items} items before the last"


def _change(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1%}"


def recbole_section(result: dict[str, Any]) -> str:
    """Ours against RecBole's implementation of the same model (bench/results/recbole.json)."""
    protocol = result["protocol"]
    runs = {(run["model"], run["implementation"]): run for run in result["runs"]}
    lines = [
        f"Ours against {result['baseline']} on {result['dataset']}, the same exported data, {protocol['epochs']} "
        f"epoch(s) each in a fresh process, seed {protocol['seed']}, on {one_line(result['machine'])}, commit(s) "
        f"{', '.join(f'`{commit}`' for commit in result.get('commits') or [result['machine']['commit']])} "
        "(`make bench-recbole`; ours and RecBole's run of a model always share a commit). Seconds per epoch are "
        "a training pass plus the "
        "full-ranking validation; memory is the process's peak RSS; test metrics rank every item:",
        "",
        "| model | s/epoch ours | RecBole | ours / RecBole | peak MiB ours | RecBole | HR@10 ours | RecBole "
        "| NDCG@10 ours | RecBole |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    missing = []
    for comparison in result["comparisons"]:
        model = comparison["model"]
        ours, theirs = runs[(model, "llmrg")], runs.get((model, "recbole"))
        if theirs is None:
            missing.append(f"{model} ({comparison['why_not_compared']})")

        def cell(run: dict[str, Any] | None, form: str, *path: str) -> str:
            value: Any = run
            for key in path:
                value = None if value is None else value.get(key)
            return "-" if value is None else form.format(value)

        ratio = comparison["epoch_ratio"]
        lines.append(
            f"| {model} | {cell(ours, '{:.1f}', 'epoch_s')} | {cell(theirs, '{:.1f}', 'epoch_s')} | "
            f"{'-' if ratio is None else f'{ratio:.2f}x'} | {cell(ours, '{:,.0f}', 'peak_rss_mb')} | "
            f"{cell(theirs, '{:,.0f}', 'peak_rss_mb')} | {cell(ours, '{:.4f}', 'test', 'hr@10')} | "
            f"{cell(theirs, '{:.4f}', 'test', 'hr@10')} | {cell(ours, '{:.4f}', 'test', 'ndcg@10')} | "
            f"{cell(theirs, '{:.4f}', 'test', 'ndcg@10')} |"
        )
    from bench.recbole import RECBOLE_MODELS
    from core.vocabulary import MODEL_NAMES

    listed = {comparison["model"] for comparison in result["comparisons"]}
    missing += [
        f"{model} ({result['baseline']} has no {model} model)"
        for model in MODEL_NAMES
        if model not in listed | set(RECBOLE_MODELS)
    ]
    compared = [comparison for comparison in result["comparisons"] if comparison["meets_target"] is not None]
    slower = [comparison["model"] for comparison in compared if not comparison["meets_target"]]
    lines += [
        "",
        f"Target: {result['target']}. "
        + (f"Met for {len(compared) - len(slower)} of {len(compared)} compared models" if compared else "Not measured")
        + (f" (slower: {', '.join(slower)})" if slower else "")
        + "."
        + (f" Not compared: {', '.join(missing)}." if missing else "")
        + " Raw numbers in `bench/results/recbole.json`.",
    ]
    return "\n".join(lines)


def recommend_section(results: list[dict[str, Any]]) -> str:
    """One row pair per measured variant (bench/results/recommend.json, recommend-<variant>.json)."""
    lines = [
        "`llmrg recommend` latency per user after the model is loaded:",
        "",
        "| dataset, model, variant | users | k | floor p50 ms | floor p95 ms | recommend p50 ms | recommend p95 ms "
        "| machine, commit |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for result in results:
        floor, full = result["floor"], result["recommend"]
        lines.append(
            f"| {result['dataset']} {result['model']} {result['variant']} | {result['users']} | {result['k']} | "
            f"{floor['p50_ms']:.1f} | {floor['p95_ms']:.1f} | {full['p50_ms']:.1f} | {full['p95_ms']:.1f} | "
            f"{one_line(result['machine'])}, `{result['machine']['commit']}` |"
        )
    target = results[0]["targets"]["p95_ms_below"]
    met = all(result["targets"]["met"] for result in results)
    lines += [
        "",
        "The floor is the forward pass and top-k with the user's items (and graphs) already in memory; `recommend` "
        f"adds the Neo4j reads, the graphs and the explanations. Target: p95 < {target:.0f} ms (met: {met}). "
        "Produced by `python -m bench.recommend`; raw numbers in `bench/results/recommend*.json`.",
    ]
    return "\n".join(lines)


def ablation_results() -> list[dict[str, Any]]:
    """Every dataset's ablation (bench/results/ablation-<dataset>.json), ML-1M first as in the paper; a reasoning
    phase's own file (ablation-<dataset>-reasoning.json) is part of its dataset's result, not a result."""
    paths = [path for path in RESULTS.glob("ablation-*.json") if not path.stem.endswith("-reasoning")]
    paths.sort(key=lambda path: (path.stem != "ablation-ml-1m", path.stem))
    return [json.loads(path.read_text()) for path in paths]


def ablation_sections(results: list[dict[str, Any]]) -> str:
    return "\n\n".join(ablation_section(result) for result in results)


def recommend_results() -> list[dict[str, Any]]:
    paths = sorted(RESULTS.glob("recommend*.json"), key=lambda path: (path.stem != "recommend", path.stem))
    return [json.loads(path.read_text()) for path in paths]


def _per_user(key: str, form: str) -> Callable[[dict[str, Any]], str]:
    return lambda stage: form.format(stage[key]) if key in stage else ""


def _server_seconds(stage: dict[str, Any]) -> str:
    if "server_prompt_s_per_user" not in stage:
        return ""
    return f"{stage['server_prompt_s_per_user']:.1f} / {stage['server_generation_s_per_user']:.1f}"


REASON_ROWS: tuple[tuple[str, Callable[[dict[str, Any]], str]], ...] = (
    ("users", _per_user("users", "{:,.0f}")),
    ("LLM calls", _per_user("llm_calls_per_user", "{:.1f}")),
    ("prompt tokens", _per_user("prompt_tokens_per_user", "{:,.0f}")),
    ("completion tokens", _per_user("completion_tokens_per_user", "{:,.0f}")),
    (
        "prompt tokens the server computed (the rest came from its prompt cache)",
        _per_user("server_prompt_tokens_computed_per_user", "{:,.0f}"),
    ),
    ("server seconds on prompts / generating", _server_seconds),
    ("users per hour", _per_user("users_per_hour", "{:.1f}")),
)


def verify_batching_section(result: dict[str, Any]) -> str:
    """Verification one question per call against batched (bench/results/verify_batching.json)."""
    variants = result["variants"]
    lines = [
        f"{result['model']} on ML-1M users 1-{result['users']}, last {result['max_targets']} positions of a "
        f"{result['history_length']}-item window, τ = {result['tau']:.0f}, on {one_line(result['machine'])}, commit "
        f"`{result['machine']['commit']}` (`make bench-verify`); "
        + ("both variants verified the same proposed chains:" if result["same_chains"] else "the chains differed:"),
        "",
        "| per user | " + " | ".join(f"{v['questions_per_call']} per call" for v in variants.values()) + " |",
        "|---|" + "---:|" * len(variants),
    ]
    for label, key, form in (
        ("LLM calls", "llm_calls_per_user", "{:.1f}"),
        ("seconds", "seconds_per_user", "{:.1f}"),
        ("prompt tokens the server computed", "server_prompt_tokens_computed_per_user", "{:,.0f}"),
    ):
        lines.append(f"| {label} | " + " | ".join(form.format(v[key]) for v in variants.values()) + " |")
    verified = (
        f"{v['chains_verified']} of {v['chains_proposed']} ({_rate(v['verified_rate'])})" for v in variants.values()
    )
    lines.append("| chains verified | " + " | ".join(verified) + " |")
    return "\n".join(lines)


def reason_section(reason: dict[str, Any]) -> str:
    """LLM cost per user, naive against optimised (bench/results/reason.json)."""
    stages = reason["stages"]
    settings = reason["settings"]
    lines = [
        f"{reason['model']} on ML-1M, last {settings['reason_max_targets'] or 'all'} positions of a "
        f"{settings['history_length']}-item window, divergent extension off, on {one_line(reason['machine'])}, "
        f"commit `{reason['machine']['commit']}` (`make bench-reason`):",
        "",
        "| per user | " + " | ".join(stages) + " |",
        "|---|" + "---:|" * len(stages),
    ]
    optimised = stages["optimised"]
    for label, cell in REASON_ROWS:
        cells = [cell(stage) for stage in stages.values()]
        if any(cells):  # rows of the server's own counts are empty in results from before the bench read them
            lines.append(f"| {label} | " + " | ".join(text or "-" for text in cells) + " |")
    lines += [
        "",
        f"The optimised engine makes **{reason['calls_per_user_ratio']:.1f}x** fewer calls per user than the naive "
        f"procedure (target {reason_target(reason, 'calls_per_user_ratio_at_least', '{:.0f}x')}); knowledge-base "
        f"hit rate on the second half of the users {second_half_hits(optimised)} (target "
        f"{reason_target(reason, 'kb_hit_rate_second_half_at_least', '{:.0%}')}); "
        f"{optimised['users_per_hour']:.1f} users per hour (target "
        f"{reason_target(reason, 'users_per_hour_at_least', '{:.0f}')}); verified-chain rate on the common users: "
        + ", ".join(f"{name} {_rate(stage['common_users_verified_rate'])}" for name, stage in stages.items())
        + ". Produced by `make bench-reason`; raw numbers in `bench/results/reason.json`.",
    ]
    if before := reason.get("previous_run"):
        lines += [
            "",
            f"Per user against the run this one replaced (commit `{before['commit']}`, {before['users']:,} users): "
            f"{optimised['llm_calls_per_user']:.1f} LLM calls (was {before['llm_calls_per_user']:.1f}), "
            f"{_tokens(optimised.get('server_prompt_tokens_computed_per_user'))} prompt tokens the server computed "
            f"(was {_tokens(before['computed_prompt_tokens_per_user'])}), "
            f"{_tokens(optimised['completion_tokens_per_user'])} generated (was "
            f"{_tokens(before['completion_tokens_per_user'])}), {optimised['users_per_hour']:.0f} users per hour "
            f"(was {before['users_per_hour']:.0f}).",
        ]
    if optimised.get("sittings", 1) > 1:
        lines += [
            "",
            f"The optimised stage ran in {optimised['sittings']} sittings (on {'; '.join(optimised['machines'])}; "
            f"commits {', '.join(f'`{commit}`' for commit in optimised['commits'])}), carried on from the "
            "benchmark's journal; its users per hour count the chunks' own seconds, not the time between sittings.",
        ]
    if ceiling := reason.get("kb_ceiling"):
        this_run, full_window = ceiling["this_run"]["second_half"], ceiling["full_window"]["second_half"]
        lines += [
            "",
            "Ceiling of that hit rate: had every step stored a verified chain, the exact knowledge-base key could "
            f"have answered at most {_rate(this_run, 1)} of the second half's steps with these settings, and "
            f"{_rate(full_window, 1)} reasoning over every position of a "
            f"{ceiling['full_window_settings']['history_length']}-item window (users share targets and recent items "
            "only that often).",
        ]
    return "\n".join(lines)


def reason_run_section(journal: dict[str, Any], path: str) -> str:
    """The reasoning benchmark's current run as far as its committed journal goes (`bench.reason` carries it on
    across sessions); '' once that run is finished, when `reason_section` shows its result instead."""
    planned = journal["fingerprint"]["users"]
    naive_users = list(range(1, journal["fingerprint"]["naive_users"] + 1))
    users = {"naive": naive_users, KB_STAGE: list(range(1, planned + 1))}
    stages = {
        name: record["result"] or summarise(users[name], record["chunks"])
        for name, record in journal["stages"].items()
        if record["chunks"]
    }
    if not stages or (journal["stages"].get(KB_STAGE) or {}).get("result"):
        return ""
    settings = journal["fingerprint"]["settings"]
    lines = [
        f"**The current run, in progress** (journal `{path}`, committed; `make bench-reason` carries it on): "
        f"`{settings['llm']['model']}`, prompt `{settings['reasoning']['prompt_version']}`, verification "
        f"`{settings['verify']['style']}`, {planned:,} users planned, so far "
        + ", ".join(f"{name} {stage['users']:,} of {len(users[name]):,} users" for name, stage in stages.items())
        + ":",
        "",
        "| per user, so far | " + " | ".join(stages) + " |",
        "|---|" + "---:|" * len(stages),
    ]
    for label, cell in REASON_ROWS:
        cells = [cell(stage) for stage in stages.values()]
        if any(cells):
            lines.append(f"| {label} | " + " | ".join(text or "-" for text in cells) + " |")
    paces = "; ".join(
        f"{name}: "
        + ", ".join(_pace(threads, pace) for threads, pace in stage["users_per_hour_by_llm_threads"].items())
        for name, stage in stages.items()
        if stage.get("users_per_hour_by_llm_threads")
    )
    verified = ", ".join(
        f"{name} {stage['chains_verified']:,} of {stage['chains_proposed']:,}" for name, stage in stages.items()
    )
    lines += ["", f"Chains verified so far: {verified}. Users per hour by the LLM server's threads: {paces}."]
    if (optimised := stages.get(KB_STAGE)) and optimised["kb_curve"]:
        point = optimised["kb_curve"][-1]
        lines[-1] += (
            f" Knowledge-base hits so far: {point['kb_hits']:,} whole chains and {point['kb_edge_hits']:,} edges"
            + (
                f" ({point['kb_edge_hits_warm_start']:,} of them helped by the warm start's pairs)"
                if point.get("kb_edge_hits_warm_start")
                else ""
            )
            + f" over {point['kb_hits'] + point['kb_edge_hits'] + point['kb_misses']:,} steps looked up."
        )
        lines[-1] += warm_start_note(optimised)
    return "\n".join(lines)


def warm_start_note(stage: dict[str, Any]) -> str:
    """Whether, and from which user, the stage's knowledge base also held the released warm start's pairs."""
    warm = stage.get("warm_start")
    if not warm:
        return ""
    return (
        f" From user {warm['from_user']:,} on, the knowledge base also held the released warm start "
        f"(`llmrg kb warm`): {warm['pair_chains']:,} verified item pairs, {warm['edges']:,} causal edges, no users."
    )


def _pace(threads: str, users_per_hour: float) -> str:
    if threads == "unrecorded":
        return f"{users_per_hour:.1f} (LLM threads not recorded)"
    return f"{users_per_hour:.1f} with {threads} LLM thread{'s' if threads != '1' else ''}"


def reason_target(reason: dict[str, Any], key: str, form: str) -> str:
    """A reasoning target as the run recorded it, and today's where the issue has moved it since: a run from before
    the change keeps its own bar, but the reader should not take that bar for the one the project now holds."""
    recorded, current = reason["targets"][key], TARGETS[key]
    if recorded == current:
        return ">= " + form.format(current)
    return f">= {form.format(recorded)} when this ran; >= {form.format(current)} now"


def second_half_hits(stage: dict[str, Any]) -> str:
    """The second half's hit rate, with whole-chain and edge hits apart where the run counted edges."""
    chains = stage["kb_hit_rate_second_half"] or 0.0
    edges = stage.get("kb_edge_hit_rate_second_half")
    if edges is None:
        return f"{chains:.1%}"
    warm = stage.get("kb_edge_warm_start_hit_rate_second_half")
    helped = f", {warm:.1%} of the steps helped by the warm start's pairs" if warm else ""
    return f"{chains + edges:.1%} ({chains:.1%} whole chains, {edges:.1%} causal edges{helped})"


def _tokens(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


KEY_LABELS = {
    "exact": "exact (target + a premise in the last {recent} items)",
    "window": "window (target + a premise anywhere in the window)",
    "target": "target only (breaks the reuse rule; bounds any fallback)",
}


def kb_ceiling_section(result: dict[str, Any]) -> str:
    """The knowledge-base reuse ceiling per key, from the histories alone (bench/results/kb_ceiling.json)."""
    target = TARGETS["kb_hit_rate_second_half_at_least"]
    last = result["max_targets"]
    lines = [
        "How much of the second half's steps the knowledge base could answer at most, had every step stored a "
        f"verified chain (first half in brackets), counted from the datasets by `python -m bench.kb_ceiling` on "
        f"{one_line(result['machine'])}, commit `{result['machine']['commit']}`:",
        "",
        f"| dataset | users | window | key | last {last} positions | every position |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for entry in result["results"]:
        by_key: dict[str, dict[int, dict[str, Any]]] = {}
        for row in entry["rows"]:
            by_key.setdefault(row["key"], {})[row["max_targets"]] = row
        for key, rows in by_key.items():
            label = KEY_LABELS[key].format(recent=result["recent_positions"])
            lines.append(
                f"| {entry['dataset']} | {entry['users']:,} | {entry['history_length']} | {label} | "
                f"{_halves(rows[last])} | {_halves(rows[0])} |"
            )
    lines += ["", _kb_ceiling_reading(result, target)]
    return "\n".join(lines)


def _halves(row: dict[str, Any]) -> str:
    return f"{_rate(row['second_half'], 1)} ({_rate(row['first_half'], 1)})"


def _kb_ceiling_reading(result: dict[str, Any], target: float) -> str:
    """What the ceiling says about the reasoning bench's target (ML-1M, first 200 users, last positions)."""
    population = next(
        (entry for entry in result["results"] if entry["dataset"] == "ml-1m" and entry["users"] == 200), None
    )
    if population is None:
        return "The reasoning bench's population (ML-1M's first 200 users) was not counted in this run."
    last = {row["key"]: row["second_half"] or 0.0 for row in population["rows"] if row["max_targets"]}
    every = {row["key"]: row["second_half"] or 0.0 for row in population["rows"] if not row["max_targets"]}
    reachable = [key for key in ("exact", "window") if last[key] >= target]
    return (
        f"On ML-1M's first 200 users, reasoning about the last {result['max_targets']} positions (the setting of the "
        f"throughput target), the exact key can answer at most {_rate(last['exact'], 1)} of the second half's steps "
        f"and the window key (`LLMRG_KB_RECENT_POSITIONS` = the window length) {_rate(last['window'], 1)}: "
        + (
            f"the {target:.0%} hit-rate target is out of reach there with any key that keeps the reuse rule, "
            "whatever the LLM verifies. "
            if not reachable
            else f"the {target:.0%} target is within reach of the {' and '.join(reachable)} key. "
        )
        + f"Reasoning about every position raises the ceilings to {_rate(every['exact'], 1)} and "
        f"{_rate(every['window'], 1)}, for many more LLM calls per user. The ceilings grow with the users reasoned "
        "before: the rows for more users above."
    )


def _rate(value: float | None, decimals: int = 0) -> str:
    return "-" if value is None else f"{value:.{decimals}%}"


def train_speed_section(result: dict[str, Any]) -> str:
    """`bench.train_speed`: seconds per epoch and peak RSS per model, windows against prefix rows."""
    lines = [
        f"One epoch of each base model (training pass and full-ranking validation) on "
        f"{one_line(result['machine'])}, commit `{result['machine']['commit']}`, on the same exported data; the "
        f"baseline is {result['baseline']} ({result['settings']['prefix_rows']:,} rows run):",
        "",
        "| dataset | model | windows s/epoch | prefix rows s/epoch | speed-up | windows peak RSS | valid NDCG@10 "
        "after one epoch |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    runs = {(run["dataset"], run["model"], run["scheme"]): run for run in result["runs"]}
    for dataset, model in sorted({(run["dataset"], run["model"]) for run in result["runs"]}):
        windows, prefix = runs.get((dataset, model, "windows")), runs.get((dataset, model, "prefix"))
        speedup = f"{prefix['epoch_s'] / windows['epoch_s']:.1f}x" if windows and prefix else "-"
        prefix_s = "-" if prefix is None else f"{prefix['epoch_s']:,.0f}" + (" (extrapolated)" * prefix["extrapolated"])
        epoch_s, peak, ndcg = "-", "-", "-"
        if windows is not None:
            epoch_s = f"{windows['epoch_s']:,.1f}"
            peak = f"{windows['peak_rss_mib']:,.0f} MiB"
            ndcg = f"{windows['valid_ndcg@10']:.4f}"
        lines.append(f"| {dataset} | {model} | {epoch_s} | {prefix_s} | {speedup} | {peak} | {ndcg} |")
    met, targets = result["met"], result["targets"]
    lines += [
        "",
        f"Targets: SASRec on ML-1M at most {targets['sasrec_ml1m_epoch_s_at_most']:.0f} s per epoch including "
        f"validation (met: {met['sasrec_ml1m_epoch_s']}); every ML-1M run under "
        f"{targets['ml1m_peak_rss_mib_below'] / 1024:.0f} GiB peak RSS (met: {met['ml1m_peak_rss']}). Produced by "
        "`make bench-train` (`python -m bench.train_speed`); raw numbers in `bench/results/train_speed.json`.",
    ]
    return "\n".join(lines)


def readout_section(result: dict[str, Any]) -> str:
    """`bench.readout`: SR-GNN in training as it runs now against the eager code before it, on the same batches."""
    settings = result["settings"]
    lines = [
        f"{settings['model']} training steps (loss and backward) on the first {settings['batches']} batches of epoch "
        f"1, each run three ways on the same weights and dropout draws: the baseline (the eager readout over every "
        f"node's state), as it runs now (fused readout, a state per class of equal nodes), and the base model alone; "
        f"on {one_line(result['machine'])}, {settings['threads']} thread(s), commit `{result['machine']['commit']}`, "
        f"load average {result['load_average_at_start']:.1f} at the start (above about 0.5, other work shared the "
        "machine). Seconds per epoch are the training pass extrapolated from those batches to the epoch's targets, "
        "validation not included:",
        "",
        "| dataset | variant | readout pairs per batch | baseline s/step | now s/step | base alone s/step | speed-up "
        "| epoch baseline (extrapolated) | epoch now (extrapolated) | graphs' cost over the base, baseline / now | "
        "gradient difference, model / SR-GNN |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in result["runs"]:
        step, epoch = run["step_s"], run["epoch_train_s_extrapolated"]
        lines.append(
            f"| {run['dataset']} | {VARIANT_LABELS.get(run['variant'], run['variant'])} | "
            f"{run['readout_pairs_run'] / run['batches_run']:,.0f} | {step['baseline']:.2f} | {step['now']:.2f} | "
            f"{step['base']:.2f} | {run['speedup']:.1f}x | {epoch['baseline']:,.0f} s | {epoch['now']:,.0f} s | "
            f"{run['graph_overhead_ratio']:.1f}x | {run['largest_gradient_difference']:.0e} / "
            f"{run.get('largest_encoder_gradient_difference', float('nan')):.0e} |"
        )
    lines += [
        "",
        "Gradient difference: the largest over the batches of ‖now - baseline‖ / ‖baseline‖ over every parameter's "
        "gradient, and over SR-GNN's alone (float32 sums in another order); the bench fails above 1e-4, as it does "
        "for the loss. Produced by `make bench-readout` "
        "(`python -m bench.readout`); raw numbers in `bench/results/readout.json`.",
    ]
    return "\n".join(lines)


def quality_section(result: dict[str, Any]) -> str:
    """`bench.quality`: the verifier's acceptance of real chains against placebo chains, per model and verifier."""
    lines = [
        "Measured by `make bench-quality` (each row's commit below; the newest run on "
        f"{one_line(result['machine'])}). Each chain the LLM "
        "proposed for a sampled step is verified beside two placebos with the same reasons: the same target with "
        "premises drawn at random from the user's earlier items, and the LLM's items in a shuffled order. Rates "
        "with 95% Wilson intervals; the difference with a 95% Newcombe interval. Recency: chains whose premises "
        "are exactly the k items before the target. Prompt: the chaining prompt that wrote the chains (v4 lists, under "
        "each target, the earlier items most related to it and lets chains use only those).",
        "",
        "| model | dataset | verifier | prompt | chains | recency | real | random premises | shuffled | real - random "
        "| calls / chain | s / chain | commit |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]

    def cell(found: dict[str, Any]) -> str:
        return f"{found['rate']:.0%} [{found['ci95'][0]:.0%}, {found['ci95'][1]:.0%}]"

    for row in result["rows"]:
        rates, versus = row["rates"], row["real_vs_random_premises"]
        lines.append(
            f"| {row['model']} | {row['dataset']} | {row['verifier']} | {_prompt(row)} | {row['chains_with_placebo']} "
            f"| {row['recency_overlap']:.0%} | {cell(rates['real'])} | {cell(rates['random_premises'])} "
            f"| {cell(rates['shuffled'])} | {versus['difference']:+.0%} [{versus['ci95'][0]:+.0%}, "
            f"{versus['ci95'][1]:+.0%}] | {row['verify_calls_per_chain']:.2f} | {row['verify_seconds_per_chain']:.1f} "
            f"| `{row.get('commit', result.get('commit'))}` |"
        )
    lines.append("")
    lines += [
        f"- {row['model']}, {row['dataset']}, {row['verifier']}, prompt {_prompt(row)}: against random premises it "
        f"{row['real_vs_random_premises']['words']}; against shuffled chains it {row['real_vs_shuffled']['words']}. "
        "Chains kept for "
        f"{row['steps']} of {row['steps_sampled']} sampled steps; users without a valid chain: "
        f"{len(row.get('users_without_chains', []))} of {row['users']}"
        + (f"; proposals refused: {_counts(row['proposals_rejected'])}" if row.get("proposals_rejected") else "")
        + (f" (commit `{row['commit']}`: {row['commit_note']})" if row.get("commit_note") else "")
        + "."
        for row in result["rows"]
    ]
    return "\n".join(lines)


def _prompt(row: dict[str, Any]) -> str:
    """The chaining prompt of a quality row, with its premise window and candidates where they are not v3's."""
    version = str(row.get("prompt_version", "v3"))
    details = []
    if row.get("premise_candidates"):
        details.append(f"{row['premise_candidates']} candidates")
    if row.get("premise_window") is not None and row.get("premise_window") != 10:
        details.append(f"window {row['premise_window'] or 'all'}")
    return version + (f" ({', '.join(details)})" if details else "")


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {reason.replace('_', ' ')}" for reason, count in counts.items())


def scale_section(result: dict[str, Any]) -> str:
    """`bench/results/scale.json`: a whole dataset on the workers through faults, against the same run without."""
    targets = result["settings"]["max_targets"]
    lines = [
        f"{result['users']:,} {result['dataset']} users on {result['workers']} worker processes, scripted model "
        f"answering at once, the last {targets} position{'s' if targets != 1 else ''} before each user's end, "
        "knowledge base and "
        f"divergent extension off, on {one_line(result['machine'])}, commit `{result['machine']['commit']}`. "
        "The faulted run SIGKILLs a worker, restarts Neo4j and restarts Redis, at a quarter, half and three "
        "quarters of the users:",
        "",
        "| run | status | users done | users/min | retried | redelivered | dead letters | chains | accepted links |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, label in (("clean", "without faults"), ("faulted", "with faults")):
        row = result[name]
        run, stored = row["run"], row["stored"]
        lines.append(
            f"| {label} | {run['status']} | {run['users_done']:,} | {row['users_per_min']:,.0f} | {run['retries']} "
            f"| {row['redelivered']} | {run['dead_letters']} | {stored['chains']:,} | {stored['accepted_links']:,} |"
        )
    struck = "; ".join(
        f"{fault['fault']} at {fault['at_s']:.0f} s ({fault['users_ended']:,} users ended, "
        f"out {fault['outage_s']:.0f} s)"
        for fault in result["faulted"]["faults"]
    )
    failed = [check for check, passed in result["checks"].items() if not passed]
    verdict = (
        "Every check passed: both runs `success`, every user done once, stored totals that do not depend on the "
        "order users finish in equal (`bench.scale.ORDER_FREE_TOTALS`), no duplicate key."
        if not failed
        else f"**Failed checks: {', '.join(failed)}**; differing totals (without, with faults): {result['differing']}."
    )
    lines += [
        "",
        f"Faults: {struck}. {verdict} The faulted run goes second, on the database's warm caches, so users per "
        "minute compare the two only roughly. Produced by `make bench-scale` (`python -m bench.scale`); raw numbers in "
        "`bench/results/scale.json`.",
    ]
    return "\n".join(lines)


def warm_section(result: dict[str, Any]) -> str:
    """`bench/results/kb_warm-<dataset>.json`: the item-pair warm start, real against placebo pairs, and coverage."""
    accepted, versus, covered, ceiling = (
        result["accepted"],
        result["real_vs_placebo"],
        result["coverage"],
        result["ceiling"],
    )

    def cell(found: dict[str, Any]) -> str:
        low, high = found["ci95"]
        return f"{found['accepted']}/{found['chains']} = {found['rate']:.0%} [{low:.0%}, {high:.0%}]"

    lines = [
        f"On {one_line(result['machine'])}, commit `{result['commit']}`"
        + (f" ({result['commit_note']})" if result.get("commit_note") else "")
        + f", model `{result['model']}`, prompt "
        f"`{result['prompt_version']}` (`python -m bench.kb_build --warm-pairs N`, which runs `llmrg kb warm` into "
        "the released knowledge base). The most frequent ordered item pairs of the training part of every history "
        "are reasoned about a few to a call and verified by lettered questions (the later item hidden among items "
        "of the same popularity, the earlier one hidden, an attribute of the later one hidden). Beside every 4th "
        "pair, a placebo: the same earlier item with a later one it has no frequent pair with, asked in the same "
        "calls, judged the same way, never stored. Rates with 95% Wilson intervals; the difference with a 95% "
        "Newcombe interval.",
        "",
        "| | real pairs | placebo pairs | real - placebo |",
        "|---|---:|---:|---:|",
        f"| verified (score >= τ) | {cell(accepted['real'])} | {cell(accepted['placebo'])} "
        f"| {versus['difference']:+.0%} [{versus['ci95'][0]:+.0%}, {versus['ci95'][1]:+.0%}] |",
    ]
    for kind, rates in result["masks"].items():
        verdict = rates["verdict"]
        lines.append(
            f"| {kind} mask recovered | {cell(rates['real'])} | {cell(rates['placebo'])} "
            f"| {verdict['difference']:+.0%} [{verdict['ci95'][0]:+.0%}, {verdict['ci95'][1]:+.0%}] |"
        )
    lines += [
        "",
        "- Verification "
        + ("tells" if versus["ci95"][0] > 0 else "does NOT tell")
        + f" real pairs from placebo pairs ({versus['difference']:+.0%}, 95% interval {versus['ci95'][0]:+.0%} to "
        f"{versus['ci95'][1]:+.0%}).",
        f"- {result['pairs']:,} pairs in {result['llm_calls']:,} LLM calls ({result['reason_calls']:,} reasoning, "
        f"{result['verify_calls']:,} verification), {result['seconds'] / 3600:.2f} hours; "
        f"{result['prompt_tokens'] / max(1, result['pairs']):,.0f} prompt and "
        f"{result['completion_tokens'] / max(1, result['pairs']):,.0f} generated tokens per pair.",
        f"- Coverage: the verified edges answer {100 * covered['share']:.1f}% of all {covered['steps']:,} training "
        f"steps (an edge into the step's item from the 50 items before it) and {100 * covered['test_share']:.1f}% "
        f"of the {covered['test_steps']:,} test targets, with no call for any user; the {ceiling['pairs']:,} pairs "
        f"the run is asked for would cover {100 * ceiling['share']:.1f}% and {100 * ceiling['test_share']:.1f}% if "
        "all held.",
    ]
    if result["real"]["refused"] or result["placebo"]["refused"]:
        lines.append(
            f"- Reasons refused: real {_counts(result['real']['refused_by_reason']) or 'none'}; placebo "
            f"{_counts(result['placebo']['refused_by_reason']) or 'none'}."
        )
    return "\n".join(lines)
