"""Reasoning on real Celery workers (real Redis broker/backend, real worker processes, real Neo4j).

The LLM is the scripted loopback server (a rule-following oracle), because what is tested here is the
distribution: exact chain counts after fan-out, redelivery after SIGKILL, duplicate publication, a Redis
restart mid-run, dead-lettering, the beat refresh and the reliability settings check.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import redis
from celery.exceptions import SoftTimeLimitExceeded
from neo4j.exceptions import ServiceUnavailable

from core.gateway import Neo4jGateway
from core.settings import Settings
from ingestion import loader
from llmrg.services.redis_server import LocalRedis
from reasoning import store
from reasoning.llm import StructuredLLM, build_chat_model
from reasoning.options import ReasoningOptions
from reasoning.run import reason_users
from tests.conftest import run_cli
from tests.fakes.neo4j_cuts import lose_neo4j_inside_an_extension
from tests.fakes.openai_server import Reply, ScriptedOpenAI, last_user_message
from tests.fakes.oracle import oracle
from tests.reasoning.test_reasoning import ITEMS as REASONING_ITEMS
from tests.worker_processes import CeleryProcess, start_beat, start_worker, worker_environment
from workers import outcomes, reason_task, runs
from workers.app import create_app
from workers.reason_task import ReasonJob, RetryLater, reason_task_id, run_reason_job
from workers.resources import WorkerResources

pytestmark = pytest.mark.integration

DATASET = "workers-fixture"
ITEMS = REASONING_ITEMS + "10\tPoison Pill (2001)\tDrama\n"
POISON_USER = 21


def history(user: int) -> list[int]:
    """Users 1..20 watch five consecutive items of a 9-item cycle; user 21 starts with the poison item."""
    if user == POISON_USER:
        return [10, 1, 2, 3]
    start = (user - 1) % 9
    return [(start + k) % 9 + 1 for k in range(5)]


def expected_links(users: list[int]) -> set[tuple[int, tuple[int, int]]]:
    """The oracle links every step to the item before it: (user, (premise, target)) for each step."""
    return {(user, (a, b)) for user in users for a, b in zip(history(user), history(user)[1:], strict=False)}


@pytest.fixture()
def dataset(services: Settings, db: Neo4jGateway, tmp_path: Path) -> str:
    redis.Redis.from_url(services.redis.url).flushdb()
    db.driver.execute_query("MATCH (n) WHERE n:Run OR n:RunTask OR n:DeadLetter DETACH DELETE n")
    loader.delete_dataset(db, DATASET)
    (tmp_path / "items.tsv").write_text(ITEMS)
    lines = [" ".join(map(str, [user, *history(user)])) for user in range(1, POISON_USER + 1)]
    (tmp_path / "seq.txt").write_text("\n".join(lines) + "\n")
    result = run_cli(
        "ingest", "--name", DATASET, "--sequences", str(tmp_path / "seq.txt"), "--items", str(tmp_path / "items.tsv")
    )
    assert result.returncode == 0, result.stderr
    return DATASET


def slow(responder: Callable[[dict[str, Any]], Reply], delay_s: float) -> Callable[[dict[str, Any]], Reply]:
    return lambda request: replace(responder(request), delay_s=delay_s)


@pytest.fixture()
def llm_server(request: pytest.FixtureRequest) -> Iterator[ScriptedOpenAI]:
    responder = getattr(request, "param", oracle)
    with ScriptedOpenAI(responder).running() as server:
        yield server


class Workers:
    """Worker (and beat) processes of one test, all stopped at its end."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[CeleryProcess] = []

    def worker(self, name: str, env: dict[str, str], queues: str | None = None) -> CeleryProcess:
        self.started.append(start_worker(name, env, self.log_dir, queues=queues))
        return self.started[-1]

    def beat(self, env: dict[str, str]) -> CeleryProcess:
        self.started.append(start_beat(env, self.log_dir))
        return self.started[-1]

    def logs(self) -> str:
        return "\n".join(process.log() for process in self.started)


@pytest.fixture()
def workers(tmp_path: Path) -> Iterator[Workers]:
    started = Workers(tmp_path)
    yield started
    for process in started.started:
        process.stop()


def graph_links(db: Neo4jGateway) -> set[tuple[int, tuple[int, ...]]]:
    records = db.driver.execute_query(
        "MATCH (u:User {dataset: $d})-[:HAS_CHAIN]->(c:Chain) RETURN u.id AS user, c.items AS items", d=DATASET
    ).records
    return {(r["user"], tuple(r["items"])) for r in records}


def duplicate_keys(db: Neo4jGateway) -> dict[str, int]:
    """Duplicated chains (same items, model, prompt) and duplicated user links, which must both be 0."""
    chains = db.driver.execute_query(
        """MATCH (c:Chain {dataset: $d})
           WITH c.kind AS kind, c.items AS items, c.model AS model, c.prompt_version AS prompt, count(*) AS n
           WHERE n > 1 RETURN count(*) AS duplicates""",
        d=DATASET,
    ).records[0]["duplicates"]
    links = db.driver.execute_query(
        """MATCH (u:User {dataset: $d})-[l:HAS_CHAIN]->(c:Chain)
           WITH u, c, count(l) AS n WHERE n > 1 RETURN count(*) AS duplicates""",
        d=DATASET,
    ).records[0]["duplicates"]
    return {"chains": chains, "links": links}


def run_reason(env: dict[str, str], *args: str) -> dict[str, Any]:
    result = run_cli("run", "reason", "--dataset", DATASET, *args, "--json", env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Exception ignored" not in result.stderr, result.stderr  # e.g. Celery result objects torn down at exit
    return json.loads(result.stdout)


def wait_for_run(db: Neo4jGateway, settings: Settings, run_id: str, timeout_s: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while (run := runs.read_run(db, run_id))["status"] == "running":
        assert time.monotonic() < deadline, f"run still open: {run}"
        time.sleep(0.5)
    return run


def wait_for(condition: Callable[[], Any], timeout_s: float = 60, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return value


def test_fan_out_over_twenty_users_gives_exact_chains_and_a_complete_run_record(
    dataset: str, services: Settings, db: Neo4jGateway, llm_server: ScriptedOpenAI, workers: Workers
) -> None:
    env = worker_environment(llm_server.base_url)
    workers.worker("w1", env)
    workers.worker("w2", env)
    record = run_reason(env, "--users", "20", "--wait", "--timeout", "240")
    users = list(range(1, 21))
    assert graph_links(db) == {(user, pair) for user, pair in expected_links(users)}
    assert duplicate_keys(db) == {"chains": 0, "links": 0}
    assert record["status"] == "success"
    assert (record["users_total"], record["users_done"], record["users_failed"]) == (20, 20, 0)
    assert record["steps"] == 80 and record["kb_hits"] + record["kb_edge_hits"] + record["kb_misses"] == 80
    assert record["llm_calls"] == len(llm_server.requests) > 0
    assert record["chains_verified"] + record["chains_reused"] == 80
    assert record["dead_letters"] == 0 and record["finished_at"] is not None
    listed = json.loads(run_cli("runs", "--json", env=env).stdout)["runs"]
    assert [run["run_id"] for run in listed] == [record["run_id"]]
    assert listed[0]["status"] == "success"


@pytest.mark.fault
@pytest.mark.parametrize("llm_server", [slow(oracle, 1.0)], indirect=True)
@pytest.mark.parametrize("kill", ["pool process", "whole worker"])
def test_sigkilled_worker_task_is_redelivered_without_duplicates(
    dataset: str,
    services: Settings,
    db: Neo4jGateway,
    llm_server: ScriptedOpenAI,
    workers: Workers,
    kill: str,
) -> None:
    env = worker_environment(llm_server.base_url)
    first = workers.worker("w1", env)
    survivor = workers.worker("w2", env)
    run_id = run_reason(env, "--user-ids", "1,2,3,4")["run_id"]
    victim_user, where = wait_for(
        lambda: next(
            (
                (r["user"], r["worker"])
                for r in db.driver.execute_query(
                    "MATCH (t:RunTask {run_id: $r, status: 'running'}) RETURN t.user AS user, t.worker AS worker",
                    r=run_id,
                ).records
                if r["worker"].startswith("w1@")
            ),
            None,
        ),
        what="a task running on w1",
    )
    if kill == "pool process":
        import os
        import signal

        os.kill(int(where.rsplit("/", 1)[1]), signal.SIGKILL)
    else:
        first.kill()
    run = wait_for_run(db, services, run_id, timeout_s=120)
    assert run["status"] == "success" and run["users_done"] == 4
    assert graph_links(db) == expected_links([1, 2, 3, 4])
    assert duplicate_keys(db) == {"chains": 0, "links": 0}
    (task,) = db.driver.execute_query(
        "MATCH (t:RunTask {run_id: $r, user: $u}) RETURN t.status AS status, t.worker AS worker",
        r=run_id,
        u=victim_user,
    ).records
    assert task["status"] == "done"
    if kill == "whole worker":
        assert task["worker"].startswith("w2@"), "the lost task was finished by the surviving worker"
        assert "restor" in survivor.log().lower() or task["worker"].startswith("w2@")


@pytest.mark.fault
@pytest.mark.parametrize("llm_server", [slow(oracle, 0.5)], indirect=True)
def test_the_same_task_published_twice_has_one_result(
    dataset: str, services: Settings, db: Neo4jGateway, llm_server: ScriptedOpenAI, workers: Workers
) -> None:
    env = worker_environment(llm_server.base_url)
    workers.worker("w1", env)
    workers.worker("w2", env)
    app = create_app(services)
    run_id = "duplicate-test"
    runs.create_run(db, run_id, "reason", DATASET, [1], ReasoningOptions(divergent=False))
    kwargs = {"run_id": run_id, "dataset": DATASET, "user": 1, "options": ReasoningOptions(divergent=False).as_dict()}
    task_id = reason_task_id(run_id, 1)
    for _ in range(2):
        app.send_task("llmrg.reason_user", kwargs=kwargs, task_id=task_id, queue="reasoning")
    wait_for(lambda: workers.logs().count(f"[{task_id}] succeeded") == 2, timeout_s=90, what="both deliveries")
    result = app.AsyncResult(task_id).get(timeout=10)
    # one chaining call and three verification calls (a chain's masks never share a call), made once
    assert result["status"] == "done" and result["llm_calls"] == len(llm_server.requests) == 4
    assert graph_links(db) == expected_links([1])
    assert duplicate_keys(db) == {"chains": 0, "links": 0}
    tasks = db.driver.execute_query("MATCH (t:RunTask {run_id: $r}) RETURN t.llm_calls AS calls", r=run_id).records
    assert [t["calls"] for t in tasks] == [4]


@pytest.mark.fault
@pytest.mark.parametrize("llm_server", [slow(oracle, 0.4)], indirect=True)
def test_redis_restart_during_a_run_loses_nothing(
    dataset: str, services: Settings, db: Neo4jGateway, llm_server: ScriptedOpenAI, workers: Workers
) -> None:
    env = worker_environment(llm_server.base_url)
    workers.worker("w1", env)
    workers.worker("w2", env)
    users = list(range(1, 13))
    run_id = run_reason(env, "--users", "12")["run_id"]
    wait_for(lambda: runs.read_run(db, run_id)["users_done"] >= 2, what="two users done")
    broker = LocalRedis(services)
    assert broker.stop()
    time.sleep(2)
    broker.start()
    run = wait_for_run(db, services, run_id, timeout_s=180)
    assert run["status"] == "success" and run["users_done"] == 12
    assert graph_links(db) == expected_links(users)
    assert duplicate_keys(db) == {"chains": 0, "links": 0}


def poisoned(request: dict[str, Any]) -> Reply:
    """The oracle, except that every request about the poison user's history fails with HTTP 500."""
    if "Poison Pill" in last_user_message(request):
        return Reply(status=500, content='{"error": {"message": "model crashed"}}')
    return oracle(request)


@pytest.mark.fault
@pytest.mark.parametrize("llm_server", [poisoned], indirect=True)
def test_an_always_failing_llm_dead_letters_the_task_and_the_run_is_partial(
    dataset: str, services: Settings, db: Neo4jGateway, llm_server: ScriptedOpenAI, workers: Workers
) -> None:
    env = worker_environment(llm_server.base_url)
    workers.worker("w1", env)
    record = run_reason(env, "--user-ids", f"1,{POISON_USER}", "--wait", "--timeout", "120")
    assert record["status"] == "partial"
    assert (record["users_done"], record["users_failed"], record["dead_letters"]) == (1, 1, 1)
    (letter,) = db.driver.execute_query(
        """MATCH (:Run {id: $r})-[:DEAD_LETTER]->(d:DeadLetter)
           RETURN d.task AS task, d.user AS user, d.attempts AS attempts, d.error AS error""",
        r=record["run_id"],
    ).records
    assert (letter["task"], letter["user"], letter["attempts"]) == ("llmrg.reason_user", POISON_USER, 3)
    assert letter["error"].startswith("LLMUnavailable")
    poison_requests = [r for r in llm_server.requests if "Poison Pill" in last_user_message(r)]
    assert len(poison_requests) == 3, "one request per attempt: the first try and two retries"
    reused_without_llm = {(POISON_USER, (1, 2)), (POISON_USER, (2, 3))}
    assert graph_links(db) == expected_links([1]) | reused_without_llm, (
        "user 1 runs first on the single worker; the poison user's later steps are knowledge-base hits"
    )


SHORT_TIME_LIMITS = {
    "LLMRG_TASK_SOFT_TIME_LIMIT_S": "10",
    "LLMRG_TASK_TIME_LIMIT_S": "30",
    "LLMRG_WORKER_NEO4J_QUERY_TIMEOUT_S": "15",
    "LLMRG_BROKER_VISIBILITY_TIMEOUT_S": "40",
    "LLMRG_NEO4J_RETRY_TIME_S": "2",
    "LLMRG_TASK_MAX_RETRIES": "3",
}
"""A soft time limit the test can outlast by holding a lock, with a statement timeout between the limits, as
`llmrg doctor` requires: a write waiting on the lock outlasts the soft limit and ends before the hard one. The
soft limit leaves a cold worker process on a loaded machine time to reach that write."""


@contextmanager
def user_node_locked(db: Neo4jGateway, user: int) -> Iterator[None]:
    """Hold a write lock on a user's node in an open transaction: the worker's writes for that user wait on it,
    as they wait on a Neo4j that accepts connections but does not answer yet (just restarted, under load)."""
    with db.session() as session, session.begin_transaction() as tx:
        tx.run("MATCH (u:User {dataset: $d, id: $u}) SET u.held_by_test = true", d=DATASET, u=user).consume()
        yield
        tx.rollback()


def run_task(db: Neo4jGateway, run_id: str, user: int) -> dict[str, Any]:
    records = db.driver.execute_query(
        "MATCH (t:RunTask {run_id: $r, user: $u}) RETURN properties(t) AS task", r=run_id, u=user
    ).records
    return dict(records[0]["task"]) if records else {}


@pytest.mark.fault
def test_a_task_held_past_its_soft_time_limit_once_is_retried_and_finishes(
    dataset: str, services: Settings, db: Neo4jGateway, llm_server: ScriptedOpenAI, workers: Workers
) -> None:
    """The interrupted write's rollback waits for Neo4j to end the statement (the statement timeout), and the
    error it raises carries the soft limit as its context: still a time out, retried once, and nothing of the
    interrupted attempt is left behind."""
    env = worker_environment(llm_server.base_url, **SHORT_TIME_LIMITS)
    workers.worker("w1", env)
    with user_node_locked(db, 1):
        started = run_reason(env, "--user-ids", "1")
        retrying = wait_for(
            lambda: (task := run_task(db, started["run_id"], 1)).get("retries") and task,
            timeout_s=60,
            what="the first attempt to be retried",
        )
    assert retrying["error"].startswith("SoftTimeLimitExceeded, then ClientError"), retrying["error"]
    record = wait_for_run(db, services, started["run_id"], timeout_s=120)
    assert (record["status"], record["users_done"], record["dead_letters"]) == ("success", 1, 0), record
    assert run_task(db, started["run_id"], 1)["retries"] == 1
    assert graph_links(db) == expected_links([1])
    assert duplicate_keys(db) == {"chains": 0, "links": 0}


@pytest.mark.fault
def test_a_task_held_past_its_soft_time_limit_twice_is_dead_lettered(
    dataset: str, services: Settings, db: Neo4jGateway, llm_server: ScriptedOpenAI, workers: Workers
) -> None:
    """A second time out is not retried: the task is dead-lettered within the hard limit and the run ends."""
    env = worker_environment(llm_server.base_url, **SHORT_TIME_LIMITS)
    workers.worker("w1", env)
    with user_node_locked(db, 1):
        started = run_reason(env, "--user-ids", "1")
        record = wait_for_run(db, services, started["run_id"], timeout_s=120)
    assert (record["status"], record["users_failed"], record["dead_letters"]) == ("failed", 1, 1), record
    (letter,) = db.driver.execute_query(
        "MATCH (:Run {id: $r})-[:DEAD_LETTER]->(d:DeadLetter) RETURN d.attempts AS attempts, d.error AS error",
        r=record["run_id"],
    ).records
    assert letter["attempts"] == 2 and letter["error"].startswith("SoftTimeLimitExceeded"), dict(letter)
    assert graph_links(db) == set()


@contextmanager
def run_node_locked(db: Neo4jGateway, run_id: str) -> Iterator[None]:
    """Hold a write lock on a run's node: a dead letter's write (it links the letter to its run) waits on it."""
    with db.session() as session, session.begin_transaction() as tx:
        tx.run("MATCH (r:Run {id: $r}) SET r.held_by_test = true", r=run_id).consume()
        yield
        tx.rollback()


@pytest.mark.fault
def test_a_dead_letter_neo4j_cannot_take_is_stored_by_a_later_delivery_and_the_run_ends(
    dataset: str, services: Settings, db: Neo4jGateway
) -> None:
    """A task past its cap whose dead-letter write stalls (as it does on a stalled or restarting Neo4j, or when
    the soft time limit lands in it). Before, that error escaped both the retry and the dead letter: the task
    stayed `running` and its run never ended. Now the letter travels to the next delivery, which stores only
    it, without asking the LLM again. Run in the test process against the real services: what matters is the
    task body's bookkeeping, not the broker."""
    settings = services.updated(llm={"max_retries": 1, "retry_base_s": 0.0}, workers={"neo4j_query_timeout_s": 3})
    with ScriptedOpenAI(lambda request: Reply(status=503)).running() as failing:
        settings = settings.updated(llm={"base_url": failing.base_url})
        run_id = runs.new_run_id("reason")
        runs.create_run(db, run_id, "reason", DATASET, [1], ReasoningOptions())
        resources = WorkerResources(settings)
        at_cap = ReasonJob(run_id, DATASET, 1, ReasoningOptions(), failures=settings.workers.max_retries)
        try:
            with run_node_locked(db, run_id), pytest.raises(RetryLater) as later:
                run_reason_job(resources, at_cap, "test")
            asked = len(failing.requests)
            letter = later.value.unrecorded
            assert letter is not None and letter["error"].startswith("LLMUnavailable"), letter
            assert outcomes.transient(later.value.cause), later.value.cause
            assert run_task(db, run_id, 1)["status"] == "running" and runs.read_run(db, run_id)["dead_letters"] == 0
            record_only = replace(at_cap, carried=later.value.carried, unrecorded=letter)
            result = run_reason_job(resources, record_only, "test")
        finally:
            resources.close()
    assert result["status"] == "failed" and len(failing.requests) == asked > 0, "the LLM is not asked again"
    run = runs.finish_run(db, run_id)
    assert (run["status"], run["users_failed"], run["dead_letters"]) == ("failed", 1, 1), run

    # A copy of the task that another delivery finished meanwhile keeps its result and gets no letter.
    done_run = runs.new_run_id("reason")
    runs.create_run(db, done_run, "reason", DATASET, [1], ReasoningOptions())
    db.run(
        "workers/finish_run_task", run_id=done_run, user=1, status="done", stats={"llm_calls": 7}, error=None, length=5
    )
    late = replace(record_only, run_id=done_run, unrecorded={**letter, "task_id": reason_task_id(done_run, 1)})
    resources = WorkerResources(settings)
    try:
        assert run_reason_job(resources, late, "test")["status"] == "done"
    finally:
        resources.close()
    run = runs.finish_run(db, done_run)
    assert (run["status"], run["users_done"], run["dead_letters"], run["llm_calls"]) == ("success", 1, 0, 7), run


@pytest.mark.fault
def test_an_attempt_past_its_soft_time_limit_leaves_its_process_a_fresh_neo4j_driver(
    dataset: str, services: Settings, db: Neo4jGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The soft limit is raised wherever the task is, inside the driver's socket code too, and a connection left
    half-written failed the next task of the same process with a BufferError (not transient: dead-lettered
    for nothing, and the letter's own write failed the same way, so the run never ended). The process now
    drops its driver after a time out; the retry is recorded on the fresh one."""

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(reason_task, "build_engine", interrupted)
    run_id = runs.new_run_id("reason")
    runs.create_run(db, run_id, "reason", DATASET, [1], ReasoningOptions())
    resources = WorkerResources(services)
    try:
        before = resources.db
        with pytest.raises(RetryLater) as later:
            run_reason_job(resources, ReasonJob(run_id, DATASET, 1, ReasoningOptions()), "test")
        assert outcomes.timed_out(later.value.cause) and resources.db is not before
    finally:
        resources.close()
    task = run_task(db, run_id, 1)
    assert (task["status"], task["retries"]) == ("retrying", 1) and task["error"].startswith("SoftTimeLimit"), task


OUTCOMES = ("steps", "steps_failed", "kb_hits", "kb_edge_hits", "kb_misses", "chains_verified", "chains_unverified")
OUTCOMES += ("chains_rejected", "chains_reused", "divergent_chains")
STORED = ("chains_verified", "divergent_chains")


@pytest.mark.fault
@pytest.mark.parametrize("cut", ["before the window is marked", "inside the divergent extension"])
def test_an_attempt_cut_off_and_retried_counts_what_a_clean_run_does_and_pays_for_both(
    cut: str,
    dataset: str,
    services: Settings,
    db: Neo4jGateway,
    llm_server: ScriptedOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Neo4j lost part-way through the user's window. Before it is marked answered: its chains are written, but
    the retry asks the window again. Inside its divergent extension: the retry asks the window's reasoning again
    but does not extend it again (it keeps the one imagined chain written). Before, the retry carried every
    counter of the first attempt on top of its own, so the run counted that window twice (seen under load: 92
    steps for 80); carrying only what was stored for good must also not lose the divergent chain the retry
    does not write again. The run now counts each step as a clean run does and each chain as stored, and
    pays for both attempts' LLM calls."""
    settings = services.updated(llm={"base_url": llm_server.base_url})
    options = ReasoningOptions(divergent=cut == "inside the divergent extension")
    resources = WorkerResources(settings)

    def attempt(run_id: str, failures: int = 0, carried: dict[str, float] | None = None) -> dict[str, Any]:
        job = ReasonJob(run_id, DATASET, 1, options, failures=failures, carried=carried or {})
        return run_reason_job(resources, job, "test")

    try:
        clean_run = runs.new_run_id("reason")
        runs.create_run(db, clean_run, "reason", DATASET, [1], options)
        clean = attempt(clean_run)
        assert {name: clean[name] for name in STORED} == stored_counts(db, 1)
        clean_calls = len(llm_server.requests)
        store.forget_users(db, DATASET, [1])
        llm_server.requests.clear()

        mark_reasoned = store.mark_reasoned

        def lost_before_marking(*args: Any, **kwargs: Any) -> None:
            monkeypatch.setattr(store, "mark_reasoned", mark_reasoned)
            raise ServiceUnavailable("Neo4j went away before the window was marked")

        if cut == "before the window is marked":
            monkeypatch.setattr(store, "mark_reasoned", lost_before_marking)
        else:
            lose_neo4j_inside_an_extension(monkeypatch)
        run_id = runs.new_run_id("reason")
        runs.create_run(db, run_id, "reason", DATASET, [1], options)
        with pytest.raises(RetryLater) as later:
            attempt(run_id)
        first_calls = len(llm_server.requests)
        assert later.value.carried["llm_calls"] == first_calls > 0
        assert later.value.carried["wall_s"] > 0, "the cut-off attempt's time is paid for too"
        result = attempt(run_id, failures=1, carried=later.value.carried)
    finally:
        resources.close()
    assert result["status"] == clean["status"] == "done" and clean["steps"] == 4 and clean["chains_verified"] >= 4
    assert {name: result[name] for name in OUTCOMES if name not in STORED} == {
        name: clean[name] for name in OUTCOMES if name not in STORED
    }
    stored = stored_counts(db, 1)
    assert {name: result[name] for name in STORED} == stored
    if options.divergent:
        assert stored["divergent_chains"] == 1, "the one imagined chain written before the cut, not extended again"
    else:
        assert stored == {name: clean[name] for name in STORED}
    assert len(llm_server.requests) > clean_calls and result["llm_calls"] == len(llm_server.requests)
    assert result["wall_s"] > later.value.carried["wall_s"]
    run = runs.finish_run(db, run_id)
    assert {name: run[name] for name in OUTCOMES} == {name: result[name] for name in OUTCOMES}
    assert graph_links(db) >= expected_links([1])


def stored_counts(db: Neo4jGateway, user: int) -> dict[str, int]:
    """The user's verified and divergent chains as linked in the graph (what the run's counters must agree with)."""
    (record,) = db.driver.execute_query(
        """MATCH (:User {dataset: $d, id: $u})-[:HAS_CHAIN]->(c:Chain)
           RETURN count(CASE WHEN c.status = 'verified' THEN 1 END) AS chains_verified,
                  count(CASE WHEN c.kind = 'divergent' THEN 1 END) AS divergent_chains""",
        d=DATASET,
        u=user,
    ).records
    return dict(record)


def changed_verifier(request: dict[str, Any]) -> Reply:
    """The oracle, except that it now fails every mask question on chains with the reason "follows 2"."""
    reply = oracle(request)
    if "Questions:" not in last_user_message(request):
        return reply
    answers = json.loads(reply.content)
    questions = dict(line.split(": ", 1) for line in last_user_message(request).splitlines() if line[:1] == "q")
    for question in answers:
        if "[follows 2]" in questions[question]:
            answers[question] = 99
    return replace(reply, content=json.dumps(answers))


def test_beat_refresh_retires_a_chain_the_changed_verifier_rejects(
    dataset: str, services: Settings, db: Neo4jGateway, workers: Workers
) -> None:
    with ScriptedOpenAI(oracle).running() as original:
        settings = services.updated(llm={"base_url": original.base_url}, divergent={"enabled": False})
        llm = StructuredLLM(build_chat_model(settings, 0.0), max_retries=0, retry_base_s=0.0)
        reason_users(db, settings, DATASET, [1], show_progress=False, llm=llm)
    statuses = {tuple(r["items"]): r["status"] for r in chain_rows(db)}
    assert statuses == {(1, 2): "verified", (2, 3): "verified", (3, 4): "verified", (4, 5): "verified"}
    with ScriptedOpenAI(changed_verifier).running() as changed:
        env = worker_environment(
            changed.base_url, LLMRG_REFRESH_INTERVAL_S="2", LLMRG_REFRESH_MAX_AGE_DAYS="0", LLMRG_REFRESH_BATCH="50"
        )
        workers.worker("w1", env)
        workers.beat(env)
        # The refresh re-verifies the due chains as parallel tasks: wait for all of them, not only chain 3 -> 4.
        wait_for(
            lambda: (
                all(r["refresh_id"] for r in chain_rows(db))
                and {tuple(r["items"]): r["status"] for r in chain_rows(db)}[(3, 4)] == "retired"
            ),
            timeout_s=90,
            what="the refresh to re-verify every chain and retire chain 3 -> 4",
        )
    rows = {tuple(r["items"]): r for r in chain_rows(db)}
    retired = rows[(3, 4)]
    assert retired["previous_score"] == 100.0 and retired["score"] < 50 and retired["retired_at"]
    assert {items: row["status"] for items, row in rows.items() if items != (3, 4)} == {
        (1, 2): "verified",
        (2, 3): "verified",
        (4, 5): "verified",
    }
    assert all(row["refresh_id"] for row in rows.values())
    found = db.driver.execute_query(
        "MATCH (c:Chain {dataset: $d, target: 4}) WHERE c.status = 'verified' RETURN count(c) AS n", d=DATASET
    ).records[0]["n"]
    assert found == 0, "a retired chain is no longer in the knowledge base"


def chain_rows(db: Neo4jGateway) -> list[dict[str, Any]]:
    return [
        record.data()
        for record in db.driver.execute_query(
            """MATCH (c:Chain {dataset: $d}) RETURN c.items AS items, c.status AS status, c.score AS score,
                      c.previous_score AS previous_score, c.retired_at IS NOT NULL AS retired_at,
                      c.refresh_id AS refresh_id""",
            d=DATASET,
        ).records
    ]


def test_doctor_and_worker_refuse_inconsistent_reliability_settings(services: Settings) -> None:
    env = worker_environment(
        "http://127.0.0.1:9/v1", LLMRG_TASK_TIME_LIMIT_S="600", LLMRG_BROKER_VISIBILITY_TIMEOUT_S="300"
    )
    result = run_cli("doctor", "--json", env=env)
    assert result.returncode == 1
    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    assert not checks["worker settings"]["ok"]
    assert "LLMRG_BROKER_VISIBILITY_TIMEOUT_S" in checks["worker settings"]["detail"]
    refused = run_cli("worker", env=env, timeout=60)
    assert refused.returncode == 2
    assert "must exceed the hard time limit" in " ".join(refused.stderr.split())


def test_training_runs_on_a_worker_consuming_the_training_queue(
    dataset: str, services: Settings, workers: Workers, tmp_path: Path
) -> None:
    env = worker_environment("http://127.0.0.1:9/v1", LLMRG_STATE_DIR=str(tmp_path / "state"))
    env["LLMRG_NEO4J_PASSWORD"] = services.resolved_neo4j_password()
    workers.worker("trainer", env, queues="training")
    sent = run_cli(
        "train", "--dataset", DATASET, "--model", "sasrec", "--epochs", "1", "--seed", "2", "--queue", "--json", env=env
    )
    assert sent.returncode == 0, sent.stderr
    task_id = json.loads(sent.stdout)["task_id"]
    result = create_app(services).AsyncResult(task_id).get(timeout=180)
    assert set(result["test"]) == {"hr@5", "hr@10", "ndcg@5", "ndcg@10"} and result["epochs_run"] == 1
    assert (tmp_path / "state" / "train" / DATASET / "sasrec" / "base" / "seed2" / "best.pt").is_file()
