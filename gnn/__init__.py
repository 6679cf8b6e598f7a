"""Graph and sequence encoders for LLMRG: base sequential recommenders, SR-GNN, the fusion model ψ, metrics."""
