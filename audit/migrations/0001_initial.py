"""The audit tables, the chain head row and the append-only triggers.

The tables are created for real (database operations) while the models are
recorded as unmanaged (state operations): see ``audit/models.py`` for why.
Written by hand; regenerate nothing here with makemigrations.
"""

from django.db import migrations, models

GENESIS_HASH = "0" * 64


def _event_fields():
    return [
        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
        ("seq", models.BigIntegerField(help_text="1, 2, 3, ... without gaps", unique=True)),
        ("time", models.DateTimeField(db_index=True)),
        ("actor_user_id", models.BigIntegerField(blank=True, db_index=True, null=True)),
        ("actor_username", models.CharField(blank=True, db_index=True, max_length=150)),
        ("actor_role", models.CharField(blank=True, max_length=64)),
        ("actor_token_id", models.CharField(blank=True, max_length=64)),
        ("actor_session", models.CharField(blank=True, help_text="hash, never the key", max_length=64)),
        ("actor_ip", models.CharField(blank=True, max_length=64)),
        ("action", models.CharField(db_index=True, max_length=64)),
        ("object_type", models.CharField(db_index=True, max_length=100)),
        ("object_id", models.CharField(db_index=True, max_length=100)),
        ("details_json", models.TextField(default="{}", help_text="canonical JSON, part of the hash")),
        ("prev_hash", models.CharField(max_length=64)),
        ("hash", models.CharField(max_length=64, unique=True)),
    ]


def _head_fields():
    return [
        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
        ("seq", models.BigIntegerField(default=0)),
        ("hash", models.CharField(max_length=64)),
    ]


def _checkpoint_fields():
    return [
        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
        ("seq", models.BigIntegerField(db_index=True)),
        ("hash", models.CharField(max_length=64)),
        ("time", models.DateTimeField()),
        ("key_id", models.CharField(help_text="SHA-256 of the raw public key", max_length=64)),
        ("public_key", models.CharField(help_text="raw Ed25519 public key, base64", max_length=64)),
        ("signature", models.CharField(help_text="Ed25519 signature, base64", max_length=128)),
    ]


def _models(managed):
    extra = {} if managed else {"managed": False}
    return [
        migrations.CreateModel(
            name="AuditEvent",
            fields=_event_fields(),
            options={
                "verbose_name": "audit event",
                "db_table": "audit_auditevent",
                "ordering": ("seq",),
                "indexes": [models.Index(fields=["object_type", "object_id"], name="audit_event_object_idx")],
                **extra,
            },
        ),
        migrations.CreateModel(
            name="AuditChainHead",
            fields=_head_fields(),
            options={"verbose_name": "audit chain head", "db_table": "audit_auditchainhead", **extra},
        ),
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=_checkpoint_fields(),
            options={
                "verbose_name": "audit checkpoint",
                "db_table": "audit_auditcheckpoint",
                "ordering": ("seq", "id"),
                **extra,
            },
        ),
    ]


# --- triggers ---------------------------------------------------------------------------
POSTGRES_UP = r"""
CREATE OR REPLACE FUNCTION audit_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit log is append-only: % on % rejected', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE OR REPLACE FUNCTION audit_head_advance_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id <> OLD.id OR NEW.seq < OLD.seq OR NEW.seq > OLD.seq + 1 THEN
        RAISE EXCEPTION 'audit chain head may only advance by one (% -> %)', OLD.seq, NEW.seq
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_reject_change();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_change();
CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE ON audit_auditcheckpoint
    FOR EACH ROW EXECUTE FUNCTION audit_reject_change();
CREATE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE ON audit_auditcheckpoint
    FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_change();
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION audit_reject_change();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_auditchainhead
    FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_change();
CREATE TRIGGER audit_head_advance BEFORE UPDATE ON audit_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION audit_head_advance_only();
"""

POSTGRES_DOWN = r"""
DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_checkpoint_append_only ON audit_auditcheckpoint;
DROP TRIGGER IF EXISTS audit_checkpoint_no_truncate ON audit_auditcheckpoint;
DROP TRIGGER IF EXISTS audit_head_no_delete ON audit_auditchainhead;
DROP TRIGGER IF EXISTS audit_head_no_truncate ON audit_auditchainhead;
DROP TRIGGER IF EXISTS audit_head_advance ON audit_auditchainhead;
DROP FUNCTION IF EXISTS audit_head_advance_only();
DROP FUNCTION IF EXISTS audit_reject_change();
"""

# SQLite has no TRUNCATE (its "truncate optimization" of an unqualified DELETE is
# disabled when the table has a DELETE trigger, so the trigger still fires).
SQLITE_UP = [
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only: UPDATE on audit_auditevent rejected'); END""",
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only: DELETE on audit_auditevent rejected'); END""",
    """CREATE TRIGGER audit_checkpoint_no_update BEFORE UPDATE ON audit_auditcheckpoint
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only: UPDATE on audit_auditcheckpoint rejected'); END""",
    """CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_auditcheckpoint
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only: DELETE on audit_auditcheckpoint rejected'); END""",
    """CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_auditchainhead
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only: DELETE on audit_auditchainhead rejected'); END""",
    """CREATE TRIGGER audit_head_advance BEFORE UPDATE ON audit_auditchainhead
       WHEN NEW.id <> OLD.id OR NEW.seq < OLD.seq OR NEW.seq > OLD.seq + 1
       BEGIN SELECT RAISE(ABORT, 'audit chain head may only advance by one'); END""",
]
SQLITE_TRIGGERS = [
    "audit_event_no_update",
    "audit_event_no_delete",
    "audit_checkpoint_no_update",
    "audit_checkpoint_no_delete",
    "audit_head_no_delete",
    "audit_head_advance",
]


def create_head(apps, schema_editor):
    schema_editor.execute(
        "INSERT INTO audit_auditchainhead (id, seq, hash) VALUES (1, 0, %s)", [GENESIS_HASH]
    )


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_UP:
            schema_editor.execute(statement)
    # Other databases: no triggers; verification still detects tampering.


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN, params=None)
    elif vendor == "sqlite":
        for name in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=_models(managed=True),
            state_operations=_models(managed=False),
        ),
        migrations.RunPython(create_head, migrations.RunPython.noop),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
