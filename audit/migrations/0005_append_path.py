"""The append path and append-only triggers, with no escape hatch.

Before this migration the triggers let a session flush the tables when it set
`audit.allow_test_flush` (PostgreSQL) or registered `audit_test_flush_allowed()`
(SQLite) — and any client could. Now nothing relaxes them; tests empty the
tables as the owner with test-only objects (tests/support/audit_db.py).

PostgreSQL (the application connects as a role with SELECT and INSERT only, see
audit/roles.py; these functions run as the owner, SECURITY DEFINER):
- `audit_chain_lock()` locks the chain head row and returns (seq, hash): the only
  way for the application to serialize appends, as it may not UPDATE the head.
- `audit_event_append()` (BEFORE INSERT on events) refuses an event that does not
  extend the chain (id = head + 1, prev_hash = head hash), moves the head to it,
  and adds it to the daily totals: the head and the totals change only here.
- `audit_content_blank(through_id)` blanks content up to an event, the retention
  purge's one UPDATE; verify_audit_log judges whether the purge was allowed.
- `audit_refuse_change()` refuses UPDATE (except blanking content), DELETE and
  TRUNCATE on events and checkpoints, for every role including the owner.

SQLite has no roles: the same rules as triggers (append, head, totals, refusals).
Anyone who can write the file can drop them; verify_audit_log fails when any is
missing, and the off-box checkpoint store catches a rewritten file.

Note for later migrations: SQLite rebuilds a table to alter it, which drops its
triggers. Any migration altering these tables must run SQLITE_SQL again.
"""

from django.db import migrations

EVENT_COLUMNS = (
    "id", "created_at", "actor_id", "actor_label", "actor_department", "action",
    "target_type", "target_id", "outcome", "tool", "model", "decision", "input_tokens",
    "output_tokens", "cost_usd", "details", "content_sha256", "prev_hash", "hash",
)  # fmt: skip
# audit/totals.py TOTALED_ACTIONS at the time of this migration; verify_audit_log
# recomputes the totals from the events and reports any difference.
TOTALED_ACTIONS = "('prompt.submitted', 'prompt.blocked', 'generation.finished')"
TOTAL_KEY = "day, action, actor_department, tool, model, decision, outcome"
TOTAL_SUMS = """
  events = t.events + 1,
  input_tokens = t.input_tokens + excluded.input_tokens,
  output_tokens = t.output_tokens + excluded.output_tokens,
  cost_usd = t.cost_usd + excluded.cost_usd
"""
GENESIS = "0" * 64
APPEND_ONLY_TABLES = ("audit_auditevent", "audit_auditcheckpoint")


def _postgres_sql(schema: str) -> list[str]:
    # SECURITY DEFINER functions run as the owner: pin their search path (pg_temp
    # last) so no other role can shadow a table or function they use.
    definer = f'SECURITY DEFINER SET search_path = "{schema}", pg_temp'
    return [
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
          RAISE EXCEPTION 'audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
        END
        $$;
        """,
        f"""
        CREATE OR REPLACE FUNCTION audit_chain_lock() RETURNS TABLE (seq bigint, hash varchar)
        LANGUAGE plpgsql {definer} AS $$
        BEGIN
          RETURN QUERY SELECT h.seq, h.hash FROM audit_auditchainhead h WHERE h.id = 1 FOR UPDATE;
          IF NOT FOUND THEN
            -- A fresh database: start from the last event, never from #1 again.
            INSERT INTO audit_auditchainhead (id, seq, hash)
            SELECT 1, COALESCE(MAX(e.id), 0),
                   COALESCE((SELECT l.hash FROM audit_auditevent l ORDER BY l.id DESC LIMIT 1),
                            '{GENESIS}')
            FROM audit_auditevent e
            ON CONFLICT (id) DO NOTHING;
            RETURN QUERY SELECT h.seq, h.hash FROM audit_auditchainhead h WHERE h.id = 1 FOR UPDATE;
          END IF;
        END
        $$;
        """,
        f"""
        CREATE OR REPLACE FUNCTION audit_event_append() RETURNS trigger
        LANGUAGE plpgsql {definer} AS $$
        DECLARE
          head_seq bigint;
          head_hash varchar;
        BEGIN
          SELECT h.seq, h.hash INTO head_seq, head_hash
          FROM audit_auditchainhead h WHERE h.id = 1 FOR UPDATE;
          IF NOT FOUND OR NEW.id <> head_seq + 1 OR NEW.prev_hash <> head_hash THEN
            RAISE EXCEPTION 'audit log is append-only: event #% does not extend the chain head',
              NEW.id USING ERRCODE = 'insufficient_privilege';
          END IF;
          UPDATE audit_auditchainhead SET seq = NEW.id, hash = NEW.hash WHERE id = 1;
          IF NEW.action IN {TOTALED_ACTIONS} THEN
            INSERT INTO audit_auditdailytotal AS t
              ({TOTAL_KEY}, events, input_tokens, output_tokens, cost_usd)
            VALUES ((NEW.created_at AT TIME ZONE 'UTC')::date, NEW.action,
                    NEW.actor_department, NEW.tool, NEW.model, NEW.decision, NEW.outcome, 1,
                    COALESCE(NEW.input_tokens, 0), COALESCE(NEW.output_tokens, 0),
                    COALESCE(NEW.cost_usd, 0))
            ON CONFLICT ({TOTAL_KEY}) DO UPDATE SET {TOTAL_SUMS};
          END IF;
          RETURN NEW;
        END
        $$;
        """,
        f"""
        CREATE OR REPLACE FUNCTION audit_content_blank(through_id bigint) RETURNS bigint
        LANGUAGE plpgsql {definer} AS $$
        DECLARE
          blanked bigint;
        BEGIN
          UPDATE audit_auditevent SET content = '' WHERE id <= through_id AND content <> '';
          GET DIAGNOSTICS blanked = ROW_COUNT;
          RETURN blanked;
        END
        $$;
        """,
        "DROP TRIGGER IF EXISTS audit_auditevent_append ON audit_auditevent;",
        "CREATE TRIGGER audit_auditevent_append BEFORE INSERT ON audit_auditevent "
        "FOR EACH ROW EXECUTE FUNCTION audit_event_append();",
        # Nobody calls these but through the grants audit_grants gives the app role.
        *[
            f"REVOKE ALL ON FUNCTION {f} FROM PUBLIC;"
            for f in (
                "audit_chain_lock()",
                "audit_event_append()",
                "audit_content_blank(bigint)",
                "audit_refuse_change()",
            )
        ],
    ]


POSTGRES_REVERSE_SQL = [
    "DROP TRIGGER IF EXISTS audit_auditevent_append ON audit_auditevent;",
    "DROP FUNCTION IF EXISTS audit_event_append();",
    "DROP FUNCTION IF EXISTS audit_chain_lock();",
    "DROP FUNCTION IF EXISTS audit_content_blank(bigint);",
]

_UNCHANGED = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in EVENT_COLUMNS)


def _refuse(name: str, event: str, table: str, when: str = "") -> str:
    return (
        f"CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW {when} "
        f"BEGIN SELECT RAISE(ABORT, 'audit log is append-only: {event} on {table} refused'); END;"
    )


SQLITE_SQL = [
    _refuse(
        "audit_auditevent_no_update",
        "UPDATE",
        "audit_auditevent",
        f"WHEN NOT (NEW.content = '' AND {_UNCHANGED})",
    ),
    _refuse("audit_auditevent_no_delete", "DELETE", "audit_auditevent"),
    _refuse("audit_auditcheckpoint_no_update", "UPDATE", "audit_auditcheckpoint"),
    _refuse("audit_auditcheckpoint_no_delete", "DELETE", "audit_auditcheckpoint"),
    _refuse("audit_auditchainhead_no_delete", "DELETE", "audit_auditchainhead"),
    # The head only ever moves to the event just appended.
    _refuse(
        "audit_auditchainhead_no_update",
        "UPDATE",
        "audit_auditchainhead",
        "WHEN NOT (NEW.id = 1 AND NEW.seq = OLD.seq + 1 AND "
        "NEW.hash IS (SELECT e.hash FROM audit_auditevent e WHERE e.id = NEW.seq))",
    ),
    """
    CREATE TRIGGER audit_auditevent_append BEFORE INSERT ON audit_auditevent FOR EACH ROW
    WHEN NEW.id IS NOT (SELECT h.seq + 1 FROM audit_auditchainhead h WHERE h.id = 1)
      OR NEW.prev_hash IS NOT (SELECT h.hash FROM audit_auditchainhead h WHERE h.id = 1)
    BEGIN
      SELECT RAISE(ABORT, 'audit log is append-only: an event must extend the chain head');
    END;
    """,
    f"""
    CREATE TRIGGER audit_auditevent_advance AFTER INSERT ON audit_auditevent FOR EACH ROW
    BEGIN
      UPDATE audit_auditchainhead SET seq = NEW.id, hash = NEW.hash WHERE id = 1;
      INSERT INTO audit_auditdailytotal
        ({TOTAL_KEY}, events, input_tokens, output_tokens, cost_usd)
      SELECT substr(NEW.created_at, 1, 10), NEW.action, NEW.actor_department, NEW.tool,
             NEW.model, NEW.decision, NEW.outcome, 1, COALESCE(NEW.input_tokens, 0),
             COALESCE(NEW.output_tokens, 0), COALESCE(NEW.cost_usd, 0)
      WHERE NEW.action IN {TOTALED_ACTIONS}
      ON CONFLICT ({TOTAL_KEY}) DO UPDATE SET {TOTAL_SUMS.replace("t.", "")};
    END;
    """,
]
SQLITE_TRIGGERS = (
    "audit_auditevent_no_update",
    "audit_auditevent_no_delete",
    "audit_auditcheckpoint_no_update",
    "audit_auditcheckpoint_no_delete",
    "audit_auditchainhead_no_delete",
    "audit_auditchainhead_no_update",
    "audit_auditevent_append",
    "audit_auditevent_advance",
)
SQLITE_DROP_SQL = [f"DROP TRIGGER IF EXISTS {name};" for name in SQLITE_TRIGGERS]
# PostgreSQL's user triggers on the audit tables (verify_audit_log checks them).
POSTGRES_TRIGGERS = (
    "audit_auditevent_append_only",
    "audit_auditevent_no_truncate",
    "audit_auditcheckpoint_append_only",
    "audit_auditcheckpoint_no_truncate",
    "audit_auditevent_append",
)


def _head_row_sql() -> str:
    """The head row, so the first append need not create it (the SQLite append trigger
    compares with it)."""
    return f"""
    INSERT INTO audit_auditchainhead (id, seq, hash)
    SELECT 1, COALESCE(MAX(id), 0),
           COALESCE((SELECT hash FROM audit_auditevent ORDER BY id DESC LIMIT 1), '{GENESIS}')
    FROM audit_auditevent
    WHERE true
    ON CONFLICT (id) DO NOTHING
    """  # noqa: S608


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_schema()")
            schema = cursor.fetchone()[0]
        statements = _postgres_sql(schema)
    elif connection.vendor == "sqlite":
        # 0004 rebuilt the checkpoint table (its triggers went with it); 0002's event
        # triggers asked the test-flush function: replace them all.
        statements = [*SQLITE_DROP_SQL, *SQLITE_SQL]
    else:
        return
    for sql in [_head_row_sql(), *statements]:
        schema_editor.execute(sql, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in POSTGRES_REVERSE_SQL:
            schema_editor.execute(sql, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for sql in SQLITE_DROP_SQL:
            schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_signed_checkpoints")]

    operations = [migrations.RunPython(forwards, backwards)]
