# Two commands on a fresh machine: `make demo` and `make test`. Both are idempotent.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test up down status doctor bench bench-train bench-readout bench-reason bench-quality bench-verify bench-workers bench-recbole bench-ablation bench-demo bench-scale kb-release results lint typecheck system-deps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

system-deps:
	@bash scripts/system-deps.sh

## The main job on a small default: start the services, load ML-1M, show counts and the Browser URL.
demo: system-deps $(STAMP)
	$(BIN)/llmrg demo

## The test suite: starts its own Neo4j and Redis (separate ports and state, so demo data is untouched).
test: $(STAMP)
	@bash scripts/system-deps.sh --browser
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

up: system-deps $(STAMP)
	$(BIN)/llmrg up

down: $(STAMP)
	$(BIN)/llmrg down

status: $(STAMP)
	$(BIN)/llmrg status

doctor: $(STAMP)
	$(BIN)/llmrg doctor

## Benchmarks: print tables, write bench/results/*.json and plots, regenerate the README figures.
bench: system-deps $(STAMP)
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.export
	$(BIN)/python -m bench.kb_ceiling
	$(BIN)/python -m bench.popularity
	$(BIN)/python -m reports

## Seconds per epoch and peak RSS of every base model, training windows against prefix rows (ML-1M and Beauty).
bench-train: system-deps $(STAMP)
	$(BIN)/python -m bench.train_speed $(BENCH_TRAIN_ARGS)
	$(BIN)/python -m reports

## SR-GNN's readout in training: the fused kernels against the eager code, same batches (minutes).
bench-readout: system-deps $(STAMP)
	$(BIN)/python -m bench.readout $(BENCH_READOUT_ARGS)
	$(BIN)/python -m reports

## The reasoning benchmark (naive vs optimised engine with the local LLM); hours on 2 cores at full size.
bench-reason: system-deps $(STAMP)
	$(BIN)/python -m bench.reason $(BENCH_REASON_ARGS)

## Does the verifier tell the LLM's chains from placebo chains? Each packaged model and verifier (local LLM; hours).
bench-quality: system-deps $(STAMP)
	$(BIN)/python -m bench.quality $(BENCH_QUALITY_ARGS)
	$(BIN)/python -m reports

## Verification one question per call against batched questions, on the same chains (local LLM; minutes).
bench-verify: system-deps $(STAMP)
	$(BIN)/python -m bench.verify_batching $(BENCH_VERIFY_ARGS)

## The workers benchmark: queue overhead vs in-process (scripted model), 1 vs 2 workers on the local LLM.
bench-workers: system-deps $(STAMP)
	$(BIN)/python -m bench.workers $(BENCH_WORKERS_ARGS)

## Every ML-1M user on two workers through a SIGKILLed worker and Neo4j and Redis restarts, against a clean run.
bench-scale: system-deps $(STAMP)
	$(BIN)/python -m bench.scale $(BENCH_SCALE_ARGS)

## Build the released knowledge base in data/kb/ (local LLM; hours; carries on where it stopped).
kb-release: system-deps $(STAMP)
	$(BIN)/python -m bench.kb_build --out data/kb $(KB_RELEASE_ARGS)

## Our base models against RecBole's (installs the `recbole` extra): seconds per epoch, peak memory, accuracy.
bench-recbole: system-deps $(STAMP)
	$(BIN)/pip install -q -e '.[recbole]'
	$(BIN)/python -m bench.recbole $(BENCH_RECBOLE_ARGS)

## The paper's ablation: reason for the first users (local LLM), then DuoRec in each variant on them; hours here.
bench-ablation: system-deps $(STAMP)
	$(BIN)/python -m bench.ablation $(BENCH_ABLATION_ARGS)

## How long the main job takes (`llmrg demo`), step by step; writes bench/results/demo.json.
bench-demo: system-deps $(STAMP)
	$(BIN)/python -m bench.demo $(BENCH_DEMO_ARGS)

## docs/RESULTS.md and its plots, from bench/results/*.json (no benchmark reruns).
results: $(STAMP)
	$(BIN)/python -m reports

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy
