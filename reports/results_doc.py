"""Render docs/RESULTS.md and its plots from bench/results/*.json (`make results`, `python -m reports`); nothing
in it is typed by hand, and no benchmark is rerun.

Sections, each present once its benchmark has run (and saying so when it has not):
- accuracy: every run of `bench.reproduce` beside the paper's numbers (`bench/paper.py`), as a table and a plot,
  and the runs' cost (seconds per epoch, peak memory);
- the ablation: DuoRec's variants on the users with reasoning graphs (`bench.ablation`), table and plot;
- speed and memory: our base models against RecBole's on the same data (`bench.recbole`), table and plot;
- the main job: `llmrg demo` step by step against its 15-minute budget (`bench.demo`);
- the verifier against placebo chains (`bench.quality`), as a table and a plot;
- LLM cost per user, verification batching and the knowledge-base reuse curve with its ceiling
  (`bench.reason`, `bench.verify_batching`, `bench.kb_ceiling`), as tables and plots;
- throughput: ingestion, export, workers and recommendation latency.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.machine import one_line
from bench.paper import PAPER, VARIANT_LABELS, broken_bounds
from bench.popularity import ranking_key
from bench.reason import JOURNAL as REASON_JOURNAL
from bench.reproduce import protocol_label, variant_label
from bench.statistics import wilson_interval
from reports import sections
from reports.sections import RESULTS, ROOT

DOCUMENT = ROOT / "docs" / "RESULTS.md"
PLOTS = ROOT / "docs" / "results"
METRICS = ("hr@5", "hr@10", "ndcg@5", "ndcg@10")


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def accuracy_rows(reproduce: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row per (dataset, model, variant): ours (mean over the seeds run) and the paper's, either missing. Only
    runs under the reference protocol count: a run that isolates a gap (another protocol) has its own row in the
    per-run table, and averaging it in would blur the very comparison it was made to explain."""
    ours: dict[tuple[str, str, str], list[dict[str, float]]] = {}
    for run in (reproduce or {}).get("runs", []):
        if run.get("protocol"):
            continue
        ours.setdefault((run["dataset"], run["model"], run["variant"]), []).append(run["test"])
    rows = []
    for key in sorted(
        set(ours) | set(PAPER), key=lambda k: (k[0] != "ml-1m", k[0], k[1], list(VARIANT_LABELS).index(k[2]))
    ):
        seeds = ours.get(key, [])
        mean = {metric: sum(run[metric] for run in seeds) / len(seeds) for metric in METRICS} if seeds else None
        rows.append({"key": key, "ours": mean, "seeds": len(seeds), "paper": PAPER.get(key)})
    return rows


def accuracy_section(reproduce: dict[str, Any] | None, pop: dict[str, Any] | None = None) -> str:
    """Ours beside the paper's, each dataset headed by the most-popular baseline (`pop`, `bench.popularity`'s
    datasets) where it has been measured."""
    rows = accuracy_rows(reproduce)
    lines = [
        "Test metrics on the leave-one-out split with full ranking, mean over the seeds run. The paper's numbers are",
        "on the right (the design doc quotes them; it has no SASRec row). A blank means that configuration has not",
        "been run. Runs under another protocol, made to isolate a gap, are left out here (see Training runs). The",
        "most-popular baseline (POP, `python -m bench.popularity`: one list for every user, items by training count)",
        "is the level a model sits at before it learns anything about order.",
        "Ranking: "
        + (sections.ranking_convention(reproduce["runs"]) if reproduce and reproduce.get("runs") else "-")
        + ".",
        "",
        "| dataset | model | variant | seeds | HR@5 | HR@10 | NDCG@5 | NDCG@10 "
        "| paper HR@5 | HR@10 | NDCG@5 | NDCG@10 |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    pop = pop or {}
    ranking = ranking_key(reproduce is not None and sections.excludes_history(reproduce["runs"]))
    shown: set[str] = set()
    for row in rows:
        dataset, model, variant = row["key"]
        if dataset not in shown and dataset in pop:
            baseline = [f"{pop[dataset][ranking]['test'][m]:.4f}" for m in METRICS]
            lines.append(f"| {dataset} | most popular (POP) | - | | " + " | ".join(baseline) + " | | | | |")
        shown.add(dataset)
        ours = [f"{row['ours'][m]:.4f}" if row["ours"] else "" for m in METRICS]
        paper = [f"{row['paper'][m]:.4f}" if row["paper"] else "" for m in METRICS]
        seeds = str(row["seeds"]) if row["seeds"] else ""
        lines.append(
            f"| {dataset} | {model} | {VARIANT_LABELS[variant]} | {seeds} | " + " | ".join(ours + paper) + " |"
        )
    if reproduce:
        protocol = reproduce["protocol"]
        lines += [
            "",
            f"Our runs: at most {protocol['epochs']} epochs"
            + (f" on {protocol['max_train_rows']:,} training rows" if protocol["max_train_rows"] else "")
            + f", seeds {protocol['seeds']}, on {sections.run_machines(reproduce)}, commit(s) "
            f"{sections.run_commits(reproduce)} (`python -m bench.reproduce`). Not run yet: "
            f"{', '.join(reproduce.get('not_run') or []) or 'none'}.",
        ]
    else:
        lines += ["", "No reproduction run yet (`python -m bench.reproduce`)."]
    if broken := paper_rows_out_of_bounds():
        lines += [
            "",
            "Some of the paper's rows cannot all be true: with one test item per user, a hit at rank r adds "
            "1/log2(r + 1) to NDCG, which bounds NDCG@10 - NDCG@5 by HR@10 - HR@5 (between 1/log2(11) and "
            "1/log2(7) of it), and these rows break that bound (`bench.paper.broken_bounds`). No run can match all "
            "four of their numbers (one was mistyped, or they mix runs), so a gap to any one of them is only as good "
            "as that number.",
            "",
            *(f"- {key}: {'; '.join(reasons)}" for key, reasons in broken.items()),
        ]
    lines += ["", "![ours against the paper](results/accuracy.png)"]
    return "\n".join(lines)


def paper_rows_out_of_bounds() -> dict[str, list[str]]:
    """`dataset model variant` of each paper row whose numbers break a bound of leave-one-out metrics, with why."""
    return {
        f"{dataset} {model} {VARIANT_LABELS[variant]}": reasons
        for (dataset, model, variant), metrics in PAPER.items()
        if (reasons := broken_bounds(metrics))
    }


def demo_section(demo: dict[str, Any] | None) -> str:
    if demo is None:
        return "Not measured yet (`python -m bench.demo`)."
    plan = demo["plan"]
    lines = [
        f"`llmrg demo` ({plan['users']} users, last {plan['max_targets']} positions of a {plan['history_length']}-item "
        f"window, {plan['model']} + LLMRG for {plan['epochs']} epochs on {plan['train_rows']:,} training targets) on "
        f"{one_line(demo['machine'])}, commit `{demo['machine']['commit']}`; {demo['source']}:",
        "",
        "| step | seconds |",
        "|---|---:|",
        *(f"| {name} | {seconds:.1f} |" for name, seconds in demo["steps_s"].items()),
        f"| **total** | **{demo['steps_total_s']:.1f}** |",
        "",
        f"Budget: {demo['targets']['budget_s'] / 60:.0f} minutes after the services are up (met: "
        f"{demo['targets']['met']}). The reasoning step finished {demo['reason']['users_done']} users with "
        f"{demo['reason']['llm_calls']} LLM calls and accepted {demo['reason']['chains_verified']} chains; the short "
        f"training run reached test HR@10 {demo['train']['test']['hr@10']:.4f} ({demo['train']['epoch_s']:.1f} s per "
        f"epoch); {demo['recommend']['explained']} of the recommendations for user {demo['recommend']['user']} have a "
        f"reasoning path, served in {demo['recommend']['ms']:.0f} ms.",
    ]
    return "\n".join(lines)


def cost_section(reason: dict[str, Any] | None) -> str:
    """The last finished run's table and plot, then the run in progress, if one is (from its journal, found in
    `RESULTS` as `bench.reason` keeps it)."""
    run = RESULTS / REASON_JOURNAL.parent.name / REASON_JOURNAL.name
    parts = (
        ["Not measured yet (`make bench-reason`)."]
        if reason is None
        else [sections.reason_section(reason), "![LLM calls and tokens per user](results/cost.png)"]
    )
    if run.is_file():
        parts.append(sections.reason_run_section(json.loads(run.read_text()), str(run.relative_to(ROOT))))
    return "\n\n".join(part for part in parts if part)


CEILING_NOTE = (
    "What caps that hit rate is how often users share a target and a premise, which the datasets alone tell "
    "(`python -m bench.kb_ceiling`, part of `make bench`, seconds):"
)

WARM_CEILING_NOTE = (
    "That bounds the hits users' own reasoning can give; the warm start's pairs, chosen from every history of the "
    "dataset, answer steps beyond it."
)


def reuse_section(reason: dict[str, Any] | None, ceiling: dict[str, Any] | None = None) -> str:
    curve = (reason or {}).get("stages", {}).get("optimised", {}).get("kb_curve")
    warm = (reason or {}).get("stages", {}).get("optimised", {}).get("warm_start")
    bound = "" if ceiling is None else "\n\n" + CEILING_NOTE + "\n\n" + sections.kb_ceiling_section(ceiling)
    bound += "\n\n" + WARM_CEILING_NOTE if bound and warm else ""
    if not curve:
        return "Not measured yet (`make bench-reason` records the curve)." + bound
    assert reason is not None
    optimised = reason["stages"]["optimised"]
    lines = [
        "Cumulative knowledge-base hit rate of the optimised engine as users are reasoned in order, starting from",
        "a knowledge base with no user's reasoning in it (same run as above), whole-chain and causal-edge hits apart:",
        "",
        "| users | steps looked up | chain hits | edge hits | misses | hit rate (chains + edges) | LLM calls "
        "| seconds |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {point['users']:,} | {_looked_up(point):,} | {point['kb_hits']:,} | {point.get('kb_edge_hits', 0):,} | "
            f"{point['kb_misses']:,} | {_hit_share(point):.1%} | {point['llm_calls']:,} | {point['seconds']:,.0f} |"
            for point in thinned(curve, 12)
        ),
        "",
        f"Second-half hit rate {sections.second_half_hits(optimised)} (target for chains and edges together "
        f"{sections.reason_target(reason, 'kb_hit_rate_second_half_at_least', '{:.0%}')})."
        + sections.warm_start_note(optimised),
        "",
        "![knowledge-base reuse](results/kb_reuse.png)",
    ]
    return "\n".join(lines) + bound


THROUGHPUT_NOTES = {
    "workers": "The queue's cost per task is small and fixed (publishing, the per-user lock, the task record "
    "writes, the result backend and the chord), so it matters only for tasks that are nearly free: it is measured "
    "against an instant scripted model and against one answering in 250 ms; a real reasoning task on the local "
    "model takes tens of seconds.\n\n",
}


def training_runs_section(reproduce: dict[str, Any] | None, pop: dict[str, Any] | None = None) -> str:
    if reproduce is None:
        return "No reproduction run yet (`python -m bench.reproduce`)."
    curves = [
        f"![{dataset}: validation NDCG@10 by epoch, each run against the most-popular baseline]"
        f"(results/{curves_plot(dataset)})"
        for dataset in sorted({run["dataset"] for run in reproduce["runs"]})
    ]
    return "\n\n".join([sections.reproduce_section(reproduce, pop), *curves])


def curves_plot(dataset: str) -> str:
    return f"training-{dataset}.png"


def plot_training_curves(histories: list[dict[str, Any]], pop: dict[str, Any], path: Path) -> None:
    """Validation NDCG@10 by epoch of each published run of one dataset (`bench/results/reproduce/`), its best
    epoch marked, beside the most-popular baseline's level: a run whose curve stays on that line has not
    trained, and runs that differ in their graphs alone can be read epoch by epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7.5, 4.0))
    for run in histories:
        epochs = [entry["epoch"] for entry in run["history"]]
        values = [entry["valid"]["ndcg@10"] for entry in run["history"]]
        (line,) = axis.plot(epochs, values, linewidth=1.0, label=f"{run['model']} {variant_label(run)} s{run['seed']}")
        best = run["best_epoch"]
        axis.plot([best], [values[epochs.index(best)]], marker="o", markersize=3, color=line.get_color())
    if histories:
        level = pop.get(histories[0]["dataset"], {}).get(ranking_key(histories[0]["config"]["exclude_history"]))
        if level is not None:
            axis.axhline(level["valid"]["ndcg@10"], linestyle="--", color="grey", label="most popular (POP)")
    axis.set_xlabel("epoch")
    axis.set_ylabel("valid NDCG@10")
    axis.legend(fontsize=6, ncol=2)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def published_histories() -> dict[str, list[dict[str, Any]]]:
    """Each published run's result (`bench/results/reproduce/*.json`) grouped by dataset, for the curves."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for path in sorted((RESULTS / "reproduce").glob("*.json")):
        run = json.loads(path.read_text(encoding="utf-8"))
        if run.get("history"):
            run["protocol"] = protocol_label(run["config"], run["dataset"])
            grouped.setdefault(run["dataset"], []).append(run)
    return grouped


def train_speed_section(result: dict[str, Any] | None) -> str:
    if result is None:
        return "Not measured yet (`make bench-train`)."
    return (
        sections.train_speed_section(result)
        + "\n\n![Seconds per epoch, windows and prefix rows](results/train_speed.png)"
    )


def plot_train_speed(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = {(run["dataset"], run["model"], run["scheme"]): run for run in result["runs"]}
    pairs = sorted({(run["dataset"], run["model"]) for run in result["runs"]})
    figure, axis = plt.subplots(figsize=(max(5.0, 0.9 * len(pairs)), 3.2))
    positions = range(len(pairs))
    for offset, scheme, label in ((-0.2, "windows", "windows"), (0.2, "prefix", "prefix rows (extrapolated)")):
        axis.bar(
            [p + offset for p in positions],
            [
                runs[(dataset, model, scheme)]["epoch_s"] if (dataset, model, scheme) in runs else 0
                for dataset, model in pairs
            ],
            0.4,
            label=label,
        )
    axis.set_yscale("log")
    axis.set_xticks(list(positions), [f"{model}\n{dataset}" for dataset, model in pairs], fontsize=7)
    axis.set_ylabel("seconds per epoch")
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def verify_batching_section(result: dict[str, Any] | None) -> str:
    if result is None:
        return "Not measured yet (`make bench-verify`)."
    return sections.verify_batching_section(result)


def quality_section(result: dict[str, Any] | None) -> str:
    if result is None or not result["rows"]:
        return "Not measured yet (`make bench-quality`)."
    plot_quality(result, PLOTS / "quality.png")
    return sections.quality_section(result) + "\n\n![Acceptance of real and placebo chains](results/quality.png)"


def plot_quality(result: dict[str, Any], path: Path) -> None:
    """Acceptance rate of each chain set with its 95% interval, one group per (model, dataset, verifier)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["rows"]
    figure, axis = plt.subplots(figsize=(max(5.0, 1.4 * len(rows)), 3.4))
    for offset, name, label in (
        (-0.25, "real", "LLM's chains"),
        (0, "random_premises", "random premises"),
        (0.25, "shuffled", "shuffled"),
    ):
        rates = [row["rates"][name] for row in rows]
        axis.bar(
            [index + offset for index in range(len(rows))],
            [found["rate"] for found in rates],
            0.25,
            yerr=[
                [found["rate"] - found["ci95"][0] for found in rates],
                [found["ci95"][1] - found["rate"] for found in rates],
            ],
            capsize=2,
            label=label,
        )
    axis.set_xticks(
        list(range(len(rows))),
        [
            f"{row['verifier']} {row.get('prompt_version', 'v3')}\n{row['model'].removeprefix('qwen2.5-coder-')} "
            f"{row['dataset']}"
            for row in rows
        ],
        fontsize=7,
    )
    axis.set_ylabel("verified (score >= τ)")
    axis.set_ylim(0, 1)
    axis.legend(fontsize=7)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def warm_sections() -> str:
    """Every dataset's warm start (`bench/results/kb_warm-<dataset>.json`), each with its plot."""
    parts = []
    for path in sorted(RESULTS.glob("kb_warm-*.json")):
        result = json.loads(path.read_text(encoding="utf-8"))
        if not result.get("curve"):
            continue
        dataset = path.stem.removeprefix("kb_warm-")
        plot_warm(result, PLOTS / f"{path.stem}.png")
        parts.append(
            f"### {dataset}\n\n{sections.warm_section(result)}\n\n"
            f"![{dataset}: coverage against LLM calls; real and placebo pairs](results/{path.stem}.png)"
        )
    return "\n\n".join(parts) or "Not measured yet (`python -m bench.kb_build --warm-pairs N`)."


def plot_warm(result: dict[str, Any], path: Path) -> None:
    """Left: the share of steps and of test targets the verified edges cover, against LLM calls. Right: real
    and placebo pairs verified, and each mask recovered, with 95% intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (coverage, rates) = plt.subplots(1, 2, figsize=(9.5, 3.4))
    calls = [point["llm_calls"] for point in result["curve"]]
    coverage.plot(calls, [point["share"] for point in result["curve"]], marker=".", label="training steps")
    coverage.plot(calls, [point["test_share"] for point in result["curve"]], marker=".", label="test targets")
    coverage.axhline(result["ceiling"]["share"], linestyle="--", color="grey", label="ceiling (every pair held)")
    coverage.set_xlabel("LLM calls")
    coverage.set_ylabel("covered by a verified edge")
    coverage.legend(fontsize=7)
    groups = [("verified", result["accepted"])] + [(kind, found) for kind, found in result["masks"].items()]
    for offset, side in ((-0.2, "real"), (0.2, "placebo")):
        found = [group[side] for _, group in groups]
        rates.bar(
            [index + offset for index in range(len(groups))],
            [entry["rate"] for entry in found],
            0.4,
            yerr=[[e["rate"] - e["ci95"][0] for e in found], [e["ci95"][1] - e["rate"] for e in found]],
            capsize=2,
            label=f"{side} pairs",
        )
    rates.set_xticks(list(range(len(groups))), [name for name, _ in groups], fontsize=8)
    rates.set_ylim(0, 1)
    rates.legend(fontsize=7)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def throughput_section() -> str:
    parts = []
    for name, title, render in (
        ("ingest", "Ingestion", sections.ingest_section),
        ("export", "Export to PyG", sections.export_section),
        ("workers", "Celery workers", sections.workers_section),
        ("scale", "A whole dataset through faults", sections.scale_section),
    ):
        result = load(name)
        body = (THROUGHPUT_NOTES.get(name, "") + render(result).replace("](bench/", "](../bench/")) if result else ""
        parts.append(f"### {title}\n\n{body or 'Not measured yet.'}")
    latency = sections.recommend_results()
    parts.append(
        "### Recommendation latency\n\n" + (sections.recommend_section(latency) if latency else "Not measured yet.")
    )
    return "\n\n".join(parts)


def plot_accuracy(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [row for row in rows if row["ours"] or row["paper"]]
    labels = [f"{dataset}\n{model}\n{variant}" for dataset, model, variant in (row["key"] for row in shown)]
    figure, axis = plt.subplots(figsize=(max(7.0, 0.75 * len(shown)), 3.6))
    positions = range(len(shown))
    axis.bar([p - 0.2 for p in positions], [row["ours"]["ndcg@10"] if row["ours"] else 0 for row in shown], 0.4,
             label="ours")  # fmt: skip
    axis.bar([p + 0.2 for p in positions], [row["paper"]["ndcg@10"] if row["paper"] else 0 for row in shown], 0.4,
             label="paper", alpha=0.6)  # fmt: skip
    axis.set_xticks(list(positions), labels, fontsize=6)
    axis.set_ylabel("test NDCG@10")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def recbole_section(recbole: dict[str, Any] | None) -> str:
    if recbole is None:
        return "Not measured yet (`make bench-recbole`)."
    return sections.recbole_section(recbole) + "\n\n![Seconds per epoch, ours and RecBole's](results/recbole.png)"


def ablation_section(ablations: list[dict[str, Any]]) -> str:
    if not ablations:
        return "Not measured yet (`python -m bench.ablation`)."
    return "\n\n".join(
        sections.ablation_section(ablation)
        + f"\n\n![DuoRec's variants on the {ablation['dataset']} users with reasoning graphs]"
        f"(results/{ablation_plot(ablation)})"
        for ablation in ablations
    )


def ablation_plot(ablation: dict[str, Any]) -> str:
    return f"ablation-{ablation['dataset']}.png"


def plot_ablation(ablation: dict[str, Any], path: Path) -> None:
    """HR@10 and NDCG@10 per variant, HR@10 with its 95% Wilson interval (the noise a difference must clear)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = list(ablation["summary"].values())
    figure, (hr, ndcg) = plt.subplots(1, 2, figsize=(9, 3.4))
    labels = [entry["label"].removeprefix("+ ") for entry in entries]
    rates = [entry["mean"]["hr@10"] for entry in entries]
    intervals = [wilson_interval(rate, ablation["graphs"]["users"]) for rate in rates]
    below = [max(0.0, rate - low) for rate, (low, _) in zip(rates, intervals, strict=True)]
    above = [max(0.0, high - rate) for rate, (_, high) in zip(rates, intervals, strict=True)]
    hr.bar(labels, rates, yerr=[below, above], capsize=3)
    hr.set_ylabel(f"test HR@10 ({ablation['graphs']['users']} users)")
    ndcg.bar(labels, [e["mean"]["ndcg@10"] for e in entries], color="tab:orange")
    ndcg.set_ylabel("test NDCG@10")
    for axis in (hr, ndcg):
        axis.set_ylim(bottom=0)
        plt.setp(axis.get_xticklabels(), rotation=30, ha="right", fontsize=8)
    figure.suptitle(f"DuoRec ablation on {ablation['dataset']}", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def plot_recbole(recbole: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    compared = [comparison for comparison in recbole["comparisons"] if comparison["recbole_epoch_s"] is not None]
    figure, axis = plt.subplots(figsize=(max(4.0, 1.6 * len(compared)), 3))
    positions = range(len(compared))
    axis.bar([p - 0.2 for p in positions], [c["llmrg_epoch_s"] for c in compared], 0.4, label="ours")
    axis.bar([p + 0.2 for p in positions], [c["recbole_epoch_s"] for c in compared], 0.4, label="RecBole", alpha=0.7)
    axis.set_xticks(list(positions), [c["model"] for c in compared])
    axis.set_ylabel(f"seconds per epoch ({recbole['dataset']})")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def readout_section(result: dict[str, Any] | None) -> str:
    if result is None:
        return "Not measured yet (`make bench-readout`)."
    return sections.readout_section(result) + "\n\n![Seconds per training step by readout](results/readout.png)"


def plot_readout(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = result["runs"]
    figure, axis = plt.subplots(figsize=(max(5.0, 2.2 * len(runs)), 3.2))
    positions = range(len(runs))
    for offset, mode, label in (
        (-0.27, "baseline", "baseline (eager, every node)"),
        (0.0, "now", "now (fused, node classes)"),
        (0.27, "base", "base alone"),
    ):
        axis.bar([p + offset for p in positions], [run["step_s"][mode] for run in runs], 0.27, label=label)
    axis.set_xticks(list(positions), [f"{run['dataset']} {run['variant']}" for run in runs])
    axis.set_ylabel(f"seconds per training step ({result['settings']['model']})")
    tallest = max(run["step_s"][mode] for run in runs for mode in ("baseline", "now", "base"))
    axis.set_ylim(0, tallest * 1.45)  # room above the bars for the legend
    axis.legend(loc="upper right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def plot_cost(reason: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stages = reason["stages"]
    figure, (calls, tokens) = plt.subplots(1, 2, figsize=(7, 3))
    calls.bar(list(stages), [stage["llm_calls_per_user"] for stage in stages.values()])
    calls.set_ylabel("LLM calls per user")
    tokens.bar(list(stages), [stage["prompt_tokens_per_user"] for stage in stages.values()], label="prompt")
    tokens.bar(
        list(stages),
        [stage["completion_tokens_per_user"] for stage in stages.values()],
        bottom=[stage["prompt_tokens_per_user"] for stage in stages.values()],
        label="completion",
    )
    tokens.set_ylabel("tokens per user")
    tokens.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def thinned(points: list[dict[str, Any]], most: int) -> list[dict[str, Any]]:
    """At most `most` evenly spaced points, the last always among them (a 1,000-user run has 100 chunks)."""
    if len(points) <= most:
        return points
    step = -(-len(points) // most)
    return [point for index, point in enumerate(points) if index % step == step - 1 or index == len(points) - 1]


def _looked_up(point: dict[str, Any]) -> int:
    return int(point["kb_hits"] + point.get("kb_edge_hits", 0) + point["kb_misses"])


def _hit_share(point: dict[str, Any], kinds: tuple[str, ...] = ("kb_hit_rate", "kb_edge_hit_rate")) -> float:
    """The point's cumulative hit rate over `kinds`, as `bench.reason` recorded it (curves from before edges were
    counted have no edge rate)."""
    return sum(point.get(kind) or 0.0 for kind in kinds)


def plot_reuse(curve: list[dict[str, Any]], path: Path) -> None:
    """Cumulative hit rate against the steps looked up: whole chains, causal edges and both together."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 3))
    steps = [_looked_up(point) for point in curve]
    for kinds, label in (
        (("kb_hit_rate", "kb_edge_hit_rate"), "chains + edges"),
        (("kb_hit_rate",), "whole chains"),
        (("kb_edge_hit_rate",), "causal edges"),
    ):
        axis.plot(
            steps,
            [100 * _hit_share(point, kinds) for point in curve],
            marker="." if len(curve) > 30 else "o",
            label=label,
        )
    axis.set_xlabel("steps looked up (users in order)")
    axis.set_ylabel("cumulative KB hit rate (%)")
    axis.set_ylim(bottom=0)
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


TRAINING_RUNS_NOTE = (
    "Each run below trains to early stopping (patience 10 on valid NDCG@10, at most 200 epochs) on per-user windows "
    "(the windows scheme). Seconds per epoch include full-ranking validation; they depend on the CPU "
    "named per run and on whether another run shared its two cores, as several of these did."
)
ABLATION_NOTE = (
    "The paper's ablation (`make bench-ablation`, `python -m bench.ablation`) reasons for the first users of a "
    "dataset with the local model, then trains DuoRec in each variant on every user (reasoning graphs where they "
    "exist) and scores it on the users that have reasoning graphs, each LLMRG variant against the base on the same "
    'users (`--train-users reasoned` trains on those users alone). "w/o verification" uses the same reasoning run '
    "and also admits the chains verification rejected."
)
REASON_NOTE = (
    "`make bench-reason` runs the reasoning benchmark (`bench/reason.py`: the naive procedure against the optimised "
    "engine on the same users and model). At full size it takes hours on a small machine, so it reasons in chunks "
    "of 10 users and records each finished chunk in a journal (`bench/results/reason-run/ml-1m.json`, committed "
    "with the knowledge base the optimised stage exports beside it after every chunk): rerunning the same command "
    "carries a stopped run on, on another machine too, and "
    '`make bench-reason BENCH_REASON_ARGS="--max-minutes 90"` stops '
    "cleanly between chunks. Both procedures verify one question per call, so the optimised engine saves calls "
    "only in chaining (one call per window of steps instead of one per step) and in knowledge-base hits; with the "
    "local server's prompt cache a call's cost is the prompt tokens the server computed and the tokens it "
    "generated, which the table shows beside the tokens sent."
)


def main() -> None:
    reproduce, reason, demo, recbole = load("reproduce"), load("reason"), load("demo"), load("recbole")
    pop = (load("popularity") or {}).get("datasets", {})
    ablations = sections.ablation_results()
    PLOTS.mkdir(parents=True, exist_ok=True)
    for ablation in ablations:
        plot_ablation(ablation, PLOTS / ablation_plot(ablation))
    if recbole:
        plot_recbole(recbole, PLOTS / "recbole.png")
    if (speed := load("train_speed")) is not None:
        plot_train_speed(speed, PLOTS / "train_speed.png")
    if (readout := load("readout")) is not None:
        plot_readout(readout, PLOTS / "readout.png")
    plot_accuracy(accuracy_rows(reproduce), PLOTS / "accuracy.png")
    for dataset, histories in published_histories().items():
        plot_training_curves(histories, pop, PLOTS / curves_plot(dataset))
    if reason:
        plot_cost(reason, PLOTS / "cost.png")
        if reason["stages"].get("optimised", {}).get("kb_curve"):
            plot_reuse(reason["stages"]["optimised"]["kb_curve"], PLOTS / "kb_reuse.png")
    text = "\n\n".join(
        [
            "# Results",
            "Generated by `make results` from `bench/results/*.json`; edit the benchmarks, not this file. Every "
            "figure says which machine and commit produced it.",
            "## Accuracy against the paper",
            accuracy_section(reproduce, pop),
            "## Training runs",
            TRAINING_RUNS_NOTE,
            training_runs_section(reproduce, pop),
            "## Ablation",
            ABLATION_NOTE,
            ablation_section(ablations),
            "## Training speed: windows against prefix rows",
            train_speed_section(load("train_speed")),
            "## SR-GNN in training: fused readout and shared node states",
            "The graph variants read SR-GNN's attention out at every position of a training window over the nodes its "
            "graph holds by then; `gnn/models/fused_readout.py` computes those (position, node) pairs in C++ kernels "
            "built on first use (the eager PyTorch code stays where no compiler is found), and a node's state is "
            "computed once for all the graph versions that hold it with the same neighbours "
            "(`gnn.models.srgnn.one_step_classes`):",
            readout_section(load("readout")),
            "## Speed and memory against RecBole",
            "`make bench-recbole` installs RecBole (the `recbole` extra) and trains our implementation and RecBole's "
            "of each model it shares with us on the same exported data, in the same run:",
            recbole_section(recbole),
            "## The main job (`make demo`)",
            demo_section(demo),
            "## LLM cost per user",
            REASON_NOTE,
            cost_section(reason),
            "## Does verification tell real chains from placebo?",
            quality_section(load("quality")),
            "## Verification batching",
            "One question per call against many per call, on the same proposed chains (`make bench-verify`); how "
            "verification batches is in [REASONING.md](REASONING.md).",
            verify_batching_section(load("verify_batching")),
            "## Knowledge-base reuse",
            reuse_section(reason, load("kb_ceiling")),
            "## Item-pair warm start",
            warm_sections(),
            "## Throughput",
            throughput_section(),
        ]
    )
    DOCUMENT.parent.mkdir(parents=True, exist_ok=True)
    DOCUMENT.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {DOCUMENT} and the plots in {PLOTS}")


if __name__ == "__main__":
    main()
