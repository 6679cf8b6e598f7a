"""A loopback OpenAI-compatible chat server with scripted answers, for tests of the LLM plumbing.

It stands in for the model where the model is not the point (parsing, retries, accounting, storage); the
requests go through the real `ChatOpenAI` and `openai` client code. Replies come from a queue of
`Reply` objects, or from a `responder(request) -> Reply` when the queue is empty.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    content: str = "{}"
    status: int = 200
    finish_reason: str = "stop"
    delay_s: float = 0.0
    prompt_tokens: int = 100
    completion_tokens: int = 20


Responder = Callable[[dict[str, Any]], Reply]


class ScriptedOpenAI:
    def __init__(self, responder: Responder | None = None) -> None:
        self.queue: deque[Reply] = deque()
        self.responder = responder
        self.requests: list[dict[str, Any]] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def script(self, *replies: Reply) -> None:
        self.queue.extend(replies)

    def next_reply(self, request: dict[str, Any]) -> Reply:
        self.requests.append(request)
        if self.queue:
            return self.queue.popleft()
        if self.responder is None:
            raise AssertionError("the scripted server received more requests than scripted replies")
        return self.responder(request)

    @contextmanager
    def running(self) -> Iterator[ScriptedOpenAI]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                reply = fake.next_reply(body)
                time.sleep(reply.delay_s)
                if reply.status != 200:
                    payload: dict[str, Any] = {"error": {"message": f"scripted {reply.status}", "type": "server"}}
                else:
                    payload = completion(body, reply)
                data = json.dumps(payload).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()


def completion(request: dict[str, Any], reply: Reply) -> dict[str, Any]:
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": 0,
        "model": request.get("model", "scripted"),
        "choices": [
            {
                "index": 0,
                "finish_reason": reply.finish_reason,
                "message": {"role": "assistant", "content": reply.content},
            }
        ],
        "usage": {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        },
    }


def schema_name(request: dict[str, Any]) -> str:
    return str(request["response_format"]["json_schema"]["name"])


def last_user_message(request: dict[str, Any]) -> str:
    return str(request["messages"][-1]["content"])
