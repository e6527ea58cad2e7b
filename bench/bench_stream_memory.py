"""Redis memory per answer kept in the relay, for sizing Redis (docs/operations.md).

Writes answers of N tokens into a private embedded Redis exactly as the worker does
(`prompting.runs.relay.relay_append`: one stream entry per delta, restored text for the
browser plus the raw text for the reaper, then the final `done` entry with text and HTML),
and reads `MEMORY USAGE` of each stream and `used_memory` before and after.

    .venv/bin/python -m bench.bench_stream_memory --tokens 300 1000 4000 --answers 200
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")  # development secrets (DEBUG defaults to false)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, nargs="+", default=[300, 1000, 4000])
    parser.add_argument("--answers", type=int, default=200)
    args = parser.parse_args()

    directory = Path(tempfile.mkdtemp(prefix="bsm-", dir="/tmp"))
    socket_path = directory / "r.sock"
    os.environ["REDIS_URL"] = f"unix://{socket_path}"
    import django

    from config import embedded_redis

    redis_process = embedded_redis.start(socket_path)
    try:
        django.setup()
        from config.redis_client import redis_client
        from prompting.rendering import render_markdown
        from prompting.runs import relay

        client = redis_client()

        def used_memory() -> int:
            info: dict[str, Any] = client.info("memory")  # type: ignore[assignment]
            return int(info["used_memory"])

        print(f"answers per size: {args.answers}")
        print("tokens  bytes/answer (MEMORY USAGE, median)  used_memory per answer")
        for tokens in args.tokens:
            client.flushdb()
            before = used_memory()
            sizes = []
            for answer in range(args.answers):
                run_id = f"bench-{tokens}-{answer}"
                words = [f" word{i % 97}" for i in range(tokens)]  # ~1.3 tokens a word
                for word in words:
                    relay.relay_append(run_id, "delta", {"text": word}, raw=word)
                text = "".join(words)
                relay.relay_append(
                    run_id, "done", {"status": "done", "text": text, "html": render_markdown(text)}
                )
                usage: Any = client.memory_usage(relay.stream_key(run_id))
                sizes.append(int(usage or 0))
            after = used_memory()
            print(
                f"{tokens:>6}  {statistics.median(sizes):>12,.0f}"
                f"{(after - before) / args.answers:>34,.0f}"
            )
        server: dict[str, Any] = client.info("server")  # type: ignore[assignment]
        print(json.dumps({"redis_version": server["redis_version"]}))
    finally:
        redis_process.terminate()
        redis_process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
