"""A labelled corpus of what employees of a ride-sharing company paste, for the policy
benchmarks. Seeded: the same seed gives the same documents, so runs compare.

Written apart from the recognizers on purpose: nothing here imports `prompting.policy`,
and the shapes come from how people write (cue words, layouts, letter case, wrapped
PDF lines), not from the patterns that find them. Names come from Faker's per-locale
name lists (FAKER_LOCALES: 20 locales, Latin script, plus romanized Japanese and
Chinese); the recognizers' lexicon comes from another package (names-dataset).

Documents: support tickets, fraud reviews, onboarding notes, chat pastes, customer
emails, rosters (CSV and lists), PDF extracts with wrapped lines; each plants values and
remembers them as (label, value). Labels are entity types, plus FIRST_NAME (a first
name alone, in a person context) and SECRET (any credential). Clean business texts
plant nothing and are full of names of products, places and companies that look like
people's (Lincoln, Ford, Mercedes, Salesforce, Austin).

    from bench.policy_corpus import Corpus
    corpus = Corpus(seed=7)
    doc = corpus.pii_doc()      # Doc(kind, text, planted)
"""

# ruff: noqa: E501 - templates read better one per line

from __future__ import annotations

import base64
import random
import string
from dataclasses import dataclass, field

from faker import Faker

FAKER_LOCALES = (
    "en_US", "en_GB", "en_IN", "de_DE", "fr_FR", "es_ES", "es_MX", "it_IT", "nl_NL", "pl_PL",
    "pt_BR", "tr_TR", "sv_SE", "cs_CZ", "hu_HU", "ro_RO", "fi_FI", "ga_IE", "yo_NG", "vi_VN",
)  # fmt: skip
ROMANIZED_LOCALES = ("ja_JP", "zh_CN")

# Labels whose planted values must never be sent, and the others' targets (issue 10).
ZERO_LEAK = (
    "EMAIL_ADDRESS",
    "US_SSN",
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_BANK_NUMBER",
    "PASSPORT",
    "SECRET",
)
TARGETS = {
    **dict.fromkeys(ZERO_LEAK, 0.0),
    "PERSON": 0.02,
    "US_DRIVER_LICENSE": 0.02,
    "DATE_OF_BIRTH": 0.02,
    "FIRST_NAME": 0.10,
}


@dataclass
class Doc:
    kind: str
    text: str
    planted: list[tuple[str, str]] = field(default_factory=list)

    @property
    def has_secret(self) -> bool:
        return any(label == "SECRET" for label, _ in self.planted)


class Corpus:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.locales = [Faker(loc) for loc in (*FAKER_LOCALES, *ROMANIZED_LOCALES)]
        for offset, fake in enumerate(self.locales):
            fake.seed_instance(seed * 100 + offset)
        self.iban_fakers = [
            Faker(loc) for loc in ("de_DE", "fr_FR", "nl_NL", "es_ES", "it_IT", "en_GB")
        ]
        for offset, fake in enumerate(self.iban_fakers):
            fake.seed_instance(seed * 200 + offset)

    # -- people ---------------------------------------------------------------------------

    def _names(self) -> tuple[str, str]:
        fake = self.rng.choice(self.locales)
        if hasattr(fake, "first_romanized_name") and fake.locales[0] in ROMANIZED_LOCALES:
            return fake.first_romanized_name(), fake.last_romanized_name()
        return fake.first_name(), fake.last_name()

    def person(self, p: list[tuple[str, str]], case: str | None = None) -> str:
        """A full name as people type it: mostly as written, sometimes lower case (chat)
        or capitals (forms), sometimes with a middle initial."""
        first, last = self._names()
        name = f"{first} {last}"
        if self.rng.random() < 0.1:
            name = f"{first} {self.rng.choice(string.ascii_uppercase)}. {last}"
        case = case or self.rng.choices(["as is", "lower", "upper"], [0.8, 0.15, 0.05])[0]
        if case == "lower":
            name = name.lower()
        elif case == "upper":
            name = name.upper()
        p.append(("PERSON", name))
        return name

    def first_name_alone(self, p: list[tuple[str, str]]) -> str:
        """A first name alone where the context is a person."""
        first, _ = self._names()
        if self.rng.random() < 0.25:
            first = first.lower()
        p.append(("FIRST_NAME", first))
        return self.rng.choice([
            f"Call {first} tomorrow about it.", f"hi {first}, quick question on the trip.",
            f"{first} said the driver never showed up.", f"Can you ask {first} to resend the receipt?",
            f"Please tell {first} the refund went through.", f"email {first} the updated invoice",
            f"Thanks {first}!", f"spoke with {first} this morning, she is fine now.",
            f"Remind {first} to upload the insurance card.", f"{first} told me the app crashed twice.",
            f"cc {first} on the reply", f"Dear {first},",
        ])  # fmt: skip

    # -- contact data -----------------------------------------------------------------------

    def email(self, p: list[tuple[str, str]]) -> str:
        value = self.rng.choice(
            [self.fake.email(), self.fake.company_email(), self.fake.free_email()]
        )
        p.append(("EMAIL_ADDRESS", value))
        return value

    def phone(self, p: list[tuple[str, str]]) -> str:
        value = self.fake.phone_number()
        p.append(("PHONE_NUMBER", value))
        return value

    def street(self, p: list[tuple[str, str]]) -> str:
        value = self.fake.street_address()
        p.append(("STREET_ADDRESS", value))
        return value

    # -- financial ------------------------------------------------------------------------------

    def card(self, p: list[tuple[str, str]]) -> str:
        kind = self.rng.choice(["visa16", "visa13", "visa19", "mastercard", "mastercard", "amex",
                                "discover", "jcb16", "jcb15", "diners", "maestro"])  # fmt: skip
        digits = self.fake.credit_card_number(card_type=kind)
        value = digits
        if len(digits) == 16:
            sep = self.rng.choice([" ", " ", "-", ".", "", "\n"])
            groups = [digits[i : i + 4] for i in range(0, 16, 4)]
            value = (
                sep.join(groups)
                if sep != "\n"
                else " ".join(groups[:2]) + "\n" + " ".join(groups[2:])
            )
        p.append(("CREDIT_CARD", value))
        return value

    def ssn(self, p: list[tuple[str, str]]) -> str:
        value = self.fake.ssn()
        p.append(("US_SSN", value))
        return value

    def iban(self, p: list[tuple[str, str]]) -> str:
        value = self.rng.choice(self.iban_fakers).iban()
        if self.rng.random() < 0.5:
            value = " ".join(value[i : i + 4] for i in range(0, len(value), 4))
        p.append(("IBAN_CODE", value))
        return value

    def bank_account(self, p: list[tuple[str, str]]) -> str:
        value = "".join(self.rng.choice(string.digits) for _ in range(self.rng.randint(8, 14)))
        p.append(("US_BANK_NUMBER", value))
        cue = self.rng.choice(
            [
                "account number",
                "acct #",
                "Account No.",
                "bank account",
                "checking account",
                "account #:",
                "acct no",
            ]
        )
        return f"{cue} {value}"

    # -- identity documents -------------------------------------------------------------------

    def licence(self, p: list[tuple[str, str]]) -> str:
        r, d = self.rng, string.digits
        digits = lambda n: "".join(r.choice(d) for _ in range(n))  # noqa: E731
        letter = lambda: r.choice(string.ascii_uppercase)  # noqa: E731
        state, value = r.choice([
            ("CA", f"{letter()}{digits(7)}"), ("TX", digits(8)), ("FL", f"{letter()}{digits(12)}"),
            ("FL", f"{letter()}{digits(3)}-{digits(3)}-{digits(2)}-{digits(3)}-{digits(1)}"),
            ("NY", digits(9)), ("NY", f"{digits(3)} {digits(3)} {digits(3)}"), ("PA", digits(8)),
            ("IL", f"{letter()}{digits(3)}-{digits(4)}-{digits(4)}"), ("IL", f"{letter()}{digits(11)}"),
            ("OH", f"{letter()}{letter()}{digits(6)}"), ("GA", digits(9)), ("NC", digits(12)),
            ("MI", f"{letter()}{digits(12)}"), ("NJ", f"{letter()}{digits(14)}"), ("AZ", f"{letter()}{digits(8)}"),
            ("WA", f"WDL{''.join(r.choice(string.ascii_uppercase + d) for _ in range(9))}"), ("MA", f"S{digits(8)}"),
        ])  # fmt: skip
        p.append(("US_DRIVER_LICENSE", value))
        cue = r.choice(["DL", "DL#", "DLN", "DL no.", "driver's license", "Driver's License No.", "drivers licence number",
                        "driver license #", "CDL", "license", "licence no", "Lic. No.", "DL number", "Driver License Number:"])  # fmt: skip
        bare = cue.rstrip(":")
        return r.choice(
            [
                f"{cue} {value}",
                f"{bare}: {value}",
                f"{cue} {value} ({state})",
                f"{cue} {state} {value}",
            ]
        )

    def passport(self, p: list[tuple[str, str]]) -> str:
        r, d, u = self.rng, string.digits, string.ascii_uppercase
        digits = lambda n: "".join(r.choice(d) for _ in range(n))  # noqa: E731
        letters = lambda n: "".join(r.choice(u) for _ in range(n))  # noqa: E731
        value = r.choice([
            digits(9), f"{letters(1)}{digits(8)}", f"{letters(2)}{digits(6)}", f"C{''.join(r.choice('CFGHJKLMNPRTVWXYZ' + d) for _ in range(8))}",
            f"{digits(2)}{letters(2)}{digits(5)}", f"{letters(1)}{digits(7)}", f"E{digits(8)}", f"{letters(3)}{digits(6)}",
            f"{letters(2)}{digits(7)}",
        ])  # fmt: skip
        p.append(("PASSPORT", value))
        cue = r.choice(
            [
                "passport",
                "Passport No.",
                "passport number",
                "Passport #",
                "passport no",
                "PASSPORT:",
                "passport (UK)",
                "her passport is",
            ]
        )
        return f"{cue} {value}"

    def date_of_birth(self, p: list[tuple[str, str]]) -> str:
        r = self.rng
        date = self.fake.date_of_birth(minimum_age=18, maximum_age=80)
        value = r.choice([
            date.strftime("%m/%d/%Y"), date.strftime("%-m/%-d/%y"), date.strftime("%Y-%m-%d"), date.strftime("%d.%m.%Y"),
            date.strftime("%B %-d, %Y"), date.strftime("%-d %B %Y"), date.strftime("%d-%b-%Y"), date.strftime("%b %-d %Y"),
        ])  # fmt: skip
        p.append(("DATE_OF_BIRTH", value))
        cue = r.choice(
            [
                "DOB",
                "DOB:",
                "dob",
                "D.O.B.",
                "Date of birth:",
                "date of birth",
                "born on",
                "Birth date:",
                "birthdate",
                "Date of Birth -",
            ]
        )
        return f"{cue} {value}"

    # -- secrets ------------------------------------------------------------------------------

    def token(self, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def secret(self, p: list[tuple[str, str]]) -> str:
        r = self.rng
        kind = r.randrange(7)
        if kind == 0:
            value = "AKIA" + self.token(16, string.ascii_uppercase + string.digits)
            text = f"aws_access_key_id = {value}"
        elif kind == 1:
            value = self.fake.password(length=r.randint(10, 16))
            text = r.choice(
                ["password: {}", "pw={}", "the admin password is {}", 'DB_PASSWORD="{}"']
            ).format(value)
        elif kind == 2:
            value = self.token(r.randint(30, 60), string.ascii_letters + string.digits + "-_.")
            text = f"curl -H 'Authorization: Bearer {value}' https://api.internal/v1/trips"
        elif kind == 3:
            value = "ghp_" + self.token(36)
            text = f"use my github token {value} for the deploy"
        elif kind == 4:
            body = "\n".join(base64.b64encode(r.randbytes(48)).decode() for _ in range(4))
            value = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"
            text = f"key from the bastion:\n{value}"
        elif kind == 5:
            value = self.fake.sha256()[:40]
            text = f"api_key={value}"
        else:
            value = self.fake.password(length=12)
            text = f"postgres://app_user:{value}@db.staging.internal:5432/rides"
        p.append(("SECRET", value))
        return text

    # -- documents ----------------------------------------------------------------------------

    def pii_doc(self) -> Doc:
        """A realistic text with personal data, of one of seven kinds."""
        kind = self.rng.choice(["ticket", "fraud", "onboarding", "chat", "email", "roster", "pdf"])
        p: list[tuple[str, str]] = []
        text = getattr(self, f"_{kind}")(p)
        if kind == "pdf" or self.rng.random() < 0.1:
            text = wrap(text, self.rng)
        return Doc(kind, text, p)

    def secret_doc(self) -> Doc:
        """A realistic text that also holds one credential (must be refused)."""
        doc = self.pii_doc()
        p = list(doc.planted)
        return Doc("with secret", f"{doc.text}\n\n{self.fake.sentence()}\n{self.secret(p)}\n", p)

    def _ticket(self, p: list[tuple[str, str]]) -> str:
        f, r = self.fake, self.rng
        name, driver = self.person(p), self.person(p)
        lines = [
            f"Ticket #{r.randint(10000, 99999)} - {r.choice(['Lost item', 'Fare dispute', 'Safety report', 'Refund request', 'Chargeback'])}",
            f"{r.choice(['Customer', 'Rider', 'Name', 'Requester'])}: {name}",
            f"Email: {self.email(p)}",
            f"Phone: {self.phone(p)}",
        ]
        if r.random() < 0.5:
            lines.append(f"Card on file: {self.card(p)}")
        lines.append("")
        lines.append(
            f"Rider says the driver, {driver}, {r.choice(['took a longer route', 'was rude', 'never arrived', 'kept her umbrella'])}. "
            f"{f.sentence()} {self.first_name_alone(p)} Please call back on {self.phone(p)}."
        )
        return "\n".join(lines)

    def _fraud(self, p: list[tuple[str, str]]) -> str:
        f, r = self.fake, self.rng
        name = self.person(p)
        parts = [
            f"Fraud review {f.date()} - account flagged for {r.choice(['card testing', 'promo abuse', 'account takeover', 'chargebacks'])}.",
            f"Account holder {name}, {self.date_of_birth(p)}, {self.email(p)}.",
            f"Card used: {self.card(p)} (exp {f.credit_card_expire()}), second card {self.card(p)}.",
            f"Payout destination changed to IBAN {self.iban(p)} two days before.",
            f"{r.choice(['SSN on file', 'SSN', 'social security number'])} {self.ssn(p)} does not match the name.",
            f"Linked driver {self.person(p)} shares the device. {f.sentence()}",
        ]
        r.shuffle(parts)
        return " ".join(parts[: r.randint(4, 6)])

    def _onboarding(self, p: list[tuple[str, str]]) -> str:
        f, r = self.fake, self.rng
        name = self.person(p)
        rows = [
            f"Driver onboarding - {name}",
            f"{self.date_of_birth(p)}",
            f"{self.licence(p)}",
            f"Address: {self.street(p)}, {f.city()}, {f.state_abbr()} {f.zipcode()}",
            f"Payout {self.bank_account(p)}, routing {f.aba()}",
            f"SSN: {self.ssn(p)}",
        ]
        if r.random() < 0.5:
            rows.append(self.passport(p))
        rows.append(f"Notes: {self.first_name_alone(p)} {f.sentence()}")
        return "\n".join(rows)

    def _chat(self, p: list[tuple[str, str]]) -> str:
        f = self.fake
        agent = self.person(p, case="as is")
        return (
            f"[{f.time()}] {agent}: hey can you check the account of {self.person(p, case='lower')}?\n"
            f"[{f.time()}] ops: which one\n[{f.time()}] {agent}: receipt went to {self.email(p)}, "
            f"{self.first_name_alone(p)}\n[{f.time()}] ops: {self.licence(p)} matches"
        )

    def _email(self, p: list[tuple[str, str]]) -> str:
        f, r = self.fake, self.rng
        name = self.person(p, case="as is")
        return (
            f"From: {name} <{self.email(p)}>\nSubject: {f.sentence(nb_words=5)}\n\n"
            f"{self.first_name_alone(p)}\n\n{f.paragraph(nb_sentences=2)} I was picked up at {self.street(p)}. "
            f"You can call me at {self.phone(p)}.\n\n{r.choice(['Thanks', 'Best regards', 'Cheers'])},\n{name}\n"
        )

    def _roster(self, p: list[tuple[str, str]]) -> str:
        r = self.rng
        if r.random() < 0.5:
            rows = [
                f"{self.person(p, case='as is')},{self.email(p)},{self.phone(p)}"
                for _ in range(r.randint(3, 8))
            ]
            return "Can you dedupe this export?\n\nname,email,phone\n" + "\n".join(rows)
        rows = [self.person(p, case="as is") for _ in range(r.randint(4, 12))]
        return "Drivers on the Friday airport shift:\n" + "\n".join(f"- {row}" for row in rows)

    def _pdf(self, p: list[tuple[str, str]]) -> str:
        f = self.fake
        return (
            f"INCIDENT REPORT {f.date()}. The passenger {self.person(p, case='as is')} reported that the driver "
            f"{self.person(p, case='as is')} left the vehicle at {self.street(p)}. Witness statement taken from "
            f"{self.person(p, case='as is')} ({self.phone(p)}). {f.paragraph(nb_sentences=3)} "
            f"Follow-up: {self.first_name_alone(p)}"
        )

    # -- clean text ---------------------------------------------------------------------------

    def clean_doc(self) -> Doc:
        """Business text with no personal data, full of name-like products, places, firms."""
        f, r = self.fake, self.rng
        place = r.choice(
            [
                "Austin",
                "Jackson",
                "Charlotte",
                "Florence",
                "Victoria",
                "Lincoln",
                "Madison",
                "Georgia",
                "Paris",
                "Orlando",
                "Phoenix",
                "Dallas",
                "Denver",
                "Savannah",
                "Chelsea",
            ]
        )
        vehicle = r.choice(
            [
                "Lincoln Navigator",
                "Ford Transit",
                "Mercedes Sprinter",
                "Tesla Model Y",
                "Kia Niro",
                "Toyota Camry",
                "Chevrolet Bolt",
                "Ford Mustang Mach-E",
                "Mercedes-Benz EQS",
                "Honda Odyssey",
            ]
        )
        firm = r.choice(
            [
                "Salesforce",
                "Wells Fargo",
                "Morgan Stanley",
                "Johnson & Johnson",
                "Chase",
                "Ernst & Young",
                "Goldman Sachs",
                "Dell",
                "Ford",
                "Mercedes-Benz",
                "Jordan Logistics",
                "Hertz",
                "Marriott",
            ]
        )
        sentences = [
            f"Q{r.randint(1, 4)} revenue in {place} grew {r.randint(2, 40)}% year over year, driven by airport trips.",
            f"The {vehicle} fleet pilot in {place} cut charging costs by {r.randint(5, 30)}%.",
            f"{firm} renewed its corporate travel contract for {r.randint(2, 5)} years.",
            f"Average wait time fell from {r.randint(4, 9)}.{r.randint(0, 9)} to {r.randint(2, 4)}.{r.randint(0, 9)} minutes in {place}.",
            f"Order {r.randint(10**7, 10**8 - 1)} for {r.randint(20, 500)} car chargers shipped on {f.date()}.",
            f"Version {r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 9)} of the driver app fixes the map crash on Android {r.randint(11, 15)}.",
            f"Please summarise the attached {r.choice(['board deck', 'OKR draft', 'incident review', 'market study'])} in five bullet points.",
            f"Ticket OPS-{r.randint(100, 9999)} tracks the outage of {f.date()} between {r.randint(1, 11)}:{r.randint(10, 59)} and {r.randint(1, 11)}:{r.randint(10, 59)} UTC.",
            f"Our {firm} account team asked for the {place} launch timeline.",
            f"Budget for {f.year()}: ${r.randint(1, 90)}.{r.randint(1, 9)}M, of which {r.randint(5, 60)}% goes to driver incentives.",
            f"Rewrite this more politely: the {r.choice(['EMEA', 'LATAM', 'APAC'])} launch slips by {r.randint(2, 6)} weeks because the payments vendor is late.",
            f"Compare the {vehicle} with the {r.choice(['Ford Explorer', 'Lincoln Aviator', 'Mercedes GLE', 'Kia EV9'])} on cost per mile.",
            f"Drivers near {place} Airport and {r.choice(['Lincoln Park', 'Jackson Square', 'Victoria Station', 'Madison Square Garden', 'Austin Bergstrom'])} get a ${r.randint(2, 9)} bonus this weekend.",
            f"will you mark the {place} report as final and grant access to the finance team?",
            f"See https://wiki.example-rides.com/{f.word()}/{f.word()} for the runbook; page the on-call if p95 latency exceeds {r.randint(200, 900)} ms.",
        ]  # fmt: skip
        return Doc("clean", " ".join(r.sample(sentences, k=r.randint(3, 6))))


def wrap(text: str, rng: random.Random, width: int = 72) -> str:
    """Lines broken as PDF extraction breaks them: at a space near `width`, sometimes
    inside a long word with a hyphen."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            if len(line) + len(word) + 1 <= width:
                line = f"{line} {word}" if line else word
                continue
            if len(word) >= 8 and word.isalpha() and rng.random() < 0.3:
                cut = rng.randint(3, len(word) - 3)
                out.append(f"{line} {word[:cut]}-" if line else f"{word[:cut]}-")
                line = word[cut:]
            else:
                out.append(line)
                line = word
        out.append(line)
    return "\n".join(out)
