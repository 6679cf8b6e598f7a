"""Full-ranking evaluation of leave-one-out rows: every real item is a candidate, no sampled negatives.

With `config.exclude_history` the items of each row's full input prefix (not only the `max_len` window the model
reads) are removed from the ranking; padding is never ranked and ties count against the target (gnn.metrics).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import torch
from torch import Tensor

from gnn.config import TrainConfig
from gnn.data import GraphSource, Row, RowCollator, RowSet, SequenceData, resolve_graph_source, split
from gnn.metrics import DEFAULT_KS, per_user_metrics, target_ranks
from gnn.models import Recommender

METRIC_ORDER = ("hr@5", "hr@10", "ndcg@5", "ndcg@10")


@torch.no_grad()
def evaluate_ranks(
    model: Recommender, rows: Sequence[Row] | RowSet, config: TrainConfig, graphs: GraphSource | None = None
) -> Tensor:
    """1-based rank of each row's target among all items, [R] in row order (for per-user statistics).
    `graphs` may be None for the plain-sequence control, as in `train`."""
    source = resolve_graph_source(config.graph_kinds, config.max_len, graphs)
    collate = RowCollator(config.max_len, config.graph_kinds, source)
    device = torch.device(config.device)
    was_training = model.training
    model.eval()
    ranks: list[Tensor] = []
    try:
        for start in range(0, len(rows), config.eval_batch_size):
            chunk = [rows[index] for index in range(start, min(start + config.eval_batch_size, len(rows)))]
            batch = collate(chunk).to(device)
            exclude = [row.history for row in chunk] if config.exclude_history else None
            ranks.append(target_ranks(model.score_all(batch), batch.targets, exclude).cpu())
    finally:
        model.train(was_training)
    return torch.cat(ranks) if ranks else torch.empty(0, dtype=torch.long)


def metrics_from_ranks(ranks: Tensor, ks: Sequence[int] = DEFAULT_KS) -> dict[str, float]:
    """Mean HR@k and NDCG@k over the rows, keys ordered hr@5, hr@10, ndcg@5, ndcg@10."""
    if ranks.numel() == 0:
        raise ValueError("no rows to evaluate")
    means = {name: float(values.mean()) for name, values in per_user_metrics(ranks, ks).items()}
    order = [name for name in METRIC_ORDER if name in means]
    return {name: means[name] for name in order + sorted(set(means) - set(order))}


def evaluate(
    model: Recommender,
    rows: Sequence[Row] | RowSet,
    data: SequenceData,
    config: TrainConfig,
    graphs: GraphSource | None = None,
) -> dict[str, float]:
    """Mean full-ranking HR@{5,10} and NDCG@{5,10} of `model` on `rows` (one row per user for valid/test)."""
    if model.n_items != data.n_items:
        raise ValueError(f"the model ranks {model.n_items} items but {data.dataset} has {data.n_items}")
    return metrics_from_ranks(evaluate_ranks(model, rows, config, graphs))


def evaluate_users(
    model: Recommender, rows: RowSet, users: Collection[int], config: TrainConfig, graphs: GraphSource | None = None
) -> tuple[dict[str, float], dict[int, int]]:
    """`evaluate` over the rows of `users` only, with each user's target rank (one row per user in valid/test),
    so two models scored on the same users can be compared user by user."""
    chosen = rows.of_users(users)
    ranks = evaluate_ranks(model, chosen, config, graphs)
    return metrics_from_ranks(ranks), dict(zip(chosen.users.tolist(), ranks.tolist(), strict=True))


def subset_ranks(ranks: Mapping[int, int], users: Collection[int]) -> tuple[dict[str, float], dict[int, int]]:
    """`evaluate_users` from ranks already computed for every user: the metrics and ranks of `users` alone, with
    no second pass of the model."""
    chosen = {user: rank for user, rank in ranks.items() if user in users}
    if not chosen:
        raise ValueError("no rows to evaluate")
    return metrics_from_ranks(torch.tensor(list(chosen.values()))), chosen


STALLED_BELOW = 1.5
"""A run whose best valid NDCG@10 is under this multiple of the most-popular baseline's has not left the popularity
level: early stopping ended it before it learned anything about order (`stalled`)."""


def stalled(valid_ndcg: float, popularity_valid_ndcg: float) -> bool:
    """Whether a best validation NDCG@10 stayed at the most-popular baseline's level (`STALLED_BELOW`)."""
    return valid_ndcg < STALLED_BELOW * popularity_valid_ndcg


def popularity_scores(data: SequenceData, training: RowSet) -> Tensor:
    """[n_items + 1]: how often each item is the target of a training row (`gnn.data.split`'s, s_1..s_{n-3} of
    each user), the score of the most-popular baseline (POP)."""
    users, ends = training.users.tolist(), training.ends.tolist()
    targets = [data.sequences[user][end] for user, end in zip(users, ends, strict=True)]
    return torch.bincount(torch.tensor(targets, dtype=torch.long), minlength=data.n_items + 1).to(torch.float64)


def popularity_ranks(scores: Tensor, rows: RowSet, exclude_history: bool) -> Tensor:
    """1-based rank of each row's target when every user gets the same list, items by `scores`
    (`popularity_scores`; ties pessimistic as everywhere). This is POP, the level a sequential model sits at
    before it learns anything about order, so a run whose validation stays there has not trained."""
    ranks: list[Tensor] = []
    for start in range(0, len(rows), 512):
        chunk = [rows[index] for index in range(start, min(start + 512, len(rows)))]
        every = scores.unsqueeze(0).expand(len(chunk), -1)  # [B, n_items + 1]
        chosen = torch.tensor([row.target for row in chunk])
        ranks.append(target_ranks(every, chosen, [row.history for row in chunk] if exclude_history else None))
    return torch.cat(ranks) if ranks else torch.empty(0, dtype=torch.long)


def popularity_metrics(data: SequenceData, exclude_history: bool) -> dict[str, dict[str, float]]:
    """POP's full-ranking metrics on the leave-one-out valid and test rows (`popularity_ranks`)."""
    rows = split(data)
    scores = popularity_scores(data, rows.train)
    return {
        stage: metrics_from_ranks(popularity_ranks(scores, stage_rows, exclude_history))
        for stage, stage_rows in (("valid", rows.valid), ("test", rows.test))
    }
