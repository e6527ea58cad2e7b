"""Database triggers that make the audit tables append-only, per vendor.

PostgreSQL: UPDATE, DELETE and TRUNCATE are refused on events and checkpoints.
The one allowed UPDATE blanks `content` of an event and changes nothing else
(the retention purge; `content` is outside the hash chain). TRUNCATE passes only
when the session sets `audit.allow_test_flush` (tests, see audit/db.py).

SQLite: UPDATE (except that same purge) and DELETE are refused; DELETE passes
only when `audit_test_flush_allowed()` says so (registered per connection in
tests; unknown to any other client, which then fails — i.e. refuses).

Note for later migrations: SQLite rebuilds a table to alter it, which drops its
triggers. Any migration altering these tables must run SQLITE_SQL again;
`verify_audit_log` reports missing triggers.

Also a PostgreSQL-only GIN index on details->'findings' for the entity-type filter.
"""

from django.db import migrations

EVENT_COLUMNS = (
    "id", "created_at", "actor_id", "actor_label", "actor_department", "action",
    "target_type", "target_id", "outcome", "tool", "model", "decision", "input_tokens",
    "output_tokens", "cost_usd", "details", "content_sha256", "prev_hash", "hash",
)  # fmt: skip

POSTGRES_SQL = [
    """
    CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      -- Nested IFs: NEW does not exist for TRUNCATE, and plpgsql does not
      -- short-circuit AND.
      IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'audit_auditevent' THEN
        IF NEW.content = '' AND (to_jsonb(NEW) - 'content') = (to_jsonb(OLD) - 'content') THEN
          RETURN NEW;
        END IF;
      END IF;
      IF TG_OP = 'TRUNCATE' AND current_setting('audit.allow_test_flush', true) = 'on' THEN
        RETURN NULL;
      END IF;
      RAISE EXCEPTION 'audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
    END
    $$;
    """,
    *[
        sql
        for table in ("audit_auditevent", "audit_auditcheckpoint")
        for sql in (
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();",
        )
    ],
    "CREATE INDEX audit_findings_gin ON audit_auditevent USING gin ((details -> 'findings'));",
]
POSTGRES_REVERSE_SQL = [
    "DROP INDEX IF EXISTS audit_findings_gin;",
    *[
        f"DROP TRIGGER IF EXISTS {table}_{kind} ON {table};"
        for table in ("audit_auditevent", "audit_auditcheckpoint")
        for kind in ("append_only", "no_truncate")
    ],
    "DROP FUNCTION IF EXISTS audit_refuse_change();",
]

_UNCHANGED = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in EVENT_COLUMNS)
SQLITE_SQL = [
    f"""
    CREATE TRIGGER audit_auditevent_no_update BEFORE UPDATE ON audit_auditevent
    FOR EACH ROW WHEN NOT (NEW.content = '' AND {_UNCHANGED})
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only: UPDATE on audit_auditevent refused'); END;
    """,
    *[
        sql
        for table in ("audit_auditevent", "audit_auditcheckpoint")
        for sql in (
            f"""
            CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
            FOR EACH ROW WHEN audit_test_flush_allowed() = 0
            BEGIN SELECT RAISE(ABORT, 'audit log is append-only: DELETE on {table} refused'); END;
            """,
        )
    ],
    """
    CREATE TRIGGER audit_auditcheckpoint_no_update BEFORE UPDATE ON audit_auditcheckpoint
    FOR EACH ROW
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only: UPDATE on audit_auditcheckpoint refused'); END;
    """,
]
SQLITE_TRIGGERS = (
    "audit_auditevent_no_update",
    "audit_auditevent_no_delete",
    "audit_auditcheckpoint_no_delete",
    "audit_auditcheckpoint_no_update",
)
SQLITE_REVERSE_SQL = [f"DROP TRIGGER IF EXISTS {name};" for name in SQLITE_TRIGGERS]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES_SQL, "sqlite": SQLITE_SQL}),
            _run({"postgresql": POSTGRES_REVERSE_SQL, "sqlite": SQLITE_REVERSE_SQL}),
        )
    ]
