import django.contrib.postgres.indexes
from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    """Indexes for the audit report's keyset pages and filters.

    Built CONCURRENTLY: a plain CREATE INDEX on a trail of millions of rows would block every
    audit write (and so every audited page) until it finished.
    """

    atomic = False

    dependencies = [
        ("accounts", "0009_audit_verb_sign"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="auditevent",
            index=models.Index(fields=["at", "id"], name="audit_at_id"),
        ),
        # The (at, id) index above answers everything the single-column one did.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(model_name="auditevent", name="at", field=models.DateTimeField()),
            ],
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX CONCURRENTLY IF EXISTS accounts_auditevent_at_9771b2fb",
                    reverse_sql="CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_auditevent_at_9771b2fb "
                    'ON accounts_auditevent ("at")',
                ),
            ],
        ),
        AddIndexConcurrently(
            model_name="auditevent",
            index=models.Index(
                django.contrib.postgres.indexes.OpClass(models.F("action"), name="varchar_pattern_ops"),
                models.F("at"),
                name="audit_action_prefix_at",
            ),
        ),
        RemoveIndexConcurrently(model_name="auditevent", name="audit_action_at"),
        AddIndexConcurrently(
            model_name="auditevent",
            index=models.Index(fields=["verb", "at"], name="audit_verb_at"),
        ),
        AddIndexConcurrently(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("outcome", "allowed"), _negated=True), fields=["at"], name="audit_not_allowed_at"
            ),
        ),
        AddIndexConcurrently(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("changes__contains", {"break_glass": True})),
                fields=["at"],
                name="audit_old_emergency_at",
            ),
        ),
    ]
