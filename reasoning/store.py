"""Writing chains into Neo4j: one chain with its steps and its user link in one transaction.

Transaction functions only run Cypher (they may be retried by the db): no LLM calls, no counters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import neo4j

import cypher
from core.gateway import Neo4jGateway
from core.vocabulary import ChainKind, ChainStatus
from reasoning.chains import Candidate, ScoredChain, edge_id
from reasoning.knowledge_base import EdgeHit


def chain_record(chain: ScoredChain, model: str, prompt_version: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The `$chain` map and `$steps` rows of `merge_chain.cypher`."""
    candidate = chain.candidate
    record = {
        "id": candidate.chain_id(model, prompt_version),
        "kind": candidate.kind.value,
        "target": candidate.target,
        "premises": list(candidate.premises),
        "items": list(candidate.items),
        "recent_premises": list(candidate.recent_premises),
        "score": chain.score,
        "status": chain.status.value,
        "reject_reason": chain.reject_reason.value if chain.reject_reason else None,
        "masks": chain.masks,
        "hits": chain.hits,
        "model": model,
        "prompt_version": prompt_version,
    }
    return record, step_rows(candidate.items, candidate.reasons)


def step_rows(items: Sequence[int], reasons: Sequence[str]) -> list[dict[str, Any]]:
    """The `$steps` rows of a chain: step i points at its i-th item, and step i's reason explains the link from
    step i-1 (the first step has none)."""
    return [{"i": 0, "item": items[0], "reason": None}] + [
        {"i": index, "item": item, "reason": reason}
        for index, (item, reason) in enumerate(zip(items[1:], reasons, strict=True), start=1)
    ]


def write_chain(
    db: Neo4jGateway,
    user: int,
    chain: ScoredChain,
    *,
    model: str,
    prompt_version: str,
    imagined: dict[str, Any] | None = None,
) -> str:
    """Write the chain (MERGE) and link it to `user` (HAS_CHAIN if accepted, PROPOSED if rejected).

    `imagined` ({item, text, reason, similarity}) records a divergent chain's imagined last step.
    Returns the chain id.
    """
    record, steps = chain_record(chain, model, prompt_version)
    link = "reasoning/link_rejected_chain" if chain.status is ChainStatus.REJECTED else "reasoning/link_accepted_chain"
    dataset = chain.candidate.dataset
    edges = edge_rows(chain.candidate, model, prompt_version) if chain.status is ChainStatus.VERIFIED else []

    @neo4j.unit_of_work(timeout=db.query_timeout_s)
    def work(tx: neo4j.ManagedTransaction) -> None:
        tx.run(cypher.load("reasoning/merge_chain"), dataset=dataset, chain=record, steps=steps).consume()
        tx.run(
            cypher.load(link), dataset=dataset, user=user, chain_id=record["id"], t=chain.candidate.t, reused=False
        ).consume()
        if imagined is not None:
            tx.run(
                cypher.load("reasoning/merge_imagined"), dataset=dataset, chain_id=record["id"], **imagined
            ).consume()
        if edges:
            tx.run(
                cypher.load("reasoning/merge_edges"),
                dataset=dataset,
                chain_id=record["id"],
                model=model,
                prompt_version=prompt_version,
                edges=edges,
            ).consume()

    with db.session() as session:
        session.execute_write(work)
    return str(record["id"])


def edge_rows(candidate: Candidate, model: str, prompt_version: str) -> list[dict[str, Any]]:
    """The `$edges` rows of `merge_edges.cypher`: one per link of a verified reasoning chain. A divergent
    chain's last link is imagined (the user never chose it), so only its links between chosen items count."""
    links = candidate.links()
    if candidate.kind is not ChainKind.REASONING:
        links = links[:-1]
    return [
        {"id": edge_id(candidate.dataset, a, b, model, prompt_version), "source": a, "target": b, "reason": reason}
        for a, b, reason in links
    ]


def link_edge_chain(db: Neo4jGateway, dataset: str, user: int, hit: EdgeHit, *, model: str, prompt_version: str) -> str:
    """Answer a step from a knowledge-base edge: the one-link chain `source -> target` with the edge's reason
    (MERGEd like any chain, marked with the edge it came from), linked to the user as a reused chain at the
    step. The exporter and the explanations read it like every other link. Returns the chain id."""
    verified = ScoredChain(hit.candidate(dataset), ChainStatus.VERIFIED, None, 0, 0)
    record, steps = chain_record(verified, model, prompt_version)
    record["from_edge"] = hit.edge_id

    @neo4j.unit_of_work(timeout=db.query_timeout_s)
    def work(tx: neo4j.ManagedTransaction) -> None:
        tx.run(cypher.load("reasoning/merge_chain"), dataset=dataset, chain=record, steps=steps).consume()
        tx.run(
            cypher.load("reasoning/link_accepted_chain"),
            dataset=dataset,
            user=user,
            chain_id=record["id"],
            t=hit.t,
            reused=True,
        ).consume()

    with db.session() as session:
        session.execute_write(work)
    return str(record["id"])


def link_reused_chain(db: Neo4jGateway, dataset: str, user: int, chain_id: str, t: int) -> None:
    db.run(
        "reasoning/link_accepted_chain",
        dataset=dataset,
        user=user,
        chain_id=chain_id,
        t=t,
        reused=True,
    )


def delete_chains(db: Neo4jGateway, dataset: str) -> None:
    """Drop a dataset's reasoning (batched inner transactions, so it needs an auto-commit session)."""
    with db.session() as session:
        for statement in ("reasoning/delete_chains", "reasoning/delete_edges", "reasoning/clear_reasoned_positions"):
            session.run(db.query(statement), dataset=dataset).consume()


def forget_users(db: Neo4jGateway, dataset: str, users: list[int]) -> None:
    """Undo the reasoning of `users` (links, hit counts, answered positions, chains left unlinked), leaving
    every other user's reasoning as it was."""
    db.run("reasoning/forget_users", dataset=dataset, users=users)


def mark_reasoned(db: Neo4jGateway, dataset: str, user: int, positions: list[int]) -> None:
    db.run("reasoning/mark_reasoned_steps", dataset=dataset, user=user, positions=positions)


def reasoned_positions(db: Neo4jGateway, dataset: str, user: int) -> set[int]:
    records = db.run("reasoning/fetch_reasoned_steps", dataset=dataset, user=user)
    return {int(record["t"]) for record in records}
