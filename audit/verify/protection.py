"""The database's own protection of the log: triggers, the append path, grants.

A missing or disabled trigger, or a role other than the owner allowed to change
audit rows, is a failure: the log may have been rewritten while it was off.
Superusers bypass everything and are not listed (one always exists).
"""

from __future__ import annotations

import importlib

from django.db import connection

from audit.roles import APPEND_ONLY_TABLES
from audit.verify.report import Problem

_migration = importlib.import_module("audit.migrations.0005_append_path")
AUDIT_TABLES = (*APPEND_ONLY_TABLES, "audit_auditchainhead", "audit_auditdailytotal")
DEFINER_FUNCTIONS = ("audit_chain_lock", "audit_event_append", "audit_content_blank")

_POSTGRES_TRIGGERS = """
SELECT t.tgname FROM pg_trigger t
WHERE NOT t.tgisinternal AND t.tgenabled <> 'D'
  AND t.tgrelid IN ('audit_auditevent'::regclass, 'audit_auditcheckpoint'::regclass)
"""
_POSTGRES_FUNCTIONS = """
SELECT p.proname FROM pg_proc p
WHERE p.prosecdef AND p.proowner = (SELECT relowner FROM pg_class
                                    WHERE oid = 'audit_auditevent'::regclass)
  AND p.proname = ANY(%s)
"""
# Privileges on the audit tables held by anyone but the owner that would let them
# change rows (INSERT is only dangerous on the head and the totals).
_POSTGRES_GRANTS = """
SELECT c.relname, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
       a.privilege_type
FROM pg_class c, aclexplode(c.relacl) a
WHERE c.relname = ANY(%s) AND a.grantee <> c.relowner
  AND (a.privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE', 'TRIGGER')
       OR (a.privilege_type = 'INSERT'
           AND c.relname IN ('audit_auditchainhead', 'audit_auditdailytotal')))
ORDER BY 1, 2, 3
"""


def check_protection() -> list[Problem]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_POSTGRES_TRIGGERS)
            expected = set(_migration.POSTGRES_TRIGGERS)
            present = {row[0] for row in cursor.fetchall()}
            cursor.execute(_POSTGRES_FUNCTIONS, [list(DEFINER_FUNCTIONS)])
            functions = {row[0] for row in cursor.fetchall()}
            cursor.execute(_POSTGRES_GRANTS, [list(AUDIT_TABLES)])
            grants = cursor.fetchall()
        elif connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            expected = set(_migration.SQLITE_TRIGGERS)
            present = {row[0] for row in cursor.fetchall()}
            functions, grants = set(DEFINER_FUNCTIONS), []
        else:
            return []
    problems = [
        Problem("protection", f"append-only trigger {name} is missing or disabled")
        for name in sorted(expected - present)
    ]
    problems += [
        Problem("protection", f"append-path function {name}() is missing or not the owner's")
        for name in sorted(set(DEFINER_FUNCTIONS) - functions)
    ]
    problems += [
        Problem("protection", f"role {role} may {privilege} on {table}")
        for table, role, privilege in grants
    ]
    return problems
