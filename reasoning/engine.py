"""φ for one dataset: knowledge-base lookups, chaining, verification and storage, user by user.

The engine is synchronous and stateless between users apart from its counters, so the in-process CLI
and (later) Celery tasks call the same `reason_user`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from core.errors import ConfigError
from core.gateway import Neo4jGateway
from core.settings import Settings, for_dataset
from core.vocabulary import ChainKind, ChainStatus
from reasoning import chaining, divergent, knowledge_base, multiple_choice, store, verification
from reasoning.chains import Candidate, Rejection, ScoredChain
from reasoning.context import UserContext, load_context
from reasoning.embeddings import CatalogueIndex
from reasoning.llm import LLMOutputRejected, LLMUnavailable, LLMUsage, StructuredLLM


@dataclass
class ReasonStats:
    users: int = 0
    steps: int = 0
    steps_already_done: int = 0
    steps_failed: int = 0
    kb_hits: int = 0
    kb_edge_hits: int = 0
    """Steps whose chains missed, answered by knowledge-base edges (`kb_hits` counts whole-chain hits)."""
    kb_edge_hits_warm_start: int = 0
    """Of `kb_edge_hits`, the steps an edge of the warm start's item pairs helped answer (`llmrg kb warm`)."""
    kb_misses: int = 0
    chains_proposed: int = 0
    chains_verified: int = 0
    chains_unverified: int = 0
    chains_rejected: int = 0
    chains_reused: int = 0
    divergent_chains: int = 0
    verify_questions: int = 0
    verify_calls: int = 0
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    llm: LLMUsage = field(default_factory=LLMUsage)
    wall_s: float = 0.0
    window_start: dict[str, float] | None = field(default=None, repr=False, compare=False)
    """The outcome counters when the open window's LLM part began (None between windows): see `as_cut_off_json`."""
    unanswered: Counter[str] = field(default_factory=Counter, repr=False, compare=False)
    """Outcomes counted in windows left unanswered, which a rerun asks again."""

    def open_window(self) -> None:
        """A window's LLM part begins: what it counts is provisional until the window is marked answered."""
        self.window_start = self.outcomes()

    def kept_since(self, mark: dict[str, float]) -> dict[str, float]:
        """What was counted since `mark` was written for good inside the open window (a divergent chain: a
        rerun does not extend a window again once any of its extension is stored); returns a new mark."""
        now = self.outcomes()
        if self.window_start is not None:
            for name, value in now.items():
                self.window_start[name] += value - mark[name]
        return now

    def close_window(self, answered: bool) -> None:
        """The open window ends; if it was not answered, a rerun asks it again and counts it again."""
        if self.window_start is not None and not answered:
            now = self.outcomes()
            self.unanswered.update({name: now[name] - self.window_start[name] for name in now})
        self.window_start = None

    def as_cut_off_json(self) -> dict[str, Any]:
        """What an attempt cut off part-way counts: every LLM call it paid for, but only the outcomes it stored
        for good. A rerun asks the window that was cut off, and any window left unanswered, again whole and
        counts their steps and chains itself; counting them here too would count them twice in a run's totals.
        Knowledge-base reuses and divergent chains already written are kept: a rerun takes them as done."""
        now = self.as_json()
        provisional = Counter(self.unanswered)
        if self.window_start is not None:
            provisional.update({name: value - self.window_start[name] for name, value in self.outcomes().items()})
        return {name: value - provisional[name] if name in provisional else value for name, value in now.items()}

    def outcomes(self) -> dict[str, float]:
        """The numeric counters that are not costs: what a cut-off can leave provisional."""
        return {
            name: value
            for name, value in self.as_json().items()
            if name not in COSTS and isinstance(value, int | float)
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "steps": self.steps,
            "steps_already_done": self.steps_already_done,
            "steps_failed": self.steps_failed,
            "llm_calls": self.llm.calls,
            "llm_retries": self.llm.retries,
            "llm_failures": self.llm.failures,
            "prompt_tokens": self.llm.prompt_tokens,
            "completion_tokens": self.llm.completion_tokens,
            "kb_hits": self.kb_hits,
            "kb_edge_hits": self.kb_edge_hits,
            "kb_edge_hits_warm_start": self.kb_edge_hits_warm_start,
            "kb_misses": self.kb_misses,
            "chains_proposed": self.chains_proposed,
            "chains_verified": self.chains_verified,
            "chains_unverified": self.chains_unverified,
            "chains_rejected": self.chains_rejected,
            "chains_reused": self.chains_reused,
            "divergent_chains": self.divergent_chains,
            "questions_per_call": round(self.verify_questions / self.verify_calls, 3) if self.verify_calls else None,
            "rejected_by_reason": dict(sorted(self.rejected_by_reason.items())),
            "wall_s": round(self.wall_s, 3),
        }


COSTS = frozenset(
    {
        "llm_calls",
        "llm_retries",
        "llm_failures",
        "prompt_tokens",
        "completion_tokens",
        "verify_questions",
        "verify_calls",
        "questions_per_call",
        "wall_s",
    }
)
"""The keys of `ReasonStats.as_json()` that count work paid for, kept whether or not its result was stored."""


class ReasoningEngine:
    """Reasons user by user. `divergent_llm` and `catalogue` (built lazily, once) enable module (b)."""

    def __init__(
        self,
        db: Neo4jGateway,
        settings: Settings,
        llm: StructuredLLM,
        dataset: str,
        *,
        divergent_llm: StructuredLLM | None = None,
        catalogue: Callable[[], CatalogueIndex] | None = None,
        raise_unavailable: bool = False,
    ) -> None:
        self.db = db
        self.raise_unavailable = raise_unavailable
        """Workers set this: an unreachable LLM ends the user's task (Celery retries it later, and the
        answered steps are kept) instead of skipping steps one by one."""
        self.settings = settings
        self.llm = llm
        self.divergent_llm = divergent_llm
        self._catalogue_factory = catalogue
        self._catalogue: CatalogueIndex | None = None
        self.dataset = dataset
        self.tau = for_dataset(settings.verify.tau, dataset)
        self.stats = ReasonStats(llm=llm.usage)

    def reason_user(self, user: int) -> int:
        """Reason for every unanswered step of the user's window; returns the history length reasoned over."""
        started = time.perf_counter()
        try:
            context = load_context(self.db, self.settings, self.dataset, user)
            done = store.reasoned_positions(self.db, self.dataset, user)
            self.stats.steps_already_done += sum(1 for item in context.window[1:] if item.pos in done)
            windows = chaining.target_windows(context, self.settings, done)
            known = _answered_chains(self.db, context, done) if windows else []
            for window in windows:
                remaining = [local for local in window if not self._reuse(context, local, known)]
                if not remaining:
                    continue
                self.stats.open_window()
                self._count_misses(len(remaining))
                seen = context.up_to(max(remaining))
                created, answered = self._reason_window(seen, remaining, known)
                if answered and created and self._extends(context, window):
                    answered = self._diverge(seen, created[-self.settings.divergent.max_chains :])
                if answered:  # only after module (b): a window cut off before its extension is asked again whole
                    positions = [seen.item_at(local).pos for local in remaining]
                    store.mark_reasoned(self.db, self.dataset, context.user, positions)
                self.stats.close_window(answered)
            self.stats.users += 1
        finally:  # an attempt cut off part-way paid for its time as well (`COSTS`)
            self.stats.wall_s += time.perf_counter() - started
        return context.window[-1].pos + 1 if context.window else 0

    def _count_misses(self, steps: int) -> None:
        """Count the steps the knowledge base did not answer with the window that asks the LLM about them, so
        they are provisional with it (`ReasonStats.as_cut_off_json`)."""
        self.stats.steps += steps
        if self.settings.kb.enabled:
            self.stats.kb_misses += steps

    def _reuse(self, context: UserContext, local: int, known: list[Candidate]) -> bool:
        """Link knowledge-base chains for this step instead of calling the LLM; True on a hit (a miss is
        counted by `_count_misses`)."""
        if not self.settings.kb.enabled:
            return False
        hits = knowledge_base.lookup(self.db, self.settings, context, local)
        if not hits:
            return self._reuse_edges(context, local, known)
        self.stats.steps += 1
        self.stats.kb_hits += 1
        for hit in hits:
            store.link_reused_chain(self.db, self.dataset, context.user, hit.chain_id, hit.t)
            self.stats.chains_reused += 1
            known.append(
                Candidate(
                    dataset=self.dataset,
                    kind=ChainKind.REASONING,
                    premises=hit.items[:-1],
                    target=hit.items[-1],
                    reasons=(),
                    t=hit.t,
                    recent_premises=(),
                    local_items=(*(_last_before(context, item, local) for item in hit.items[:-1]), local),
                )
            )
        return True

    def _reuse_edges(self, context: UserContext, local: int, known: list[Candidate]) -> bool:
        """Link one-link chains from knowledge-base edges into this step; True on a hit."""
        edges = knowledge_base.lookup_edges(self.db, self.settings, context, local) if self.settings.kb.edges else []
        if not edges:
            return False
        self.stats.steps += 1
        self.stats.kb_edge_hits += 1
        self.stats.kb_edge_hits_warm_start += any(edge.pair_support for edge in edges)
        for edge in edges:
            store.link_edge_chain(
                self.db,
                self.dataset,
                context.user,
                edge,
                model=self.settings.llm.model,
                prompt_version=self.settings.reasoning.prompt_version,
            )
            self.stats.chains_reused += 1
            known.append(edge.candidate(self.dataset, (_last_before(context, edge.source, local), local)))
        return True

    def _reason_window(
        self, context: UserContext, targets: list[int], known: list[Candidate]
    ) -> tuple[list[Candidate], bool]:
        """Chain, verify and store one window; returns the chains accepted for this user, and whether the
        window is answered (the caller marks it so once nothing else is left to write for it).

        `context` ends at the window's last target: the prompts show nothing later. Every chain of the window
        is stamped with that last target's position (not its own target's), because the one prompt that
        proposed it showed the user up to there: the graph of a prefix S_u[:L] keeps chains with t < L, so
        no training row sees a chain chosen by an LLM that saw the row's own target."""
        seen_until = context.window[-1].pos
        try:
            result = chaining.propose_chains(self.llm, context, self.settings, targets, known, self._catalogue_index)
        except LLMOutputRejected:
            self.stats.rejected_by_reason[Rejection.MALFORMED_OUTPUT.value] += 1
            self.stats.steps_failed += len(targets)
            return [], True
        except LLMUnavailable:
            if self.raise_unavailable:
                raise
            self.stats.steps_failed += len(targets)
            return [], False
        self.stats.chains_proposed += result.proposed
        self._count_rejections(result.rejected)
        candidates = [replace(candidate, t=seen_until) for candidate in result.candidates]
        if self.settings.verify.style == "lettered":
            scored, unverifiable = self._verify_choices(context, candidates)
        else:
            questions = verification.mask_questions(candidates, context, self.settings.verify.masks)
            scored, unverifiable = self._verify(context, candidates, questions, None)
        accepted = [self._store(context, chain) for chain in scored]
        created = [chain for chain in accepted if chain is not None]
        known += created
        if unverifiable:  # asked again whole on a rerun, knowledge base or not: a user's own chains are not reused
            self.stats.steps_failed += len(targets)
            return created, False
        return created, True

    def _catalogue_index(self) -> CatalogueIndex:
        """The catalogue's embeddings, built on first use (divergent mapping, a chaining prompt that ranks)."""
        if self._catalogue is None:
            if self._catalogue_factory is None:
                raise ConfigError("this engine was built without the catalogue's embeddings")
            self._catalogue = self._catalogue_factory()
        return self._catalogue

    def _extends(self, context: UserContext, window: list[int]) -> bool:
        """Whether module (b) runs for `window`: it is on, and no earlier attempt, cut off before the window was
        marked answered, wrote part of its extension already. Any of the window's steps is looked at, not only
        the stamp this attempt would use: a knowledge-base hit for the window's last target since that attempt
        moves the stamp to an earlier step, and the window would be extended twice."""
        if not self.settings.divergent.enabled or self.divergent_llm is None:
            return False
        positions = [context.item_at(local).pos for local in window]
        return store.divergent_links_within(self.db, self.dataset, context.user, positions) == 0

    def _diverge(self, context: UserContext, chains: list[Candidate]) -> bool:
        """Module (b) for this user's new chains: one imagination call, then verification and storage; False
        when the imagination call could not reach the LLM, so the window is asked again on a rerun. Imagined
        chains whose verification failed are dropped, not asked again: a rerun would imagine other items."""
        assert self.divergent_llm is not None
        catalogue = self._catalogue_index()
        mark = self.stats.outcomes()
        rejected: Counter[str] = Counter()
        try:
            extensions = divergent.extend_chains(
                self.divergent_llm, context, self.settings, chains, catalogue, rejected
            )
        except LLMOutputRejected:
            self.stats.rejected_by_reason[Rejection.MALFORMED_OUTPUT.value] += 1
            return True
        except LLMUnavailable:
            if self.raise_unavailable:
                raise
            return False
        self.stats.chains_proposed += len(extensions) + sum(rejected.values())
        self.stats.chains_rejected += sum(rejected.values())
        self.stats.rejected_by_reason.update(rejected)
        options = divergent.divergent_options(context, extensions, catalogue)
        questions = divergent.divergent_questions(
            extensions, options, catalogue, self.settings.verify.masks, len(context.window)
        )
        candidates = [extension.candidate for extension in extensions]
        scored, _ = self._verify(context, candidates, questions, options)
        by_candidate = {extension.candidate: extension for extension in extensions}
        for chain in scored:
            extension = by_candidate[chain.candidate]
            imagined = {
                "item": chain.candidate.target,
                "text": extension.text,
                "reason": extension.reason,
                "similarity": extension.similarity,
            }
            if self._store(context, chain, imagined) is not None:
                self.stats.divergent_chains += 1
            mark = self.stats.kept_since(mark)
        return True

    def _store(
        self, context: UserContext, chain: ScoredChain, imagined: dict[str, object] | None = None
    ) -> Candidate | None:
        """Write one scored chain and count it by the status it has once written (a chain other users checked
        too is judged on all its evidence); the candidate if it was accepted."""
        status = store.write_chain(
            self.db,
            context.user,
            chain,
            model=self.settings.llm.model,
            prompt_version=self.settings.reasoning.prompt_version,
            tau=self.tau,
            imagined=imagined,
        )
        if status in store.REFUSED:
            self.stats.chains_rejected += 1
            self.stats.rejected_by_reason[Rejection.LOW_SCORE.value] += 1
            return None
        if status is ChainStatus.VERIFIED:
            self.stats.chains_verified += 1
        else:
            self.stats.chains_unverified += 1
        return chain.candidate

    def _count_rejections(self, rejected: Counter[Rejection]) -> None:
        self.stats.chains_rejected += sum(rejected.values())
        self.stats.rejected_by_reason.update({reason.value: n for reason, n in rejected.items()})

    def _verify(
        self,
        context: UserContext,
        candidates: list[Candidate],
        questions: list[verification.MaskQuestion],
        options: list[str] | None,
    ) -> tuple[list[ScoredChain], set[int]]:
        """Scored chains, and the indices of the chains that could not be verified (the LLM was unavailable)."""
        if not candidates:
            return [], set()
        if not self.settings.verify.enabled:
            return [ScoredChain(candidate, ChainStatus.UNVERIFIED, None, 0, 0) for candidate in candidates], set()
        choices: dict[str, int] = {}
        failed_chains: set[int] = set()
        for batch in verification.batches(questions, self.settings.verify.questions_per_call):
            self._count_call(len(batch))
            try:
                choices.update(verification.ask_questions(self.llm, context, self.settings, batch, options))
            except LLMOutputRejected:
                self.stats.rejected_by_reason[Rejection.MALFORMED_OUTPUT.value] += 1
                failed_chains.update(question.chain for question in batch)
            except LLMUnavailable:
                if self.raise_unavailable:
                    raise
                failed_chains.update(question.chain for question in batch)
        scored = verification.score_chains(candidates, questions, choices, self.tau)
        return [chain for index, chain in enumerate(scored) if index not in failed_chains], failed_chains

    def _verify_choices(self, context: UserContext, candidates: list[Candidate]) -> tuple[list[ScoredChain], set[int]]:
        """`_verify` with lettered questions (`multiple_choice`), packed `questions_per_call` to a call."""
        if not candidates or not self.settings.verify.enabled:
            return self._verify(context, candidates, [], None)

        def failed_call(error: LLMOutputRejected | LLMUnavailable) -> None:
            if isinstance(error, LLMUnavailable):
                if self.raise_unavailable:
                    raise error
                return
            self.stats.rejected_by_reason[Rejection.MALFORMED_OUTPUT.value] += 1

        return multiple_choice.verify_chains(
            self.llm, self.settings, context, candidates, self.tau, on_error=failed_call, on_call=self._count_call
        )

    def _count_call(self, questions: int) -> None:
        self.stats.verify_calls += 1
        self.stats.verify_questions += questions


def _answered_chains(db: Neo4jGateway, context: UserContext, done: set[int]) -> list[Candidate]:
    """The chains of the steps an earlier attempt answered (a rerun after a cut-off, a user reasoned again), in
    the order they were written and placed in the window as `_last_before` placed them then: without them a
    rerun's prompts would show no chains found so far, unlike a clean run's. A chain whose items left the
    window is left out."""
    if not done:
        return []
    local_of = {item.pos: local for local, item in enumerate(context.window)}
    known = []
    for t, items in store.answered_chains(db, context.dataset, context.user, done):
        target = _latest_before(context, items[-1], local_of[t] + 1) if t in local_of else None
        premises = [] if target is None else [_latest_before(context, item, target) for item in items[:-1]]
        placed = tuple(local for local in (*premises, target) if local is not None)
        if len(placed) < len(items):
            continue
        known.append(
            Candidate(
                dataset=context.dataset,
                kind=ChainKind.REASONING,
                premises=tuple(items[:-1]),
                target=items[-1],
                reasons=(),
                t=t,
                recent_premises=(),
                local_items=placed,
            )
        )
    return known


def _last_before(context: UserContext, item: int, local: int) -> int:
    """The window index of the user's latest choice of `item` before window index `local` (a knowledge-base hit's
    items are there by the lookup's own match)."""
    found = _latest_before(context, item, local)
    if found is None:
        raise ValueError(f"item {item} is not in the window before index {local}")
    return found


def _latest_before(context: UserContext, item: int, local: int) -> int | None:
    """`_last_before`, or None when the user did not choose `item` before `local` within the window."""
    return max((index for index in range(local) if context.window[index].id == item), default=None)
