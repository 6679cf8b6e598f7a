"""Process entry point that serves a GGUF model with llama.cpp's own server (the `xllamacpp` wheel).

xllamacpp has no command line: the server lives as long as its `Server` object, so this module keeps one
alive until SIGTERM/SIGINT. `llmrg up` starts it detached: `python -m llmrg.services.llm_launcher ...`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True, help="path of the GGUF file")
    parser.add_argument("--alias", required=True, help="model name the OpenAI API reports")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ctx", type=int, default=4096, help="context tokens shared by all slots")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--parallel", type=int, default=1, help="concurrent request slots")
    args = parser.parse_args(argv)

    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.model_alias = {args.alias}
    params.hostnames = ["127.0.0.1"]
    params.port = args.port
    params.n_ctx = args.ctx
    params.n_parallel = args.parallel
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.cache_prompt = True
    params.warmup = False
    params.endpoint_metrics = True  # Prometheus /metrics: busy seconds, for the workers benchmark
    params.endpoint_slots = True

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server = xllamacpp.Server(params)
    print(f"llm server ready on 127.0.0.1:{args.port} serving {args.alias}", flush=True)
    stop.wait()
    del server
    return 0


if __name__ == "__main__":
    sys.exit(main())
