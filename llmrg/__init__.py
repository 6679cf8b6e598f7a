"""LLMRG: LLM reasoning graphs for sequential recommendation (front door: CLI and settings)."""

__version__ = "0.1.0"
