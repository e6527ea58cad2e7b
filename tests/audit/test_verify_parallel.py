"""Parallel verification: ranges checked by separate processes, seams by the parent,
give the same verdicts as one pass. Runs on committed data (other processes
cannot see a test transaction)."""

from __future__ import annotations

import pytest

from audit.checkpoints import checkpoint_create
from audit.verify import verify_log
from tests.audit.conftest import record_many
from tests.support.audit_db import tampering

pytestmark = pytest.mark.django_db(transaction=True)


def test_intact_chain_verifies_in_parallel_like_in_one_pass() -> None:
    """Same count, ends and last hash with 3 processes over 6 ranges as in one pass."""
    record_many(60)
    checkpoint_create(store=None)
    record_many(7)
    parallel = verify_log(store=None, jobs=3, min_segment=5)
    single = verify_log(store=None, jobs=1)
    assert parallel.ok and single.ok, parallel.summary()
    assert (parallel.events, parallel.first_id, parallel.last_id, parallel.last_hash) == (
        single.events,
        single.first_id,
        single.last_id,
        single.last_hash,
    )


def test_first_problem_is_named_across_ranges() -> None:
    """An edit in a late range and a deletion at an earlier seam: the earlier one wins."""
    events = record_many(60)
    late, seam = events[50].id, events[20].id
    with tampering() as cursor:
        cursor.execute("UPDATE audit_auditevent SET outcome = 'x' WHERE id = %s", [late])
    result = verify_log(store=None, jobs=2, min_segment=5)
    assert result.problem is not None and result.problem.event_id == late
    assert result.problem.kind == "edited"
    with tampering() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [seam])
    result = verify_log(store=None, jobs=2, min_segment=5)
    assert result.problem is not None and result.problem.event_id == seam
    assert result.problem.kind == "deleted"


def test_a_broken_event_is_found_at_any_position_around_a_seam() -> None:
    """Whether a broken event opens a range, closes one or sits inside, it is named."""
    events = record_many(40)
    total = events[-1].id
    for target in (total // 4, total // 4 + 1, total // 2):
        with tampering() as cursor:
            cursor.execute(
                "UPDATE audit_auditevent SET hash = %s WHERE id = %s", ["0" * 64, target]
            )
        result = verify_log(store=None, jobs=2, min_segment=5)
        assert result.problem is not None and result.problem.event_id == target
        assert result.problem.kind in {"edited", "deleted"}
        with tampering() as cursor:
            original = next(e for e in events if e.id == target).hash
            cursor.execute(
                "UPDATE audit_auditevent SET hash = %s WHERE id = %s", [original, target]
            )
    assert verify_log(store=None, jobs=2, min_segment=5).ok
