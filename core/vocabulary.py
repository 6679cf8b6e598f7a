"""One vocabulary of names: every string that two rooms (or the graph and the code) must spell the same way.

Chain kinds and statuses are stored on `(:Chain)` nodes, variants name training runs and their folders,
model names appear in commands and result files, task and queue names travel through Redis. A name that
lives here is imported, never typed again, so a rename is one edit and a typo is an import error.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, get_args

from core.errors import ConfigError


class ChainKind(StrEnum):
    REASONING = "reasoning"
    """From chained reasoning over the user's history (G_rea)."""
    DIVERGENT = "divergent"
    """A reasoning chain extended past the history into an imagined, catalogue-mapped item (G_div)."""
    PAIR = "pair"
    """One link a -> b between two items many users chose in that order, reasoned about without a user
    (`llmrg kb warm`): never linked to a user itself, it is knowledge-base knowledge through its causal edge."""


class ChainStatus(StrEnum):
    VERIFIED = "verified"
    """Passed self-verification: enters the user's graphs and may be reused from the knowledge base."""
    UNVERIFIED = "unverified"
    """Accepted without verification (`--no-verify`): used for this user, never reused from the KB."""
    REJECTED = "rejected"
    """Failed verification; kept (with PROPOSED links) for the w/o-verification control."""
    RETIRED = "retired"
    """Once verified, failed a later re-verification by the knowledge-base refresh."""


class GraphKind(StrEnum):
    """The graphs a training row can carry, one SR-GNN readout each."""

    SEQUENCE = "seq"
    """SR-GNN's session graph of the plain history: the paper's no-LLM control."""
    REASONING = "rea"
    DIVERGENT = "div"


# The tables below hold plain strings (the enums' values): they travel as Cypher parameters, config fields and
# JSON keys, where an enum member would print as `<GraphKind.SEQUENCE: 'seq'>`.

GRAPH_OF_CHAIN: dict[str, str] = {
    ChainKind.REASONING.value: GraphKind.REASONING.value,
    ChainKind.DIVERGENT.value: GraphKind.DIVERGENT.value,
}
"""The graph a stored chain's kind feeds."""

ACCEPTED_STATUSES: tuple[str, ...] = (ChainStatus.VERIFIED.value,)
"""Chains that enter LLMRG's graphs."""
UNFILTERED_STATUSES: tuple[str, ...] = (
    ChainStatus.VERIFIED.value,
    ChainStatus.UNVERIFIED.value,
    ChainStatus.REJECTED.value,
)
"""The "w/o verification" control: every chain proposed for the user, whatever verification said, and the
'unverified' ones of a `--no-verify` reasoning run (rejected chains reach their users by PROPOSED links)."""


class Placebo(StrEnum):
    """The knowledge-base variant's controls: what of its graphs a placebo draws at random."""

    SOURCES = "sources"
    """Each edge keeps its target and step; its source is drawn from the same window."""
    EDGES = "edges"
    """Each user keeps at most the number of edges (draws landing on one pair merge); each edge's step, and so its
    target, and its source are drawn."""


@dataclass(frozen=True)
class Variant:
    """A training variant: which graphs feed the fusion and which chains those graphs admit."""

    name: str
    """Stable: the run folder, the `variant` of result.json and the key results are grouped by."""
    label: str
    """How tables and plots show it."""
    graph_kinds: tuple[str, ...]
    statuses: tuple[str, ...] = ACCEPTED_STATUSES
    edges_from: Literal["chains", "knowledge_base"] = "chains"
    """Where G_rea's edges come from: the chains reasoned for each user (the paper's method), or the knowledge
    base's verified causal edges a -> b, placed in every user's graph at each step b with a among the l_tru items
    before it (no call for that user; `gnn.knowledge_base.knowledge_base_graph`)."""
    placebo: Placebo | None = None
    """A control of the knowledge-base variant (`gnn.knowledge_base`). `SOURCES`: every edge keeps its target and
    its step, but its source is an item drawn at random from the same window before the step (the quality
    harness's random-premise placebo). The same rows see edges, about as many (draws landing on one pair merge),
    and no LLM chose which earlier item explains the target. `EDGES`: every user keeps at most the number of
    edges, and each edge's step is drawn too, so neither which items get an in-edge nor where is the knowledge
    base's: what the knowledge base's choice of targets adds over a random sparse graph of about the same size is
    the gap between the two placebos."""


VARIANTS: dict[str, Variant] = {
    variant.name: variant
    for variant in (
        Variant("base", "base", ()),
        Variant("seq", "+SR-GNN (sequence graph)", (GraphKind.SEQUENCE,)),
        Variant("llmrg", "+LLMRG", (GraphKind.REASONING, GraphKind.DIVERGENT)),
        Variant("llmrg-no-div", "+LLMRG w/o divergent", (GraphKind.REASONING,)),
        Variant(
            "llmrg-no-verify",
            "+LLMRG w/o verification",
            (GraphKind.REASONING, GraphKind.DIVERGENT),
            UNFILTERED_STATUSES,
        ),
        Variant("llmrg-kb", "+LLMRG (knowledge-base edges)", (GraphKind.REASONING,), edges_from="knowledge_base"),
        Variant(
            "llmrg-kb-placebo",
            "+LLMRG (knowledge-base edges, random sources)",
            (GraphKind.REASONING,),
            edges_from="knowledge_base",
            placebo=Placebo.SOURCES,
        ),
        Variant(
            "llmrg-kb-random",
            "+LLMRG (random edges, as many as the knowledge base's)",
            (GraphKind.REASONING,),
            edges_from="knowledge_base",
            placebo=Placebo.EDGES,
        ),
    )
}


def variant(name: str) -> Variant:
    if name not in VARIANTS:
        raise ConfigError(f"unknown variant {name!r}; known: {', '.join(VARIANTS)}")
    return VARIANTS[name]


ModelName = Literal["sasrec", "bert4rec", "fdsa", "cl4srec", "duorec"]
"""The base sequential recommenders, one file each in `gnn/models/`."""
MODEL_NAMES: tuple[str, ...] = get_args(ModelName)


class TaskName(StrEnum):
    """Celery task names: what a client sends and a worker registers."""

    REASON_USER = "llmrg.reason_user"
    FINISH_RUN = "llmrg.finish_run"
    REASON_USERS = "llmrg.reason_users"
    REFRESH_KNOWLEDGE_BASE = "llmrg.refresh_knowledge_base"
    VERIFY_CHAIN = "llmrg.verify_chain"
    TRAIN = "llmrg.train"


class QueueName(StrEnum):
    REASONING = "reasoning"
    """LLM-bound tasks."""
    DEFAULT = "celery"
    """Light bookkeeping (finishing runs, planning refreshes): Celery's default queue."""
    TRAINING = "training"
    """Long GPU/CPU-bound runs; a worker consumes it only when asked (`llmrg worker --queues training`)."""


TASK_QUEUES: dict[TaskName, QueueName] = {
    TaskName.REASON_USER: QueueName.REASONING,
    TaskName.VERIFY_CHAIN: QueueName.REASONING,
    TaskName.TRAIN: QueueName.TRAINING,
}
"""Where a task is routed; any other goes to the default queue."""
