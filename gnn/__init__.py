"""Graph and sequence encoders for LLMRG: base sequential recommenders, SR-GNN, the fusion model ψ, metrics."""

import warnings

# torch_geometric 2.8 applies torch.jit.script to a class at import time, which this torch deprecates, so every
# command importing the graph stack printed a FutureWarning that is PyG's, not the user's to act on. Exactly
# that message is silenced, before any module here imports torch_geometric.
warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=FutureWarning)
