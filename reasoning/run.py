"""Reasoning for a list of users in this process, with a progress bar (the CLI's `llmrg reason`)."""

from __future__ import annotations

from collections.abc import Callable

from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

from core.errors import ConfigError, UnknownDatasetError
from core.gateway import Neo4jGateway
from core.progress import progress_display
from core.settings import Settings
from reasoning.embeddings import CatalogueIndex, Encoder, build_index, load_encoder
from reasoning.engine import ReasoningEngine, ReasonStats
from reasoning.llm import StructuredLLM, build_chat_model


def select_users(db: Neo4jGateway, dataset: str, first: int | None, user_ids: str | None) -> list[int]:
    """`--user-ids 1,2` as given, else the first N users by id; unknown datasets are an error."""
    if user_ids:
        try:
            return [int(part) for part in user_ids.split(",") if part.strip()]
        except ValueError:
            raise ConfigError(f"--user-ids must be comma-separated integers, got {user_ids!r}") from None
    if first is None:
        raise ConfigError("say which users to reason for: --users N (the first N by id) or --user-ids 1,2")
    ids = [int(r["id"]) for r in db.run("reasoning/list_users", dataset=dataset, limit=first)]
    if not ids:
        raise UnknownDatasetError(f"dataset {dataset!r} has no users; ingest it first (`llmrg ingest`)")
    return ids


def build_engine(
    db: Neo4jGateway,
    settings: Settings,
    dataset: str,
    *,
    llm: StructuredLLM | None = None,
    divergent_llm: StructuredLLM | None = None,
    catalogue: Callable[[], CatalogueIndex] | None = None,
    throttle: Callable[[], None] | None = None,
    raise_unavailable: bool = False,
) -> ReasoningEngine:
    """The engine with models at the configured endpoint (tests pass scripted ones); both models share one
    usage counter, and `throttle` (the workers' shared rate limit) runs before every request."""
    llm = llm or StructuredLLM(
        build_chat_model(settings, settings.reasoning.temperature),
        max_retries=settings.llm.max_retries,
        retry_base_s=settings.llm.retry_base_s,
        throttle=throttle,
    )
    if settings.divergent.enabled and divergent_llm is None:
        divergent_llm = StructuredLLM(
            build_chat_model(settings, settings.divergent.temperature),
            max_retries=settings.llm.max_retries,
            retry_base_s=settings.llm.retry_base_s,
            usage=llm.usage,
            throttle=throttle,
        )
    return ReasoningEngine(
        db,
        settings,
        llm,
        dataset,
        divergent_llm=divergent_llm,
        catalogue=catalogue or (lambda: build_index(db, settings, dataset, load_encoder())),
        raise_unavailable=raise_unavailable,
    )


def reason_users(
    db: Neo4jGateway,
    settings: Settings,
    dataset: str,
    users: list[int],
    *,
    show_progress: bool = True,
    llm: StructuredLLM | None = None,
    divergent_llm: StructuredLLM | None = None,
    encoder: Encoder | None = None,
) -> ReasonStats:
    """Reason for `users` in order, in this process."""
    catalogue = (lambda: build_index(db, settings, dataset, encoder)) if encoder is not None else None
    engine = build_engine(db, settings, dataset, llm=llm, divergent_llm=divergent_llm, catalogue=catalogue)
    with progress_display(
        TextColumn(f"reason {dataset}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("users"),
        TextColumn("{task.fields[calls]} LLM calls, {task.fields[hits]} KB hits"),
        TimeElapsedColumn(),
        disable=not show_progress,
    ) as progress:
        task = progress.add_task(f"reason {dataset}, users", total=len(users), calls=0, hits=0)
        for user in users:
            engine.reason_user(user)
            progress.update(task, advance=1, calls=engine.stats.llm.calls, hits=engine.stats.kb_hits)
    return engine.stats
