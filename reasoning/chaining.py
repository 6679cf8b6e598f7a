"""(a) Chained graph reasoning: ask the LLM which earlier items led the user to each target.

One call covers a window of target positions ([ours]; `reason_steps_per_call`, 1 = the paper's one call
per step). The history block comes first in the user message, so successive calls for one user share a
long identical prefix the server's prompt cache reuses; chains found so far follow, then the targets.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core.settings import Settings
from reasoning.chains import Candidate
from reasoning.context import UserContext, history_block
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


def chaining_messages(
    context: UserContext, settings: Settings, targets: list[int], existing: Iterable[Candidate]
) -> list[Message]:
    prompt = load_prompt(TASK, settings.reasoning.prompt_version)
    user_values = {
        "profile": context.profile_line(),
        "history": history_block(context),
        "chains": chains_block(chain for chain in existing if _within(chain, context)),
        "targets": ", ".join(str(target) for target in targets),
    }
    return prompt.messages(
        user_values,
        max_chains=settings.reasoning.chains_per_step,
        max_premises=settings.reasoning.max_chain_items - 1,
        reason_chars=settings.reasoning.reason_chars,
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
    llm: StructuredLLM, context: UserContext, settings: Settings, targets: list[int], existing: Iterable[Candidate]
) -> ValidationResult:
    """One LLM call for `targets`; raises LLMOutputRejected / LLMUnavailable like `StructuredLLM.ask`."""
    window = settings.reasoning.premise_window
    allowed = {target: list(range(max(0, target - window) if window else 0, target)) for target in targets}
    schema = chaining_schema(settings, allowed)
    answer = llm.ask(chaining_messages(context, settings, targets, existing), schema, ChainingAnswer)
    return validate_answer(
        answer,
        context,
        targets,
        max_chains=settings.reasoning.chains_per_step,
        max_items=settings.reasoning.max_chain_items,
        reason_chars=settings.reasoning.reason_chars,
        recent_positions=settings.kb.recent_positions,
    )
