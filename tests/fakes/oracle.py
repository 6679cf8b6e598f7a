"""A rule-following stand-in model: always links each target to the item just before it, and answers
verification questions from the chain text. Deterministic, so integration tests can assert exact counts.

Chaining: for every target k, one chain `[k-1] -> k` with the reason "follows <k-1>".
Verification: a masked target of `a -[..]-> [MASK]` is a+1, a masked premise of `[MASK] -[..]-> b` is
b-1, and an attribute question is answered 0 (right only when that option is the target's attribute).
Divergent extension: every chain is extended by the titles in IMAGINED.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.fakes.openai_server import Reply, last_user_message, schema_name

TARGETS = re.compile(r"^Targets: (.+)$", re.MULTILINE)
QUESTION = re.compile(r"^(q\d+): (.+)$", re.MULTILINE)
CHAIN_LABEL = re.compile(r"^(c\d+): ", re.MULTILINE)
BEFORE_MASK = re.compile(r"(\d+) -\[[^\]]*\]-> \[MASK\]")
AFTER_MASK = re.compile(r"\[MASK\] -\[[^\]]*\]-> (\d+)")
IMAGINED = ["Godfather: Part II, The (1974)", "Aliens (1986)", "Toy Story (1995)"]


def oracle(request: dict[str, Any]) -> Reply:
    text = last_user_message(request)
    if schema_name(request) == "chaining_answer":
        targets = [int(part) for part in TARGETS.search(text).group(1).split(",")]  # type: ignore[union-attr]
        steps = [{"target": k, "chains": [[[k - 1, f"follows {k - 1}"]]]} for k in targets]
        return Reply(json.dumps({"steps": steps}), prompt_tokens=300, completion_tokens=20 * len(targets))
    if schema_name(request) == "divergent_answer":
        extensions = [
            {"chain": label, "items": [{"title": title, "reason": "same mood"} for title in IMAGINED]}
            for label in CHAIN_LABEL.findall(text)
        ]
        return Reply(json.dumps({"extensions": extensions}), prompt_tokens=400, completion_tokens=30)
    answers = {}
    for question_id, body in QUESTION.findall(text):
        before, after = BEFORE_MASK.search(body), AFTER_MASK.search(body)
        if "has attribute [MASK]" in body:
            choice = 0
        elif before:
            choice = int(before.group(1)) + 1
        else:
            choice = int(after.group(1)) - 1  # type: ignore[union-attr]
        answers[question_id] = choice
    return Reply(json.dumps(answers), prompt_tokens=250, completion_tokens=8 * len(answers))
