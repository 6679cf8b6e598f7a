"""docs/RESULTS.md is rendered from benchmark JSON only: our runs beside the paper's, the reuse curve, the
demo's steps, and a plain "not measured yet" where a benchmark has not run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.machine import one_line
from bench.paper import VARIANT_LABELS
from bench.statistics import mcnemar_exact
from reports import results_doc, sections

pytestmark = pytest.mark.unit

MACHINE = {"cpu": "Test CPU", "cores": 2, "memory_gib": 8.0, "os": "Linux", "python": "3.11", "commit": "abc1234"}
METRICS = {"hr@5": 0.1, "hr@10": 0.2, "ndcg@5": 0.05, "ndcg@10": 0.08}


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "results"
    folder.mkdir()
    for module in (results_doc, sections):
        monkeypatch.setattr(module, "RESULTS", folder)
    monkeypatch.setattr(results_doc, "DOCUMENT", tmp_path / "docs" / "RESULTS.md")
    monkeypatch.setattr(results_doc, "PLOTS", tmp_path / "docs" / "results")
    return folder


def write(folder: Path, name: str, payload: dict[str, object]) -> None:
    (folder / f"{name}.json").write_text(json.dumps(payload), encoding="utf-8")


def test_our_runs_sit_beside_the_papers_and_seeds_are_averaged(results: Path) -> None:
    runs = [
        {"dataset": "beauty", "model": "duorec", "variant": "base", "test": METRICS},
        {"dataset": "beauty", "model": "duorec", "variant": "base", "test": {k: v * 2 for k, v in METRICS.items()}},
        {"dataset": "beauty", "model": "duorec", "variant": "base", "test": METRICS, "protocol": "prefix rows"},
    ]
    reproduce = {"runs": runs, "protocol": {"epochs": 3, "max_train_rows": None, "seeds": "0,1"}}
    rows = {row["key"]: row for row in results_doc.accuracy_rows(reproduce)}
    duorec = rows[("beauty", "duorec", "base")]
    # two seeds under the reference protocol; the prefix-rows run is not averaged in
    assert duorec["seeds"] == 2 and duorec["ours"] == pytest.approx({k: 1.5 * v for k, v in METRICS.items()})
    assert duorec["paper"]["ndcg@10"] == 0.0447
    assert rows[("ml-1m", "duorec", "llmrg")]["ours"] is None and rows[("ml-1m", "duorec", "llmrg")]["seeds"] == 0


def test_the_reproduction_names_every_paper_model_it_has_no_run_for() -> None:
    run = {
        "dataset": "beauty",
        "model": "duorec",
        "variant": "base",
        "test": METRICS,
        "paper": None,
        "epochs_run": 3,
        "epoch_s": 10.0,
        "peak_memory_mb": 100.0,
    }
    result = {
        "machine": MACHINE,
        "protocol": {"epochs": 3, "max_train_rows": None, "seeds": "0"},
        "not_run": ["beauty/sasrec"],
        "runs": [run],
    }
    missing = sections.unreproduced(result)
    assert "beauty/duorec" not in missing and "beauty/sasrec" in missing  # asked for and not run
    assert {f"ml-1m/{model}" for model in ("bert4rec", "cl4srec", "duorec", "fdsa")} <= set(missing)  # never asked
    assert "Not run yet: beauty/bert4rec, " in sections.reproduce_section(result)


def test_the_document_renders_what_ran_and_says_what_did_not(results: Path) -> None:
    curve = [
        {"users": 5, "kb_hits": 0, "kb_misses": 20, "kb_hit_rate": 0.0, "llm_calls": 10, "seconds": 50.0},
        {
            "users": 10,
            "kb_hits": 5,
            "kb_edge_hits": 3,
            "kb_misses": 32,
            "kb_hit_rate": 0.125,
            "kb_edge_hit_rate": 0.075,
            "llm_calls": 18,
            "seconds": 90.0,
        },
    ]
    stage = {
        "users": 10,
        "llm_calls_per_user": 1.8,
        "prompt_tokens_per_user": 2000.0,
        "completion_tokens_per_user": 300.0,
        "users_per_hour": 400.0,
        "kb_hit_rate_second_half": 0.25,
        "kb_edge_hit_rate_second_half": 0.1,
        "server_prompt_tokens_computed_per_user": 900.0,
        "common_users_verified_rate": 0.5,
    }
    write(
        results,
        "reason",
        {
            "model": "tiny-model",
            "machine": MACHINE,
            "settings": {"reason_max_targets": 4, "history_length": 20},
            "stages": {"naive": stage | {"llm_calls_per_user": 18.0}, "optimised": stage | {"kb_curve": curve}},
            "calls_per_user_ratio": 10.0,
            "previous_run": {
                "commit": "abc1234",
                "users": 200,
                "llm_calls_per_user": 11.9,
                "computed_prompt_tokens_per_user": 1991.0,
                "completion_tokens_per_user": 314.0,
                "users_per_hour": 170.2,
            },
            "targets": {
                "calls_per_user_ratio_at_least": 10.0,
                "kb_hit_rate_second_half_at_least": 0.3,
                "users_per_hour_at_least": 150.0,
            },
            "kb_ceiling": {
                "this_run": {"first_half": 0.02, "second_half": 0.075},
                "full_window": {"first_half": 0.16, "second_half": 0.34},
                "full_window_settings": {"history_length": 50},
            },
        },
    )
    results_doc.main()
    text = results_doc.DOCUMENT.read_text(encoding="utf-8")
    assert "| 10 | 40 | 5 | 3 | 32 | 20.0% | 18 | 90 |" in text  # chains and edges apart, both in the rate
    assert "the second half of the users 35.0% (25.0% whole chains, 10.0% causal edges)" in text
    assert (
        "against the run this one replaced (commit `abc1234`, 200 users): 1.8 LLM calls (was 11.9), 900 prompt "
        "tokens the server computed (was 1,991), 300 generated (was 314), 400 users per hour (was 170)." in text
    )
    assert "**10.0x** fewer calls" in text and "naive 50%, optimised 50%" in text
    assert "400.0 users per hour (target >= 150 when this ran; >= 300 now)" in text  # bench.reason.TARGETS moved
    assert "fewer calls per user than the naive procedure (target >= 10x)" in text
    assert "| LLM calls | 18.0 | 1.8 |" in text
    assert (
        "at most 7.5% of the second half's steps with these settings, and 34.0% reasoning over every position"
        " of a 50-item" in text
    )
    assert "## The main job (`make demo`)\n\nNot measured yet" in text
    recbole = text.split("## Speed and memory against RecBole\n\n", 1)[1].split("\n## ", 1)[0]
    assert recbole.endswith("same run:\n\nNot measured yet (`make bench-recbole`).\n")
    assert "| beauty | duorec | + LLMRG |  |  |  |  |  | 0.0617 | 0.0894 | 0.0382 | 0.0482 |" in text
    assert {path.name for path in results_doc.PLOTS.iterdir()} == {"accuracy.png", "cost.png", "kb_reuse.png"}


def test_the_recbole_comparison_names_slower_and_uncompared_models(results: Path) -> None:
    def run(model: str, implementation: str, epoch_s: float) -> dict[str, object]:
        return {"model": model, "implementation": implementation, "epoch_s": epoch_s, "peak_rss_mb": 1500.0,
                "test": METRICS}  # fmt: skip

    def comparison(model: str, ours: float, theirs: float | None, why: str | None = None) -> dict[str, object]:
        return {"model": model, "llmrg_epoch_s": ours, "recbole_epoch_s": theirs,
                "epoch_ratio": ours / theirs if theirs else None, "meets_target": ours <= theirs if theirs else None,
                "why_not_compared": why}  # fmt: skip

    write(
        results,
        "recbole",
        {
            "machine": MACHINE,
            "baseline": "RecBole 1.2.1",
            "target": "each of our models takes no longer per epoch than RecBole's implementation of it",
            "dataset": "beauty",
            "protocol": {"epochs": 2, "seed": 0},
            "runs": [
                run("sasrec", "llmrg", 60.0),
                run("sasrec", "recbole", 80.0),
                run("fdsa", "llmrg", 300.0),
                run("fdsa", "recbole", 200.0),
                run("duorec", "llmrg", 400.0),
            ],
            "comparisons": [
                comparison("sasrec", 60.0, 80.0),
                comparison("fdsa", 300.0, 200.0),
                comparison("duorec", 400.0, None, "RecBole 1.2.1 has no duorec model"),
            ],
        },
    )
    results_doc.main()
    text = results_doc.DOCUMENT.read_text(encoding="utf-8")
    assert "| sasrec | 60.0 | 80.0 | 0.75x | 1,500 | 1,500 | 0.2000 | 0.2000 | 0.0800 | 0.0800 |" in text
    assert "| duorec | 400.0 | - | - | 1,500 | - | 0.2000 | - | 0.0800 | - |" in text
    assert "Met for 1 of 2 compared models (slower: fdsa)." in text
    assert (
        "Not compared: duorec (RecBole 1.2.1 has no duorec model), cl4srec (RecBole 1.2.1 has no cl4srec model)."
        in text
    )
    assert (results_doc.PLOTS / "recbole.png").is_file()


def test_the_ablation_reports_seeds_noise_and_change_against_base(results: Path) -> None:
    from bench import ablation

    scale = {"base": 1.0, "seq": 1.1, "llmrg": 1.2, "llmrg-no-div": 1.0, "llmrg-no-verify": 0.9}
    runs = [
        {"variant": name, "seed": seed, "test": {k: v * factor * (1 + seed / 10) for k, v in METRICS.items()}}
        | {"epoch_s": 10.0}
        for name, factor in scale.items()
        for seed in (0, 1)
    ]
    summary = ablation.summarise(runs, test_users=100)
    assert list(summary) == list(ablation.VARIANTS)
    assert summary["base"]["mean"]["hr@10"] == pytest.approx(0.21) and summary["base"]["seeds"] == 2
    assert summary["base"]["std"]["hr@10"] == pytest.approx(0.02 / 2**0.5)
    assert summary["base"]["hr@10_standard_error"] == pytest.approx((0.21 * 0.79 / 100) ** 0.5)
    assert summary["base"]["hr@10_interval95"] == pytest.approx([0.1417, 0.2998], abs=1e-4)  # Wilson, by hand
    # 0 hits of 26 users: the standard error is 0, the interval still allows an HR@10 of up to 12.9%.
    assert sections.wilson_interval(0.0, 26) == pytest.approx((0.0, 0.1287), abs=1e-4)
    assert summary["llmrg"]["vs_base"]["ndcg@10"] == pytest.approx(0.2)
    assert summary["llmrg-no-verify"]["vs_base"]["hr@10"] == pytest.approx(-0.1)
    gains = ablation.paper_gains("beauty")
    assert gains["llmrg"]["hr@10"] == pytest.approx(0.0894 / 0.0839 - 1) and set(gains) == {"seq", "llmrg"}

    links = {"rea": 12, "div": 3}
    write(
        results,
        "ablation-beauty",
        {
            "dataset": "beauty",
            "machine": MACHINE,
            "llm": "qwen",
            "reasoning_settings": {
                "users_asked": 200,
                "max_targets": 4,
                "history_length": 20,
                "holdout": 1,
                "prompt_version": "v2",
                "tau": 30.0,
            },
            "graphs": {
                "users": 100,
                "users_reasoned": 180,
                "last_user_reasoned": 190,
                "chains_by_status": {"reasoning": {"verified": 30, "rejected": 90}, "divergent": {"verified": 3}},
                "chains": {"llmrg": links, "llmrg-no-verify": {"rea": 40, "div": 5}},
                "edges": {"llmrg": links, "llmrg-no-verify": links},
                "rows_seeing_edges": {
                    "llmrg": {"train": 1200, "valid": 80, "test": 90},
                    "llmrg-no-verify": {"train": 1500, "valid": 95, "test": 99},
                },
                "rows": {"train": 9000, "valid": 100, "test": 100},
            },
            "protocol": {"epochs": 5, "seeds": "0,1", "test_users": 100},
            "summary": summary,
            "paper_gains": gains,
        },
    )
    results_doc.main()
    document = results_doc.DOCUMENT.read_text(encoding="utf-8")
    section = document.split("## Ablation", 1)[1].split("##", 1)[0]
    assert "the 100 users (of the 180 reasoned for, ids up to 190) that hold a verified reasoning chain" in section
    assert "30 of 120 proposed reasoning chains verified (25%)" in section
    assert "last 4 position(s) of a 20-item window ending before each user's test item, τ = 30" in section
    assert "prompts v2 (an earlier prompt version: its verification batched a chain's masks" in section
    assert "LLMRG edge: 1,200 of 9,000 training, 80 of 100 validation, 90 of 100 test; without verification 1,500" in (
        section
    )
    assert "| + LLMRG | 0.1260 | 0.2520 | 0.177 to 0.345 |" in section
    assert "All the HR@10 intervals overlap: this run does not tell the variants apart." in section
    assert "| +20.0% | +20.0% | HR@10 +6.6%, NDCG@10 +7.8% |" in section
    assert "| + LLMRG w/o verification |" in section and "| -10.0% | -10.0% | - |" in section
    assert "trained and tested on the 100 users" in section and "hits gained / lost" not in section
    assert (results_doc.PLOTS / "ablation-beauty.png").is_file()


def test_the_exact_mcnemar_p_value_counts_only_the_users_one_model_hits() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 0) == pytest.approx(2 / 32)  # 5 of 5 discordant users one way
    assert mcnemar_exact(1, 4) == mcnemar_exact(4, 1) == pytest.approx(2 * 6 / 32)
    assert mcnemar_exact(10, 10) == 1.0


def test_the_ablation_trained_on_everyone_compares_each_variant_with_the_base_on_the_same_users(
    results: Path,
) -> None:
    from bench import ablation

    base_ranks = {1: 1, 2: 3, 3: 50, 4: 11, 5: 10, 6: 200}  # hits at 10: users 1, 2, 5
    llmrg_ranks = {1: 2, 2: 30, 3: 4, 4: 9, 5: 7, 6: 100}  # hits at 10: users 1, 3, 4, 5
    runs = [
        {
            "variant": name,
            "seed": 0,
            "test": METRICS,
            "epoch_s": 1.0,
            "test_ranks": ranks,
            "all_users": {"test": METRICS | {"hr@10": 0.07}},
        }
        for name, ranks in (("base", base_ranks), ("llmrg", llmrg_ranks))
    ]
    summary = ablation.summarise(runs, test_users=6)
    assert summary["base"]["paired_vs_base"] is None
    # llmrg alone hits users 3 and 4, the base alone user 2: 2 / 1, p = 2 * (1 + 3) / 8 = 1.
    [pair] = summary["llmrg"]["paired_vs_base"]
    assert {key: pair[key] for key in ("seed", "only_variant", "only_base", "p_value")} == {
        "seed": 0,
        "only_variant": 2,
        "only_base": 1,
        "p_value": 1.0,
    }
    assert summary["llmrg"]["all_users_hr@10"] == pytest.approx(0.07)
    other_users = [runs[0], runs[1] | {"test_ranks": {7: 1}}]
    with pytest.raises(ValueError, match="scored on other users than the base"):
        ablation.summarise(other_users, test_users=6)

    links = {"rea": 4, "div": 1}
    write(
        results,
        "ablation-beauty",
        {
            "dataset": "beauty",
            "machine": MACHINE,
            "llm": "qwen",
            "reasoning_settings": {"max_targets": 0, "history_length": 20, "holdout": 1, "prompt_version": "v2"}
            | {"tau": 30.0},
            "graphs": {
                "users": 6,
                "users_trained": 22363,
                "users_reasoned": 8,
                "last_user_reasoned": 9,
                "chains_by_status": {"reasoning": {"verified": 5, "rejected": 5}},
                "chains": {"llmrg": links, "llmrg-no-verify": links},
                "edges": {"llmrg": links, "llmrg-no-verify": links},
                "rows_seeing_edges": {
                    "llmrg": {"train": 3, "valid": 5, "test": 6},
                    "llmrg-no-verify": {"train": 3, "valid": 5, "test": 6},
                },
                "rows": {"train": 131413, "valid": 6, "test": 6},
            },
            "reasoning": {"users": 8, "wall_s": 800.0, "llm_calls": 44},
            "protocol": {"epochs": 3, "seeds": "0", "test_users": 6, "train_users": "all", "max_len": 50},
            "summary": summary,
            "paper_gains": {},
        },
    )
    write(results, "ablation-ml-1m", json.loads((results / "ablation-beauty.json").read_text()) | {"dataset": "ml-1m"})
    write(results, "ablation-beauty-reasoning", {"users": 8, "wall_s": 800.0, "llm_calls": 44})  # phase 1's file
    results_doc.main()
    document = results_doc.DOCUMENT.read_text(encoding="utf-8")
    section = document.split("## Ablation", 1)[1].split("\n## ", 1)[0]
    assert section.index("DuoRec on ml-1m") < section.index("DuoRec on beauty"), "ML-1M first, as in the paper"
    assert section.count("DuoRec on ") == 2, "the reasoning phase's file is no result of its own"
    assert "trained on all 22,363 users (reasoning graphs where they exist) and scored on the 6 users" in section
    assert "LLMRG edge: 3 of 131,413 training, 5 of 6 validation, 6 of 6 test" in section
    assert "(50%); the reasoning took 800 s for 8 users (100 s and 5.5 LLM calls per user). The graphs" in section
    assert "| 2 / 1 (p 1.00) | 0.0700 |" in section
    assert "No variant differs from the base at p < 0.05 on the same users." in section
    assert "raw numbers in `bench/results/ablation-beauty.json`" in section
    assert all((results_doc.PLOTS / f"ablation-{name}.png").is_file() for name in ("ml-1m", "beauty"))


def test_the_workers_section_reads_the_bottleneck_from_one_worker_and_says_busy_seconds_are_summed() -> None:
    def throughput(workers: int, busy: float) -> dict[str, object]:
        return {"workers": workers, "users_per_min": 2.0 + workers / 10, "llm_server_utilisation": busy}

    overhead = {"latency_ms": 0, "users": 30, "in_process_s_per_user": 0.2, "workers_s_per_user": 0.21,
                "overhead_s_per_user": 0.01, "overhead": 0.05}  # fmt: skip
    result = {
        "settings": {"reason_max_targets": 4},
        "machine": MACHINE,
        "model": "tiny-model",
        "overhead": {"0": overhead},
        "throughput": {"1": throughput(1, 0.98), "2": throughput(2, 1.87)},
        "speedup_2_vs_1_workers": 1.05,
        "bottleneck": "an older wording",
        "targets": {"overhead_below": 0.05},
    }
    text = sections.workers_section(result)
    assert "| 2 worker process(es): LLM server busy seconds per wall second (summed over its slots) | 187% |" in text
    assert "the bottleneck is the LLM server (busy 98% of the time with one worker; a second worker's" in text
    assert "older wording" not in text
    result["throughput"] = {"1": throughput(1, 0.5), "2": throughput(2, 0.9)}
    assert "the bottleneck is the workers (the LLM server is idle 50% of the time" in sections.workers_section(result)


def test_training_speed_sets_windows_beside_the_extrapolated_prefix_rows(results: Path) -> None:
    def run(model: str, scheme: str, epoch_s: float, extrapolated: bool) -> dict[str, object]:
        return {"dataset": "ml-1m", "model": model, "scheme": scheme, "epoch_s": epoch_s, "train_s": epoch_s - 5,
                "valid_s": 5.0, "extrapolated": extrapolated, "train_rows": 981491, "rows_run": 20000,
                "peak_rss_mib": 1416.0, "valid_ndcg@10": 0.0211}  # fmt: skip

    write(
        results,
        "train_speed",
        {
            "machine": MACHINE,
            "baseline": "prefix rows (one row per training target), sampled and extrapolated",
            "settings": {"prefix_rows": 20000},
            "runs": [run("sasrec", "windows", 79.3, False), run("sasrec", "prefix", 2900.0, True)],
            "targets": {"sasrec_ml1m_epoch_s_at_most": 90.0, "ml1m_peak_rss_mib_below": 4096.0},
            "met": {"sasrec_ml1m_epoch_s": True, "ml1m_peak_rss": True},
        },
    )
    results_doc.main()
    text = results_doc.DOCUMENT.read_text(encoding="utf-8")
    assert "| ml-1m | sasrec | 79.3 | 2,900 (extrapolated) | 36.6x | 1,416 MiB | 0.0211 |" in text
    assert "at most 90 s per epoch including validation (met: True)" in text
    assert (results_doc.PLOTS / "train_speed.png").is_file()


def test_the_readout_section_sets_now_beside_the_baseline_and_the_base(results: Path) -> None:
    run = {
        "dataset": "ml-1m", "variant": "seq", "model": "sasrec", "max_len": 200, "windows_per_batch": 128,
        "batches_run": 4, "epoch_batches": 48, "targets_run": 80000, "epoch_targets": 981491,
        "readout_pairs_run": 8_000_000, "step_s": {"baseline": 6.0, "now": 2.5, "base": 1.5},
        "epoch_train_s_extrapolated": {"baseline": 288.0, "now": 120.0, "base": 72.0}, "batch_build_s": 0.4,
        "speedup": 2.4, "graph_overhead_ratio": 4.5, "largest_loss_difference": 1e-7,
        "largest_gradient_difference": 3e-6, "largest_encoder_gradient_difference": 2e-5, "prepare_s": 20.0,
        "kernels": True,
    }  # fmt: skip
    write(
        results,
        "readout",
        {
            "machine": MACHINE,
            "baseline": "the eager PyTorch readout",
            "settings": {"batches": 4, "threads": 1, "seed": 0, "model": "sasrec"},
            "load_average_at_start": 2.1,
            "kernel_load_s": 0.2,
            "runs": [run],
        },
    )
    results_doc.main()
    text = results_doc.DOCUMENT.read_text(encoding="utf-8")
    label = VARIANT_LABELS["seq"]
    assert f"| ml-1m | {label} | 2,000,000 | 6.00 | 2.50 | 1.50 | 2.4x | 288 s | 120 s | 4.5x | 3e-06 / 2e-05 |" in text
    assert "load average 2.1 at the start" in text
    assert (results_doc.PLOTS / "readout.png").is_file()


def test_a_run_names_the_gpu_it_trained_on_and_a_cpu_run_its_cpu() -> None:
    machine = {"cpu": "AMD EPYC", "cores": 16, "memory_gib": 128.0, "python": "3.12.3", "gpu": "NVIDIA H200"}
    result = {"machine": MACHINE, "runs": []}
    assert sections.trained_on({"device": "cuda", "machine": machine}, result) == "NVIDIA H200"
    assert sections.trained_on({"device": "cpu", "machine": machine}, result) == "AMD EPYC"
    assert sections.trained_on({"device": "cpu"}, result) == MACHINE["cpu"]  # a run without one: the collector's
    assert one_line(machine) == "AMD EPYC, 16 cores, 128.0 GiB, GPU NVIDIA H200, Python 3.12.3"


def test_the_most_popular_baseline_heads_each_dataset_and_stalled_runs_are_named() -> None:
    from bench import reproduce as bench_reproduce

    pop = {
        "ml-1m": {
            ranking: {"valid": {**METRICS, "ndcg@10": 0.011}, "test": {**METRICS, "hr@10": 0.0217}}
            for ranking in ("history_kept", "history_excluded")
        }
    }
    learned = {"dataset": "ml-1m", "model": "sasrec", "variant": "base", "seed": 0, "exclude_history": False}
    stuck = learned | {"model": "bert4rec"}
    runs = [
        learned | {"valid": {**METRICS, "ndcg@10": 0.11}, "test": METRICS},
        stuck | {"valid": {**METRICS, "ndcg@10": 0.012}, "test": METRICS},
    ]
    assert [bench_reproduce.stalled(run, pop) for run in runs] == [False, True]
    assert bench_reproduce.stalled(runs[0] | {"dataset": "beauty"}, pop) is None  # no POP measured there
    protocol = {"epochs": 3, "max_train_rows": None, "seeds": "0"}
    document = results_doc.accuracy_section({"runs": runs, "machine": MACHINE, "protocol": protocol}, pop)
    lines = document.splitlines()
    first_ml_1m = next(index for index, line in enumerate(lines) if line.startswith("| ml-1m |"))
    assert lines[first_ml_1m] == "| ml-1m | most popular (POP) | - | | 0.1000 | 0.0217 | 0.0500 | 0.0800 | | | | |"
    assert sum("most popular (POP)" in line for line in lines) == 1
    assert bench_reproduce.stalled_runs(runs, pop) == "ml-1m bert4rec base seed 0"
    assert bench_reproduce.stalled_runs(runs, {}) == ""


def test_each_dataset_gets_its_training_curves_beside_the_popularity_level(results: Path, tmp_path: Path) -> None:
    config = {"model": "sasrec", "exclude_history": False, "train_scheme": "windows", "windows_per_batch": 128}
    run = {"dataset": "ml-1m", "model": "sasrec", "variant": "base", "seed": 0, "best_epoch": 2, "config": config}
    history = [{"epoch": epoch, "valid": {"ndcg@10": value}} for epoch, value in ((1, 0.01), (2, 0.05), (3, 0.04))]
    (results / "reproduce").mkdir()
    write(results / "reproduce", "ml-1m-sasrec-base-seed0", run | {"history": history})
    write(results / "reproduce", "ml-1m-sasrec-base-seed1", run | {"seed": 1, "history": []})  # not plotted
    grouped = results_doc.published_histories()
    assert list(grouped) == ["ml-1m"] and [found["seed"] for found in grouped["ml-1m"]] == [0]
    pop = {"ml-1m": {"history_kept": {"valid": {"ndcg@10": 0.011}}}}
    plot = tmp_path / "curves.png"
    results_doc.plot_training_curves(grouped["ml-1m"], pop, plot)
    assert plot.read_bytes().startswith(b"\x89PNG")
    reproduce = {
        "runs": [run | {"test": METRICS, "epochs_run": 3, "epoch_s": 1.0, "peak_memory_mb": 1.0}],
        "machine": MACHINE,
        "protocol": {"epochs": 3, "max_train_rows": None, "seeds": "0"},
    }
    assert "(results/training-ml-1m.png)" in results_doc.training_runs_section(reproduce, pop)


def test_the_reasoning_run_in_progress_is_shown_from_its_journal_until_it_finishes() -> None:
    """A run of many sessions shows what it has measured so far, per stage, with its pace by LLM threads; once
    its optimised stage has a result, the finished run's own section shows it instead."""
    settings = {
        "llm": {"model": "big"},
        "reasoning": {"prompt_version": "v4"},
        "verify": {"style": "lettered"},
    }
    stats = {key: 2 for key in ("users", "llm_calls", "prompt_tokens", "completion_tokens", "steps")} | {
        "kb_hits": 1,
        "kb_edge_hits": 2,
        "kb_misses": 5,
        "chains_verified": 3,
        "chains_rejected": 4,
        "chains_proposed": 7,
        "rejected_by_reason": {},
    }
    chunk = {"users": [1, 2], "stats": stats, "seconds": 720.0, "sitting": 1, "machine": "m", "commit": "c"}
    journal = {
        "fingerprint": {"users": 1000, "naive_users": 5, "settings": settings},
        "stages": {
            "naive": {"chunks": [chunk], "result": None},
            "optimised": {"chunks": [chunk | {"llm_threads": 1}], "result": None},
        },
    }
    text = sections.reason_run_section(journal, "bench/results/reason-run/ml-1m.json")
    assert "naive 2 of 5 users, optimised 2 of 1,000 users" in text
    assert "optimised: 10.0 with 1 LLM thread" in text and "naive: 10.0 (LLM threads not recorded)" in text
    assert "1 whole chains and 2 edges over 8 steps looked up." in text and "warm start" not in text
    warm = {"file": "data/kb/ml-1m.jsonl.gz", "pair_chains": 580, "edges": 580, "sha256": "f"}
    warm_stats = stats | {"kb_edge_hits_warm_start": 1}
    journal["stages"]["optimised"]["chunks"].append(chunk | {"users": [3, 4], "stats": warm_stats, "warm_start": warm})
    text = sections.reason_run_section(journal, "bench/results/reason-run/ml-1m.json")
    assert "2 whole chains and 4 edges (1 of them helped by the warm start's pairs) over 16 steps looked up" in text
    assert "From user 3 on, the knowledge base also held the released warm start (`llmrg kb warm`): 580" in text
    journal["stages"]["optimised"]["result"] = {"users": 1000}
    assert sections.reason_run_section(journal, "bench/results/reason-run/ml-1m.json") == ""
