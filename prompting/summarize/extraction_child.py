"""Extraction in a child process with memory and CPU limits.

`extract_in_child()` starts `python -m prompting.summarize.extraction_child`, which lowers
its own address-space limit (RLIMIT_AS) and CPU limit before it touches the file, then
parses (extraction.py). A child started with subprocess rather than fork: forking a
threaded worker is unsafe, and `preexec_fn` is documented as unsafe with threads too.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

from prompting.summarize.extraction import Extracted, ExtractionError, Section, extract_bytes

# The child process: address space and CPU seconds. pypdf on a 300-page PDF needs
# ~100 MB; 768 MB leaves room for big DOCX files while bounding a hostile one.
CHILD_MEMORY_BYTES = 768 * 1024 * 1024
CHILD_CPU_SECONDS = 60
CHILD_WALL_SECONDS = 90
ROOT = Path(__file__).resolve().parents[2]


def _limit_child_resources(memory_bytes: int, cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))


def extract_in_child(
    path: Path,
    kind: str,
    *,
    memory_bytes: int = CHILD_MEMORY_BYTES,
    cpu_seconds: int = CHILD_CPU_SECONDS,
    wall_seconds: float = CHILD_WALL_SECONDS,
) -> Extracted:
    """Run the extraction in a child process with memory and time limits."""
    command = [
        sys.executable, "-m", "prompting.summarize.extraction_child", str(path), kind,
        str(memory_bytes), str(cpu_seconds),
    ]  # fmt: skip
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and module, fixed argv
            command,
            capture_output=True,
            timeout=wall_seconds,
            cwd=ROOT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise time_limit_error() from None
    if done.returncode != 0:
        # Killed by RLIMIT_CPU (SIGXCPU/SIGKILL), or crashed on an allocation failure.
        if done.returncode in (-24, -9, 152, 137):  # SIGXCPU, SIGKILL
            raise time_limit_error()
        raise memory_limit_error()
    try:
        reply = json.loads(done.stdout)
    except ValueError:
        raise memory_limit_error() from None
    if not reply.get("ok"):
        raise ExtractionError(reply["code"], reply["message"])
    return Extracted(
        text=reply["text"],
        sections=[Section(**s) for s in reply["sections"]],
        notes=list(reply.get("notes", [])),
    )


def time_limit_error() -> ExtractionError:
    return ExtractionError(
        "time_limit",
        "Reading the document took too long, so it was stopped. "
        "Try a smaller file, or split it into parts.",
    )


def memory_limit_error() -> ExtractionError:
    return ExtractionError(
        "memory_limit",
        "Reading the document needed more memory than allowed, so it was stopped. "
        "Try a smaller file, or split it into parts.",
    )


def _child_main(argv: list[str]) -> int:
    path, kind, memory_bytes, cpu_seconds = argv[0], argv[1], int(argv[2]), int(argv[3])
    _limit_child_resources(memory_bytes, cpu_seconds)
    try:
        result = extract_bytes(Path(path).read_bytes(), kind)
        reply: dict[str, Any] = {"ok": True, **result.to_json()}
    except ExtractionError as exc:
        reply = {"ok": False, "code": exc.code, "message": exc.user_message}
    except MemoryError:
        err = memory_limit_error()
        reply = {"ok": False, "code": err.code, "message": err.user_message}
    sys.stdout.write(json.dumps(reply))
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
