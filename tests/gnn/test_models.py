"""Every base model and the fusion model must memorise the toy dataset; contracts hold for all of them."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gnn.batch import SequenceBatch
from gnn.metrics import ranking_metrics
from gnn.models import MODELS, BERT4Rec, LLMRGFusion, Recommender, build_model
from tests.gnn.toy import MAX_LEN, N_ITEMS

pytestmark = pytest.mark.unit

HIDDEN = 32
STEPS = 200
BASES = sorted(MODELS)
FUSIONS = [("duorec", ("rea", "div")), ("duorec", ("rea",)), ("sasrec", ("seq",)), ("bert4rec", ("rea", "div"))]


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def make(name: str, item_features: torch.Tensor, kinds: tuple[str, ...] = ()) -> Recommender:
    base = build_model(name, N_ITEMS, MAX_LEN, HIDDEN, 0.1, item_features, n_features=5)
    return LLMRGFusion(base, kinds) if kinds else base


def eval_cross_entropy(model: Recommender, batch: SequenceBatch) -> float:
    model.eval()
    with torch.no_grad():
        value = float(F.cross_entropy(model.score_all(batch)[:, 1:], batch.targets - 1))
    model.train()
    return value


def train(model: Recommender, batch: SequenceBatch, steps: int) -> list[float]:
    optimiser = torch.optim.Adam(model.parameters(), lr=5e-3)
    model.train()
    losses = []
    for _ in range(steps):
        loss = model.loss(batch)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
    return losses


CASES = [(name, ()) for name in BASES] + FUSIONS


@pytest.mark.parametrize(("name", "kinds"), CASES, ids=["+".join((name, *kinds)) for name, kinds in CASES])
def test_model_memorises_the_toy_dataset(
    name: str, kinds: tuple[str, ...], toy_batch: SequenceBatch, item_features: torch.Tensor
) -> None:
    torch.manual_seed(0)
    model = make(name, item_features, kinds)
    before = eval_cross_entropy(model, toy_batch)
    losses = train(model, toy_batch, STEPS)
    after = eval_cross_entropy(model, toy_batch)
    assert before > 1.8  # about log(8): the untrained model knows nothing
    assert after < before / 5
    # BERT4Rec's training loss keeps its cloze term: a randomly masked history item of this toy data is
    # unpredictable, so its floor is high; the next-item cross entropy above still has to fall.
    factor = 1.5 if name == "bert4rec" and not kinds else 5.0
    assert sum(losses[-10:]) / 10 < losses[0] / factor
    model.eval()
    with torch.no_grad():
        metrics = ranking_metrics(model.score_all(toy_batch), toy_batch.targets, ks=(1,))
    assert metrics["hr@1"] == 1.0


@pytest.mark.parametrize("name", BASES)
def test_score_all_hides_padding_and_the_mask_token(
    name: str, toy_batch: SequenceBatch, item_features: torch.Tensor
) -> None:
    torch.manual_seed(0)
    for model in (make(name, item_features), make(name, item_features, ("rea", "div", "seq"))):
        model.eval()
        with torch.no_grad():
            scores = model.score_all(toy_batch)
        assert scores.shape == (toy_batch.size, N_ITEMS + 1)
        assert bool(torch.isneginf(scores[:, 0]).all())
        assert bool(torch.isfinite(scores[:, 1:]).all())
        loss = model.loss(toy_batch)
        assert loss.dim() == 0 and bool(torch.isfinite(loss))


def test_bert4rec_keeps_a_mask_row_outside_the_ranking(toy_batch: SequenceBatch) -> None:
    model = BERT4Rec(N_ITEMS, MAX_LEN, hidden=HIDDEN)
    assert model.item_embedding.num_embeddings == N_ITEMS + 2
    assert model.item_table.shape == (N_ITEMS, HIDDEN)
    assert model.mask_id == N_ITEMS + 1


@pytest.mark.parametrize("name", BASES)
def test_padding_width_does_not_change_the_representation(
    name: str, toy_batch: SequenceBatch, item_features: torch.Tensor
) -> None:
    torch.manual_seed(0)
    model = make(name, item_features)
    model.eval()
    assert toy_batch.items.size(1) < MAX_LEN
    wider = SequenceBatch(items=F.pad(toy_batch.items, (0, 1)), lengths=toy_batch.lengths, targets=toy_batch.targets)
    with torch.no_grad():
        assert torch.allclose(model.encode(toy_batch), model.encode(wider), atol=1e-5)


@pytest.mark.parametrize(
    ("name", "kinds"), [("bert4rec", ()), ("cl4srec", ()), ("duorec", ()), ("duorec", ("rea", "div"))]
)
def test_the_same_seed_gives_the_same_losses(
    name: str, kinds: tuple[str, ...], toy_batch: SequenceBatch, item_features: torch.Tensor
) -> None:
    runs = []
    for _ in range(2):
        torch.manual_seed(7)
        runs.append(train(make(name, item_features, kinds), toy_batch, 3))
    assert runs[0] == runs[1]
    torch.manual_seed(8)
    assert train(make(name, item_features, kinds), toy_batch, 3) != runs[0]


def test_build_model_names_the_unknown_model_and_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown model 'gru4rec'; known models: bert4rec, cl4srec, duorec, fdsa"):
        build_model("gru4rec", N_ITEMS, MAX_LEN, HIDDEN, 0.1, None)
    with pytest.raises(ValueError, match="fdsa needs item_features"):
        build_model("fdsa", N_ITEMS, MAX_LEN, HIDDEN, 0.1, None)
    assert all(
        isinstance(build_model(name, N_ITEMS, MAX_LEN, HIDDEN, 0.2, None), MODELS[name])
        for name in MODELS
        if name != "fdsa"
    )


def test_targets_outside_the_catalogue_are_refused(toy_batch: SequenceBatch) -> None:
    model = build_model("sasrec", N_ITEMS, MAX_LEN, HIDDEN, 0.1, None)
    bad = SequenceBatch(items=toy_batch.items, lengths=toy_batch.lengths, targets=torch.zeros_like(toy_batch.targets))
    with pytest.raises(ValueError, match=r"targets must be item ids in 1\.\.8"):
        model.loss(bad)


def test_sequences_longer_than_max_len_are_refused(toy_batch: SequenceBatch) -> None:
    model = build_model("sasrec", N_ITEMS, 4, HIDDEN, 0.1, None)
    with pytest.raises(ValueError, match="exceeds max_len 4"):
        model.encode(toy_batch)


def test_fdsa_pools_an_item_without_attributes_to_zero(item_features: torch.Tensor) -> None:
    features = item_features.clone()
    features[3] = 0
    model = build_model("fdsa", N_ITEMS, MAX_LEN, HIDDEN, 0.1, features, n_features=5)
    pooled = model.pooled_features(torch.tensor([[3, 1, 0]]))  # type: ignore[operator]
    assert torch.equal(pooled[0, 0], torch.zeros(HIDDEN))
    assert torch.equal(pooled[0, 2], torch.zeros(HIDDEN))
    assert float(pooled[0, 1].detach().abs().sum()) > 0
    with pytest.raises(ValueError, match=r"\[n_items \+ 1, F\]"):
        build_model("fdsa", N_ITEMS, MAX_LEN, HIDDEN, 0.1, features[1:], n_features=5)
    with pytest.raises(ValueError, match=r"0\.\.n_features"):
        build_model("fdsa", N_ITEMS, MAX_LEN, HIDDEN, 0.1, features, n_features=4)
