"""Cheaper sealing: fewer indexes on the chain, one check per DELETE of pending rows.

Every sealed event paid for sixteen indexes, and the rule that a pending event leaves
only into the chain ran a PL/pgSQL call per deleted row. Now:

Dropped (each insert updated them; no query needs them):

- the ``varchar_pattern_ops`` copies PostgreSQL gets for every indexed text column
  (``*_like``): they serve ``LIKE 'abc%'`` only, and the admin's searches are
  case-insensitive ``icontains``, which no B-tree serves;
- the single-column indexes of ``object_type`` and ``object_id``: the composite
  ``audit_event_object_idx`` (object_type, object_id) serves both the filter by type and
  the lookup of one object.

The rule on pending rows is checked once per DELETE statement (PostgreSQL transition
table: no deleted row may lack its event in the chain), the same rule as before.

Kept: the primary key, ``seq``, ``hash`` and ``pending_id`` (unique: the chain's own
rules and the pending table's trigger), ``time``, ``actor_user_id``, ``actor_username``,
``action`` and the composite object index.

Written by hand; regenerate nothing here with makemigrations.
"""

from django.db import migrations, models

TABLE = "audit_auditevent"

STATEMENT_CHECK_UP = r"""
DROP TRIGGER audit_pending_into_chain ON audit_pendingevent;
CREATE OR REPLACE FUNCTION audit_pending_left_into_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM gone WHERE NOT EXISTS (
            SELECT 1 FROM audit_auditevent e WHERE e.pending_id = gone.id
        )
    ) THEN
        RAISE EXCEPTION 'audit log is append-only: a pending event leaves only into the chain'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER audit_pending_into_chain AFTER DELETE ON audit_pendingevent
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION audit_pending_left_into_chain();
"""

STATEMENT_CHECK_DOWN = r"""
DROP TRIGGER audit_pending_into_chain ON audit_pendingevent;
DROP FUNCTION audit_pending_left_into_chain();
CREATE TRIGGER audit_pending_into_chain BEFORE DELETE ON audit_pendingevent
    FOR EACH ROW EXECUTE FUNCTION audit_pending_leaves_into_chain();
"""
SINGLE = ("object_type", "object_id")


def drop_indexes(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    for name, info in sorted(constraints.items()):
        if info["primary_key"] or info["unique"] or not info["index"]:
            continue
        if name.endswith("_like") or tuple(info["columns"]) in {(c,) for c in SINGLE}:
            schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")


def statement_check(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(STATEMENT_CHECK_UP, params=None)


def row_check(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(STATEMENT_CHECK_DOWN, params=None)


def restore_indexes(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for column in SINGLE:
        schema_editor.execute(f"CREATE INDEX audit_event_{column}_single ON {TABLE} ({column})")
    if vendor == "postgresql":
        for column in ("actor_username", "action", "object_type", "object_id", "hash"):
            schema_editor.execute(
                f"CREATE INDEX audit_event_{column}_like ON {TABLE} ({column} varchar_pattern_ops)"
            )


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_batched_sequencer")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_indexes, restore_indexes)],
            state_operations=[
                migrations.AlterField(
                    model_name="auditevent",
                    name="object_type",
                    field=models.CharField(max_length=100),
                ),
                migrations.AlterField(
                    model_name="auditevent",
                    name="object_id",
                    field=models.CharField(max_length=100),
                ),
            ],
        ),
        migrations.RunPython(statement_check, row_check),
    ]
