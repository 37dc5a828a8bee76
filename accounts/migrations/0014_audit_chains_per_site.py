
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0013_audit_billing_category'),
    ]

    # The old rows stay as they are (a column with a default is added without rewriting a row) and
    # form the chain-wide chain, which continues from the old head: it verifies as before.
    operations = [
        migrations.AddField(
            model_name='auditevent',
            name='chain',
            field=models.CharField(blank=True, db_default='', default='', max_length=32),
        ),
        migrations.CreateModel(
            name='AuditAnchor',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('at', models.DateTimeField()),
                ('heads', models.JSONField(help_text='{"chain key": [newest row id, its row hash]}')),
                ('digest', models.CharField(max_length=64)),
                ('signature', models.CharField(max_length=64)),
            ],
            options={
                'ordering': ['-at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='AuditChain',
            fields=[
                ('key', models.CharField(blank=True, max_length=32, primary_key=True, serialize=False)),
                ('last_hash', models.CharField(blank=True, max_length=64)),
                ('prev_hash', models.CharField(blank=True, max_length=64)),
            ],
        ),
        # Old writers still running lock the old head; taking it first means none appends between
        # the copy and the drop, so the chain-wide chain continues from the true newest row.
        migrations.RunSQL(
            sql="""
                LOCK TABLE accounts_auditchainhead IN EXCLUSIVE MODE;
                INSERT INTO accounts_auditchain (key, last_hash, prev_hash)
                SELECT '', last_hash, prev_hash FROM accounts_auditchainhead WHERE id = 1;
            """,
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.DeleteModel(
            name='AuditChainHead',
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['chain', 'id'], name='audit_chain_id'),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='auditanchor',
            trigger=pgtrigger.compiler.Trigger(name='auditanchor_append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='1f62bb2f5f6cc2c091e4224a0ae702f81ded2039', operation='UPDATE OR DELETE', pgid='pgtrigger_auditanchor_append_only_8e7bf', table='accounts_auditanchor', when='BEFORE')),
        ),
    ]
