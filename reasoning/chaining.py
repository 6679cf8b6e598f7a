"""(a) Chained graph reasoning: ask the LLM which earlier items led the user to each target.

One call covers a window of target positions ([ours]; `reason_steps_per_call`, 1 = the paper's one call
per step). The history block comes first in the user message, so successive calls for one user share a
long identical prefix the server's prompt cache reuses; chains found so far follow, then the targets.

Which earlier items a target's chains may use: every position of the premise window (prompt v3), or, for a
prompt that ranks premises (one whose system text names `{candidates}`: v4), only the `premise_candidates`
items of that window most related to the target by the packaged MiniLM embeddings, listed under the target
with their titles. A small model tends to list the items just before the target when it may pick any of 50
numbered lines; a short list of related items asks it to choose among candidates that could explain the
target, and `python -m bench.quality` measures whether its chains then say more than recency.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from core.errors import ConfigError
from core.settings import Settings
from reasoning.chains import Candidate
from reasoning.context import UserContext, history_block, item_line
from reasoning.embeddings import CatalogueIndex
from reasoning.llm import StructuredLLM
from reasoning.prompts import Message, load_prompt
from reasoning.schemas import ChainingAnswer
from reasoning.validation import ValidationResult, validate_answer

TASK = "chain"


def target_windows(context: UserContext, settings: Settings, skip_positions: set[int]) -> list[list[int]]:
    """Local target indices to reason about, in prompt-sized windows. Position 0 has no premises."""
    targets = [local for local in range(1, len(context.window)) if context.item_at(local).pos not in skip_positions]
    if settings.reasoning.max_targets:
        last = len(context.window) - settings.reasoning.max_targets
        targets = [local for local in targets if local >= last]
    size = settings.reasoning.steps_per_call
    return [targets[start : start + size] for start in range(0, len(targets), size)]


def chains_block(chains: Iterable[Candidate]) -> str:
    lines = [
        ">".join(str(local) for local in chain.local_items[:-1]) + f" ({chain.local_items[-1]})"
        for chain in chains
        if chain.local_items
    ]
    return "\n".join(lines) if lines else "none"


def ranks_premises(settings: Settings) -> bool:
    """Whether the run's chaining prompt lists ranked premise candidates under each target."""
    return load_prompt(TASK, settings.reasoning.prompt_version).uses("candidates")


def premise_options(
    context: UserContext,
    settings: Settings,
    targets: Sequence[int],
    catalogue: Callable[[], CatalogueIndex] | None = None,
) -> dict[int, list[int]]:
    """The window indices each target's chains may use, oldest first."""
    window = settings.reasoning.premise_window
    allowed = {target: list(range(max(0, target - window) if window else 0, target)) for target in targets}
    if not ranks_premises(settings):
        return allowed
    if catalogue is None:
        raise ConfigError(
            f"prompt {TASK}/{settings.reasoning.prompt_version} ranks premises by relatedness and needs the "
            "catalogue's embeddings"
        )
    index = catalogue()
    k = settings.reasoning.premise_candidates
    return {target: related_positions(context, index, target, positions, k) for target, positions in allowed.items()}


def related_positions(
    context: UserContext, index: CatalogueIndex, target: int, positions: Sequence[int], k: int
) -> list[int]:
    """The `k` of `positions` whose items are most related to the target's, oldest first. An item chosen twice
    counts once, at its latest position; the target's own item is never offered (ties go to the later item)."""
    target_id = context.item_at(target).id
    latest = {context.item_at(local).id: local for local in positions if context.item_at(local).id != target_id}
    if not latest:
        return list(positions)
    items = list(latest)
    scores = index.similarities(target_id, items)
    ranked = sorted(zip(scores, items, strict=True), key=lambda pair: (-pair[0], -latest[pair[1]]))[:k]
    return sorted(latest[item] for _, item in ranked)


def targets_block(context: UserContext, targets: list[int], allowed: Mapping[int, Sequence[int]] | None) -> str:
    """`3, 4`; or, given the candidates of a ranking prompt, each target with its title and its candidates as
    lines."""
    if allowed is None:
        return ", ".join(str(target) for target in targets)
    blocks = []
    for target, candidates in allowed.items():
        lines = [f"Target {item_line(target, context.item_at(target))}"]
        lines += [f"- {item_line(local, context.item_at(local))}" for local in candidates]
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def chaining_messages(
    context: UserContext,
    settings: Settings,
    targets: list[int],
    existing: Iterable[Candidate],
    allowed: Mapping[int, Sequence[int]] | None = None,
) -> list[Message]:
    """The chaining call's messages; `allowed` (from `premise_options`) is required by a ranking prompt."""
    prompt = load_prompt(TASK, settings.reasoning.prompt_version)
    ranked = prompt.uses("candidates")
    if ranked and allowed is None:
        raise ConfigError(f"prompt {prompt.id} lists premise candidates: pass the allowed positions per target")
    user_values = {
        "profile": context.profile_line(),
        "history": history_block(context),
        "chains": chains_block(chain for chain in existing if _within(chain, context)),
        "targets": targets_block(context, targets, allowed if ranked else None),
    }
    return prompt.messages(
        user_values,
        max_chains=settings.reasoning.chains_per_step,
        max_premises=settings.reasoning.max_chain_items - 1,
        reason_chars=settings.reasoning.reason_chars,
        candidates=settings.reasoning.premise_candidates,
    )


def chaining_schema(settings: Settings, allowed: dict[int, list[int]]) -> dict[str, Any]:
    """One schema entry per target (`prefixItems`): the target is a constant and each link's item an enum of
    the positions allowed before it, so a server that enforces the schema cannot produce a loop, a future
    item or an index outside the history. Validation still checks all of it for servers that do not."""
    prompt = load_prompt(TASK, settings.reasoning.prompt_version)
    steps = [
        prompt.schema(
            "step",
            target=target,
            allowed=items,
            max_chains=settings.reasoning.chains_per_step,
            max_premises=settings.reasoning.max_chain_items - 1,
            reason_chars=settings.reasoning.reason_chars,
        )
        for target, items in allowed.items()
    ]
    return prompt.schema("answer", steps=steps, step_count=len(steps))


def _within(chain: Candidate, context: UserContext) -> bool:
    """Whether the prompt's history shows every item of the chain (knowledge-base chains of later steps in
    the same window are left out: the prompt ends at the window's last LLM target)."""
    return bool(chain.local_items) and max(chain.local_items) < len(context.window)


def propose_chains(
    llm: StructuredLLM,
    context: UserContext,
    settings: Settings,
    targets: list[int],
    existing: Iterable[Candidate],
    catalogue: Callable[[], CatalogueIndex] | None = None,
) -> ValidationResult:
    """One LLM call for `targets`; raises LLMOutputRejected / LLMUnavailable like `StructuredLLM.ask`.

    `catalogue` gives the embeddings a ranking prompt needs (called only then)."""
    allowed = premise_options(context, settings, targets, catalogue)
    schema = chaining_schema(settings, allowed)
    answer = llm.ask(chaining_messages(context, settings, targets, existing, allowed), schema, ChainingAnswer)
    return validate_answer(
        answer,
        context,
        targets,
        max_chains=settings.reasoning.chains_per_step,
        max_items=settings.reasoning.max_chain_items,
        reason_chars=settings.reasoning.reason_chars,
        recent_positions=settings.kb.recent_positions,
        allowed=allowed,
    )
