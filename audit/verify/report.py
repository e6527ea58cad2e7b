"""What verification found, as one sentence, an exit code and a JSON report."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from audit.chain import GENESIS

INTACT, TAMPERED, CANNOT_CHECK = 0, 1, 2
STATUS = {INTACT: "intact", TAMPERED: "tampered", CANNOT_CHECK: "cannot_check"}


class CannotCheck(Exception):
    """Verification could not be done (missing table or store, unknown key)."""


@dataclass(frozen=True)
class Problem:
    """The first thing found wrong, and where: an event, a checkpoint, a day of totals,
    or the database's protection."""

    kind: str  # edited | deleted | inserted | reordered | truncated | content | retention
    # | checkpoint | store | totals | protection
    message: str
    event_id: int | None = None
    checkpoint: int | None = None
    day: str | None = None

    def where(self) -> str:
        if self.event_id is not None:
            return f"event #{self.event_id}"
        if self.checkpoint is not None:
            return f"checkpoint {self.checkpoint}"
        if self.day is not None:
            return f"daily totals of {self.day}"
        return "protection"


@dataclass
class VerifyResult:
    events: int = 0
    first_id: int | None = None
    last_id: int | None = None
    last_hash: str = GENESIS
    checkpoints: int = 0
    newest_checkpoint: dict[str, Any] | None = None
    unsigned_events: int = 0
    store: str | None = None
    keys: list[str] = field(default_factory=list)
    totals_rows: int = 0
    problem: Problem | None = None
    cannot_check: str | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.problem is None and self.cannot_check is None

    @property
    def exit_code(self) -> int:
        if self.cannot_check is not None:
            return CANNOT_CHECK
        return TAMPERED if self.problem is not None else INTACT

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        if self.cannot_check is not None:
            return f"audit log cannot be checked: {self.cannot_check}"
        if self.problem is not None:
            return f"audit log NOT intact: {self.problem.where()}: {self.problem.message}"
        span = f"#{self.first_id}..#{self.last_id}" if self.events else "none"
        store = f"store {self.store} matches" if self.store else "no store"
        return (
            f"audit log intact: {self.events:,} events ({span}), last hash "
            f"{self.last_hash[:16]}…, {self.checkpoints} checkpoints verified "
            f"({self.unsigned_events} events after the newest), {store}, "
            f"{self.totals_rows} daily totals match, in {self.seconds:.2f} s "
            f"({self.rate:,.0f} events/s)"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "status": STATUS[self.exit_code],
            "exit_code": self.exit_code,
            "summary": self.summary(),
            "problem": asdict(self.problem) if self.problem else None,
            "cannot_check": self.cannot_check,
            "events": self.events,
            "first_id": self.first_id,
            "last_id": self.last_id,
            "last_hash": self.last_hash,
            "checkpoints": self.checkpoints,
            "newest_checkpoint": self.newest_checkpoint,
            "unsigned_events": self.unsigned_events,
            "store": self.store,
            "keys": self.keys,
            "totals_rows": self.totals_rows,
            "warnings": self.warnings,
            "seconds": round(self.seconds, 3),
            "events_per_second": round(self.rate),
        }

    def write_json(self, path: Path) -> None:
        path.write_text(json.dumps(self.as_json(), indent=2, sort_keys=True) + "\n")
