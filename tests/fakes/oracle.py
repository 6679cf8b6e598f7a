"""A rule-following stand-in model: always links each target to the item just before it, and answers
verification questions from the chain text. Deterministic, so integration tests can assert exact counts.

Chaining: for every target k, one chain `[k-1] -> k` with the reason "follows <k-1>".
Verification: a masked target of `a -[..]-> [MASK]` is a+1, a masked premise of `[MASK] -[..]-> b` is
b-1, and an attribute question is answered 0 (right only when that option is the target's attribute).
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.fakes.openai_server import Reply, last_user_message, schema_name

TARGETS = re.compile(r"^Targets: (.+)$", re.MULTILINE)
QUESTION = re.compile(r"^(q\d+): (.+)$", re.MULTILINE)


def oracle(request: dict[str, Any]) -> Reply:
    text = last_user_message(request)
    if schema_name(request) == "chaining_answer":
        targets = [int(part) for part in TARGETS.search(text).group(1).split(",")]  # type: ignore[union-attr]
        steps = [{"target": k, "chains": [{"items": [k - 1], "reasons": [f"follows {k - 1}"]}]} for k in targets]
        return Reply(json.dumps({"steps": steps}), prompt_tokens=300, completion_tokens=20 * len(targets))
    answers = []
    for question_id, body in QUESTION.findall(text):
        if "has attribute [MASK]" in body:
            choice = 0
        elif body.endswith("[MASK]"):
            choice = int(body.split(" -[", 1)[0]) + 1
        else:
            choice = int(body.rsplit("]-> ", 1)[1]) - 1
        answers.append({"id": question_id, "choice": choice})
    return Reply(json.dumps({"answers": answers}), prompt_tokens=250, completion_tokens=8 * len(answers))
