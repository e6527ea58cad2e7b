"""Plain words for the entity types, for people: the refusal sentence of the judge and the
preview's labels on the page (sent to the browser by the server, never copied into JS).
Unknown (custom) types show their code."""

from __future__ import annotations

# Type → (article, name).
ENTITY_TYPE_NAMES: dict[str, tuple[str, str]] = {
    "US_SSN": ("a", "US Social Security number"),
    "CREDIT_CARD": ("a", "payment card number"),
    "IBAN_CODE": ("a", "bank account number (IBAN)"),
    "US_BANK_NUMBER": ("a", "bank account number"),
    "AWS_ACCESS_KEY": ("an", "AWS access key"),
    "AWS_SECRET_KEY": ("an", "AWS secret key"),
    "PRIVATE_KEY": ("a", "private key"),
    "API_TOKEN": ("an", "API token"),
    "PASSWORD": ("a", "password"),
    "PERSON": ("a", "person's name"),
    "EMAIL_ADDRESS": ("an", "email address"),
    "PHONE_NUMBER": ("a", "phone number"),
    "STREET_ADDRESS": ("a", "street address"),
    "US_DRIVER_LICENSE": ("a", "driver's licence number"),
    "PASSPORT": ("a", "passport number"),
    "DATE_OF_BIRTH": ("a", "date of birth"),
    "IP_ADDRESS": ("an", "IP address"),
    "RIDER_ID": ("a", "rider id"),
    "DRIVER_ID": ("a", "driver id"),
    "TRIP_ID": ("a", "trip id"),
    "DATE_TIME": ("a", "date"),
    "LOCATION": ("a", "place"),
}


def entity_type_name(entity_type: str) -> str:
    """ "payment card number"; the code itself for a type without a name."""
    return ENTITY_TYPE_NAMES.get(entity_type, ("", entity_type))[1]


def entity_type_phrase(entity_type: str) -> str:
    """ "a payment card number", for sentences; the code itself for a type without a name."""
    article, name = ENTITY_TYPE_NAMES.get(entity_type, ("", entity_type))
    return f"{article} {name}" if article else name


def entity_type_labels() -> dict[str, dict[str, str]]:
    """Every named type → its name and phrase, for the page's preview."""
    return {
        entity_type: {"name": name, "phrase": entity_type_phrase(entity_type)}
        for entity_type, (_article, name) in ENTITY_TYPE_NAMES.items()
    }
