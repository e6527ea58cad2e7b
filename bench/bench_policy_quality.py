"""How much personal data and how many secrets would still reach the model.

Generates a labelled corpus with Faker (seeded, so every run is the same): pasted
support tickets, call notes, customer emails and CSV extracts with planted values, texts
with one secret or financial number each, and clean business text. Judges each with the
default policy and reports, per entity type, the planted values still present in what
would be sent ("leaked"; a blocked text sends nothing).

    .venv/bin/python bench/bench_policy_quality.py [--seed 7] [--docs 300] [--json out.json]

Targets (issue 5): leaked 0 for emails, SSNs, card numbers, IBANs and secrets; <= 3% for
names and phone numbers; <= 10% for street addresses; clean texts never blocked and
<= 10% altered. The templates are written like real pastes, not like the recognizers.
"""

# ruff: noqa: E501 - tables and text templates read better one row per line

from __future__ import annotations

import argparse
import base64
import json
import random
import string
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faker import Faker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prompting.policy import PseudonymMap, default_policy, get_analyzer, judge

BLOCK_TARGET_TYPES = ("EMAIL_ADDRESS", "US_SSN", "CREDIT_CARD", "IBAN_CODE", "SECRET")
TARGETS = {
    "EMAIL_ADDRESS": 0.0,
    "US_SSN": 0.0,
    "CREDIT_CARD": 0.0,
    "IBAN_CODE": 0.0,
    "SECRET": 0.0,
    "PERSON": 0.03,
    "PHONE_NUMBER": 0.03,
    "STREET_ADDRESS": 0.10,
}


@dataclass
class Doc:
    kind: str
    text: str
    # (label, value): label is the entity type, or SECRET for any credential.
    planted: list[tuple[str, str]] = field(default_factory=list)


class Corpus:
    def __init__(self, seed: int) -> None:
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.rng = random.Random(seed)
        self.iban_fakers = [
            Faker(loc) for loc in ("de_DE", "fr_FR", "nl_NL", "es_ES", "it_IT", "en_GB")
        ]
        for i, f in enumerate(self.iban_fakers):
            f.seed_instance(seed + i + 1)

    # -- planted values ---------------------------------------------------------------------

    def person(self, planted: list[tuple[str, str]]) -> str:
        f = self.fake
        name = f"{f.first_name()} {f.last_name()}"
        if self.rng.random() < 0.15:
            name = f"{f.first_name()} {f.random_uppercase_letter()}. {f.last_name()}"
        planted.append(("PERSON", name))
        return name

    def email(self, planted: list[tuple[str, str]]) -> str:
        value = self.rng.choice(
            [self.fake.email(), self.fake.company_email(), self.fake.free_email()]
        )
        planted.append(("EMAIL_ADDRESS", value))
        return value

    def phone(self, planted: list[tuple[str, str]]) -> str:
        value = self.fake.phone_number()
        planted.append(("PHONE_NUMBER", value))
        return value

    def street(self, planted: list[tuple[str, str]]) -> str:
        value = self.fake.street_address()
        planted.append(("STREET_ADDRESS", value))
        return value

    def full_address(self, planted: list[tuple[str, str]]) -> str:
        street = self.street(planted)
        return f"{street}, {self.fake.city()}, {self.fake.state_abbr()} {self.fake.zipcode()}"

    def card(self) -> str:
        kind = self.rng.choice(["visa16", "visa13", "visa19", "mastercard", "mastercard", "amex",
                                "discover", "jcb16", "jcb15", "diners", "maestro"])  # fmt: skip
        digits = self.fake.credit_card_number(card_type=kind)
        style = self.rng.random()
        if style < 0.4 and len(digits) == 16:
            return " ".join(digits[i : i + 4] for i in range(0, 16, 4))
        if style < 0.55 and len(digits) == 16:
            return "-".join(digits[i : i + 4] for i in range(0, 16, 4))
        return digits

    def iban(self) -> str:
        value = self.rng.choice(self.iban_fakers).iban()
        if self.rng.random() < 0.5:
            return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
        return value

    def token(self, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def secret(self) -> tuple[str, str]:
        """(context text containing the secret, the secret value)."""
        r = self.rng
        kind = r.randrange(9)
        if kind == 0:
            key = "AKIA" + self.token(16, string.ascii_uppercase + string.digits)
            return f"[default]\naws_access_key_id = {key}\nregion = us-east-1", key
        if kind == 1:
            secret = self.token(40, string.ascii_letters + string.digits + "/+")
            return f"export AWS_SECRET_ACCESS_KEY={secret}", secret
        if kind == 2:
            pw = self.fake.password(length=r.randint(10, 16))
            form = r.choice(
                ["password: {}", "pw={}", "the staging password is {}", 'DB_PASSWORD="{}"']
            )
            return form.format(pw), pw
        if kind == 3:
            tok = self.token(r.randint(30, 60), string.ascii_letters + string.digits + "-_.")
            return f"curl -H 'Authorization: Bearer {tok}' https://api.internal/v1/trips", tok
        if kind == 4:
            tok = self.fake.sha256()[: r.choice([32, 40])]
            return r.choice(["api_key={}", '"apiKey": "{}"', "X-API-Key: {}", "token = {}"]).format(
                tok
            ), tok
        if kind == 5:
            tok = "ghp_" + self.token(36)
            return f"use my github token {tok} for the deploy", tok
        if kind == 6:
            body = "\n".join(
                base64.b64encode(r.randbytes(48)).decode() for _ in range(r.randint(3, 8))
            )
            block = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"
            return f"here is the key from the bastion:\n{block}", block
        if kind == 7:
            tok = (
                "xoxb-"
                + "-".join(self.token(12, string.digits) for _ in range(2))
                + "-"
                + self.token(24)
            )
            return f"slack bot token: {tok}", tok
        pw = self.fake.password(length=12)
        return f"postgres://app_user:{pw}@db.staging.internal:5432/rides", pw

    # -- documents --------------------------------------------------------------------------

    def pii_doc(self) -> Doc:
        """Tickets, notes, emails, CSV: names, emails, phones, addresses (pseudonymize)."""
        f, r = self.fake, self.rng
        p: list[tuple[str, str]] = []
        kind = r.choice(["ticket", "note", "email", "csv", "chat"])
        if kind == "ticket":
            name, driver = self.person(p), self.person(p)
            text = (
                f"Ticket #{r.randint(10000, 99999)} - {r.choice(['Lost item', 'Fare dispute', 'Safety report', 'Refund request'])}\n"
                f"Customer: {name}\nEmail: {self.email(p)}\nPhone: {self.phone(p)}\n"
                f"Pickup: {self.full_address(p)}\n\n"
                f"{name.split()[0]} says the driver, {driver}, {r.choice(['took a longer route', 'was rude', 'never arrived', 'kept her umbrella'])}. "
                f"{f.sentence()} Please call back on {self.phone(p)} before {f.day_of_week()}."
            )
        elif kind == "note":
            name = self.person(p)
            text = (
                f"Call notes {f.date()}: spoke with {name} about the refund for their trip on {f.day_of_week()}. "
                f"{r.choice(['She', 'He', 'They'])} lives at {self.full_address(p)} and can be reached on "
                f"{self.phone(p)} or {self.email(p)}. {f.sentence()} "
                f"Escalated to {self.person(p)} in Trust & Safety. {f.sentence()}"
            )
        elif kind == "email":
            name = self.person(p)
            text = (
                f"From: {name} <{self.email(p)}>\nTo: support@example-rides.com\n"
                f"Subject: {f.sentence(nb_words=5)}\n\nHi team,\n\n"
                f"My name is {name} and I was picked up at {self.street(p)} yesterday. "
                f"{f.paragraph(nb_sentences=2)} You can call me at {self.phone(p)}.\n\n"
                f"{r.choice(['Thanks', 'Best regards', 'Cheers', 'Kind regards'])},\n{name}\n"
            )
        elif kind == "csv":
            rows = [
                f"{self.person(p)},{self.email(p)},{self.phone(p)},{f.city()}"
                for _ in range(r.randint(3, 6))
            ]
            text = "Here is the export, can you dedupe it?\n\nname,email,phone,city\n" + "\n".join(
                rows
            )
        else:
            text = (
                f"[{f.time()}] {self.person(p)}: hey can you check the account of {self.person(p)}? "
                f"rider says the receipt went to {self.email(p)}\n"
                f"[{f.time()}] ops: which address? \n[{f.time()}] rider: {self.street(p)}, "
                f"{f.city()}; number is {self.phone(p)}"
            )
        return Doc(kind, text, p)

    def block_doc(self) -> Doc:
        """Realistic text around one SSN, card, IBAN or secret."""
        f, r = self.fake, self.rng
        kind = r.choice(["ssn", "card", "iban", "secret", "secret"])
        if kind == "ssn":
            ssn = f.ssn()
            text = r.choice([
                f"Background check form: applicant SSN {ssn}, DOB {f.date_of_birth()}.",
                f"The driver's social security number is {ssn} according to the onboarding file.",
                f"{f.sentence()} SSN: {ssn}. {f.sentence()}",
            ])  # fmt: skip
            return Doc("ssn", text, [("US_SSN", ssn)])
        if kind == "card":
            card = self.card()
            text = r.choice([
                f"Customer disputes a charge on card {card}, exp {f.credit_card_expire()}.",
                f"{f.sentence()} The card number is {card} and CVV {f.credit_card_security_code()}.",
                f"Please refund {card} for ${r.randint(5, 90)}.{r.randint(10, 99)}",
            ])  # fmt: skip
            return Doc("card", text, [("CREDIT_CARD", card)])
        if kind == "iban":
            iban = self.iban()
            text = r.choice([
                f"Payout for the driver goes to IBAN {iban}. {f.sentence()}",
                f"Bank details: {iban} (BIC {f.swift8()})",
                f"{f.sentence()} Please update the account to {iban}.",
            ])  # fmt: skip
            return Doc("iban", text, [("IBAN_CODE", iban)])
        context, value = self.secret()
        text = f"{f.sentence()}\n{context}\n{f.sentence()}"
        return Doc("secret", text, [("SECRET", value)])

    def clean_doc(self) -> Doc:
        """Business text with numbers, dates, places, products and teams; no personal data."""
        f, r = self.fake, self.rng
        city, city2 = f.city(), f.city()
        sentences = [
            f"Q{r.randint(1, 4)} revenue in {city} grew {r.randint(2, 40)}% year over year, driven by airport trips.",
            f"The {r.choice(['Pricing', 'Growth', 'Marketplace', 'Safety'])} team will ship the surge cap change on {f.date_this_year().strftime('%B %d')}.",
            f"Average wait time fell from {r.randint(4, 9)}.{r.randint(0, 9)} to {r.randint(2, 4)}.{r.randint(0, 9)} minutes in {city2}.",
            f"We processed {r.randint(10, 999)},{r.randint(100, 999)} trips last week; cancellations were {r.randint(1, 9)}.{r.randint(0, 9)}%.",
            f"Order {r.randint(10**7, 10**8 - 1)} for {r.randint(20, 500)} car chargers shipped on {f.date()}.",
            f"Version {r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 9)} of the driver app fixes the map crash on Android {r.randint(11, 15)}.",
            f"Please summarise the attached {r.choice(['board deck', 'OKR draft', 'incident review', 'market study'])} in five bullet points.",
            f"Ticket OPS-{r.randint(100, 9999)} tracks the outage of {f.date()} between {r.randint(1, 11)}:{r.randint(10, 59)} and {r.randint(1, 11)}:{r.randint(10, 59)} UTC.",
            f"{f.catch_phrase()} is the theme of the {f.month_name()} offsite in {city}.",
            f"Budget for {f.year()}: ${r.randint(1, 90)}.{r.randint(1, 9)}M, of which {r.randint(5, 60)}% goes to driver incentives.",
            f"Rewrite this more politely: the {r.choice(['EMEA', 'LATAM', 'APAC'])} launch slips by {r.randint(2, 6)} weeks because the payments vendor is late.",
            f"The new pricing model reduces churn in {f.state()} and improves driver earnings per hour by ${r.randint(1, 5)}.{r.randint(10, 99)}.",
            f"See https://wiki.example-rides.com/{f.word()}/{f.word()} for the runbook; page the on-call if p95 latency exceeds {r.randint(200, 900)} ms.",
        ]  # fmt: skip
        return Doc("clean", " ".join(r.sample(sentences, k=r.randint(3, 6))))


PROSE_TEMPLATES = [
    "Yesterday {n} told me the app crashed twice.",
    "{n} wants a refund for last Tuesday.",
    "I think {n} should lead the Denver launch.",
    "Can you draft an apology to {n}?",
    "According to {n}, the surge was too high.",
    "We promoted {n} to team lead.",
    "{n}'s car was towed near the stadium.",
    "The complaint came from {n} and her brother.",
    "Please thank {n} for the feedback.",
    "Is {n} still on the night shift?",
]


def hard_cases(seed: int, n: int) -> dict[str, dict[str, float]]:
    """Checks written after the main tuning, kept apart from the main table: names in
    plain sentences with no label, role or sign-off around them (not tuned on), and en_GB
    phone formats (the phone recognizer was extended after this check found them)."""
    policy, fake, rng = default_policy(), Faker("en_US"), random.Random(seed)
    fake.seed_instance(seed)
    uk = Faker("en_GB")
    uk.seed_instance(seed)
    cases = {
        "PERSON in plain prose": [
            (name, rng.choice(PROSE_TEMPLATES).format(n=name))
            for name in (f"{fake.first_name()} {fake.last_name()}" for _ in range(n))
        ],
        "PHONE_NUMBER en_GB formats": [
            (phone, f"Ring the customer on {phone} after five.")
            for phone in (uk.phone_number() for _ in range(n))
        ],
    }
    out = {}
    for label, items in cases.items():
        leaked = 0
        for value, text in items:
            sent = judge(text, policy=policy, mapping=PseudonymMap()).sanitized_text
            leaked += sent is not None and value in sent
        out[label] = {"planted": len(items), "leaked": leaked, "leak_rate": leaked / len(items)}
    return out


def run(seed: int, n_pii: int, n_block: int, n_clean: int) -> dict[str, Any]:
    corpus = Corpus(seed)
    docs = (
        [corpus.pii_doc() for _ in range(n_pii)]
        + [corpus.block_doc() for _ in range(n_block)]
        + [corpus.clean_doc() for _ in range(n_clean)]
    )
    policy = default_policy()
    analyzer = get_analyzer()
    analyzer.warm_up()
    planted: Counter[str] = Counter()
    leaked: Counter[str] = Counter()
    leak_examples: dict[str, list[str]] = defaultdict(list)
    unexpected_blocks: Counter[str] = Counter()
    clean_blocked = clean_altered = 0
    altered_examples: list[str] = []
    started = time.perf_counter()
    for doc in docs:
        judgement = judge(doc.text, policy=policy, mapping=PseudonymMap(), analyzer=analyzer)
        sent = judgement.sanitized_text
        if doc.kind == "clean":
            if sent is None:
                clean_blocked += 1
                altered_examples.append(f"BLOCKED {judgement.blocked_types}: {doc.text[:160]}")
            elif sent != doc.text:
                clean_altered += 1
                if len(altered_examples) < 12:
                    changed = [
                        f"{f.entity_type}={doc.text[f.start : f.end]!r}" for f in judgement.findings
                    ]
                    altered_examples.append(", ".join(changed))
            continue
        if sent is None and doc.kind not in {"ssn", "card", "iban", "secret"}:
            unexpected_blocks[",".join(judgement.blocked_types)] += 1
        for label, value in doc.planted:
            planted[label] += 1
            if sent is not None and value in sent:
                leaked[label] += 1
                if len(leak_examples[label]) < 6:
                    leak_examples[label].append(value)
    elapsed = time.perf_counter() - started
    per_type = {
        label: {
            "planted": planted[label],
            "leaked": leaked[label],
            "leak_rate": round(leaked[label] / planted[label], 4) if planted[label] else 0.0,
            "target": TARGETS.get(label),
            "examples": leak_examples.get(label, []),
        }
        for label in sorted(planted)
    }
    return {
        "hard_cases": hard_cases(seed, 400),
        "seed": seed,
        "documents": len(docs),
        "seconds": round(elapsed, 2),
        "per_type": per_type,
        "pii_docs_blocked_without_secret": dict(unexpected_blocks),
        "clean": {
            "documents": n_clean,
            "blocked": clean_blocked,
            "altered": clean_altered,
            "altered_rate": round(clean_altered / n_clean, 4) if n_clean else 0.0,
            "examples": altered_examples,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--docs", type=int, default=300, help="documents with personal data")
    parser.add_argument("--block-docs", type=int, default=200)
    parser.add_argument("--clean-docs", type=int, default=200)
    parser.add_argument("--json", type=Path, help="also write the full result here")
    parser.add_argument("--examples", action="store_true", help="print leaked/altered examples")
    args = parser.parse_args()
    result = run(args.seed, args.docs, args.block_docs, args.clean_docs)
    print(f"{result['documents']} documents, seed {result['seed']}, {result['seconds']} s")
    print(f"{'type':<16}{'planted':>9}{'leaked':>8}{'rate':>8}{'target':>8}  ok")
    for label, row in result["per_type"].items():
        target = row["target"]
        ok = "" if target is None else ("yes" if row["leak_rate"] <= target else "NO")
        target_text = "-" if target is None else f"{target:.0%}"
        print(
            f"{label:<16}{row['planted']:>9}{row['leaked']:>8}{row['leak_rate']:>8.1%}{target_text:>8}  {ok}"
        )
        if args.examples and row["examples"]:
            print("    e.g.", row["examples"])
    clean = result["clean"]
    print(
        f"clean texts: {clean['documents']}, blocked {clean['blocked']}, "
        f"altered {clean['altered']} ({clean['altered_rate']:.1%}; target <= 10%, never blocked)"
    )
    print(
        "personal-data docs blocked without a secret:",
        result["pii_docs_blocked_without_secret"] or "none",
    )
    for label, row in result["hard_cases"].items():
        print(
            f"hard case, {label}: {row['leaked']} of {row['planted']} leaked "
            f"({row['leak_rate']:.1%}; outside the main table)"
        )
    if args.examples:
        for example in clean["examples"]:
            print("    altered:", example)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
