# Two of the audit trail's indexes were never read and written on every event: the actor's own
# (audit_actor_at leads with the actor) and the LIKE-pattern index Django adds to a unique CharField
# (nothing searches hashes by prefix). The unique constraint on row_hash stays as it is, under its
# own name; only the project's state now records it as a constraint. Nothing is rebuilt.

from django.db import migrations, models
from django.conf import settings
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0016_user_chain_wide"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="auditevent",
                    name="actor",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="auditevent",
                    name="row_hash",
                    field=models.CharField(max_length=64),
                ),
                migrations.AddConstraint(
                    model_name="auditevent",
                    constraint=models.UniqueConstraint(fields=("row_hash",), name="accounts_auditevent_row_hash_key"),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS accounts_auditevent_actor_id_179eee89",
                    'CREATE INDEX IF NOT EXISTS accounts_auditevent_actor_id_179eee89 ON accounts_auditevent ("actor_id")',
                ),
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS accounts_auditevent_row_hash_8f37ad88_like",
                    "CREATE INDEX IF NOT EXISTS accounts_auditevent_row_hash_8f37ad88_like "
                    'ON accounts_auditevent ("row_hash" varchar_pattern_ops)',
                ),
            ],
        ),
    ]
