"""Serving a trained run: top-k next items for one user, each with the reasoning path that explains it.

`Recommender.load` reads the run's best checkpoint and item table once; `recommend` then costs three small
Neo4j reads (the user's items; the user's chains, or for the knowledge-base variant the causal edges among the
user's items; explanations for the k candidates) and one forward pass, so it is fast enough for interactive use
(measured by `bench/recommend.py`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import torch

from core.errors import ConfigError, UnknownDatasetError
from core.gateway import Neo4jGateway
from core.settings import Settings
from core.vocabulary import GRAPH_OF_CHAIN, GraphKind, Variant
from gnn import checkpoint
from gnn.batch import SequenceBatch
from gnn.config import TrainConfig
from gnn.data import SequenceData, resolve_graph_source
from gnn.export import ReasoningGraphSource, UserEdges, add_chain, as_edges
from gnn.knowledge_base import causal_indices, knowledge_base_edges
from gnn.models import Recommender as Model
from gnn.pipeline import ITEM_TABLE, kb_window, run_dir
from gnn.train import build_recommender


@dataclass
class Recommender:
    settings: Settings
    dataset: str
    variant: Variant
    config: TrainConfig
    model: Model
    item_ids: torch.Tensor
    titles: dict[int, str]
    index_of: dict[int, int]
    """Catalogue id -> model index, built once at load, not per request."""

    @classmethod
    def load(
        cls, db: Neo4jGateway, settings: Settings, dataset: str, model: str, variant: Variant, seed: int
    ) -> Recommender:
        if variant.placebo:
            raise ConfigError(f"{variant.name} is a control trained on random graphs, not a model to recommend with")
        folder = run_dir(settings, dataset, model, variant, seed)
        best, table_path = folder / checkpoint.BEST, folder / ITEM_TABLE
        if not best.is_file() or not table_path.is_file():
            raise ConfigError(f"no trained model in {folder}; run `llmrg train` with the same options first")
        saved = checkpoint.load(best, torch.device("cpu"))
        config = TrainConfig.model_validate(saved["config"]).model_copy(update={"device": "cpu"})
        table = checkpoint.load(table_path, torch.device("cpu"))
        data = SequenceData(
            dataset=dataset,
            n_items=int(table["item_ids"].numel()),
            sequences={},
            item_features=table["item_features"],
            n_features=int(table["n_features"]),
        )
        network = build_recommender(data, config)
        network.load_state_dict(saved["model"])
        network.eval()
        titles = {
            int(record["id"]): str(record["title"]) for record in db.run("reasoning/fetch_catalogue", dataset=dataset)
        }
        index_of = {int(item): index for index, item in enumerate(table["item_ids"].tolist(), start=1)}
        return cls(settings, dataset, variant, config, network, table["item_ids"], titles, index_of)

    def recommend(self, db: Neo4jGateway, user: int, k: int, include_seen: bool = False) -> dict[str, Any]:
        started = time.perf_counter()
        records = db.run("recommend/fetch_user_items", dataset=self.dataset, user=user)
        if not records:
            raise UnknownDatasetError(f"user {user} does not exist in dataset {self.dataset!r}")
        history_ids = [int(item) for item in records[0]["items"]]
        history = model_indices(history_ids, self.index_of, user)
        graphs = self.graphs_for(db, user, history, history_ids)
        batch = SequenceBatch.from_lists([history], [history[-1]], self.config.max_len, graphs)
        with torch.no_grad():
            scores = self.model.score_all(batch)[0]  # [n_items + 1], column 0 already -inf
        if not include_seen:
            scores[torch.tensor(history)] = float("-inf")
        top = torch.topk(scores, k=min(k, int(torch.isfinite(scores).sum()))).indices.tolist()
        items = [int(self.item_ids[index - 1]) for index in top]
        explanations = self._explain(db, user, items, history_ids)
        return {
            "user": user,
            "dataset": self.dataset,
            "variant": self.variant.name,
            "items": [
                {
                    "item": item,
                    "title": self.titles.get(item, f"item {item}"),
                    "score": float(scores[index]),
                    "explanation": explanations.get(item),
                }
                for item, index in zip(items, top, strict=True)
            ],
            "ms": round(1000 * (time.perf_counter() - started), 1),
        }

    def graphs_for(
        self, db: Neo4jGateway, user: int, history: list[int], history_ids: list[int]
    ) -> dict[str, list[Any]] | None:
        """The user's G_rea / G_div (or sequence graph) as the model takes them (`history` in model indices,
        `history_ids` the same items' catalogue ids); None for a base model."""
        if not self.config.graph_kinds:
            return None
        edges = (
            self._knowledge_base_edges(db, user, history, history_ids)
            if self.variant.edges_from == "knowledge_base"
            else self._chain_edges(db, user)
        )
        kinds = tuple(kind for kind in self.config.graph_kinds if kind != GraphKind.SEQUENCE.value)
        source = resolve_graph_source(self.config.graph_kinds, self.config.max_len, ReasoningGraphSource(edges, kinds))
        assert source is not None
        return {kind: [graph_] for kind, graph_ in source.graphs(user, history).items()}

    def _chain_edges(self, db: Neo4jGateway, user: int) -> dict[str, dict[int, UserEdges]]:
        earliest: dict[str, dict[tuple[int, int], int]] = {kind: {} for kind in GRAPH_OF_CHAIN.values()}
        for record in db.run(
            "recommend/fetch_user_chains",
            dataset=self.dataset,
            user=user,
            statuses=list(self.variant.statuses),
        ):
            add_chain(earliest[GRAPH_OF_CHAIN[str(record["kind"])]], record["items"], int(record["t"]), self.index_of)
        return {kind: {user: as_edges(found)} for kind, found in earliest.items()}

    def _knowledge_base_edges(
        self, db: Neo4jGateway, user: int, history: list[int], history_ids: list[int]
    ) -> dict[str, dict[int, UserEdges]]:
        """G_rea as the knowledge-base variant trained on it: the causal edges among the user's items."""
        causal = causal_indices(history_causal_edges(db, self.dataset, history_ids), self.index_of)
        window = kb_window(self.settings, self.dataset)
        return {"rea": knowledge_base_edges({user: history}, causal, window), "div": {}}

    def _explain(self, db: Neo4jGateway, user: int, items: list[int], history: list[int]) -> dict[int, dict[str, Any]]:
        return explain_items(db, self.dataset, user, items, history)


def model_indices(history_ids: list[int], index_of: Mapping[int, int], user: int) -> list[int]:
    """The user's items as model indices. An item added after the model was trained has no embedding, and
    leaving it out would shift the stamps of the user's chains, so it is an error that names the items."""
    unknown = sorted({item for item in history_ids if item not in index_of})
    if unknown:
        shown = ", ".join(map(str, unknown[:10])) + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
        raise ConfigError(
            f"user {user} has interacted with {len(unknown)} item(s) the model was not trained on ({shown}); "
            "retrain it with `llmrg train` so that they have embeddings"
        )
    return [index_of[item] for item in history_ids]


def history_causal_edges(db: Neo4jGateway, dataset: str, items: list[int]) -> list[tuple[int, int]]:
    """The knowledge base's causal edges (source, target) whose two items are both among `items` (catalogue ids),
    sorted: every edge the knowledge-base variant could place in a graph over those items."""
    rows = db.run("recommend/fetch_history_causal_edges", dataset=dataset, items=sorted(set(items)))
    return [(int(row["source"]), int(row["target"])) for row in rows]


def explain_items(
    db: Neo4jGateway, dataset: str, user: int, items: list[int], history: list[int]
) -> dict[int, dict[str, Any]]:
    """The reasoning path that explains each of `items` after `history` (items without one are absent):
    `source` says whether it is this user's own reasoning ("user") or the knowledge base ("knowledge_base"),
    `support` how many verifications back it; `chain` or `edge` names the stored chain or causal edge."""
    records = db.run("recommend/explain_items", dataset=dataset, user=user, items=items, history=history)
    return {
        int(record["item"]): {
            "source": record["source"],
            "chain": record["chain"],
            "edge": record["edge"],
            "kind": record["kind"],
            "score": record["score"],
            "support": int(record["support"]),
            "path": [
                {"item": int(item), "title": title}
                for item, title in zip(record["items"], record["titles"], strict=True)
            ],
            "reasons": list(record["reasons"]),
        }
        for record in records
    }


def describe_explanation(explanation: dict[str, Any] | None) -> str:
    """One line for a table: `A -[reason]-> B -[reason]-> item`, or that there is no reasoning path."""
    if explanation is None:
        return "no reasoning path"
    titles = [str(step["title"]) for step in explanation["path"]]
    return titles[0] + "".join(
        f" -[{reason}]-> {title}" for reason, title in zip(explanation["reasons"], titles[1:], strict=True)
    )


def explanation_sentence(explanation: dict[str, Any]) -> str:
    """A reasoning path as a person reads it: "You watched A, then B: <reason>; B → C: <reason>", with where
    it comes from and how many verifications back it."""
    titles = [str(step["title"]) for step in explanation["path"]]
    reasons = list(explanation["reasons"])
    if len(titles) == 2:
        text = f"You watched {titles[0]}, so {titles[1]}: {reasons[0]}"
    else:
        text = f"You watched {titles[0]}, then {titles[1]}: {reasons[0]}" + "".join(
            f"; {a} → {b}: {reason}" for (a, b), reason in zip(pairwise(titles[1:]), reasons[1:], strict=True)
        )
    where = "your own reasoning" if explanation["source"] == "user" else "the knowledge base"
    support = explanation["support"]
    return f"{text} ({where}, {support} verification{'s' if support != 1 else ''})"
