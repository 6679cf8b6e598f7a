"""Celery configuration derived from the one settings object.

The reliability choices follow Celery's guidance for long, expensive tasks on a Redis broker:
late acknowledgement with `task_reject_on_worker_lost` (a task whose process dies is delivered again),
prefetch 1 (no task waits behind another in a busy process), soft and hard time limits, and a visibility
timeout longer than the hard limit and the longest retry countdown (Redis redelivers any message not
acknowledged within it, so a shorter one would run a healthy task twice).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.settings import Settings
from core.vocabulary import TASK_QUEUES, QueueName, TaskName


def celery_config(settings: Settings) -> dict[str, Any]:
    return {
        "broker_url": settings.redis.url,
        "result_backend": settings.redis.url,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": settings.workers.acks_late,
        "task_reject_on_worker_lost": settings.workers.reject_on_lost,
        "worker_prefetch_multiplier": settings.workers.prefetch_multiplier,
        "worker_concurrency": settings.workers.concurrency,
        "task_soft_time_limit": settings.workers.task_soft_time_limit_s,
        "task_time_limit": settings.workers.task_time_limit_s,
        "broker_transport_options": {
            "visibility_timeout": settings.workers.visibility_timeout_s,
            # kombu scans for expired unacknowledged messages every interval x throttle seconds
            "unacked_restore_interval": settings.workers.restore_interval_s,
            "unacked_restore_throttle": 1,
        },
        "result_backend_transport_options": {"visibility_timeout": settings.workers.visibility_timeout_s},
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        "result_backend_always_retry": True,
        "result_backend_max_retries": 20,
        "redis_backend_health_check_interval": 10,
        "redis_socket_keepalive": True,
        "result_expires": timedelta(days=7),
        "result_extended": True,
        "task_track_started": True,
        "task_send_sent_event": True,
        "worker_send_task_events": True,
        "task_routes": {task.value: {"queue": queue.value} for task, queue in TASK_QUEUES.items()},
        "task_default_queue": QueueName.DEFAULT.value,
        "beat_schedule": beat_schedule(settings),
        "timezone": "UTC",
    }


def beat_schedule(settings: Settings) -> dict[str, Any]:
    return {
        "refresh-knowledge-base": {
            "task": TaskName.REFRESH_KNOWLEDGE_BASE.value,
            "schedule": timedelta(seconds=settings.refresh.interval_s),
            "options": {"expires": settings.refresh.interval_s},
        }
    }


def reliability_problems(settings: Settings) -> list[str]:
    """Inconsistent reliability settings, each as one sentence naming the variables to change."""
    workers = settings.workers
    problems = []
    if workers.task_soft_time_limit_s >= workers.task_time_limit_s:
        problems.append(
            f"the soft time limit ({workers.task_soft_time_limit_s:g} s, LLMRG_TASK_SOFT_TIME_LIMIT_S) must be "
            f"below the hard one ({workers.task_time_limit_s:g} s, LLMRG_TASK_TIME_LIMIT_S), or tasks never clean up"
        )
    cleanup_window = workers.task_time_limit_s - workers.task_soft_time_limit_s
    if workers.neo4j_query_timeout_s >= cleanup_window > 0:
        problems.append(
            f"the workers' Neo4j statement timeout ({workers.neo4j_query_timeout_s:g} s, "
            f"LLMRG_WORKER_NEO4J_QUERY_TIMEOUT_S) must be below the gap between the soft and hard time limits "
            f"({cleanup_window:g} s): a task stopped at the soft limit first waits for its statement in flight to "
            "end, and killed at the hard limit it records neither a retry nor a dead letter, so its run never ends"
        )
    longest_hold = max(workers.task_time_limit_s, workers.retry_backoff_max_s)
    if workers.visibility_timeout_s <= longest_hold:
        problems.append(
            f"the broker visibility timeout ({workers.visibility_timeout_s:g} s, "
            "LLMRG_BROKER_VISIBILITY_TIMEOUT_S) must exceed the hard time limit and the longest retry countdown "
            f"({longest_hold:g} s), or Redis delivers running tasks a second time"
        )
    if not workers.acks_late:
        problems.append("LLMRG_WORKER_ACKS_LATE is off: a task lost with its worker is never delivered again")
    if workers.acks_late and not workers.reject_on_lost:
        problems.append(
            "LLMRG_WORKER_REJECT_ON_LOST is off: with late acks, a task whose process is killed is acknowledged "
            "as failed instead of being delivered again"
        )
    if workers.prefetch_multiplier != 1:
        problems.append(
            f"LLMRG_WORKER_PREFETCH is {workers.prefetch_multiplier}: LLM tasks are long, use 1 so no task "
            "waits behind another in a busy process"
        )
    if workers.retry_backoff_s > workers.retry_backoff_max_s:
        problems.append("LLMRG_TASK_RETRY_BACKOFF_S exceeds LLMRG_TASK_RETRY_BACKOFF_MAX_S")
    if settings.neo4j.retry_time_s >= workers.task_soft_time_limit_s:
        problems.append(
            f"the Neo4j retry time ({settings.neo4j.retry_time_s:g} s, LLMRG_NEO4J_RETRY_TIME_S) must be below the "
            f"soft time limit ({workers.task_soft_time_limit_s:g} s), or a database restart times tasks out and "
            "dead-letters them instead of retrying them"
        )
    if workers.user_lock_wait_s >= workers.visibility_timeout_s:
        problems.append("LLMRG_USER_LOCK_WAIT_S must be below the broker visibility timeout")
    return problems
