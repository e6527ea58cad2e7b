"""Text extraction for Summarize: a 300-page PDF (and a DOCX of similar size) through
the same path as the worker — the resource-limited child process — and in process.

    .venv/bin/python bench/bench_extraction.py [--repeat 5] [--json out.json]

Generates the documents with tests/prompting/summarize/pdf_factory.py (one text object per page):
"light" pages of ~1 KB and "dense" pages of ~3.2 KB (a full page of prose). Reports the
median and worst wall time of `extract_in_child` (what a summary waits for: interpreter
start, imports, parsing, JSON back), of `extract_bytes` in process, of splitting into
parts, and the child's peak RSS.

Target (issue 7): text extraction of a 300-page PDF <= 10 s.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prompting.summarize.extraction import extract_bytes
from prompting.summarize.extraction_child import extract_in_child
from prompting.summarize.parts import split_into_parts
from tests.prompting.summarize.pdf_factory import make_pdf, report_pages

TARGET_S = 10.0
PART_CHARS = 96_000  # SUMMARY_PART_MAX_TOKENS 24,000 x 4 characters


def docx_bytes(pages: list[list[str]]) -> bytes:
    import docx

    document = docx.Document()
    for lines in pages:
        document.add_heading(lines[0], level=2)
        document.add_paragraph(" ".join(lines[1:]))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return times, result


def stats(times: list[float]) -> dict[str, float]:
    return {"median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    cases = {
        "pdf 300 pages light (~1 KB/page)": ("pdf", make_pdf(report_pages(300))),
        "pdf 300 pages dense (~3.2 KB/page)": (
            "pdf",
            make_pdf(report_pages(300, lines_per_page=40, words_per_line=14)),
        ),
        "docx 300 headed sections (~3.2 KB each)": (
            "docx",
            docx_bytes(report_pages(300, lines_per_page=40, words_per_line=14)),
        ),
    }
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores",
        "python": platform.python_version(),
        "repeat": args.repeat,
        "cases": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name, (kind, data) in cases.items():
            path = Path(tmp) / f"doc.{kind}"
            path.write_bytes(data)
            child_times, extracted = timed(
                functools.partial(extract_in_child, path, kind), args.repeat
            )
            in_process, _ = timed(functools.partial(extract_bytes, data, kind), args.repeat)
            split_times, parts = timed(
                functools.partial(
                    split_into_parts, extracted.text, extracted.sections, max_chars=PART_CHARS
                ),
                args.repeat,
            )
            peak_child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            results["cases"][name] = {
                "file_kb": round(len(data) / 1024),
                "text_chars": len(extracted.text),
                "sections": len(extracted.sections),
                "parts_at_24k_tokens": len(parts),
                "child_process": stats(child_times),
                "in_process": stats(in_process),
                "split_into_parts_ms": round(statistics.median(split_times) * 1000, 1),
                "peak_child_rss_mb_so_far": round(peak_child_mb),
                "meets_target": max(child_times) <= TARGET_S,
            }
            print(name, json.dumps(results["cases"][name]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    ok = all(case["meets_target"] for case in results["cases"].values())
    print("target <= 10 s:", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
