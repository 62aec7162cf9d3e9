"""The batched sequencer (``audit/sequencer.py``): events appended *pending* into their own
narrow table (one INSERT, no lock, no secondary index) and sealed into the chain in batches.

- ``audit_pendingevent``: the content of an event not yet in the chain. On PostgreSQL a
  row cannot be changed, and can be deleted only once the chain holds it (an event whose
  ``pending_id`` names it): a pending event can only leave into the chain.
- ``audit_auditevent.pending_id``: the pending row a sealed event came from (empty for
  events appended inline).
- The head may advance by one (an inline append, as before) or straight to the last event
  of a sealed batch, which must exist with that seq and hash; never back.

Written by hand; regenerate nothing here with makemigrations.
"""

from django.db import migrations, models

POSTGRES_UP = r"""
CREATE OR REPLACE FUNCTION audit_head_advance_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id <> OLD.id OR NEW.seq < OLD.seq OR (
        NEW.seq > OLD.seq + 1 AND NOT EXISTS (
            SELECT 1 FROM audit_auditevent WHERE seq = NEW.seq AND hash = NEW.hash
        )
    ) THEN
        RAISE EXCEPTION 'audit chain head may only advance by one or to a sealed event (% -> %)',
            OLD.seq, NEW.seq USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION audit_pending_leaves_into_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM audit_auditevent WHERE pending_id = OLD.id) THEN
        RAISE EXCEPTION 'audit log is append-only: a pending event leaves only into the chain'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN OLD;
END
$$;

CREATE TRIGGER audit_pending_no_update BEFORE UPDATE ON audit_pendingevent
    FOR EACH ROW EXECUTE FUNCTION audit_reject_change();
CREATE TRIGGER audit_pending_into_chain BEFORE DELETE ON audit_pendingevent
    FOR EACH ROW EXECUTE FUNCTION audit_pending_leaves_into_chain();
CREATE TRIGGER audit_pending_no_truncate BEFORE TRUNCATE ON audit_pendingevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_change();
"""

POSTGRES_DOWN = r"""
DROP TRIGGER IF EXISTS audit_pending_no_update ON audit_pendingevent;
DROP TRIGGER IF EXISTS audit_pending_into_chain ON audit_pendingevent;
DROP TRIGGER IF EXISTS audit_pending_no_truncate ON audit_pendingevent;
DROP FUNCTION IF EXISTS audit_pending_leaves_into_chain();
CREATE OR REPLACE FUNCTION audit_head_advance_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id <> OLD.id OR NEW.seq < OLD.seq OR NEW.seq > OLD.seq + 1 THEN
        RAISE EXCEPTION 'audit chain head may only advance by one (% -> %)', OLD.seq, NEW.seq
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;
"""


def _pending_fields():
    return [
        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
        ("time", models.DateTimeField()),
        ("actor_user_id", models.BigIntegerField(blank=True, null=True)),
        ("actor_username", models.CharField(blank=True, max_length=150)),
        ("actor_role", models.CharField(blank=True, max_length=64)),
        ("actor_token_id", models.CharField(blank=True, max_length=64)),
        ("actor_session", models.CharField(blank=True, max_length=64)),
        ("actor_ip", models.CharField(blank=True, max_length=64)),
        ("action", models.CharField(max_length=64)),
        ("object_type", models.CharField(max_length=100)),
        ("object_id", models.CharField(max_length=100)),
        ("details_json", models.TextField(default="{}")),
    ]


def _pending_model(managed):
    return migrations.CreateModel(
        name="PendingEvent",
        fields=_pending_fields(),
        options={
            "verbose_name": "pending audit event",
            "db_table": "audit_pendingevent",
            "ordering": ("id",),
            **({} if managed else {"managed": False}),
        },
    )


_PENDING_ID = models.BigIntegerField(
    blank=True, editable=False, null=True, unique=True,
    help_text="the pending row this event was sealed from (batched sequencer)",
)


def up(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP, params=None)


def down(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN, params=None)


def add_pending_id(apps, schema_editor):
    # Plain SQL on both databases: SQLite cannot ADD a UNIQUE column (Django would rebuild
    # the table and lose its triggers), so the uniqueness is an index of its own.
    bigint = "bigint" if schema_editor.connection.vendor == "postgresql" else "integer"
    schema_editor.execute(f"ALTER TABLE audit_auditevent ADD COLUMN pending_id {bigint} NULL")
    schema_editor.execute(
        "CREATE UNIQUE INDEX audit_event_pending_id_uniq ON audit_auditevent (pending_id)"
    )


def drop_pending_id(apps, schema_editor):
    schema_editor.execute("DROP INDEX audit_event_pending_id_uniq")
    schema_editor.execute("ALTER TABLE audit_auditevent DROP COLUMN pending_id")


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[_pending_model(managed=True)],
            state_operations=[_pending_model(managed=False)],
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(add_pending_id, drop_pending_id)],
            state_operations=[
                migrations.AddField(model_name="auditevent", name="pending_id", field=_PENDING_ID)
            ],
        ),
        migrations.RunPython(up, down),
    ]
