"""The batched sequencer (PostgreSQL): an event may be appended *pending* (no seq, prev_hash
or hash yet) and sealed later, in batches, under the head's lock (``audit.sequencer``).

On PostgreSQL the three chain columns become nullable and the append-only trigger gains
its one exception: a pending row may be sealed once, setting exactly those three columns
and nothing else; any other UPDATE, any DELETE, any TRUNCATE is still refused. The head may
advance by one, or to the last event of a sealed batch (never back). A partial index finds the pending rows. SQLite always seals at once (one writer at a time), so its
columns and triggers stay as they were.

Written by hand; regenerate nothing here with makemigrations.
"""

from django.db import migrations, models

CONTENT = (
    "id", "time", "actor_user_id", "actor_username", "actor_role", "actor_token_id",
    "actor_session", "actor_ip", "action", "object_type", "object_id", "details_json",
)
_SAME_CONTENT = " AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in CONTENT)

POSTGRES_UP = rf"""
ALTER TABLE audit_auditevent ALTER COLUMN seq DROP NOT NULL;
ALTER TABLE audit_auditevent ALTER COLUMN prev_hash DROP NOT NULL;
ALTER TABLE audit_auditevent ALTER COLUMN hash DROP NOT NULL;
CREATE INDEX audit_event_pending_idx ON audit_auditevent (id) WHERE seq IS NULL;

CREATE OR REPLACE FUNCTION audit_event_seal_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.seq IS NULL AND OLD.prev_hash IS NULL AND OLD.hash IS NULL
       AND NEW.seq IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL
       AND {_SAME_CONTENT} THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit log is append-only: UPDATE on audit_auditevent rejected (only a pending event may be sealed, once)'
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;

-- The head advances by one (an inline append) or, for a sealed batch, straight to the
-- batch's last event, which must exist with that seq and hash; it never goes back.
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

DROP TRIGGER audit_event_append_only ON audit_auditevent;
CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_reject_change();
CREATE TRIGGER audit_event_seal_only BEFORE UPDATE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_seal_only();
"""

POSTGRES_DOWN = r"""
CREATE OR REPLACE FUNCTION audit_head_advance_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id <> OLD.id OR NEW.seq < OLD.seq OR NEW.seq > OLD.seq + 1 THEN
        RAISE EXCEPTION 'audit chain head may only advance by one (% -> %)', OLD.seq, NEW.seq
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS audit_event_seal_only ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_event_no_delete ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_event_seal_only();
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_reject_change();
DROP INDEX IF EXISTS audit_event_pending_idx;
ALTER TABLE audit_auditevent ALTER COLUMN hash SET NOT NULL;
ALTER TABLE audit_auditevent ALTER COLUMN prev_hash SET NOT NULL;
ALTER TABLE audit_auditevent ALTER COLUMN seq SET NOT NULL;
"""


def up(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP, params=None)


def down(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.RunPython(up, down),
        migrations.AlterField(
            model_name="auditevent",
            name="seq",
            field=models.BigIntegerField(
                blank=True, null=True, unique=True,
                help_text="1, 2, 3, ... without gaps; empty while the event is pending",
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(blank=True, max_length=64, null=True, unique=True),
        ),
    ]
