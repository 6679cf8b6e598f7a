"""Neo4j lost at a chosen write of the reasoning engine, once: the cut-off a killed worker or a restarted
database leaves behind, placed exactly."""

from __future__ import annotations

from typing import Any

import neo4j
import pytest

from reasoning import store


def lose_neo4j_inside_an_extension(monkeypatch: pytest.MonkeyPatch) -> None:
    """The divergent extension's first chain is stored; Neo4j goes away at its second (then writes work again)."""
    write_chain, written = store.write_chain, []

    def cut(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("imagined") is not None:
            if written:
                monkeypatch.setattr(store, "write_chain", write_chain)
                raise neo4j.exceptions.ServiceUnavailable("Neo4j went away inside the extension")
            written.append(1)
        return write_chain(*args, **kwargs)

    monkeypatch.setattr(store, "write_chain", cut)
