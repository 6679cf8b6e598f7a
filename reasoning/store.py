"""Writing chains into Neo4j: one chain with its steps and its user link in one transaction.

Transaction functions only run Cypher (they may be retried by the db): no LLM calls, no counters.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import neo4j

import cypher
from core.gateway import Neo4jGateway
from core.vocabulary import ChainKind, ChainStatus
from reasoning.chains import Candidate, ScoredChain, edge_id
from reasoning.evidence import check_evidence, judged, stored_evidence
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
    tau: float,
    imagined: dict[str, Any] | None = None,
) -> ChainStatus:
    """Write the chain (MERGE) and link it to `user`; returns the chain's status afterwards.

    A chain new to the database takes this check's verdict. A chain already stored (another user's LLM
    proposed it first) is judged again on all its evidence (`evidence.judged`): this check is added as one
    record, and the chain is verified while its summed score is at least `tau`. A chain that falls below is
    retired and stops supporting its edges; one that rises gains them. The user's link follows the chain's
    status: HAS_CHAIN to an accepted chain, PROPOSED otherwise; a check that moves the verdict across τ moves
    every other user's link to the chain with it (`relink_users.cypher`), so what is stored, and which chains
    enter a user's graphs, does not depend on the order users' checks land in. A write for a user already linked to the
    chain (a redelivered task, or the same chain proposed at another of the user's steps) adds nothing.
    A chain accepted without verification (`unverified`) carries no evidence and changes no stored verdict.
    `imagined` ({item, text, reason, similarity}) records a divergent chain's imagined last step.
    """
    record, steps = chain_record(chain, model, prompt_version)
    dataset = chain.candidate.dataset
    chain_id = str(record["id"])
    checked_at = datetime.now(UTC).isoformat()
    edges = edge_rows(chain.candidate, model, prompt_version)
    outcome: list[ChainStatus] = []

    @neo4j.unit_of_work(timeout=db.query_timeout_s)
    def work(tx: neo4j.ManagedTransaction) -> None:
        outcome.clear()
        found = tx.run(
            cypher.load("reasoning/fetch_chain_check"), dataset=dataset, user=user, chain_id=chain_id
        ).single()
        tx.run(cypher.load("reasoning/merge_chain"), dataset=dataset, chain=record, steps=steps).consume()
        before = ChainStatus(found["status"]) if found is not None else None
        after = chain.status if before is None else before
        if (
            found is not None
            and before is not None
            and not found["linked"]  # a user already linked adds no check
            and ChainStatus.UNVERIFIED not in (chain.status, before)
        ):
            stored = stored_evidence(found)
            check = check_evidence(chain_id, checked_at, chain.masks, chain.hits)
            verdict = judged([*stored, check], tau, before)
            tx.run(cypher.load("reasoning/record_chain_check"), chain_id=chain_id, verdict=verdict).consume()
            after = ChainStatus(verdict["status"])
        link_status = chain.status if chain.status is ChainStatus.UNVERIFIED else after
        link = "reasoning/link_rejected_chain" if link_status in REFUSED else "reasoning/link_accepted_chain"
        tx.run(
            cypher.load(link), dataset=dataset, user=user, chain_id=chain_id, t=chain.candidate.t, reused=False
        ).consume()
        if before is not None and (before in REFUSED) != (after in REFUSED):
            tx.run(cypher.load("reasoning/relink_users"), chain_ids=[chain_id]).consume()
        if imagined is not None:
            tx.run(cypher.load("reasoning/merge_imagined"), dataset=dataset, chain_id=chain_id, **imagined).consume()
        if after is ChainStatus.VERIFIED and edges:
            tx.run(
                cypher.load("reasoning/merge_edges"),
                dataset=dataset,
                chain_id=chain_id,
                model=model,
                prompt_version=prompt_version,
                edges=edges,
            ).consume()
        elif before is ChainStatus.VERIFIED and after is not ChainStatus.VERIFIED:
            tx.run(cypher.load("reasoning/unsupport_edges"), chain_ids=[chain_id]).consume()
        outcome.append(after)

    with db.session() as session:
        session.execute_write(work)
    return outcome[0]


REFUSED = (ChainStatus.REJECTED, ChainStatus.RETIRED)
"""Statuses a user is linked to with PROPOSED (HAS_CHAIN only ever points at an accepted chain)."""


def write_pair_chain(db: Neo4jGateway, chain: ScoredChain, *, model: str, prompt_version: str) -> str:
    """Write one warm-start pair `a -> b` (MERGE), verified or rejected, linked to no user; a verified pair
    also MERGEs its causal edge, which is what lookups, graphs and explanations use. A rejected pair is kept so
    a rerun does not ask again. Returns the chain id."""
    record, steps = chain_record(chain, model, prompt_version)
    dataset = chain.candidate.dataset
    edges = edge_rows(chain.candidate, model, prompt_version) if chain.status is ChainStatus.VERIFIED else []

    @neo4j.unit_of_work(timeout=db.query_timeout_s)
    def work(tx: neo4j.ManagedTransaction) -> None:
        tx.run(cypher.load("reasoning/merge_chain"), dataset=dataset, chain=record, steps=steps).consume()
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


def stored_chain_ids(db: Neo4jGateway, ids: Sequence[str]) -> set[str]:
    """Which of `ids` are stored chains (any status)."""
    return {str(record["id"]) for record in db.run("reasoning/existing_chains", ids=list(ids))}


def edge_rows(candidate: Candidate, model: str, prompt_version: str) -> list[dict[str, Any]]:
    """The `$edges` rows of `merge_edges.cypher`: one per link of a verified chain. A divergent chain's last
    link is imagined (the user never chose it), so only its links between chosen items count."""
    links = candidate.links()
    if candidate.kind is ChainKind.DIVERGENT:
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


def divergent_links_within(db: Neo4jGateway, dataset: str, user: int, positions: list[int]) -> int:
    """Divergent chains linked to the user at any of `positions`: an extension already (at least partly) written."""
    return int(db.run("reasoning/count_divergent_links", dataset=dataset, user=user, positions=positions)[0]["links"])


def answered_chains(db: Neo4jGateway, dataset: str, user: int, positions: set[int]) -> list[tuple[int, list[int]]]:
    """`(t, items)` of the user's accepted reasoning chains linked at `positions` (steps answered earlier)."""
    records = db.run(
        "reasoning/fetch_answered_chains",
        dataset=dataset,
        user=user,
        kind=ChainKind.REASONING.value,
        positions=sorted(positions),
    )
    return [(int(record["t"]), [int(item) for item in record["items"]]) for record in records]


def reasoned_positions(db: Neo4jGateway, dataset: str, user: int) -> set[int]:
    """The positions a rerun skips: windows marked whole (`mark_reasoned`) and knowledge-base reuses. A chain
    the LLM wrote marks nothing by itself (its t is its window's last target, not its own)."""
    records = db.run("reasoning/fetch_reasoned_steps", dataset=dataset, user=user)
    return {int(record["t"]) for record in records}
