"""The one settings object, nested by area.

Built once at the CLI (or worker) start and passed down; nothing deeper reads the environment. Each area
(`settings.neo4j`, `settings.llm`, `settings.reasoning`, ...) reads its own variables, so a function that
needs one area can be handed that area alone, and a reader finds a knob next to its neighbours. The
variable names are flat and stable: the standard Neo4j and Redis variables (`NEO4J_URI`,
`NEO4J_USERNAME`, `NEO4J_PASSWORD`, `NEO4J_DATABASE`, `REDIS_URL`) are honoured as-is, so the same shell
works for this project, langchain-neo4j and the Neo4j tools; everything project-specific is `LLMRG_*`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import ConfigError

T = TypeVar("T")
_CHECKOUT_DIR = Path(__file__).resolve().parents[1]
ENV_FILE = Path(".env")
"""Read from the working directory, as pydantic-settings does."""


def _default_state_dir() -> Path:
    """A checkout keeps its services' state beside the code (git-ignored); an installed copy uses XDG."""
    if (_CHECKOUT_DIR / "pyproject.toml").is_file():
        return _CHECKOUT_DIR / ".llmrg"
    data_home = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return data_home / "llmrg"


def _default_cache_dir() -> Path:
    """Downloads and the assembled Neo4j jars outlive any one clone, so they sit in the user cache."""
    cache_home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache_home / "llmrg"


def _default_data_dir() -> Path | None:
    """The project's offline dataset copies, when this checkout sits beside a `shared/` folder."""
    shared = _CHECKOUT_DIR.parent / "shared" / "datasets"
    return shared if shared.is_dir() else None


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


DEFAULT_MAX_LEN = {"ml-1m": 200, "ml-1m-all": 200, "beauty": 50, "*": 50}
"""The longest input sequence per dataset when LLMRG_TRAIN_MAX_LEN is unset: the reference protocol's."""


def for_dataset(table: Mapping[str, T], dataset: str) -> T:
    """A per-dataset setting: the dataset's own entry, else the '*' default."""
    return table[dataset] if dataset in table else table["*"]


def _port_of(url: str, *, default: int) -> int:
    try:
        port = urlsplit(url).port
    except ValueError as exc:
        raise ConfigError(f"invalid port in {url!r}: {exc}") from None
    return port if port is not None else default


class Area(BaseSettings):
    """One area's variables, read from the environment and an optional `.env` file."""

    model_config = SettingsConfigDict(
        env_file=ENV_FILE, env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )


class PathSettings(Area):
    state_dir: Path = Field(default_factory=_default_state_dir, validation_alias=_env("LLMRG_STATE_DIR"))
    cache_dir: Path = Field(default_factory=_default_cache_dir, validation_alias=_env("LLMRG_CACHE_DIR"))
    data_dir: Path | None = Field(default_factory=_default_data_dir, validation_alias=_env("LLMRG_DATA_DIR"))

    @field_validator("state_dir", "cache_dir", "data_dir")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return value.expanduser().resolve() if value is not None else None


class Neo4jSettings(Area):
    uri: str = Field("bolt://127.0.0.1:7687", validation_alias=_env("NEO4J_URI", "LLMRG_NEO4J_URI"))
    username: str = Field("neo4j", validation_alias=_env("NEO4J_USERNAME", "LLMRG_NEO4J_USERNAME"))
    password: SecretStr | None = Field(
        None,
        validation_alias=_env("NEO4J_PASSWORD", "LLMRG_NEO4J_PASSWORD"),
        description="Unset for the local server: its generated password is read from the state folder.",
    )
    database: str = Field("neo4j", validation_alias=_env("NEO4J_DATABASE", "LLMRG_NEO4J_DATABASE"))
    http_port: int = Field(7474, validation_alias=_env("LLMRG_NEO4J_HTTP_PORT"))
    query_timeout_s: float = Field(900.0, validation_alias=_env("LLMRG_NEO4J_QUERY_TIMEOUT_S"))
    connect_timeout_s: float = Field(10.0, validation_alias=_env("LLMRG_NEO4J_CONNECT_TIMEOUT_S"))
    retry_time_s: float = Field(
        30.0,
        gt=0,
        validation_alias=_env("LLMRG_NEO4J_RETRY_TIME_S"),
        description="How long the driver retries a transaction while the database is unreachable or busy (its "
        "max_transaction_retry_time). A worker must give up sooner than its task's soft time limit, so a Neo4j "
        "restart fails an attempt, which is retried, instead of timing the task out, which is dead-lettered.",
    )
    heap: str = Field("2g", validation_alias=_env("LLMRG_NEO4J_HEAP"))
    pagecache: str = Field("1g", validation_alias=_env("LLMRG_NEO4J_PAGECACHE"))
    start_timeout_s: float = Field(180.0, validation_alias=_env("LLMRG_NEO4J_START_TIMEOUT_S"))

    @property
    def bolt_port(self) -> int:
        return _port_of(self.uri, default=7687)

    @property
    def browser_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/browser/"


class RedisSettings(Area):
    url: str = Field("redis://127.0.0.1:6379/0", validation_alias=_env("REDIS_URL", "LLMRG_REDIS_URL"))

    @property
    def port(self) -> int:
        return _port_of(self.url, default=6379)


class IngestSettings(Area):
    ml1m_url: str = Field(
        "https://files.grouplens.org/datasets/movielens/ml-1m.zip", validation_alias=_env("LLMRG_ML1M_URL")
    )
    beauty_base_urls: str = Field(
        "https://raw.githubusercontent.com/aHuiWang/CIKM2020-S3Rec/master/data/,"
        "https://raw.githubusercontent.com/Wenyueh/LLM-RecSys-ID/main/data/beauty/",
        validation_alias=_env("LLMRG_BEAUTY_BASE_URLS"),
        description="Comma-separated: where Beauty.txt/Beauty_item2attributes.json, then datamaps.json live.",
    )
    download_timeout_s: float = Field(120.0, validation_alias=_env("LLMRG_DOWNLOAD_TIMEOUT_S"))
    batch_size: int = Field(20_000, ge=1, validation_alias=_env("LLMRG_INGEST_BATCH_SIZE"))


class LLMSettings(Area):
    """Any OpenAI-compatible endpoint; by default the local llama.cpp server `llmrg up` starts."""

    base_url: str = Field("http://127.0.0.1:8088/v1", validation_alias=_env("LLMRG_LLM_BASE_URL"))
    model: str = Field("qwen2.5-coder-1.5b-instruct", validation_alias=_env("LLMRG_LLM_MODEL"))
    api_key: SecretStr = Field(SecretStr("not-needed-locally"), validation_alias=_env("OPENAI_API_KEY"))
    serve_local: bool = Field(
        True,
        validation_alias=_env("LLMRG_LLM_SERVE_LOCAL"),
        description="`llmrg up` serves the packaged model when the base URL is on this machine.",
    )
    weights: str = Field(
        "qwen2.5-coder-1.5b",
        validation_alias=_env("LLMRG_LLM_WEIGHTS"),
        description="Packaged weights the local server serves. The 1.5B is the default because it is the packaged "
        "model whose verification tells real chains from placebo chains (`python -m bench.quality`, docs/RESULTS.md); "
        "the 0.5B (`qwen2.5-coder-0.5b`, with LLMRG_LLM_MODEL=qwen2.5-coder-0.5b-instruct) is about 3x faster and "
        "does not, so the test suite and the demo use it for speed.",
    )
    context_tokens: int = Field(
        8192, ge=512, validation_alias=_env("LLMRG_LLM_CONTEXT_TOKENS"), description="Context tokens per slot."
    )
    threads: int = Field(2, ge=1, validation_alias=_env("LLMRG_LLM_THREADS"))
    parallel: int = Field(
        3,
        ge=1,
        validation_alias=_env("LLMRG_LLM_PARALLEL"),
        description="Slots of the local server. One per reasoning task (chaining, verification, divergent "
        "extension): llama.cpp gives a request the slot whose cached prompt shares the most of it, so each task's "
        "constant prefix, and a user's history across its verification calls, is computed once, not once per call.",
    )
    timeout_s: float = Field(180.0, gt=0, validation_alias=_env("LLMRG_LLM_TIMEOUT_S"))
    max_retries: int = Field(3, ge=0, validation_alias=_env("LLMRG_LLM_MAX_RETRIES"))
    retry_base_s: float = Field(1.0, ge=0, validation_alias=_env("LLMRG_LLM_RETRY_BASE_S"))
    max_output_tokens: int = Field(1024, ge=16, validation_alias=_env("LLMRG_LLM_MAX_OUTPUT_TOKENS"))
    rate_limit_per_min: float = Field(
        0.0,
        ge=0,
        validation_alias=_env("LLMRG_LLM_RATE_LIMIT_PER_MIN"),
        description="LLM requests per minute across every worker (a Redis-held limit); 0 = unlimited.",
    )
    rate_burst: int = Field(1, ge=1, validation_alias=_env("LLMRG_LLM_RATE_BURST"))

    @property
    def port(self) -> int:
        return _port_of(self.base_url, default=80)

    @property
    def is_local(self) -> bool:
        return urlsplit(self.base_url).hostname in ("127.0.0.1", "localhost", "::1")


class ReasoningSettings(Area):
    """Chained reasoning (φ); every [ours] choice of the method spec is a setting, so ablations are not code edits."""

    history_length: dict[str, int] = Field(
        default_factory=lambda: {"ml-1m": 50, "ml-1m-all": 50, "beauty": 20, "*": 50},
        validation_alias=_env("LLMRG_REASON_HISTORY_LENGTH"),
        description="l_tru per dataset ('*' for any other): reasoning sees the last l_tru items.",
    )
    steps_per_call: int = Field(4, ge=1, validation_alias=_env("LLMRG_REASON_STEPS_PER_CALL"))
    max_targets: int = Field(
        0,
        ge=0,
        validation_alias=_env("LLMRG_REASON_MAX_TARGETS"),
        description="Reason only about the last N positions of the window (0 = every position).",
    )
    holdout: int = Field(
        0,
        ge=0,
        validation_alias=_env("LLMRG_REASON_HOLDOUT"),
        description="Keep each history's last N items out of reasoning: the window ends N items early. For a "
        "leave-one-out evaluation, 1 skips the test item (a chain stamped there is seen by no evaluated row, so "
        "reasoning about it is wasted) and 2 also the validation item.",
    )
    premise_window: int = Field(
        0,
        ge=0,
        validation_alias=_env("LLMRG_REASON_PREMISE_WINDOW"),
        description="Premises are chosen among the N positions before the target (0 = any earlier one).",
    )
    premise_candidates: int = Field(
        6,
        ge=1,
        validation_alias=_env("LLMRG_REASON_PREMISE_CANDIDATES"),
        description="For a chaining prompt that ranks premises (v4): the k items of the premise window most related "
        "to the target (the packaged MiniLM embeddings of title and attributes), listed under the target as the only "
        "items its chains may use. Prompts that do not rank (v3) offer every position of the window.",
    )
    chains_per_step: int = Field(3, ge=1, validation_alias=_env("LLMRG_REASON_CHAINS_PER_STEP"))
    max_chain_items: int = Field(6, ge=2, validation_alias=_env("LLMRG_REASON_MAX_CHAIN_ITEMS"))
    reason_chars: int = Field(80, ge=8, validation_alias=_env("LLMRG_REASON_REASON_CHARS"))
    temperature: float = Field(0.0, ge=0, validation_alias=_env("LLMRG_REASON_TEMPERATURE"))
    prompt_version: str = Field(
        "v4",
        validation_alias=_env("LLMRG_REASON_PROMPT_VERSION"),
        description="The prompt set (`reasoning/prompts/<task>/<version>`). v4 offers each target its most related "
        "earlier items as the only premises; measured by the quality harness against v3, which mostly restated "
        "recency.",
    )


class VerifySettings(Area):
    """Self-verification: masked questions about each chain, accepted at score >= τ."""

    enabled: bool = Field(True, validation_alias=_env("LLMRG_VERIFY"))
    masks: int = Field(3, ge=1, le=3, validation_alias=_env("LLMRG_VERIFY_MASKS"))
    questions_per_call: int = Field(
        1,
        ge=1,
        validation_alias=_env("LLMRG_VERIFY_QUESTIONS_PER_CALL"),
        description="Mask questions per verification call. More make fewer calls (never two masks of one chain in "
        "a call), but the models answer worse: on the same 40 chains of ML-1M users 1-10 the 0.5B verified "
        "13 asked one per call and 4 asked in batches, in the same time, since the prompt cache serves the "
        "shared history; with the 1.5B, prompt v4 and lettered questions (`python -m bench.quality`, 76 chains of "
        "ML-1M users 1-20), 8 per call tells real chains from random-premise placebos by +14% [+1%, +27%] "
        "against +21% [+6%, +35%] one per call on the same chains, and saves no time (14.7 s a chain, 11.4 one per "
        "call).",
    )
    style: Literal["numbered", "lettered"] = Field(
        "lettered",
        validation_alias=_env("LLMRG_VERIFY_STYLE"),
        description="How a masked question is asked. numbered: the user's history as numbered lines, answered "
        "with a number (the chain shown as numbers too). lettered: the chain in titles with its reasons and "
        "lettered options, the hidden item among distractors from the user's earlier history; self-contained, "
        "so questions of several chains share a call. `python -m bench.quality` compares them on real chains "
        "against placebo chains: numbered is passed by position arithmetic (it guesses the item next to a shown "
        "one), lettered with the 1.5B tells real chains from random-premise placebos on ML-1M and Beauty.",
    )
    options: int = Field(
        4, ge=2, le=10, validation_alias=_env("LLMRG_VERIFY_OPTIONS"), description="Options per lettered question."
    )
    tau: dict[str, float] = Field(
        default_factory=lambda: {"ml-1m": 50.0, "ml-1m-all": 50.0, "beauty": 30.0, "*": 50.0},
        validation_alias=_env("LLMRG_VERIFY_TAU"),
        description="Acceptance threshold τ on the 0-100 verification score, per dataset.",
    )


class KnowledgeBaseSettings(Area):
    enabled: bool = Field(True, validation_alias=_env("LLMRG_KB"))
    recent_positions: int = Field(5, ge=1, validation_alias=_env("LLMRG_KB_RECENT_POSITIONS"))
    chains_per_step: int = Field(3, ge=1, validation_alias=_env("LLMRG_KB_CHAINS_PER_STEP"))
    edges: bool = Field(
        True,
        validation_alias=_env("LLMRG_KB_EDGES"),
        description="Answer a step whose chains miss from causal edges (links of verified chains) into its item from "
        "an item earlier in the user's window.",
    )
    any_model: bool = Field(
        False,
        validation_alias=_env("LLMRG_KB_ANY_MODEL"),
        description="Reuse chains whatever model and prompt version made and verified them (default: only the run's "
        "model, and prompt sets that read the same prompts for the kind of knowledge; a chain is as good as the model "
        "that verified it).",
    )


class DivergentSettings(Area):
    enabled: bool = Field(True, validation_alias=_env("LLMRG_DIVERGENT"))
    items_per_chain: int = Field(3, ge=1, validation_alias=_env("LLMRG_DIVERGENT_ITEMS_PER_CHAIN"))
    max_chains: int = Field(
        4,
        ge=1,
        validation_alias=_env("LLMRG_DIVERGENT_MAX_CHAINS"),
        description="Chains extended per user (the most recent accepted ones), in one call.",
    )
    temperature: float = Field(0.8, ge=0, validation_alias=_env("LLMRG_DIVERGENT_TEMPERATURE"))
    min_similarity: float = Field(0.6, validation_alias=_env("LLMRG_DIVERGENT_MIN_SIMILARITY"))
    title_chars: int = Field(80, ge=8, validation_alias=_env("LLMRG_DIVERGENT_TITLE_CHARS"))


class WorkerSettings(Area):
    """Celery workers (Redis broker and result backend); `llmrg doctor` checks these are consistent."""

    concurrency: int = Field(1, ge=1, validation_alias=_env("LLMRG_WORKER_CONCURRENCY"))
    prefetch_multiplier: int = Field(
        1,
        ge=1,
        validation_alias=_env("LLMRG_WORKER_PREFETCH"),
        description="Messages a worker process reserves ahead; 1 for long LLM tasks (no task waits behind another).",
    )
    acks_late: bool = Field(True, validation_alias=_env("LLMRG_WORKER_ACKS_LATE"))
    reject_on_lost: bool = Field(True, validation_alias=_env("LLMRG_WORKER_REJECT_ON_LOST"))
    task_soft_time_limit_s: float = Field(1500.0, gt=0, validation_alias=_env("LLMRG_TASK_SOFT_TIME_LIMIT_S"))
    task_time_limit_s: float = Field(1800.0, gt=0, validation_alias=_env("LLMRG_TASK_TIME_LIMIT_S"))
    neo4j_query_timeout_s: float = Field(
        120.0,
        gt=0,
        validation_alias=_env("LLMRG_WORKER_NEO4J_QUERY_TIMEOUT_S"),
        description="Workers' Neo4j transaction timeout: below the gap between the soft and hard time limits, "
        "since a task stopped at the soft limit waits for its statement in flight before recording anything.",
    )
    train_time_limit_s: float = Field(
        86400.0, gt=60, validation_alias=_env("LLMRG_TRAIN_TASK_TIME_LIMIT_S"), description="`llmrg.train` on a worker."
    )
    visibility_timeout_s: float = Field(
        7200.0,
        gt=0,
        validation_alias=_env("LLMRG_BROKER_VISIBILITY_TIMEOUT_S"),
        description="Redis redelivers an unacknowledged task after this long: must exceed the hard time limit "
        "and the longest retry countdown, or a running task is delivered twice.",
    )
    restore_interval_s: float = Field(
        60.0,
        gt=0,
        validation_alias=_env("LLMRG_BROKER_RESTORE_INTERVAL_S"),
        description="How often workers look for tasks of a lost worker whose visibility timeout has passed.",
    )
    max_retries: int = Field(5, ge=0, validation_alias=_env("LLMRG_TASK_MAX_RETRIES"))
    retry_backoff_s: float = Field(5.0, gt=0, validation_alias=_env("LLMRG_TASK_RETRY_BACKOFF_S"))
    retry_backoff_max_s: float = Field(600.0, gt=0, validation_alias=_env("LLMRG_TASK_RETRY_BACKOFF_MAX_S"))
    user_lock_wait_s: float = Field(
        5.0,
        gt=0,
        validation_alias=_env("LLMRG_USER_LOCK_WAIT_S"),
        description="A task finding its user locked by another delivery tries again after this long.",
    )
    user_lock_ttl_s: float = Field(
        60.0,
        gt=0,
        validation_alias=_env("LLMRG_USER_LOCK_TTL_S"),
        description="A user's reasoning lock outlives a killed holder by at most this long (renewed while held).",
    )


class RefreshSettings(Area):
    """The beat's knowledge-base refresh."""

    interval_s: float = Field(
        86400.0, gt=0, validation_alias=_env("LLMRG_REFRESH_INTERVAL_S"), description="Beat: knowledge-base refresh."
    )
    max_age_days: float = Field(
        30.0,
        ge=0,
        validation_alias=_env("LLMRG_REFRESH_MAX_AGE_DAYS"),
        description="Re-verify chains verified longer ago than this.",
    )
    score_margin: float = Field(
        10.0,
        ge=0,
        validation_alias=_env("LLMRG_REFRESH_SCORE_MARGIN"),
        description="Re-verify chains whose score is below τ + this margin.",
    )
    batch: int = Field(
        200, ge=1, validation_alias=_env("LLMRG_REFRESH_BATCH"), description="Chains re-verified per refresh."
    )
    grown_users: bool = Field(True, validation_alias=_env("LLMRG_REFRESH_GROWN_USERS"))


class TrainSettings(Area):
    """Training and evaluation (gnn/); the method spec's defaults."""

    dir: Path | None = Field(
        None,
        validation_alias=_env("LLMRG_TRAIN_DIR"),
        description="Where training runs live (default: <state dir>/train); `llmrg demo` keeps its own.",
    )
    hidden: int = Field(64, ge=1, validation_alias=_env("LLMRG_TRAIN_HIDDEN"))
    batch_size: int = Field(
        256, ge=1, validation_alias=_env("LLMRG_TRAIN_BATCH_SIZE"), description="Rows a batch in the prefix scheme."
    )
    windows_per_batch: int | None = Field(
        None,
        ge=1,
        validation_alias=_env("LLMRG_TRAIN_WINDOWS_PER_BATCH"),
        description="Windows a batch in the windows scheme; default the model's on the dataset "
        "(`gnn.models.reference.windows_per_batch`: 128, SASRec's reference batch of sequences, or fewer where an "
        "epoch of 128 made too few optimiser steps). A run capped by max_rows wants fewer too.",
    )
    scheme: Literal["auto", "windows", "prefix"] = Field(
        "auto",
        validation_alias=_env("LLMRG_TRAIN_SCHEME"),
        description="Training rows: windows (every position a target), prefix (one row per target), or auto (windows "
        "wherever they are exact for the model and its graphs). Prefix rows cost far more; they exist to isolate "
        "what the windows scheme changes, e.g. contrastive terms on each window's last state only.",
    )
    false_negatives: Literal["drop", "keep"] = Field(
        "drop",
        validation_alias=_env("LLMRG_TRAIN_FALSE_NEGATIVES"),
        description="DuoRec's contrastive term: drop the views that share the anchor's target from its negatives, "
        "or keep them as the authors' code does (to isolate that departure).",
    )
    mask_prob: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        validation_alias=_env("LLMRG_TRAIN_MASK_PROB"),
        description="BERT4Rec's cloze proportion. Unset: its paper's value for the dataset (0.2 on ML-1M, 0.6 on "
        "Beauty, gnn.models.reference); RecBole's default, 0.2, isolates that choice.",
    )
    dropout: float | None = Field(
        None,
        ge=0.0,
        lt=1.0,
        validation_alias=_env("LLMRG_TRAIN_DROPOUT"),
        description="Hidden (and, where the model ties them, attention) dropout in place of the model's reference "
        "value for the dataset (gnn.models.reference); a departure, to isolate what that value costs.",
    )
    item_features: Literal["real", "shuffled"] = Field(
        "real",
        validation_alias=_env("LLMRG_TRAIN_ITEM_FEATURES"),
        description="FDSA's item attributes: each item's own, or shuffled across items (a placebo that keeps their "
        "frequencies but not what they say about an item, to measure what the attributes give FDSA).",
    )
    lr: float = Field(1e-3, gt=0, validation_alias=_env("LLMRG_TRAIN_LR"))
    epochs: int = Field(200, ge=1, validation_alias=_env("LLMRG_TRAIN_EPOCHS"))
    patience: int = Field(10, ge=1, validation_alias=_env("LLMRG_TRAIN_PATIENCE"))
    max_len: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_MAX_LEN),
        validation_alias=_env("LLMRG_TRAIN_MAX_LEN"),
        description="Longest input sequence per dataset ('*' for any other).",
    )
    device: str = Field(
        "auto", validation_alias=_env("LLMRG_TRAIN_DEVICE"), description="cpu, cuda, or auto (cuda when present)."
    )
    exclude_history: bool = Field(
        True,
        validation_alias=_env("LLMRG_TRAIN_EXCLUDE_HISTORY"),
        description="Full ranking leaves out items already in the user's input history (as RecBole does for general "
        "recommenders; its sequential models rank every item).",
    )
    fusion: str = Field("linear", validation_alias=_env("LLMRG_TRAIN_FUSION"), description="ψ: linear or mlp.")
    fused_readout: bool = Field(
        True,
        validation_alias=_env("LLMRG_TRAIN_FUSED_READOUT"),
        description="Read out the graphs of training batches with SR-GNN's fused CPU kernels (built with the C++ "
        "compiler on first use, about a minute; eager where none is found). false: the eager readout, to compare.",
    )
    gnn_steps: int = Field(1, ge=0, validation_alias=_env("LLMRG_TRAIN_GNN_STEPS"))
    max_rows: int = Field(
        0,
        ge=0,
        validation_alias=_env("LLMRG_TRAIN_MAX_ROWS"),
        description="Train on a seeded subset of this many training rows (0 = all; a departure, for quick runs).",
    )

    @field_validator("dir")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return value.expanduser().resolve() if value is not None else None


class Settings(BaseModel):
    """Every knob of LLMRG, one area per attribute. `Settings()` reads the environment and `./.env`;
    `Settings.load(env_file=None)` ignores any `.env` file (tests and benchmarks)."""

    paths: PathSettings = Field(default_factory=PathSettings)
    neo4j: Neo4jSettings = Field(default_factory=Neo4jSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    reasoning: ReasoningSettings = Field(default_factory=ReasoningSettings)
    verify: VerifySettings = Field(default_factory=VerifySettings)
    kb: KnowledgeBaseSettings = Field(default_factory=KnowledgeBaseSettings)
    divergent: DivergentSettings = Field(default_factory=DivergentSettings)
    workers: WorkerSettings = Field(default_factory=WorkerSettings)
    refresh: RefreshSettings = Field(default_factory=RefreshSettings)
    train: TrainSettings = Field(default_factory=TrainSettings)

    AREAS: ClassVar[tuple[str, ...]] = (
        "paths",
        "neo4j",
        "redis",
        "ingest",
        "llm",
        "reasoning",
        "verify",
        "kb",
        "divergent",
        "workers",
        "refresh",
        "train",
    )

    @classmethod
    def load(cls, env_file: Path | str | None = ENV_FILE) -> Settings:
        """Every area read from the environment and `env_file` (None: the environment alone)."""
        areas = {name: area_type(_env_file=env_file) for name, area_type in cls.area_types().items()}
        return cls(**areas)

    @classmethod
    def area_types(cls) -> dict[str, type[Area]]:
        """Each area's class by attribute name."""
        found: dict[str, type[Area]] = {}
        for name in cls.AREAS:
            area_type = cls.model_fields[name].annotation
            assert isinstance(area_type, type) and issubclass(area_type, Area)
            found[name] = area_type
        return found

    def updated(self, **areas: Mapping[str, Any]) -> Settings:
        """A copy with some fields of some areas changed: `settings.updated(llm={"base_url": url})`."""
        unknown = set(areas) - set(self.AREAS)
        if unknown:
            raise ValueError(f"unknown settings areas {sorted(unknown)}; known: {', '.join(self.AREAS)}")
        changed: dict[str, Any] = {}
        for name, changes in areas.items():
            area = getattr(self, name)
            fields = set(type(area).model_fields)
            if set(changes) - fields:
                raise ValueError(f"unknown {name} settings {sorted(set(changes) - fields)}")
            changed[name] = area.model_copy(update=dict(changes))
        return self.model_copy(update=changed)

    @property
    def runs_dir(self) -> Path:
        """The folder of training runs: `<dataset>/<model>/<variant>/seed<S>/` below it."""
        return self.train.dir or self.paths.state_dir / "train"

    @property
    def neo4j_password_file(self) -> Path:
        """Where `llmrg up` keeps the local server's generated password (mode 0600, git-ignored)."""
        return self.paths.state_dir / "neo4j" / "password"

    def resolved_neo4j_password(self) -> str:
        """The explicit `NEO4J_PASSWORD`, else the local server's generated one."""
        if self.neo4j.password is not None:
            return self.neo4j.password.get_secret_value()
        try:
            return self.neo4j_password_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise ConfigError(
                f"No Neo4j password: NEO4J_PASSWORD is unset and {self.neo4j_password_file} does not exist "
                "(run `llmrg up` to start the local server, or set NEO4J_PASSWORD for a remote one)"
            ) from None
